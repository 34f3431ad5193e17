//! Media upload through the core's chunked state machine, and sends with an attachment.

use std::fmt;
use std::path::Path;

use bytes::Bytes;
use xdm_core::Endpoint;
use xdm_core::endpoints::Message;
use xdm_core::error::{ApiError, ApiErrorKind};
use xdm_core::ids::MediaId;
use xdm_core::response::decode_error;
use xdm_core::upload::{
    ChunkedUpload, MediaType, UploadAction, UploadStatus, UploadStep, UploadedMedia,
};

use crate::client::Client;
use crate::error::{Error, Recipient, UnknownOutcome};
use crate::execute::CallError;
use crate::send::Sent;
use crate::transport::{Timer, Transport};

/// Media to upload: its bytes and type.
#[derive(Clone)]
pub struct MediaSource {
    bytes: Bytes,
    media_type: MediaType,
}

impl fmt::Debug for MediaSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaSource")
            .field("len", &self.bytes.len())
            .field("media_type", &self.media_type)
            .finish()
    }
}

impl MediaSource {
    /// Media already in memory.
    pub fn from_bytes(bytes: impl Into<Bytes>, media_type: MediaType) -> Self {
        MediaSource {
            bytes: bytes.into(),
            media_type,
        }
    }

    /// Reads a file whole (synchronously) and takes its type from the extension: `jpg`,
    /// `jpeg`, `png`, `webp`, `bmp`, `tif`, `tiff`, `gif`, `mp4`, `mov`.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let mime = match extension.as_str() {
            "jpg" | "jpeg" => "image/jpeg",
            "png" => "image/png",
            "webp" => "image/webp",
            "bmp" => "image/bmp",
            "tif" | "tiff" => "image/tiff",
            "gif" => "image/gif",
            "mp4" => "video/mp4",
            "mov" => "video/quicktime",
            _ => {
                return Err(Error::InvalidInput(xdm_core::InvalidInput::new(
                    "media_path",
                    format!("cannot tell the media type of {}", path.display()),
                    "a file ending in .jpg, .jpeg, .png, .webp, .bmp, .tif, .tiff, .gif, .mp4 or .mov",
                )));
            }
        };
        let media_type = MediaType::parse(mime)?;
        let bytes = std::fs::read(path).map_err(|source| Error::File {
            path: path.to_owned(),
            source,
        })?;
        Ok(MediaSource::from_bytes(bytes, media_type))
    }

    /// The media type.
    pub fn media_type(&self) -> MediaType {
        self.media_type
    }

    /// The size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether there are no bytes (which X refuses).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl<T: Transport, C: Timer> Client<T, C> {
    /// Uploads media for a message (initialize, append chunks, finalize, wait for
    /// processing). Each step is retried like any idempotent request.
    pub async fn upload_media(&self, media: MediaSource) -> Result<UploadedMedia, Error> {
        let boundary = format!("xdm-{:016x}{:016x}", self.random(), self.random());
        let mut upload = ChunkedUpload::new(media.bytes, media.media_type, boundary)?;
        if let Some(size) = self.inner.upload_chunk_size {
            upload = upload.with_chunk_size(size)?;
        }
        loop {
            let now = self.inner.timer.now();
            let step = match upload.poll_action(now) {
                UploadAction::Send(step) => step,
                UploadAction::WaitUntil(at) => {
                    let wait = crate::error::until(at, now);
                    self.inner.timer.sleep(wait).await;
                    continue;
                }
                UploadAction::Done(media) => return Ok(media),
                UploadAction::Failed(failure) => return Err(Error::Upload(failure)),
                // Every response is handed back before polling again, so the machine never
                // waits for one here; a failure report resets it if it somehow does.
                _ => {
                    upload.handle_failure();
                    continue;
                }
            };
            let info = step.info();
            let path = info.path_template;
            let build = |ctx: &xdm_core::RequestContext| step.build_request(ctx);
            let result = self.exchange(info, &build, raw_success).await;
            match result {
                Ok(response) => {
                    let now = self.inner.timer.now();
                    upload.handle_response(response, now)?;
                }
                Err(CallError::RefusedAfterLostAnswer(Error::Api(refused)))
                    if matches!(step, UploadStep::Finalize(_))
                        && matches!(refused.kind(), ApiErrorKind::InvalidRequest { .. }) =>
                {
                    // X refuses to finalize an upload twice, so a finalize retried after its
                    // first answer was lost is refused although the media is ready. The
                    // status tells that refusal from a real one.
                    let finalized = match upload.media_id() {
                        Some(id) => self.finalized_status(id.clone()).await,
                        None => None,
                    };
                    let Some(status) = finalized else {
                        upload.handle_failure();
                        return Err(Error::Api(refused));
                    };
                    tracing::info!("finalize refused, but the upload was finalized already");
                    let now = self.inner.timer.now();
                    upload.handle_response(status, now)?;
                }
                Err(error) => {
                    upload.handle_failure();
                    return Err(match error {
                        CallError::Failed(e) | CallError::RefusedAfterLostAnswer(e) => e,
                        CallError::OutcomeUnknown(cause) => {
                            Error::OutcomeUnknown(Box::new(UnknownOutcome {
                                recipient: Recipient::Endpoint(path),
                                message: None,
                                started_at: now,
                                cause,
                            }))
                        }
                    });
                }
            }
        }
    }

    /// The status of upload `id`, when it shows the upload finalized (its size known, or
    /// processing under way or over); `None` when it does not or cannot be had.
    async fn finalized_status(&self, id: MediaId) -> Option<http::Response<Bytes>> {
        let status = UploadStatus::new(id);
        let build = |ctx: &xdm_core::RequestContext| status.build_request(ctx);
        let response = self
            .exchange(status.info(), &build, raw_success)
            .await
            .ok()?;
        let copy = http::Response::builder()
            .status(response.status())
            .body(response.body().clone())
            .ok()?;
        let media = status.decode_response(copy).ok()?;
        (media.size.is_some() || media.processing_info.is_some()).then_some(response)
    }

    /// Uploads `media`, then sends it with `text` (if any) to `recipient`.
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::Transport, C: xdm_client::transport::Timer>(
    /// #     client: xdm_client::Client<T, C>) -> Result<(), xdm_client::Error> {
    /// use xdm_client::{MediaSource, Recipient};
    ///
    /// let photo = MediaSource::from_path("holiday.jpg")?;
    /// let to = Recipient::Participant("2244994945".parse()?);
    /// client.send_with_media(to, Some("Look!".to_owned()), photo).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_with_media(
        &self,
        recipient: Recipient,
        text: Option<String>,
        media: MediaSource,
    ) -> Result<Sent, Error> {
        // Refuse a bad text before spending an upload on it.
        if let Some(text) = &text {
            Message::text(text.clone())?;
        }
        let uploaded = self.upload_media(media).await?;
        let message = match text {
            Some(text) => Message::text(text)?.with_attachment(uploaded.id)?,
            None => Message::media(uploaded.id),
        };
        self.send(recipient, message).await
    }

    fn random(&self) -> u64 {
        self.inner.jitter().next_u64()
    }
}

/// Hands a successful response on whole: the upload's state machine reads it.
fn raw_success(response: http::Response<Bytes>) -> Result<http::Response<Bytes>, ApiError> {
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(decode_error(response))
    }
}
