//! Where the client sends requests and with which credentials, from code or the environment.

use std::fmt;
use std::time::SystemTime;

use xdm_auth::oauth1::{ConsumerCredentials, TokenCredentials};
use xdm_auth::oauth2::{OAuth2Client, TokenManager, UserToken};
use xdm_auth::secret::AppBearerToken;
use xdm_core::ids::UserId;
use xdm_core::{BaseUrl, Dialect};

/// The environment variables read by [`Config::from_env`].
pub mod vars {
    /// The API root; `https://api.x.com` when unset. Plain `http://` only for loopback hosts.
    pub const BASE_URL: &str = "X_API_BASE_URL";
    /// OAuth 1.0a: the app's API key.
    pub const CONSUMER_KEY: &str = "X_CONSUMER_KEY";
    /// OAuth 1.0a: the app's API key secret.
    pub const CONSUMER_SECRET: &str = "X_CONSUMER_SECRET";
    /// OAuth 1.0a: the user's access token.
    pub const ACCESS_TOKEN: &str = "X_ACCESS_TOKEN";
    /// OAuth 1.0a: the user's access token secret.
    pub const ACCESS_TOKEN_SECRET: &str = "X_ACCESS_TOKEN_SECRET";
    /// OAuth 2.0: the user's access token.
    pub const OAUTH2_ACCESS_TOKEN: &str = "X_OAUTH2_ACCESS_TOKEN";
    /// OAuth 2.0: the refresh token (needs [`CLIENT_ID`]).
    pub const OAUTH2_REFRESH_TOKEN: &str = "X_OAUTH2_REFRESH_TOKEN";
    /// OAuth 2.0: the app's client id, for refreshing.
    pub const CLIENT_ID: &str = "X_CLIENT_ID";
    /// OAuth 2.0: the app's client secret, for confidential clients.
    pub const CLIENT_SECRET: &str = "X_CLIENT_SECRET";
    /// The authenticated user's id (optional; derived from an OAuth 1.0a token when unset).
    pub const USER_ID: &str = "X_USER_ID";
    /// The app's Bearer token (OAuth 2.0 app-only), for the activity stream and subscription
    /// listings; read by [`Config::app_bearer_from_env`](super::Config::app_bearer_from_env)
    /// only, never as a user credential.
    pub const BEARER_TOKEN: &str = "X_BEARER_TOKEN";

    /// Every variable that names a place or a credential: a value that is set must be usable
    /// (not blank, UTF-8, on one line), or configuration fails naming it.
    pub const ALL: [&str; 10] = [
        CONSUMER_KEY,
        CONSUMER_SECRET,
        ACCESS_TOKEN,
        ACCESS_TOKEN_SECRET,
        OAUTH2_ACCESS_TOKEN,
        OAUTH2_REFRESH_TOKEN,
        CLIENT_ID,
        CLIENT_SECRET,
        USER_ID,
        BASE_URL,
    ];

    /// The four OAuth 1.0a variables, in the order they are reported.
    pub const OAUTH1: [&str; 4] = [
        CONSUMER_KEY,
        CONSUMER_SECRET,
        ACCESS_TOKEN,
        ACCESS_TOKEN_SECRET,
    ];
}

/// How the client authenticates.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Credentials {
    /// OAuth 1.0a user context: every request is signed with a fresh nonce.
    OAuth1 {
        /// The app's key and secret.
        consumer: ConsumerCredentials,
        /// The user's access token and secret.
        token: TokenCredentials,
    },
    /// An OAuth 2.0 user token, refreshed through the manager when it expires or is rejected.
    OAuth2(TokenManager),
    /// The app's Bearer token (OAuth 2.0 app-only), which acts for no user: it opens the
    /// activity stream and lists, updates and deletes subscriptions. A client holding it
    /// refuses every user-token endpoint (all the DM endpoints, creating a `dm.*`
    /// subscription) before sending anything.
    AppBearer(AppBearerToken),
}

impl Credentials {
    /// OAuth 1.0a credentials from their four parts.
    pub fn oauth1(
        consumer_key: impl Into<String>,
        consumer_secret: impl Into<String>,
        access_token: impl Into<String>,
        access_token_secret: impl Into<String>,
    ) -> Self {
        Credentials::OAuth1 {
            consumer: ConsumerCredentials::new(consumer_key.into(), consumer_secret.into()),
            token: TokenCredentials::new(access_token.into(), access_token_secret.into()),
        }
    }

    /// An OAuth 2.0 access token that cannot be refreshed.
    pub fn oauth2_token(access_token: impl Into<String>) -> Self {
        let token = UserToken::new(access_token.into(), SystemTime::now());
        Credentials::OAuth2(TokenManager::new(OAuth2Client::public("", ""), token))
    }

    /// An OAuth 2.0 token kept fresh by `manager` (which knows the client and the refresh
    /// token).
    pub fn oauth2(manager: TokenManager) -> Self {
        Credentials::OAuth2(manager)
    }

    /// The app's Bearer token.
    pub fn app_bearer(token: impl Into<String>) -> Self {
        Credentials::AppBearer(AppBearerToken::new(token.into()))
    }

    /// The user id an OAuth 1.0a access token names: X's tokens start with `{user_id}-`.
    pub(crate) fn implied_user_id(&self) -> Option<UserId> {
        match self {
            Credentials::OAuth1 { token, .. } => {
                let (prefix, _) = token.token.expose_secret().split_once('-')?;
                UserId::parse(prefix).ok()
            }
            Credentials::OAuth2(_) | Credentials::AppBearer(_) => None,
        }
    }
}

/// Everything the client needs besides a transport and a timer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The API root.
    pub base_url: BaseUrl,
    /// How to authenticate.
    pub credentials: Credentials,
    /// The authenticated user, when known: it keys the rate limiter and lets reconciliation
    /// recognise the user's own messages. Derived from OAuth 1.0a tokens when not given.
    pub user_id: Option<UserId>,
    /// Which spelling of renamed parameters to send.
    pub dialect: Dialect,
}

impl Config {
    /// X's API with these credentials.
    pub fn new(credentials: Credentials) -> Self {
        let user_id = credentials.implied_user_id();
        Config {
            base_url: BaseUrl::x_api(),
            credentials,
            user_id,
            dialect: Dialect::default(),
        }
    }

    /// The same configuration against another API root (an emulator, a proxy).
    pub fn with_base_url(mut self, base_url: BaseUrl) -> Self {
        self.base_url = base_url;
        self
    }

    /// The same configuration with the authenticated user's id.
    pub fn with_user_id(mut self, user_id: UserId) -> Self {
        self.user_id = Some(user_id);
        self
    }

    /// The same configuration in another wire dialect.
    pub fn with_dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    /// Reads the process environment; see [`vars`] for the names.
    ///
    /// OAuth 1.0a wins when both schemes are configured. Only an unset variable counts as
    /// unset: one that is set but blank, not UTF-8, or on more than one line is refused
    /// ([`ConfigError::Invalid`], naming the variable and never its value), so that a typo
    /// never sends a request somewhere or as someone else.
    ///
    /// The saved login of `xdm login` is not read here (this crate does no file I/O):
    /// `xdm_hyper::from_env` falls back to it.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_os_vars(|name| std::env::var_os(name))
    }

    /// Like [`from_env`](Self::from_env), reading variables through `get`.
    ///
    /// ```
    /// use xdm_client::Config;
    ///
    /// let vars = [("X_OAUTH2_ACCESS_TOKEN", "token"), ("X_API_BASE_URL", "http://127.0.0.1:8080")];
    /// let config = Config::from_vars(|name| {
    ///     vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    /// })
    /// .unwrap();
    /// assert_eq!(config.base_url.as_str(), "http://127.0.0.1:8080");
    ///
    /// let err = Config::from_vars(|_| None).unwrap_err();
    /// assert!(err.to_string().contains("X_CONSUMER_KEY"));
    /// ```
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        Config::from_os_vars(|name| get(name).map(Into::into))
    }

    /// Like [`from_env`](Self::from_env), reading variables (which need not be UTF-8) through
    /// `get`.
    pub fn from_os_vars(
        get: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Config, ConfigError> {
        let values = read_vars(&get)?;
        let get = |name: &str| {
            values
                .iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, v)| v.clone())
        };
        let base_url = base_url_from(get(vars::BASE_URL))?;
        let credentials = credentials_from(&get, &base_url)?;
        let mut config = Config::new(credentials).with_base_url(base_url);
        if let Some(id) = get(vars::USER_ID) {
            let id = UserId::parse(&id).map_err(|e| ConfigError::Invalid {
                variable: vars::USER_ID,
                problem: format!("is not usable: {e}"),
            })?;
            config.user_id = Some(id);
        }
        Ok(config)
    }
}

impl Config {
    /// An app-only configuration from the process environment: the app's Bearer token from
    /// [`vars::BEARER_TOKEN`] and the API root from [`vars::BASE_URL`]. The user credentials
    /// are not read.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Missing`] naming `X_BEARER_TOKEN` when it is unset, and
    /// [`ConfigError::Invalid`] when it or the API root is unusable.
    pub fn app_bearer_from_env() -> Result<Config, ConfigError> {
        Config::app_bearer_from_os_vars(|name| std::env::var_os(name))
    }

    /// Like [`app_bearer_from_env`](Self::app_bearer_from_env), reading variables through
    /// `get`.
    ///
    /// ```
    /// use xdm_client::{Config, Credentials};
    ///
    /// let config = Config::app_bearer_from_os_vars(|name| {
    ///     (name == "X_BEARER_TOKEN").then(|| "app-token".into())
    /// })
    /// .unwrap();
    /// assert!(matches!(config.credentials, Credentials::AppBearer(_)));
    /// let err = Config::app_bearer_from_os_vars(|_| None).unwrap_err();
    /// assert!(err.to_string().contains("X_BEARER_TOKEN"));
    /// ```
    pub fn app_bearer_from_os_vars(
        get: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Config, ConfigError> {
        let base_url = base_url_from_os_vars(&get)?;
        let token = checked_var(vars::BEARER_TOKEN, get(vars::BEARER_TOKEN))?.ok_or(
            ConfigError::Missing {
                variable: vars::BEARER_TOKEN,
                scheme: "the app's Bearer token",
            },
        )?;
        Ok(Config::new(Credentials::app_bearer(token)).with_base_url(base_url))
    }
}

/// The API root the variables read through `get` name (`X_API_BASE_URL`, else X's),
/// refusing an unusable value as [`Config::from_os_vars`] does.
pub fn base_url_from_os_vars(
    get: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<BaseUrl, ConfigError> {
    base_url_from(checked_var(vars::BASE_URL, get(vars::BASE_URL))?)
}

fn base_url_from(value: Option<String>) -> Result<BaseUrl, ConfigError> {
    match value {
        Some(url) => BaseUrl::parse(&url).map_err(|e| ConfigError::Invalid {
            variable: vars::BASE_URL,
            problem: format!("is not usable: {e}"),
        }),
        None => Ok(BaseUrl::x_api()),
    }
}

/// Every variable of [`vars::ALL`], checked, with surrounding spaces trimmed.
fn read_vars(
    get: &impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<Vec<(&'static str, Option<String>)>, ConfigError> {
    vars::ALL
        .iter()
        .map(|name| Ok((*name, checked_var(name, get(name))?)))
        .collect()
}

/// A variable's value, trimmed, if it is set; an error naming it (and never quoting the
/// value, which may be a secret) if it is set but blank, not UTF-8 or on several lines.
fn checked_var(
    name: &'static str,
    value: Option<std::ffi::OsString>,
) -> Result<Option<String>, ConfigError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let invalid = |problem: &str| ConfigError::Invalid {
        variable: name,
        problem: problem.to_owned(),
    };
    let value = value
        .into_string()
        .map_err(|_| invalid("is set but is not valid UTF-8"))?;
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(invalid("is set but blank; unset it or give it a value"));
    }
    if trimmed.contains(['\n', '\r']) {
        return Err(invalid("holds more than one line"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(invalid("holds a control character"));
    }
    Ok(Some(trimmed.to_owned()))
}

fn credentials_from(
    get: &impl Fn(&str) -> Option<String>,
    base_url: &BaseUrl,
) -> Result<Credentials, ConfigError> {
    let oauth1: Vec<Option<String>> = vars::OAUTH1.iter().map(|name| get(name)).collect();
    if oauth1.iter().any(Option::is_some) {
        if let Some(missing) = vars::OAUTH1
            .iter()
            .zip(&oauth1)
            .find_map(|(name, value)| value.is_none().then_some(*name))
        {
            return Err(ConfigError::Missing {
                variable: missing,
                scheme: "OAuth 1.0a",
            });
        }
        let [key, secret, token, token_secret] =
            <[Option<String>; 4]>::try_from(oauth1).map_err(|_| ConfigError::NoCredentials)?;
        return Ok(Credentials::oauth1(
            key.unwrap_or_default(),
            secret.unwrap_or_default(),
            token.unwrap_or_default(),
            token_secret.unwrap_or_default(),
        ));
    }
    let Some(access) = get(vars::OAUTH2_ACCESS_TOKEN) else {
        if get(vars::OAUTH2_REFRESH_TOKEN).is_some() {
            return Err(ConfigError::Missing {
                variable: vars::OAUTH2_ACCESS_TOKEN,
                scheme: "OAuth 2.0",
            });
        }
        return Err(ConfigError::NoCredentials);
    };
    let mut token = UserToken::new(access, SystemTime::now());
    let client = match get(vars::OAUTH2_REFRESH_TOKEN) {
        Some(refresh) => {
            token = token.with_refresh_token(refresh);
            let Some(client_id) = get(vars::CLIENT_ID) else {
                return Err(ConfigError::Missing {
                    variable: vars::CLIENT_ID,
                    scheme: "OAuth 2.0 token refresh",
                });
            };
            match get(vars::CLIENT_SECRET) {
                Some(secret) => OAuth2Client::confidential(client_id, secret, ""),
                None => OAuth2Client::public(client_id, ""),
            }
        }
        None => OAuth2Client::public(get(vars::CLIENT_ID).unwrap_or_default(), ""),
    };
    let client = client.with_api_base_url(base_url.clone());
    Ok(Credentials::OAuth2(TokenManager::new(client, token)))
}

/// The configuration is incomplete or invalid. Messages name variables, never their values.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// Neither OAuth 1.0a nor OAuth 2.0 credentials are set.
    NoCredentials,
    /// A scheme is partly configured.
    Missing {
        /// The variable that is not set.
        variable: &'static str,
        /// The scheme it belongs to.
        scheme: &'static str,
    },
    /// A variable is set to something unusable.
    Invalid {
        /// The variable.
        variable: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NoCredentials => write!(
                f,
                "no credentials: set {}, {}, {} and {} (OAuth 1.0a), or {} (OAuth 2.0, with {}, \
                 {} and {} to refresh it)",
                vars::CONSUMER_KEY,
                vars::CONSUMER_SECRET,
                vars::ACCESS_TOKEN,
                vars::ACCESS_TOKEN_SECRET,
                vars::OAUTH2_ACCESS_TOKEN,
                vars::OAUTH2_REFRESH_TOKEN,
                vars::CLIENT_ID,
                vars::CLIENT_SECRET
            ),
            ConfigError::Missing { variable, scheme } => {
                write!(f, "{variable} is not set ({scheme} is partly configured)")
            }
            ConfigError::Invalid { variable, problem } => write!(f, "{variable} {problem}"),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests;
