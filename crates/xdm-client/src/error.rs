//! The one error type of the client.
//!
//! Every variant prints as one line a person can act on, and none carries a secret: tokens and
//! signatures never reach an error, and message texts are left out of `Display` (they are
//! reachable, for the caller who sent them, through [`UnknownOutcome::message`]).

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use xdm_core::endpoints::Message;
use xdm_core::error::ApiError;
use xdm_core::ids::{ConversationId, PaginationToken, UserId};
use xdm_core::upload::UploadFailure;
use xdm_core::{EndpointGroup, InvalidInput};

use crate::config::ConfigError;
use crate::transport::TransportError;

/// Why a call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The input was refused before any request was made.
    InvalidInput(InvalidInput),
    /// X answered with an error (after any retries the policy allowed).
    Api(ApiError),
    /// No response arrived (after any retries the policy allowed).
    Transport(TransportError),
    /// The request could not be authorized: a missing scope, an expired token that cannot be
    /// refreshed, a failed refresh.
    Authorization(AuthorizationError),
    /// A rate limit is exhausted until `reset`, and the client's policy is to fail rather than
    /// wait that long.
    RateLimited {
        /// The endpoint group whose limit is exhausted.
        group: EndpointGroup,
        /// When requests are accepted again.
        reset: SystemTime,
    },
    /// A message send or group creation may or may not have reached X: sending it again could
    /// deliver it twice. The value says what was being sent.
    OutcomeUnknown(Box<UnknownOutcome>),
    /// Looking for a send whose outcome was unknown failed; the message may or may not exist.
    Reconciliation {
        /// The send that was being looked for.
        send: Box<UnknownOutcome>,
        /// Why the lookup failed.
        cause: Box<Error>,
    },
    /// The client's configuration is incomplete or invalid.
    Config(ConfigError),
    /// Media processing failed at X, or X answered an upload step with an unusable body.
    Upload(UploadFailure),
    /// A listing's server handed out a pagination token it had handed out before. Following
    /// it would fetch the same pages again without end, so the listing stopped there, after
    /// the events it had yielded.
    RepeatedToken(PaginationToken),
    /// A listing's server sent a `next_token` that is not a pagination token, so whether more
    /// events follow is unknown. The listing stopped after the page that carried it, which
    /// its `resume_token` names, rather than end as if it were complete.
    MalformedToken,
    /// A media file could not be read.
    File {
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
}

/// Why a request could not be authorized.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthorizationError {
    /// The authorizer refused the request (missing scope, OAuth 1.0a not accepted, expired
    /// token, no randomness for a nonce).
    Refused(xdm_auth::AuthorizeError),
    /// Refreshing the OAuth 2.0 token failed.
    Refresh(xdm_auth::ResponseError),
    /// The refresh request got no response. When it may have reached X, its outcome is
    /// unknown: X rotates refresh tokens, so if it was carried out the stored refresh token is
    /// spent (the next refresh is then refused and
    /// [`ReauthorizationRequired`](Self::ReauthorizationRequired) follows).
    RefreshTransport(TransportError),
    /// The token is expired or was rejected and cannot be refreshed: the user must authorize
    /// the app again.
    ReauthorizationRequired,
    /// The token store set with
    /// [`ClientBuilder::token_store`](crate::ClientBuilder::token_store) could not be locked
    /// or read before a refresh.
    TokenStore(crate::TokenStoreError),
}

impl fmt::Display for AuthorizationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthorizationError::Refused(e) => write!(f, "{e}"),
            // Only a success status gets as far as reading the token: X granted the refresh,
            // so the old refresh token is spent, and the new one is in the unreadable body.
            AuthorizationError::Refresh(e @ xdm_auth::ResponseError::Malformed { .. }) => write!(
                f,
                "refreshing the access token failed: X granted it but {e}; the refresh token is \
                 spent and the app must be authorized again"
            ),
            AuthorizationError::Refresh(e) if e.refuses_refresh_token() => write!(
                f,
                "refreshing the access token failed: {e}; the refresh token is no longer \
                 valid (used already, or revoked), and the user must authorize the app again"
            ),
            AuthorizationError::Refresh(e) => write!(f, "refreshing the access token failed: {e}"),
            AuthorizationError::RefreshTransport(e)
                if e.failure().reached_server == xdm_core::retry::ReachedServer::No =>
            {
                write!(f, "refreshing the access token failed: {e}")
            }
            // X rotates refresh tokens: a refresh it carried out spent the old one, and the
            // new one was in the answer that never came.
            AuthorizationError::RefreshTransport(e) => write!(
                f,
                "refreshing the access token got no answer ({e}); if X carried the refresh \
                 out, the refresh token is spent and the app must be authorized again"
            ),
            AuthorizationError::ReauthorizationRequired => f.write_str(
                "the access token was rejected and cannot be refreshed; the user must authorize \
                 the app again",
            ),
            AuthorizationError::TokenStore(e) => {
                write!(f, "refreshing the access token failed: {e}")
            }
        }
    }
}

impl std::error::Error for AuthorizationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AuthorizationError::Refused(e) => Some(e),
            AuthorizationError::Refresh(e) => Some(e),
            AuthorizationError::RefreshTransport(e) => Some(e),
            AuthorizationError::ReauthorizationRequired => None,
            AuthorizationError::TokenStore(e) => Some(e),
        }
    }
}

/// Where a message was going.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recipient {
    /// An existing conversation, one-to-one or group.
    Conversation(ConversationId),
    /// The one-to-one conversation with this user (created by the first message).
    Participant(UserId),
    /// A new group with these participants.
    NewGroup(Vec<UserId>),
    /// An endpoint sent through [`Client::execute`](crate::Client::execute), named by its path
    /// template.
    Endpoint(&'static str),
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::Conversation(id) => write!(f, "conversation {id}"),
            Recipient::Participant(id) => write!(f, "user {id}"),
            Recipient::NewGroup(ids) => write!(f, "a new group of {} users", ids.len()),
            Recipient::Endpoint(path) => write!(f, "{path}"),
        }
    }
}

/// What was being sent when the outcome became unknown, and why it is unknown.
///
/// `#[non_exhaustive]`: the client builds it, and may say more about the send later.
#[derive(Debug)]
#[non_exhaustive]
pub struct UnknownOutcome {
    /// Where the message was going.
    pub recipient: Recipient,
    /// The message, to send again once the caller has checked it did not arrive (absent for
    /// requests made through [`Client::execute`](crate::Client::execute)).
    pub message: Option<Message>,
    /// When the first attempt started.
    pub started_at: SystemTime,
    /// What went wrong: a transport failure after the request may have been written, or a
    /// server error status.
    pub cause: OutcomeCause,
}

/// Why a send's outcome is unknown.
#[derive(Debug)]
#[non_exhaustive]
pub enum OutcomeCause {
    /// The connection failed after the request may have reached X.
    Transport(TransportError),
    /// X answered with a server error (5xx), which does not say whether the message was
    /// stored.
    Server(ApiError),
}

impl fmt::Display for OutcomeCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutcomeCause::Transport(e) => write!(f, "{e}"),
            OutcomeCause::Server(e) => write!(f, "X answered {}", e.status()),
        }
    }
}

impl Error {
    /// The reset time of a rate-limit error, whether the client refused to wait or X answered
    /// 429.
    pub fn rate_limit_reset(&self) -> Option<SystemTime> {
        match self {
            Error::RateLimited { reset, .. } => Some(*reset),
            Error::Api(e) => e.retry_at(),
            _ => None,
        }
    }

    /// The API error, if X answered with one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// Whether this is a send whose outcome is unknown (the message may have been delivered).
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(
            self,
            Error::OutcomeUnknown(_) | Error::Reconciliation { .. }
        )
    }
}

fn epoch_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn in_seconds(t: SystemTime) -> String {
    match t.duration_since(SystemTime::now()) {
        Ok(d) => format!("in {}s", d.as_secs() + u64::from(d.subsec_nanos() > 0)),
        Err(_) => "now".to_owned(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidInput(e) => write!(f, "invalid input: {e}"),
            Error::Api(e) => write!(f, "{e}"),
            Error::Transport(e) => write!(f, "no response from X: {e}"),
            Error::Authorization(e) => write!(f, "authorization failed: {e}"),
            Error::RateLimited { group, reset } => write!(
                f,
                "rate limit for {group:?} exhausted until epoch second {} ({}); not waiting",
                epoch_seconds(*reset),
                in_seconds(*reset)
            ),
            Error::OutcomeUnknown(u) => write!(
                f,
                "the message to {} may or may not have been sent ({}); check the conversation \
                 before sending it again",
                u.recipient, u.cause
            ),
            Error::Reconciliation { send, cause } => write!(
                f,
                "the message to {} may or may not have been sent ({}), and looking for it \
                 failed: {cause}",
                send.recipient, send.cause
            ),
            Error::Config(e) => write!(f, "configuration: {e}"),
            Error::Upload(e) => write!(f, "media upload failed: {e}"),
            Error::File { path, source } => {
                write!(f, "cannot read media file {}: {source}", path.display())
            }
            Error::RepeatedToken(token) => write!(
                f,
                "the listing stopped: the server handed out the pagination token {token} a \
                 second time, and following it would loop"
            ),
            Error::MalformedToken => f.write_str(
                "the listing stopped: the server's next_token is not a pagination token, so \
                 whether more events follow is unknown",
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::InvalidInput(e) => Some(e),
            Error::Api(e) => Some(e),
            Error::Transport(e) => Some(e),
            Error::Authorization(e) => Some(e),
            Error::Reconciliation { cause, .. } => Some(&**cause),
            Error::Config(e) => Some(e),
            Error::Upload(e) => Some(e),
            Error::File { source, .. } => Some(source),
            Error::RateLimited { .. } | Error::OutcomeUnknown(_) | Error::RepeatedToken(_) => None,
            Error::MalformedToken => None,
        }
    }
}

impl From<InvalidInput> for Error {
    fn from(e: InvalidInput) -> Self {
        Error::InvalidInput(e)
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(e)
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        Error::Transport(e)
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

impl From<AuthorizationError> for Error {
    fn from(e: AuthorizationError) -> Self {
        Error::Authorization(e)
    }
}

/// How long until `reset`, measured from `now`; zero when it has passed.
pub(crate) fn until(reset: SystemTime, now: SystemTime) -> Duration {
    reset.duration_since(now).unwrap_or_default()
}
