//! Reading `GET /2/activity/stream`: bytes in, items out.
//!
//! The stream is one JSON object per line, lines ending in `\r\n`, with a blank line as a
//! keep-alive. [`LineDecoder`] takes the body's chunks as they come, split anywhere (inside a
//! line, between `\r` and `\n`, inside a UTF-8 sequence), and hands back one [`StreamItem`] per
//! line; the items do not depend on how the bytes were chunked. Nothing a line holds stops the
//! decoder: a line that is not JSON, or is too long, is reported and skipped.
//!
//! ```
//! use xdm_core::activity::stream::{LineDecoder, StreamItem};
//!
//! let mut decoder = LineDecoder::new();
//! decoder.push(b"\r\n{\"errors\":[{\"title\":\"operational-disconnect\",\"type\":\"https://api.x.com/2/pro");
//! assert!(matches!(decoder.poll_item(), Some(StreamItem::KeepAlive)));
//! assert!(decoder.poll_item().is_none());
//! decoder.push(b"blems/operational-disconnect\"}]}\r\n");
//! let Some(StreamItem::Problems(problems)) = decoder.poll_item() else { panic!() };
//! assert!(problems[0].is_operational_disconnect());
//! ```

use std::collections::VecDeque;

use serde_json::value::RawValue;

use super::event::ActivityDelivery;
use super::wire::{self, Document};
use crate::error::Problem;
use crate::models::wire::wire_enum;

/// One line of the stream.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StreamItem {
    /// A blank line: X's heartbeat, sent at least every 20 seconds. It proves the connection
    /// is alive; reset the idle timer.
    KeepAlive,
    /// An event delivery.
    Delivery(Box<ActivityDelivery>),
    /// An `{"errors":[…]}` line: why the stream is about to end (operational disconnect), or
    /// another problem. A line with both `data` and `errors` yields the delivery, then this.
    Problems(Vec<StreamProblem>),
    /// A line that is not a stream object; it was skipped.
    Malformed(MalformedLine),
    /// A line longer than the decoder's limit; it was skipped without being kept in memory.
    Oversized {
        /// The line's length in bytes, without its line ending.
        len: usize,
    },
}

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MalformedLine {
    /// What was wrong (the line itself is not repeated: it may hold a message text).
    pub reason: String,
    /// The line's length in bytes, without its line ending.
    pub len: usize,
}

wire_enum! {
    /// A stream problem's `disconnect_type`: why X closed the stream.
    pub enum DisconnectType {
        /// X closed the stream for operational reasons.
        OperationalDisconnect = "OperationalDisconnect",
        /// An upstream part of X closed the stream for operational reasons.
        UpstreamOperationalDisconnect = "UpstreamOperationalDisconnect",
        /// X forced the stream closed.
        ForceDisconnect = "ForceDisconnect",
        /// An upstream part of X failed.
        UpstreamUncleanDisconnect = "UpstreamUncleanDisconnect",
        /// The client read too slowly and X's buffer overflowed.
        SlowReader = "SlowReader",
        /// X failed.
        InternalError = "InternalError",
        /// The app's state on X's side is degraded.
        ClientApplicationStateDegraded = "ClientApplicationStateDegraded",
        /// The app's rules are invalid (filtered-stream wording).
        InvalidRules = "InvalidRules",
    }
}

wire_enum! {
    /// A stream problem's `connection_issue`: why X refused a connection.
    pub enum ConnectionIssue {
        /// The app already holds its maximum of connections (2 for the activity stream). A
        /// connection lost abruptly can hold its slot for minutes.
        TooManyConnections = "TooManyConnections",
        /// The subscription is still being provisioned.
        ProvisioningSubscription = "ProvisioningSubscription",
        /// The rules are misconfigured (filtered-stream wording).
        RuleConfigurationIssue = "RuleConfigurationIssue",
        /// The rules are invalid (filtered-stream wording).
        RulesInvalidIssue = "RulesInvalidIssue",
    }
}

/// What a stream problem's `type` names, by the path after `/2/problems/` on either host
/// (`api.x.com` or `api.twitter.com`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StreamProblemKind {
    /// `operational-disconnect`: X is closing the stream; reconnect.
    OperationalDisconnect,
    /// `streaming-connection`: a connection was refused (see
    /// [`StreamProblem::connection_issue`]).
    StreamingConnection,
    /// Another type; [`Problem::problem_type`] says which.
    Other,
}

/// A problem reported on the stream or in a refused connection's body.
///
/// Spec 2.167 dropped these types from its problem union; they are read here whatever the
/// specification says, and never dropped.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StreamProblem {
    /// What the `type` names.
    pub kind: StreamProblemKind,
    /// `disconnect_type`, on operational disconnects.
    pub disconnect_type: Option<DisconnectType>,
    /// `connection_issue`, on refused connections.
    pub connection_issue: Option<ConnectionIssue>,
    /// The whole problem: `title`, `detail`, `type` and every other key.
    pub problem: Problem,
}

impl StreamProblem {
    /// Reads a problem object; `disconnect_type` and `connection_issue` stay in
    /// [`Problem::extra`] as well.
    pub fn from_problem(problem: Problem) -> StreamProblem {
        let text = |key: &str| problem.extra.get(key).and_then(|v| v.as_str());
        let slug = problem.type_uri.as_deref().and_then(|uri| {
            [
                "https://api.x.com/2/problems/",
                "https://api.twitter.com/2/problems/",
            ]
            .iter()
            .find_map(|host| uri.strip_prefix(host))
        });
        StreamProblem {
            kind: match slug {
                Some("operational-disconnect") => StreamProblemKind::OperationalDisconnect,
                Some("streaming-connection") => StreamProblemKind::StreamingConnection,
                _ => StreamProblemKind::Other,
            },
            disconnect_type: text("disconnect_type").map(DisconnectType::parse),
            connection_issue: text("connection_issue").map(ConnectionIssue::parse),
            problem,
        }
    }

    /// Whether X announced that it is closing the stream: the `operational-disconnect` type,
    /// or a `disconnect_type` under any type.
    pub fn is_operational_disconnect(&self) -> bool {
        self.kind == StreamProblemKind::OperationalDisconnect || self.disconnect_type.is_some()
    }

    /// Whether the app is at its connection limit (`TooManyConnections`).
    pub fn is_too_many_connections(&self) -> bool {
        self.connection_issue == Some(ConnectionIssue::TooManyConnections)
    }

    /// `title`.
    pub fn title(&self) -> Option<&str> {
        self.problem.title.as_deref()
    }

    /// `detail`.
    pub fn detail(&self) -> Option<&str> {
        self.problem.detail.as_deref()
    }

    /// `type`, as it arrived.
    pub fn type_uri(&self) -> Option<&str> {
        self.problem.type_uri.as_deref()
    }
}

/// Reads the body of a refused stream connection (such as the 429 `TooManyConnections`
/// answer): a bare problem object, or the first item of an `errors` list. `None` when the
/// body is neither.
///
/// ```
/// use xdm_core::activity::stream::{decode_connection_problem, ConnectionIssue};
///
/// let body = br#"{"title":"ConnectionException","detail":"This stream is currently at the maximum allowed connection limit.","connection_issue":"TooManyConnections","type":"https://api.twitter.com/2/problems/streaming-connection"}"#;
/// let problem = decode_connection_problem(body).unwrap();
/// assert_eq!(problem.connection_issue, Some(ConnectionIssue::TooManyConnections));
/// assert!(problem.is_too_many_connections());
/// ```
pub fn decode_connection_problem(body: &[u8]) -> Option<StreamProblem> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let object = match value {
        serde_json::Value::Object(mut map) => match map.remove("errors") {
            Some(serde_json::Value::Array(errors)) => errors.into_iter().next()?,
            Some(_) => return None,
            None => serde_json::Value::Object(map),
        },
        _ => return None,
    };
    object
        .is_object()
        .then(|| StreamProblem::from_problem(Problem::from_value(object)))
}

fn problems(errors: &RawValue) -> Result<Vec<StreamProblem>, String> {
    let list: Vec<serde_json::Value> =
        serde_json::from_str(errors.get()).map_err(|_| "`errors` is not a list".to_owned())?;
    Ok(list
        .into_iter()
        .map(|p| StreamProblem::from_problem(Problem::from_value(p)))
        .collect())
}

/// Decodes one line of the stream (without its line ending).
///
/// A blank line is a [`StreamItem::KeepAlive`]; a JSON object with `data` and/or `errors` is a
/// delivery and/or problems; anything else is [`StreamItem::Malformed`]. A delivery whose
/// payload this crate does not understand is still a delivery, of an unknown event.
pub fn decode_line(line: &[u8]) -> Vec<StreamItem> {
    let mut out = Vec::with_capacity(1);
    decode_line_into(line, &mut out);
    out
}

fn decode_line_into(line: &[u8], out: &mut impl Extend<StreamItem>) {
    let trimmed = line.trim_ascii();
    if trimmed.is_empty() {
        out.extend([StreamItem::KeepAlive]);
        return;
    }
    let malformed = |reason: String| {
        StreamItem::Malformed(MalformedLine {
            reason,
            len: line.len(),
        })
    };
    let (data, errors, meta) = match wire::document(trimmed) {
        Ok(Document::Envelope { data, errors, meta }) => (data, errors, meta),
        Ok(_) => {
            out.extend([malformed(
                "an object with neither `data` nor `errors`".to_owned(),
            )]);
            return;
        }
        Err(reason) => {
            out.extend([malformed(reason)]);
            return;
        }
    };
    if let Some(data) = data {
        match wire::envelope(data, wire::is_replay(meta)) {
            Ok(delivery) => out.extend([StreamItem::Delivery(Box::new(delivery))]),
            Err(reason) => out.extend([malformed(format!("`data`: {reason}"))]),
        }
    }
    if let Some(errors) = errors {
        match problems(errors) {
            Ok(problems) => out.extend([StreamItem::Problems(problems)]),
            Err(reason) => out.extend([malformed(reason)]),
        }
    }
}

/// Splits the stream's bytes into lines and decodes each; see the [module](self) docs.
///
/// Memory stays bounded: at most [`max_line_len`](Self::max_line_len) bytes of an unfinished
/// line are kept, plus the items not yet polled. A longer line is dropped as it arrives and
/// reported once it ends.
#[derive(Debug, Clone)]
pub struct LineDecoder {
    max_line_len: usize,
    /// The unfinished line (possibly with its `\r`).
    partial: Vec<u8>,
    /// While an over-long line is being skipped: its bytes so far, and whether the last of
    /// them was a `\r` (which is part of the line ending if a `\n` follows).
    skipping: Option<(usize, bool)>,
    ready: VecDeque<StreamItem>,
}

impl Default for LineDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl LineDecoder {
    /// The line limit of [`new`](Self::new): 1 MiB. A DM delivery with two hydrated users is
    /// a few KB; nothing X documents comes near this.
    pub const DEFAULT_MAX_LINE_LEN: usize = 1 << 20;

    /// A decoder with the [default limit](Self::DEFAULT_MAX_LINE_LEN).
    pub fn new() -> Self {
        Self::with_max_line_len(Self::DEFAULT_MAX_LINE_LEN)
    }

    /// A decoder that skips lines longer than `max` bytes (line ending not counted).
    pub fn with_max_line_len(max: usize) -> Self {
        LineDecoder {
            max_line_len: max,
            partial: Vec::new(),
            skipping: None,
            ready: VecDeque::new(),
        }
    }

    /// The longest line kept, in bytes.
    pub fn max_line_len(&self) -> usize {
        self.max_line_len
    }

    /// Takes the next chunk of the body. Complete lines are decoded at once; take the items
    /// with [`poll_item`](Self::poll_item).
    pub fn push(&mut self, mut chunk: &[u8]) {
        while !chunk.is_empty() {
            let newline = chunk.iter().position(|&b| b == b'\n');
            let (body, rest) = match newline {
                Some(at) => (&chunk[..at], Some(&chunk[at + 1..])),
                None => (chunk, None),
            };
            self.take(body);
            match rest {
                Some(rest) => {
                    self.end_line();
                    chunk = rest;
                }
                None => break,
            }
        }
    }

    /// The next decoded item, oldest first; `None` until another line is complete.
    pub fn poll_item(&mut self) -> Option<StreamItem> {
        self.ready.pop_front()
    }

    /// Ends the input (the connection closed). An unfinished last line is decoded as if it
    /// had ended; the items are then available from [`poll_item`](Self::poll_item). The
    /// decoder is empty afterwards and can take a new connection's bytes.
    pub fn finish(&mut self) {
        if self.skipping.is_some() || !self.partial.is_empty() {
            self.end_line();
        }
    }

    /// Bytes of an unfinished line held right now (bounded by the limit plus one).
    pub fn buffered_len(&self) -> usize {
        self.partial.len()
    }

    /// Adds bytes of the current line (no `\n` among them).
    fn take(&mut self, bytes: &[u8]) {
        if let Some((seen, last_cr)) = &mut self.skipping {
            *seen += bytes.len();
            if let Some(&last) = bytes.last() {
                *last_cr = last == b'\r';
            }
            return;
        }
        // One byte of slack for the `\r` of a line of exactly the maximum length.
        if self.partial.len() + bytes.len() > self.max_line_len.saturating_add(1) {
            let last = bytes.last().or(self.partial.last());
            self.skipping = Some((self.partial.len() + bytes.len(), last == Some(&b'\r')));
            self.partial = Vec::new();
            return;
        }
        self.partial.extend_from_slice(bytes);
    }

    /// The current line ended.
    fn end_line(&mut self) {
        if let Some((seen, last_cr)) = self.skipping.take() {
            self.ready.push_back(StreamItem::Oversized {
                len: seen - usize::from(last_cr),
            });
            return;
        }
        let mut line = std::mem::take(&mut self.partial);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.len() > self.max_line_len {
            self.ready
                .push_back(StreamItem::Oversized { len: line.len() });
        } else {
            decode_line_into(&line, &mut self.ready);
        }
        // Keep the allocation for the next line unless it grew unusually large.
        line.clear();
        if line.capacity() <= 64 * 1024 {
            self.partial = line;
        }
    }
}
