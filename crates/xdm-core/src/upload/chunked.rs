//! The chunked upload as a state machine: initialize, append each segment, finalize, then
//! wait for processing.

use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::media::{MAX_CHUNK_SIZE, MAX_SEGMENTS, MediaCategory, MediaType, check_media};
use super::multipart;
use super::requests::{
    AppendUpload, FinalizeUpload, InitializeUpload, ProcessingError, ProcessingState, UploadStatus,
    UploadedMedia,
};
use crate::error::ApiError;
use crate::ids::MediaId;
use crate::{Endpoint, EndpointInfo, InvalidInput, RequestContext};

/// The segment size used unless another is chosen: 4 MiB.
pub const DEFAULT_CHUNK_SIZE: usize = 4 * 1024 * 1024;

/// How long processing may take, after finalize, unless another limit is chosen: 10 minutes.
pub const DEFAULT_PROCESSING_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// What the caller should do next for a [`ChunkedUpload`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UploadAction {
    /// Build this request ([`UploadStep::build_request`]), send it, and hand the response to
    /// [`ChunkedUpload::handle_response`].
    Send(UploadStep),
    /// X is processing the file; ask again at this time.
    WaitUntil(SystemTime),
    /// A request is out; its response (or failure) must be handed back first.
    AwaitResponse,
    /// The upload is complete; attach the media by its [`id`](UploadedMedia::id).
    Done(UploadedMedia),
    /// An upload made with [`ChunkedUpload::streamed`] needs the next segment's bytes: read
    /// `len` bytes of the file from `offset` and hand them to
    /// [`ChunkedUpload::supply_chunk`].
    ReadChunk {
        /// The segment's index.
        segment: u16,
        /// Where the segment starts in the file.
        offset: u64,
        /// The segment's length in bytes.
        len: usize,
    },
    /// The upload cannot complete.
    Failed(UploadFailure),
}

/// One request of a chunked upload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UploadStep {
    /// `POST /2/media/upload/initialize`.
    Initialize(InitializeUpload),
    /// `POST /2/media/upload/{id}/append`.
    Append(AppendUpload),
    /// `POST /2/media/upload/{id}/finalize`.
    Finalize(FinalizeUpload),
    /// `GET /2/media/upload?command=STATUS`.
    Status(UploadStatus),
}

impl UploadStep {
    /// Builds the request against `ctx`.
    pub fn build_request(
        &self,
        ctx: &RequestContext,
    ) -> Result<http::Request<Bytes>, InvalidInput> {
        match self {
            UploadStep::Initialize(e) => e.build_request(ctx),
            UploadStep::Append(e) => e.build_request(ctx),
            UploadStep::Finalize(e) => e.build_request(ctx),
            UploadStep::Status(e) => e.build_request(ctx),
        }
    }

    /// Static facts about the request (all steps share the media-upload group).
    pub fn info(&self) -> EndpointInfo {
        match self {
            UploadStep::Initialize(e) => e.info(),
            UploadStep::Append(e) => e.info(),
            UploadStep::Finalize(e) => e.info(),
            UploadStep::Status(e) => e.info(),
        }
    }
}

/// Why a chunked upload cannot complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UploadFailure {
    /// X could not process the file.
    #[error("X could not process the media{}", detail(.0))]
    ProcessingFailed(Option<ProcessingError>),
    /// Processing did not finish within the chosen time.
    #[error("media processing did not finish in time")]
    ProcessingTimedOut,
    /// A successful status came with a body that does not describe the upload; sending the
    /// same request again would not help.
    #[error("X answered the {step} request with an unusable body: {detail}")]
    BadResponse {
        /// `initialize`, `finalize` or `status`.
        step: &'static str,
        /// What was wrong.
        detail: String,
    },
}

fn detail(error: &Option<ProcessingError>) -> String {
    match error
        .as_ref()
        .and_then(|e| e.message.as_deref().or(e.name.as_deref()))
    {
        Some(text) => format!(": {text}"),
        None => String::new(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Initialize,
    Append {
        id: MediaId,
        segment: u16,
    },
    Finalize {
        id: MediaId,
    },
    Processing {
        id: MediaId,
        check_at: SystemTime,
        deadline: SystemTime,
    },
    Done(UploadedMedia),
    Failed(UploadFailure),
}

/// Uploads one file in segments, telling the caller which request to send next.
///
/// The sequence is initialize, one append per segment in order, finalize, then status checks
/// while X processes the file (videos and GIFs), waiting `check_after_secs` between them.
/// Everything that can be refused without asking X is refused by the constructors: an empty
/// file, a size beyond the category's limit ([`MediaCategory::max_bytes`]), a type the category
/// does not take, a chunk size above 5 MiB or one that would need more than 1,000 segments.
///
/// A response with an error status leaves the machine where it was, so the next
/// [`poll_action`](Self::poll_action) sends the same request again (the same segment, for an
/// append); whether to do so is the retry policy's call. A transport failure is reported with
/// [`handle_failure`](Self::handle_failure), with the same effect.
///
/// Driven by hand, with the answers X would give (a transport sends the requests for real):
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use bytes::Bytes;
/// use xdm_core::RequestContext;
/// use xdm_core::upload::{ChunkedUpload, MediaType, UploadAction, UploadStep};
///
/// fn answer(status: u16, body: &'static str) -> http::Response<Bytes> {
///     http::Response::builder()
///         .status(status)
///         .header("content-type", "application/json")
///         .body(Bytes::from_static(body.as_bytes()))
///         .unwrap()
/// }
///
/// let gif = Bytes::from_static(b"GIF89a, six bytes and some more");
/// let mut upload = ChunkedUpload::new(gif, MediaType::Gif, "xdmBoundary7f3a")?
///     .with_chunk_size(16)?;
/// assert_eq!(upload.segment_count(), 2);
/// let ctx = RequestContext::default();
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
///
/// // 1. Initialize: X answers with the media id.
/// let UploadAction::Send(step @ UploadStep::Initialize(_)) = upload.poll_action(now) else {
///     unreachable!()
/// };
/// let request = step.build_request(&ctx)?;
/// assert_eq!(request.uri().path(), "/2/media/upload/initialize");
/// // Only one request is out at a time.
/// assert_eq!(upload.poll_action(now), UploadAction::AwaitResponse);
/// upload.handle_response(answer(200, r#"{"data":{"id":"1146654567674912769"}}"#), now)?;
/// assert_eq!(upload.media_id().map(|id| id.as_str()), Some("1146654567674912769"));
///
/// // 2. One append per segment, in order; a failed one is handed out again.
/// for segment in 0..2 {
///     let UploadAction::Send(UploadStep::Append(append)) = upload.poll_action(now) else {
///         unreachable!()
///     };
///     assert_eq!(append.segment_index(), segment);
///     upload.handle_response(answer(204, ""), now)?;
/// }
///
/// // 3. Finalize: X starts processing the GIF and says when to look again.
/// let UploadAction::Send(UploadStep::Finalize(_)) = upload.poll_action(now) else {
///     unreachable!()
/// };
/// let pending = r#"{"data":{"id":"1146654567674912769",
///                   "processing_info":{"state":"pending","check_after_secs":2}}}"#;
/// upload.handle_response(answer(200, pending), now)?;
/// let later = now + Duration::from_secs(2);
/// assert_eq!(upload.poll_action(now), UploadAction::WaitUntil(later));
///
/// // 4. Status, until processing is done.
/// let UploadAction::Send(UploadStep::Status(_)) = upload.poll_action(later) else {
///     unreachable!()
/// };
/// let done = r#"{"data":{"id":"1146654567674912769","processing_info":{"state":"succeeded"}}}"#;
/// upload.handle_response(answer(200, done), later)?;
/// let UploadAction::Done(media) = upload.poll_action(later) else { unreachable!() };
/// assert_eq!(media.id.as_str(), "1146654567674912769");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ChunkedUpload {
    media: Source,
    media_type: MediaType,
    category: MediaCategory,
    chunk_size: usize,
    boundary: String,
    processing_timeout: Duration,
    phase: Phase,
    awaiting: bool,
}

impl ChunkedUpload {
    /// An upload of `media`, of type `media_type`, in the category that type belongs to
    /// ([`MediaType::dm_category`]), in segments of [`DEFAULT_CHUNK_SIZE`].
    ///
    /// `boundary` delimits the multipart bodies of the appends: a random string of letters
    /// and digits (up to 70) that does not occur in the file.
    pub fn new(
        media: Bytes,
        media_type: MediaType,
        boundary: impl Into<String>,
    ) -> Result<Self, InvalidInput> {
        let boundary = boundary.into();
        multipart::check_boundary(&boundary)?;
        multipart::check_absent(&boundary, &media)?;
        Self::with_source(Source::Whole(media), media_type, boundary)
    }

    /// An upload of a file of `len` bytes that stays where it is: instead of holding the
    /// file, the machine asks for one segment at a time ([`UploadAction::ReadChunk`]) and
    /// holds only that segment until its append succeeds. Memory stays at one chunk
    /// whatever the file's size.
    ///
    /// Everything [`new`](Self::new) checks is checked here too, except that the boundary is
    /// looked for in each segment as it is supplied.
    pub fn streamed(
        len: u64,
        media_type: MediaType,
        boundary: impl Into<String>,
    ) -> Result<Self, InvalidInput> {
        Self::with_source(
            Source::Streamed { len, chunk: None },
            media_type,
            boundary.into(),
        )
    }

    fn with_source(
        media: Source,
        media_type: MediaType,
        boundary: String,
    ) -> Result<Self, InvalidInput> {
        multipart::check_boundary(&boundary)?;
        let upload = ChunkedUpload {
            media,
            media_type,
            category: media_type.dm_category(),
            chunk_size: DEFAULT_CHUNK_SIZE,
            boundary,
            processing_timeout: DEFAULT_PROCESSING_TIMEOUT,
            phase: Phase::Initialize,
            awaiting: false,
        };
        upload.check()?;
        Ok(upload)
    }

    /// Uploads in another category than the media type's own; refused when the category does
    /// not take the type.
    pub fn with_category(mut self, category: MediaCategory) -> Result<Self, InvalidInput> {
        self.category = category;
        self.check()?;
        Ok(self)
    }

    /// Uses segments of `chunk_size` bytes: 1 to 5 MiB, and large enough that the file fits
    /// in 1,000 segments.
    pub fn with_chunk_size(mut self, chunk_size: usize) -> Result<Self, InvalidInput> {
        self.chunk_size = chunk_size;
        self.check()?;
        Ok(self)
    }

    /// Gives up on processing that has not finished this long after finalize.
    pub fn with_processing_timeout(mut self, timeout: Duration) -> Self {
        self.processing_timeout = timeout;
        self
    }

    fn check(&self) -> Result<(), InvalidInput> {
        let len = self.media.len();
        check_media(len, self.media_type, self.category)?;
        if self.chunk_size == 0 || self.chunk_size > MAX_CHUNK_SIZE {
            return Err(InvalidInput::new(
                "chunk_size",
                format!("{} bytes is out of range", self.chunk_size),
                format!("1 to {MAX_CHUNK_SIZE} bytes"),
            ));
        }
        if self.segment_count() > MAX_SEGMENTS {
            return Err(InvalidInput::new(
                "chunk_size",
                format!("{len} bytes would need {} segments", self.segment_count()),
                format!(
                    "at least {} bytes for this file",
                    len.div_ceil(MAX_SEGMENTS)
                ),
            ));
        }
        Ok(())
    }

    /// How many appends the file needs.
    pub fn segment_count(&self) -> u64 {
        self.media.len().div_ceil(self.chunk_size as u64)
    }

    /// How many appends have succeeded.
    pub fn segments_sent(&self) -> u64 {
        match &self.phase {
            Phase::Initialize => 0,
            Phase::Append { segment, .. } => u64::from(*segment),
            _ => self.segment_count(),
        }
    }

    /// The media id, once initialize has answered.
    pub fn media_id(&self) -> Option<&MediaId> {
        match &self.phase {
            Phase::Initialize | Phase::Failed(_) => None,
            Phase::Append { id, .. } | Phase::Finalize { id } | Phase::Processing { id, .. } => {
                Some(id)
            }
            Phase::Done(media) => Some(&media.id),
        }
    }

    /// What to do next, at `now`.
    pub fn poll_action(&mut self, now: SystemTime) -> UploadAction {
        if self.awaiting {
            return UploadAction::AwaitResponse;
        }
        let step = match &self.phase {
            Phase::Done(media) => return UploadAction::Done(media.clone()),
            Phase::Failed(failure) => return UploadAction::Failed(failure.clone()),
            Phase::Processing { check_at, .. } if now < *check_at => {
                return UploadAction::WaitUntil(*check_at);
            }
            Phase::Processing { id, .. } => UploadStep::Status(UploadStatus::new(id.clone())),
            // The constructors checked the file, the chunk size, the segment count and the
            // boundary, which is everything these requests check.
            Phase::Initialize => UploadStep::Initialize(InitializeUpload::prechecked(
                self.media.len(),
                self.media_type,
                self.category,
            )),
            Phase::Append { id, segment } => {
                let (offset, len) = self.segment_range(*segment);
                let chunk = match &self.media {
                    // Both ends are within the file, which is in memory.
                    Source::Whole(media) => media.slice(offset as usize..offset as usize + len),
                    Source::Streamed {
                        chunk: Some(chunk), ..
                    } => chunk.clone(),
                    Source::Streamed { chunk: None, .. } => {
                        return UploadAction::ReadChunk {
                            segment: *segment,
                            offset,
                            len,
                        };
                    }
                };
                UploadStep::Append(AppendUpload::prechecked(
                    id.clone(),
                    *segment,
                    chunk,
                    self.boundary.clone(),
                ))
            }
            Phase::Finalize { id } => UploadStep::Finalize(FinalizeUpload::new(id.clone())),
        };
        self.awaiting = true;
        UploadAction::Send(step)
    }

    /// Where segment `segment` starts, and its length.
    fn segment_range(&self, segment: u16) -> (u64, usize) {
        let offset = u64::from(segment) * self.chunk_size as u64;
        let len = self
            .media
            .len()
            .saturating_sub(offset)
            .min(self.chunk_size as u64);
        // At most the chunk size, a usize.
        (offset, len as usize)
    }

    /// Hands over the bytes [`UploadAction::ReadChunk`] asked for; the next
    /// [`poll_action`](Self::poll_action) sends them.
    ///
    /// Refused when no segment was asked for, when `chunk` is not exactly the length asked
    /// for (the file changed since the upload began), or when it holds the boundary.
    pub fn supply_chunk(&mut self, chunk: Bytes) -> Result<(), InvalidInput> {
        let wanted = match (&self.phase, &self.media, self.awaiting) {
            (Phase::Append { segment, .. }, Source::Streamed { chunk: None, .. }, false) => {
                self.segment_range(*segment).1
            }
            _ => {
                return Err(InvalidInput::new(
                    "chunk",
                    "no segment was asked for",
                    "a chunk only after UploadAction::ReadChunk",
                ));
            }
        };
        if chunk.len() != wanted {
            return Err(InvalidInput::new(
                "media",
                format!(
                    "a segment of {} bytes where {wanted} were expected: the file changed \
                     while it was uploaded",
                    chunk.len()
                ),
                "a file that stays the same until its upload ends",
            ));
        }
        multipart::check_absent(&self.boundary, &chunk)?;
        if let Source::Streamed { chunk: held, .. } = &mut self.media {
            *held = Some(chunk);
        }
        Ok(())
    }

    /// Takes the response to the request last handed out, received at `now`.
    ///
    /// An error status is returned as `Err` and the same request will be handed out again. A
    /// success that cannot be understood is returned as `Err` too, and ends the upload with
    /// [`UploadFailure::BadResponse`]. A response when no request is out is ignored.
    pub fn handle_response(
        &mut self,
        response: http::Response<Bytes>,
        now: SystemTime,
    ) -> Result<(), ApiError> {
        if !self.awaiting {
            return Ok(());
        }
        self.awaiting = false;
        let success = response.status().is_success();
        let (step, result) = match &self.phase {
            Phase::Initialize => ("initialize", super::requests::decode_media(response)),
            Phase::Append { id, segment } => {
                let (id, segment) = (id.clone(), *segment);
                if success {
                    if let Source::Streamed { chunk, .. } = &mut self.media {
                        // Sent: the next segment is read when it is asked for.
                        *chunk = None;
                    }
                    let next = u64::from(segment) + 1;
                    self.phase = if next >= self.segment_count() {
                        Phase::Finalize { id }
                    } else {
                        Phase::Append {
                            id,
                            segment: segment + 1,
                        }
                    };
                    return Ok(());
                }
                return Err(crate::response::decode_error(response));
            }
            Phase::Finalize { .. } => ("finalize", super::requests::decode_media(response)),
            Phase::Processing { .. } => ("status", super::requests::decode_media(response)),
            Phase::Done(_) | Phase::Failed(_) => return Ok(()),
        };
        let media = match result {
            Ok(media) => media,
            Err(error) => {
                if success {
                    self.phase = Phase::Failed(UploadFailure::BadResponse {
                        step,
                        detail: error.to_string(),
                    });
                }
                return Err(error);
            }
        };
        self.advance(media, now);
        Ok(())
    }

    /// Reports that the request last handed out got no response; it will be handed out again.
    pub fn handle_failure(&mut self) {
        self.awaiting = false;
    }

    fn advance(&mut self, media: UploadedMedia, now: SystemTime) {
        self.phase = match std::mem::replace(&mut self.phase, Phase::Initialize) {
            Phase::Initialize => Phase::Append {
                id: media.id,
                segment: 0,
            },
            Phase::Finalize { .. } => {
                let deadline = now.checked_add(self.processing_timeout).unwrap_or(now);
                processing(media, now, deadline)
            }
            Phase::Processing { deadline, .. } => processing(media, now, deadline),
            // `handle_response` handles the other phases itself.
            other => other,
        };
    }
}

/// The file being uploaded: in memory, or read a segment at a time by the caller.
#[derive(Debug, Clone)]
enum Source {
    Whole(Bytes),
    Streamed {
        len: u64,
        /// The current segment, once supplied and until its append succeeds.
        chunk: Option<Bytes>,
    },
}

impl Source {
    fn len(&self) -> u64 {
        match self {
            Source::Whole(media) => media.len() as u64,
            Source::Streamed { len, .. } => *len,
        }
    }
}

/// The phase after a finalize or status answer.
fn processing(media: UploadedMedia, now: SystemTime, deadline: SystemTime) -> Phase {
    let Some(info) = &media.processing_info else {
        return Phase::Done(media);
    };
    match info.state {
        ProcessingState::Succeeded => Phase::Done(media),
        ProcessingState::Failed => {
            Phase::Failed(UploadFailure::ProcessingFailed(info.error.clone()))
        }
        _ if now >= deadline => Phase::Failed(UploadFailure::ProcessingTimedOut),
        // Pending, in progress, or a state X added later: keep asking.
        _ => {
            let secs = info.check_after_secs.unwrap_or(1).max(1);
            let check_at = now
                .checked_add(Duration::from_secs(secs))
                .map_or(deadline, |t| t.min(deadline));
            Phase::Processing {
                id: media.id,
                check_at,
                deadline,
            }
        }
    }
}
