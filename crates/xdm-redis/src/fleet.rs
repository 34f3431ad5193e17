//! One object for many accounts: a client per account over one transport and one Redis.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use xdm_auth::oauth2::{OAuth2Client, TokenManager, UserToken};
use xdm_client::transport::{Timer, Transport};
use xdm_client::{Client, Config, Credentials, RateLimitPolicy};
use xdm_core::BaseUrl;

use crate::account::{AccountId, InvalidAccountId};
use crate::checkpoint::RedisCheckpoints;
use crate::connection::Redis;
use crate::error::StoreError;
use crate::limits::{FleetLimits, FleetTransport};
use crate::seal::TokenKey;
use crate::token_store::RedisTokenStore;

/// The client a [`Fleet`] hands out: the generic client over the fleet's shared transport.
pub type FleetClient<T, C> = Client<FleetTransport<T>, C>;

/// An account could not be added to a fleet.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// Redis holds no token for the account, and none was given.
    #[error("no token is stored for account {account}, and none was given to start from")]
    NoToken {
        /// The account.
        account: String,
    },
    /// Redis could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Hands out one client per account, all sharing one transport (one connection pool), one
/// Redis connection, the fleet's rate-limit windows and token stores. Accounts may be added
/// and removed while the fleet runs.
///
/// Every process of the fleet builds its own `Fleet` over the same Redis (and key prefix);
/// what they share lives there. Each client is an ordinary
/// [`Client`]: its calls, listings and uploads work as in one process, with the refresh of
/// its OAuth 2.0 token single-flight across the fleet and its requests admitted against the
/// fleet's budget for the account.
pub struct Fleet<T, C> {
    redis: Redis,
    transport: T,
    timer: C,
    oauth: OAuth2Client,
    base_url: BaseUrl,
    limits: FleetLimits,
    lock_ttl: Option<Duration>,
    token_key: Option<TokenKey>,
    old_token_keys: Vec<TokenKey>,
    rate_limit_policy: RateLimitPolicy,
    clients: Mutex<BTreeMap<AccountId, FleetClient<T, C>>>,
}

impl<T, C> Fleet<T, C> {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<AccountId, FleetClient<T, C>>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<T, C> std::fmt::Debug for Fleet<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("redis", &self.redis)
            .field("base_url", &self.base_url.as_str())
            .field("accounts", &self.lock().len())
            .finish_non_exhaustive()
    }
}

/// Configures a [`Fleet`]; start with [`Fleet::builder`].
#[must_use]
pub struct FleetBuilder<T, C> {
    redis: Redis,
    transport: T,
    timer: C,
    oauth: OAuth2Client,
    base_url: BaseUrl,
    limits: Option<FleetLimits>,
    lock_ttl: Option<Duration>,
    token_key: Option<TokenKey>,
    old_token_keys: Vec<TokenKey>,
    rate_limit_policy: RateLimitPolicy,
}

impl<T, C> std::fmt::Debug for FleetBuilder<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetBuilder")
            .field("redis", &self.redis)
            .field("base_url", &self.base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl<T, C> FleetBuilder<T, C> {
    /// Sends API requests to another root (such as an emulator's); token requests go where
    /// the OAuth 2.0 client says.
    pub fn base_url(mut self, base_url: BaseUrl) -> Self {
        self.base_url = base_url;
        self
    }

    /// Shared rate limits with settings of one's own (by default [`FleetLimits::new`]).
    pub fn limits(mut self, limits: FleetLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// How long a refresh lock lives (see [`RedisTokenStore::with_lock_ttl`]).
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock_ttl = Some(ttl);
        self
    }

    /// Encrypts every account's token record at rest with `key` (see
    /// [`RedisTokenStore::with_encryption`]).
    pub fn token_encryption(mut self, key: TokenKey) -> Self {
        self.token_key = Some(key);
        self
    }

    /// Also reads token records sealed with the `old` keys (see
    /// [`RedisTokenStore::with_old_keys`]).
    pub fn old_token_keys(mut self, old: impl IntoIterator<Item = TokenKey>) -> Self {
        self.old_token_keys = old.into_iter().collect();
        self
    }

    /// The clients' policy when a limit is spent (the client's default otherwise).
    pub fn rate_limit_policy(mut self, policy: RateLimitPolicy) -> Self {
        self.rate_limit_policy = policy;
        self
    }

    /// Builds the fleet, with no account yet.
    pub fn build(self) -> Fleet<T, C> {
        Fleet {
            limits: self.limits.unwrap_or_else(|| FleetLimits::new(&self.redis)),
            redis: self.redis,
            transport: self.transport,
            timer: self.timer,
            oauth: self.oauth,
            base_url: self.base_url,
            lock_ttl: self.lock_ttl,
            token_key: self.token_key,
            old_token_keys: self.old_token_keys,
            rate_limit_policy: self.rate_limit_policy,
            clients: Mutex::new(BTreeMap::new()),
        }
    }
}

impl<T, C> Fleet<T, C>
where
    T: Transport + Clone,
    C: Timer + Clone,
{
    /// A fleet over `redis`, sending through clones of `transport` (clones must share its
    /// connection pool, as `xdm_hyper::HyperTransport`'s do), refreshing tokens through
    /// `oauth`.
    pub fn builder(
        redis: &Redis,
        transport: T,
        timer: C,
        oauth: OAuth2Client,
    ) -> FleetBuilder<T, C> {
        FleetBuilder {
            redis: redis.clone(),
            transport,
            timer,
            oauth,
            base_url: BaseUrl::x_api(),
            limits: None,
            lock_ttl: None,
            token_key: None,
            old_token_keys: Vec::new(),
            rate_limit_policy: RateLimitPolicy::default(),
        }
    }

    /// The token store of `account`, for example to save the token of a new authorization
    /// ([`TokenStore::save`](xdm_client::TokenStore::save) replaces the stored one).
    pub fn token_store(&self, account: &AccountId) -> RedisTokenStore {
        let mut store = RedisTokenStore::new(&self.redis, account.clone());
        if let Some(ttl) = self.lock_ttl {
            store = store.with_lock_ttl(ttl);
        }
        if let Some(key) = &self.token_key {
            store = store
                .with_encryption(key.clone())
                .with_old_keys(self.old_token_keys.iter().cloned());
        }
        store
    }

    /// Serves `account` from now on and returns its client (the same one while the account
    /// stays in the fleet).
    ///
    /// The client starts from the token stored in Redis, which is the newest the fleet has;
    /// `first` is stored and used only when Redis has none (the account's first
    /// authorization). Neither: [`FleetError::NoToken`].
    pub async fn add_account(
        &self,
        account: AccountId,
        first: Option<UserToken>,
    ) -> Result<FleetClient<T, C>, FleetError> {
        if let Some(client) = self.client(&account) {
            return Ok(client);
        }
        let store = self.token_store(&account);
        if let Some(first) = &first {
            store.save_if_absent(first).await?;
        }
        let Some(token) = store.load_token().await? else {
            return Err(FleetError::NoToken {
                account: account.to_string(),
            });
        };
        let manager = TokenManager::new(self.oauth.clone(), token);
        let config = Config::new(Credentials::oauth2(manager)).with_base_url(self.base_url.clone());
        let transport = self
            .limits
            .transport(account.clone(), self.transport.clone());
        let client = Client::builder(transport, self.timer.clone(), config)
            .rate_limit_policy(self.rate_limit_policy)
            .token_store(store)
            .build();
        let mut clients = self.lock();
        // Another task may have added the account meanwhile: keep the first client.
        Ok(clients.entry(account).or_insert(client).clone())
    }

    /// The client of `account`, if the fleet serves it.
    pub fn client(&self, account: &AccountId) -> Option<FleetClient<T, C>> {
        self.lock().get(account).cloned()
    }

    /// Stops serving `account`; `true` if it was served. Its state in Redis stays (other
    /// workers may still serve it), and clients already handed out keep working.
    pub fn remove_account(&self, account: &AccountId) -> bool {
        self.lock().remove(account).is_some()
    }

    /// The accounts served, in order.
    pub fn accounts(&self) -> Vec<AccountId> {
        self.lock().keys().cloned().collect()
    }

    /// The checkpoints of `job` (such as `"export"`) of `account`.
    pub fn checkpoints(
        &self,
        account: &AccountId,
        job: &str,
    ) -> Result<RedisCheckpoints, InvalidAccountId> {
        RedisCheckpoints::new(&self.redis, account.clone(), job)
    }

    /// The shared rate limits.
    pub fn limits(&self) -> &FleetLimits {
        &self.limits
    }

    /// The Redis connection.
    pub fn redis(&self) -> &Redis {
        &self.redis
    }
}
