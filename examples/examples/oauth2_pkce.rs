//! OAuth 2.0 Authorization Code with PKCE against the emulator, then a DM call with the token.
//!
//! ```text
//! cargo run --example oauth2_pkce
//! ```
//!
//! The emulator's authorize page approves at once and redirects to the callback URL, which
//! stands in for the user's browser here: the example follows the redirect itself.
#![allow(clippy::print_stdout)]

use std::time::SystemTime;

use bytes::Bytes;
use xdm::auth::oauth2::{OAuth2Client, TokenManager};
use xdm::emulator::Emulator;
use xdm::endpoints::ListParams;
use xdm::transport::HyperTransport;
use xdm::{BaseUrl, Scope};
use xdm::{Config, Credentials};

const CALLBACK: &str = "http://127.0.0.1:8765/callback";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::builder().seed_events(20).start().await?;
    let base = BaseUrl::parse(emulator.base_url())?;
    let app = &emulator.credentials().oauth2;
    let oauth =
        OAuth2Client::confidential(app.client_id.clone(), app.client_secret.clone(), CALLBACK)
            .with_api_base_url(base.clone())
            .with_authorize_url(BaseUrl::parse(&format!(
                "{}/i/oauth2/authorize",
                emulator.base_url()
            ))?);

    // 1. Send the user to the authorization page, with a PKCE challenge and a state.
    let scopes = [
        Scope::DmRead,
        Scope::DmWrite,
        Scope::TweetRead,
        Scope::UsersRead,
        Scope::OfflineAccess,
    ];
    let pending = oauth.authorize(&scopes)?;
    println!(
        "1. authorization URL: {}...",
        &pending.url()[..60.min(pending.url().len())]
    );

    // 2. The user approves; the browser is redirected to the callback with a code.
    let transport = HyperTransport::builder().build()?;
    let consent = transport
        .send(http::Request::get(pending.url()).body(Bytes::new())?)
        .await?;
    let redirect = consent
        .headers()
        .get(http::header::LOCATION)
        .ok_or("the authorize page did not redirect")?
        .to_str()?;
    let code = pending.handle_callback(redirect)?;
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
        .list_events(ListParams::new().with_max_results(5)?)
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
    emulator.shutdown().await;
    Ok(())
}
