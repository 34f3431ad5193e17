//! Starting an emulator and a client that talks to it.

use std::time::Duration;

use xdm_auth::oauth2::{OAuth2Client, TokenManager, UserToken};
use xdm_client::{Config, Credentials};
use xdm_core::BaseUrl;
use xdm_core::ids::UserId;
use xdm_emulator::{Emulator, EmulatorBuilder};
use xdm_hyper::{Builder, Client, HttpVersion};

/// Which credentials a client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    OAuth1,
    OAuth2,
}

pub(crate) async fn emulator(builder: EmulatorBuilder) -> Emulator {
    builder.start().await.expect("the emulator starts")
}

pub(crate) fn config(emu: &Emulator, scheme: Scheme) -> Config {
    let base = BaseUrl::parse(emu.base_url()).unwrap();
    let c = emu.credentials();
    match scheme {
        Scheme::OAuth1 => Config::new(Credentials::oauth1(
            &c.oauth1.consumer_key,
            &c.oauth1.consumer_secret,
            &c.oauth1.access_token,
            &c.oauth1.access_token_secret,
        ))
        .with_base_url(base),
        Scheme::OAuth2 => {
            let token = UserToken::new(c.oauth2.access_token.clone(), std::time::SystemTime::now())
                .with_refresh_token(c.oauth2.refresh_token.clone());
            let oauth = OAuth2Client::confidential(
                c.oauth2.client_id.clone(),
                c.oauth2.client_secret.clone(),
                "",
            )
            .with_api_base_url(base.clone());
            Config::new(Credentials::oauth2(TokenManager::new(oauth, token)))
                .with_base_url(base)
                .with_user_id(UserId::parse(&c.oauth2.user_id).unwrap())
        }
    }
}

pub(crate) fn builder(emu: &Emulator, scheme: Scheme) -> Builder {
    let mut builder = xdm_hyper::builder()
        .config(config(emu, scheme))
        .transport(|t| t.request_timeout(Duration::from_secs(5)))
        .retry_policy(fast_retries());
    if let Some(pem) = emu.certificate_pem() {
        builder = builder.add_root_certificates_pem(pem);
    }
    builder
}

pub(crate) fn client(emu: &Emulator, scheme: Scheme) -> Client {
    builder(emu, scheme).build().expect("the client builds")
}

pub(crate) fn client_with(emu: &Emulator, scheme: Scheme, version: HttpVersion) -> Client {
    builder(emu, scheme)
        .http_version(version)
        .build()
        .expect("the client builds")
}

/// Retries with short backoffs, so fault tests stay fast.
pub(crate) fn fast_retries() -> xdm_core::retry::RetryPolicy {
    let mut policy = xdm_core::retry::RetryPolicy::default();
    (policy.base_backoff, policy.max_backoff) =
        (Duration::from_millis(20), Duration::from_millis(200));
    policy
}

/// The id of the n-th seeded user (0 is the authenticated one).
pub(crate) fn user(emu: &Emulator, n: usize) -> UserId {
    UserId::parse(&emu.handle().users()[n].id).unwrap()
}
