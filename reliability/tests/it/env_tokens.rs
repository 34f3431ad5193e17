//! Tokens from the environment are not lost (issue 11, item 6), through the SDK's own
//! resolution (`xdm_hyper::resolve`, which `xdm_hyper::from_env` and `xdm` share): runs that
//! start from the same `X_OAUTH2_*` variables spend the variable's refresh token once, keep
//! its successor in the saved login, and carry on from there, also once X expires it.

use std::ffi::OsString;
use std::time::Duration;

use xdm_core::endpoints::ListEvents;
use xdm_hyper::{SavedLogin, resolve};

use crate::world::{emulator_on_manual_clock, refresh_requests};

/// One run of a program: resolve the variables (with the saved login in `dir`), build the
/// client the way `from_env` does, list a page.
async fn run(vars: &[(&str, String)], dir: &std::path::Path) -> Result<(), String> {
    let vars: Vec<(String, OsString)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.into()))
        .collect();
    let dir = dir.to_owned();
    let resolved = resolve(
        |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
        move || Ok(SavedLogin::at(dir)),
    )
    .map_err(|e| e.to_string())?;
    let mut builder = xdm_hyper::builder().config(resolved.config);
    if let Some(store) = resolved.store {
        builder = builder.token_store(store);
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    client
        .list_page(&ListEvents::new())
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_from_one_environment_refresh_token_spend_it_once_and_keep_its_successors() {
    let (emu, clock) = emulator_on_manual_clock().await;
    let c = emu.credentials().oauth2.clone();
    let dir = tempfile::Builder::new()
        .prefix("xdm-rel-env-tokens-")
        .tempdir()
        .expect("a temporary directory");
    let config = dir.path().join("xdm");
    let vars = [
        ("X_API_BASE_URL", emu.base_url().to_owned()),
        // X no longer accepts it: the first call is refused and refreshes.
        ("X_OAUTH2_ACCESS_TOKEN", "expired-access-token".to_owned()),
        ("X_OAUTH2_REFRESH_TOKEN", c.refresh_token.clone()),
        ("X_CLIENT_ID", c.client_id.clone()),
        ("X_CLIENT_SECRET", c.client_secret.clone()),
    ];
    for round in 0..3 {
        run(&vars, &config)
            .await
            .unwrap_or_else(|e| panic!("run {round}: {e}"));
    }
    assert_eq!(refresh_requests(&emu), 1, "one refresh for three runs");

    // X's clock passes the saved successor's two hours: the next run is refused, refreshes
    // with the successor's refresh token (the variable's is long spent), and goes on.
    clock.advance(Duration::from_secs(3 * 3600));
    run(&vars, &config)
        .await
        .expect("the successor is refreshed");
    assert_eq!(refresh_requests(&emu), 2);

    // With only the API root in the environment, the saved login carries on alone.
    run(&vars[..1], &config).await.expect("the saved login");
    assert_eq!(refresh_requests(&emu), 2);

    // A spent refresh token in the variable and no saved successor: the error says to
    // authorize again.
    let elsewhere = dir.path().join("other");
    let e = run(&vars, &elsewhere).await.unwrap_err();
    assert!(e.contains("authorize the app again"), "{e}");
    assert!(!e.contains(&c.refresh_token), "{e}");
    emu.shutdown().await;
}
