//! Fleet throughput: worker processes serving many accounts against the emulator with X's
//! rate limits on, the window shortened, once with the fleet's shared windows in Redis and
//! once with each worker on its own limiter. What is counted, at the emulators: the reads
//! they served against the budget the run could use at most, the 429s they answered, and
//! the refreshes they granted and refused.
//!
//! Every account is its own emulator's "me", so that each has its own budget and its own
//! refresh token (an emulator hands out a refresh token for "me" alone): the bench starts one
//! emulator per account, all in this process. The workers are this binary started again
//! (`XDM_FLEET_WORKER` set), each serving every account with one loop of `GET /2/dm_events`
//! per account, as fast as it is let. In the shared run they go through a `Fleet` per
//! emulator on one Redis; in the local run each worker has a plain client per account (its
//! own limiter, fed by the emulator's headers, and its own refreshes), reading the account's
//! token from Redis once at start and sharing nothing after.
//!
//! The tokens expire during the run: each is stored with an expiry that makes its refresh
//! due between half a window and one window after the start, so that every account is
//! refreshed once in both runs. The refresh tokens are single-use. With the fleet, one worker
//! refreshes and the others take its token; without shared state every worker refreshes on
//! its own, the first one spends the refresh token and the emulator refuses it to every
//! other one, whose client is then logged out of that account (the task serving it stops,
//! and is counted). Every refused refresh is a spent refresh token used again: nothing else
//! asks the emulators' token endpoint for anything in the run.
//!
//! The budget: reads have 15 per user per window and no daily or app limit. An emulator's
//! window opens at a user's first read after the last one closed, so a run of
//! `(k − 1) × window + window / 2` opens at most `k` windows per account: `15 × k` reads per
//! account at most, and that only when each window is fully used and the next opened without
//! delay.
//!
//! Run with `cargo bench -p xdm-redis --bench fleet`; `XDM_FLEET_WORKERS` (8),
//! `XDM_FLEET_ACCOUNTS` (1000), `XDM_FLEET_WINDOW_SECS` (30), `XDM_FLEET_WINDOWS` (3),
//! `XDM_FLEET_MODES` (`shared,local`), `XDM_FLEET_EXPIRE` (`1`; `0` keeps the tokens valid
//! for the whole run, as runs before refreshes were counted did) and `XDM_FLEET_REDIS_TIMEOUT_SECS` (the workers' Redis
//! response timeout, 10 as by default) change the run. A worker whose Redis
//! calls outlast the timeout falls back to its local limiters, as a fleet does when Redis is
//! down; the report counts the workers that did. It starts its own `redis-server` (Debian's package) on a free loopback
//! port.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod support;

use support::start_redis;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use xdm_auth::oauth2::{DEFAULT_REFRESH_MARGIN, OAuth2Client, TokenManager, UserToken};
use xdm_client::transport::Transport;
use xdm_client::{Client, Config, Credentials};
use xdm_core::endpoints::ListEvents;
use xdm_core::{BaseUrl, Scope};
use xdm_emulator::{Emulator, RateLimits};
use xdm_hyper::{HyperTransport, TokioClock};
use xdm_redis::{AccountId, Fleet, FleetLimits, Redis, RedisOptions, RedisTokenStore};

/// Reads per user per window, X's table.
const READS_PER_WINDOW: u64 = 15;
/// The redirect URI of the emulators' public client; nothing listens there.
const REDIRECT: &str = "http://127.0.0.1/callback";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set"))
}

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn account(i: usize) -> AccountId {
    AccountId::new(format!("acct-{i}")).unwrap()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Ok(mode) = std::env::var("XDM_FLEET_WORKER") {
        runtime.block_on(worker(&mode));
        return;
    }
    let workers = env_or("XDM_FLEET_WORKERS", 8usize);
    let accounts = env_or("XDM_FLEET_ACCOUNTS", 1000usize);
    let window = Duration::from_secs(env_or("XDM_FLEET_WINDOW_SECS", 30u64));
    let windows = env_or("XDM_FLEET_WINDOWS", 3u32).max(1);
    let (_server, redis_url) = start_redis(&["--maxclients", "10000"]);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "fleet throughput: {workers} worker processes, {accounts} accounts, reads at 15 per \
         {window:?} window, {windows} windows; load average at start: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let modes = std::env::var("XDM_FLEET_MODES").unwrap_or_else(|_| "shared,local".into());
    let expire = env_or("XDM_FLEET_EXPIRE", 1u8) != 0;
    for mode in modes.split(',') {
        runtime.block_on(run(
            mode, &redis_url, workers, accounts, window, windows, expire,
        ));
    }
}

async fn run(
    mode: &str,
    redis_url: &str,
    workers: usize,
    accounts: usize,
    window: Duration,
    windows: u32,
    expire: bool,
) {
    let limits = RateLimits {
        window,
        ..RateLimits::default()
    };
    let mut emulators = Vec::new();
    for _ in 0..accounts {
        let emulator = Emulator::builder()
            .empty_world()
            .rate_limits(limits.clone())
            .start()
            .await
            .expect("the emulator starts");
        emulators.push(emulator);
    }
    // Far enough ahead for every worker to start and set up its clients.
    let start_ms = now_ms() + 10_000;
    let start = UNIX_EPOCH + Duration::from_millis(start_ms);
    // Each account's token, in Redis under the run's own prefix: "me"'s pair, issued when
    // its emulator started, its refresh due between half a window and a window into the run
    // (or, with `XDM_FLEET_EXPIRE=0`, not before the emulator's own two hours).
    let redis = Redis::connect_with(redis_url, RedisOptions::default().with_prefix(mode))
        .await
        .expect("the bench's redis-server answers");
    for (i, emulator) in emulators.iter().enumerate() {
        let me = &emulator.credentials().oauth2;
        let due = if expire {
            start + window / 2 + window.mul_f64(i as f64 / accounts as f64 / 2.0)
        } else {
            start + Duration::from_secs(3600)
        };
        let token = UserToken::new(me.access_token.clone(), SystemTime::now())
            .with_refresh_token(me.refresh_token.clone())
            .with_expires_at(due + DEFAULT_REFRESH_MARGIN)
            .with_scopes(me.scopes.iter().map(|s| Scope::parse(s)));
        RedisTokenStore::new(&redis, account(i))
            .save_if_absent(&token)
            .await
            .expect("the token is stored");
    }
    let urls: Vec<&str> = emulators.iter().map(|e| e.base_url()).collect();
    let client_ids: Vec<&str> = emulators
        .iter()
        .map(|e| e.credentials().oauth2.client_id.as_str())
        .collect();
    let run_for = window * (windows - 1) + window / 2;
    let children: Vec<Child> = (0..workers)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .env("XDM_FLEET_WORKER", mode)
                .env("XDM_FLEET_REDIS", redis_url)
                .env("XDM_FLEET_EMULATORS", urls.join(","))
                .env("XDM_FLEET_CLIENT_IDS", client_ids.join(","))
                .env("XDM_FLEET_ACCOUNTS", accounts.to_string())
                .env("XDM_FLEET_START_MS", start_ms.to_string())
                .env("XDM_FLEET_RUN_MS", run_for.as_millis().to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("the worker starts")
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output().expect("the worker ends"))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let (mut served_by_workers, mut failed, mut fell_back, mut logged_out) = (0u64, 0, 0, 0);
    for output in outputs {
        assert!(
            output.status.success(),
            "a worker failed: {:?}",
            output.status
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let numbers: Vec<u64> = stdout
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let [served, failures, degraded, out] = numbers[..] else {
            panic!("a worker's report: {stdout}");
        };
        served_by_workers += served;
        failed += failures;
        fell_back += degraded;
        logged_out += out;
    }
    let (mut ok, mut limited, mut other) = (0u64, 0u64, 0u64);
    let (mut granted, mut refused) = (0u64, 0u64);
    for emulator in &emulators {
        for request in emulator.handle().requests() {
            match (request.path.as_str(), request.status) {
                ("/2/dm_events", Some(200)) => ok += 1,
                ("/2/dm_events", Some(429)) => limited += 1,
                ("/2/dm_events", _) => other += 1,
                // Only refreshes reach the token endpoint in this run, and the only refresh
                // token an emulator refuses here is one already spent.
                ("/2/oauth2/token", Some(200)) => granted += 1,
                ("/2/oauth2/token", _) => refused += 1,
                _ => {}
            }
        }
    }
    let budget = accounts as u64 * READS_PER_WINDOW * u64::from(windows);
    println!(
        "{mode:>6}: {ok} reads served of a budget of {budget} ({:.2} %), {limited} × 429, \
         {other} other answers; the workers saw {served_by_workers} served and {failed} \
         failed calls; {fell_back} workers fell back to their local limiters at some point \
         (Redis slower than its timeout); refreshes: {granted} granted, {refused} refused (a \
         spent refresh token used again), {logged_out} account × worker clients logged out; \
         run {run_for:?}",
        ok as f64 * 100.0 / budget as f64
    );
}

/// One worker: serves every account until the run's end, then reports "served N failed M
/// fell-back 0|1 logged-out L".
async fn worker(mode: &str) {
    let accounts: usize = var("XDM_FLEET_ACCOUNTS").parse().unwrap();
    let urls: Vec<String> = var("XDM_FLEET_EMULATORS")
        .split(',')
        .map(str::to_owned)
        .collect();
    let client_ids: Vec<String> = var("XDM_FLEET_CLIENT_IDS")
        .split(',')
        .map(str::to_owned)
        .collect();
    let start = UNIX_EPOCH + Duration::from_millis(var("XDM_FLEET_START_MS").parse().unwrap());
    let run_for = Duration::from_millis(var("XDM_FLEET_RUN_MS").parse().unwrap());
    let defaults = RedisOptions::default();
    let response = Duration::from_secs(env_or(
        "XDM_FLEET_REDIS_TIMEOUT_SECS",
        defaults.response_timeout.as_secs(),
    ));
    let redis = Redis::connect_with(
        &var("XDM_FLEET_REDIS"),
        defaults
            .with_prefix(mode)
            .with_timeouts(Duration::from_secs(2), response),
    )
    .await
    .expect("Redis answers");
    let transport = HyperTransport::builder().build().expect("a transport");
    let base = |j: usize| BaseUrl::parse(&urls[j]).expect("an API root");
    let oauth =
        |j: usize| OAuth2Client::public(&client_ids[j], REDIRECT).with_api_base_url(base(j));
    let mut degraded = false;
    let (served, failed, logged_out) = if mode == "shared" {
        // One set of limits for every fleet of the worker, so that one flag says whether
        // admission ever fell back to the local limiters.
        let limits = FleetLimits::new(&redis);
        let fleets: Vec<_> = (0..urls.len())
            .map(|j| {
                Fleet::builder(&redis, transport.clone(), TokioClock, oauth(j))
                    .base_url(base(j))
                    .limits(limits.clone())
                    .build()
            })
            .collect();
        let watch = limits.clone();
        let fell_back = Arc::new(AtomicBool::new(false));
        let flag = fell_back.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                if watch.is_degraded() {
                    flag.store(true, Ordering::Relaxed);
                }
            }
        });
        let mut clients = Vec::with_capacity(accounts);
        for (i, fleet) in fleets.iter().enumerate().take(accounts) {
            let client = fleet
                .add_account(account(i), None)
                .await
                .expect("the account's token is stored");
            clients.push(client);
        }
        let counts = drive(clients, start, run_for).await;
        degraded = fell_back.load(Ordering::Relaxed);
        counts
    } else {
        let mut clients = Vec::with_capacity(accounts);
        for i in 0..accounts {
            let token = RedisTokenStore::new(&redis, account(i))
                .load_token()
                .await
                .unwrap()
                .expect("the account's token is stored");
            let credentials = Credentials::oauth2(TokenManager::new(oauth(i), token));
            let config = Config::new(credentials).with_base_url(base(i));
            clients.push(Client::new(transport.clone(), TokioClock, config));
        }
        drive(clients, start, run_for).await
    };
    println!(
        "served {served} failed {failed} fell-back {} logged-out {logged_out}",
        u8::from(degraded)
    );
}

/// Reads with every client, one call at a time each, from `start` for `run_for`; returns the
/// calls served, the calls failed, and the clients logged out (their token could not be
/// refreshed: the task serving the account stops there).
async fn drive<T>(
    clients: Vec<Client<T, TokioClock>>,
    start: SystemTime,
    run_for: Duration,
) -> (u64, u64, u64)
where
    T: Transport + Clone + 'static,
{
    let wait = start.duration_since(SystemTime::now()).unwrap_or_default();
    let begin = tokio::time::Instant::now() + wait;
    let end = begin + run_for;
    // One failure of each kind is told per worker, not one per account.
    let told = Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
    let mut tasks = tokio::task::JoinSet::new();
    for client in clients {
        let told = told.clone();
        tasks.spawn(async move {
            tokio::time::sleep_until(begin).await;
            let (mut served, mut failed, mut logged_out) = (0u64, 0u64, 0u64);
            while tokio::time::Instant::now() < end {
                match tokio::time::timeout_at(end, client.list_page(&ListEvents::new())).await {
                    Ok(Ok(_)) => served += 1,
                    Ok(Err(error @ xdm_client::Error::Authorization(_))) => {
                        if !told[0].swap(true, Ordering::Relaxed) {
                            eprintln!("a client was logged out: {error}");
                        }
                        logged_out = 1;
                        break;
                    }
                    Ok(Err(error)) => {
                        if !told[1].swap(true, Ordering::Relaxed) {
                            eprintln!("a call failed: {error}");
                        }
                        failed += 1;
                    }
                    Err(_) => break,
                }
            }
            (served, failed, logged_out)
        });
    }
    let (mut served, mut failed, mut logged_out) = (0, 0, 0);
    while let Some(done) = tasks.join_next().await {
        let (s, f, l) = done.unwrap();
        served += s;
        failed += f;
        logged_out += l;
    }
    (served, failed, logged_out)
}
