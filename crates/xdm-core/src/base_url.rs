//! The validated root URL every request is built against.

use std::fmt;
use std::net::IpAddr;

use http::Uri;

use crate::InvalidInput;

/// The scheme, host, port and optional path prefix of the API, validated and normalised.
///
/// Normalised means: lowercase scheme and host, no default port (`:443` for https, `:80` for
/// http), no trailing slash. OAuth 1.0a signs the URL as sent, so the URL a request is built
/// with must already be in the form a server reconstructs.
///
/// A port must be a number from 1 to 65535; any other is refused rather than dropped.
///
/// Plain `http://` is accepted only for loopback hosts (`localhost`, `127.0.0.0/8`, `[::1]`), so
/// that credentials never cross a network in the clear; anything else must be `https://`.
///
/// ```
/// use xdm_core::BaseUrl;
/// let base = BaseUrl::parse("https://API.X.com:443/").unwrap();
/// assert_eq!(base.as_str(), "https://api.x.com");
/// assert!(BaseUrl::parse("http://api.x.com").is_err());
/// assert!(BaseUrl::parse("http://127.0.0.1:8080").is_ok());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl {
    /// `scheme://host[:port][/prefix]`, no trailing slash.
    url: String,
    /// `scheme://host[:port]`, the origin part of `url`.
    origin_len: usize,
    loopback: bool,
}

const ALLOWED: &str =
    "an https:// URL with a host and no query (http:// only for localhost, 127.0.0.0/8 or [::1])";

impl BaseUrl {
    /// X's production API.
    pub const X_API: &'static str = "https://api.x.com";

    /// X's production API as a parsed value.
    pub fn x_api() -> BaseUrl {
        BaseUrl::parse(Self::X_API).expect("the built-in base URL is valid")
    }

    /// Parses and normalises a base URL.
    pub fn parse(input: &str) -> Result<BaseUrl, InvalidInput> {
        let refuse = |problem: &'static str| InvalidInput::new("base_url", problem, ALLOWED);
        let uri: Uri = input
            .trim()
            .parse()
            .map_err(|_| refuse("not a valid URL"))?;
        let scheme = uri
            .scheme_str()
            .ok_or_else(|| refuse("the URL has no scheme"))?
            .to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return Err(refuse("the scheme must be https or http")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| refuse("the URL has no host"))?;
        if authority.as_str().contains('@') {
            return Err(refuse("the URL must not carry user information"));
        }
        let host = authority.host().to_ascii_lowercase();
        if host.is_empty() {
            return Err(refuse("the URL has no host"));
        }
        if uri.query().is_some() || input.contains('#') {
            return Err(refuse("the URL must not have a query or fragment"));
        }
        let loopback = is_loopback(&host);
        if scheme == "http" && !loopback {
            return Err(refuse(
                "plain http:// is only allowed for loopback hosts; use https://",
            ));
        }
        // A port that does not fit in 16 bits must be refused by name: read as absent, it
        // would send the requests to the scheme's default port, another server.
        // `http` reads such a port as none at all, so the text after the host is read here.
        let raw_port = authority.as_str()[authority.host().len()..].trim_start_matches(':');
        let port = match raw_port {
            "" => None,
            p => match p.parse::<u16>() {
                Ok(n) if n != 0 => Some(n),
                _ => {
                    return Err(InvalidInput::new(
                        "base_url",
                        format!("port {p} is out of range"),
                        "a port from 1 to 65535",
                    ));
                }
            },
        };
        let mut url = format!("{scheme}://{host}");
        match port {
            Some(port) if port != default_port => url.push_str(&format!(":{port}")),
            _ => {}
        }
        let origin_len = url.len();
        let prefix = uri.path().trim_end_matches('/');
        if !prefix.is_empty() {
            url.push_str(prefix);
        }
        Ok(BaseUrl {
            url,
            origin_len,
            loopback,
        })
    }

    /// The normalised URL, with no trailing slash.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// `scheme://host[:port]`, without any path prefix.
    pub fn origin(&self) -> &str {
        &self.url[..self.origin_len]
    }

    /// Whether the host is a loopback address.
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.url.starts_with("https://")
    }

    /// The full URI for `path_and_query`, which must start with `/` and be already encoded.
    pub fn join(&self, path_and_query: &str) -> Uri {
        debug_assert!(path_and_query.starts_with('/'));
        let mut uri = String::with_capacity(self.url.len() + path_and_query.len());
        uri.push_str(&self.url);
        uri.push_str(path_and_query);
        // From a `String`, the URI takes over the buffer instead of copying it.
        Uri::try_from(uri).expect("a validated base URL joined with an encoded path is a valid URI")
    }
}

fn is_loopback(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BaseUrl({})", self.url)
    }
}

impl std::str::FromStr for BaseUrl {
    type Err = InvalidInput;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BaseUrl::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_default_port_and_trailing_slash() {
        let b = BaseUrl::parse("HTTPS://Api.X.Com:443/").unwrap();
        assert_eq!(b.as_str(), "https://api.x.com");
        assert!(b.is_https());
        assert!(!b.is_loopback());
        let b = BaseUrl::parse("http://127.0.0.1:80").unwrap();
        assert_eq!(b.as_str(), "http://127.0.0.1");
        let b = BaseUrl::parse("https://example.com:8443/api/").unwrap();
        assert_eq!(b.as_str(), "https://example.com:8443/api");
        assert_eq!(b.origin(), "https://example.com:8443");
        assert_eq!(
            b.join("/2/dm_events?x=1").to_string(),
            "https://example.com:8443/api/2/dm_events?x=1"
        );
    }

    #[test]
    fn http_only_for_loopback() {
        for ok in [
            "http://localhost:1234",
            "http://127.0.0.1:9",
            "http://127.8.9.10",
            "http://[::1]:8080",
        ] {
            let b = BaseUrl::parse(ok).unwrap();
            assert!(b.is_loopback(), "{ok}");
        }
        for bad in [
            "http://api.x.com",
            "http://10.0.0.1",
            "http://192.168.1.1:80",
            "http://localhost.example.com",
        ] {
            let e = BaseUrl::parse(bad).unwrap_err();
            assert_eq!(e.parameter, "base_url");
            assert!(e.problem.contains("loopback"), "{bad}: {e}");
        }
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "",
            "api.x.com",
            "ftp://api.x.com",
            "https://api.x.com/?a=b",
            "https://api.x.com/#frag",
            "https://user:pw@api.x.com",
            "https://",
            "not a url",
        ] {
            let e = BaseUrl::parse(bad).unwrap_err();
            assert_eq!(e.parameter, "base_url", "{bad}");
            assert!(!e.to_string().contains("pw"), "{bad}");
        }
    }

    #[test]
    fn a_port_out_of_range_is_refused_not_replaced_by_the_default() {
        for (bad, port) in [
            ("http://127.0.0.1:99999", "99999"),
            ("https://api.x.com:65536/", "65536"),
            ("http://[::1]:0", "0"),
            ("https://api.x.com:4294967739", "4294967739"),
        ] {
            let e = BaseUrl::parse(bad).unwrap_err();
            assert_eq!(e.parameter, "base_url", "{bad}");
            assert_eq!(e.problem, format!("port {port} is out of range"), "{bad}");
            assert_eq!(e.allowed, "a port from 1 to 65535", "{bad}");
        }
        assert_eq!(
            BaseUrl::parse("http://127.0.0.1:65535").unwrap().as_str(),
            "http://127.0.0.1:65535"
        );
        assert_eq!(
            BaseUrl::parse("https://api.x.com:/2").unwrap().as_str(),
            "https://api.x.com/2"
        );
    }
}
