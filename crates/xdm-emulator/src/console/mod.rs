//! The web console: a page under `/console/` and the JSON control API it uses under
//! `/console/api/`, served on the emulator's own port to loopback clients only.
//!
//! Console requests never reach the API's machinery: no rate limit, no armed fault, no entry
//! in the request log. What they change goes through the same state and the same activity
//! deliveries as the API, and every change is published on the live-update channel.

mod act;
mod control;
pub(crate) mod redact;
pub(crate) mod requests;
mod updates;
mod world;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::Either;
use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

pub(crate) use updates::{Update, UpdatesBody};

use crate::reply::Reply;
use crate::server::{Body, Inner, Shared};

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// The page's Content-Security-Policy: everything from the emulator itself, nothing else.
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; script-src 'self'; connect-src 'self'";

/// The console's shared parts, present when it is on.
#[derive(Debug)]
pub(crate) struct Hub {
    pub(crate) updates: broadcast::Sender<Update>,
    pub(crate) allow_remote: bool,
    /// `Emulator::describe()`, set once the emulator knows its address.
    pub(crate) describe: OnceLock<Value>,
}

impl Hub {
    pub(crate) fn new(allow_remote: bool) -> Self {
        Self {
            updates: broadcast::channel(updates::BACKLOG).0,
            allow_remote,
            describe: OnceLock::new(),
        }
    }
}

/// Whether `path` is the console's.
pub(crate) fn is_console_path(path: &str) -> bool {
    path == "/console" || path.starts_with("/console/")
}

/// Whether a client at `peer` may use the console.
pub(crate) fn peer_allowed(peer: &SocketAddr, allow_remote: bool) -> bool {
    allow_remote || peer.ip().to_canonical().is_loopback()
}

/// A console error: `{"error": "..."}`.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Reply {
    Reply::json(status, json!({ "error": message.into() }))
}

pub(crate) fn bad_request(message: impl Into<String>) -> Reply {
    error(StatusCode::BAD_REQUEST, message)
}

pub(crate) fn not_found(message: impl Into<String>) -> Reply {
    error(StatusCode::NOT_FOUND, message)
}

fn method_not_allowed(method: &Method, allowed: &str) -> Reply {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed here; use {allowed}"),
    )
    .with_header("allow", allowed)
}

/// Publishes the conversation changes the world recorded since the last call.
pub(crate) fn publish_changes(shared: &Shared, inner: &mut Inner) {
    for (conv, event) in inner.world.take_changes() {
        let id = inner.world.convs[conv as usize].key.to_string();
        shared.publish(Update::conversation(&id, event));
    }
}

/// One console request, read whole.
pub(crate) struct Request<'a> {
    pub(crate) method: &'a Method,
    /// The path's segments after `/console/api/`, percent-decoded.
    pub(crate) segments: Vec<String>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: &'a Bytes,
}

impl Request<'_> {
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as a JSON object (an empty body reads as `{}`).
    pub(crate) fn json(&self) -> Result<Map<String, Value>, Reply> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        match serde_json::from_slice::<Value>(self.body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(bad_request("the body must be a JSON object")),
            Err(e) => Err(bad_request(format!("the body is not valid JSON: {e}"))),
        }
    }
}

/// Serves one console request.
pub(crate) fn serve(
    shared: &Arc<Shared>,
    hub: &Hub,
    peer: SocketAddr,
    method: &Method,
    path: &str,
    raw_query: Option<&str>,
    body: &Bytes,
) -> Response<Body> {
    if !peer_allowed(&peer, hub.allow_remote) {
        return plain(error(
            StatusCode::FORBIDDEN,
            "the console answers loopback clients only",
        ));
    }
    let page = |ct: &str, text: &'static str| {
        Reply::bytes(StatusCode::OK, ct, Bytes::from_static(text.as_bytes()))
    };
    let get_only = |r: Reply| {
        if method == Method::GET || method == Method::HEAD {
            r
        } else {
            method_not_allowed(method, "GET")
        }
    };
    let reply = match path {
        "/console" => get_only(
            Reply::bytes(
                StatusCode::PERMANENT_REDIRECT,
                "text/plain; charset=utf-8",
                Bytes::new(),
            )
            .with_header("location", "/console/"),
        ),
        "/console/" | "/console/index.html" => get_only(
            page("text/html; charset=utf-8", INDEX_HTML)
                .with_header("content-security-policy", CSP),
        ),
        "/console/app.js" => get_only(page("text/javascript; charset=utf-8", APP_JS)),
        "/console/app.css" => get_only(page("text/css; charset=utf-8", APP_CSS)),
        "/console/api/updates" if method == Method::GET => {
            let body = UpdatesBody::start(&hub.updates, shared.stop.clone(), updates::KEEP_ALIVE);
            let mut resp = Response::new(Either::Right(Either::Right(body)));
            let h = resp.headers_mut();
            h.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/event-stream"),
            );
            h.insert(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-store"),
            );
            return resp;
        }
        "/console/api/updates" => method_not_allowed(method, "GET"),
        _ => match path.strip_prefix("/console/api/") {
            Some(rest) => {
                let req = Request {
                    method,
                    segments: rest
                        .split('/')
                        .map(|s| {
                            percent_encoding::percent_decode_str(s)
                                .decode_utf8_lossy()
                                .into_owned()
                        })
                        .collect(),
                    query: raw_query
                        .map(crate::auth::oauth1::parse_pairs)
                        .unwrap_or_default(),
                    body,
                };
                api(shared, hub, &req)
            }
            None => not_found(format!("the console has no page at {path}")),
        },
    };
    plain(reply)
}

fn plain(reply: Reply) -> Response<Body> {
    let mut resp = crate::server::respond(reply, None).map(Either::Left);
    resp.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    resp
}

/// The control API: `segments` after `/console/api/`.
fn api(shared: &Arc<Shared>, hub: &Hub, req: &Request<'_>) -> Reply {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let m = req.method.as_str();
    let result = match (m, segs.as_slice()) {
        ("GET", ["world"]) => Ok(world::world(shared)),
        ("GET", ["credentials"]) => Ok(Reply::json(
            StatusCode::OK,
            hub.describe.get().cloned().unwrap_or(Value::Null),
        )),
        ("GET", ["conversations"]) => world::conversations(shared, req),
        ("GET", ["conversations", id, "events"]) => world::events(shared, id),
        ("GET", ["media", key]) => world::media(shared, key),
        ("POST", ["messages"]) => act::message(shared, req),
        ("POST", ["groups"]) => act::group(shared, req),
        ("POST", ["read"]) => act::read(shared, req),
        ("POST", ["typing"]) => act::typing(shared, req),
        ("GET", ["requests"]) => control::requests(shared, req),
        ("DELETE", ["requests"]) => Ok(control::clear_requests(shared)),
        ("GET", ["requests", seq]) => control::request(shared, seq),
        ("GET", ["limits"]) => Ok(control::limits(shared)),
        ("GET", ["faults"]) => Ok(control::faults(shared)),
        ("POST", ["faults"]) => control::add_fault(shared, req),
        ("DELETE", ["faults"]) => Ok(control::clear_faults(shared)),
        ("DELETE", ["faults", id]) => control::remove_fault(shared, id),
        ("POST", ["stream", "drop"]) => Ok(control::drop_streams(shared)),
        ("POST", ["webhooks", "fail"]) => control::fail_webhooks(shared, req),
        ("GET", ["activity"]) => Ok(control::activity(shared)),
        (_, path) => Err(match allowed(path) {
            Some(allowed) => method_not_allowed(req.method, allowed),
            None => not_found(format!(
                "the control API has no endpoint /console/api/{}",
                path.join("/")
            )),
        }),
    };
    result.unwrap_or_else(|r| r)
}

/// The methods a known control path takes, for the 405's `Allow`.
fn allowed(path: &[&str]) -> Option<&'static str> {
    Some(match path {
        ["world"]
        | ["credentials"]
        | ["conversations"]
        | ["conversations", _, "events"]
        | ["media", _]
        | ["limits"]
        | ["activity"]
        | ["requests", _] => "GET",
        ["messages"]
        | ["groups"]
        | ["read"]
        | ["typing"]
        | ["stream", "drop"]
        | ["webhooks", "fail"] => "POST",
        ["requests"] => "GET, DELETE",
        ["faults"] => "GET, POST, DELETE",
        ["faults", _] => "DELETE",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_peers_unless_allowed() {
        let v4: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let v6: SocketAddr = "[::1]:5000".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:5000".parse().unwrap();
        let remote: SocketAddr = "192.168.1.20:5000".parse().unwrap();
        let remote6: SocketAddr = "[2001:db8::1]:5000".parse().unwrap();
        for p in [v4, v6, mapped] {
            assert!(peer_allowed(&p, false), "{p}");
        }
        for p in [remote, remote6] {
            assert!(!peer_allowed(&p, false), "{p}");
            assert!(peer_allowed(&p, true), "{p}");
        }
    }

    #[test]
    fn console_paths() {
        assert!(is_console_path("/console"));
        assert!(is_console_path("/console/api/world"));
        assert!(!is_console_path("/consoles"));
        assert!(!is_console_path("/2/console"));
    }
}
