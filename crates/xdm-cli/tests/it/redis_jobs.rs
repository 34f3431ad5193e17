//! `export` and `watch` with their checkpoint in a real Redis (`--checkpoint-redis`): taken
//! over by another process when one dies, each event once, and a worker whose lease was
//! taken over stopped.

use std::io::Write;
use std::process::Child;
use std::time::{Duration, Instant};

use xdm_emulator::{Fault, FaultKind, RateLimits};

use crate::common::{
    Emu, me, ok, refused_as_bad_input, run, spawn, temp_dir, wait_exit, wait_line,
};
use crate::export::{LIST, assert_exactly_once, world};
use crate::redis_server::{RedisServer, free_port};
use crate::watch::{quick_polls, sent_id};

/// The Redis key of an account's job's checkpoint, as `xdm-redis` names it.
fn checkpoint_key(emu: &Emu, job: &str) -> String {
    format!("xdm:{{{}}}:job:{job}:checkpoint", me(emu))
}

/// The export checkpoint the job holds, if any.
fn checkpoint(redis: &RedisServer, emu: &Emu, job: &str) -> Option<serde_json::Value> {
    let data = redis.hget(&checkpoint_key(emu, job), "data")?;
    Some(serde_json::from_str(&data).expect("a JSON checkpoint"))
}

/// Waits until the export job's checkpoint counts at least `pages` pages.
fn wait_for_pages(redis: &RedisServer, emu: &Emu, pages: u64) {
    let started = Instant::now();
    loop {
        let written = checkpoint(redis, emu, "export-all")
            .and_then(|cp| cp["pages"].as_u64())
            .unwrap_or(0);
        if written >= pages {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{pages} pages written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Slow pages with no rate limit: an export of five pages takes a while.
fn slow_pages(emu: &Emu) {
    emu.handle().set_rate_limits(RateLimits::off());
    emu.handle().inject(Fault::always(
        "GET",
        LIST,
        FaultKind::DelayBody(Duration::from_millis(300)),
    ));
}

/// Stops (`SIGSTOP`) or continues (`SIGCONT`) a child, as a long pause of a machine would.
fn signal(child: &Child, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

fn dm_event_requests(emu: &Emu) -> usize {
    emu.handle()
        .requests()
        .iter()
        .filter(|r| r.path == LIST)
        .count()
}

#[test]
fn an_export_on_redis_keeps_its_checkpoint_there_and_knows_when_it_is_done() {
    let redis = RedisServer::start();
    let emu = world();
    emu.handle().set_rate_limits(RateLimits::off());
    let dir = temp_dir("redis-export");
    let out = dir.join("all.jsonl");
    let o = out.to_str().unwrap();
    let url = redis.url();
    let ran = ok(
        emu.xdm(),
        &["export", "--out", o, "--checkpoint-redis", &url],
    );
    assert!(ran.stderr.contains("exported to"), "{}", ran.stderr);
    assert_exactly_once(&emu, &out);
    assert!(
        !dir.join("all.jsonl.checkpoint").exists(),
        "no checkpoint file beside the output"
    );
    let cp = checkpoint(&redis, &emu, "export-all").expect("a checkpoint in Redis");
    assert_eq!(cp["done"], true);
    assert_eq!(cp["scope"], "all");
    assert_eq!(
        redis.command(&[
            "EXISTS",
            &format!("xdm:{{{}}}:job:export-all:lease", me(&emu))
        ]),
        ":0\r\n",
        "the lease is let go at the end"
    );

    // A worker that comes later (here through XDM_REDIS_URL) finds the job done and leaves
    // the output alone.
    emu.handle().clear_requests();
    let mut later = emu.xdm();
    later.env("XDM_REDIS_URL", &url);
    let again = ok(later, &["export", "--out", o]);
    assert!(
        again.stderr.contains("complete already"),
        "{}",
        again.stderr
    );
    assert_eq!(dm_event_requests(&emu), 0);
    assert_exactly_once(&emu, &out);

    // Another listing under the same job name is refused.
    let other = run(
        emu.xdm(),
        &[
            "export",
            "--out",
            o,
            "--checkpoint-redis",
            &url,
            "--job",
            "export-all",
            "--with",
            "1600000000000000003",
        ],
    );
    assert_eq!(other.code, 2, "{}", other.stderr);
    assert!(
        other.stderr.contains("choose another --job"),
        "{}",
        other.stderr
    );

    // With --force, the job starts over.
    ok(
        emu.xdm(),
        &["export", "--out", o, "--checkpoint-redis", &url, "--force"],
    );
    assert_exactly_once(&emu, &out);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_export_killed_mid_way_is_taken_over_by_another_process_with_every_event_once() {
    let redis = RedisServer::start();
    let emu = world();
    let dir = temp_dir("redis-export-kill");
    let out = dir.join("dms.jsonl");
    let o = out.to_str().unwrap();
    let url = redis.url();
    let args = [
        "export",
        "--out",
        o,
        "--checkpoint-redis",
        &url,
        "--lease",
        "1",
    ];
    slow_pages(&emu);
    let mut first = spawn(emu.xdm(), &args);
    wait_for_pages(&redis, &emu, 2);
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    // As if it had died halfway through appending a page.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&out)
        .unwrap()
        .write_all(b"{\"id\":\"torn")
        .unwrap();
    let taken = checkpoint(&redis, &emu, "export-all").unwrap();
    assert_eq!(taken["done"], false, "killed before the end");

    // The successor waits out the dead worker's lease, then resumes from its checkpoint.
    emu.handle().clear_faults();
    let started = Instant::now();
    let second = ok(emu.xdm(), &args);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the lease ended"
    );
    assert!(second.stderr.contains("exported to"), "{}", second.stderr);
    assert_exactly_once(&emu, &out);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_second_exporter_on_the_same_job_waits_and_finds_it_done() {
    let redis = RedisServer::start();
    let emu = world();
    let dir = temp_dir("redis-export-two");
    let out = dir.join("dms.jsonl");
    let o = out.to_str().unwrap();
    let url = redis.url();
    // The export lasts longer than its lease: renewed, it is not taken over meanwhile.
    let args = [
        "export",
        "--out",
        o,
        "--checkpoint-redis",
        &url,
        "--lease",
        "0.6",
    ];
    slow_pages(&emu);
    let mut first = spawn(emu.xdm(), &args);
    wait_for_pages(&redis, &emu, 1);
    let mut second = spawn(emu.xdm(), &args);
    let waiting = wait_line(&second.stderr, Duration::from_secs(15), |l| {
        l.contains("held by another worker")
    });
    assert!(waiting.is_some(), "the second worker says it waits");
    let first_code = wait_exit(&mut first.child, Duration::from_secs(30));
    let first_said: Vec<String> = first.stderr.try_iter().collect();
    assert_eq!(first_code, 0, "{first_said:?}");
    assert_eq!(wait_exit(&mut second.child, Duration::from_secs(30)), 0);
    let said: Vec<String> = second.stderr.try_iter().collect();
    assert!(
        said.iter().any(|l| l.contains("complete already")),
        "{said:?}"
    );
    assert_exactly_once(&emu, &out);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_worker_whose_lease_was_taken_over_stops_without_writing() {
    let redis = RedisServer::start();
    let emu = world();
    let dir = temp_dir("redis-export-stale");
    let out = dir.join("dms.jsonl");
    let o = out.to_str().unwrap();
    let url = redis.url();
    let args = [
        "export",
        "--out",
        o,
        "--checkpoint-redis",
        &url,
        "--lease",
        "1",
    ];
    slow_pages(&emu);
    let mut stale = spawn(emu.xdm(), &args);
    wait_for_pages(&redis, &emu, 1);
    // The worker stalls longer than its lease; another takes the job over and finishes it.
    signal(&stale.child, "-STOP");
    std::thread::sleep(Duration::from_millis(1500));
    emu.handle().clear_faults();
    let successor = ok(emu.xdm(), &args);
    assert!(
        successor.stderr.contains("exported to"),
        "{}",
        successor.stderr
    );
    let finished = std::fs::read(&out).unwrap();
    // The stalled worker wakes up: it must stop, with a clear error, and write nothing.
    signal(&stale.child, "-CONT");
    let code = wait_exit(&mut stale.child, Duration::from_secs(20));
    let said: Vec<String> = stale.stderr.try_iter().collect();
    assert_eq!(code, 1, "{said:?}");
    assert!(
        said.iter()
            .any(|l| l.contains("another worker took it over")),
        "{said:?}"
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        finished,
        "nothing more written"
    );
    assert_exactly_once(&emu, &out);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stolen_lease_stops_the_export_before_its_next_page_is_written() {
    let redis = RedisServer::start();
    let emu = world();
    let dir = temp_dir("redis-export-stolen");
    let out = dir.join("dms.jsonl");
    let o = out.to_str().unwrap();
    let url = redis.url();
    slow_pages(&emu);
    // A long lease: its renewal does not come round before the next page does.
    let mut worker = spawn(
        emu.xdm(),
        &[
            "export",
            "--out",
            o,
            "--checkpoint-redis",
            &url,
            "--lease",
            "60",
        ],
    );
    wait_for_pages(&redis, &emu, 1);
    // Another worker's lease, as if this one's had expired and been claimed.
    let lease = format!("xdm:{{{}}}:job:export-all:lease", me(&emu));
    assert_eq!(redis.command(&["SET", &lease, "999999"]), "+OK\r\n");
    let code = wait_exit(&mut worker.child, Duration::from_secs(20));
    let said: Vec<String> = worker.stderr.try_iter().collect();
    assert_eq!(code, 1, "{said:?}");
    assert!(
        said.iter()
            .any(|l| l.contains("another worker took it over")),
        "{said:?}"
    );
    // The page that came after the theft was not appended: the output ends where the last
    // checkpoint the worker saved says.
    let cp = checkpoint(&redis, &emu, "export-all").unwrap();
    assert_eq!(
        std::fs::metadata(&out).unwrap().len(),
        cp["bytes"].as_u64().unwrap()
    );
    assert_eq!(cp["done"], false);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn redis_failing_mid_export_stops_it_with_the_checkpoint_kept() {
    let mut redis = RedisServer::start();
    let emu = world();
    let dir = temp_dir("redis-export-down");
    let out = dir.join("dms.jsonl");
    let o = out.to_str().unwrap();
    let url = redis.url();
    slow_pages(&emu);
    let mut worker = spawn(
        emu.xdm(),
        &["export", "--out", o, "--checkpoint-redis", &url],
    );
    wait_for_pages(&redis, &emu, 1);
    redis.stop();
    let code = wait_exit(&mut worker.child, Duration::from_secs(30));
    let said: Vec<String> = worker.stderr.try_iter().collect();
    assert_eq!(code, 6, "{said:?}");
    assert!(
        said.iter()
            .any(|l| l.contains("Redis at 127.0.0.1") && l.contains("checkpoint kept")),
        "{said:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_checkpoint_of_another_job_or_damaged_is_refused() {
    let redis = RedisServer::start();
    let emu = world();
    emu.handle().set_rate_limits(RateLimits::off());
    let dir = temp_dir("redis-damaged");
    let out = dir.join("dms.jsonl");
    let o = out.to_str().unwrap();
    let url = redis.url();
    // A watch's checkpoint under a listing of its own, then a watch of another listing
    // pointed at it.
    let mut watch = spawn(
        emu.xdm(),
        &["watch", "--checkpoint-redis", &url, "--job", "shared-name"],
    );
    assert!(
        wait_line(&watch.stderr, Duration::from_secs(15), |l| l
            .starts_with("watching"))
        .is_some()
    );
    std::thread::sleep(Duration::from_millis(300));
    watch.child.kill().unwrap();
    watch.child.wait().unwrap();
    let lease = format!("xdm:{{{}}}:job:shared-name:lease", me(&emu));
    redis.command(&["DEL", &lease]);
    let other = run(
        emu.xdm(),
        &[
            "watch",
            "--checkpoint-redis",
            &url,
            "--job",
            "shared-name",
            "--with",
            "1600000000000000003",
        ],
    );
    assert_eq!(other.code, 2, "{}", other.stderr);
    assert!(
        other.stderr.contains("belongs to a watch of `all`"),
        "{}",
        other.stderr
    );
    // An export pointed at a watch's checkpoint cannot read it.
    redis.command(&["DEL", &lease]);
    let export = run(
        emu.xdm(),
        &[
            "export",
            "--out",
            o,
            "--checkpoint-redis",
            &url,
            "--job",
            "shared-name",
        ],
    );
    assert_eq!(export.code, 1, "{}", export.stderr);
    assert!(
        export.stderr.contains("not an export's checkpoint"),
        "{}",
        export.stderr
    );
    // Nor a watch a damaged one.
    let key = checkpoint_key(&emu, "shared-name");
    assert_eq!(redis.command(&["HSET", &key, "data", "{damaged"]), ":0\r\n");
    let damaged = run(
        emu.xdm(),
        &["watch", "--checkpoint-redis", &url, "--job", "shared-name"],
    );
    assert_eq!(damaged.code, 1, "{}", damaged.stderr);
    assert!(
        damaged.stderr.contains("not a watch's checkpoint"),
        "{}",
        damaged.stderr
    );
    assert!(!out.exists(), "nothing was written");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_or_unreachable_redis_is_a_clear_error_before_any_request() {
    let emu = Emu::start();
    let dir = temp_dir("redis-bad");
    let out = dir.join("x.jsonl");
    let o = out.to_str().unwrap();
    refused_as_bad_input(
        emu.xdm(),
        &[
            "export",
            "--out",
            o,
            "--checkpoint-redis",
            "http://127.0.0.1:6379/",
        ],
        "--checkpoint-redis",
    );
    refused_as_bad_input(
        emu.xdm(),
        &["watch", "--checkpoint-redis", "redis://127.0.0.1:99999/"],
        "not usable",
    );
    refused_as_bad_input(emu.xdm(), &["watch", "--job", "w"], "--checkpoint-redis");
    let url = format!("redis://127.0.0.1:{}/", free_port());
    refused_as_bad_input(
        emu.xdm(),
        &[
            "export",
            "--out",
            o,
            "--checkpoint-redis",
            &url,
            "--job",
            "a b",
        ],
        "--job",
    );
    refused_as_bad_input(
        emu.xdm(),
        &["watch", "--checkpoint-redis", &url, "--lease", "0"],
        "lease",
    );
    let started = Instant::now();
    let ran = run(
        emu.xdm(),
        &["export", "--out", o, "--checkpoint-redis", &url],
    );
    assert_eq!(ran.code, 6, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("could not reach Redis"),
        "{}",
        ran.stderr
    );
    assert!(!ran.stderr.contains(&url), "the URL is not repeated");
    assert!(started.elapsed() < Duration::from_secs(5), "at once");
    let mut from_env = emu.xdm();
    from_env.env("XDM_REDIS_URL", &url);
    let ran = run(from_env, &["watch"]);
    assert_eq!(ran.code, 6, "{}", ran.stderr);
    assert!(emu.handle().requests().is_empty(), "nothing reached X");
    assert!(!out.exists(), "no output was created");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_watch_taken_over_after_its_watcher_is_killed_prints_each_event_once() {
    let redis = RedisServer::start();
    let emu = Emu::start();
    quick_polls(&emu);
    let bob = emu.handle().users()[1].id.clone();
    let me = me(&emu);
    let url = redis.url();
    let args = [
        "--json",
        "watch",
        "--interval",
        "0.2",
        "--checkpoint-redis",
        &url,
        "--lease",
        "1",
    ];
    let ids = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["id"].as_str().unwrap().to_owned()
            })
            .collect()
    };

    let mut first = spawn(emu.xdm(), &args);
    assert!(
        wait_line(&first.stderr, Duration::from_secs(15), |l| l
            .starts_with("watching"))
        .is_some(),
        "the first watcher starts"
    );
    let one = sent_id(&ok(
        emu.as_user(&bob),
        &["--json", "send", "--to", &me, "one"],
    ));
    let mut printed_first = Vec::new();
    let found = wait_line(&first.stdout, Duration::from_secs(20), |l| {
        printed_first.push(l.to_owned());
        l.contains(&one)
    });
    assert!(found.is_some(), "{printed_first:?}");

    // A second watcher on the same job waits.
    let mut second = spawn(emu.xdm(), &args);
    assert!(
        wait_line(&second.stderr, Duration::from_secs(15), |l| l
            .contains("held by another worker"))
        .is_some(),
        "the second watcher waits"
    );
    // A few polls, so that the first one's checkpoint holds `one`; then it dies.
    std::thread::sleep(Duration::from_millis(800));
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    printed_first.extend(first.stdout.try_iter());
    let two = sent_id(&ok(
        emu.as_user(&bob),
        &["--json", "send", "--to", &me, "two"],
    ));
    assert!(
        wait_line(&second.stderr, Duration::from_secs(15), |l| l
            .contains("from the checkpoint"))
        .is_some(),
        "the second watcher takes over"
    );
    let mut printed_second = Vec::new();
    let found = wait_line(&second.stdout, Duration::from_secs(20), |l| {
        printed_second.push(l.to_owned());
        l.contains(&two)
    });
    assert!(found.is_some(), "{printed_second:?}");
    let three = sent_id(&ok(emu.xdm(), &["--json", "send", "--to", &bob, "three"]));
    let found = wait_line(&second.stdout, Duration::from_secs(20), |l| {
        printed_second.push(l.to_owned());
        l.contains(&three)
    });
    assert!(found.is_some(), "{printed_second:?}");
    std::thread::sleep(Duration::from_millis(600));
    printed_second.extend(second.stdout.try_iter());
    second.child.kill().unwrap();
    second.child.wait().unwrap();

    assert_eq!(ids(&printed_first), [one]);
    assert_eq!(ids(&printed_second), [two, three]);
}

#[test]
fn a_watcher_whose_lease_was_taken_over_stops_without_printing() {
    let redis = RedisServer::start();
    let emu = Emu::start();
    quick_polls(&emu);
    let bob = emu.handle().users()[1].id.clone();
    let me = me(&emu);
    let url = redis.url();
    let mut watch = spawn(
        emu.xdm(),
        &[
            "--json",
            "watch",
            "--interval",
            "0.2",
            "--checkpoint-redis",
            &url,
            "--lease",
            "60",
        ],
    );
    assert!(
        wait_line(&watch.stderr, Duration::from_secs(15), |l| l
            .starts_with("watching"))
        .is_some()
    );
    let lease = format!("xdm:{{{me}}}:job:watch-all:lease");
    assert_eq!(redis.command(&["SET", &lease, "999999"]), "+OK\r\n");
    ok(
        emu.as_user(&bob),
        &["send", "--to", &me, "not for the old watcher"],
    );
    let code = wait_exit(&mut watch.child, Duration::from_secs(20));
    let said: Vec<String> = watch.stderr.try_iter().collect();
    assert_eq!(code, 1, "{said:?}");
    assert!(
        said.iter()
            .any(|l| l.contains("another worker took it over")),
        "{said:?}"
    );
    // Whatever it printed has reached the pipe's reader by now.
    std::thread::sleep(Duration::from_millis(200));
    let printed: Vec<String> = watch.stdout.try_iter().collect();
    assert!(printed.is_empty(), "{printed:?}");
}
