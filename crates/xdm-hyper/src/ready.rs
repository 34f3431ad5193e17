//! One line to a ready client: from the environment, or from a few choices.

use xdm_client::{Config, ConfigError, Credentials, RateLimitPolicy, ReconcilePolicy, TokenStore};
use xdm_core::BaseUrl;
use xdm_core::retry::RetryPolicy;

use crate::error::BuildError;
use crate::{HttpVersion, HyperTransport, HyperTransportBuilder, TokioClock};

/// The client over hyper and tokio.
pub type Client = xdm_client::Client<HyperTransport, TokioClock>;

type Customize = Box<
    dyn FnOnce(
            xdm_client::ClientBuilder<HyperTransport, TokioClock>,
        ) -> xdm_client::ClientBuilder<HyperTransport, TokioClock>
        + Send,
>;

/// Why a ready client could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The configuration (environment or builder) is incomplete or invalid.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The transport could not be built.
    #[error(transparent)]
    Transport(#[from] BuildError),
    /// The saved login could not be read, or there is no directory to look for it in.
    #[error(transparent)]
    SavedLogin(crate::login::ResolveError),
}

impl From<crate::login::ResolveError> for SetupError {
    fn from(e: crate::login::ResolveError) -> Self {
        match e {
            crate::login::ResolveError::Config(c) => SetupError::Config(c),
            other => SetupError::SavedLogin(other),
        }
    }
}

/// A client configured from the environment (see [`xdm_client::vars`]), falling back to the
/// login `xdm login` saved, over a default transport. Must be called inside a tokio runtime.
///
/// The resolution is [`resolve_env`](crate::resolve_env)'s, the same as the `xdm` tool's: an
/// unusable variable is an error naming it; with no credential variable set, the saved login
/// is used, and its token is refreshed under its file's lock with each rotated token saved;
/// an OAuth 2.0 refresh token from the environment has its successors saved in the saved
/// login too, so that a later run does not present the spent one.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let client = xdm_hyper::from_env()?;
/// let mut pages = client.list_events().with_max_pages(1);
/// while let Some(page) = pages.next_page().await {
///     println!("{} events", page?.items().len());
/// }
/// # Ok(()) }
/// ```
pub fn from_env() -> Result<Client, SetupError> {
    let resolved = crate::login::resolve_env()?;
    let mut builder = builder().config(resolved.config);
    if let Some(store) = resolved.store {
        builder = builder.token_store(store);
    }
    builder.build()
}

/// What gives [`Client`] its `Client::from_env()`: the same as [`from_env`].
impl xdm_client::FromEnv for HyperTransport {
    type Timer = TokioClock;
    type Error = SetupError;

    fn client_from_env() -> Result<Client, SetupError> {
        from_env()
    }
}

/// A builder for a client over hyper.
pub fn builder() -> Builder {
    Builder::default()
}

/// Chooses the API root, the credentials, the transport's options and the client's policies.
///
/// ```no_run
/// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use xdm_client::{Credentials, RateLimitPolicy};
///
/// let client = xdm_hyper::builder()
///     .base_url("http://127.0.0.1:8080")?
///     .credentials(Credentials::oauth2_token("user-access-token"))
///     .transport(|t| t.request_timeout(Duration::from_secs(10)))
///     .rate_limit_policy(RateLimitPolicy::FailFast)
///     .build()?;
/// # let _ = client; Ok(()) }
/// ```
#[must_use]
pub struct Builder {
    base_url: Option<BaseUrl>,
    config: Option<Config>,
    credentials: Option<Credentials>,
    transport: HyperTransportBuilder,
    pem_roots: Vec<String>,
    customize: Vec<Customize>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            base_url: None,
            config: None,
            credentials: None,
            transport: HyperTransport::builder(),
            pem_roots: Vec::new(),
            customize: Vec::new(),
        }
    }
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("base_url", &self.base_url.as_ref().map(BaseUrl::as_str))
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// A whole configuration (base URL, credentials, user id, dialect). A later
    /// [`base_url`](Self::base_url) or [`credentials`](Self::credentials) overrides its part.
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// The API root; `https://api.x.com` by default. Plain `http://` only for loopback hosts.
    pub fn base_url(mut self, url: &str) -> Result<Self, SetupError> {
        let url = BaseUrl::parse(url).map_err(|e| ConfigError::Invalid {
            variable: xdm_client::vars::BASE_URL,
            problem: format!("is not usable: {e}"),
        })?;
        self.base_url = Some(url);
        Ok(self)
    }

    /// The credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Changes the transport's options (timeouts, size cap, HTTP version, roots).
    pub fn transport(
        mut self,
        change: impl FnOnce(HyperTransportBuilder) -> HyperTransportBuilder,
    ) -> Self {
        self.transport = change(self.transport);
        self
    }

    /// Which HTTP versions to speak.
    pub fn http_version(self, version: HttpVersion) -> Self {
        self.transport(|t| t.http_version(version))
    }

    /// Trusts the certificates of a PEM bundle (such as a test server's self-signed one).
    pub fn add_root_certificates_pem(mut self, pem: impl Into<String>) -> Self {
        self.pem_roots.push(pem.into());
        self
    }

    /// How failed requests are retried.
    pub fn retry_policy(self, policy: RetryPolicy) -> Self {
        self.customize(move |b| b.retry_policy(policy))
    }

    /// Whether and how long to wait for exhausted rate limits.
    pub fn rate_limit_policy(self, policy: RateLimitPolicy) -> Self {
        self.customize(move |b| b.rate_limit_policy(policy))
    }

    /// What to do with sends whose outcome is unknown.
    pub fn reconcile(self, policy: ReconcilePolicy) -> Self {
        self.customize(move |b| b.reconcile(policy))
    }

    /// Keeps the OAuth 2.0 token in `store`, refreshing under its lock (adopting a token
    /// another process already rotated) and saving each new one; see
    /// [`xdm_client::ClientBuilder::token_store`] and [`FileTokenStore`](crate::FileTokenStore).
    pub fn token_store(self, store: impl TokenStore + 'static) -> Self {
        self.customize(move |b| b.token_store(store))
    }

    /// Any other choice of the generic [`xdm_client::ClientBuilder`].
    pub fn customize(
        mut self,
        change: impl FnOnce(
            xdm_client::ClientBuilder<HyperTransport, TokioClock>,
        ) -> xdm_client::ClientBuilder<HyperTransport, TokioClock>
        + Send
        + 'static,
    ) -> Self {
        self.customize.push(Box::new(change));
        self
    }

    /// Builds the client. Must be called inside a tokio runtime.
    pub fn build(self) -> Result<Client, SetupError> {
        let mut config = match (self.config, self.credentials) {
            (Some(mut config), Some(credentials)) => {
                config.credentials = credentials;
                config
            }
            (Some(config), None) => config,
            (None, Some(credentials)) => Config::new(credentials),
            (None, None) => return Err(SetupError::Config(ConfigError::NoCredentials)),
        };
        if let Some(url) = self.base_url {
            config = config.with_base_url(url);
        }
        let mut transport = self.transport;
        for pem in &self.pem_roots {
            transport = transport.add_root_certificates_pem(pem)?;
        }
        let mut builder = xdm_client::Client::builder(transport.build()?, TokioClock, config);
        for change in self.customize {
            builder = change(builder);
        }
        Ok(builder.build())
    }
}
