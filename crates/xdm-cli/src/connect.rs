//! Building the client a command talks through: where to (flag, variable, or an in-process
//! emulator) and as whom (the X_* variables, else the token `xdm login` saved).

use xdm_client::{Config, ConfigError, Credentials, RateLimitPolicy};
use xdm_core::BaseUrl;
use xdm_hyper::{FileTokenStore, HyperTransport, ResolveError, SetupError};

use crate::cli::Global;
use crate::exit::{Failure, Kind};

/// The in-process server behind `--emulator`; nothing when the tool is built without it.
#[cfg(feature = "emulator")]
type Emulator = xdm_emulator::Emulator;
#[cfg(not(feature = "emulator"))]
type Emulator = std::convert::Infallible;

/// The client every command uses.
pub type Api = xdm_hyper::Client;

/// A client, and the emulator it talks to when `--emulator` was given (kept alive for as
/// long as the command runs).
pub struct Session {
    /// The client.
    pub api: Api,
    _emulator: Option<Emulator>,
}

impl Session {
    /// The in-process emulator's app Bearer token, when the command runs with `--emulator`.
    #[cfg(feature = "emulator")]
    pub fn emulator_app_bearer(&self) -> Option<String> {
        self._emulator
            .as_ref()
            .map(|emu| emu.credentials().app_bearer_token.clone())
    }

    /// Without the emulator built in there is none.
    #[cfg(not(feature = "emulator"))]
    pub fn emulator_app_bearer(&self) -> Option<String> {
        None
    }
}

/// The API root: `--base-url`, else `X_API_BASE_URL` (refused when set but unusable), else
/// X's.
pub fn base_url(global: &Global) -> Result<BaseUrl, Failure> {
    match global.base_url.as_deref() {
        Some(url) => BaseUrl::parse(url.trim()).map_err(Failure::from),
        None => xdm_client::config::base_url_from_os_vars(|name| std::env::var_os(name))
            .map_err(|e| Failure::new(Kind::Input, e.to_string())),
    }
}

/// The transport: X's defaults, which the emulator and loopback addresses share.
pub fn transport() -> Result<HyperTransport, Failure> {
    HyperTransport::builder()
        .build()
        .map_err(|e| Failure::new(Kind::Local, format!("could not set up HTTPS: {e}")))
}

/// Connects as the command line and environment say.
///
/// Calls never wait silently for a rate limit: one-shot commands report it with the time it
/// ends, and the long-running ones (export, watch) wait with the time shown.
pub async fn connect(global: &Global) -> Result<Session, Failure> {
    let (config, store, emulator) = if global.emulator {
        let (config, emu) = emulated().await?;
        (config, None, Some(emu))
    } else {
        let base = base_url(global)?;
        let (config, store) = from_env_or_login(base).await?;
        (config, store, None)
    };
    let mut builder = xdm_hyper::builder()
        .config(config)
        .rate_limit_policy(RateLimitPolicy::FailFast);
    if let Some(store) = store {
        // Every refresh (due, or after a 401 mid-run) happens under the file's lock, so that
        // two `xdm` processes sharing the saved login never both spend the refresh token.
        builder = builder.token_store(store);
    }
    let api = builder.build().map_err(|e| match e {
        SetupError::Config(c) => Failure::new(Kind::Auth, c.to_string()),
        other => Failure::new(Kind::Local, format!("could not set up HTTPS: {other}")),
    })?;
    Ok(Session {
        api,
        _emulator: emulator,
    })
}

/// Starts the in-process emulator and signs in to it.
#[cfg(feature = "emulator")]
async fn emulated() -> Result<(Config, Emulator), Failure> {
    let emu = Emulator::builder()
        .start()
        .await
        .map_err(|e| Failure::io("could not start the emulator", &e))?;
    let creds = &emu.credentials().oauth2;
    let base = BaseUrl::parse(emu.base_url())?;
    let mut config =
        Config::new(Credentials::oauth2_token(creds.access_token.clone())).with_base_url(base);
    if let Ok(id) = xdm_core::ids::UserId::parse(&creds.user_id) {
        config = config.with_user_id(id);
    }
    Ok((config, emu))
}

#[cfg(not(feature = "emulator"))]
async fn emulated() -> Result<(Config, Emulator), Failure> {
    Err(Failure::new(
        Kind::Input,
        "this xdm was built without the emulator: build it with the `emulator` feature (on by \
         default) to use --emulator",
    ))
}

/// The environment's credentials, else the saved login: `xdm_hyper::resolve`, which SDK
/// programs share, with `--base-url` in place of `X_API_BASE_URL`.
async fn from_env_or_login(base: BaseUrl) -> Result<(Config, Option<FileTokenStore>), Failure> {
    let base_str = std::ffi::OsString::from(base.as_str());
    // Reading two small files: off the executor like all file work.
    let resolved = tokio::task::spawn_blocking(move || {
        xdm_hyper::resolve(
            |name| {
                if name == xdm_client::vars::BASE_URL {
                    Some(base_str.clone())
                } else {
                    std::env::var_os(name)
                }
            },
            xdm_hyper::SavedLogin::from_env,
        )
    })
    .await
    .map_err(|e| Failure::new(Kind::Local, e.to_string()))?;
    let resolved = match resolved {
        Ok(resolved) => resolved,
        Err(ResolveError::Config(ConfigError::NoCredentials)) => {
            return Err(Failure::new(
                Kind::Auth,
                format!(
                    "no credentials: run `xdm login --client-id ID`, or set {}, {}, {} and {} \
                     (OAuth 1.0a), or {} (OAuth 2.0); `xdm --emulator ...` needs none",
                    xdm_client::vars::CONSUMER_KEY,
                    xdm_client::vars::CONSUMER_SECRET,
                    xdm_client::vars::ACCESS_TOKEN,
                    xdm_client::vars::ACCESS_TOKEN_SECRET,
                    xdm_client::vars::OAUTH2_ACCESS_TOKEN,
                ),
            ));
        }
        Err(ResolveError::Config(e @ ConfigError::Invalid { .. })) => {
            return Err(Failure::new(Kind::Input, e.to_string()));
        }
        Err(ResolveError::Config(e)) => return Err(Failure::new(Kind::Auth, e.to_string())),
        Err(ResolveError::SavedLogin(
            e @ (xdm_hyper::FileStoreError::Corrupt { .. }
            | xdm_hyper::FileStoreError::UnsupportedVersion { .. }),
        )) => {
            return Err(Failure::new(
                Kind::Local,
                format!("{e}; run `xdm login` again"),
            ));
        }
        Err(e) => return Err(Failure::new(Kind::Local, e.to_string())),
    };
    if let Some(store) = &resolved.store {
        if store.is_open_to_others() {
            eprintln!(
                "warning: {} can be read by other users; restrict it to yourself \
                 (chmod 600 {})",
                store.path().display(),
                store.path().display()
            );
        }
        if store.keeps_environment_token()
            && let Credentials::OAuth2(manager) = &resolved.config.credentials
        {
            let path = store.path().to_owned();
            manager.on_rotate(move |_| {
                eprintln!(
                    "note: the OAuth 2.0 token was refreshed; {} is spent, and the new pair \
                     is saved in {} (used from now on while the variable holds the spent one)",
                    xdm_client::vars::OAUTH2_REFRESH_TOKEN,
                    path.display()
                );
            });
        }
    }
    Ok((resolved.config, resolved.store))
}
