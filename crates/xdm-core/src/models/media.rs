//! Media attached to messages, as X returns them in `includes.media`.

use super::wire::{wire_enum, wire_object};

wire_enum! {
    /// The kind of a [`Media`] item.
    pub enum MediaType {
        /// A still image.
        Photo = "photo",
        /// A video.
        Video = "video",
        /// A looping GIF (served as a video).
        AnimatedGif = "animated_gif",
    }
}

wire_object! {
    /// A media item attached to a message, found by its `media_key`.
    pub struct Media {
        /// The key that DM events name in `attachments.media_keys`.
        media_key("media_key"): String,
        /// Photo, video or animated GIF.
        media_type("type"): MediaType,
        /// Where a photo can be fetched. For DMs this is a `ton.twitter.com` URL that needs
        /// the caller's credentials.
        url("url"): String,
        /// A still frame of a video or GIF.
        preview_image_url("preview_image_url"): String,
        /// Width in pixels.
        width("width"): u64,
        /// Height in pixels.
        height("height"): u64,
        /// A video's length in milliseconds.
        duration_ms("duration_ms"): u64,
        /// The description the uploader gave.
        alt_text("alt_text"): String,
        /// A video's or GIF's playable encodings.
        variants("variants"): Vec<MediaVariant>,
        /// View counts.
        public_metrics("public_metrics"): MediaPublicMetrics,
    }
}

wire_object! {
    /// One encoding of a video or GIF.
    pub struct MediaVariant {
        /// Bits per second; absent for playlists.
        bit_rate("bit_rate"): u64,
        /// MIME type, such as `video/mp4`.
        content_type("content_type"): String,
        /// Where it can be fetched.
        url("url"): String,
    }
}

wire_object! {
    /// A media item's public counts.
    pub struct MediaPublicMetrics {
        /// Views.
        view_count("view_count"): u64,
    }
}
