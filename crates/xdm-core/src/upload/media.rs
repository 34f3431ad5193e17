//! What may be uploaded for a DM: media types, categories and their size limits.

use std::fmt;

use crate::InvalidInput;

const MIB: u64 = 1024 * 1024;

/// The largest chunk one append may carry: 5 MiB, X's documented maximum per segment.
pub const MAX_CHUNK_SIZE: usize = 5 * 1024 * 1024;

/// The number of segments an upload may have: `segment_index` runs from 0 to 999.
pub const MAX_SEGMENTS: u64 = 1000;

/// A media type X accepts for direct messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaType {
    /// `image/jpeg`.
    Jpeg,
    /// `image/pjpeg` (progressive JPEG).
    Pjpeg,
    /// `image/png`.
    Png,
    /// `image/webp`.
    Webp,
    /// `image/bmp`.
    Bmp,
    /// `image/tiff`.
    Tiff,
    /// `image/gif`, uploaded as an animated GIF.
    Gif,
    /// `video/mp4`.
    Mp4,
    /// `video/quicktime` (MOV).
    Quicktime,
}

impl MediaType {
    const ALL: [MediaType; 9] = [
        MediaType::Jpeg,
        MediaType::Pjpeg,
        MediaType::Png,
        MediaType::Webp,
        MediaType::Bmp,
        MediaType::Tiff,
        MediaType::Gif,
        MediaType::Mp4,
        MediaType::Quicktime,
    ];

    /// The MIME type on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Pjpeg => "image/pjpeg",
            MediaType::Png => "image/png",
            MediaType::Webp => "image/webp",
            MediaType::Bmp => "image/bmp",
            MediaType::Tiff => "image/tiff",
            MediaType::Gif => "image/gif",
            MediaType::Mp4 => "video/mp4",
            MediaType::Quicktime => "video/quicktime",
        }
    }

    /// Parses a MIME type (case-insensitive, without parameters).
    pub fn parse(input: &str) -> Result<MediaType, InvalidInput> {
        let lower = input.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == lower)
            .ok_or_else(|| {
                InvalidInput::new(
                    "media_type",
                    format!("{input:?} is not a media type accepted in direct messages"),
                    "image/jpeg, image/pjpeg, image/png, image/webp, image/bmp, image/tiff, \
                     image/gif, video/mp4, video/quicktime",
                )
            })
    }

    /// The file name extensions of the types, in the order [`from_extension`](Self::from_extension)
    /// is documented with; for an error that says what is accepted.
    pub const EXTENSIONS: &'static str =
        ".jpg, .jpeg, .png, .webp, .bmp, .tif, .tiff, .gif, .mp4 or .mov";

    /// The type a file name extension (without its dot, any case) stands for: `jpg`, `jpeg`,
    /// `png`, `webp`, `bmp`, `tif`, `tiff`, `gif`, `mp4`, `mov`.
    pub fn from_extension(extension: &str) -> Option<MediaType> {
        Some(match extension.to_ascii_lowercase().as_str() {
            "jpg" | "jpeg" => MediaType::Jpeg,
            "png" => MediaType::Png,
            "webp" => MediaType::Webp,
            "bmp" => MediaType::Bmp,
            "tif" | "tiff" => MediaType::Tiff,
            "gif" => MediaType::Gif,
            "mp4" => MediaType::Mp4,
            "mov" => MediaType::Quicktime,
            _ => return None,
        })
    }

    /// The category a file of this type is uploaded in.
    pub fn dm_category(self) -> MediaCategory {
        match self {
            MediaType::Gif => MediaCategory::DmGif,
            MediaType::Mp4 | MediaType::Quicktime => MediaCategory::DmVideo,
            _ => MediaCategory::DmImage,
        }
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `media_category` of a DM upload, which decides X's limits and processing.
///
/// | category | media types | largest file |
/// |---|---|---|
/// | `dm_image` | JPEG, progressive JPEG, PNG, WebP, BMP, TIFF | 5 MiB |
/// | `dm_gif` | GIF | 15 MiB |
/// | `dm_video` | MP4, QuickTime | 512 MiB |
///
/// These are X's published limits for images, animated GIFs and videos. X may refuse files
/// within them for other reasons (dimensions, duration, codecs), which only the server checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaCategory {
    /// `dm_image`.
    DmImage,
    /// `dm_gif`.
    DmGif,
    /// `dm_video`.
    DmVideo,
}

impl MediaCategory {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaCategory::DmImage => "dm_image",
            MediaCategory::DmGif => "dm_gif",
            MediaCategory::DmVideo => "dm_video",
        }
    }

    /// The largest file accepted, in bytes.
    pub fn max_bytes(self) -> u64 {
        match self {
            MediaCategory::DmImage => 5 * MIB,
            MediaCategory::DmGif => 15 * MIB,
            MediaCategory::DmVideo => 512 * MIB,
        }
    }

    /// Whether files of `media_type` may be uploaded in this category.
    pub fn accepts(self, media_type: MediaType) -> bool {
        media_type.dm_category() == self
    }
}

impl fmt::Display for MediaCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks a file against its type and category, before any request.
pub(crate) fn check_media(
    len: u64,
    media_type: MediaType,
    category: MediaCategory,
) -> Result<(), InvalidInput> {
    if !category.accepts(media_type) {
        return Err(InvalidInput::new(
            "media_type",
            format!("{media_type} cannot be uploaded as {category}"),
            format!("the category {}", media_type.dm_category()),
        ));
    }
    if len == 0 {
        return Err(InvalidInput::new(
            "media",
            "the file is empty",
            "at least 1 byte",
        ));
    }
    if len > category.max_bytes() {
        return Err(InvalidInput::new(
            "media",
            format!("{len} bytes is too large for {category}"),
            format!("at most {} bytes", category.max_bytes()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_round_trip() {
        for t in MediaType::ALL {
            assert_eq!(MediaType::parse(t.as_str()), Ok(t));
            assert_eq!(t.to_string(), t.as_str());
            assert!(t.dm_category().accepts(t));
        }
        assert_eq!(MediaType::parse(" IMAGE/PNG "), Ok(MediaType::Png));
        let err = MediaType::parse("video/webm").unwrap_err();
        assert_eq!(err.parameter, "media_type");
    }

    #[test]
    fn extensions_name_their_types() {
        let named = [
            "jpg", "JPEG", "png", "webp", "bmp", "tif", "Tiff", "gif", "mp4", "MOV",
        ]
        .map(|e| MediaType::from_extension(e).map(MediaType::as_str));
        assert_eq!(
            named.map(Option::unwrap),
            [
                "image/jpeg",
                "image/jpeg",
                "image/png",
                "image/webp",
                "image/bmp",
                "image/tiff",
                "image/tiff",
                "image/gif",
                "video/mp4",
                "video/quicktime",
            ]
        );
        for other in ["", "txt", "pjpeg", "mp4 ", "jpg.txt"] {
            assert_eq!(MediaType::from_extension(other), None, "{other:?}");
        }
    }

    #[test]
    fn categories_have_limits() {
        assert_eq!(MediaCategory::DmImage.max_bytes(), 5 * MIB);
        assert_eq!(MediaCategory::DmGif.max_bytes(), 15 * MIB);
        assert_eq!(MediaCategory::DmVideo.max_bytes(), 512 * MIB);
        assert_eq!(MediaCategory::DmGif.to_string(), "dm_gif");
        assert!(!MediaCategory::DmImage.accepts(MediaType::Gif));
    }

    #[test]
    fn check_refuses_empty_oversized_and_mismatched_files() {
        use MediaCategory::*;
        assert!(check_media(1, MediaType::Png, DmImage).is_ok());
        assert!(check_media(5 * MIB, MediaType::Png, DmImage).is_ok());
        let too_big = check_media(5 * MIB + 1, MediaType::Png, DmImage).unwrap_err();
        assert!(too_big.problem.contains("too large"));
        assert_eq!(
            check_media(0, MediaType::Mp4, DmVideo)
                .unwrap_err()
                .parameter,
            "media"
        );
        let mismatch = check_media(10, MediaType::Mp4, DmImage).unwrap_err();
        assert_eq!(mismatch.parameter, "media_type");
        assert!(mismatch.allowed.contains("dm_video"));
    }
}
