//! The media upload endpoints, one type each, built as the OpenAPI spec (2.166, 2.167) says.
//!
//! | type | request | body |
//! |---|---|---|
//! | [`UploadMedia`] | `POST /2/media/upload` | `multipart/form-data`: `media`, `media_category` |
//! | [`InitializeUpload`] | `POST /2/media/upload/initialize` | JSON: `media_type`, `total_bytes`, `media_category` |
//! | [`AppendUpload`] | `POST /2/media/upload/{id}/append` | `multipart/form-data`: `segment_index`, `media` |
//! | [`FinalizeUpload`] | `POST /2/media/upload/{id}/finalize` | none |
//! | [`UploadStatus`] | `GET /2/media/upload?media_id={id}&command=STATUS` | none |
//!
//! The spec allows JSON with base64 media as well as multipart for the two bodies that carry
//! media; multipart is used because it sends the bytes as they are, a third smaller.
//!
//! All of them need the `media.write` scope (or an OAuth 1.0a user token) and draw from
//! [`EndpointGroup::MediaUpload`]. They are marked [`Delivery::Idempotent`]: a repeated
//! initialize or one-shot upload leaves an unused upload that expires on its own, and a
//! repeated append rewrites the same segment.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, USER_AGENT};
use http::{HeaderValue, Method};
use serde::Deserialize;

use super::media::{MAX_CHUNK_SIZE, MAX_SEGMENTS, MediaCategory, MediaType, check_media};
use super::multipart::{self, Part};
use crate::endpoints::USER_AGENT_VALUE;
use crate::error::ApiError;
use crate::ids::MediaId;
use crate::query::{Query, encode_path_segment};
use crate::{Delivery, Endpoint, EndpointGroup, EndpointInfo, InvalidInput, RequestContext, Scope};

const SCOPES: &[Scope] = &[Scope::MediaWrite];

fn info(method: Method, path_template: &'static str) -> EndpointInfo {
    EndpointInfo::new(
        method,
        path_template,
        EndpointGroup::MediaUpload,
        SCOPES,
        Delivery::Idempotent,
    )
}

fn build(
    info: EndpointInfo,
    ctx: &RequestContext,
    path_and_query: &str,
    body: Option<(String, Bytes)>,
) -> http::Request<Bytes> {
    let mut request = http::Request::new(Bytes::new());
    *request.method_mut() = info.method.clone();
    *request.uri_mut() = ctx.base_url.join(path_and_query);
    let headers = request.headers_mut();
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    if let Some((content_type, bytes)) = body {
        // Built from a checked boundary or a constant, so always a valid header value.
        if let Ok(value) = HeaderValue::from_str(&content_type) {
            headers.insert(CONTENT_TYPE, value);
        }
        *request.body_mut() = bytes;
    }
    request.extensions_mut().insert(info);
    request
}

/// What X reports about an upload: the `data` object of the upload responses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct UploadedMedia {
    /// The media id, to attach to a message.
    pub id: MediaId,
    /// The media key, such as `3_1589472151165317121`.
    #[serde(default)]
    pub media_key: Option<String>,
    /// Seconds until the upload expires unused.
    #[serde(default)]
    pub expires_after_secs: Option<u64>,
    /// The file's size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// Present while X processes a video or GIF, and when it is done.
    #[serde(default)]
    pub processing_info: Option<ProcessingInfo>,
}

/// The progress of X's processing of an uploaded file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ProcessingInfo {
    /// Where processing stands.
    pub state: ProcessingState,
    /// How long to wait before asking again.
    #[serde(default)]
    pub check_after_secs: Option<u64>,
    /// How far processing has come, 0 to 100.
    #[serde(default)]
    pub progress_percent: Option<u32>,
    /// What went wrong, when processing failed and X said why.
    #[serde(default)]
    pub error: Option<ProcessingError>,
}

/// X's explanation of a processing failure.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ProcessingError {
    /// A numeric code.
    #[serde(default)]
    pub code: Option<i64>,
    /// A short name, such as `InvalidMedia`.
    #[serde(default)]
    pub name: Option<String>,
    /// A sentence for people.
    #[serde(default)]
    pub message: Option<String>,
}

/// The `processing_info.state` of an upload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
#[non_exhaustive]
pub enum ProcessingState {
    /// `pending`: queued.
    Pending,
    /// `in_progress`.
    InProgress,
    /// `succeeded`: the media can be attached.
    Succeeded,
    /// `failed`: the media cannot be used.
    Failed,
    /// A state this crate does not know.
    Other(String),
}

impl From<String> for ProcessingState {
    fn from(s: String) -> Self {
        match s.as_str() {
            "pending" => ProcessingState::Pending,
            "in_progress" => ProcessingState::InProgress,
            "succeeded" => ProcessingState::Succeeded,
            "failed" => ProcessingState::Failed,
            _ => ProcessingState::Other(s),
        }
    }
}

/// Decodes an upload response whose `data` must be present.
pub(crate) fn decode_media(response: http::Response<Bytes>) -> Result<UploadedMedia, ApiError> {
    crate::response::decode_json::<UploadedMedia>(response)?.into_data()
}

/// Uploads a small image in one request: `POST /2/media/upload`.
///
/// Only `dm_image` files are accepted here; GIFs and videos go through [`ChunkedUpload`],
/// since X processes them after upload.
///
/// [`ChunkedUpload`]: super::ChunkedUpload
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadMedia {
    media: Bytes,
    boundary: String,
}

impl UploadMedia {
    /// The request path.
    pub const PATH: &'static str = "/2/media/upload";

    /// An upload of `media`, of type `media_type`, in a multipart body delimited by
    /// `boundary` (a random string of up to 70 letters and digits, fresh for each request).
    pub fn new(
        media: Bytes,
        media_type: MediaType,
        boundary: impl Into<String>,
    ) -> Result<Self, InvalidInput> {
        check_media(media.len() as u64, media_type, MediaCategory::DmImage)?;
        let boundary = boundary.into();
        multipart::check_boundary(&boundary)?;
        Ok(UploadMedia { media, boundary })
    }
}

impl Endpoint for UploadMedia {
    type Output = UploadedMedia;

    fn info(&self) -> EndpointInfo {
        info(Method::POST, Self::PATH)
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        let body = multipart::encode(
            &self.boundary,
            &[
                Part {
                    name: "media",
                    filename: Some("media"),
                    content_type: Some("application/octet-stream"),
                    data: &self.media,
                },
                Part {
                    name: "media_category",
                    filename: None,
                    content_type: None,
                    data: MediaCategory::DmImage.as_str().as_bytes(),
                },
            ],
        )?;
        let content_type = multipart::content_type(&self.boundary);
        Ok(build(
            self.info(),
            ctx,
            Self::PATH,
            Some((content_type, body)),
        ))
    }

    fn decode_response(&self, response: http::Response<Bytes>) -> Result<UploadedMedia, ApiError> {
        decode_media(response)
    }
}

/// Starts a chunked upload: `POST /2/media/upload/initialize`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitializeUpload {
    total_bytes: u64,
    media_type: MediaType,
    category: MediaCategory,
}

impl InitializeUpload {
    /// The request path.
    pub const PATH: &'static str = "/2/media/upload/initialize";

    /// Announces a file of `total_bytes` bytes; refused when empty, too large for
    /// `category`, or of a type the category does not take.
    pub fn new(
        total_bytes: u64,
        media_type: MediaType,
        category: MediaCategory,
    ) -> Result<Self, InvalidInput> {
        check_media(total_bytes, media_type, category)?;
        Ok(Self::prechecked(total_bytes, media_type, category))
    }

    /// For a caller that already ran the same checks.
    pub(super) fn prechecked(
        total_bytes: u64,
        media_type: MediaType,
        category: MediaCategory,
    ) -> Self {
        InitializeUpload {
            total_bytes,
            media_type,
            category,
        }
    }
}

impl Endpoint for InitializeUpload {
    type Output = UploadedMedia;

    fn info(&self) -> EndpointInfo {
        info(Method::POST, Self::PATH)
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        let body = serde_json::json!({
            "media_type": self.media_type.as_str(),
            "total_bytes": self.total_bytes,
            "media_category": self.category.as_str(),
        });
        let body = Bytes::from(body.to_string());
        Ok(build(
            self.info(),
            ctx,
            Self::PATH,
            Some(("application/json".to_owned(), body)),
        ))
    }

    fn decode_response(&self, response: http::Response<Bytes>) -> Result<UploadedMedia, ApiError> {
        decode_media(response)
    }
}

/// Sends one segment of a chunked upload: `POST /2/media/upload/{id}/append`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendUpload {
    id: MediaId,
    segment_index: u16,
    chunk: Bytes,
    boundary: String,
}

impl AppendUpload {
    /// The path template.
    pub const PATH: &'static str = "/2/media/upload/{id}/append";

    /// Segment `segment_index` (0 to 999) of upload `id`, at most 5 MiB, in a multipart body
    /// delimited by `boundary`.
    pub fn new(
        id: MediaId,
        segment_index: u16,
        chunk: Bytes,
        boundary: impl Into<String>,
    ) -> Result<Self, InvalidInput> {
        if u64::from(segment_index) >= MAX_SEGMENTS {
            return Err(InvalidInput::new(
                "segment_index",
                format!("{segment_index} is out of range"),
                "0 to 999",
            ));
        }
        if chunk.is_empty() || chunk.len() > MAX_CHUNK_SIZE {
            return Err(InvalidInput::new(
                "media",
                format!("a segment of {} bytes", chunk.len()),
                format!("1 to {MAX_CHUNK_SIZE} bytes"),
            ));
        }
        let boundary = boundary.into();
        multipart::check_boundary(&boundary)?;
        Ok(Self::prechecked(id, segment_index, chunk, boundary))
    }

    /// For a caller that already checked the index, the chunk's size and the boundary.
    pub(super) fn prechecked(
        id: MediaId,
        segment_index: u16,
        chunk: Bytes,
        boundary: String,
    ) -> Self {
        AppendUpload {
            id,
            segment_index,
            chunk,
            boundary,
        }
    }

    /// The segment's index.
    pub fn segment_index(&self) -> u16 {
        self.segment_index
    }

    /// The segment's bytes.
    pub fn chunk(&self) -> &Bytes {
        &self.chunk
    }
}

impl Endpoint for AppendUpload {
    type Output = ();

    fn info(&self) -> EndpointInfo {
        info(Method::POST, Self::PATH)
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        let index = self.segment_index.to_string();
        let body = multipart::encode(
            &self.boundary,
            &[
                Part {
                    name: "segment_index",
                    filename: None,
                    content_type: None,
                    data: index.as_bytes(),
                },
                Part {
                    name: "media",
                    filename: Some("media"),
                    content_type: Some("application/octet-stream"),
                    data: &self.chunk,
                },
            ],
        )?;
        let path = format!(
            "/2/media/upload/{}/append",
            encode_path_segment(self.id.as_str())
        );
        let content_type = multipart::content_type(&self.boundary);
        Ok(build(self.info(), ctx, &path, Some((content_type, body))))
    }

    /// Any success is enough: the body (`expires_at`, or nothing) carries nothing needed.
    fn decode_response(&self, response: http::Response<Bytes>) -> Result<(), ApiError> {
        if response.status().is_success() {
            Ok(())
        } else {
            Err(crate::response::decode_error(response))
        }
    }
}

/// Completes a chunked upload: `POST /2/media/upload/{id}/finalize`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalizeUpload {
    id: MediaId,
}

impl FinalizeUpload {
    /// The path template.
    pub const PATH: &'static str = "/2/media/upload/{id}/finalize";

    /// Finalizes upload `id`.
    pub fn new(id: MediaId) -> Self {
        FinalizeUpload { id }
    }
}

impl Endpoint for FinalizeUpload {
    type Output = UploadedMedia;

    fn info(&self) -> EndpointInfo {
        info(Method::POST, Self::PATH)
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        let path = format!(
            "/2/media/upload/{}/finalize",
            encode_path_segment(self.id.as_str())
        );
        Ok(build(self.info(), ctx, &path, None))
    }

    fn decode_response(&self, response: http::Response<Bytes>) -> Result<UploadedMedia, ApiError> {
        decode_media(response)
    }
}

/// Asks how processing of an upload is going: `GET /2/media/upload?command=STATUS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadStatus {
    id: MediaId,
}

impl UploadStatus {
    /// The request path.
    pub const PATH: &'static str = "/2/media/upload";

    /// The status of upload `id`.
    pub fn new(id: MediaId) -> Self {
        UploadStatus { id }
    }
}

impl Endpoint for UploadStatus {
    type Output = UploadedMedia;

    fn info(&self) -> EndpointInfo {
        info(Method::GET, Self::PATH)
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        let mut query = Query::new();
        query.set("media_id", self.id.as_str());
        query.set("command", "STATUS");
        Ok(build(
            self.info(),
            ctx,
            &query.append_to_path(Self::PATH),
            None,
        ))
    }

    fn decode_response(&self, response: http::Response<Bytes>) -> Result<UploadedMedia, ApiError> {
        decode_media(response)
    }
}
