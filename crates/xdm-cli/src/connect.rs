//! Building the client a command talks through: where to (flag, variable, or an in-process
//! emulator) and as whom (the X_* variables, else the token `xdm login` saved).

use std::time::SystemTime;

use xdm_auth::oauth2::{
    FileTokenStore, LockedRefresh, OAuth2Client, TokenAction, TokenManager, TokenStore,
};
use xdm_client::{Config, ConfigError, Credentials, RateLimitPolicy};
use xdm_core::BaseUrl;
use xdm_hyper::{HyperTransport, SetupError};

use crate::cli::Global;
use crate::config::{self, SavedClient};
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

/// The API root: `--base-url`, else `X_API_BASE_URL`, else X's.
pub fn base_url(global: &Global) -> Result<BaseUrl, Failure> {
    let from_env = std::env::var(xdm_client::vars::BASE_URL)
        .ok()
        .filter(|v| !v.trim().is_empty());
    match global.base_url.as_deref().or(from_env.as_deref()) {
        Some(url) => BaseUrl::parse(url.trim()).map_err(Failure::from),
        None => Ok(BaseUrl::x_api()),
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
        // Refreshes after a 401 mid-run then happen under the file's lock too, so that two
        // `xdm` processes sharing the saved login never both spend the refresh token.
        builder = builder.token_file(store);
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

async fn from_env_or_login(base: BaseUrl) -> Result<(Config, Option<FileTokenStore>), Failure> {
    let base_str = base.as_str().to_owned();
    let got = Config::from_vars(|name| {
        if name == xdm_client::vars::BASE_URL {
            Some(base_str.clone())
        } else {
            std::env::var(name).ok()
        }
    });
    match got {
        Ok(config) => Ok((config, None)),
        Err(ConfigError::NoCredentials) => saved_login(base).await,
        Err(e) => Err(Failure::new(Kind::Auth, e.to_string())),
    }
}

/// The token `xdm login` saved, refreshed through the same file when it expires.
async fn saved_login(base: BaseUrl) -> Result<(Config, Option<FileTokenStore>), Failure> {
    let dir = config::config_dir()?;
    let store = FileTokenStore::new(config::token_path(&dir));
    let token = store
        .load()
        .map_err(|e| Failure::new(Kind::Auth, e.to_string()))?;
    let (Some(token), Some(client)) = (token, config::load_client(&dir)?) else {
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
    };
    let oauth = oauth_client(&client, "", &base);
    let manager = TokenManager::new(oauth, token);
    refresh_if_due(&manager, &store).await?;
    let config = Config::new(Credentials::oauth2(manager)).with_base_url(base);
    Ok((config, Some(store)))
}

/// Refreshes an expiring saved token before the first request, under the token file's lock.
///
/// X's refresh tokens are single-use: two `xdm` processes refreshing the same token would
/// lock one of them out. Under the lock, the file is read again first, so a process that
/// finds the token already rotated by another takes that one instead of refreshing. Later
/// refreshes (a 401 mid-run) follow the same protocol inside the client
/// (`ClientBuilder::token_file`).
async fn refresh_if_due(manager: &TokenManager, store: &FileTokenStore) -> Result<(), Failure> {
    let now = SystemTime::now();
    let TokenAction::Refresh(ticket) = manager.poll_token(now) else {
        return Ok(());
    };
    let locking = store.clone();
    let lock = tokio::task::spawn_blocking(move || locking.lock())
        .await
        .map_err(|e| Failure::new(Kind::Local, format!("could not lock the token file: {e}")))?
        .map_err(|e| Failure::new(Kind::Local, e.to_string()))?;
    let ticket = match lock
        .begin_refresh(ticket, now)
        .map_err(|e| Failure::new(Kind::Local, e.to_string()))?
    {
        LockedRefresh::Send(ticket) => ticket,
        _ => return Ok(()),
    };
    let response = transport()?.send(ticket.request()).await.map_err(|e| {
        Failure::new(
            Kind::Network,
            format!("could not refresh the saved token: {e}"),
        )
    })?;
    lock.finish_refresh(ticket, &response, SystemTime::now())
        .map_err(|e| {
            Failure::new(
                Kind::Auth,
                format!("the saved token could not be refreshed ({e}); run `xdm login` again"),
            )
        })?;
    Ok(())
}

/// The OAuth 2.0 client of a saved app, sending token requests to `base`.
pub fn oauth_client(client: &SavedClient, redirect_uri: &str, base: &BaseUrl) -> OAuth2Client {
    let oauth = match &client.client_secret {
        Some(secret) => {
            OAuth2Client::confidential(client.client_id.clone(), secret.clone(), redirect_uri)
        }
        None => OAuth2Client::public(client.client_id.clone(), redirect_uri),
    };
    oauth.with_api_base_url(base.clone())
}
