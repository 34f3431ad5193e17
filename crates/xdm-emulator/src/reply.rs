//! What a route hands back before faults and headers are applied.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use serde_json::Value;

/// A complete response, body in memory.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Bytes,
}

impl Reply {
    pub(crate) fn json(status: StatusCode, body: Value) -> Self {
        Self::bytes(
            status,
            "application/json; charset=utf-8",
            Bytes::from(body.to_string()),
        )
    }

    pub(crate) fn bytes(status: StatusCode, content_type: &str, body: Bytes) -> Self {
        let mut r = Self {
            status,
            headers: Vec::new(),
            body,
        };
        r.set_header("content-type", content_type);
        r
    }

    pub(crate) fn with_content_type(mut self, ct: &str) -> Self {
        self.set_header("content-type", ct);
        self
    }

    pub(crate) fn set_header(&mut self, name: &'static str, value: &str) {
        let name = HeaderName::from_static(name);
        self.headers.retain(|(n, _)| n != name);
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
    }

    pub(crate) fn set_dynamic_header(&mut self, name: &str, value: &str) {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            self.headers.retain(|(x, _)| *x != n);
            self.headers.push((n, v));
        }
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: &str) -> Self {
        self.set_header(name, value);
        self
    }

    pub(crate) fn redirect(location: &str) -> Self {
        Self::bytes(StatusCode::FOUND, "text/plain; charset=utf-8", Bytes::new())
            .with_header("location", location)
    }

    pub(crate) fn html(status: StatusCode, html: String) -> Self {
        Self::bytes(status, "text/html; charset=utf-8", Bytes::from(html))
    }

    pub(crate) fn form(status: StatusCode, body: String) -> Self {
        Self::bytes(
            status,
            "application/x-www-form-urlencoded",
            Bytes::from(body),
        )
    }
}
