//! Downloading media attached to a legacy direct message.

use bytes::Bytes;
use http::Method;
use http::header::CONTENT_TYPE;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadMedia {
    dm_id: EventId,
    media_id: MediaId,
    resource_id: ResourceId,
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
        Ok(Self {
            dm_id: EventId::parse_as(dm_id, "dm_id")?,
            media_id: MediaId::parse(media_id)?,
            resource_id: ResourceId::parse(resource_id)?,
        })
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
        EndpointInfo {
            oauth1: false,
            ..info(
                Method::GET,
                Self::PATH,
                EndpointGroup::MediaDownload,
                MEDIA_SCOPES,
                Delivery::Idempotent,
            )
        }
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
        Ok(new_request(
            self.info(),
            ctx,
            &path,
            &Query::new(),
            Body::Empty,
        ))
    }

    fn decode_response(&self, response: http::Response<Bytes>) -> Result<MediaContent, ApiError> {
        if !response.status().is_success() {
            return Err(decode_error(response));
        }
        let rate_limit = RateLimitSnapshot::from_headers(response.headers());
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(MediaContent {
            content_type,
            body: response.into_body(),
            rate_limit,
        })
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
}
