//! Resolving the environment with the saved login as a fallback, and the successors of an
//! environment refresh token kept there.

use std::ffi::OsString;
use std::time::{Duration, SystemTime};

use xdm_auth::oauth2::UserToken;
use xdm_client::{ConfigError, Credentials, TokenStore};
use xdm_hyper::{
    FileStoreError, NoConfigDir, ResolveError, Resolved, SavedClient, SavedLogin, resolve,
};

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + use<> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.into())
}

fn saved_token(access: &str, refresh: &str) -> UserToken {
    let now = SystemTime::now();
    UserToken::new(access, now)
        .with_refresh_token(refresh)
        .with_expires_at(now + Duration::from_secs(7200))
}

fn access_token(resolved: &Resolved) -> String {
    match &resolved.config.credentials {
        Credentials::OAuth2(m) => m.token().access_token().expose_secret().to_owned(),
        other => panic!("{other:?}"),
    }
}

fn dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("xdm-hyper-login-")
        .tempdir()
        .unwrap()
}

const REFRESHABLE: [(&str, &str); 4] = [
    ("X_OAUTH2_ACCESS_TOKEN", "AT-env"),
    ("X_OAUTH2_REFRESH_TOKEN", "RT-env"),
    ("X_CLIENT_ID", "client-id"),
    ("X_CLIENT_SECRET", "client-secret"),
];

#[test]
fn with_no_variable_the_saved_login_is_used() {
    let d = dir();
    let login = SavedLogin::at(d.path());
    let none = resolve(vars(&[]), || Ok(login.clone())).unwrap_err();
    assert!(
        matches!(none, ResolveError::Config(ConfigError::NoCredentials)),
        "{none:?}"
    );

    // Half a login (a token, no client) is no login.
    login
        .token_store()
        .save_blocking(&saved_token("AT-saved", "RT-saved"))
        .unwrap();
    let half = resolve(vars(&[]), || Ok(login.clone())).unwrap_err();
    assert!(
        matches!(half, ResolveError::Config(ConfigError::NoCredentials)),
        "{half:?}"
    );

    login
        .save_client(&SavedClient::new("client-id", None))
        .unwrap();
    let resolved = resolve(vars(&[("X_API_BASE_URL", "http://127.0.0.1:9")]), || {
        Ok(login.clone())
    })
    .unwrap();
    assert_eq!(access_token(&resolved), "AT-saved");
    assert_eq!(resolved.config.base_url.as_str(), "http://127.0.0.1:9");
    let store = resolved.store.expect("the saved login's store");
    assert_eq!(store.path(), d.path().join("token.json"));
    assert!(!store.keeps_environment_token());
}

#[test]
fn a_damaged_saved_login_or_no_directory_is_an_error() {
    let d = dir();
    let login = SavedLogin::at(d.path());
    std::fs::write(login.client_path(), b"{").unwrap();
    login
        .token_store()
        .save_blocking(&saved_token("AT-saved", "RT-saved"))
        .unwrap();
    let e = resolve(vars(&[]), || Ok(login.clone())).unwrap_err();
    assert!(
        matches!(e, ResolveError::SavedLogin(FileStoreError::Corrupt { .. })),
        "{e:?}"
    );
    let e = resolve(vars(&[]), || Err(NoConfigDir)).unwrap_err();
    assert!(matches!(e, ResolveError::NoConfigDir(_)), "{e:?}");
    assert!(e.to_string().contains("XDM_CONFIG_DIR"), "{e}");
    // An unusable variable is an error of its own, never a reason to fall back.
    let e = resolve(vars(&[("X_CLIENT_ID", " ")]), || Ok(login.clone())).unwrap_err();
    assert!(
        matches!(
            e,
            ResolveError::Config(ConfigError::Invalid {
                variable: "X_CLIENT_ID",
                ..
            })
        ),
        "{e:?}"
    );
}

#[test]
fn tokens_that_cannot_be_refreshed_need_no_store() {
    let d = dir();
    let login = SavedLogin::at(d.path());
    for pairs in [
        vec![
            ("X_CONSUMER_KEY", "ck"),
            ("X_CONSUMER_SECRET", "cs"),
            ("X_ACCESS_TOKEN", "1-at"),
            ("X_ACCESS_TOKEN_SECRET", "ats"),
        ],
        vec![("X_OAUTH2_ACCESS_TOKEN", "AT-env")],
    ] {
        let resolved = resolve(vars(&pairs), || Ok(login.clone())).unwrap();
        assert!(resolved.store.is_none());
    }
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn an_environment_refresh_tokens_successor_is_saved_and_takes_over_while_it_is_spent() {
    let d = dir();
    let login = SavedLogin::at(d.path().join("xdm"));
    // An earlier `xdm login` of another app.
    let resolved = resolve(vars(&REFRESHABLE), || Ok(login.clone())).unwrap();
    assert_eq!(access_token(&resolved), "AT-env");
    let store = resolved.store.expect("a store to keep the successor in");
    assert!(store.keeps_environment_token());
    assert!(
        login.dir().is_dir(),
        "the directory is made for the first save"
    );

    // A refresh saves the successor and the app beside it.
    store
        .save(&saved_token("AT-next", "RT-next"))
        .await
        .unwrap();
    assert_eq!(
        login.load_client().unwrap(),
        Some(SavedClient::new("client-id", Some("client-secret".into())))
    );
    let raw = std::fs::read_to_string(store.path()).unwrap();
    assert!(!raw.contains("RT-env"), "{raw}");

    // The next run, with the same (spent) variable: the saved successor wins.
    let again = resolve(vars(&REFRESHABLE), || Ok(login.clone())).unwrap();
    assert_eq!(access_token(&again), "AT-next");

    // A refresh without the environment (the saved login refreshing alone, under the lock)
    // keeps the mark.
    let lock = login.token_store().try_lock().await.unwrap().unwrap();
    lock.save(&saved_token("AT-later", "RT-later"))
        .await
        .unwrap();
    lock.release().await.unwrap();
    let later = resolve(vars(&REFRESHABLE), || Ok(login.clone())).unwrap();
    assert_eq!(access_token(&later), "AT-later");

    // A new login replaces the chain: the variable's token is used again.
    login
        .token_store()
        .save(&saved_token("AT-login", "RT-login"))
        .await
        .unwrap();
    let relogged = resolve(vars(&REFRESHABLE), || Ok(login.clone())).unwrap();
    assert_eq!(access_token(&relogged), "AT-env");
    // (and the saved login alone still finds the new login)
    let alone = resolve(vars(&[]), || Ok(login.clone())).unwrap();
    assert_eq!(access_token(&alone), "AT-login");

    // A new refresh token in the variable wins over what was saved for the old one.
    let mut fresh = REFRESHABLE.to_vec();
    fresh[1] = ("X_OAUTH2_REFRESH_TOKEN", "RT-env-new");
    fresh[0] = ("X_OAUTH2_ACCESS_TOKEN", "AT-env-new");
    let renewed = resolve(vars(&fresh), || Ok(login.clone())).unwrap();
    assert_eq!(access_token(&renewed), "AT-env-new");
}
