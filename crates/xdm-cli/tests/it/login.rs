//! `login` against the emulator's auto-approving authorize page, with the test as the
//! browser; then the saved token in use, refreshed, and `logout`.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use xdm_emulator::Emulator;

use crate::common::{Emu, Running, fails, http_get, ok, run, spawn, wait_exit, wait_line};

/// Starts `xdm login` for `client_id` with `extra` arguments, without a browser, and returns
/// it with the authorize URL it printed.
fn start_login(cmd: std::process::Command, client_id: &str, extra: &[&str]) -> (Running, String) {
    let mut args = vec!["login", "--client-id", client_id];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--no-browser", "--timeout", "30"]);
    let login = spawn(cmd, &args);
    let url = wait_line(&login.stderr, Duration::from_secs(15), |l| {
        l.trim_start().starts_with("http://")
    })
    .expect("the authorize URL is printed")
    .trim()
    .to_owned();
    (login, url)
}

#[test]
fn login_saves_a_private_token_that_later_commands_use_and_logout_revokes() {
    let emu = Emu::start();
    let client_id = emu.emulator().credentials().oauth2.client_id.clone();
    let (mut login, url) = start_login(emu.bare(), &client_id, &[]);
    assert!(
        url.starts_with(&format!("{}/i/oauth2/authorize?", emu.url())),
        "{url}"
    );
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    let waiting = wait_line(&login.stderr, Duration::from_secs(5), |l| {
        l.starts_with("Waiting")
    })
    .expect("the redirect address is printed");
    let callback = waiting
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap()
        .to_owned();

    // Stray and forged requests do not end the login.
    assert_eq!(http_get(&format!("{callback}/../favicon.ico")).0, 404);
    assert_eq!(http_get(&format!("{callback}?state=forged&code=x")).0, 400);

    // The browser: the authorize page redirects to the CLI's listener.
    let (status, headers) = http_get(&url);
    assert_eq!(status, 302);
    let location = headers
        .iter()
        .find(|(k, _)| k == "location")
        .map(|(_, v)| v.clone())
        .expect("a redirect");
    assert!(location.starts_with(&callback), "{location}");
    assert_eq!(http_get(&location).0, 200);

    assert_eq!(wait_exit(&mut login.child, Duration::from_secs(15)), 0);
    let said: Vec<String> = login.stdout.try_iter().collect();
    assert!(said.iter().any(|l| l.starts_with("Logged in")), "{said:?}");

    let token_file = emu.config_dir.join("token.json");
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&token_file).unwrap()).unwrap();
    let token = saved["access_token"]
        .as_str()
        .expect("an access token in the file")
        .to_owned();
    assert!(
        saved["refresh_token"].is_string(),
        "offline.access gave a refresh token"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the token file is the owner's alone");
    }
    let printed: String = said.join("\n") + &login.stderr.try_iter().collect::<Vec<_>>().join("\n");
    assert!(!printed.contains(&token), "the token is never printed");

    // No X_* variable: the saved token is used.
    let listed = ok(emu.bare(), &["--json", "events", "--limit", "2"]);
    assert_eq!(listed.json_lines().len(), 2);

    // Once it has expired, it is refreshed and the new one is saved in its place.
    let mut expired = saved.clone();
    expired["expires_at_ms"] = 1_000u64.into();
    std::fs::write(&token_file, expired.to_string()).unwrap();
    ok(emu.bare(), &["events", "--limit", "1"]);
    let rotated: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&token_file).unwrap()).unwrap();
    assert_ne!(
        rotated["access_token"], saved["access_token"],
        "a new token"
    );
    assert_ne!(
        rotated["refresh_token"], saved["refresh_token"],
        "a new refresh token"
    );
    let token = rotated["access_token"].as_str().unwrap().to_owned();

    let out = ok(emu.bare(), &["logout"]);
    assert!(out.stdout.contains("Logged out"), "{}", out.stdout);
    assert!(!token_file.exists());
    let revoked = run(emu.as_token(&token), &["events", "--limit", "1"]);
    assert_eq!(
        revoked.code, 3,
        "the token was revoked at X: {}",
        revoked.stderr
    );
    let none = run(emu.bare(), &["events"]);
    assert_eq!(none.code, 3);
    let again = ok(emu.bare(), &["logout"]);
    assert!(again.stdout.contains("Not logged in"), "{}", again.stdout);
}

#[test]
fn login_with_a_registered_web_callback_takes_the_pasted_redirect() {
    // The app registered only X's quick-start callback, which nothing on this machine serves.
    let emu = Emu::with(Emulator::builder().redirect_uris(["https://www.example.com"]));
    let client_id = emu.emulator().credentials().oauth2.client_id.clone();
    let mut cmd = emu.bare();
    cmd.stdin(Stdio::piped());
    let (mut login, url) = start_login(
        cmd,
        &client_id,
        &["--redirect-uri", "https://www.example.com"],
    );
    assert!(
        url.contains("redirect_uri=https%3A%2F%2Fwww.example.com"),
        "{url}"
    );
    wait_line(&login.stderr, Duration::from_secs(5), |l| {
        l.contains("Paste the whole address")
    })
    .expect("the user is asked to paste the address");

    // The browser: the authorize page sends it to the registered page.
    let (status, headers) = http_get(&url);
    assert_eq!(status, 302);
    let location = headers
        .iter()
        .find(|(k, _)| k == "location")
        .map(|(_, v)| v.clone())
        .expect("a redirect");
    assert!(
        location.starts_with("https://www.example.com"),
        "{location}"
    );

    let mut stdin = login.child.stdin.take().expect("piped");
    writeln!(
        stdin,
        "https://www.example.com/?state=forged&code=secret-looking"
    )
    .unwrap();
    wait_line(&login.stderr, Duration::from_secs(5), |l| {
        l.contains("not the address the browser was sent back to")
    })
    .expect("a wrong paste is refused and asked again");
    writeln!(stdin, "{location}").unwrap();
    drop(stdin);

    assert_eq!(wait_exit(&mut login.child, Duration::from_secs(15)), 0);
    let said: Vec<String> = login.stdout.try_iter().collect();
    assert!(said.iter().any(|l| l.starts_with("Logged in")), "{said:?}");
    let errors: Vec<String> = login.stderr.try_iter().collect();
    assert!(
        !errors.iter().any(|l| l.contains("secret-looking")),
        "a pasted line is never echoed: {errors:?}"
    );
    let listed = ok(emu.bare(), &["--json", "events", "--limit", "1"]);
    assert_eq!(listed.json_lines().len(), 1, "the saved token works");
}

#[test]
fn login_with_a_registered_loopback_callback_listens_on_it() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let registered = format!("http://127.0.0.1:{port}/oauth/done");
    let emu = Emu::with(Emulator::builder().redirect_uris([registered.clone()]));
    let client_id = emu.emulator().credentials().oauth2.client_id.clone();
    let (mut login, url) = start_login(emu.bare(), &client_id, &["--redirect-uri", &registered]);
    wait_line(&login.stderr, Duration::from_secs(5), |l| {
        l.starts_with("Waiting") && l.contains(&registered)
    })
    .expect("it listens on the registered callback");
    // The default path is not ours here.
    assert_eq!(
        http_get(&format!("http://127.0.0.1:{port}/callback")).0,
        404
    );
    let (status, headers) = http_get(&url);
    assert_eq!(status, 302);
    let location = headers
        .iter()
        .find(|(k, _)| k == "location")
        .map(|(_, v)| v.clone())
        .expect("a redirect");
    assert!(location.starts_with(&registered), "{location}");
    assert_eq!(http_get(&location).0, 200);
    assert_eq!(wait_exit(&mut login.child, Duration::from_secs(15)), 0);
    assert!(emu.config_dir.join("token.json").exists());
}

#[test]
fn a_redirect_uri_that_cannot_be_a_callback_is_refused_before_any_request() {
    let emu = Emu::start();
    let ran = run(
        emu.bare(),
        &[
            "login",
            "--client-id",
            "abc",
            "--redirect-uri",
            "www.example.com",
            "--no-browser",
        ],
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("redirect_uri"), "{}", ran.stderr);
    assert_eq!(emu.api_requests(), 0);
}

#[test]
fn a_login_nobody_completes_times_out_as_an_auth_failure() {
    let emu = Emu::start();
    fails(
        emu.bare(),
        &[
            "login",
            "--client-id",
            "abc",
            "--no-browser",
            "--timeout",
            "1",
        ],
        3,
        "no authorization arrived",
    );
    let emulated = run(emu.bare(), &["--emulator", "login", "--client-id", "abc"]);
    assert_eq!(emulated.code, 2);
}

#[test]
fn a_refused_authorization_ends_the_login_as_an_auth_failure() {
    let emu = Emu::start();
    let client_id = emu.emulator().credentials().oauth2.client_id.clone();
    let (mut login, url) = start_login(emu.bare(), &client_id, &[]);
    let param = |name: &str| {
        url.split(['?', '&'])
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .expect("in the URL")
            .to_owned()
    };
    let callback = param("redirect_uri")
        .replace("%3A", ":")
        .replace("%2F", "/");
    let state = param("state");
    // What X sends the browser back with when the user clicks Cancel.
    let denied = format!("{callback}?error=access_denied&state={state}");
    assert_eq!(http_get(&denied).0, 200);
    assert_eq!(wait_exit(&mut login.child, Duration::from_secs(15)), 3);
    let said: Vec<String> = login.stderr.try_iter().collect();
    assert!(said.iter().any(|l| l.contains("refused")), "{said:?}");
    assert!(!emu.config_dir.join("token.json").exists());
}

#[test]
fn logout_forgets_the_token_even_when_x_cannot_be_reached() {
    let emu = Emu::start();
    std::fs::write(
        emu.config_dir.join("token.json"),
        r#"{"version":1,"access_token":"AT","refresh_token":"RT","issued_at_ms":1}"#,
    )
    .unwrap();
    std::fs::write(emu.config_dir.join("client.json"), r#"{"client_id":"abc"}"#).unwrap();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_xdm"));
    cmd.env_clear()
        .env("XDM_CONFIG_DIR", &emu.config_dir)
        .env("X_API_BASE_URL", format!("http://127.0.0.1:{closed}"));
    let ran = run(cmd, &["logout"]);
    assert_eq!(ran.code, 6, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("forgotten all the same"),
        "{}",
        ran.stderr
    );
    assert!(!emu.config_dir.join("token.json").exists());
    assert!(!emu.config_dir.join("client.json").exists());
    assert!(!ran.stderr.contains("RT") && !ran.stdout.contains("AT"));
}

#[test]
fn a_saved_token_that_cannot_be_refreshed_asks_for_a_new_login() {
    let emu = Emu::start();
    let client_id = emu.emulator().credentials().oauth2.client_id.clone();
    std::fs::write(
        emu.config_dir.join("token.json"),
        r#"{"version":1,"access_token":"AT","refresh_token":"spent","expires_at_ms":1000,"issued_at_ms":1}"#,
    )
    .unwrap();
    std::fs::write(
        emu.config_dir.join("client.json"),
        format!(r#"{{"client_id":"{client_id}"}}"#),
    )
    .unwrap();
    let ran = run(emu.bare(), &["events"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(ran.stderr.contains("xdm login"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("spent"), "no secret in errors");
    assert_eq!(emu.api_requests(), 1, "only the refresh was tried");
}

/// Only in a build without the `emulator` feature (where the tests that use `--emulator`
/// cannot pass): `cargo test -p xdm-cli --no-default-features --test it login::without`.
#[cfg(not(feature = "emulator"))]
#[test]
fn without_the_emulator_feature_emulator_is_a_usage_error() {
    let emu = Emu::start();
    let ran = run(emu.bare(), &["--emulator", "events"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("built without the emulator"),
        "{}",
        ran.stderr
    );
}
