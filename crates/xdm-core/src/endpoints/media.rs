//! Downloading media attached to a legacy direct message.

use bytes::Bytes;
use http::header::{CONTENT_RANGE, CONTENT_TYPE, RANGE};
use http::{HeaderValue, Method, StatusCode};

use super::{Body, MEDIA_SCOPES, fill_path, info, new_request};
use crate::error::ApiError;
use crate::ids::{EventId, MediaId, ResourceId};
use crate::query::Query;
use crate::rate_limit::RateLimitSnapshot;
use crate::response::decode_error;
use crate::{Delivery, Endpoint, EndpointGroup, EndpointInfo, InvalidInput, RequestContext};

/// Downloads one media file of a direct message:
/// `GET /2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}`.
///
/// X accepts only OAuth 2.0 user tokens with `dm.read` here, not OAuth 1.0a, and the caller
/// must be a participant of the conversation. The media URL an event's `includes.media[].url`
/// carries (`https://ton.twitter.com/1.1/ton/data/dm/{dm_id}/{media_id}/{resource_id}`) maps
/// onto this endpoint through [`DownloadMedia::from_media_url`].
///
/// ```
/// use xdm_core::endpoints::DownloadMedia;
/// use xdm_core::{Endpoint, RequestContext};
///
/// let download = DownloadMedia::from_media_url(
///     "https://ton.twitter.com/1.1/ton/data/dm/1589472163941056517/1589472151165317121/ncc3LNYu.jpg",
/// )?;
/// let request = download.build_request(&RequestContext::default())?;
/// assert_eq!(
///     request.uri(),
///     "https://api.x.com/2/dm_conversations/media/1589472163941056517/1589472151165317121/ncc3LNYu.jpg"
/// );
/// assert!(!download.info().oauth1);
/// assert!(DownloadMedia::from_media_url("https://example.com/x.jpg").is_err());
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
///
/// A download that broke off can ask for the rest with [`with_offset`](Self::with_offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadMedia {
    dm_id: EventId,
    media_id: MediaId,
    resource_id: ResourceId,
    offset: u64,
}

/// The path every legacy direct-message media URL starts with.
const TON_PREFIX: &str = "/1.1/ton/data/dm/";
const TON_ALLOWED: &str =
    "https://ton.twitter.com/1.1/ton/data/dm/{dm_id}/{media_id}/{resource_id}";

impl DownloadMedia {
    /// Where media download lives.
    pub const PATH: &'static str = "/2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}";

    /// A download of `resource_id` (the file name) of media `media_id` in event `dm_id`.
    pub fn new(dm_id: EventId, media_id: MediaId, resource_id: ResourceId) -> Self {
        Self {
            dm_id,
            media_id,
            resource_id,
            offset: 0,
        }
    }

    /// Maps a media URL from an event's `includes.media[].url` onto the download endpoint.
    ///
    /// A query or fragment on the URL is ignored: the endpoint takes neither. Any other URL
    /// (another host, scheme or path shape) is refused.
    pub fn from_media_url(url: &str) -> Result<Self, InvalidInput> {
        let refuse = |problem: &'static str| InvalidInput::new("media_url", problem, TON_ALLOWED);
        let uri: http::Uri = url.trim().parse().map_err(|_| refuse("not a valid URL"))?;
        if uri.scheme() != Some(&http::uri::Scheme::HTTPS) {
            return Err(refuse("the URL is not https"));
        }
        let on_ton = uri.authority().is_some_and(|a| {
            a.host().eq_ignore_ascii_case("ton.twitter.com")
                && a.port_u16().is_none_or(|p| p == 443)
                && !a.as_str().contains('@')
        });
        if !on_ton {
            return Err(refuse("the URL is not on ton.twitter.com"));
        }
        let rest = uri
            .path()
            .strip_prefix(TON_PREFIX)
            .ok_or_else(|| refuse("the path is not a direct-message media path"))?;
        let segments: Vec<&str> = rest.split('/').collect();
        let [dm_id, media_id, resource_id] = segments[..] else {
            return Err(refuse(
                "the path does not have exactly three parts after /dm/",
            ));
        };
        Ok(Self::new(
            EventId::parse_as(dm_id, "dm_id")?,
            MediaId::parse(media_id)?,
            ResourceId::parse(resource_id)?,
        ))
    }

    /// The same download, asking only for the bytes from `offset` on (0 is the first byte):
    /// how a download that broke off after `offset` bytes fetches the rest.
    ///
    /// A nonzero offset sends `Range: bytes={offset}-`. Whatever the server makes of it, the
    /// decoded body starts at `offset`: a `206 Partial Content` must say in its
    /// `content-range` that it starts there, and a `200` (a server that ignores ranges) has
    /// its first `offset` bytes dropped. An offset of 0 asks for the whole file, as a download
    /// without one does.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use xdm_core::endpoints::DownloadMedia;
    /// use xdm_core::{Endpoint, RequestContext};
    ///
    /// let rest = DownloadMedia::from_media_url(
    ///     "https://ton.twitter.com/1.1/ton/data/dm/1589472163941056517/1589472151165317121/ncc3LNYu.jpg",
    /// )?
    /// .with_offset(4);
    /// let request = rest.build_request(&RequestContext::default())?;
    /// assert_eq!(request.headers()["range"], "bytes=4-");
    ///
    /// // A server that honours the range sends only the rest...
    /// let partial = http::Response::builder()
    ///     .status(206)
    ///     .header("content-range", "bytes 4-9/10")
    ///     .body(Bytes::from_static(b"456789"))?;
    /// assert_eq!(rest.decode_response(partial)?.body, "456789");
    /// // ...and one that ignores it sends the whole file, of which the rest is kept.
    /// let whole = http::Response::new(Bytes::from_static(b"0123456789"));
    /// assert_eq!(rest.decode_response(whole)?.body, "456789");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    /// Where in the file the download starts: 0 unless set by
    /// [`with_offset`](Self::with_offset).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The event the media is attached to.
    pub fn dm_id(&self) -> &EventId {
        &self.dm_id
    }

    /// The media's id.
    pub fn media_id(&self) -> &MediaId {
        &self.media_id
    }

    /// The file name.
    pub fn resource_id(&self) -> &ResourceId {
        &self.resource_id
    }
}

/// A downloaded media file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MediaContent {
    /// The `content-type` X sent, such as `image/jpeg`, if any.
    pub content_type: Option<String>,
    /// The file's bytes.
    pub body: Bytes,
    /// The rate-limit headers of the response.
    pub rate_limit: RateLimitSnapshot,
}

impl Endpoint for DownloadMedia {
    type Output = MediaContent;

    fn info(&self) -> EndpointInfo {
        info(
            Method::GET,
            Self::PATH,
            EndpointGroup::MediaDownload,
            MEDIA_SCOPES,
            Delivery::Idempotent,
        )
        .without_oauth1()
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        let path = fill_path(
            Self::PATH,
            &[
                ("dm_id", self.dm_id.as_str()),
                ("media_id", self.media_id.as_str()),
                ("resource_id", self.resource_id.as_str()),
            ],
        );
        let mut request = new_request(self.info(), ctx, &path, &Query::new(), Body::Empty);
        if self.offset > 0 {
            let range = HeaderValue::from_str(&format!("bytes={}-", self.offset))
                .expect("digits are a valid header value");
            request.headers_mut().insert(RANGE, range);
        }
        Ok(request)
    }

    fn decode_response(&self, response: http::Response<Bytes>) -> Result<MediaContent, ApiError> {
        let status = response.status();
        if !status.is_success() {
            return Err(decode_error(response));
        }
        let rate_limit = RateLimitSnapshot::from_headers(response.headers());
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (parts, body) = response.into_parts();
        // The media bytes are left out of the error: they are a file, not a document whose
        // excerpt would explain anything.
        let refuse = |path: &str, message: String| {
            ApiError::undecodable(
                status,
                parts.headers.clone(),
                Bytes::new(),
                path.to_owned(),
                &message,
                None,
            )
        };
        let body = if status == StatusCode::PARTIAL_CONTENT {
            let range = parts
                .headers
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(ContentRange::parse)
                .ok_or_else(|| {
                    refuse(
                        "content-range",
                        "a 206 without a single byte range in its content-range".to_owned(),
                    )
                })?;
            if range.first != self.offset {
                return Err(refuse(
                    "content-range",
                    format!(
                        "the range starts at byte {}, not at the offset {} asked for",
                        range.first, self.offset
                    ),
                ));
            }
            // The bytes from the offset are what was asked for: a range that stops short of a
            // known end would hand back a file cut short.
            if range.total.is_some_and(|total| range.last + 1 != total) {
                return Err(refuse(
                    "content-range",
                    format!(
                        "the range ends at byte {}, before the end of the {}-byte file",
                        range.last,
                        range.total.unwrap_or_default()
                    ),
                ));
            }
            if body.len() as u64 != range.len() {
                return Err(refuse(
                    "body",
                    format!(
                        "{} bytes where the content-range announced {}",
                        body.len(),
                        range.len()
                    ),
                ));
            }
            body
        } else {
            match usize::try_from(self.offset) {
                Ok(offset) if offset <= body.len() => body.slice(offset..),
                _ => {
                    return Err(refuse(
                        "body",
                        format!(
                            "the whole file has {} bytes, fewer than the offset {}",
                            body.len(),
                            self.offset
                        ),
                    ));
                }
            }
        };
        Ok(MediaContent {
            content_type,
            body,
            rate_limit,
        })
    }
}

/// The `content-range` of an answer to a ranged request: one byte range,
/// `bytes first-last/total`, the total `*` when the server does not know it.
///
/// ```
/// use xdm_core::endpoints::ContentRange;
///
/// let range = ContentRange::parse("bytes 4-9/10").unwrap();
/// assert_eq!((range.first, range.last, range.total), (4, 9, Some(10)));
/// assert_eq!(range.len(), 6);
/// // Several ranges, another unit, or a span past the total are not one byte range.
/// assert_eq!(ContentRange::parse("bytes 4-9/8"), None);
/// assert_eq!(ContentRange::parse("items 0-1/2"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a byte range is its first byte, its last byte and the total, nothing more"
)]
pub struct ContentRange {
    /// The first byte's offset in the whole file.
    pub first: u64,
    /// The last byte's offset, inclusive.
    pub last: u64,
    /// The whole file's size, when the server knows it.
    pub total: Option<u64>,
}

impl ContentRange {
    /// Reads a `content-range` header value; `None` for anything but one well-formed byte
    /// range.
    pub fn parse(value: &str) -> Option<ContentRange> {
        let (unit, rest) = value.trim().split_once(' ')?;
        if !unit.eq_ignore_ascii_case("bytes") {
            return None;
        }
        let (span, total) = rest.trim().split_once('/')?;
        let (first, last) = span.split_once('-')?;
        // `u64::from_str` takes a leading `+`, which a content-range does not.
        let number = |s: &str| -> Option<u64> {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let (first, last) = (number(first)?, number(last)?);
        let total = if total == "*" {
            None
        } else {
            Some(number(total)?)
        };
        (first <= last && total.is_none_or(|t| last < t)).then_some(ContentRange {
            first,
            last,
            total,
        })
    }

    /// How many bytes the range spans.
    #[allow(clippy::len_without_is_empty)] // A range spans at least one byte.
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoints::test_support::{build, response};

    const URL: &str = "https://ton.twitter.com/1.1/ton/data/dm/1589472163941056517/1589472151165317121/ncc3LNYu.jpg";

    #[test]
    fn media_urls_map_onto_the_endpoint() {
        for url in [
            URL,
            "https://TON.twitter.com:443/1.1/ton/data/dm/1589472163941056517/1589472151165317121/ncc3LNYu.jpg?x=1#f",
        ] {
            let d = DownloadMedia::from_media_url(url).unwrap();
            assert_eq!(d.dm_id().as_str(), "1589472163941056517");
            assert_eq!(d.media_id().as_str(), "1589472151165317121");
            assert_eq!(d.resource_id().as_str(), "ncc3LNYu.jpg");
        }
    }

    #[test]
    fn other_urls_are_refused_with_a_reason() {
        let cases = [
            ("not a url", "not a valid URL"),
            (
                "http://ton.twitter.com/1.1/ton/data/dm/1/2/a.jpg",
                "not https",
            ),
            (
                "https://ton.x.com/1.1/ton/data/dm/1/2/a.jpg",
                "not on ton.twitter.com",
            ),
            (
                "https://ton.twitter.com:8443/1.1/ton/data/dm/1/2/a.jpg",
                "not on ton.twitter.com",
            ),
            (
                "https://u@ton.twitter.com/1.1/ton/data/dm/1/2/a.jpg",
                "not on ton.twitter.com",
            ),
            (
                "https://pbs.twimg.com/media/abc.jpg",
                "not on ton.twitter.com",
            ),
            (
                "https://ton.twitter.com/1.1/ton/data/x/1/2/a.jpg",
                "not a direct-message",
            ),
            (
                "https://ton.twitter.com/1.1/ton/data/dm/1/2",
                "exactly three",
            ),
            (
                "https://ton.twitter.com/1.1/ton/data/dm/1/2/a.jpg/b",
                "exactly three",
            ),
            ("/1.1/ton/data/dm/1/2/a.jpg", "not https"),
        ];
        for (url, problem) in cases {
            let e = DownloadMedia::from_media_url(url).unwrap_err();
            assert_eq!(e.parameter, "media_url", "{url}");
            assert!(e.problem.contains(problem), "{url}: {e}");
            assert_eq!(e.allowed, TON_ALLOWED);
        }
        let bad_parts = [
            ("https://ton.twitter.com/1.1/ton/data/dm/x/2/a.jpg", "dm_id"),
            (
                "https://ton.twitter.com/1.1/ton/data/dm/1/x/a.jpg",
                "media_id",
            ),
            (
                "https://ton.twitter.com/1.1/ton/data/dm/1/2/..",
                "resource_id",
            ),
            (
                "https://ton.twitter.com/1.1/ton/data/dm/1/2/a%2Fb",
                "resource_id",
            ),
        ];
        for (url, parameter) in bad_parts {
            let e = DownloadMedia::from_media_url(url).unwrap_err();
            assert_eq!(e.parameter, parameter, "{url}");
        }
    }

    #[test]
    fn request_is_oauth2_only_with_dm_read() {
        let d = DownloadMedia::new(
            EventId::try_from(1).unwrap(),
            MediaId::try_from(2).unwrap(),
            ResourceId::parse("a.jpg").unwrap(),
        );
        let request = build(&d);
        assert_eq!(
            request.uri(),
            "https://api.x.com/2/dm_conversations/media/1/2/a.jpg"
        );
        let info = d.info();
        assert!(!info.oauth1);
        assert_eq!(info.scopes, MEDIA_SCOPES);
        assert_eq!(info.group, EndpointGroup::MediaDownload);
        assert_eq!(info.delivery, Delivery::Idempotent);
    }

    #[test]
    fn bytes_and_content_type_are_kept() {
        let d = DownloadMedia::from_media_url(URL).unwrap();
        let content = d
            .decode_response(response(200, "image/jpeg", "\u{0}JFIF"))
            .unwrap();
        assert_eq!(content.content_type.as_deref(), Some("image/jpeg"));
        assert_eq!(content.body.as_ref(), b"\0JFIF");
        assert!(!content.rate_limit.is_empty());
        let bare = http::Response::new(Bytes::from_static(b"x"));
        assert_eq!(d.decode_response(bare).unwrap().content_type, None);
    }

    fn ranged(
        status: u16,
        content_range: Option<&str>,
        body: &'static str,
    ) -> http::Response<Bytes> {
        let mut builder = http::Response::builder().status(status);
        if let Some(range) = content_range {
            builder = builder.header("content-range", range);
        }
        builder.body(Bytes::from_static(body.as_bytes())).unwrap()
    }

    fn undecodable_at(error: &ApiError) -> (&str, &str) {
        match error.kind() {
            crate::error::ApiErrorKind::Undecodable { path, message, .. } => (path, message),
            other => panic!("expected undecodable, got {other:?}"),
        }
    }

    #[test]
    fn an_offset_asks_for_the_rest_with_a_range() {
        let d = DownloadMedia::from_media_url(URL).unwrap();
        assert_eq!(d.offset(), 0);
        assert!(
            build(&d).headers().get("range").is_none(),
            "0 is the whole file"
        );
        let rest = d.clone().with_offset(1_000_000_007);
        assert_eq!(rest.offset(), 1_000_000_007);
        assert_eq!(build(&rest).headers()["range"], "bytes=1000000007-");
        assert_eq!(build(&rest).uri(), build(&d).uri());
        assert_eq!(rest.clone().with_offset(0), d);
    }

    #[test]
    fn a_206_from_the_offset_is_the_rest_of_the_file() {
        let rest = DownloadMedia::from_media_url(URL).unwrap().with_offset(4);
        for content_range in ["bytes 4-9/10", "bytes 4-9/*", "BYTES 4-9/10"] {
            let got = rest
                .decode_response(ranged(206, Some(content_range), "456789"))
                .unwrap();
            assert_eq!(got.body.as_ref(), b"456789", "{content_range}");
        }
        let whole = DownloadMedia::from_media_url(URL).unwrap();
        let got = whole
            .decode_response(ranged(206, Some("bytes 0-2/3"), "abc"))
            .unwrap();
        assert_eq!(got.body.as_ref(), b"abc");
    }

    #[test]
    fn a_200_to_a_ranged_request_has_the_offset_dropped() {
        let d = DownloadMedia::from_media_url(URL).unwrap();
        let body = |offset| {
            d.clone()
                .with_offset(offset)
                .decode_response(ranged(200, None, "0123456789"))
                .unwrap()
                .body
        };
        assert_eq!(body(0).as_ref(), b"0123456789");
        assert_eq!(body(4).as_ref(), b"456789");
        assert_eq!(body(10).as_ref(), b"", "nothing left is still the rest");
    }

    #[test]
    fn a_whole_file_shorter_than_the_offset_is_refused() {
        let d = DownloadMedia::from_media_url(URL).unwrap();
        for offset in [11, u64::MAX] {
            let e = d
                .clone()
                .with_offset(offset)
                .decode_response(ranged(200, None, "0123456789"))
                .unwrap_err();
            let (path, message) = undecodable_at(&e);
            assert_eq!(path, "body");
            assert!(message.contains("fewer than the offset"), "{message}");
            assert!(e.body().is_empty(), "the file is not kept in the error");
        }
    }

    #[test]
    fn a_206_that_stops_before_the_end_of_the_file_is_refused() {
        let e = DownloadMedia::from_media_url(URL)
            .unwrap()
            .with_offset(4)
            .decode_response(ranged(206, Some("bytes 4-6/10"), "456"))
            .unwrap_err();
        assert_eq!(undecodable_at(&e).0, "content-range");
    }

    #[test]
    fn a_206_that_starts_elsewhere_is_refused() {
        let rest = DownloadMedia::from_media_url(URL).unwrap().with_offset(4);
        let e = rest
            .decode_response(ranged(206, Some("bytes 0-9/10"), "0123456789"))
            .unwrap_err();
        let (path, message) = undecodable_at(&e);
        assert_eq!(path, "content-range");
        assert!(
            message.contains("starts at byte 0, not at the offset 4"),
            "{message}"
        );
        assert_eq!(e.status(), StatusCode::PARTIAL_CONTENT);
    }

    #[test]
    fn a_206_without_a_single_range_is_refused() {
        let rest = DownloadMedia::from_media_url(URL).unwrap().with_offset(4);
        for content_range in [
            None,
            Some("bytes */10"),
            Some("bytes 9-4/10"),
            Some("bytes 4-10/10"),
            Some("items 4-9/10"),
            Some("bytes 4-9"),
            Some("bytes +4-9/10"),
            Some("bytes 4-9/x"),
        ] {
            let e = rest
                .decode_response(ranged(206, content_range, "456789"))
                .unwrap_err();
            assert_eq!(undecodable_at(&e).0, "content-range", "{content_range:?}");
        }
    }

    #[test]
    fn a_206_whose_body_disagrees_with_its_range_is_refused() {
        let rest = DownloadMedia::from_media_url(URL).unwrap().with_offset(4);
        let e = rest
            .decode_response(ranged(206, Some("bytes 4-9/10"), "4567"))
            .unwrap_err();
        let (path, message) = undecodable_at(&e);
        assert_eq!(path, "body");
        assert!(
            message.contains("4 bytes where the content-range announced 6"),
            "{message}"
        );
    }

    #[test]
    fn failures_are_classified() {
        let d = DownloadMedia::from_media_url(URL).unwrap();
        let err = d
            .decode_response(response(
                403,
                "application/problem+json",
                r#"{"title":"Forbidden","type":"about:blank","status":403,"detail":"Forbidden"}"#,
            ))
            .unwrap_err();
        assert_eq!(err.status(), http::StatusCode::FORBIDDEN);
    }

    #[test]
    fn content_ranges_are_read_strictly() {
        let range = |first, last, total| Some(ContentRange { first, last, total });
        assert_eq!(ContentRange::parse("bytes 4-9/10"), range(4, 9, Some(10)));
        assert_eq!(ContentRange::parse(" BYTES 0-0/*"), range(0, 0, None));
        for bad in [
            "",
            "bytes",
            "bytes */10",
            "bytes 4-9",
            "bytes 9-4/10",
            "bytes 4-10/10",
            "bytes -9/10",
            "bytes +4-9/10",
            "bytes 4-9/x",
            "items 4-9/10",
            "bytes 4-99999999999999999999/*",
        ] {
            assert_eq!(ContentRange::parse(bad), None, "{bad}");
        }
    }
}
