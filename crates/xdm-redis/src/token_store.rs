//! The OAuth 2.0 token of each account in Redis, refreshed by one worker of the fleet at a
//! time.
//!
//! Three keys per account: the token record (a hash: the token's JSON and the fencing number
//! it was written under), the refresh lock (a string holding its holder's fencing number, with
//! an expiry), and the counter that hands out fencing numbers. Each step of the client's
//! refresh protocol ([`xdm_client::token_store`]) is one Lua script, so it is atomic:
//!
//! - taking the lock draws the next fencing number and sets the lock only if nobody holds it;
//! - reading under the lock checks that the lock is still this holder's;
//! - saving under the lock writes the record only if the stored one carries a smaller fencing
//!   number. A holder whose lock expired mid-refresh, and whose successor has already stored
//!   a token, cannot overwrite that newer token with its own;
//! - releasing deletes the lock only if it is still this holder's.
//!
//! A rotated token is never dropped: when the write fails (Redis is down), the token stays in
//! this process, the client goes on with it, a background task writes it as soon as Redis
//! answers, and the lock is not released before it is written (it runs out instead), so no
//! other worker refreshes from the spent token it would otherwise read.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use redis::Script;
use xdm_auth::oauth2::UserToken;
use xdm_client::{RefreshLock, StoreFuture, TokenStore};

use crate::account::{AccountId, key};
use crate::connection::Redis;
use crate::error::StoreError;
use crate::seal::{self, Keyring, Opened, SealProblem, TokenKey};
use crate::{jitter, record};

/// Takes the lock if it is free: KEYS lock, fence counter; ARGV ttl (ms). Returns the fencing
/// number, or 0 when another worker holds the lock. Checkpoint leases are taken the same way.
pub(crate) const TAKE_FENCED_LOCK: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], fence, 'PX', ARGV[1])
return fence
";

/// Reads the record if the lock is still ARGV[1]'s: KEYS lock, record. Returns {'0'} when the
/// lock is lost, {'1'} when no token is stored, {'1', json} otherwise.
const LOAD_HELD: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'0'} end
local token = redis.call('HGET', KEYS[2], 'token')
if not token then return {'1'} end
return {'1', token}
";

/// Writes the record if the stored one is older: KEYS record; ARGV fence, json. Returns
/// {1, fence} when written, {0, stored fence} when a newer record is stored.
const SAVE_FENCED: &str = r"
local stored = tonumber(redis.call('HGET', KEYS[1], 'fence') or '0')
if stored >= tonumber(ARGV[1]) then return {0, stored} end
redis.call('HSET', KEYS[1], 'token', ARGV[2], 'fence', ARGV[1])
return {1, tonumber(ARGV[1])}
";

/// Writes the record under a fresh fencing number (a new authorization): KEYS record, fence
/// counter; ARGV json, only-if-absent flag. Returns the fence, or 0 when the flag is set and
/// a token is already stored.
const SAVE_NEW: &str = r"
if ARGV[2] == '1' and redis.call('HEXISTS', KEYS[1], 'token') == 1 then return 0 end
local fence = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'fence', fence)
return fence
";

/// Deletes the lock if it is still ARGV[1]'s: KEYS lock. Returns 1 when deleted.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// The default lifetime of a refresh lock.
const DEFAULT_LOCK_TTL: Duration = Duration::from_secs(40);

/// An account's OAuth 2.0 token kept in Redis and refreshed by one worker of the fleet at a
/// time: a lock with an expiry and a fencing number, and a compare-and-set of the token
/// record, each one Lua script.
///
/// Give it to [`ClientBuilder::token_store`](xdm_client::ClientBuilder::token_store), or let
/// a [`Fleet`](crate::Fleet) do so. Cloning is cheap; clones share the token kept in memory
/// when a write fails.
///
/// When Redis cannot be reached, taking the lock fails, so the refresh fails with
/// [`AuthorizationError::TokenStore`](xdm_client::AuthorizationError::TokenStore) instead of
/// spending the refresh token without the fleet's knowledge.
#[derive(Clone)]
pub struct RedisTokenStore {
    inner: Arc<Inner>,
}

struct Inner {
    redis: Redis,
    account: AccountId,
    record_key: String,
    lock_key: String,
    fence_key: String,
    lock_ttl_ms: AtomicU64,
    /// The keys that encrypt the record, when it is encrypted at rest.
    keys: Mutex<Keys>,
    /// A rotated token whose write failed, with the fence it must be written under.
    unsaved: Mutex<Option<Unsaved>>,
    /// Whether a task is already retrying the write of `unsaved`.
    retrying: AtomicBool,
}

/// The key a store seals with, and the old ones it still opens with.
#[derive(Default)]
struct Keys {
    current: Option<TokenKey>,
    old: Vec<TokenKey>,
}

#[derive(Clone)]
struct Unsaved {
    token: UserToken,
    fence: u64,
}

impl std::fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTokenStore")
            .field("address", &self.inner.redis.address)
            .field("account", &self.inner.account)
            .field("unsaved_token", &self.has_unsaved_token())
            .field("encrypted", &self.is_encrypted())
            .finish_non_exhaustive()
    }
}

impl RedisTokenStore {
    /// The token of `account`, in `redis`, with a refresh lock that expires after 40 s.
    pub fn new(redis: &Redis, account: AccountId) -> Self {
        let k = |what| key(&redis.prefix, &account, what);
        RedisTokenStore {
            inner: Arc::new(Inner {
                record_key: k("token"),
                lock_key: k("refresh-lock"),
                fence_key: k("fence"),
                redis: redis.clone(),
                account,
                lock_ttl_ms: AtomicU64::new(ms(DEFAULT_LOCK_TTL)),
                keys: Mutex::new(Keys::default()),
                unsaved: Mutex::new(None),
                retrying: AtomicBool::new(false),
            }),
        }
    }

    /// Lets a refresh lock expire after `ttl` (at least 1 ms) instead.
    ///
    /// It bounds how long a worker that dies mid-refresh blocks the account. Keep it above the
    /// transport's timeout for a whole request (30 s in `xdm_hyper`), so that a slow refresh
    /// still holds the lock when its answer comes, and below the minute the client waits for
    /// a lock.
    pub fn with_lock_ttl(self, ttl: Duration) -> Self {
        self.inner
            .lock_ttl_ms
            .store(ms(ttl).max(1), Ordering::Relaxed);
        self
    }

    /// Encrypts the token record at rest with `key` (ChaCha20-Poly1305, a fresh random nonce
    /// for every write, the account's name as associated data so that a record copied under
    /// another account does not open).
    ///
    /// Every worker of the fleet must then hold the key. An encrypting store refuses a record
    /// that is not encrypted ([`SealProblem::NotEncrypted`]) rather than trust it: whoever can
    /// write to Redis could otherwise plant a token of their choosing. To move a fleet to
    /// encrypted records, read each token with a plain store and
    /// [`save`](TokenStore::save) it with an encrypting one. A record sealed with an unknown
    /// key, or altered, is [`StoreError::Sealed`] too; none of these errors quotes the record.
    pub fn with_encryption(self, key: TokenKey) -> Self {
        self.inner.keys().current = Some(key);
        self
    }

    /// Also reads records sealed with any of `old` keys, for a key rotation: give the new key
    /// to [`with_encryption`](Self::with_encryption) and the previous ones here; each record
    /// is sealed with the new key at its next write (the next refresh). No effect without
    /// [`with_encryption`](Self::with_encryption).
    pub fn with_old_keys(self, old: impl IntoIterator<Item = TokenKey>) -> Self {
        self.inner.keys().old = old.into_iter().collect();
        self
    }

    /// Whether the token record is encrypted at rest.
    pub fn is_encrypted(&self) -> bool {
        self.inner.keyring().is_some()
    }

    /// The account whose token this is.
    pub fn account(&self) -> &AccountId {
        &self.inner.account
    }

    /// Whether this process holds a rotated token it could not write to Redis yet.
    pub fn has_unsaved_token(&self) -> bool {
        self.inner.unsaved().is_some()
    }

    /// The rotated token this process could not write to Redis yet, if any: the newest token
    /// of the account, which a background task keeps trying to write.
    pub fn unsaved_token(&self) -> Option<UserToken> {
        self.inner.unsaved().map(|u| u.token)
    }

    /// Writes the token kept in memory (if any) now.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush().await
    }

    /// The account's newest token: the one kept in memory when its write is still pending
    /// (written first, and returned even when that fails), else the one stored.
    pub async fn load_token(&self) -> Result<Option<UserToken>, StoreError> {
        if let Some(unsaved) = self.inner.unsaved()
            && self.inner.flush().await.is_err()
        {
            return Ok(Some(unsaved.token));
        }
        self.inner.load().await
    }

    /// Stores `token` unless the account already has one; `true` when it was written. For
    /// seeding the fleet from a first authorization without replacing a newer token another
    /// worker already rotated.
    pub async fn save_if_absent(&self, token: &UserToken) -> Result<bool, StoreError> {
        let fence = self.inner.save_new(token, true).await?;
        Ok(fence != 0)
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Inner {
    fn unsaved(&self) -> Option<Unsaved> {
        self.unsaved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn redis_error(&self, action: &'static str) -> impl FnOnce(redis::RedisError) -> StoreError {
        self.redis.error_for(&self.account, action)
    }

    fn superseded(&self, stored: u64) -> StoreError {
        StoreError::Superseded {
            what: "token",
            account: self.account.to_string(),
            stored,
        }
    }

    fn corrupt(&self) -> StoreError {
        StoreError::Corrupt {
            what: "token",
            account: self.account.to_string(),
        }
    }

    fn keys(&self) -> MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn keyring(&self) -> Option<Keyring> {
        let keys = self.keys();
        Some(Keyring {
            current: keys.current.clone()?,
            old: keys.old.clone(),
        })
    }

    fn sealed(&self, problem: SealProblem) -> StoreError {
        StoreError::Sealed {
            account: self.account.to_string(),
            problem,
        }
    }

    fn decode(&self, stored: &[u8]) -> Result<UserToken, StoreError> {
        let keys = self.keyring();
        match seal::open(keys.as_ref(), self.account.as_str(), stored) {
            Opened::Plain(json) => record::decode(&json).ok_or_else(|| self.corrupt()),
            Opened::Unreadable => Err(self.corrupt()),
            Opened::Refused(problem) => Err(self.sealed(problem)),
        }
    }

    fn encode(&self, token: &UserToken) -> Result<String, StoreError> {
        let json = record::encode(token);
        match self.keyring() {
            Some(keys) => seal::seal(&keys, self.account.as_str(), json.as_bytes())
                .map_err(|problem| self.sealed(problem)),
            None => Ok(json),
        }
    }

    async fn load(&self) -> Result<Option<UserToken>, StoreError> {
        let json: Option<Vec<u8>> = redis::cmd("HGET")
            .arg(&self.record_key)
            .arg("token")
            .query_async(&mut self.redis.conn())
            .await
            .map_err(self.redis_error("reading the token"))?;
        json.map(|j| self.decode(&j)).transpose()
    }

    async fn save_new(&self, token: &UserToken, only_if_absent: bool) -> Result<u64, StoreError> {
        let record = self.encode(token)?;
        Script::new(SAVE_NEW)
            .key(&self.record_key)
            .key(&self.fence_key)
            .arg(record)
            .arg(if only_if_absent { "1" } else { "0" })
            .invoke_async(&mut self.redis.conn())
            .await
            .map_err(self.redis_error("saving the token"))
    }

    /// Writes `token` under `fence`, if no newer record is stored.
    async fn save_fenced(&self, token: &UserToken, fence: u64) -> Result<(), StoreError> {
        let record = self.encode(token)?;
        let (written, stored): (u8, u64) = Script::new(SAVE_FENCED)
            .key(&self.record_key)
            .arg(fence)
            .arg(record)
            .invoke_async(&mut self.redis.conn())
            .await
            .map_err(self.redis_error("saving the rotated token"))?;
        if written == 1 {
            Ok(())
        } else {
            Err(self.superseded(stored))
        }
    }

    async fn flush(&self) -> Result<(), StoreError> {
        let Some(unsaved) = self.unsaved() else {
            return Ok(());
        };
        let result = self.save_fenced(&unsaved.token, unsaved.fence).await;
        if !matches!(result, Err(StoreError::Redis { .. })) {
            // Written, or a newer token is stored: either way there is nothing left to keep.
            let mut slot = self.unsaved.lock().unwrap_or_else(|e| e.into_inner());
            if slot.as_ref().is_some_and(|u| u.fence == unsaved.fence) {
                *slot = None;
            }
        }
        match &result {
            Ok(()) => {
                tracing::info!(account = %self.account, "wrote the rotated token kept in memory")
            }
            Err(StoreError::Redis { .. }) => {}
            Err(error) => tracing::warn!(%error, "dropped the rotated token kept in memory"),
        }
        result
    }

    /// Keeps `token` in memory and starts a task that writes it once Redis answers.
    fn keep(self: &Arc<Self>, token: &UserToken, fence: u64) {
        *self.unsaved.lock().unwrap_or_else(|e| e.into_inner()) = Some(Unsaved {
            token: token.clone(),
            fence,
        });
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.retrying.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(self);
        runtime.spawn(retry_unsaved(weak));
    }
}

/// Writes the kept token until it is written or superseded, backing off from 100 ms to 2 s;
/// stops when the store is dropped.
async fn retry_unsaved(store: Weak<Inner>) {
    let mut delay = Duration::from_millis(100);
    loop {
        tokio::time::sleep(delay + jitter::up_to(delay / 2)).await;
        let Some(inner) = store.upgrade() else { return };
        let done = !matches!(inner.flush().await, Err(StoreError::Redis { .. }));
        if done || inner.unsaved().is_none() {
            inner.retrying.store(false, Ordering::Release);
            // A token kept while this task was finishing would have found the flag set.
            if inner.unsaved().is_some() && !inner.retrying.swap(true, Ordering::AcqRel) {
                continue;
            }
            return;
        }
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

impl TokenStore for RedisTokenStore {
    fn load(&self) -> StoreFuture<'_, Option<UserToken>> {
        Box::pin(async move { Ok(self.load_token().await?) })
    }

    fn save<'a>(&'a self, token: &'a UserToken) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.inner.save_new(token, false).await?;
            Ok(())
        })
    }

    fn try_lock(&self) -> StoreFuture<'_, Option<Box<dyn RefreshLock>>> {
        Box::pin(async move {
            // A refresh must not start from the stored token while a newer one waits here.
            self.inner.flush().await?;
            let ttl = self.inner.lock_ttl_ms.load(Ordering::Relaxed);
            let fence: u64 = Script::new(TAKE_FENCED_LOCK)
                .key(&self.inner.lock_key)
                .key(&self.inner.fence_key)
                .arg(ttl)
                .invoke_async(&mut self.inner.redis.conn())
                .await
                .map_err(self.inner.redis_error("taking the refresh lock"))?;
            if fence == 0 {
                return Ok(None);
            }
            let lock: Box<dyn RefreshLock> = Box::new(HeldLock {
                store: self.inner.clone(),
                fence,
                released: false,
            });
            Ok(Some(lock))
        })
    }
}

/// The refresh lock, held under fencing number `fence`.
struct HeldLock {
    store: Arc<Inner>,
    fence: u64,
    released: bool,
}

impl HeldLock {
    fn lock_lost(&self, action: &'static str) -> StoreError {
        StoreError::LockLost {
            what: "refresh lock",
            account: self.store.account.to_string(),
            action,
        }
    }
}

/// Deletes the lock if it is still `fence`'s, after writing a token kept under that fence:
/// released earlier, the lock would let another worker refresh from the spent token.
async fn release(store: Arc<Inner>, fence: u64) -> Result<(), StoreError> {
    if store.unsaved().is_some_and(|u| u.fence == fence)
        && let Err(error) = store.flush().await
    {
        tracing::warn!(
            %error,
            "the rotated token is not written yet; the refresh lock is left to expire"
        );
        return Err(error);
    }
    let _: u8 = Script::new(RELEASE)
        .key(&store.lock_key)
        .arg(fence)
        .invoke_async(&mut store.redis.conn())
        .await
        .map_err(store.redis_error("releasing the refresh lock"))?;
    Ok(())
}

impl RefreshLock for HeldLock {
    fn load(&self) -> StoreFuture<'_, Option<UserToken>> {
        Box::pin(async move {
            let reply: Vec<Vec<u8>> = Script::new(LOAD_HELD)
                .key(&self.store.lock_key)
                .key(&self.store.record_key)
                .arg(self.fence)
                .invoke_async(&mut self.store.redis.conn())
                .await
                .map_err(self.store.redis_error("reading the token under the lock"))?;
            match reply.as_slice() {
                [held] if held.as_slice() == b"1" => Ok(None),
                [held, json] if held.as_slice() == b"1" => Ok(Some(self.store.decode(json)?)),
                _ => Err(self.lock_lost("reading the token").into()),
            }
        })
    }

    fn save<'a>(&'a self, token: &'a UserToken) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            match self.store.save_fenced(token, self.fence).await {
                Err(error @ StoreError::Redis { .. }) => {
                    self.store.keep(token, self.fence);
                    tracing::warn!(
                        %error,
                        "kept the rotated token in memory; it is written when Redis answers"
                    );
                    Err(error.into())
                }
                other => Ok(other?),
            }
        })
    }

    fn release(mut self: Box<Self>) -> StoreFuture<'static, ()> {
        self.released = true;
        let (store, fence) = (self.store.clone(), self.fence);
        Box::pin(async move { Ok(release(store, fence).await?) })
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        // Dropped without a release (the refresh was abandoned): release in the background
        // when a runtime is at hand; otherwise the lock runs out on its own.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (store, fence) = (self.store.clone(), self.fence);
            runtime.spawn(async move {
                if let Err(error) = release(store, fence).await {
                    tracing::debug!(%error, "could not release an abandoned refresh lock");
                }
            });
        }
    }
}
