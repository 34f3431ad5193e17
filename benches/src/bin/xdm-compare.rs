//! The Rust side of `benches/compare/run.sh`.
//!
//! ```text
//! xdm-compare emulator --events N          serve an emulator; one JSON line (its description)
//!                                          on stdout, then commands on stdin, one a line:
//!                                            off                 rate limits off (huge budget)
//!                                            limit N WINDOW_MS   N reads per window, enforced
//!                                            reset               forget the request log
//!                                            stats               one JSON line: requests by status
//!                                            quit
//! xdm-compare page ours|bare DESCRIBE PAGES    page PAGES pages of 100 events, one JSON line
//! xdm-compare concurrent h1|h2 DESCRIBE TASKS PAGES
//!                                          TASKS listings of PAGES pages at once through one
//!                                          client; throughput and connections opened
//! ```
//!
//! DESCRIBE is the file holding the emulator's description line.

#![allow(clippy::print_stdout)]

use std::collections::{BTreeMap, HashSet};
use std::io::BufRead;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use xdm_client::Credentials;
use xdm_core::{Endpoint, RequestContext};
use xdm_emulator::{Emulator, GroupLimits, RateLimits};
use xdm_hyper::HttpVersion;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn usage() -> ! {
    eprintln!("usage: see the doc comment of benches/src/bin/xdm-compare.rs");
    std::process::exit(2)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_else(|| usage());
    match arg(0) {
        "emulator" => serve(arg(2).parse()?).await,
        "page" => {
            let emu = describe(arg(2))?;
            let pages: u32 = arg(3).parse()?;
            let start = Instant::now();
            let (n, events) = match arg(1) {
                "ours" => page_ours(&emu, pages).await?,
                "bare" => page_bare(&emu, pages).await?,
                _ => usage(),
            };
            let seconds = start.elapsed().as_secs_f64();
            println!(
                "{}",
                json!({"bench": "paging", "contender": arg(1), "seconds": seconds,
                       "pages": n, "events": events})
            );
            Ok(())
        }
        "concurrent" => {
            let version = match arg(1) {
                "h1" => HttpVersion::Http1Only,
                "h2" => HttpVersion::Http2Only,
                _ => usage(),
            };
            concurrent(
                arg(1),
                version,
                &describe(arg(2))?,
                arg(3).parse()?,
                arg(4).parse()?,
            )
            .await
        }
        _ => usage(),
    }
}

/// What the contenders need from the emulator's description line.
struct Described {
    base_url: String,
    token: String,
}

fn describe(path: &str) -> Result<Described, BoxError> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    Ok(Described {
        base_url: v["base_url"].as_str().ok_or("no base_url")?.to_owned(),
        token: v["oauth2"]["access_token"]
            .as_str()
            .ok_or("no token")?
            .to_owned(),
    })
}

/// Read limits that never run out, so that a client that honours the headers never waits.
/// (`RateLimits::off()` stops enforcing but still counts `remaining` down to zero.)
fn unlimited() -> RateLimits {
    let huge = GroupLimits {
        user_per_window: u32::MAX / 2,
        user_per_day: None,
        app_per_window: None,
        app_per_day: None,
    };
    RateLimits {
        enabled: false,
        read: huge,
        ..RateLimits::off()
    }
}

fn limited(per_window: u32, window: Duration) -> RateLimits {
    let defaults = RateLimits::default();
    RateLimits {
        window,
        read: GroupLimits {
            user_per_window: per_window,
            ..defaults.read
        },
        ..defaults
    }
}

async fn serve(events: usize) -> Result<(), BoxError> {
    let emu = Emulator::builder()
        .seed_events(events)
        .rate_limits(unlimited())
        .start()
        .await?;
    println!("{}", emu.describe());
    let handle = emu.handle();
    // Commands come from a blocking reader; the server runs on the runtime meanwhile.
    let commands = tokio::task::spawn_blocking(move || -> Result<(), BoxError> {
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["off"] => handle.set_rate_limits(unlimited()),
                ["limit", n, ms] => {
                    handle.set_rate_limits(limited(n.parse()?, Duration::from_millis(ms.parse()?)))
                }
                ["reset"] => handle.clear_requests(),
                ["stats"] => {
                    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
                    let (mut total, mut h2) = (0u64, 0u64);
                    for r in handle.requests() {
                        total += 1;
                        h2 += u64::from(r.http2);
                        let status = r.status.map_or("closed".to_owned(), |s| s.to_string());
                        *by_status.entry(status).or_default() += 1;
                    }
                    println!(
                        "{}",
                        json!({"requests": total, "http2": h2, "by_status": by_status})
                    );
                }
                ["quit"] => break,
                _ => eprintln!("xdm-compare emulator: unknown command {line:?}"),
            }
        }
        Ok(())
    });
    commands.await??;
    emu.shutdown().await;
    Ok(())
}

/// Our client: the ready hyper client, HTTP/1.1 keep-alive, default policies.
async fn page_ours(emu: &Described, pages: u32) -> Result<(u32, u64), BoxError> {
    let client = xdm_hyper::builder()
        .base_url(&emu.base_url)?
        .credentials(Credentials::oauth2_token(emu.token.clone()))
        .http_version(HttpVersion::Http1Only)
        .build()?;
    let mut listing = client
        .list_events_with(xdm_benches::compare_params())
        .with_max_pages(pages);
    let (mut n, mut events) = (0u32, 0u64);
    while let Some(page) = listing.next_page().await {
        let page = page?;
        n += 1;
        events += page.items().len() as u64;
    }
    Ok((n, events))
}

/// The ceiling: hyper's pooled client sending the same requests, each body parsed into a
/// `serde_json::Value`, the next token read from it. No retries, limits or typed models.
async fn page_bare(emu: &Described, pages: u32) -> Result<(u32, u64), BoxError> {
    let client: HyperClient<_, Empty<Bytes>> =
        HyperClient::builder(TokioExecutor::new()).build_http();
    // The query every contender sends, encoded once by the same rules X signs with.
    let ctx = RequestContext::new(xdm_core::BaseUrl::parse(&emu.base_url)?);
    let first = xdm_core::endpoints::ListEvents::new()
        .with_params(xdm_benches::compare_params())
        .build_request(&ctx)?
        .uri()
        .to_string();
    let auth = format!("Bearer {}", emu.token);
    let mut token: Option<String> = None;
    let (mut n, mut events) = (0u32, 0u64);
    while n < pages {
        let uri = match &token {
            Some(t) => format!("{first}&pagination_token={t}"),
            None => first.clone(),
        };
        let request = http::Request::get(uri)
            .header("authorization", &auth)
            .body(Empty::new())?;
        let response = client.request(request).await?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()).into());
        }
        let body = response.into_body().collect().await?.to_bytes();
        let page: Value = serde_json::from_slice(&body)?;
        n += 1;
        let count = page["data"].as_array().map_or(0, Vec::len);
        events += count as u64;
        token = page["meta"]["next_token"].as_str().map(str::to_owned);
        if token.is_none() || count == 0 {
            break;
        }
    }
    Ok((n, events))
}

/// TASKS listings of PAGES pages each, all at once through one client.
async fn concurrent(
    label: &str,
    version: HttpVersion,
    emu: &Described,
    tasks: usize,
    pages: u32,
) -> Result<(), BoxError> {
    let mut builder = xdm_hyper::builder()
        .base_url(&emu.base_url)?
        .credentials(Credentials::oauth2_token(emu.token.clone()))
        .http_version(version);
    if std::env::var_os("XDM_COMPARE_UNSEEDED").is_some() {
        // With X's documented 15 reads seeded, the 16th concurrent request waits for the
        // seeded 15-minute reset even after the first responses report a larger budget.
        builder = builder.customize(|b| {
            let mut config = xdm_core::rate_limit::LimiterConfig::default();
            config.seed_documented_limits = false;
            b.limiter_config(config)
        });
    }
    let client = builder.build()?;
    // Taken before any request, so that every connection of the run counts as new.
    let before = own_sockets();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        std::thread::spawn(move || count_connections(&before, &stop))
    };
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        let client = client.clone();
        set.spawn(async move {
            let mut listing = client
                .list_events_with(xdm_benches::compare_params())
                .with_max_pages(pages);
            let mut events = 0u64;
            let mut requests = 0u64;
            while let Some(page) = listing.next_page().await {
                events += page?.items().len() as u64;
                requests += 1;
            }
            Ok::<_, xdm_client::Error>((requests, events))
        });
    }
    let (mut requests, mut events) = (0u64, 0u64);
    while let Some(done) = set.join_next().await {
        let (r, e) = done??;
        requests += r;
        events += e;
    }
    let seconds = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let connections = watcher.join().map_err(|_| "watcher panicked")?;
    println!(
        "{}",
        json!({"bench": "concurrency", "contender": label, "seconds": seconds,
               "requests": requests, "events": events, "connections": connections})
    );
    Ok(())
}

/// Counts the sockets this process opened while `stop` was unset: distinct `socket:[inode]`
/// entries among its own file descriptors, sampled every millisecond. This process holds no
/// other sockets (the emulator is another process), and pooled connections live for the whole
/// run, so each is seen.
fn count_connections(before: &HashSet<String>, stop: &AtomicBool) -> usize {
    let mut seen = HashSet::new();
    loop {
        seen.extend(own_sockets().into_iter().filter(|s| !before.contains(s)));
        if stop.load(Ordering::Relaxed) {
            return seen.len();
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The `socket:[inode]` targets of this process's file descriptors.
fn own_sockets() -> HashSet<String> {
    {
        let mut now = HashSet::new();
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            for entry in dir.flatten() {
                if let Ok(target) = std::fs::read_link(entry.path()) {
                    let target = target.to_string_lossy().into_owned();
                    if target.starts_with("socket:") {
                        now.insert(target);
                    }
                }
            }
        }
        now
    }
}
