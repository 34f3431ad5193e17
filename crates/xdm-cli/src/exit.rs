//! Failures as one line for people, a detail for `--verbose`, and an exit code per kind.
//!
//! Scripts branch on the exit code, so each kind keeps its number for good; the table is
//! repeated in `--help` and in the README.

use std::fmt;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use xdm_core::InvalidInput;
use xdm_core::error::{ApiError, ApiErrorKind, ForbiddenReason};

use xdm_core::retry::{MAX_SERVER_WAIT, TransportErrorKind};

use crate::output::{duration_words, moment_utc};

/// What kind of failure ended the command; each has its own exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A local file or an answer that could not be used.
    Local,
    /// Input refused before any request.
    Input,
    /// No credentials, or X refused them or their scopes.
    Auth,
    /// X refused the request.
    Refused,
    /// A rate limit, usage cap or spent credits.
    Limited,
    /// The network failed, or X did (5xx).
    Network,
    /// A send may or may not have happened.
    UnknownOutcome,
    /// Ctrl-C stopped the command before it finished, and it undid what it had begun.
    Interrupted,
}

impl Kind {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Kind::Local => 1,
            Kind::Input => 2,
            Kind::Auth => 3,
            Kind::Refused => 4,
            Kind::Limited => 5,
            Kind::Network => 6,
            Kind::UnknownOutcome => 7,
            // The shells' own code for a process ended by SIGINT.
            Kind::Interrupted => 130,
        }
    }
}

/// A failure to report: one line, optional detail, and the kind that picks the exit code.
#[derive(Debug)]
pub struct Failure {
    /// The kind.
    pub kind: Kind,
    /// One line a person understands.
    pub message: String,
    /// More, shown with `--verbose`. Never holds a secret.
    pub detail: Option<String>,
    /// Whether X's answer stalled past the request timeout, so that the command can say how
    /// long it waited in all ([`Failure::waited`]) rather than one attempt's timeout.
    pub stalled: bool,
}

impl Failure {
    /// A failure of `kind` said in `message`.
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
            detail: None,
            stalled: false,
        }
    }

    /// The same failure with details for `--verbose`.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// A local I/O failure on `what` (a path or a description).
    pub fn io(what: impl fmt::Display, err: &std::io::Error) -> Self {
        Failure::new(Kind::Local, format!("{what}: {err}"))
    }

    /// The same failure saying how long the command waited for X in all, when X's answer
    /// stalled (each attempt's timeout alone would understate it after retries).
    pub fn waited(mut self, total: Duration) -> Self {
        if self.stalled {
            self.message = format!(
                "{} (waited {} in all, retries included)",
                self.message,
                duration_words(total.as_secs().max(1))
            );
        }
        self
    }

    /// The exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.kind.code())
    }

    /// What goes on standard error.
    pub fn render(&self, verbose: bool) -> String {
        let mut out = format!("xdm: {}", self.message);
        match (&self.detail, verbose) {
            (Some(detail), true) => {
                for line in detail.lines() {
                    out.push_str("\n  ");
                    out.push_str(line);
                }
            }
            (Some(_), false) => out.push_str(" (--verbose for details)"),
            (None, _) => {}
        }
        out
    }
}

impl From<InvalidInput> for Failure {
    fn from(e: InvalidInput) -> Self {
        Failure::new(Kind::Input, e.to_string())
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        from_api_error(&e, SystemTime::now())
    }
}

impl From<xdm_client::Error> for Failure {
    fn from(e: xdm_client::Error) -> Self {
        from_client_error(e, SystemTime::now())
    }
}

/// Classifies a client error; `now` only words the rate-limit wait.
pub fn from_client_error(e: xdm_client::Error, now: SystemTime) -> Failure {
    use xdm_client::Error as E;
    let detail = e.to_string();
    match e {
        E::InvalidInput(e) => e.into(),
        E::Api(e) => from_api_error(&e, now),
        E::Transport(t) if is_oversized(&t) => Failure::new(
            Kind::Local,
            format!("X's answer is too large to read: {}", t.message()),
        ),
        E::Transport(t) if t.failure().kind == TransportErrorKind::Timeout => {
            let mut f = Failure::new(
                Kind::Network,
                "X did not answer in time (check the network and the base URL)",
            )
            .with_detail(t.to_string());
            f.stalled = true;
            f
        }
        E::Transport(t) => Failure::new(
            Kind::Network,
            format!("no answer from X: {t} (check the network and the base URL)"),
        ),
        E::RateLimited { reset, .. } => Failure::new(
            Kind::Limited,
            format!("rate limited until {}", until(reset, now)),
        )
        .with_detail(detail),
        E::Authorization(xdm_client::AuthorizationError::ReauthorizationRequired) => Failure::new(
            Kind::Auth,
            "X refused the credentials: the token is invalid or expired and cannot be \
                 refreshed (run `xdm login` again, or check the X_* variables)",
        )
        .with_detail(detail),
        E::Authorization(a) if matches!(&a, xdm_client::AuthorizationError::Refresh(r) if r.refuses_refresh_token()) => {
            Failure::new(
                Kind::Auth,
                format!(
                    "authorization failed: {a} (run `xdm login` to authorize again, or set a new \
                     X_OAUTH2_REFRESH_TOKEN)"
                ),
            )
        }
        E::Authorization(a) => Failure::new(Kind::Auth, format!("authorization failed: {a}")),
        E::Config(c) => Failure::new(Kind::Auth, c.to_string()),
        e if e.is_outcome_unknown() => Failure::new(
            Kind::UnknownOutcome,
            "the message may or may not have been sent (the connection failed after the \
             request may have reached X); check with `xdm events` before sending it again",
        )
        .with_detail(detail),
        e @ E::File { .. } => Failure::new(Kind::Local, e.to_string()),
        e @ E::MalformedToken => {
            Failure::new(Kind::Local, format!("X's answer could not be read: {e}"))
        }
        e => Failure::new(Kind::Refused, e.to_string()),
    }
}

/// Whether a transport failure is an answer larger than the transport accepts: the status
/// line arrived, so this is not a silence.
fn is_oversized(t: &xdm_client::transport::TransportError) -> bool {
    t.failure().kind == TransportErrorKind::TooLarge
}

/// A send's failure: as [`from_client_error`], except that X's success (2xx) with a body
/// that cannot be read is an unknown outcome, since the message was most likely sent.
pub fn from_send_error(e: xdm_client::Error, now: SystemTime) -> Failure {
    if let xdm_client::Error::Api(api) = &e
        && api.status().is_success()
        && matches!(
            api.kind(),
            ApiErrorKind::Undecodable { .. } | ApiErrorKind::MissingData
        )
    {
        return Failure::new(
            Kind::UnknownOutcome,
            format!(
                "X accepted the message (HTTP {}) but its answer could not be read, so the new \
                 event's id is unknown; the message was most likely sent: check with `xdm \
                 events` before sending it again",
                api.status().as_u16()
            ),
        )
        .with_detail(e.to_string());
    }
    from_client_error(e, now)
}

/// Classifies an API error and says it in one line; `now` only words the rate-limit wait.
pub fn from_api_error(e: &ApiError, now: SystemTime) -> Failure {
    let status = e.status().as_u16();
    let (kind, message) = match e.kind() {
        ApiErrorKind::Unauthorized => (
            Kind::Auth,
            "X refused the credentials: the token is invalid or expired (run `xdm login` again, \
             or check the X_* variables)"
                .to_owned(),
        ),
        ApiErrorKind::Forbidden(ForbiddenReason::MissingScope) => (
            Kind::Auth,
            "the token lacks a needed scope (dm.read for reading, dm.write for writing, with \
             tweet.read and users.read), or the app lacks Direct Message permission"
                .to_owned(),
        ),
        ApiErrorKind::Forbidden(ForbiddenReason::UnsupportedAuthentication) => (
            Kind::Auth,
            "DM endpoints need a user token, not an app-only bearer token".to_owned(),
        ),
        ApiErrorKind::Forbidden(ForbiddenReason::RecipientNotAcceptingDms) => (
            Kind::Refused,
            "the recipient does not accept DMs from you".to_owned(),
        ),
        ApiErrorKind::Forbidden(ForbiddenReason::MediaNotPermitted) => (
            Kind::Refused,
            "that media cannot be attached: it must be your own upload, less than 24 hours old"
                .to_owned(),
        ),
        ApiErrorKind::NotFound => (Kind::Refused, "not found".to_owned()),
        ApiErrorKind::RateLimited { reset, .. } => {
            let reset = reset.or_else(|| e.rate_limit().retry_reset());
            let message = match reset {
                Some(at) => format!("rate limited until {}", until(at, now)),
                None => "rate limited; X did not say until when".to_owned(),
            };
            (Kind::Limited, message)
        }
        ApiErrorKind::UsageCapped { period, .. } => {
            let period = period.as_deref().map(|p| format!(" {}", p.to_lowercase()));
            (
                Kind::Limited,
                format!(
                    "the{} usage cap of your X plan is reached; retrying before it renews will \
                     not help",
                    period.unwrap_or_default()
                ),
            )
        }
        ApiErrorKind::CreditsDepleted => {
            (Kind::Limited, "your X API credits are used up".to_owned())
        }
        ApiErrorKind::Server => (Kind::Network, format!("X failed to answer (HTTP {status})")),
        ApiErrorKind::Undecodable { .. } | ApiErrorKind::MissingData => {
            (Kind::Local, format!("X's answer could not be read: {e}"))
        }
        _ => (Kind::Refused, format!("X refused the request: {e}")),
    };
    let mut detail = format!("HTTP {status}");
    if let Some(json) = e.problem().and_then(|p| serde_json::to_string(p).ok()) {
        detail.push_str(&format!("\nproblem: {json}"));
    }
    detail.push_str(&format!("\nerror: {e}"));
    Failure::new(kind, message).with_detail(detail)
}

/// "14:05:10 UTC (in 3m 20s)", with the date when it is not today, and no count of hours
/// past the longest wait xdm takes.
fn until(at: SystemTime, now: SystemTime) -> String {
    let wait = at.duration_since(now).unwrap_or_default();
    if wait > MAX_SERVER_WAIT {
        format!("{} (more than 24 h from now)", moment_utc(at, now))
    } else {
        format!(
            "{} (in {})",
            moment_utc(at, now),
            duration_words(wait.as_secs())
        )
    }
}

/// `until` when it is at most [`MAX_SERVER_WAIT`] (24 hours) after `now`; a later one is a
/// rate-limit failure that names the date, since waiting for it would look like a hang.
pub fn bounded_wait(until: SystemTime, now: SystemTime) -> Result<SystemTime, Failure> {
    if until.duration_since(now).unwrap_or_default() > MAX_SERVER_WAIT {
        return Err(Failure::new(
            Kind::Limited,
            format!(
                "rate limited until {}: X asks for a wait of more than 24 h, the longest xdm \
                 takes; try again then",
                moment_utc(until, now)
            ),
        ));
    }
    Ok(until)
}

/// How long until `until`, plus a second: X's reset times are whole seconds, and asking again
/// at the exact second may still find the old window.
pub fn pause_until(until: SystemTime, now: SystemTime) -> Duration {
    until.duration_since(now).unwrap_or_default() + Duration::from_secs(1)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use bytes::Bytes;
    use xdm_core::response::decode_error;

    use super::*;

    fn error(status: u16, body: &str, headers: &[(&str, &str)]) -> ApiError {
        let mut b = http::Response::builder().status(status);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        decode_error(b.body(Bytes::from(body.to_owned())).unwrap())
    }

    #[test]
    fn codes_are_distinct() {
        let kinds = [
            Kind::Local,
            Kind::Input,
            Kind::Auth,
            Kind::Refused,
            Kind::Limited,
            Kind::Network,
            Kind::UnknownOutcome,
        ];
        let mut codes: Vec<u8> = kinds.iter().map(|k| k.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), kinds.len());
        assert!(!codes.contains(&0));
    }

    #[test]
    fn a_rate_limit_says_until_when() {
        let e = error(
            429,
            r#"{"title":"Too Many Requests","type":"about:blank","status":429,"detail":"Too Many Requests"}"#,
            &[
                ("x-rate-limit-limit", "15"),
                ("x-rate-limit-remaining", "0"),
                ("x-rate-limit-reset", "1700000710"),
            ],
        );
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_500);
        let f = from_api_error(&e, now);
        assert_eq!(f.kind, Kind::Limited);
        assert_eq!(f.message, "rate limited until 22:25:10 UTC (in 3m 30s)");
    }

    #[test]
    fn a_far_reset_shows_its_date_and_is_not_waited_for() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_500);
        let tomorrow = now + Duration::from_secs(3 * 3600);
        let e = error(
            429,
            r#"{"title":"Too Many Requests","type":"about:blank","status":429}"#,
            &[
                ("x-rate-limit-limit", "15"),
                ("x-rate-limit-remaining", "0"),
                ("x-rate-limit-reset", "1700011300"),
            ],
        );
        let f = from_api_error(&e, now);
        assert_eq!(
            f.message,
            "rate limited until 2023-11-15 01:21:40 UTC (in 3h 0m 0s)"
        );
        let centuries = UNIX_EPOCH + Duration::from_secs(32_503_680_000);
        let f = from_client_error(
            xdm_client::Error::RateLimited {
                group: xdm_core::EndpointGroup::ReadEvents,
                reset: centuries,
            },
            now,
        );
        assert_eq!(f.kind, Kind::Limited);
        assert_eq!(
            f.message,
            "rate limited until 3000-01-01 00:00:00 UTC (more than 24 h from now)"
        );
        assert_eq!(bounded_wait(tomorrow, now).unwrap(), tomorrow);
        let f = bounded_wait(centuries, now).unwrap_err();
        assert_eq!(f.kind, Kind::Limited);
        assert!(
            f.message.contains("3000-01-01 00:00:00 UTC"),
            "{}",
            f.message
        );
        assert!(f.message.contains("more than 24 h"), "{}", f.message);
        assert_eq!(pause_until(now, tomorrow), Duration::from_secs(1));
    }

    #[test]
    fn a_stalled_answer_says_how_long_it_waited_in_all() {
        use xdm_client::transport::TransportError;
        use xdm_core::retry::{ReachedServer, TransportFailure};
        let stalled = TransportError::new(
            TransportFailure::new(TransportErrorKind::Timeout, ReachedServer::Maybe),
            "no complete response within 30000 ms",
        );
        let f = from_client_error(xdm_client::Error::Transport(stalled), SystemTime::now())
            .waited(Duration::from_secs(125));
        assert_eq!(f.kind, Kind::Network);
        assert!(f.message.contains("waited 2m 5s in all"), "{}", f.message);
        // Other failures are left as they are.
        let f = Failure::new(Kind::Refused, "not found").waited(Duration::from_secs(9));
        assert_eq!(f.message, "not found");
    }

    #[test]
    fn an_oversized_answer_is_not_a_silence() {
        use xdm_client::transport::TransportError;
        use xdm_core::retry::{ReachedServer, TransportFailure};
        let big = TransportError::new(
            TransportFailure::new(TransportErrorKind::TooLarge, ReachedServer::Maybe),
            "over the cap",
        );
        let f = from_client_error(xdm_client::Error::Transport(big), SystemTime::now());
        assert_eq!(f.kind, Kind::Local);
        assert!(
            f.message.starts_with("X's answer is too large"),
            "{}",
            f.message
        );
        assert!(!f.message.contains("no answer"), "{}", f.message);
        // The kind decides, not the words: another failure that happens to say them is not
        // taken for an oversized answer.
        let other = TransportError::new(
            TransportFailure::new(TransportErrorKind::Other, ReachedServer::Maybe),
            "the response body is larger than the 16777216-byte limit",
        );
        let f = from_client_error(xdm_client::Error::Transport(other), SystemTime::now());
        assert_eq!(f.kind, Kind::Network);
    }

    #[test]
    fn a_send_answered_with_an_unreadable_success_is_an_unknown_outcome() {
        use xdm_core::Endpoint;
        use xdm_core::endpoints::{Message, SendToParticipant};
        let send = SendToParticipant::new("12".parse().unwrap(), Message::text("hi").unwrap());
        let answer = |status: u16, body: &'static str| {
            let response = http::Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Bytes::from_static(body.as_bytes()))
                .unwrap();
            xdm_client::Error::Api(send.decode_response(response).unwrap_err())
        };
        for (status, body) in [(201, "not json"), (200, "["), (201, "")] {
            let f = from_send_error(answer(status, body), SystemTime::now());
            assert_eq!(f.kind, Kind::UnknownOutcome, "{status} {body:?}");
            assert_eq!(f.kind.code(), 7);
            assert!(f.message.contains("most likely sent"), "{}", f.message);
        }
        // A refusal stays a refusal.
        let f = from_send_error(answer(400, "{}"), SystemTime::now());
        assert_ne!(f.kind, Kind::UnknownOutcome);
    }

    #[test]
    fn a_missing_scope_is_an_auth_failure() {
        let e = error(
            403,
            r#"{"title":"Forbidden","type":"about:blank","status":403,"detail":"Forbidden"}"#,
            &[],
        );
        let f = from_api_error(&e, SystemTime::now());
        assert_eq!(f.kind, Kind::Auth);
        assert!(f.message.contains("dm.write"), "{}", f.message);
    }

    #[test]
    fn detail_is_shown_only_when_verbose() {
        let f = Failure::new(Kind::Refused, "not found").with_detail("HTTP 404\nmore");
        assert_eq!(f.render(false), "xdm: not found (--verbose for details)");
        assert_eq!(f.render(true), "xdm: not found\n  HTTP 404\n  more");
    }
}
