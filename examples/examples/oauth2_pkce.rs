//! OAuth 2.0 Authorization Code with PKCE, then a DM call with the token.
//!
//! ```text
//! cargo run --example oauth2_pkce
//! ```
//!
//! With no `X_CLIENT_ID` set it runs against an in-process emulator, whose authorize page
//! approves at once and redirects to the callback URL; the example follows the redirect itself,
//! standing in for the user's browser.
//!
//! Against X, set `X_CLIENT_ID` (and `X_CLIENT_SECRET` for a confidential client) and
//! `X_REDIRECT_URI` to the callback registered for the app, whatever it is (X's DM quick start
//! uses `https://www.example.com`; `http://127.0.0.1:8765/callback` when unset). The example
//! prints the authorization URL; open it, approve, and paste the address the browser was sent
//! to (the page itself need not load).
#![allow(clippy::print_stdout)]

use std::time::SystemTime;

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, BufReader};
use xdm::auth::oauth2::{OAuth2Client, PendingAuthorization, TokenManager};
use xdm::auth::secret::AuthorizationCode;
use xdm::emulator::Emulator;
use xdm::endpoints::ListParams;
use xdm::transport::HyperTransport;
use xdm::{BaseUrl, Scope};
use xdm::{Config, Credentials};

const CALLBACK: &str = "http://127.0.0.1:8765/callback";

const SCOPES: [Scope; 5] = [
    Scope::DmRead,
    Scope::DmWrite,
    Scope::TweetRead,
    Scope::UsersRead,
    Scope::OfflineAccess,
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let transport = HyperTransport::builder().build()?;
    let mut emulator = None;
    let (oauth, base) = match env(xdm::vars::CLIENT_ID) {
        Some(client_id) => {
            let base = match env(xdm::vars::BASE_URL) {
                Some(url) => BaseUrl::parse(&url)?,
                None => BaseUrl::x_api(),
            };
            let redirect = env("X_REDIRECT_URI").unwrap_or_else(|| CALLBACK.to_owned());
            let oauth = match env(xdm::vars::CLIENT_SECRET) {
                Some(secret) => OAuth2Client::confidential(client_id, secret, redirect),
                None => OAuth2Client::public(client_id, redirect),
            };
            (oauth.with_api_base_url(base.clone()), base)
        }
        None => {
            let emu = Emulator::builder().seed_events(20).start().await?;
            let base = BaseUrl::parse(emu.base_url())?;
            let app = &emu.credentials().oauth2;
            let oauth = OAuth2Client::confidential(
                app.client_id.clone(),
                app.client_secret.clone(),
                CALLBACK,
            )
            .with_api_base_url(base.clone())
            .with_authorize_url(BaseUrl::parse(&format!(
                "{}/i/oauth2/authorize",
                emu.base_url()
            ))?);
            emulator = Some(emu);
            (oauth, base)
        }
    };

    // 1. Send the user to the authorization page, with a PKCE challenge and a state.
    let pending = oauth.authorize(&SCOPES)?;

    // 2. The user approves; the browser is redirected to the callback with a code.
    let code = if emulator.is_some() {
        println!(
            "1. authorization URL: {}...",
            &pending.url()[..60.min(pending.url().len())]
        );
        let consent = transport
            .send(http::Request::get(pending.url()).body(Bytes::new())?)
            .await?;
        let redirect = consent
            .headers()
            .get(http::header::LOCATION)
            .ok_or("the authorize page did not redirect")?
            .to_str()?;
        pending.handle_callback(redirect)?
    } else {
        println!(
            "1. open this URL in a browser and approve:\n\n   {}\n",
            pending.url()
        );
        pasted_code(&pending).await?
    };
    println!("2. redirected to the callback with a code (state checked)");

    // 3. Exchange the code and the PKCE verifier for tokens.
    let exchange = oauth.exchange_code_request(&code, pending.verifier());
    let answer = transport.send(exchange).await?;
    let token = oauth.parse_token_response(&answer, SystemTime::now())?;
    println!(
        "3. got an access token (expires {:?}, refresh token: {})",
        token.expires_at(),
        token.refresh_token().is_some()
    );

    // 4. Use it: the manager refreshes it when it expires.
    let config =
        Config::new(Credentials::oauth2(TokenManager::new(oauth, token))).with_base_url(base);
    let client = xdm::builder().config(config).build()?;
    let page = client
        .list_events_with(ListParams::new().with_max_results(5)?)
        .next_page()
        .await
        .ok_or("no page")??;
    println!(
        "4. listed {} DM events with the new token:",
        page.items().len()
    );
    for event in page.items() {
        println!(
            "   {} {}",
            event.id.as_deref().unwrap_or("?"),
            event.text.as_deref().unwrap_or("")
        );
    }
    if let Some(emulator) = emulator {
        emulator.shutdown().await;
    }
    Ok(())
}

/// Reads pasted addresses from standard input until one is the redirect of this
/// authorization (a forged or stale `state` is refused), whatever the callback is.
async fn pasted_code(
    pending: &PendingAuthorization,
) -> Result<AuthorizationCode, Box<dyn std::error::Error>> {
    println!("   Then paste the address the browser was sent to, and press Enter:");
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        if line.trim().is_empty() {
            continue;
        }
        match pending.handle_callback(line.trim()) {
            Ok(code) => return Ok(code),
            Err(e @ xdm::auth::CallbackError::Denied { .. }) => return Err(e.into()),
            Err(e) => println!("   not the redirect of this authorization ({e}); paste it again:"),
        }
    }
    Err("standard input ended before the redirected address was pasted".into())
}
