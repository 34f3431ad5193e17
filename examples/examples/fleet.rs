//! A worker of a fleet: many accounts served from one process, sharing token refreshes, rate
//! limits and checkpoints with every other worker through one Redis.
//!
//! Start a Redis (`redis-server --port 6379`), then run as many of these as you like, on as
//! many machines:
//!
//! ```text
//! XDM_REDIS_URL=redis://127.0.0.1:6379/ cargo run --example fleet
//! ```
//!
//! With `X_API_BASE_URL` set (an emulator started with `xdm-emulator`, say), the worker
//! serves the accounts named in `XDM_FLEET_ACCOUNTS` (comma separated), whose tokens an
//! onboarding step stored in Redis (`fleet.token_store(&account).save(&token)` after each
//! authorization), refreshing through the OAuth 2.0 client `X_OAUTH2_CLIENT_ID`. Without it,
//! the worker starts an emulator in-process and onboards three of its users itself.
#![allow(clippy::print_stdout)]

use std::time::Duration;

use xdm::BaseUrl;
use xdm::auth::oauth2::{OAuth2Client, UserToken};
use xdm::emulator::{Emulator, RateLimits};
use xdm::endpoints::ListEvents;
use xdm::redis::{AccountId, Fleet, Redis};
use xdm::transport::{HyperTransport, TokioClock};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let redis_url =
        std::env::var("XDM_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned());
    // A wrong or unreachable URL stops the worker here, before any request.
    let redis = Redis::connect(&redis_url).await?;

    let mut emulator = None;
    let (base_url, client_id, accounts) = match std::env::var("X_API_BASE_URL") {
        Ok(url) => {
            let client_id = std::env::var("X_OAUTH2_CLIENT_ID")
                .map_err(|_| "set X_OAUTH2_CLIENT_ID, the app's OAuth 2.0 client id")?;
            let accounts = std::env::var("XDM_FLEET_ACCOUNTS")
                .map_err(|_| "set XDM_FLEET_ACCOUNTS to the accounts to serve, comma separated")?
                .split(',')
                .map(|a| AccountId::new(a.trim()))
                .collect::<Result<Vec<_>, _>>()?;
            (url, client_id, accounts)
        }
        Err(_) => {
            let local = Emulator::builder()
                .rate_limits(RateLimits::default())
                .start()
                .await?;
            println!(
                "No X_API_BASE_URL: serving three users of an emulator at {}",
                local.base_url()
            );
            let url = local.base_url().to_owned();
            let client_id = local.credentials().oauth2.client_id.clone();
            let accounts = local.handle().users()[..3]
                .iter()
                .map(|u| AccountId::new(u.id.clone()))
                .collect::<Result<Vec<_>, _>>()?;
            emulator = Some(local);
            (url, client_id, accounts)
        }
    };
    let base_url = BaseUrl::parse(&base_url)?;
    let oauth = OAuth2Client::public(client_id, "http://127.0.0.1/callback")
        .with_api_base_url(base_url.clone());
    let fleet = Fleet::builder(
        &redis,
        HyperTransport::builder().build()?,
        TokioClock,
        oauth,
    )
    .base_url(base_url)
    .build();

    for account in &accounts {
        // Onboarding, for the in-process emulator: a token per user, stored unless another
        // worker stored (and perhaps already rotated) one before.
        let first = emulator.as_ref().and_then(|e| {
            let scopes = [
                "dm.read",
                "dm.write",
                "tweet.read",
                "users.read",
                "offline.access",
            ];
            let access = e.handle().issue_oauth2_token(account.as_str(), &scopes)?;
            let issued = std::time::SystemTime::now();
            Some(UserToken::new(access, issued).with_expires_at(issued + Duration::from_secs(7200)))
        });
        fleet.add_account(account.clone(), first).await?;
    }

    // Each account's newest page of events, read concurrently; every read is admitted
    // against the fleet's shared budget for its account.
    let mut tasks = tokio::task::JoinSet::new();
    for account in fleet.accounts() {
        let client = fleet.client(&account).expect("added above");
        tasks.spawn(async move {
            let page = client.list_page(&ListEvents::new()).await;
            (account, page.map(|p| p.data.map_or(0, |d| d.len())))
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (account, events) = done?;
        match events {
            Ok(n) => println!("{account}: {n} events on the newest page"),
            Err(error) => println!("{account}: {error}"),
        }
    }

    // An account leaves the fleet at run time; its state stays in Redis for the others.
    if let Some(first) = accounts.first() {
        fleet.remove_account(first);
        println!(
            "serving {} accounts after removing {first}",
            fleet.accounts().len()
        );
    }
    Ok(())
}
