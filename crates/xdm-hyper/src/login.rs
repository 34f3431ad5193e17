//! The login `xdm login` saves, where it lives, and how the SDK and the CLI read it back.
//!
//! The directory ([`config_dir`]) is `$XDM_CONFIG_DIR` when set, else the platform's
//! configuration directory with `xdm` appended:
//!
//! | platform | directory |
//! |---|---|
//! | Linux, the BSDs, macOS | `$XDG_CONFIG_HOME/xdm` (an absolute path), else `~/.config/xdm` |
//! | Windows | `%APPDATA%\xdm` (the roaming application data folder) |
//!
//! It holds `token.json`, the OAuth 2.0 user token (a [`FileTokenStore`]), and
//! `client.json`, the app's client id (and secret, for a confidential client) that refreshing
//! the token needs. Both are readable by their owner only.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xdm_auth::oauth2::{OAuth2Client, TokenManager};
use xdm_client::{Config, ConfigError, Credentials};
use xdm_core::BaseUrl;

use crate::store::{FileStoreError, FileTokenStore};

/// The variable that names the configuration directory outright.
pub const CONFIG_DIR_VAR: &str = "XDM_CONFIG_DIR";

/// No configuration directory could be found: no `$XDM_CONFIG_DIR` and no home directory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[allow(
    clippy::exhaustive_structs,
    reason = "callers of `resolve` return it from their own `saved` function; there is nothing \
              more to say than what to set"
)]
#[error("no configuration directory: set XDM_CONFIG_DIR, or HOME")]
pub struct NoConfigDir;

/// The directory of the saved login, not yet created: `$XDM_CONFIG_DIR` when set, else the
/// platform's configuration directory with `xdm` appended (see [`SavedLogin`]).
pub fn config_dir() -> Result<PathBuf, NoConfigDir> {
    if let Some(dir) = std::env::var_os(CONFIG_DIR_VAR).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    use etcetera::BaseStrategy as _;
    let base = etcetera::choose_base_strategy().map_err(|_| NoConfigDir)?;
    Ok(base.config_dir().join("xdm"))
}

/// The app a saved token belongs to.
///
/// `#[non_exhaustive]`, since the saved file may learn more about the app: build one with
/// [`SavedClient::new`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SavedClient {
    /// The OAuth 2.0 client id.
    pub client_id: String,
    /// The client secret of a confidential client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for SavedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SavedClient")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

impl SavedClient {
    /// The app `client_id`, with the secret of a confidential client (`None` for a public
    /// client).
    pub fn new(client_id: impl Into<String>, client_secret: Option<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret,
        }
    }

    /// The OAuth 2.0 client of this app, sending token requests to `base`.
    pub fn oauth_client(&self, redirect_uri: &str, base: &BaseUrl) -> OAuth2Client {
        let oauth = match &self.client_secret {
            Some(secret) => {
                OAuth2Client::confidential(self.client_id.clone(), secret.clone(), redirect_uri)
            }
            None => OAuth2Client::public(self.client_id.clone(), redirect_uri),
        };
        oauth.with_api_base_url(base.clone())
    }
}

/// The saved login in one directory.
///
/// [`config_dir`] finds the directory:
///
/// | platform | directory |
/// |---|---|
/// | any | `$XDM_CONFIG_DIR`, when set |
/// | Linux, the BSDs, macOS | `$XDG_CONFIG_HOME/xdm` (an absolute path), else `~/.config/xdm` |
/// | Windows | `%APPDATA%\xdm` (the roaming application data folder) |
///
/// It holds `token.json`, the OAuth 2.0 user token (a [`FileTokenStore`]), and
/// `client.json`, the app's client id (and secret, for a confidential client) that refreshing
/// the token needs. Both are readable by their owner only.
#[derive(Debug, Clone)]
pub struct SavedLogin {
    dir: PathBuf,
}

impl SavedLogin {
    /// The saved login in [`config_dir`].
    pub fn from_env() -> Result<Self, NoConfigDir> {
        config_dir().map(Self::at)
    }

    /// The saved login in `dir`.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The token file's store.
    pub fn token_store(&self) -> FileTokenStore {
        FileTokenStore::new(self.dir.join("token.json"))
    }

    /// The saved client's file.
    pub fn client_path(&self) -> PathBuf {
        self.dir.join("client.json")
    }

    /// Creates the directory (and its parents) if needed, the last level readable by its
    /// owner alone.
    pub fn ensure_dir(&self) -> Result<(), FileStoreError> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(&self.dir)
            .map_err(|source| FileStoreError::Io {
                action: "create",
                path: self.dir.clone(),
                source,
            })
    }

    /// The saved client, if there is one.
    pub fn load_client(&self) -> Result<Option<SavedClient>, FileStoreError> {
        let path = self.client_path();
        match fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| FileStoreError::Corrupt {
                        path,
                        line: e.line(),
                        column: e.column(),
                    })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(FileStoreError::Io {
                action: "read",
                path,
                source,
            }),
        }
    }

    /// Saves `client` owner-only, replacing any previous one at once (a synced temporary
    /// file renamed over it).
    pub fn save_client(&self, client: &SavedClient) -> Result<(), FileStoreError> {
        let json = serde_json::to_vec_pretty(client).expect("a client serializes to JSON");
        crate::store::write_atomic(&self.client_path(), &json)
    }

    /// The credentials of the saved login against `base`, and the store that keeps its token
    /// fresh; `None` when nothing (or only half of a login) is saved.
    pub fn credentials(
        &self,
        base: &BaseUrl,
    ) -> Result<Option<(Credentials, FileTokenStore)>, FileStoreError> {
        let store = self.token_store();
        let (Some(token), Some(client)) = (store.load_blocking()?, self.load_client()?) else {
            return Ok(None);
        };
        let manager = TokenManager::new(client.oauth_client("", base), token);
        Ok(Some((Credentials::oauth2(manager), store)))
    }
}

/// What the environment configures: a [`Config`], and the token store its OAuth 2.0 token is
/// kept in when there is one.
///
/// `#[non_exhaustive]`: [`resolve`] builds it, and may say more about the resolution later.
#[derive(Debug)]
#[non_exhaustive]
pub struct Resolved {
    /// Where and as whom.
    pub config: Config,
    /// The saved login's token store, when the token comes from it or must be kept in it.
    pub store: Option<FileTokenStore>,
}

/// Why the environment and the saved login give no usable configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// A variable is missing or unusable, or nothing at all is configured.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The saved login could not be read.
    #[error("the saved login could not be read: {0}")]
    SavedLogin(#[from] FileStoreError),
    /// No configuration directory to look for a saved login in.
    #[error(transparent)]
    NoConfigDir(#[from] NoConfigDir),
}

/// The configuration the environment gives, falling back to the saved login, as the `xdm`
/// tool and [`from_env`](crate::from_env) both use it:
///
/// 1. the `X_*` variables ([`Config::from_env`]); a variable that is set but blank, not
///    UTF-8 or on several lines is an error, never a fallback;
/// 2. with none of the credential variables set, the login `xdm login` saved in
///    [`config_dir`], refreshed (and the rotated token saved) through its [`FileTokenStore`].
///
/// An OAuth 2.0 token from the environment that can be refreshed (`X_OAUTH2_REFRESH_TOKEN`
/// with `X_CLIENT_ID`) is kept in the saved login too, since X's refresh tokens are
/// single-use and the variable's would be spent after the first refresh: the rotated pair
/// is saved (with the client), marked as the successor of the variable's refresh token.
/// While the variable still holds that spent refresh token, the saved pair takes
/// precedence; a new value in the variable takes precedence over the saved pair. Without a
/// configuration directory to keep the successor in, such a token is refused
/// ([`ResolveError::NoConfigDir`]) rather than spent and lost.
pub fn resolve_env() -> Result<Resolved, ResolveError> {
    resolve(|name| std::env::var_os(name), SavedLogin::from_env)
}

/// [`resolve_env`] with the variables read through `get` and the saved login from `saved`.
pub fn resolve(
    get: impl Fn(&str) -> Option<std::ffi::OsString>,
    saved: impl FnOnce() -> Result<SavedLogin, NoConfigDir>,
) -> Result<Resolved, ResolveError> {
    let config = match Config::from_os_vars(&get) {
        Ok(config) => config,
        Err(ConfigError::NoCredentials) => {
            let base = xdm_client::config::base_url_from_os_vars(&get)?;
            let login = saved()?;
            return match login.credentials(&base)? {
                Some((credentials, store)) => Ok(Resolved {
                    config: Config::new(credentials).with_base_url(base),
                    store: Some(store),
                }),
                None => Err(ConfigError::NoCredentials.into()),
            };
        }
        Err(e) => return Err(e.into()),
    };
    let Credentials::OAuth2(manager) = &config.credentials else {
        return Ok(Resolved {
            config,
            store: None,
        });
    };
    let env_token = manager.token();
    let Some(refresh) = env_token.refresh_token() else {
        return Ok(Resolved {
            config,
            store: None,
        });
    };
    let origin = crate::store::fingerprint(refresh.expose_secret());
    let login = saved()?;
    let client = SavedClient {
        client_id: manager.client().client_id().to_owned(),
        client_secret: manager
            .client()
            .client_secret()
            .map(|s| s.expose_secret().to_owned()),
    };
    let store = login
        .token_store()
        .with_origin(origin.clone(), (login.client_path(), client));
    // A saved pair that succeeds this very refresh token wins: the variable's is spent.
    if let Some((saved_token, saved_origin)) = store.load_with_origin_blocking()?
        && saved_origin.as_deref() == Some(origin.as_str())
    {
        manager.set_token(saved_token);
    }
    // The directory must exist for the first refresh to save its successor.
    login.ensure_dir()?;
    Ok(Resolved {
        config,
        store: Some(store),
    })
}
