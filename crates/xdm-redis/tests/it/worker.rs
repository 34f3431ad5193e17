//! The worker processes of the multi-process tests: this test binary, started again with
//! `XDM_REDIS_WORKER` set, runs [`entry`] alone and does the job the variable names. It
//! reports to the parent on its standard output.
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use xdm_client::TokenStore;
use xdm_redis::{AccountId, RedisTokenStore};

use crate::support;

/// The settings a worker reads from its environment.
pub(crate) struct Job<'a> {
    /// `calls` (serve the accounts), `sends` (send DMs for the accounts to `recipient`) or
    /// `hold` (take the refresh lock and stall).
    pub(crate) mode: &'a str,
    pub(crate) redis_url: &'a str,
    pub(crate) emulator_url: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) accounts: &'a [AccountId],
    pub(crate) calls_per_account: usize,
    pub(crate) lock_ttl: Duration,
    /// The user the `sends` mode writes to.
    pub(crate) recipient: &'a str,
}

/// Starts this binary as a worker doing `job`; its stdout is piped.
pub(crate) fn spawn(job: &Job<'_>) -> Child {
    let accounts: Vec<&str> = job.accounts.iter().map(AccountId::as_str).collect();
    Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([
            "--exact",
            "worker::entry",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("XDM_REDIS_WORKER", job.mode)
        .env("XDM_REDIS_URL", job.redis_url)
        .env("XDM_EMULATOR_URL", job.emulator_url)
        .env("XDM_CLIENT_ID", job.client_id)
        .env("XDM_ACCOUNTS", accounts.join(","))
        .env("XDM_CALLS", job.calls_per_account.to_string())
        .env("XDM_LOCK_TTL_MS", job.lock_ttl.as_millis().to_string())
        .env("XDM_RECIPIENT", job.recipient)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the worker starts")
}

/// Runs `count` workers doing `job` to their end and checks that each succeeded; what each
/// reported on its standard output.
pub(crate) async fn run_all(job: &Job<'_>, count: usize) -> Vec<String> {
    let workers: Vec<Child> = (0..count).map(|_| spawn(job)).collect();
    let outputs = tokio::task::spawn_blocking(move || {
        workers
            .into_iter()
            .map(|w| w.wait_with_output().expect("the worker ends"))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    outputs
        .into_iter()
        .map(|output| {
            assert!(
                output.status.success(),
                "a worker failed: {:?}",
                output.status
            );
            String::from_utf8_lossy(&output.stdout).into_owned()
        })
        .collect()
}

/// The worker's body; without `XDM_REDIS_WORKER` (an ordinary test run) it has nothing to do.
#[test]
fn entry() {
    let Ok(mode) = std::env::var("XDM_REDIS_WORKER") else {
        return;
    };
    let var = |name| std::env::var(name).unwrap_or_else(|_| panic!("{name} is set"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let accounts: Vec<AccountId> = var("XDM_ACCOUNTS")
        .split(',')
        .map(|a| AccountId::new(a).unwrap())
        .collect();
    let lock_ttl = Duration::from_millis(var("XDM_LOCK_TTL_MS").parse().unwrap());
    runtime.block_on(async {
        let redis = support::connect_url(&var("XDM_REDIS_URL")).await;
        match mode.as_str() {
            "hold" => {
                let store =
                    RedisTokenStore::new(&redis, accounts[0].clone()).with_lock_ttl(lock_ttl);
                let lock = store.try_lock().await.unwrap().expect("the lock is free");
                println!("locked");
                std::io::stdout().flush().unwrap();
                // Stall with the lock held, as a worker hung mid-refresh, until killed.
                tokio::time::sleep(Duration::from_secs(600)).await;
                drop(lock);
            }
            "calls" => {
                let url = var("XDM_EMULATOR_URL");
                let fleet = support::fleet(&redis, &var("XDM_CLIENT_ID"), &url);
                let calls: usize = var("XDM_CALLS").parse().unwrap();
                let mut tasks = tokio::task::JoinSet::new();
                for account in &accounts {
                    let client = fleet.add_account(account.clone(), None).await.unwrap();
                    for _ in 0..calls {
                        let client = client.clone();
                        tasks.spawn(async move { client.me().await.map(|_| ()) });
                    }
                }
                let mut served = 0;
                while let Some(done) = tasks.join_next().await {
                    done.unwrap().expect("every call is served");
                    served += 1;
                }
                println!("served {served}");
            }
            "sends" => {
                let url = var("XDM_EMULATOR_URL");
                let fleet = support::fleet(&redis, &var("XDM_CLIENT_ID"), &url);
                let sends: usize = var("XDM_CALLS").parse().unwrap();
                let recipient: xdm_core::ids::UserId = var("XDM_RECIPIENT").parse().unwrap();
                let mut tasks = tokio::task::JoinSet::new();
                for account in &accounts {
                    let client = fleet.add_account(account.clone(), None).await.unwrap();
                    for i in 0..sends {
                        let client = client.clone();
                        let recipient = recipient.clone();
                        let text = format!("{} {account} {i}", std::process::id());
                        tasks.spawn(async move {
                            let message = xdm_core::endpoints::Message::text(text).unwrap();
                            client
                                .send_to_participant(&recipient, message)
                                .await
                                .map(|_| ())
                        });
                    }
                }
                let mut sent = 0;
                while let Some(done) = tasks.join_next().await {
                    done.unwrap().expect("every send is served");
                    sent += 1;
                }
                println!("sent {sent}");
            }
            other => panic!("unknown worker mode {other}"),
        }
    });
}
