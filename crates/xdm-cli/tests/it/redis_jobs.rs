//! `export` and `watch` with their checkpoint in a real Redis (`--checkpoint-redis`): taken
//! over by another process when one dies, each event once, and a worker whose lease was
//! taken over stopped.

use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

use xdm_emulator::{Fault, FaultKind, RateLimits};

use crate::common::{
    Emu, Running, fails, me, ok, refused_as_bad_input, run, spawn, temp_dir, wait_line,
};
use crate::export::{LIST, assert_exactly_once, kill_mid_line, world};
use crate::redis_server::{Commands, RedisServer, free_port};
use crate::watch::{quick_polls, sent_id};

/// The Redis key of an account's job's checkpoint, as `xdm-redis` names it.
fn checkpoint_key(emu: &Emu, job: &str) -> String {
    format!("xdm:{{{}}}:job:{job}:checkpoint", me(emu))
}

/// The Redis key of an account's job's lease, as `xdm-redis` names it.
fn lease_key(emu: &Emu, job: &str) -> String {
    format!("xdm:{{{}}}:job:{job}:lease", me(emu))
}

/// The export checkpoint the job holds, if any.
fn checkpoint(redis: &RedisServer, emu: &Emu, job: &str) -> Option<serde_json::Value> {
    let data = redis.hget(&checkpoint_key(emu, job), "data")?;
    Some(serde_json::from_str(&data).expect("a JSON checkpoint"))
}

/// An export job of the emulator's `world` on a Redis of its own, writing to a file in a
/// temporary directory (removed when dropped).
struct ExportJob {
    redis: RedisServer,
    emu: Emu,
    dir: PathBuf,
    out: PathBuf,
    url: String,
}

impl ExportJob {
    fn start(tag: &str) -> ExportJob {
        let redis = RedisServer::start();
        let dir = temp_dir(tag);
        ExportJob {
            url: redis.url(),
            redis,
            emu: world(),
            out: dir.join("dms.jsonl"),
            dir,
        }
    }

    /// `export --out OUT --checkpoint-redis URL`, then `extra`.
    fn args<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let out = self.out.to_str().unwrap();
        let mut args = vec!["export", "--out", out, "--checkpoint-redis", &self.url];
        args.extend_from_slice(extra);
        args
    }

    /// The job's checkpoint, if any.
    fn checkpoint(&self) -> Option<serde_json::Value> {
        checkpoint(&self.redis, &self.emu, "export-all")
    }

    /// Waits until the job's checkpoint counts at least `pages` pages.
    fn wait_for_pages(&self, pages: u64) {
        let started = Instant::now();
        loop {
            let written = self
                .checkpoint()
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

    /// Starts `xdm args` on slow pages and waits until its checkpoint counts `pages` pages.
    fn running(&self, args: &[&str], pages: u64) -> Running {
        self.slow_pages();
        let worker = spawn(self.emu.xdm(), args);
        self.wait_for_pages(pages);
        worker
    }

    /// Slow pages with no rate limit: an export of five pages takes a while.
    fn slow_pages(&self) {
        self.emu.handle().set_rate_limits(RateLimits::off());
        self.emu.handle().inject(Fault::always(
            "GET",
            LIST,
            FaultKind::DelayBody(Duration::from_millis(300)),
        ));
    }
}

impl Drop for ExportJob {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
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

/// Waits for a worker to end with exit 1, saying another worker took its job over.
fn assert_taken_over(worker: &mut Running) {
    let said = worker.ends_with(1, Duration::from_secs(20));
    assert!(
        said.iter()
            .any(|l| l.contains("another worker took it over")),
        "{said:?}"
    );
}

/// Waits until a watcher says it is watching.
fn wait_watching(watch: &Running) -> bool {
    watch.says(Duration::from_secs(15), |l| l.starts_with("watching"))
}

/// Waits for the line on `stdout` that holds `id`, keeping every line read in `printed`.
fn wait_printed(watch: &Running, printed: &mut Vec<String>, id: &str) {
    let found = wait_line(&watch.stdout, Duration::from_secs(20), |l| {
        printed.push(l.to_owned());
        l.contains(id)
    });
    assert!(found.is_some(), "{printed:?}");
}

#[test]
fn an_export_on_redis_keeps_its_checkpoint_there_and_knows_when_it_is_done() {
    let job = ExportJob::start("redis-export");
    let (emu, redis, url) = (&job.emu, &job.redis, &job.url);
    emu.handle().set_rate_limits(RateLimits::off());
    let ran = ok(emu.xdm(), &job.args(&[]));
    assert!(ran.stderr.contains("exported to"), "{}", ran.stderr);
    assert_exactly_once(emu, &job.out);
    assert!(
        !job.dir.join("dms.jsonl.checkpoint").exists(),
        "no checkpoint file beside the output"
    );
    let cp = job.checkpoint().expect("a checkpoint in Redis");
    assert_eq!(cp["done"], true);
    assert_eq!(cp["scope"], "all");
    assert_eq!(
        redis.command(&["EXISTS", &lease_key(emu, "export-all")]),
        ":0\r\n",
        "the lease is let go at the end"
    );

    // A worker that comes later (here through XDM_REDIS_URL) finds the job done and leaves
    // the output alone.
    emu.handle().clear_requests();
    let mut later = emu.xdm();
    later.env("XDM_REDIS_URL", url);
    let again = ok(later, &["export", "--out", job.out.to_str().unwrap()]);
    assert!(
        again.stderr.contains("complete already"),
        "{}",
        again.stderr
    );
    assert_eq!(dm_event_requests(emu), 0);
    assert_exactly_once(emu, &job.out);

    // Another listing under the same job name is refused.
    fails(
        emu.xdm(),
        &job.args(&["--job", "export-all", "--with", "1600000000000000003"]),
        2,
        "choose another --job",
    );

    // With --force, the job starts over.
    ok(emu.xdm(), &job.args(&["--force"]));
    assert_exactly_once(emu, &job.out);
}

#[test]
fn an_export_killed_mid_way_is_taken_over_by_another_process_with_every_event_once() {
    let job = ExportJob::start("redis-export-kill");
    let args = job.args(&["--lease", "1"]);
    let mut first = job.running(&args, 2);
    kill_mid_line(&mut first, &job.out);
    let taken = job.checkpoint().unwrap();
    assert_eq!(taken["done"], false, "killed before the end");

    // The successor waits out the dead worker's lease, then resumes from its checkpoint.
    job.emu.handle().clear_faults();
    let started = Instant::now();
    let second = ok(job.emu.xdm(), &args);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the lease ended"
    );
    assert!(second.stderr.contains("exported to"), "{}", second.stderr);
    assert_exactly_once(&job.emu, &job.out);
}

#[test]
fn a_second_exporter_on_the_same_job_waits_and_finds_it_done() {
    let job = ExportJob::start("redis-export-two");
    // The export lasts longer than its lease: renewed, it is not taken over meanwhile.
    let args = job.args(&["--lease", "0.6"]);
    let mut first = job.running(&args, 1);
    let mut second = spawn(job.emu.xdm(), &args);
    assert!(
        second.says(Duration::from_secs(15), |l| l
            .contains("held by another worker")),
        "the second worker says it waits"
    );
    first.ends_with(0, Duration::from_secs(30));
    let said = second.ends_with(0, Duration::from_secs(30));
    assert!(
        said.iter().any(|l| l.contains("complete already")),
        "{said:?}"
    );
    assert_exactly_once(&job.emu, &job.out);
}

#[test]
fn a_worker_whose_lease_was_taken_over_stops_without_writing() {
    let job = ExportJob::start("redis-export-stale");
    let args = job.args(&["--lease", "1"]);
    let mut stale = job.running(&args, 1);
    // The worker stalls longer than its lease; another takes the job over and finishes it.
    signal(&stale.child, "-STOP");
    std::thread::sleep(Duration::from_millis(1500));
    job.emu.handle().clear_faults();
    let successor = ok(job.emu.xdm(), &args);
    assert!(
        successor.stderr.contains("exported to"),
        "{}",
        successor.stderr
    );
    let finished = std::fs::read(&job.out).unwrap();
    // The stalled worker wakes up: it must stop, with a clear error, and write nothing.
    signal(&stale.child, "-CONT");
    assert_taken_over(&mut stale);
    assert_eq!(
        std::fs::read(&job.out).unwrap(),
        finished,
        "nothing more written"
    );
    assert_exactly_once(&job.emu, &job.out);
}

#[test]
fn a_stolen_lease_stops_the_export_before_its_next_page_is_written() {
    let job = ExportJob::start("redis-export-stolen");
    // A long lease: its renewal does not come round before the next page does.
    let mut worker = job.running(&job.args(&["--lease", "60"]), 1);
    // Another worker's lease, as if this one's had expired and been claimed.
    let lease = lease_key(&job.emu, "export-all");
    assert_eq!(job.redis.command(&["SET", &lease, "999999"]), "+OK\r\n");
    assert_taken_over(&mut worker);
    // The page that came after the theft was not appended: the output ends where the last
    // checkpoint the worker saved says.
    let cp = job.checkpoint().unwrap();
    assert_eq!(
        std::fs::metadata(&job.out).unwrap().len(),
        cp["bytes"].as_u64().unwrap()
    );
    assert_eq!(cp["done"], false);
}

#[test]
fn redis_failing_mid_export_stops_it_with_the_checkpoint_kept() {
    let mut job = ExportJob::start("redis-export-down");
    let mut worker = job.running(&job.args(&[]), 1);
    job.redis.stop();
    let said = worker.ends_with(6, Duration::from_secs(30));
    assert!(
        said.iter()
            .any(|l| l.contains("Redis at 127.0.0.1") && l.contains("checkpoint kept")),
        "{said:?}"
    );
}

#[test]
fn a_checkpoint_of_another_job_or_damaged_is_refused() {
    let job = ExportJob::start("redis-damaged");
    let (emu, redis, url) = (&job.emu, &job.redis, job.url.as_str());
    emu.handle().set_rate_limits(RateLimits::off());
    let watch_args = ["watch", "--checkpoint-redis", url, "--job", "shared-name"];
    // A watch's checkpoint under a listing of its own, then a watch of another listing
    // pointed at it.
    let mut watch = spawn(emu.xdm(), &watch_args);
    assert!(wait_watching(&watch));
    std::thread::sleep(Duration::from_millis(300));
    watch.kill();
    let lease = lease_key(emu, "shared-name");
    redis.command(&["DEL", &lease]);
    let mut other = watch_args.to_vec();
    other.extend(["--with", "1600000000000000003"]);
    fails(emu.xdm(), &other, 2, "belongs to a watch of `all`");
    // An export pointed at a watch's checkpoint cannot read it.
    redis.command(&["DEL", &lease]);
    fails(
        emu.xdm(),
        &job.args(&["--job", "shared-name"]),
        1,
        "not an export's checkpoint",
    );
    // Nor a watch a damaged one.
    let key = checkpoint_key(emu, "shared-name");
    assert_eq!(redis.command(&["HSET", &key, "data", "{damaged"]), ":0\r\n");
    fails(emu.xdm(), &watch_args, 1, "not a watch's checkpoint");
    assert!(!job.out.exists(), "nothing was written");
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
    let ran = fails(
        emu.xdm(),
        &["export", "--out", o, "--checkpoint-redis", &url],
        6,
        "could not reach Redis",
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
    assert!(wait_watching(&first), "the first watcher starts");
    let one = sent_id(&ok(
        emu.as_user(&bob),
        &["--json", "send", "--to", &me, "one"],
    ));
    let mut printed_first = Vec::new();
    wait_printed(&first, &mut printed_first, &one);

    // A second watcher on the same job waits.
    let mut second = spawn(emu.xdm(), &args);
    assert!(
        second.says(Duration::from_secs(15), |l| l
            .contains("held by another worker")),
        "the second watcher waits"
    );
    // A few polls, so that the first one's checkpoint holds `one`; then it dies.
    std::thread::sleep(Duration::from_millis(800));
    first.kill();
    printed_first.extend(first.stdout.try_iter());
    let two = sent_id(&ok(
        emu.as_user(&bob),
        &["--json", "send", "--to", &me, "two"],
    ));
    assert!(
        second.says(Duration::from_secs(15), |l| l
            .contains("from the checkpoint")),
        "the second watcher takes over"
    );
    let mut printed_second = Vec::new();
    wait_printed(&second, &mut printed_second, &two);
    let three = sent_id(&ok(emu.xdm(), &["--json", "send", "--to", &bob, "three"]));
    wait_printed(&second, &mut printed_second, &three);
    std::thread::sleep(Duration::from_millis(600));
    printed_second.extend(second.stdout.try_iter());
    second.kill();

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
    assert!(wait_watching(&watch));
    let lease = lease_key(&emu, "watch-all");
    assert_eq!(redis.command(&["SET", &lease, "999999"]), "+OK\r\n");
    ok(
        emu.as_user(&bob),
        &["send", "--to", &me, "not for the old watcher"],
    );
    assert_taken_over(&mut watch);
    // Whatever it printed has reached the pipe's reader by now.
    std::thread::sleep(Duration::from_millis(200));
    let printed: Vec<String> = watch.stdout.try_iter().collect();
    assert!(printed.is_empty(), "{printed:?}");
}
