//! Errors decoded from X's responses (being written).

/// A response that was not a success, classified.
#[derive(Debug, thiserror::Error)]
#[error("the API answered with status {status}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: http::StatusCode,
}
