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

use crate::support::Tally;
use crate::world::generous_limits;

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
        (
            "HOME",
            std::env::temp_dir()
                .join("xdm-rel-home")
                .display()
                .to_string(),
        ),
        (
            "XDG_CONFIG_HOME",
            std::env::temp_dir()
                .join("xdm-rel-home")
                .display()
                .to_string(),
        ),
    ]
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
            vec!["send", "--conversation", "1-", "hi"],
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
                "x-y",
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
    let dir = std::env::temp_dir().join(format!("xdm-rel-export-{}-{seed}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
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
    let _ = std::fs::remove_dir_all(&dir);
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

async fn watch_cell(
    kind: Option<FaultKind>,
    cap: Option<&'static str>,
    expect: WatchExpect,
) -> Result<(), String> {
    use tokio::io::AsyncBufReadExt;
    let emu = start_emulator(10).await;
    let h = emu.handle();
    let c = &emu.credentials().oauth1;
    let client = xdm_hyper::builder()
        .base_url(emu.base_url())
        .map_err(|e| e.to_string())?
        .credentials(xdm_client::Credentials::oauth1(
            c.consumer_key.clone(),
            c.consumer_secret.clone(),
            c.access_token.clone(),
            c.access_token_secret.clone(),
        ))
        .build()
        .map_err(|e| e.to_string())?;
    let alice = xdm_core::ids::UserId::parse(&h.users()[1].id).map_err(|e| e.to_string())?;
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
    let polls = || {
        h.requests()
            .iter()
            .filter(|r| r.template == "/2/dm_events")
            .count()
    };
    wait_until("the first poll", || polls() > 0).await?;
    let send = |text: String| {
        let client = client.clone();
        let alice = alice.clone();
        async move {
            client
                .send_to_participant(
                    &alice,
                    xdm_core::endpoints::Message::text(text).expect("valid"),
                )
                .await
                .map(|s| s.event_id)
                .map_err(|e| e.to_string())
        }
    };
    let printed = |id: &str| {
        lines
            .lock()
            .expect("lock")
            .iter()
            .filter(|l| l.contains(&format!("\"{id}\"")))
            .count()
    };
    let a = send("before the fault".into()).await?;
    wait_until("the first message", || printed(&a) > 0).await?;
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
            let b = send("during the fault".into()).await?;
            let c2 = send("after the fault".into()).await?;
            wait_until("the later messages", || printed(&b) > 0 && printed(&c2) > 0).await?;
            // A few more polls, to let a duplicate show if there is one.
            tokio::time::sleep(Duration::from_millis(600)).await;
            let counts = [printed(&a), printed(&b), printed(&c2)];
            if counts == [1, 1, 1] {
                Ok(())
            } else {
                Err(format!("printed {counts:?} times"))
            }
        }
        WatchExpect::Exits5 => {
            match tokio::time::timeout(Duration::from_secs(8), child.wait()).await {
                Ok(Ok(status)) if status.code() == Some(5) => {
                    if printed(&a) == 1 {
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
    let _ = child.start_kill();
    let _ = child.wait().await;
    reader.abort();
    emu.shutdown().await;
    outcome
}

/// `xdm watch` against every fault of the emulator on one of its polls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_watch_survives_every_fault() {
    let late = Duration::from_millis(600);
    let mut cells: Vec<(String, Option<FaultKind>, Option<&'static str>, WatchExpect)> = [
        FaultKind::CloseBeforeResponse,
        FaultKind::CloseAfterProcessing,
        FaultKind::CloseAfterHeaders,
        FaultKind::CloseMidBody,
        FaultKind::Status(500),
        FaultKind::Status(502),
        FaultKind::Status(503),
        FaultKind::Status(504),
        FaultKind::DelayHeaders(late),
        FaultKind::DelayBody(late),
        FaultKind::TruncatedJson,
        FaultKind::InvalidJson,
        FaultKind::OversizedBody(32 * 1024 * 1024),
    ]
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
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(4));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (name, kind, cap, expect)) in cells.into_iter().enumerate() {
        let limit = limit.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("open");
            let outcome =
                tokio::time::timeout(Duration::from_secs(25), watch_cell(kind, cap, expect))
                    .await
                    .unwrap_or_else(|_| Err("hung".into()));
            (i, format!("{name} (expect {expect:?})"), outcome)
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        results.push(joined.expect("no cell panics"));
    }
    results.sort_by_key(|(i, _, _)| *i);
    let mut tally = Tally::new("cli_watch_x_faults");
    for (_, name, outcome) in results {
        tally.record(name, outcome);
    }
    tally.finish();
}
