//! The CLI-level cells: the `xdm` binary refuses bad input before any request (matrix 3), an
//! export killed at random instants and resumed holds every event once (matrix 2), and its
//! output and error messages carry no secret (matrix 5).
//!
//! The binary is the one `cargo test --workspace` builds (`target/debug/xdm`, or `XDM_BIN`);
//! when it is missing, the test builds it with `cargo build -p xdm-cli`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use xdm_emulator::{Emulator, Fault, FaultKind};

use crate::support::{Tally, run_cells};
use crate::world::{fault_kinds, generous_limits, oauth1_credentials, requests_to};

/// Finds (or builds) the `xdm` binary.
fn xdm_bin() -> PathBuf {
    if let Ok(path) = std::env::var("XDM_BIN") {
        return PathBuf::from(path);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target =
        std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root.join("target"), PathBuf::from);
    let bin = target.join("debug").join("xdm");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "-p", "xdm-cli", "--bin", "xdm"])
            .current_dir(&root)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building xdm failed");
    }
    bin
}

/// The environment that points the CLI at `emu` as its OAuth 1.0a user.
fn env_for(emu: &Emulator) -> Vec<(&'static str, String)> {
    let c = &emu.credentials().oauth1;
    vec![
        ("X_API_BASE_URL", emu.base_url().to_owned()),
        ("X_CONSUMER_KEY", c.consumer_key.clone()),
        ("X_CONSUMER_SECRET", c.consumer_secret.clone()),
        ("X_ACCESS_TOKEN", c.access_token.clone()),
        ("X_ACCESS_TOKEN_SECRET", c.access_token_secret.clone()),
        ("X_USER_ID", c.user_id.clone()),
        // A home of its own, so that no saved login of the machine is used.
        ("HOME", empty_home()),
        ("XDG_CONFIG_HOME", empty_home()),
    ]
}

/// One empty directory for the whole run, standing in for the user's home.
fn empty_home() -> String {
    static HOME: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    HOME.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("xdm-rel-home-")
            .tempdir()
            .expect("temp dir")
            .keep()
    })
    .display()
    .to_string()
}

fn command(emu: &Emulator, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(xdm_bin());
    cmd.args(args)
        .env_remove("X_OAUTH2_ACCESS_TOKEN")
        .envs(env_for(emu))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

async fn start_emulator(events: usize) -> Emulator {
    Emulator::builder()
        .seed_events(events)
        .rate_limits(generous_limits())
        .start()
        .await
        .expect("starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_refuses_bad_input_before_any_request() {
    let emu = start_emulator(10).await;
    let alice = emu.handle().users()[1].id.clone();
    let group_of_one = alice.clone();
    let fifty: Vec<String> = (1..=50).map(|n| n.to_string()).collect();
    let fifty = fifty.join(",");
    // (case, arguments, words one of which the message must contain); the exit code is 2
    // (bad input), except for an unreadable file, which the CLI reports as a local failure (1).
    let cases: Vec<(&str, Vec<&str>, &[&str])> = vec![
        (
            "send --to not a number",
            vec!["send", "--to", "@alice", "hi"],
            &["to", "user"],
        ),
        (
            "send --to 20 digits",
            vec!["send", "--to", "12345678901234567890", "hi"],
            &["to", "user"],
        ),
        (
            "send empty text",
            vec!["send", "--to", &alice, ""],
            &["text"],
        ),
        (
            "send blank text",
            vec!["send", "--to", &alice, "   "],
            &["text"],
        ),
        (
            "send --conversation malformed",
            vec!["send", "--conversation", "1/2", "hi"],
            &["conversation"],
        ),
        (
            "send --group of one",
            vec!["send", "--group", &group_of_one, "hi"],
            &["group", "participant"],
        ),
        (
            "send --group of fifty",
            vec!["send", "--group", &fifty, "hi"],
            &["group", "participant"],
        ),
        (
            "send --media missing file",
            vec![
                "send",
                "--to",
                &alice,
                "--media",
                "/nonexistent/x.jpg",
                "hi",
            ],
            &["x.jpg", "media"],
        ),
        (
            "send --media-id not a number",
            vec!["send", "--to", &alice, "--media-id", "abc", "hi"],
            &["media"],
        ),
        (
            "events --limit 0",
            vec!["events", "--limit", "0"],
            &["limit"],
        ),
        (
            "events --types unknown,",
            vec!["events", "--types", "MessageCreate,"],
            &["types", "event_types"],
        ),
        (
            "events --fields with a space",
            vec!["events", "--fields", "text,sender id"],
            &["fields"],
        ),
        (
            "events --expansions empty",
            vec!["events", "--expansions", ""],
            &["expansions"],
        ),
        (
            "events --with not a number",
            vec!["events", "--with", "alice"],
            &["with", "user", "participant"],
        ),
        ("event not a number", vec!["event", "abc"], &["event"]),
        (
            "delete not a number",
            vec!["delete", "-5"],
            &["event", "-5"],
        ),
        ("block not a number", vec!["block", "bob"], &["user"]),
        (
            "unblock 20 digits",
            vec!["unblock", "12345678901234567890"],
            &["user"],
        ),
        (
            "media not a media URL",
            vec![
                "media",
                "--out",
                "/tmp/xdm-rel-x.jpg",
                "https://example.com/a.jpg",
            ],
            &["url", "URL"],
        ),
        (
            "--base-url plain http",
            vec!["--base-url", "http://api.x.com", "events"],
            &["base", "http"],
        ),
        (
            "export --conversation malformed",
            vec![
                "export",
                "--out",
                "/tmp/xdm-rel-x.jsonl",
                "--conversation",
                "x y",
            ],
            &["conversation"],
        ),
    ];
    let mut tally = Tally::new("bad_input_cli");
    for (name, args, words) in cases {
        emu.handle().clear_requests();
        let out = command(&emu, &args).output().await.expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let requests = emu.handle().requests().len();
        let expected_code = if name.contains("missing file") { 1 } else { 2 };
        let outcome = if out.status.code() != Some(expected_code) {
            Err(format!(
                "exit {:?} (expected {expected_code}): {}",
                out.status.code(),
                stderr.trim()
            ))
        } else if requests != 0 {
            Err(format!("{requests} requests were made"))
        } else if !words.iter().any(|w| stderr.contains(w)) {
            Err(format!(
                "the message names none of {words:?}: {}",
                stderr.trim()
            ))
        } else {
            Ok(())
        };
        tally.record(name, outcome);
    }
    emu.shutdown().await;
    tally.finish();
}

/// A small generator for kill instants.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

async fn export_killed_and_resumed(seed: u64) -> Result<(u32, u32), String> {
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let emu = start_emulator(1200 + (next(&mut rng) % 600) as usize).await;
    // Each page takes a little while, so that kills land in the middle of an export; some
    // requests fail outright and must be retried or resumed.
    emu.handle().inject(Fault::always(
        "GET",
        "/2/dm_events",
        FaultKind::DelayHeaders(Duration::from_millis(80)),
    ));
    if next(&mut rng).is_multiple_of(2) {
        emu.handle().inject(Fault::every(
            "GET",
            "/2/dm_events",
            4,
            FaultKind::Status(503),
        ));
    }
    let reference: HashSet<String> = emu.handle().events().into_iter().map(|e| e.id).collect();
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = tmp.path();
    let out = dir.join("dms.jsonl");
    let out_s = out.display().to_string();
    let (mut runs, mut kills) = (0u32, 0u32);
    loop {
        runs += 1;
        if runs > 60 {
            return Err(format!("not done after 60 runs ({kills} kills)"));
        }
        let mut args = vec!["export", "--out", out_s.as_str()];
        if runs > 1 {
            args.push("--resume");
        }
        let mut child = command(&emu, &args).spawn().map_err(|e| e.to_string())?;
        // Kill most runs at a random instant; let the last ones finish.
        // The first runs are killed once the output has grown (so mid-export), after a random
        // extra moment that may fall between writing a page and checkpointing it; from the
        // fourth run on, a run is killed only sometimes, and from the eighth never.
        let kill = runs <= 3 || (runs < 8 && !next(&mut rng).is_multiple_of(4));
        let status = if kill {
            let before = std::fs::metadata(&out).map_or(0, |m| m.len());
            let grown = wait_until("the output to grow", || {
                std::fs::metadata(&out).is_ok_and(|m| m.len() > before)
            });
            let extra = Duration::from_millis(next(&mut rng) % 150);
            let finished = tokio::select! {
                status = child.wait() => Some(status.map_err(|e| e.to_string())?),
                _ = async { let _ = grown.await; tokio::time::sleep(extra).await } => None,
            };
            match finished {
                Some(status) => status,
                None => {
                    child.start_kill().map_err(|e| e.to_string())?;
                    let _ = child.wait().await;
                    kills += 1;
                    continue;
                }
            }
        } else {
            tokio::time::timeout(Duration::from_secs(60), child.wait())
                .await
                .map_err(|_| "an export run hung".to_owned())?
                .map_err(|e| e.to_string())?
        };
        if status.success() {
            break;
        }
        // A failed run (exit 6 after retries) is resumed like a killed one.
    }
    let text = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
    emu.shutdown().await;
    let mut seen = HashSet::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| format!("a line is not JSON ({e}): {line:.80}"))?;
        let id = v["id"].as_str().ok_or("a line has no id")?.to_owned();
        if !seen.insert(id.clone()) {
            return Err(format!(
                "event {id} written twice ({runs} runs, {kills} kills)"
            ));
        }
    }
    if seen != reference {
        return Err(format!(
            "{} events written, {} in the emulator, {} missing ({runs} runs, {kills} kills)",
            seen.len(),
            reference.len(),
            reference.difference(&seen).count()
        ));
    }
    Ok((runs, kills))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_export_killed_at_random_and_resumed_holds_every_event_once() {
    // Each seed is a few seconds of real processes: its own knob, 3 in CI.
    let n = std::env::var("XDM_RELIABILITY_CLI_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3u32);
    let mut tally = Tally::new("cli_export_kill_resume");
    let (mut runs, mut kills) = (0, 0);
    for seed in 1..=u64::from(n) {
        let outcome = export_killed_and_resumed(seed).await.map(|(r, k)| {
            runs += r;
            kills += k;
        });
        tally.record(format!("seed {seed}"), outcome);
    }
    eprintln!("cli_export_kill_resume: {runs} processes, {kills} killed");
    assert!(kills > 0, "no run was killed: the matrix proved nothing");
    tally.finish();
}

/// Failing and succeeding CLI runs, verbose, print no secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_output_carries_no_secret() {
    let emu = start_emulator(20).await;
    let c = emu.credentials().clone();
    let secrets = [
        c.oauth1.consumer_secret.as_str(),
        c.oauth1.access_token.as_str(),
        c.oauth1.access_token_secret.as_str(),
        c.oauth2.access_token.as_str(),
        c.oauth2.refresh_token.as_str(),
        c.oauth2.client_secret.as_str(),
    ];
    let alice = emu.handle().users()[1].id.clone();
    let h = emu.handle();
    let mut tally = Tally::new("secrets_cli");
    let runs: Vec<(&str, Option<FaultKind>, Vec<&str>)> = vec![
        ("events", None, vec!["-v", "events", "--limit", "5"]),
        (
            "send",
            None,
            vec!["-v", "--json", "send", "--to", &alice, "hello"],
        ),
        (
            "events under 503",
            Some(FaultKind::Status(503)),
            vec!["-v", "events"],
        ),
        (
            "send closed after processing",
            Some(FaultKind::CloseAfterProcessing),
            vec!["-v", "send", "--to", &alice, "hello again"],
        ),
        (
            "events with invalid JSON",
            Some(FaultKind::InvalidJson),
            vec!["-v", "--json", "events"],
        ),
        ("bad input", None, vec!["-v", "send", "--to", "x", "hi"]),
    ];
    for (name, fault, args) in runs {
        if let Some(kind) = fault {
            h.inject(Fault::always("*", "*", kind));
        }
        let out = command(&emu, &args).output().await.expect("runs");
        h.clear_faults();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let found = crate::capture::leaked(&text, &secrets);
        tally.record(
            name,
            if found.is_empty() {
                Ok(())
            } else {
                Err(format!("{} secret(s) printed", found.len()))
            },
        );
    }
    // A refused credential: the CLI says so without quoting it.
    let mut cmd = command(&emu, &["-v", "events"]);
    cmd.env("X_ACCESS_TOKEN_SECRET", "wrong-secret-value-123");
    let out = cmd.output().await.expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    tally.record("refused credentials", {
        let found =
            crate::capture::leaked(&text, &["wrong-secret-value-123", secrets[0], secrets[1]]);
        if out.status.code() == Some(3) && found.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "exit {:?}, {} secret(s) printed",
                out.status.code(),
                found.len()
            ))
        }
    });
    emu.shutdown().await;
    tally.finish();
}

/// What `xdm watch` must do when a fault hits one of its polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WatchExpect {
    /// Keeps going: every new message is printed exactly once.
    PrintsEachOnce,
    /// Stops with exit code 5 (usage cap, spent credits), having printed nothing twice.
    Exits5,
}

/// Polls `f` without blocking the runtime (the emulator serves on the same threads).
async fn wait_until(what: &str, f: impl Fn() -> bool) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    while !f() {
        if tokio::time::Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// A running `xdm --json watch` polling every 0.2 s against an emulator of its own, its
/// output collected line by line, and a client that sends alice the messages it must print.
struct Watch {
    emu: Emulator,
    child: tokio::process::Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    reader: tokio::task::JoinHandle<()>,
    client: xdm_hyper::Client,
    alice: xdm_core::ids::UserId,
}

impl Watch {
    async fn start() -> Result<Watch, String> {
        use tokio::io::AsyncBufReadExt;
        let emu = start_emulator(10).await;
        let client = xdm_hyper::builder()
            .base_url(emu.base_url())
            .map_err(|e| e.to_string())?
            .credentials(oauth1_credentials(&emu))
            .build()
            .map_err(|e| e.to_string())?;
        let alice =
            xdm_core::ids::UserId::parse(&emu.handle().users()[1].id).map_err(|e| e.to_string())?;
        let mut child = command(&emu, &["--json", "watch", "--interval", "0.2"])
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let reader = {
            let lines = lines.clone();
            tokio::spawn(async move {
                let mut r = tokio::io::BufReader::new(stdout).lines();
                while let Ok(Some(line)) = r.next_line().await {
                    lines.lock().expect("lock").push(line);
                }
            })
        };
        Ok(Watch {
            emu,
            child,
            lines,
            reader,
            client,
            alice,
        })
    }

    /// How many times the watch has listed the events.
    fn polls(&self) -> usize {
        requests_to(&self.emu, "/2/dm_events")
    }

    /// How many printed lines name the event `id`.
    fn printed(&self, id: &str) -> usize {
        self.lines
            .lock()
            .expect("lock")
            .iter()
            .filter(|l| l.contains(&format!("\"{id}\"")))
            .count()
    }

    /// Sends alice `text`; returns the new event's id.
    async fn send(&self, text: String) -> Result<String, xdm_client::Error> {
        self.client
            .send_to_participant(
                &self.alice,
                xdm_core::endpoints::Message::text(text).expect("valid"),
            )
            .await
            .map(|s| {
                s.event_id
                    .expect("the emulator names the event")
                    .to_string()
            })
    }

    /// Stops the process and the emulator; returns every line the watch printed.
    async fn stop(mut self) -> Vec<String> {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        self.reader.abort();
        self.emu.shutdown().await;
        self.lines.lock().expect("lock").clone()
    }
}

async fn watch_cell(
    kind: Option<FaultKind>,
    cap: Option<&'static str>,
    expect: WatchExpect,
) -> Result<(), String> {
    let mut watch = Watch::start().await?;
    let h = watch.emu.handle();
    wait_until("the first poll", || watch.polls() > 0).await?;
    let send = |text: &'static str| {
        let watch = &watch;
        async move { watch.send(text.into()).await.map_err(|e| e.to_string()) }
    };
    let a = send("before the fault").await?;
    wait_until("the first message", || watch.printed(&a) > 0).await?;
    if let Some(kind) = kind {
        h.inject(Fault::once("GET", "/2/dm_events", kind));
    }
    match cap {
        Some("usage") => h.set_usage_capped(true),
        Some("credits") => h.set_credits_depleted(true),
        _ => {}
    }
    let outcome = match expect {
        WatchExpect::PrintsEachOnce => {
            let b = send("during the fault").await?;
            let c2 = send("after the fault").await?;
            wait_until("the later messages", || {
                watch.printed(&b) > 0 && watch.printed(&c2) > 0
            })
            .await?;
            // A few more polls, to let a duplicate show if there is one.
            tokio::time::sleep(Duration::from_millis(600)).await;
            let counts = [watch.printed(&a), watch.printed(&b), watch.printed(&c2)];
            if counts == [1, 1, 1] {
                Ok(())
            } else {
                Err(format!("printed {counts:?} times"))
            }
        }
        WatchExpect::Exits5 => {
            match tokio::time::timeout(Duration::from_secs(8), watch.child.wait()).await {
                Ok(Ok(status)) if status.code() == Some(5) => {
                    if watch.printed(&a) == 1 {
                        Ok(())
                    } else {
                        Err("a message printed twice".into())
                    }
                }
                Ok(status) => Err(format!("exited with {status:?}")),
                Err(_) => Err("kept running".into()),
            }
        }
    };
    watch.stop().await;
    outcome
}

/// `xdm watch` against every fault of the emulator on one of its polls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_watch_survives_every_fault() {
    let late = Duration::from_millis(600);
    let mut cells: Vec<(String, Option<FaultKind>, Option<&'static str>, WatchExpect)> =
        fault_kinds(late, late, 32 * 1024 * 1024)
            .into_iter()
            .map(|k| {
                (
                    format!("{k:?}").chars().take(40).collect(),
                    Some(k),
                    None,
                    WatchExpect::PrintsEachOnce,
                )
            })
            .collect();
    cells.push(("usage cap".into(), None, Some("usage"), WatchExpect::Exits5));
    cells.push((
        "402 credits".into(),
        None,
        Some("credits"),
        WatchExpect::Exits5,
    ));
    let names: Vec<String> = cells
        .iter()
        .map(|(name, _, _, expect)| format!("{name} (expect {expect:?})"))
        .collect();
    let results = run_cells(
        cells,
        4,
        Duration::from_secs(25),
        Err,
        |(_, kind, cap, expect)| watch_cell(kind, cap, expect),
    )
    .await;
    let mut tally = Tally::new("cli_watch_x_faults");
    for (name, outcome) in names.into_iter().zip(results) {
        tally.record(name, outcome);
    }
    tally.finish();
}

/// One seed of the random watch: faults armed at random on the listing while messages are
/// sent at random moments. Returns how many faults fired.
async fn watch_under_random_faults(seed: u64) -> Result<usize, String> {
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut watch = Watch::start().await?;
    let h = watch.emu.handle();
    let send = |text: String| {
        let watch = &watch;
        async move { watch.send(text).await.map_err(|e| format!("sending: {e}")) }
    };
    wait_until("the first poll", || watch.polls() > 0).await?;
    // The first poll is the baseline; a first message printed means the watch is past it.
    let mut sent = vec![send(format!("seed {seed} first")).await?];
    wait_until("the first message", || watch.printed(&sent[0]) > 0).await?;
    // Faults are short enough (delays of at most 600 ms against the CLI's 30 s timeout) that
    // the watch's own backoff, doubling from 0.5 s, stays within the cell's budget.
    let kinds = fault_kinds(
        Duration::from_millis(100 + next(&mut rng) % 500),
        Duration::from_millis(100 + next(&mut rng) % 500),
        32 * 1024 * 1024,
    );
    let armed = 2 + next(&mut rng) % 3;
    for _ in 0..armed {
        let kind = kinds[(next(&mut rng) % kinds.len() as u64) as usize].clone();
        let fault = if next(&mut rng).is_multiple_of(2) {
            Fault::once("GET", "/2/dm_events", kind)
        } else {
            Fault::every("GET", "/2/dm_events", 2 + (next(&mut rng) % 3) as u32, kind)
        };
        h.inject(fault);
    }
    let before = h.requests().len();
    let messages = 4 + next(&mut rng) % 5;
    for i in 0..messages {
        tokio::time::sleep(Duration::from_millis(next(&mut rng) % 400)).await;
        sent.push(send(format!("seed {seed} message {i}")).await?);
    }
    // Let the faults keep firing for a while, then let the watch catch up.
    tokio::time::sleep(Duration::from_millis(500 + next(&mut rng) % 1000)).await;
    let fired = h.requests()[before..]
        .iter()
        .filter(|r| r.template == "/2/dm_events" && r.status != Some(200))
        .count();
    h.clear_faults();
    let all_printed = wait_until_long("every message", Duration::from_secs(20), || {
        sent.iter().all(|id| watch.printed(id) > 0)
    })
    .await;
    // A few more polls, so that a duplicate would show.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let alive = matches!(watch.child.try_wait(), Ok(None));
    let out = watch.stop().await;
    let mut ids = HashSet::new();
    for line in &out {
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| format!("a printed line is not JSON ({e}): {line:.80}"))?;
        let id = v["id"]
            .as_str()
            .ok_or("a printed line has no id")?
            .to_owned();
        if !ids.insert(id.clone()) {
            return Err(format!(
                "event {id} printed twice ({fired} faulted answers)"
            ));
        }
    }
    let want: HashSet<String> = sent.iter().cloned().collect();
    if !alive {
        return Err(format!("the watch exited ({fired} faulted answers)"));
    }
    all_printed.map_err(|e| {
        format!(
            "{e}: {} of {} printed ({fired} faulted answers)",
            want.intersection(&ids).count(),
            want.len()
        )
    })?;
    if ids != want {
        return Err(format!(
            "printed {} events, sent {} ({} not sent by the test)",
            ids.len(),
            want.len(),
            ids.difference(&want).count()
        ));
    }
    Ok(fired)
}

/// Like [`wait_until`], with a deadline of its own.
async fn wait_until_long(what: &str, limit: Duration, f: impl Fn() -> bool) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + limit;
    while !f() {
        if tokio::time::Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// `xdm watch` under random sequences of faults on its listing, while messages arrive: each
/// new message is printed exactly once, none is missed, and the process keeps running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_watch_prints_each_message_once_under_random_faults() {
    let n = crate::support::seeds(3);
    let runs: Vec<u64> = (1..=u64::from(n)).collect();
    let results = run_cells(
        runs.clone(),
        3,
        Duration::from_secs(60),
        Err,
        watch_under_random_faults,
    )
    .await;
    let mut tally = Tally::new("cli_watch_random_faults");
    let mut fired = 0;
    for (seed, outcome) in runs.into_iter().zip(results) {
        tally.record(
            format!("seed {seed}"),
            outcome.map(|f| {
                fired += f;
            }),
        );
    }
    eprintln!("cli_watch_random_faults: {fired} faulted answers");
    assert!(fired > 0, "no fault fired: the matrix proved nothing");
    tally.finish();
}

/// Starts `processes` `xdm events` at once, all on the saved login in `dir`, and reports each
/// one's exit code with its standard error.
async fn events_on_saved_login(
    emu: &Emulator,
    dir: &std::path::Path,
    processes: usize,
) -> Vec<(i32, String)> {
    let mut runs = tokio::task::JoinSet::new();
    for i in 0..processes {
        let mut cmd = tokio::process::Command::new(xdm_bin());
        cmd.args(["--base-url", emu.base_url(), "events", "--limit", "3"])
            .env_remove("X_OAUTH2_ACCESS_TOKEN")
            .env_remove("X_CONSUMER_KEY")
            .env_remove("X_CONSUMER_SECRET")
            .env_remove("X_ACCESS_TOKEN")
            .env_remove("X_ACCESS_TOKEN_SECRET")
            .env("XDM_CONFIG_DIR", dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        runs.spawn(async move {
            let ran = match tokio::time::timeout(Duration::from_secs(60), cmd.output()).await {
                Ok(Ok(out)) => (
                    out.status.code().unwrap_or(-1),
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                ),
                Ok(Err(e)) => (-1, e.to_string()),
                Err(_) => (-1, "hung for 60 s".to_owned()),
            };
            (i, ran)
        });
    }
    let mut ended: Vec<(usize, (i32, String))> = runs.join_all().await;
    ended.sort_by_key(|(i, _)| *i);
    ended.into_iter().map(|(_, ran)| ran).collect()
}

/// Several `xdm` processes on one saved login whose token has expired: X's refresh tokens
/// are single-use, so exactly one of them may refresh, and the others must take the token it
/// saved. Two ways to expire: by the clients' own clock (each refreshes before its first
/// request, under the token file's lock), and by the server's alone (each is refused with a
/// 401 first and refreshes after it, under the same lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_processes_sharing_a_saved_login_refresh_once() {
    use xdm_auth::oauth2::UserToken;
    use xdm_hyper::FileTokenStore;

    const PROCESSES: usize = 3;
    let mut tally = Tally::new("cli_refresh_once_across_processes");
    for expired_for in ["the clients", "the server only"] {
        let (emu, clock) = crate::world::emulator_on_manual_clock().await;
        let c = emu.credentials().oauth2.clone();
        let tmp = tempfile::tempdir().expect("a config directory");
        let dir = tmp.path();
        let now = std::time::SystemTime::now();
        let issued = if expired_for == "the clients" {
            now - Duration::from_secs(3 * 3600)
        } else {
            now
        };
        let saved = UserToken::new(c.access_token.clone(), issued)
            .with_refresh_token(c.refresh_token.clone())
            .with_expires_at(issued + Duration::from_secs(7200));
        let store = FileTokenStore::new(dir.join("token.json"));
        store.save_blocking(&saved).expect("saved");
        std::fs::write(
            dir.join("client.json"),
            serde_json::json!({"client_id": c.client_id, "client_secret": c.client_secret})
                .to_string(),
        )
        .expect("client saved");
        if expired_for == "the server only" {
            clock.advance(Duration::from_secs(3 * 3600));
        }
        let ran = events_on_saved_login(&emu, dir, PROCESSES).await;
        let refreshes = requests_to(&emu, "/2/oauth2/token");
        let listed = emu
            .handle()
            .requests()
            .iter()
            .filter(|r| r.template == "/2/dm_events" && r.status == Some(200))
            .count();
        let rotated = store.load_blocking().expect("readable").expect("a token");
        emu.shutdown().await;
        tally.record(
            format!("expired for {expired_for}: every process lists the events"),
            match ran.iter().find(|(code, _)| *code != 0) {
                None => Ok(()),
                Some((code, err)) => Err(format!("exit {code}: {}", err.trim())),
            },
        );
        tally.record(
            format!("expired for {expired_for}: each process's listing was served"),
            if listed == PROCESSES {
                Ok(())
            } else {
                Err(format!("{listed} listings served"))
            },
        );
        tally.record(
            format!("expired for {expired_for}: one refresh request"),
            if refreshes == 1 {
                Ok(())
            } else {
                Err(format!("{refreshes} refresh requests"))
            },
        );
        tally.record(
            format!("expired for {expired_for}: the rotated token is saved"),
            if rotated.supersedes(&saved) {
                Ok(())
            } else {
                Err("token.json still holds the spent token".into())
            },
        );
    }
    tally.finish();
}
