//! Uploading media to attach to a direct message.
//!
//! Small images can go in one request ([`UploadMedia`]). Everything else, and any file when a
//! retry should not resend the whole of it, goes through [`ChunkedUpload`], a state machine
//! that hands out the initialize, append, finalize and status requests in turn and reads their
//! answers. Nothing here sends anything or reads a clock.
//!
//! Limits checked before any request (X's published limits):
//!
//! - `dm_image` (JPEG, progressive JPEG, PNG, WebP, BMP, TIFF): 1 byte to 5 MiB;
//! - `dm_gif` (GIF): 1 byte to 15 MiB;
//! - `dm_video` (MP4, QuickTime): 1 byte to 512 MiB;
//! - each append carries 1 byte to 5 MiB ([`MAX_CHUNK_SIZE`]), and a file has at most 1,000
//!   segments ([`MAX_SEGMENTS`]), since `segment_index` runs from 0 to 999.
//!
//! Uploads need the `media.write` scope and draw from
//! [`EndpointGroup::MediaUpload`](crate::EndpointGroup::MediaUpload).

mod chunked;
mod media;
mod multipart;
mod requests;

pub use chunked::{
    ChunkedUpload, DEFAULT_CHUNK_SIZE, DEFAULT_PROCESSING_TIMEOUT, UploadAction, UploadFailure,
    UploadStep,
};
pub use media::{MAX_CHUNK_SIZE, MAX_SEGMENTS, MediaCategory, MediaType};
pub use requests::{
    AppendUpload, FinalizeUpload, InitializeUpload, ProcessingError, ProcessingInfo,
    ProcessingState, UploadMedia, UploadStatus, UploadedMedia,
};

#[cfg(test)]
mod tests;
