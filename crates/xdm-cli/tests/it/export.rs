//! Exports that finish, fail, or are killed, then resume with every event exactly once.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use xdm_emulator::{Emulator, Fault, FaultKind, GroupLimits, RateLimits};

use crate::common::{Emu, Running, ok, run, spawn, temp_dir, wait_exit, wait_line};

pub const LIST: &str = "/2/dm_events";

/// Kills an export and leaves its output as if it had died halfway through appending a
/// page.
pub fn kill_mid_line(export: &mut Running, out: &Path) {
    export.kill();
    std::fs::OpenOptions::new()
        .append(true)
        .open(out)
        .unwrap()
        .write_all(b"{\"id\":\"torn")
        .unwrap();
}

/// Two listing requests per three-second window: an export of five pages has to wait.
fn slow_reads(emu: &Emu) {
    let mut limits = RateLimits::default();
    limits.window = Duration::from_secs(3);
    limits.read = GroupLimits {
        user_per_window: 2,
        ..limits.read
    };
    emu.handle().set_rate_limits(limits);
}

pub fn world() -> Emu {
    Emu::with(Emulator::builder().seed_events(450))
}

/// Every event id the listing holds, read through the CLI with limits off.
pub fn listed_ids(emu: &Emu) -> Vec<String> {
    emu.handle().set_rate_limits(RateLimits::off());
    ok(emu.xdm(), &["--json", "events", "--limit", "100000"])
        .json_lines()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts that `out` holds each listed event exactly once, newest first.
pub fn assert_exactly_once(emu: &Emu, out: &Path) {
    let text = std::fs::read_to_string(out).unwrap();
    assert!(text.ends_with('\n'));
    let ids: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("line {l:?}: {e}"));
            v["id"].as_str().unwrap().to_owned()
        })
        .collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no event twice");
    assert_eq!(ids, listed_ids(emu), "every event, in order");
}

/// Pages the checkpoint at `path` counts (0 before it exists).
fn pages_written(path: &Path) -> u64 {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["pages"].as_u64())
        .unwrap_or(0)
}

#[test]
fn an_export_writes_every_event_as_sent_and_knows_when_it_is_done() {
    let emu = world();
    let dir = temp_dir("export");
    let out = dir.join("all.jsonl");
    let o = out.to_str().unwrap();
    let ran = ok(emu.xdm(), &["export", "--out", o]);
    assert!(ran.stderr.contains("exported to"), "{}", ran.stderr);
    assert!(ran.stdout.is_empty());
    assert_exactly_once(&emu, &out);
    let first_line: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert!(first_line.get("created_at").is_some() && first_line.get("sender_id").is_some());

    emu.handle().clear_requests();
    let again = ok(emu.xdm(), &["export", "--out", o, "--resume"]);
    assert!(
        again.stderr.contains("complete already"),
        "{}",
        again.stderr
    );
    assert_eq!(emu.api_requests(), 0);

    let other_scope = run(
        emu.xdm(),
        &[
            "export",
            "--out",
            o,
            "--resume",
            "--with",
            "1600000000000000003",
        ],
    );
    assert_eq!(other_scope.code, 2, "{}", other_scope.stderr);

    // A finished export may be started over.
    ok(emu.xdm(), &["export", "--out", o]);
    assert_exactly_once(&emu, &out);

    // The checkpoint refuses to match a file that was cut short behind its back.
    std::fs::write(&out, b"").unwrap();
    let cp = dir.join("all.jsonl.checkpoint");
    let mut checkpoint: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cp).unwrap()).unwrap();
    checkpoint["done"] = false.into();
    std::fs::write(&cp, checkpoint.to_string()).unwrap();
    let cut = run(emu.xdm(), &["export", "--out", o, "--resume"]);
    assert_eq!(cut.code, 1, "{}", cut.stderr);
    assert!(cut.stderr.contains("checkpoint says"), "{}", cut.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_export_stopped_by_faults_resumes_where_it_stopped() {
    let emu = world();
    let dir = temp_dir("export-faults");
    let out = dir.join("dms.jsonl");
    let o = out.to_str().unwrap();
    // Slow pages, so that X can start failing after the first ones are written.
    emu.handle().set_rate_limits(RateLimits::off());
    emu.handle().inject(Fault::always(
        "GET",
        LIST,
        FaultKind::DelayBody(Duration::from_millis(300)),
    ));
    let mut child = spawn(emu.xdm(), &["export", "--out", o]);
    let cp = dir.join("dms.jsonl.checkpoint");
    let started = std::time::Instant::now();
    while pages_written(&cp) < 1 {
        assert!(started.elapsed() < Duration::from_secs(15), "a first page");
        std::thread::sleep(Duration::from_millis(20));
    }
    emu.handle().clear_faults();
    emu.handle()
        .inject(Fault::always("GET", LIST, FaultKind::Status(503)));
    let code = wait_exit(&mut child.child, Duration::from_secs(30));
    assert_eq!(code, 6);
    let said: Vec<String> = child.stderr.try_iter().collect();
    assert!(said.iter().any(|l| l.contains("--resume")), "{said:?}");
    let written = pages_written(&cp);
    assert!(
        (1..5).contains(&written),
        "stopped mid-way, after {written} pages"
    );

    let fresh = run(emu.xdm(), &["export", "--out", o]);
    assert_eq!(fresh.code, 2, "an unfinished export is not overwritten");
    assert!(fresh.stderr.contains("--resume"), "{}", fresh.stderr);

    emu.handle().clear_faults();
    emu.handle().set_rate_limits(RateLimits::off());
    ok(emu.xdm(), &["export", "--out", o, "--resume"]);
    assert_exactly_once(&emu, &out);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_export_killed_at_any_point_resumes_with_every_event_once() {
    let emu = world();
    let dir = temp_dir("export-kill");
    let out = dir.join("dms.jsonl");
    let o = out.to_str().unwrap();

    // Killed while waiting out a rate limit, after two pages.
    slow_reads(&emu);
    let mut child = spawn(emu.xdm(), &["export", "--out", o]);
    assert!(
        wait_line(&child.stderr, Duration::from_secs(15), |l| l
            .contains("rate limited"))
        .is_some()
    );
    kill_mid_line(&mut child, &out);

    // Killed mid-request, while a page is on its way.
    emu.handle().set_rate_limits(RateLimits::off());
    emu.handle().inject(Fault::always(
        "GET",
        LIST,
        FaultKind::DelayBody(Duration::from_millis(400)),
    ));
    let mut child = spawn(emu.xdm(), &["export", "--out", o, "--resume"]);
    std::thread::sleep(Duration::from_millis(700));
    child.kill();

    emu.handle().clear_faults();
    ok(emu.xdm(), &["export", "--out", o, "--resume"]);
    assert_exactly_once(&emu, &out);
    let _ = std::fs::remove_dir_all(&dir);
}
