//! The one Redis connection a process shares among its accounts.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::account::AccountId;
use crate::error::{ConnectError, StoreError};

/// How to reach Redis: timeouts and the prefix of every key.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisOptions {
    /// The first part of every key, so that several fleets (or tests) can share one Redis.
    /// The same rules as an [`AccountId`] apply. `xdm` by default.
    pub prefix: String,
    /// How long to wait for a connection, at start and when reconnecting. 2 s by default.
    pub connect_timeout: Duration,
    /// How long to wait for one command's answer. 10 s by default: past it, the call is treated
    /// as Redis being down (a refresh fails, admission falls back to the local limiter). A
    /// Redis that is down refuses connections at once; this bound is for one that is slow or
    /// cut off, and a shorter one makes loaded workers give up on a Redis that is merely busy
    /// (see BENCHMARKS.md, "Fleet on one Redis").
    pub response_timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            prefix: "xdm".to_owned(),
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(10),
        }
    }
}

impl RedisOptions {
    /// The defaults with another key prefix.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The defaults with other timeouts.
    pub fn with_timeouts(mut self, connect: Duration, response: Duration) -> Self {
        self.connect_timeout = connect;
        self.response_timeout = response;
        self
    }
}

/// A connection to the Redis a fleet shares: one multiplexed connection, re-established by
/// the `redis` crate's connection manager after a failure. Cloning is cheap and shares it.
///
/// Made by [`Redis::connect`], which checks the URL and reaches the server before returning,
/// so that a wrong address is an error at start rather than at the first refresh.
#[derive(Clone)]
pub struct Redis {
    pub(crate) manager: ConnectionManager,
    /// For connections of their own (the subscriber of wake-ups).
    pub(crate) client: redis::Client,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) prefix: Arc<str>,
    pub(crate) address: Arc<str>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("address", &self.address)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// What a failed command for `account` becomes: the error every store reports, naming
    /// the server (never its password) and what was being done.
    pub(crate) fn error_for(
        &self,
        account: &AccountId,
        action: &'static str,
    ) -> impl FnOnce(redis::RedisError) -> StoreError + use<> {
        let address = self.address.to_string();
        let account = account.to_string();
        move |source| StoreError::Redis {
            address,
            account,
            action,
            source,
        }
    }

    /// Connects to `url` (`redis://[user:password@]host[:port][/db]`, `redis+unix:///path`,
    /// or with the feature `tls`, `rediss://…` for TLS, the server's certificate checked
    /// against the system's root certificates) with the default [`RedisOptions`].
    pub async fn connect(url: &str) -> Result<Redis, ConnectError> {
        Redis::connect_with(url, RedisOptions::default()).await
    }

    /// Connects to `url` with `options`: the URL is checked, the server reached and asked
    /// for a `PING`, all within the connection timeout.
    pub async fn connect_with(url: &str, options: RedisOptions) -> Result<Redis, ConnectError> {
        let prefix = AccountId::new(options.prefix.clone()).map_err(ConnectError::BadPrefix)?;
        let scheme = url.split_once("://").map(|(s, _)| s);
        match scheme {
            Some("redis" | "redis+unix" | "unix") => {}
            Some("rediss") if cfg!(any(feature = "tls", feature = "tls-aws-lc-rs")) => {
                tls::ensure_crypto_provider();
            }
            Some("rediss") => {
                return Err(ConnectError::BadUrl {
                    reason: "TLS (rediss://) needs xdm-redis's feature `tls`, which this \
                             program was built without"
                        .to_owned(),
                });
            }
            _ => {
                return Err(ConnectError::BadUrl {
                    reason: "it must start with redis://, rediss:// or redis+unix://".to_owned(),
                });
            }
        }
        let client = redis::Client::open(url).map_err(|e| ConnectError::BadUrl {
            reason: describe_url_error(&e),
        })?;
        let address = client.get_connection_info().addr().to_string();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.response_timeout))
            // At start, one failed attempt is enough to say so; later, every command that
            // finds the connection broken starts a new attempt.
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let named = address.as_str();
        let over_tls = scheme == Some("rediss");
        let timed_out = |timeout: Duration| {
            let address = named.to_owned();
            let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
            if over_tls {
                ConnectError::TlsTimedOut {
                    address,
                    timeout_ms,
                }
            } else {
                ConnectError::TimedOut {
                    address,
                    timeout_ms,
                }
            }
        };
        // A step that ran out of its own timeout is reported as such, not as a refusal: the
        // server may be there, silent (overloaded, or not Redis at all).
        let failed = |timeout: Duration| {
            move |source: redis::RedisError| {
                if source.is_timeout() {
                    timed_out(timeout)
                } else {
                    ConnectError::Unreachable {
                        address: named.to_owned(),
                        source,
                    }
                }
            }
        };
        // Both steps are bounded by the timeouts set above; the outer bound is a backstop
        // against a server that accepts the connection and then says nothing.
        let patience = options.connect_timeout + options.response_timeout;
        let connect = async {
            let mut manager = ConnectionManager::new_with_config(client.clone(), config)
                .await
                .map_err(failed(options.connect_timeout))?;
            redis::cmd("PING")
                .query_async::<()>(&mut manager)
                .await
                .map_err(failed(options.response_timeout))?;
            Ok(manager)
        };
        let manager = tokio::time::timeout(patience, connect)
            .await
            .map_err(|_| timed_out(patience))??;
        Ok(Redis {
            manager,
            client,
            connect_timeout: options.connect_timeout,
            response_timeout: options.response_timeout,
            prefix: prefix.as_str().into(),
            address: address.into(),
        })
    }

    /// The prefix of every key.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The server's address (host and port, or socket path), as error messages name it.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Whether Redis answers a `PING` now.
    pub async fn ping(&self) -> bool {
        let mut manager = self.manager.clone();
        redis::cmd("PING")
            .query_async::<()>(&mut manager)
            .await
            .is_ok()
    }

    /// A handle on the connection, for a command of one's own.
    pub(crate) fn conn(&self) -> ConnectionManager {
        self.manager.clone()
    }
}

/// Redis's description of a URL it refused, which never includes the URL itself.
fn describe_url_error(e: &redis::RedisError) -> String {
    e.detail()
        .map(str::to_owned)
        .unwrap_or_else(|| e.to_string())
}

/// The rustls crypto provider the `redis` crate's TLS uses: the process's default, which is
/// installed here when the program has not chosen one.
#[cfg(any(feature = "tls", feature = "tls-aws-lc-rs"))]
mod tls {
    pub(super) fn ensure_crypto_provider() {
        if rustls::crypto::CryptoProvider::get_default().is_some() {
            return;
        }
        #[cfg(feature = "tls")]
        let provider = rustls::crypto::ring::default_provider();
        #[cfg(not(feature = "tls"))]
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        // Another thread may have installed one meanwhile: either way there is one now.
        let _ = provider.install_default();
    }
}

#[cfg(not(any(feature = "tls", feature = "tls-aws-lc-rs")))]
mod tls {
    pub(super) fn ensure_crypto_provider() {}
}
