//! What can go wrong with the shared state. No message quotes a token or the Redis URL (which
//! may carry a password): they name the Redis address, the account and what was being done.

use crate::account::InvalidAccountId;
use crate::seal::SealProblem;

/// Redis could not be used at start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not a Redis URL this crate can use.
    #[error("the Redis URL is not usable: {reason}")]
    BadUrl {
        /// What is wrong with it (the URL itself is not repeated: it may hold a password).
        reason: String,
    },
    /// The key prefix is not usable.
    #[error("the Redis key prefix is not usable: {0}")]
    BadPrefix(#[source] InvalidAccountId),
    /// Redis did not answer, or refused the connection or its credentials.
    #[error("could not reach Redis at {address}: {source}")]
    Unreachable {
        /// Host and port (or socket path).
        address: String,
        /// Redis's error.
        #[source]
        source: redis::RedisError,
    },
    /// Redis did not answer in time: the connection, or the answer to the first command, took
    /// longer than its timeout (a silent server, or one too busy to answer).
    #[error("Redis at {address} did not answer within {timeout_ms} ms")]
    TimedOut {
        /// Host and port (or socket path).
        address: String,
        /// The timeout that passed, in milliseconds.
        timeout_ms: u64,
    },
    /// TLS was asked for (`rediss://`), and the server neither completed the handshake nor
    /// answered in time: most often, a server or port that does not speak TLS (a plain Redis
    /// reads the handshake as the start of a command, and waits for the rest).
    #[error(
        "Redis at {address} did not complete a TLS handshake and answer within {timeout_ms} ms \
         (does it accept TLS on that port?)"
    )]
    TlsTimedOut {
        /// Host and port.
        address: String,
        /// The timeout that passed, in milliseconds.
        timeout_ms: u64,
    },
}

/// A shared store could not be read, written or locked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Redis failed or could not be reached.
    #[error("Redis at {address} failed while {action} for account {account}: {source}")]
    Redis {
        /// Host and port (or socket path).
        address: String,
        /// The account concerned.
        account: String,
        /// What was being done.
        action: &'static str,
        /// Redis's error.
        #[source]
        source: redis::RedisError,
    },
    /// The lock or lease this worker held expired, and another worker may have taken it, so
    /// this worker must not go on as if it still held it.
    #[error(
        "the {what} of account {account} expired before {action}; another worker may hold it now"
    )]
    LockLost {
        /// `"refresh lock"` or `"checkpoint lease"`.
        what: &'static str,
        /// The account concerned.
        account: String,
        /// What was about to be done.
        action: &'static str,
    },
    /// A newer record (written under a later fencing number) is stored; this worker's write
    /// was refused so that it cannot replace a newer token or checkpoint with an older one.
    #[error(
        "the {what} of account {account} was not written: a newer one (fence {stored}) is stored"
    )]
    Superseded {
        /// `"token"` or `"checkpoint"`.
        what: &'static str,
        /// The account concerned.
        account: String,
        /// The fencing number of the stored record.
        stored: u64,
    },
    /// The token record is encrypted and did not open, or is not encrypted where it must be
    /// (see [`RedisTokenStore::with_encryption`](crate::RedisTokenStore::with_encryption)).
    /// The message never quotes the record or a key.
    #[error("the token record of account {account} in Redis {problem}")]
    Sealed {
        /// The account concerned.
        account: String,
        /// What is wrong.
        problem: SealProblem,
    },
    /// The stored record is not one this version reads. The message never quotes it.
    #[error("the {what} record of account {account} in Redis is damaged or of another version")]
    Corrupt {
        /// `"token"` or `"checkpoint"`.
        what: &'static str,
        /// The account concerned.
        account: String,
    },
}

impl From<StoreError> for xdm_client::TokenStoreError {
    fn from(e: StoreError) -> Self {
        xdm_client::TokenStoreError::new(e)
    }
}
