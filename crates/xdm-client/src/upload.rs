//! Media upload through the core's chunked state machine, and sends with an attachment.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

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

/// The future [`MediaReader::read_chunk`] returns: boxed, so that readers can be trait
/// objects, and `Send`, so that an upload can move between threads.
pub type ChunkFuture<'a> = Pin<Box<dyn Future<Output = Result<Bytes, Error>> + Send + 'a>>;

/// Media that stays where it is and is read one chunk at a time while it is uploaded, so that
/// memory holds one chunk (4 MiB by default) whatever the media's size.
///
/// The client has no runtime, so it does no file I/O itself: a reader does its own, in a way
/// that never blocks the executor. `xdm_hyper::MediaFile` reads a local file on tokio's
/// blocking pool; a program on another runtime implements this trait with that runtime's
/// means. [`Bytes`] implement it too, for media already in memory.
///
/// The size is fixed when the reader is made, and the upload announces it to X before the
/// first chunk is read. A reader whose media no longer has that size, or no longer the
/// content it had, fails the read rather than hand out bytes of another file: the upload
/// stops before it is finalized, and X discards it.
///
/// ```
/// use bytes::Bytes;
/// use xdm_client::{ChunkFuture, Error, MediaReader};
///
/// /// Media made on demand: `size` bytes counting up from zero.
/// #[derive(Debug)]
/// struct Counting {
///     size: u64,
/// }
///
/// impl MediaReader for Counting {
///     fn size(&self) -> u64 {
///         self.size
///     }
///
///     fn read_chunk(&self, offset: u64, len: usize) -> ChunkFuture<'_> {
///         Box::pin(async move {
///             let chunk: Vec<u8> = (offset..offset + len as u64).map(|i| i as u8).collect();
///             Ok::<_, Error>(Bytes::from(chunk))
///         })
///     }
/// }
/// ```
pub trait MediaReader: fmt::Debug + Send + Sync {
    /// The media's size in bytes.
    fn size(&self) -> u64;

    /// Reads `len` bytes from `offset`: exactly that many, since the upload announced the
    /// size. The upload only asks for ranges within [`size`](Self::size), one at a time and
    /// in order, and asks again for none it was given.
    fn read_chunk(&self, offset: u64, len: usize) -> ChunkFuture<'_>;
}

impl MediaReader for Bytes {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read_chunk(&self, offset: u64, len: usize) -> ChunkFuture<'_> {
        let range = usize::try_from(offset)
            .ok()
            .and_then(|start| Some(start..start.checked_add(len)?))
            .filter(|range| range.end <= self.len());
        let chunk = match range {
            Some(range) => Ok(self.slice(range)),
            None => Err(Error::InvalidInput(xdm_core::InvalidInput::new(
                "chunk",
                format!(
                    "{len} bytes from {offset} reach beyond the media's {} bytes",
                    self.len()
                ),
                "a range within the media",
            ))),
        };
        Box::pin(std::future::ready(chunk))
    }
}

/// Media to upload, and its type: bytes in memory, or a [`MediaReader`] read a chunk at a
/// time.
#[derive(Clone)]
pub struct MediaSource {
    content: Content,
    media_type: MediaType,
}

#[derive(Clone)]
enum Content {
    /// Checked whole (for the multipart boundary) before the first request.
    Bytes(Bytes),
    /// Shared by the clones of a source, so that each upload reads the same media.
    Reader(Arc<dyn MediaReader>),
}

impl fmt::Debug for MediaSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("MediaSource");
        if let Content::Reader(reader) = &self.content {
            d.field("reader", reader);
        }
        d.field("len", &self.len())
            .field("media_type", &self.media_type)
            .finish()
    }
}

impl MediaSource {
    /// Media already in memory.
    pub fn from_bytes(bytes: impl Into<Bytes>, media_type: MediaType) -> Self {
        MediaSource {
            content: Content::Bytes(bytes.into()),
            media_type,
        }
    }

    /// Media read a chunk at a time while it is uploaded (a file through
    /// `xdm_hyper::MediaFile`, or a reader of your own). Its size is checked against the
    /// limit of its type's category before the first request of the upload.
    pub fn from_reader(reader: impl MediaReader + 'static, media_type: MediaType) -> Self {
        MediaSource {
            content: Content::Reader(Arc::new(reader)),
            media_type,
        }
    }

    /// The media type.
    pub fn media_type(&self) -> MediaType {
        self.media_type
    }

    /// The size in bytes (of a reader, as it said when asked).
    pub fn len(&self) -> usize {
        usize::try_from(self.len_u64()).unwrap_or(usize::MAX)
    }

    fn len_u64(&self) -> u64 {
        match &self.content {
            Content::Bytes(bytes) => bytes.len() as u64,
            Content::Reader(reader) => reader.size(),
        }
    }

    /// Whether there are no bytes (which X refuses).
    pub fn is_empty(&self) -> bool {
        self.len_u64() == 0
    }

    /// The upload's state machine for this media.
    fn upload(&self, boundary: String) -> Result<ChunkedUpload, Error> {
        Ok(match &self.content {
            Content::Bytes(bytes) => ChunkedUpload::new(bytes.clone(), self.media_type, boundary)?,
            Content::Reader(reader) => {
                ChunkedUpload::streamed(reader.size(), self.media_type, boundary)?
            }
        })
    }

    /// Reads `len` bytes from `offset` of the reader.
    async fn read_chunk(&self, offset: u64, len: usize) -> Result<Bytes, Error> {
        match &self.content {
            Content::Reader(reader) => reader.read_chunk(offset, len).await,
            // The machine never asks for a chunk of bytes it holds; should it, the bytes
            // answer as a reader would.
            Content::Bytes(bytes) => bytes.read_chunk(offset, len).await,
        }
    }
}

impl<T: Transport, C: Timer> Client<T, C> {
    /// Uploads media for a message (initialize, append chunks, finalize, wait for
    /// processing). Each step is retried like any idempotent request; the chunks of a
    /// [`MediaReader`] are read once each, as the upload reaches them.
    pub async fn upload_media(
        &self,
        media: impl Into<MediaSource>,
    ) -> Result<UploadedMedia, Error> {
        let media = media.into();
        let boundary = format!("xdm-{:016x}{:016x}", self.random(), self.random());
        let mut upload = media.upload(boundary)?;
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
                UploadAction::ReadChunk { offset, len, .. } => {
                    let chunk = media.read_chunk(offset, len).await?;
                    upload.supply_chunk(chunk)?;
                    continue;
                }
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
    /// Here the photo is in memory already; with `xdm_hyper`, a file on disk is
    /// `xdm_hyper::MediaFile::open("holiday.jpg").await?`, read a chunk at a time.
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::Transport, C: xdm_client::transport::Timer>(
    /// #     client: xdm_client::Client<T, C>, jpeg: Vec<u8>) -> Result<(), xdm_client::Error> {
    /// use xdm_client::{MediaSource, Recipient};
    /// use xdm_core::upload::MediaType;
    ///
    /// let photo = MediaSource::from_bytes(jpeg, MediaType::Jpeg);
    /// let to = Recipient::Participant("2244994945".parse()?);
    /// client.send_with_media(to, Some("Look!".to_owned()), photo).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_with_media(
        &self,
        recipient: Recipient,
        text: Option<String>,
        media: impl Into<MediaSource>,
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
