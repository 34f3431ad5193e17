//! Shared helpers of the examples: a client from the environment, or an in-process emulator
//! when the environment names no server.

use xdm::BaseUrl;
use xdm::emulator::Emulator;
use xdm::ids::UserId;
use xdm::{Config, Credentials};

/// A client, and the emulator it talks to when it runs against one (kept alive with it).
pub struct Connection {
    /// The client.
    pub client: xdm::Client,
    /// The in-process emulator, when no server was configured.
    pub emulator: Option<Emulator>,
}

/// Whether the environment configures a server or credentials.
pub fn environment_is_set() -> bool {
    [xdm::vars::BASE_URL, xdm::vars::OAUTH2_ACCESS_TOKEN]
        .iter()
        .chain(xdm::vars::OAUTH1.iter())
        .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
}

/// Connects as the environment says, or starts the emulator (with its demo world of
/// `events` events) and signs in to it with OAuth 1.0a.
pub async fn connect(events: usize) -> Result<Connection, Box<dyn std::error::Error>> {
    if environment_is_set() {
        return Ok(Connection {
            client: xdm::Client::from_env()?,
            emulator: None,
        });
    }
    let emulator = Emulator::builder().seed_events(events).start().await?;
    let c = &emulator.credentials().oauth1;
    let config = Config::new(Credentials::oauth1(
        &c.consumer_key,
        &c.consumer_secret,
        &c.access_token,
        &c.access_token_secret,
    ))
    .with_base_url(BaseUrl::parse(emulator.base_url())?)
    .with_user_id(UserId::parse(&c.user_id)?);
    let client = xdm::builder().config(config).build()?;
    Ok(Connection {
        client,
        emulator: Some(emulator),
    })
}
