//! The client value, its builder, and the state its clones share.

use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use xdm_auth::AppBearerAuthorizer;
use xdm_auth::oauth1::OAuth1Authorizer;
use xdm_auth::oauth2::TokenManager;
use xdm_core::RequestContext;
use xdm_core::endpoints::GetMe;
use xdm_core::ids::UserId;
use xdm_core::models::User;
use xdm_core::rate_limit::{LimiterConfig, RateLimiter};
use xdm_core::retry::RetryPolicy;

use crate::config::{Config, ConfigError, Credentials, vars};
use crate::error::Error;
use crate::jitter::Jitter;
use crate::policy::{RateLimitPolicy, ReconcilePolicy};
use crate::token_store::TokenStore;
use crate::transport::{Timer, Transport};

/// The async X DM client.
///
/// Cloning is cheap (the state is shared behind an `Arc`), and clones may be used from many
/// tasks at once: they share one rate limiter and one token manager, so limits learned by one
/// call hold back the others, and an expired OAuth 2.0 token is refreshed once.
///
/// Build one with [`Client::new`] or [`Client::builder`]; the `xdm-hyper` crate has one-line
/// constructors for hyper and tokio.
pub struct Client<T, C> {
    pub(crate) inner: Arc<Inner<T, C>>,
}

impl<T, C> Clone for Client<T, C> {
    fn clone(&self) -> Self {
        Client {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T, C> fmt::Debug for Client<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.ctx.base_url.as_str())
            .field("user_id", &self.inner.user_id)
            .field("rate_limit_policy", &self.inner.rate_limit_policy)
            .field("reconcile", &self.inner.reconcile)
            .finish_non_exhaustive()
    }
}

pub(crate) enum Auth {
    OAuth1(OAuth1Authorizer),
    OAuth2(TokenManager),
    AppBearer(AppBearerAuthorizer),
}

pub(crate) struct Inner<T, C> {
    pub(crate) transport: T,
    pub(crate) timer: C,
    pub(crate) ctx: RequestContext,
    pub(crate) auth: Auth,
    pub(crate) user_id: Option<UserId>,
    /// Identifies the credential to the limiter without being a secret.
    pub(crate) credential_key: u64,
    limiter: Mutex<RateLimiter<u64>>,
    /// The id `GET /2/users/me` named, when `user_id` was not known up front.
    pub(crate) looked_up_user_id: OnceLock<UserId>,
    /// Wakes calls waiting on the limiter whenever a reservation is settled.
    pub(crate) limits_changed: crate::execute::LimitsChanged,
    jitter: Mutex<Jitter>,
    pub(crate) retry: RetryPolicy,
    pub(crate) rate_limit_policy: RateLimitPolicy,
    pub(crate) reconcile: ReconcilePolicy,
    pub(crate) upload_chunk_size: Option<usize>,
    /// The store whose lock OAuth 2.0 refreshes take; see [`ClientBuilder::token_store`].
    pub(crate) token_store: Option<Arc<dyn TokenStore>>,
}

fn lock<S>(mutex: &Mutex<S>) -> MutexGuard<'_, S> {
    // The guarded values stay consistent between statements, so a panic elsewhere while
    // holding the lock leaves nothing half-done.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T, C> Inner<T, C> {
    pub(crate) fn limiter(&self) -> MutexGuard<'_, RateLimiter<u64>> {
        lock(&self.limiter)
    }

    pub(crate) fn jitter(&self) -> MutexGuard<'_, Jitter> {
        lock(&self.jitter)
    }
}

impl<T: Transport, C: Timer> Client<T, C> {
    /// A client with the default policies.
    pub fn new(transport: T, timer: C, config: Config) -> Self {
        Client::builder(transport, timer, config).build()
    }

    /// A builder to choose policies.
    pub fn builder(transport: T, timer: C, config: Config) -> ClientBuilder<T, C> {
        ClientBuilder {
            transport,
            timer,
            config,
            retry: RetryPolicy::default(),
            rate_limit_policy: RateLimitPolicy::default(),
            reconcile: ReconcilePolicy::default(),
            limiter: LimiterConfig::default(),
            upload_chunk_size: None,
            token_store: None,
        }
    }

    /// The authenticated user's id, when configured, implied by the credentials (an OAuth 1.0a
    /// access token names it), or already looked up by [`authenticated_user_id`](Self::authenticated_user_id).
    pub fn user_id(&self) -> Option<&UserId> {
        self.inner
            .user_id
            .as_ref()
            .or_else(|| self.inner.looked_up_user_id.get())
    }

    /// Looks up the user the credentials act for (`GET /2/users/me`, scopes `tweet.read
    /// users.read`), and remembers the id for [`user_id`](Self::user_id).
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::Transport, C: xdm_client::transport::Timer>(
    /// #     client: xdm_client::Client<T, C>) -> Result<(), xdm_client::Error> {
    /// let me = client.me().await?;
    /// println!("signed in as @{}", me.username.as_deref().unwrap_or("?"));
    /// # Ok(()) }
    /// ```
    pub async fn me(&self) -> Result<User, Error> {
        let me = self.execute(&GetMe::new()).await?.into_data()?;
        if let Some(id) = me.id.as_deref().and_then(|id| UserId::parse(id).ok()) {
            // A concurrent lookup may have set it first; both name the same user.
            let _ = self.inner.looked_up_user_id.set(id);
        }
        Ok(me)
    }

    /// The authenticated user's id: the one [`user_id`](Self::user_id) knows, else looked up
    /// with [`me`](Self::me) and remembered (calls racing the first lookup may each ask).
    /// Reconciling a send to a conversation needs it, to tell the user's own messages from
    /// the others'.
    pub async fn authenticated_user_id(&self) -> Result<UserId, Error> {
        if let Some(id) = self.user_id() {
            return Ok(id.clone());
        }
        let me = self.me().await?;
        self.user_id().cloned().ok_or_else(|| {
            Error::Config(ConfigError::Invalid {
                variable: vars::USER_ID,
                problem: format!(
                    "is needed: the server's answer to GET /2/users/me named no valid user id \
                     ({:?}); set the id explicitly",
                    me.id
                ),
            })
        })
    }

    /// Where requests go and in which dialect.
    pub fn request_context(&self) -> &RequestContext {
        &self.inner.ctx
    }

    /// The transport, for instance to reuse its connection pool.
    pub fn transport(&self) -> &T {
        &self.inner.transport
    }

    /// The timer.
    pub fn timer(&self) -> &C {
        &self.inner.timer
    }

    /// The OAuth 2.0 token manager, when the client uses OAuth 2.0.
    pub fn token_manager(&self) -> Option<&TokenManager> {
        match &self.inner.auth {
            Auth::OAuth2(manager) => Some(manager),
            Auth::OAuth1(_) | Auth::AppBearer(_) => None,
        }
    }
}

/// Configures a [`Client`].
#[must_use]
pub struct ClientBuilder<T, C> {
    transport: T,
    timer: C,
    config: Config,
    retry: RetryPolicy,
    rate_limit_policy: RateLimitPolicy,
    reconcile: ReconcilePolicy,
    limiter: LimiterConfig,
    upload_chunk_size: Option<usize>,
    token_store: Option<Arc<dyn TokenStore>>,
}

impl<T, C> fmt::Debug for ClientBuilder<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.config.base_url.as_str())
            .field("retry", &self.retry)
            .field("rate_limit_policy", &self.rate_limit_policy)
            .field("reconcile", &self.reconcile)
            .finish_non_exhaustive()
    }
}

impl<T: Transport, C: Timer> ClientBuilder<T, C> {
    /// How failed requests are retried (attempts, backoff, longest wait for a 429's reset).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Whether to wait for exhausted rate limits, and how long.
    pub fn rate_limit_policy(mut self, policy: RateLimitPolicy) -> Self {
        self.rate_limit_policy = policy;
        self
    }

    /// What to do with sends whose outcome is unknown.
    pub fn reconcile(mut self, policy: ReconcilePolicy) -> Self {
        self.reconcile = policy;
        self
    }

    /// How the rate limiter guesses before it has seen headers.
    pub fn limiter_config(mut self, config: LimiterConfig) -> Self {
        self.limiter = config;
        self
    }

    /// The size of media upload chunks (the core's default when unset).
    pub fn upload_chunk_size(mut self, bytes: usize) -> Self {
        self.upload_chunk_size = Some(bytes);
        self
    }

    /// Keeps the OAuth 2.0 token in `store` (ignored for OAuth 1.0a): every refresh runs
    /// under the store's lock and saves the rotated token before anyone uses it, so that
    /// processes sharing the store never spend the same single-use refresh token twice.
    ///
    /// Before each refresh, whether the token was due or rejected with a 401, the client
    /// takes the store's lock and reads the store again: if another process has already
    /// rotated the token, the client adopts that one and sends no refresh. Otherwise it
    /// refreshes and saves the new token before releasing the lock. Clones and tasks of one
    /// client still refresh once between them.
    ///
    /// The lock is taken without blocking the async runtime: the client tries it, and while
    /// another process holds it, sleeps 20 ms through its [`Timer`] and tries again, for up to
    /// a minute (the holder keeps it only for one refresh request), after which the call fails
    /// with [`AuthorizationError::TokenStore`](crate::AuthorizationError::TokenStore). A
    /// failure to save the new token is logged, without the token, and the client goes on
    /// with it.
    ///
    /// `xdm_hyper::FileTokenStore` is a store in a file; see [`TokenStore`] for others.
    pub fn token_store(mut self, store: impl TokenStore + 'static) -> Self {
        self.token_store = Some(Arc::new(store));
        self
    }

    /// Builds the client.
    pub fn build(self) -> Client<T, C> {
        let Config {
            base_url,
            credentials,
            user_id,
            dialect,
        } = self.config;
        let user_id = user_id.or_else(|| credentials.implied_user_id());
        let credential_key = credential_key(&credentials, user_id.as_ref());
        let auth = match credentials {
            Credentials::OAuth1 { consumer, token } => {
                Auth::OAuth1(OAuth1Authorizer::new(consumer, token))
            }
            Credentials::OAuth2(manager) => Auth::OAuth2(manager),
            Credentials::AppBearer(token) => Auth::AppBearer(AppBearerAuthorizer::new(token)),
        };
        Client {
            inner: Arc::new(Inner {
                transport: self.transport,
                timer: self.timer,
                ctx: RequestContext::new(base_url).with_dialect(dialect),
                auth,
                user_id,
                credential_key,
                limiter: Mutex::new(RateLimiter::new(self.limiter)),
                limits_changed: Default::default(),
                looked_up_user_id: OnceLock::new(),
                jitter: Mutex::new(Jitter::from_os()),
                retry: self.retry,
                rate_limit_policy: self.rate_limit_policy,
                reconcile: self.reconcile,
                upload_chunk_size: self.upload_chunk_size,
                token_store: self.token_store,
            }),
        }
    }
}

/// A stable, non-secret key for the limiter: the user id when known, else a hash of the
/// public half of the credential (consumer key and client id are not secrets).
fn credential_key(credentials: &Credentials, user_id: Option<&UserId>) -> u64 {
    let mut hasher = DefaultHasher::new();
    match (user_id, credentials) {
        (Some(id), _) => id.as_u64().hash(&mut hasher),
        (None, Credentials::OAuth1 { consumer, .. }) => consumer.key.hash(&mut hasher),
        (None, Credentials::OAuth2(manager)) => manager.client().client_id().hash(&mut hasher),
        // The app's limits are its own, apart from any user's; the token is not hashed, so
        // that nothing derived from a secret is kept.
        (None, Credentials::AppBearer(_)) => "app-bearer".hash(&mut hasher),
    }
    hasher.finish()
}
