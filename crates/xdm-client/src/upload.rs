//! Media upload through the core's chunked state machine, and sends with an attachment.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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

/// Media to upload: its bytes, or a file read a chunk at a time, and its type.
#[derive(Clone)]
pub struct MediaSource {
    content: Content,
    media_type: MediaType,
}

#[derive(Clone)]
enum Content {
    Bytes(Bytes),
    /// A regular file, opened once; chunks are read from this handle as the upload asks for
    /// them, so that a file swapped on disk meanwhile is not what gets uploaded.
    File {
        path: PathBuf,
        file: Arc<Mutex<File>>,
        len: u64,
    },
}

impl fmt::Debug for MediaSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("MediaSource");
        if let Content::File { path, .. } = &self.content {
            d.field("path", path);
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

    /// A file, with its type taken from the extension: `jpg`, `jpeg`, `png`, `webp`, `bmp`,
    /// `tif`, `tiff`, `gif`, `mp4`, `mov`.
    ///
    /// The file is opened once and checked before a byte of it is read: it must be a regular
    /// file (a device such as `/dev/zero`, a FIFO or a directory is refused, through a
    /// symbolic link too) no larger than its category allows. Its content is read later,
    /// one chunk at a time while it is uploaded, so memory holds one chunk (4 MiB by
    /// default) whatever the file's size. The reads are synchronous: a local file gives a
    /// chunk far faster than the network takes it.
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
        let file_error = |source| Error::File {
            path: path.to_owned(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Opening a FIFO would wait for a writer; a regular file ignores the flag.
            options.custom_flags(libc::O_NONBLOCK);
        }
        let file = options.open(path).map_err(file_error)?;
        // The metadata of the opened handle, not of the path: what is checked is what will be
        // read.
        let metadata = file.metadata().map_err(file_error)?;
        if !metadata.is_file() {
            return Err(Error::InvalidInput(xdm_core::InvalidInput::new(
                "media",
                format!(
                    "{} is not a regular file (a device, a pipe or a directory)",
                    path.display()
                ),
                "a regular file",
            )));
        }
        let len = metadata.len();
        let category = media_type.dm_category();
        if len > category.max_bytes() {
            return Err(Error::InvalidInput(xdm_core::InvalidInput::new(
                "media",
                format!(
                    "{} ({len} bytes) is too large for {category}",
                    path.display()
                ),
                format!("at most {} bytes", category.max_bytes()),
            )));
        }
        Ok(MediaSource {
            content: Content::File {
                path: path.to_owned(),
                file: Arc::new(Mutex::new(file)),
                len,
            },
            media_type,
        })
    }

    /// The media type.
    pub fn media_type(&self) -> MediaType {
        self.media_type
    }

    /// The size in bytes (of a file, as it was when opened).
    pub fn len(&self) -> usize {
        usize::try_from(self.len_u64()).unwrap_or(usize::MAX)
    }

    fn len_u64(&self) -> u64 {
        match &self.content {
            Content::Bytes(bytes) => bytes.len() as u64,
            Content::File { len, .. } => *len,
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
            Content::File { len, .. } => ChunkedUpload::streamed(*len, self.media_type, boundary)?,
        })
    }

    /// Reads `len` bytes from `offset` of the file.
    fn read_chunk(&self, offset: u64, len: usize) -> Result<Bytes, Error> {
        let Content::File { path, file, .. } = &self.content else {
            // An upload of bytes in memory never asks for a chunk.
            return Err(Error::InvalidInput(xdm_core::InvalidInput::new(
                "media",
                "a chunk was asked of media held in memory",
                "a file source",
            )));
        };
        let file_error = |source| Error::File {
            path: path.clone(),
            source,
        };
        let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
        file.seek(SeekFrom::Start(offset)).map_err(file_error)?;
        let mut chunk = vec![0; len];
        file.read_exact(&mut chunk).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                file_error(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file became shorter while it was uploaded",
                ))
            } else {
                file_error(e)
            }
        })?;
        Ok(Bytes::from(chunk))
    }
}

impl<T: Transport, C: Timer> Client<T, C> {
    /// Uploads media for a message (initialize, append chunks, finalize, wait for
    /// processing). Each step is retried like any idempotent request.
    pub async fn upload_media(&self, media: MediaSource) -> Result<UploadedMedia, Error> {
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
                    let chunk = media.read_chunk(offset, len)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(path: &Path) -> String {
        match MediaSource::from_path(path) {
            Err(Error::InvalidInput(e)) => e.to_string(),
            other => panic!("{}: {other:?}", path.display()),
        }
    }

    #[test]
    fn a_file_is_checked_before_a_byte_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("folder.png");
        std::fs::create_dir(&folder).unwrap();
        assert!(refusal(&folder).contains("not a regular file"));
        let huge = dir.path().join("huge.png");
        File::create(&huge).unwrap().set_len(6 << 20).unwrap();
        assert!(refusal(&huge).contains("too large for dm_image"));
        #[cfg(unix)]
        {
            let zero = dir.path().join("zero.gif");
            std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
            assert!(refusal(&zero).contains("not a regular file"));
        }
    }

    #[test]
    fn a_file_is_read_a_chunk_at_a_time_and_must_not_shrink() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clip.mp4");
        std::fs::write(&path, b"0123456789").unwrap();
        let source = MediaSource::from_path(&path).unwrap();
        assert_eq!((source.len(), source.is_empty()), (10, false));
        assert!(format!("{source:?}").contains("clip.mp4"));
        assert_eq!(&source.read_chunk(4, 3).unwrap()[..], b"456");
        std::fs::write(&path, b"01234").unwrap();
        let e = source.read_chunk(4, 3).unwrap_err();
        assert!(e.to_string().contains("became shorter"), "{e}");
        let bytes = MediaSource::from_bytes(&b"abc"[..], MediaType::Png);
        assert!(bytes.read_chunk(0, 1).is_err());
    }
}
