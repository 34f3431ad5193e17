//! Checkpoints of long jobs (an export, a watch) in Redis, under a lease, so that another
//! worker can take over a job whose worker died and go on from its last checkpoint.
//!
//! Three keys per account and job: the checkpoint (a hash: the caller's bytes and the fencing
//! number they were written under), the lease (a string holding its holder's fencing number,
//! with an expiry) and the counter of fencing numbers. A worker claims the lease, reads the
//! checkpoint, works, and writes each new checkpoint through a script that accepts it only
//! while the lease is still its own. A worker that stalled past its lease (a long pause, a
//! partition) and wakes up after a successor claimed the job is refused, so it cannot move
//! the checkpoint back over its successor's progress.
//!
//! The checkpoint's content is the caller's: `xdm export` would keep its `Checkpoint` JSON
//! here (the next page's token, how many events were written). Every event is written once
//! when the output and the checkpoint change together or the output is idempotent (events
//! keyed by their id in a database, say); with an append-only file the CLI's own order
//! applies (output first, checkpoint second, the output cut back on resume).

use std::time::Duration;

use redis::Script;

use crate::account::{AccountId, key};
use crate::connection::Redis;
use crate::error::StoreError;

/// A lease is taken exactly as the refresh lock is: KEYS lease, fence counter; ARGV ttl.
/// Returns the fence, or 0 when the lease is held.
const CLAIM: &str = crate::token_store::TAKE_FENCED_LOCK;

/// KEYS lease; ARGV fence, ttl. Returns 1 when the lease was still the holder's and is
/// extended.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// KEYS lease, checkpoint; ARGV fence, bytes. Returns 1 when written, 0 when the lease is not
/// the holder's. Leases are handed out in fence order and one at a time, so a holder whose
/// lease is still its own is the latest, and no later fence can have written.
const SAVE: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], 'data', ARGV[2], 'fence', ARGV[1])
return 1
";

/// KEYS lease; ARGV fence. Deletes the lease if it is the holder's.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// The checkpoints of one job of one account, shared by the fleet.
#[derive(Clone)]
pub struct RedisCheckpoints {
    redis: Redis,
    account: AccountId,
    lease_key: String,
    data_key: String,
    fence_key: String,
}

impl std::fmt::Debug for RedisCheckpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCheckpoints")
            .field("account", &self.account)
            .field("key", &self.data_key)
            .finish_non_exhaustive()
    }
}

/// A stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Checkpoint {
    /// What the job wrote.
    pub data: Vec<u8>,
    /// The fencing number of the lease it was written under.
    pub fence: u64,
}

/// The right to run a job and write its checkpoints, until it expires. Renew it well before
/// that ([`RedisCheckpoints::renew`]); release it when the job stops.
#[derive(Debug, PartialEq, Eq)]
pub struct CheckpointLease {
    fence: u64,
    ttl: Duration,
}

impl CheckpointLease {
    /// This lease's fencing number: larger than that of every lease before it.
    pub fn fence(&self) -> u64 {
        self.fence
    }
}

impl RedisCheckpoints {
    /// The checkpoints of `job` (such as `"export"` or `"watch"`) of `account`. The job's
    /// name follows the rules of an [`AccountId`].
    pub fn new(
        redis: &Redis,
        account: AccountId,
        job: &str,
    ) -> Result<Self, crate::InvalidAccountId> {
        let job = AccountId::new(job)?;
        let k = |what: &str| key(&redis.prefix, &account, &format!("job:{job}:{what}"));
        Ok(RedisCheckpoints {
            lease_key: k("lease"),
            data_key: k("checkpoint"),
            fence_key: k("fence"),
            redis: redis.clone(),
            account,
        })
    }

    fn redis_error(&self, action: &'static str) -> impl FnOnce(redis::RedisError) -> StoreError {
        self.redis.error_for(&self.account, action)
    }

    fn lost(&self, action: &'static str) -> StoreError {
        StoreError::LockLost {
            what: "checkpoint lease",
            account: self.account.to_string(),
            action,
        }
    }

    /// Claims the job for `ttl` (at least 1 ms) if no live worker holds it; `None` while one
    /// does.
    pub async fn claim(&self, ttl: Duration) -> Result<Option<CheckpointLease>, StoreError> {
        let ttl = ttl.max(Duration::from_millis(1));
        let fence: u64 = Script::new(CLAIM)
            .key(&self.lease_key)
            .key(&self.fence_key)
            .arg(ms(ttl))
            .invoke_async(&mut self.redis.conn())
            .await
            .map_err(self.redis_error("claiming a job"))?;
        Ok((fence != 0).then_some(CheckpointLease { fence, ttl }))
    }

    /// Extends `lease` by its time to live from now; [`StoreError::LockLost`] when it had
    /// already expired and stopping the job is all that is left.
    pub async fn renew(&self, lease: &CheckpointLease) -> Result<(), StoreError> {
        let held: u8 = Script::new(RENEW)
            .key(&self.lease_key)
            .arg(lease.fence)
            .arg(ms(lease.ttl))
            .invoke_async(&mut self.redis.conn())
            .await
            .map_err(self.redis_error("renewing a job's lease"))?;
        if held == 1 {
            Ok(())
        } else {
            Err(self.lost("renewing it"))
        }
    }

    /// The last checkpoint written, by any worker.
    pub async fn load(&self) -> Result<Option<Checkpoint>, StoreError> {
        // The fence is read as bytes and parsed here, so that a damaged one is reported as a
        // damaged record rather than as a failure of Redis.
        let (data, fence): (Option<Vec<u8>>, Option<Vec<u8>>) = redis::cmd("HMGET")
            .arg(&self.data_key)
            .arg("data")
            .arg("fence")
            .query_async(&mut self.redis.conn())
            .await
            .map_err(self.redis_error("reading a checkpoint"))?;
        let fence = fence.map(|f| std::str::from_utf8(&f).ok()?.parse::<u64>().ok());
        match (data, fence) {
            (Some(data), Some(Some(fence))) => Ok(Some(Checkpoint { data, fence })),
            (None, None) => Ok(None),
            _ => Err(StoreError::Corrupt {
                what: "checkpoint",
                account: self.account.to_string(),
            }),
        }
    }

    /// Writes `data` as the job's checkpoint, if `lease` is still held.
    pub async fn save(&self, lease: &CheckpointLease, data: &[u8]) -> Result<(), StoreError> {
        let written: u8 = Script::new(SAVE)
            .key(&self.lease_key)
            .key(&self.data_key)
            .arg(lease.fence)
            .arg(data)
            .invoke_async(&mut self.redis.conn())
            .await
            .map_err(self.redis_error("writing a checkpoint"))?;
        if written == 1 {
            Ok(())
        } else {
            Err(self.lost("writing a checkpoint"))
        }
    }

    /// Gives the job up, so that another worker may claim it at once.
    pub async fn release(&self, lease: CheckpointLease) -> Result<(), StoreError> {
        let _: u8 = Script::new(RELEASE)
            .key(&self.lease_key)
            .arg(lease.fence)
            .invoke_async(&mut self.redis.conn())
            .await
            .map_err(self.redis_error("releasing a job"))?;
        Ok(())
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
