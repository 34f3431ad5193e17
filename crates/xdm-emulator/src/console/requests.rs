//! The console's request log: every API call in detail, redacted before it is stored.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;
use http::HeaderMap;
use serde_json::{Value, json};

use super::redact;
use crate::auth::CredentialUsed;
use crate::clock::rfc3339_millis;
use crate::faults::FaultKind;
use crate::reply::Reply;

/// How many requests the log keeps; older ones drop, `seq` keeps counting.
pub(crate) const CAPACITY: usize = 2000;

/// A request received, held until its outcome is known (never stored as is).
pub(crate) struct Pending {
    started: Instant,
    time_ms: u64,
    method: String,
    path: String,
    query: Option<String>,
    template: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Pending {
    pub(crate) fn new(
        time_ms: u64,
        method: &str,
        path: &str,
        query: Option<&str>,
        template: &str,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Self {
        Self {
            started: Instant::now(),
            time_ms,
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.map(str::to_owned),
            template: template.to_owned(),
            headers: headers.clone(),
            body: body.clone(),
        }
    }
}

/// One logged request, redacted.
#[derive(Debug, Clone)]
pub(crate) struct Logged {
    pub(crate) seq: u64,
    time_ms: u64,
    method: String,
    path: String,
    query: Option<String>,
    template: String,
    pub(crate) status: Option<u16>,
    latency_ms: f64,
    credential: (&'static str, Option<String>),
    rate_limit: Option<(u64, u64, u64)>,
    fault: Option<&'static str>,
    request_headers: Vec<(String, String)>,
    request_body: (String, bool),
    response_headers: Vec<(String, String)>,
    response_body: (String, bool),
}

/// The log itself.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    entries: VecDeque<Logged>,
    next_seq: u64,
}

fn content_type<'a>(headers: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    headers
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.to_owned())
        .next()
        .unwrap_or_default()
}

fn credential(c: &CredentialUsed) -> (&'static str, Option<String>) {
    let user = |id: &str| (!id.is_empty()).then(|| id.to_owned());
    match c {
        CredentialUsed::None => ("none", None),
        CredentialUsed::OAuth1 { user_id, .. } => ("oauth1", user(user_id)),
        CredentialUsed::OAuth2User { user_id } => ("oauth2_user", user(user_id)),
        CredentialUsed::AppOnly => ("app_bearer", None),
        CredentialUsed::Rejected => ("rejected", None),
    }
}

/// What the request log records of a request's outcome.
pub(crate) struct Outcome<'a> {
    /// The status sent; `None` when the connection was closed instead.
    pub(crate) status: Option<u16>,
    /// The reply as the route produced it, if there was one.
    pub(crate) reply: Option<&'a Reply>,
    pub(crate) fault: Option<&'a FaultKind>,
    pub(crate) credential: &'a CredentialUsed,
    /// Whether the body is a stream (not kept).
    pub(crate) streaming: bool,
}

impl RequestLog {
    /// Redacts and stores a finished request; returns its `seq`.
    pub(crate) fn record(&mut self, p: Pending, out: Outcome<'_>, secrets: &[String]) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let scrub = |s: String| redact::scrub(&s, secrets);
        let request_headers: Vec<(String, String)> = p
            .headers
            .iter()
            .map(|(k, v)| {
                let v = String::from_utf8_lossy(v.as_bytes());
                (k.as_str().to_owned(), scrub(redact::header(k.as_str(), &v)))
            })
            .collect();
        let req_ct = content_type(
            p.headers
                .iter()
                .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v))),
        );
        let (req_body, req_cut) = redact::body(&req_ct, &p.body);
        let mut response_headers = Vec::new();
        let mut rate_limit = None;
        let mut response_body = (String::new(), false);
        if let Some(r) = out.reply {
            for (k, v) in &r.headers {
                let v = String::from_utf8_lossy(v.as_bytes());
                response_headers
                    .push((k.as_str().to_owned(), scrub(redact::header(k.as_str(), &v))));
            }
            let num = |name: &str| {
                r.headers
                    .iter()
                    .find(|(k, _)| k.as_str() == name)
                    .and_then(|(_, v)| v.to_str().ok()?.parse::<u64>().ok())
            };
            if let (Some(l), Some(rem), Some(reset)) = (
                num("x-rate-limit-limit"),
                num("x-rate-limit-remaining"),
                num("x-rate-limit-reset"),
            ) {
                rate_limit = Some((l, rem, reset));
            }
            if !out.streaming {
                let ct = content_type(
                    response_headers
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str())),
                );
                let (b, cut) = redact::body(&ct, &r.body);
                response_body = (scrub(b), cut);
            }
        }
        let entry = Logged {
            seq,
            time_ms: p.time_ms,
            method: p.method,
            path: p.path,
            query: p.query.map(|q| scrub(redact::pairs(&q))),
            template: p.template,
            status: out.status,
            latency_ms: p.started.elapsed().as_secs_f64() * 1000.0,
            credential: credential(out.credential),
            rate_limit,
            fault: out.fault.map(FaultKind::name),
            request_headers,
            request_body: (scrub(req_body), req_cut),
            response_headers,
            response_body,
        };
        if self.entries.len() == CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
        seq
    }

    /// Forgets everything (`seq` keeps counting).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    pub(crate) fn get(&self, seq: u64) -> Option<&Logged> {
        let first = self.entries.front()?.seq;
        self.entries
            .get(usize::try_from(seq.checked_sub(first)?).ok()?)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Logged> {
        self.entries.iter()
    }
}

/// Which requests a listing wants.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    /// `200`, `4xx`, `5xx`, `429`, `closed`...
    pub(crate) status: Option<String>,
    pub(crate) endpoint: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) after: Option<u64>,
}

impl Filter {
    pub(crate) fn keeps(&self, r: &Logged) -> bool {
        let status_ok = match (self.status.as_deref(), r.status) {
            (None, _) => true,
            (Some("closed" | "null"), s) => s.is_none(),
            (Some(f), Some(s)) => {
                let s = s.to_string();
                f.len() == 3
                    && f.chars()
                        .zip(s.chars())
                        .all(|(a, b)| a.eq_ignore_ascii_case(&'x') || a == b)
            }
            (Some(_), None) => false,
        };
        let endpoint_ok = self
            .endpoint
            .as_deref()
            .is_none_or(|e| r.template.contains(e) || r.path.contains(e));
        let user_ok = self
            .user
            .as_deref()
            .is_none_or(|u| r.credential.1.as_deref() == Some(u));
        status_ok && endpoint_ok && user_ok && self.after.is_none_or(|a| r.seq > a)
    }

    /// Whether `status` is a filter this log understands.
    pub(crate) fn valid_status(f: &str) -> bool {
        matches!(f, "closed" | "null")
            || (f.len() == 3
                && f.starts_with(|c: char| ('1'..='5').contains(&c))
                && f.chars()
                    .skip(1)
                    .all(|c| c.is_ascii_digit() || c == 'x' || c == 'X'))
    }
}

impl Logged {
    /// The summary the listing shows.
    pub(crate) fn summary(&self) -> Value {
        let mut cred = json!({ "kind": self.credential.0 });
        if let Some(u) = &self.credential.1 {
            cred["user_id"] = json!(u);
        }
        json!({
            "seq": self.seq,
            "time": rfc3339_millis(self.time_ms),
            "time_ms": self.time_ms,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "template": self.template,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "credential": cred,
            "rate_limit": self.rate_limit.map(|(limit, remaining, reset)| json!({"limit": limit, "remaining": remaining, "reset": reset})),
            "fault": self.fault,
        })
    }

    /// The summary plus headers and bodies.
    pub(crate) fn detail(&self) -> Value {
        let mut v = self.summary();
        let pairs =
            |h: &[(String, String)]| h.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>();
        v["request_headers"] = json!(pairs(&self.request_headers));
        v["request_body"] = json!(self.request_body.0);
        v["request_body_truncated"] = json!(self.request_body.1);
        v["response_headers"] = json!(pairs(&self.response_headers));
        v["response_body"] = json!(self.response_body.0);
        v["response_body_truncated"] = json!(self.response_body.1);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(path: &str) -> Pending {
        Pending::new(0, "GET", path, None, path, &HeaderMap::new(), &Bytes::new())
    }

    fn outcome(status: Option<u16>) -> Outcome<'static> {
        Outcome {
            status,
            reply: None,
            fault: None,
            credential: &CredentialUsed::None,
            streaming: false,
        }
    }

    #[test]
    fn keeps_the_last_entries_and_counts_on() {
        let mut log = RequestLog::default();
        for _ in 0..CAPACITY + 5 {
            log.record(pending("/a"), outcome(Some(200)), &[]);
        }
        assert_eq!(log.iter().count(), CAPACITY);
        assert_eq!(log.iter().next().map(|r| r.seq), Some(5));
        assert!(log.get(4).is_none());
        assert_eq!(log.get(5).map(|r| r.seq), Some(5));
        assert_eq!(
            log.get(CAPACITY as u64 + 4).map(|r| r.seq),
            Some(CAPACITY as u64 + 4)
        );
        assert!(log.get(CAPACITY as u64 + 5).is_none());
        log.clear();
        assert!(log.get(5).is_none());
        assert_eq!(
            log.record(pending("/a"), outcome(None), &[]),
            CAPACITY as u64 + 5
        );
    }

    #[test]
    fn filters() {
        let mut log = RequestLog::default();
        log.record(pending("/2/dm_events"), outcome(Some(200)), &[]);
        log.record(pending("/2/users/me"), outcome(Some(429)), &[]);
        log.record(pending("/2/users/me"), outcome(None), &[]);
        let seqs = |f: Filter| {
            log.iter()
                .filter(|r| f.keeps(r))
                .map(|r| r.seq)
                .collect::<Vec<_>>()
        };
        let status = |s: &str| Filter {
            status: Some(s.into()),
            ..Filter::default()
        };
        assert_eq!(seqs(status("4xx")), vec![1]);
        assert_eq!(seqs(status("429")), vec![1]);
        assert_eq!(seqs(status("2xx")), vec![0]);
        assert_eq!(seqs(status("closed")), vec![2]);
        assert_eq!(
            seqs(Filter {
                endpoint: Some("users".into()),
                ..Filter::default()
            }),
            vec![1, 2]
        );
        assert_eq!(
            seqs(Filter {
                after: Some(0),
                ..Filter::default()
            }),
            vec![1, 2]
        );
        assert_eq!(
            seqs(Filter {
                user: Some("1".into()),
                ..Filter::default()
            }),
            Vec::<u64>::new()
        );
        assert!(Filter::valid_status("4xx") && Filter::valid_status("503"));
        assert!(
            !Filter::valid_status("abc")
                && !Filter::valid_status("6xx")
                && !Filter::valid_status("40")
        );
    }
}
