use std::process::Command;

use xdm::prelude::*;
use xdm_emulator::Emulator;

/// Runs one of the `child_` tests below in a process of its own with `vars` as its only
/// `X_*` environment, so that `Client::from_env()` reads exactly what the test chose.
fn run_child(test: &str, vars: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command.args([test, "--exact", "--ignored", "--nocapture"]);
    for (name, _) in std::env::vars() {
        if name.starts_with("X_") {
            command.env_remove(name);
        }
    }
    // An empty configuration directory: no saved login to fall back to.
    let config_dir = tempfile::tempdir().expect("temp dir");
    command.env("XDM_CONFIG_DIR", config_dir.path());
    for (name, value) in vars {
        command.env(name, value);
    }
    command.output().expect("the child test runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn from_env_is_all_a_first_program_needs() {
    let emulator = Emulator::builder().seed_events(5).start().await.unwrap();
    let token = emulator.credentials().oauth2.access_token.clone();
    let output = run_child(
        "first_program::child_lists_with_a_client_from_env",
        &[
            ("X_API_BASE_URL", emulator.base_url()),
            ("X_OAUTH2_ACCESS_TOKEN", &token),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("listed 5 events"));
    emulator.shutdown().await;
}

#[test]
fn from_env_without_credentials_says_which_variables_to_set() {
    let output = run_child("first_program::child_reports_missing_credentials", &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "run by from_env_is_all_a_first_program_needs in its own environment"]
// The parent reads the count from standard output.
#[allow(clippy::print_stdout)]
async fn child_lists_with_a_client_from_env() {
    let client = xdm::Client::from_env().unwrap();
    let mut events = client.list_events().events();
    let mut count = 0;
    while let Some(item) = events.next().await {
        let item: EventItem = item.unwrap();
        assert!(item.event.id.is_some());
        count += 1;
    }
    println!("listed {count} events");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "run by from_env_without_credentials_says_which_variables_to_set"]
async fn child_reports_missing_credentials() {
    let Err(err) = xdm::Client::from_env() else {
        panic!("a client without credentials");
    };
    assert!(matches!(
        err,
        xdm::SetupError::Config(xdm::ConfigError::NoCredentials)
    ));
    assert!(err.to_string().contains("X_OAUTH2_ACCESS_TOKEN"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_prelude_and_builder_reach_the_emulator() {
    let emulator = Emulator::builder().seed_events(3).start().await.unwrap();
    let c = &emulator.credentials().oauth1;
    let client: Client = xdm::builder()
        .base_url(emulator.base_url())
        .unwrap()
        .credentials(Credentials::oauth1(
            &c.consumer_key,
            &c.consumer_secret,
            &c.access_token,
            &c.access_token_secret,
        ))
        .build()
        .unwrap();
    let to: UserId = emulator.handle().users()[1].id.parse().unwrap();
    let before = emulator.handle().event_count();
    client
        .send_to_participant(&to, Message::text("hello from the facade").unwrap())
        .await
        .unwrap();
    let events = emulator.handle().events();
    assert_eq!(events.len(), before + 1);
    assert!(
        events
            .iter()
            .any(|e| e.text.as_deref() == Some("hello from the facade"))
    );
    emulator.shutdown().await;
}
