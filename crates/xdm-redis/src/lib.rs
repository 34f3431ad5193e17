//! Many workers, many accounts, one Redis: the state a fleet of xdm workers has to share.
//!
//! One process keeps xdm's promises by itself (a refresh token is spent once, a rate limit is
//! respected, an export resumes where it stopped), and processes on one machine keep them
//! through a token file and its lock. Workers on several machines need a shared place for that
//! state; this crate puts it in Redis:
//!
//! - [`RedisTokenStore`] is the client's [`TokenStore`](xdm_client::TokenStore) on Redis: a
//!   refresh is single-flight across the fleet (a lock with an expiry and a fencing number,
//!   and a compare-and-set of the token record in one Lua script), a worker that finds a newer
//!   token takes it instead of refreshing, and a refresh never runs without the lock (when
//!   Redis cannot be reached, the refresh fails with a clear error rather than risk spending
//!   the refresh token twice). A rotated token that could not be written is kept in memory
//!   and written as soon as Redis answers again.
//! - [`FleetTransport`] wraps any [`Transport`](xdm_client::transport::Transport) and admits
//!   each request against rate-limit windows kept in Redis per account and endpoint group
//!   ([`FleetLimits`]), updated from every answer's headers; a 429 seen by one worker holds
//!   every worker back until its reset. Waiting workers sleep until the shared reset, with
//!   jitter, or, when requests in flight hold the last slots, until one of them is settled
//!   (the settlement is published on Redis pub/sub), rather than poll. When Redis cannot be reached, admission falls back to each
//!   client's own limiter, with a warning, and rejoins the fleet when Redis answers again.
//! - [`RedisCheckpoints`] keeps an export's or a watch's checkpoint in Redis under a lease
//!   with a fencing number, so that another worker can take over a dead one's job, and a
//!   worker that lost its lease cannot write over its successor's progress.
//! - [`Fleet`] hands out one client per account, all over one transport (one connection pool)
//!   and one Redis connection, and adds and removes accounts at run time.
//!
//! Token records can be encrypted at rest ([`RedisTokenStore::with_encryption`], with a
//! [`TokenKey`]), and with the feature `tls` (or `tls-aws-lc-rs`) Redis is reached over TLS
//! (`rediss://`). With the feature `testing`, `testing::RedisServer` starts a real
//! `redis-server` for a test.
//!
//! Every key lives under a prefix (`xdm` by default) and carries the account in a hash tag
//! (`xdm:{account}:token`), so that the keys one script touches share a Redis Cluster slot.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use xdm_redis::{AccountId, Redis};
//!
//! // A malformed or unreachable URL is an error here, before any request.
//! let redis = Redis::connect("redis://127.0.0.1:6379/").await?;
//! let store = xdm_redis::RedisTokenStore::new(&redis, AccountId::new("support-desk-1")?);
//! # let _ = store;
//! # Ok(())
//! # }
//! ```

mod account;
mod checkpoint;
mod connection;
mod error;
mod fleet;
mod jitter;
mod limits;
mod notify;
mod record;
mod seal;
#[cfg(feature = "testing")]
pub mod testing;
mod token_store;

pub use account::{AccountId, InvalidAccountId};
pub use checkpoint::{Checkpoint, CheckpointLease, RedisCheckpoints};
pub use connection::{Redis, RedisOptions};
pub use error::{ConnectError, StoreError};
pub use fleet::{Fleet, FleetBuilder, FleetClient, FleetError};
pub use limits::{FleetLimits, FleetTransport};
pub use seal::{InvalidTokenKey, SealProblem, TokenKey};
pub use token_store::RedisTokenStore;
