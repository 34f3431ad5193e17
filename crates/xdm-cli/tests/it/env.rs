//! The X_* variables: refused when set but unusable, and an OAuth 2.0 pair from them is never
//! lost to a refresh; a saved token file open to others is reported.

use std::process::Command;

use crate::common::{Emu, ok, run};

const CREDENTIAL_VARS: [&str; 9] = [
    "X_CONSUMER_KEY",
    "X_CONSUMER_SECRET",
    "X_ACCESS_TOKEN",
    "X_ACCESS_TOKEN_SECRET",
    "X_OAUTH2_ACCESS_TOKEN",
    "X_OAUTH2_REFRESH_TOKEN",
    "X_CLIENT_ID",
    "X_CLIENT_SECRET",
    "X_USER_ID",
];

/// `xdm` with an empty configuration directory, no `--base-url`, and `X_API_BASE_URL` at
/// the emulator.
fn by_variables(emu: &Emu) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xdm"));
    cmd.env_clear()
        .env("XDM_CONFIG_DIR", &emu.config_dir)
        .env("X_API_BASE_URL", emu.url())
        .stdin(std::process::Stdio::null());
    cmd
}

#[test]
fn unusable_variables_are_refused_by_name_before_any_request() {
    let emu = Emu::start();
    let secret = "ZQXJVALUE";
    let mut values: Vec<std::ffi::OsString> = vec![
        "".into(),
        "   ".into(),
        format!("{secret}\n{secret}").into(),
        format!("{secret}\r\n{secret}").into(),
    ];
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        values.push(std::ffi::OsString::from_vec(b"ZQXJ\xffVALUE".to_vec()));
    }
    let mut names = CREDENTIAL_VARS.to_vec();
    names.push("X_API_BASE_URL");
    for name in names {
        for value in &values {
            let mut cmd = by_variables(&emu);
            cmd.env(
                "X_OAUTH2_ACCESS_TOKEN",
                &emu.emulator().credentials().oauth2.access_token,
            )
            .env(name, value);
            let ran = run(cmd, &["events", "--limit", "1"]);
            assert_eq!(ran.code, 2, "{name}={value:?}: {}", ran.stderr);
            assert!(ran.stderr.contains(name), "{name}: {}", ran.stderr);
            assert!(!ran.stderr.contains("ZQXJ"), "{name}: {}", ran.stderr);
        }
    }
    assert_eq!(emu.api_requests(), 0);
}

fn token_requests(emu: &Emu) -> usize {
    emu.handle()
        .requests()
        .iter()
        .filter(|r| r.path == "/2/oauth2/token")
        .count()
}

/// The emulator's app and refresh token in the variables, with an access token X rejects.
fn with_refreshable_pair(emu: &Emu) -> Command {
    let c = emu.emulator().credentials().oauth2.clone();
    let mut cmd = by_variables(emu);
    cmd.env("X_OAUTH2_ACCESS_TOKEN", "rejected-access-token")
        .env("X_OAUTH2_REFRESH_TOKEN", &c.refresh_token)
        .env("X_CLIENT_ID", &c.client_id)
        .env("X_CLIENT_SECRET", &c.client_secret);
    cmd
}

#[test]
fn a_refreshed_pair_from_the_variables_is_saved_and_used_while_they_hold_the_spent_one() {
    let emu = Emu::start();
    let token_file = emu.config_dir.join("token.json");

    // First run: the access token is refused, the variable's refresh token is spent, and
    // its successor is saved, which the run says.
    let first = ok(with_refreshable_pair(&emu), &["events", "--limit", "1"]);
    assert_eq!(token_requests(&emu), 1);
    assert!(
        first.stderr.contains("X_OAUTH2_REFRESH_TOKEN is spent")
            && first.stderr.contains(&token_file.display().to_string()),
        "{}",
        first.stderr
    );
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&token_file).unwrap()).unwrap();
    let refresh = &emu.emulator().credentials().oauth2.refresh_token;
    assert_ne!(saved["refresh_token"].as_str(), Some(refresh.as_str()));
    assert!(
        !std::fs::read_to_string(&token_file)
            .unwrap()
            .contains(refresh.as_str()),
        "the spent refresh token itself is not written"
    );
    let client: serde_json::Value =
        serde_json::from_slice(&std::fs::read(emu.config_dir.join("client.json")).unwrap())
            .unwrap();
    assert_eq!(
        client["client_id"].as_str(),
        Some(emu.emulator().credentials().oauth2.client_id.as_str())
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for name in ["token.json", "client.json"] {
            let mode = std::fs::metadata(emu.config_dir.join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }

    // Second run, same variables: the saved successor is used, nothing is refreshed.
    ok(with_refreshable_pair(&emu), &["events", "--limit", "1"]);
    assert_eq!(token_requests(&emu), 1);

    // Once the successor expires it is refreshed with its own refresh token, never the
    // variable's spent one.
    let mut expired = saved.clone();
    expired["expires_at_ms"] = 1_000u64.into();
    std::fs::write(&token_file, expired.to_string()).unwrap();
    ok(with_refreshable_pair(&emu), &["events", "--limit", "1"]);
    assert_eq!(token_requests(&emu), 2);

    // And without any variable, the saved login carries on.
    ok(emu.bare(), &["events", "--limit", "1"]);
}

#[test]
fn a_spent_refresh_token_says_to_authorize_again() {
    let emu = Emu::start();
    let mut cmd = with_refreshable_pair(&emu);
    cmd.env("X_OAUTH2_REFRESH_TOKEN", "spent-refresh-token");
    let ran = run(cmd, &["events", "--limit", "1"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(ran.stderr.contains("xdm login"), "{}", ran.stderr);
    assert!(
        !ran.stderr.contains("spent-refresh-token"),
        "{}",
        ran.stderr
    );
    assert!(!emu.config_dir.join("token.json").exists());
}

#[cfg(unix)]
#[test]
fn a_saved_token_file_others_can_read_gets_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let emu = Emu::start();
    save_login(&emu, &emu.config_dir);
    let token_file = emu.config_dir.join("token.json");
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let ran = ok(emu.bare(), &["events", "--limit", "1"]);
    assert!(
        ran.stderr.contains("can be read by other users"),
        "{}",
        ran.stderr
    );
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let ran = ok(emu.bare(), &["events", "--limit", "1"]);
    assert!(!ran.stderr.contains("other users"), "{}", ran.stderr);
}

/// Writes a saved login for the emulator's "me" into `dir`.
fn save_login(emu: &Emu, dir: &std::path::Path) {
    let c = emu.emulator().credentials().oauth2.clone();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("token.json"),
        serde_json::json!({
            "version": 1,
            "access_token": c.access_token,
            "refresh_token": c.refresh_token,
            "issued_at_ms": 1u64,
        })
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("client.json"),
        serde_json::json!({ "client_id": c.client_id }).to_string(),
    )
    .unwrap();
}

#[cfg(unix)]
#[test]
fn the_saved_login_is_found_by_xdm_config_dir_then_xdg_config_home_then_home() {
    let emu = Emu::start();
    let root = crate::common::temp_dir("dirs");
    let home = root.join("home");
    let xdg = root.join("xdg");
    let explicit = root.join("explicit");
    let xdm = |vars: &[(&str, &std::path::Path)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xdm"));
        cmd.env_clear()
            .arg("--base-url")
            .arg(emu.url())
            .stdin(std::process::Stdio::null());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        run(cmd, &["events", "--limit", "1"])
    };
    let all: [(&str, &std::path::Path); 3] = [
        ("XDM_CONFIG_DIR", &explicit),
        ("XDG_CONFIG_HOME", &xdg),
        ("HOME", &home),
    ];
    // Nothing saved anywhere: no credentials.
    assert_eq!(xdm(&all).code, 3);
    save_login(&emu, &home.join(".config").join("xdm"));
    assert_eq!(xdm(&all[2..]).code, 0, "~/.config/xdm");
    assert_eq!(xdm(&all[1..]).code, 3, "XDG_CONFIG_HOME is looked at first");
    save_login(&emu, &xdg.join("xdm"));
    assert_eq!(xdm(&all[1..]).code, 0, "$XDG_CONFIG_HOME/xdm");
    assert_eq!(xdm(&all).code, 3, "XDM_CONFIG_DIR is looked at first");
    save_login(&emu, &explicit);
    assert_eq!(xdm(&all).code, 0, "$XDM_CONFIG_DIR");
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn a_damaged_saved_login_says_to_log_in_again() {
    let emu = Emu::start();
    save_login(&emu, &emu.config_dir);
    std::fs::write(emu.config_dir.join("client.json"), b"{\"client_id\":").unwrap();
    let ran = run(emu.bare(), &["events", "--limit", "1"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("client.json is damaged") && ran.stderr.contains("xdm login"),
        "{}",
        ran.stderr
    );
    assert_eq!(emu.api_requests(), 0);
}
