//! Hardening against hostile files, servers and environments: each test reproduces one way
//! a careless environment, an odd file or a lying server could make `xdm` spend without
//! bound, lose what the user owns, or report the wrong outcome.

use std::process::Stdio;

use crate::common::{Emu, Ran, refused_as_bad_input, run, run_with_stdin};

/// Runs `cmd` with `args`, standard input read from the file at `stdin`.
fn run_with_stdin_file(mut cmd: std::process::Command, args: &[&str], stdin: &str) -> Ran {
    let file = std::fs::File::open(stdin).expect("opens");
    cmd.stdin(Stdio::from(file));
    run(cmd, args)
}

#[test]
fn standard_input_is_capped_above_the_longest_message() {
    let emu = Emu::start();
    let ran = run_with_stdin_file(emu.xdm(), &["send", "--to", "12", "-"], "/dev/zero");
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("longer than 40960 bytes"),
        "{}",
        ran.stderr
    );
    // X's longest message, in four-byte characters, still fits.
    let longest = "😀".repeat(10_000);
    let ran = run_with_stdin(emu.xdm(), &["send", "--to", "12", "-"], &longest);
    assert!(!ran.stderr.contains("longer than"), "{}", ran.stderr);
    assert_eq!(emu.api_requests(), usize::from(ran.code != 2));
}

#[test]
fn zero_ids_self_conversations_and_invisible_texts_are_refused_before_any_request() {
    let emu = Emu::start();
    let cases: &[(&[&str], &str)] = &[
        (&["event", "0"], "invalid event_id"),
        (&["delete", "000"], "invalid event_id"),
        (&["block", "0"], "invalid user_id"),
        (&["send", "--to", "0", "hi"], "invalid to"),
        (&["send", "--group", "12,0", "hi"], "invalid group"),
        (
            &["send", "--conversation", "5-5", "hi"],
            "invalid conversation",
        ),
        (
            &["events", "--conversation", "7-07"],
            "invalid conversation",
        ),
        (&["events", "--with", "0"], "invalid with"),
        (&["send", "--to", "12", "\u{200B}"], "invisible"),
        (&["send", "--to", "12", "\u{FEFF} \u{2060}"], "invisible"),
        (
            &["send", "--to", "12", "--media-id", "0", "hi"],
            "invalid media_id",
        ),
    ];
    for (args, says) in cases {
        refused_as_bad_input(emu.xdm(), args, says);
    }
    // A NUL cannot be an argument; it can come on standard input.
    let ran = run_with_stdin(emu.xdm(), &["send", "--to", "12", "-"], "hi\0there");
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("NUL"), "{}", ran.stderr);
    assert_eq!(emu.api_requests(), 0);
}

/// A server on 127.0.0.1 that answers every request with what `answer` returns for its
/// request line (one answer per connection, then closes): a hostile X in a few lines.
pub struct Canned {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Canned {
    /// Starts answering with `answer(request_line, request_number)`.
    pub fn start(answer: impl Fn(&str, usize) -> Vec<u8> + Send + 'static) -> Canned {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut length = 0usize;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                        break;
                    }
                    let lower = header.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let n = {
                    let mut log = log.lock().expect("log");
                    log.push(line.trim().to_owned());
                    log.len()
                };
                let _ = stream.write_all(&answer(line.trim(), n));
                let _ = stream.flush();
            }
        });
        Canned { url, requests }
    }

    /// The request lines received so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("log").clone()
    }

    /// `xdm --base-url URL` with a token and a clean environment.
    pub fn xdm(&self, config_dir: &std::path::Path) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_xdm"));
        cmd.env_clear()
            .env("XDM_CONFIG_DIR", config_dir)
            .env("X_OAUTH2_ACCESS_TOKEN", "canned-token")
            .arg("--base-url")
            .arg(&self.url)
            .stdin(Stdio::null());
        cmd
    }
}

/// An HTTP/1.1 answer with `status`, extra `headers` and a JSON `body`.
pub fn http_answer(status: u16, headers: &[(&str, String)], body: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

/// A 429 whose window resets at the Unix second `reset`.
fn too_many(reset: u64) -> Vec<u8> {
    http_answer(
        429,
        &[
            ("x-rate-limit-limit", "15".into()),
            ("x-rate-limit-remaining", "0".into()),
            ("x-rate-limit-reset", reset.to_string()),
        ],
        r#"{"title":"Too Many Requests","type":"about:blank","status":429,"detail":"Too Many Requests"}"#,
    )
}

#[test]
fn a_reset_centuries_ahead_is_a_rate_limit_failure_with_its_date() {
    // 3000-01-01T00:00:00Z.
    let server = Canned::start(|_, _| too_many(32_503_680_000));
    let dir = crate::common::temp_dir("far-reset");
    let out = dir.join("dms.jsonl");
    let out = out.to_str().unwrap();
    for args in [
        &["events"][..],
        &["export", "--out", out][..],
        &["watch"][..],
    ] {
        let ran = run(server.xdm(&dir), args);
        assert_eq!(ran.code, 5, "xdm {args:?}: {}", ran.stderr);
        assert!(
            ran.stderr.contains("3000-01-01 00:00:00 UTC"),
            "xdm {args:?}: {}",
            ran.stderr
        );
        assert!(!ran.stderr.contains("8529863h"), "{}", ran.stderr);
    }
    // A reset later today shows no date: it reads as today's time.
    let soon = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60;
    let server = Canned::start(move |_, _| too_many(soon));
    let ran = run(server.xdm(&dir), &["events"]);
    assert_eq!(ran.code, 5, "{}", ran.stderr);
    assert!(ran.stderr.contains("(in "), "{}", ran.stderr);
}

/// The permission bits of `path`.
#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn export_never_replaces_a_file_it_did_not_write() {
    let emu = Emu::with(xdm_emulator::Emulator::builder().seed_events(30));
    let dir = crate::common::temp_dir("precious");
    let out = dir.join("precious.txt");
    let o = out.to_str().unwrap();
    std::fs::write(&out, "my own notes\n").unwrap();
    let ran = run(emu.xdm(), &["export", "--out", o]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("--force"), "{}", ran.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "my own notes\n");
    assert!(!dir.join("precious.txt.checkpoint").exists());

    // --resume with no checkpoint says there is nothing to resume.
    let ran = run(emu.xdm(), &["export", "--out", o, "--resume"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("nothing to resume"), "{}", ran.stderr);
    let fresh = dir.join("fresh.jsonl");
    let ran = run(
        emu.xdm(),
        &["export", "--out", fresh.to_str().unwrap(), "--resume"],
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(!fresh.exists());
    assert_eq!(emu.api_requests(), 0);

    // --force replaces it, and the export is readable by its owner alone.
    let ran = run(emu.xdm(), &["export", "--out", o, "--force"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        !std::fs::read_to_string(&out)
            .unwrap()
            .contains("my own notes")
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&out), 0o600);
        assert_eq!(mode(&dir.join("precious.txt.checkpoint")), 0o600);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn export_files_are_created_private() {
    let emu = Emu::with(xdm_emulator::Emulator::builder().seed_events(5));
    let dir = crate::common::temp_dir("private");
    let out = dir.join("dms.jsonl");
    let ran = run(emu.xdm(), &["export", "--out", out.to_str().unwrap()]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    #[cfg(unix)]
    {
        assert_eq!(mode(&out), 0o600);
        assert_eq!(mode(&dir.join("dms.jsonl.checkpoint")), 0o600);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_checkpoint_that_disagrees_with_its_output_is_refused() {
    let emu = Emu::with(xdm_emulator::Emulator::builder().seed_events(30));
    let dir = crate::common::temp_dir("disagree");
    let out = dir.join("dms.jsonl");
    let o = out.to_str().unwrap();
    let cp_path = dir.join("dms.jsonl.checkpoint");
    assert_eq!(run(emu.xdm(), &["export", "--out", o]).code, 0);
    let exported = std::fs::read(&out).unwrap();
    let good: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cp_path).unwrap()).unwrap();
    let bytes = good["bytes"].as_u64().unwrap();
    let events = good["events"].as_u64().unwrap();
    // (what is changed, the checkpoint, the output, what the refusal says)
    let mut altered = exported.clone();
    let at = altered.iter().position(|&b| b.is_ascii_digit()).unwrap();
    altered[at] = if altered[at] == b'9' { b'8' } else { b'9' };
    let cases: Vec<(&str, u64, u64, Vec<u8>, &str)> = vec![
        (
            "offset inside a line",
            bytes - 5,
            events,
            exported.clone(),
            "not the end of a line",
        ),
        (
            "count off by one",
            bytes,
            events + 1,
            exported.clone(),
            "events before",
        ),
        (
            "output edited",
            bytes,
            events,
            altered,
            "not those it wrote",
        ),
        (
            "output cut",
            bytes,
            events,
            exported[..10].to_vec(),
            "checkpoint says",
        ),
    ];
    emu.handle().clear_requests();
    for (case, b, e, output, says) in cases {
        let mut cp = good.clone();
        cp["bytes"] = b.into();
        cp["events"] = e.into();
        cp["done"] = false.into();
        cp["next_token"] = "18LAA5G1SL0NR5OG0G00ZZZZ".into();
        std::fs::write(&cp_path, cp.to_string()).unwrap();
        std::fs::write(&out, &output).unwrap();
        let ran = run(emu.xdm(), &["export", "--out", o, "--resume"]);
        assert_eq!(ran.code, 1, "{case}: {}", ran.stderr);
        assert!(ran.stderr.contains(says), "{case}: {}", ran.stderr);
        assert!(ran.stderr.contains("start over"), "{case}: {}", ran.stderr);
        assert_eq!(
            std::fs::read(&out).unwrap(),
            output,
            "{case}: left as it was"
        );
    }
    // A finished export is started over only while the file is still the one it wrote.
    let mut done = good.clone();
    done["done"] = true.into();
    std::fs::write(&cp_path, done.to_string()).unwrap();
    std::fs::write(&out, b"{\"id\":\"1\"}\n").unwrap();
    let ran = run(emu.xdm(), &["export", "--out", o]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert_eq!(std::fs::read(&out).unwrap(), b"{\"id\":\"1\"}\n");
    assert_eq!(emu.api_requests(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_resume_token_x_refuses_says_to_start_over() {
    let emu = Emu::with(xdm_emulator::Emulator::builder().seed_events(5));
    let dir = crate::common::temp_dir("refused-token");
    let out = dir.join("dms.jsonl");
    let o = out.to_str().unwrap();
    let cp_path = dir.join("dms.jsonl.checkpoint");
    assert_eq!(run(emu.xdm(), &["export", "--out", o]).code, 0);
    let mut cp: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cp_path).unwrap()).unwrap();
    cp["done"] = false.into();
    cp["next_token"] = "NOTATOKENXDMXDMXDMXDM".into();
    std::fs::write(&cp_path, cp.to_string()).unwrap();
    let ran = run(emu.xdm(), &["export", "--out", o, "--resume"]);
    assert_eq!(ran.code, 4, "{}", ran.stderr);
    assert!(ran.stderr.contains("start over"), "{}", ran.stderr);
    assert!(
        !ran.stderr.contains("--resume to continue"),
        "{}",
        ran.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_output_that_keeps_no_bytes_is_refused() {
    let emu = Emu::start();
    let dir = crate::common::temp_dir("devnull");
    for out in ["/dev/null", dir.to_str().unwrap()] {
        let ran = run(emu.xdm(), &["export", "--out", out]);
        assert_eq!(ran.code, 2, "{out}: {}", ran.stderr);
        assert!(
            ran.stderr.contains("not a regular file"),
            "{out}: {}",
            ran.stderr
        );
    }
    assert!(!std::path::Path::new("/dev/null.checkpoint").exists());
    assert_eq!(emu.api_requests(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_malformed_next_token_is_an_error_not_the_end() {
    let page = r#"{"data":[{"id":"1585800613253812228","event_type":"MessageCreate","text":"hi"}],"meta":{"result_count":1,"next_token":"bad token"}}"#;
    let server = Canned::start(move |_, _| http_answer(200, &[], page));
    let dir = crate::common::temp_dir("bad-token");
    let out = dir.join("dms.jsonl");
    let ran = run(
        server.xdm(&dir),
        &["export", "--out", out.to_str().unwrap()],
    );
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("next_token"), "{}", ran.stderr);
    let cp: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("dms.jsonl.checkpoint")).unwrap()).unwrap();
    assert_eq!(cp["done"], false);
    assert_eq!(server.requests().len(), 1);
    // `events` prints the page it got, then fails instead of ending as if complete.
    let ran = run(server.xdm(&dir), &["events", "--json"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stdout.contains("1585800613253812228"), "{}", ran.stdout);
    assert!(ran.stderr.contains("next_token"), "{}", ran.stderr);
    assert_eq!(server.requests().len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unusable_base_url_variable_is_refused_by_name() {
    let server = Canned::start(|_, _| http_answer(200, &[], r#"{"data":[]}"#));
    let dir = crate::common::temp_dir("base-url");
    let bare = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_xdm"));
        cmd.env_clear()
            .env("XDM_CONFIG_DIR", &dir)
            .env("X_OAUTH2_ACCESS_TOKEN", "canned-token")
            .stdin(Stdio::null());
        cmd
    };
    let mut blank = bare();
    blank.env("X_API_BASE_URL", "  ");
    let ran = run(blank, &["events"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("X_API_BASE_URL is set but blank"),
        "{}",
        ran.stderr
    );
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let mut bad = bare();
        bad.env(
            "X_API_BASE_URL",
            std::ffi::OsStr::from_bytes(b"http://127.0.0.1:\xff"),
        );
        let ran = run(bad, &["events"]);
        assert_eq!(ran.code, 2, "{}", ran.stderr);
        assert!(ran.stderr.contains("X_API_BASE_URL"), "{}", ran.stderr);
        assert!(ran.stderr.contains("UTF-8"), "{}", ran.stderr);
    }
    // A port out of range is bad input, in the flag and in the variable.
    let ran = run(bare(), &["--base-url", "http://127.0.0.1:99999", "events"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("port 99999"), "{}", ran.stderr);
    let mut far = bare();
    far.env("X_API_BASE_URL", "http://127.0.0.1:70000");
    let ran = run(far, &["events"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("X_API_BASE_URL"), "{}", ran.stderr);
    // The flag wins over the variable, which is then not used.
    let mut both = bare();
    both.env("X_API_BASE_URL", "");
    let ran = run(both, &["--base-url", &server.url, "events"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(server.requests().len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn exit_codes_say_what_happened() {
    let dir = crate::common::temp_dir("exit-codes");
    // A send that X accepted with an answer that cannot be read: the message may be sent.
    let server = Canned::start(|_, _| http_answer(201, &[], "{\"data\":"));
    let ran = run(server.xdm(&dir), &["send", "--to", "12", "hi"]);
    assert_eq!(ran.code, 7, "{}", ran.stderr);
    assert!(ran.stderr.contains("most likely sent"), "{}", ran.stderr);
    assert_eq!(server.requests().len(), 1, "never sent twice");

    // An answer larger than the transport accepts is said as such, not as a silence.
    // (The transport accepts 16 MiB.)
    let server = Canned::start(|_, _| {
        let body = format!("{{\"data\":[{}]}}", " ".repeat(17 * 1024 * 1024));
        http_answer(200, &[], &body)
    });
    let ran = run(server.xdm(&dir), &["events"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("too large"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("no answer"), "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn media_files_are_checked_before_a_byte_is_read() {
    let emu = Emu::start();
    let dir = crate::common::temp_dir("media-files");
    // (name, how it is made, what the refusal says)
    let folder = dir.join("folder.png");
    std::fs::create_dir(&folder).unwrap();
    // 8 GiB that take no disk: the size is known without reading.
    let huge = dir.join("huge.mp4");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(8 << 30)
        .unwrap();
    let mut cases = vec![(folder, "not a regular file"), (huge, "too large")];
    #[cfg(unix)]
    {
        let zero = dir.join("zero.png");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        cases.push((zero, "not a regular file"));
        let fifo = dir.join("pipe.gif");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        cases.push((fifo, "not a regular file"));
    }
    for (path, says) in &cases {
        let ran = run(
            emu.xdm(),
            &[
                "send",
                "--to",
                "12",
                "--media",
                path.to_str().unwrap(),
                "hi",
            ],
        );
        assert_eq!(ran.code, 2, "{}: {}", path.display(), ran.stderr);
        assert!(
            ran.stderr.contains(says),
            "{}: {}",
            path.display(),
            ran.stderr
        );
    }
    assert_eq!(emu.api_requests(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A page of events with `ids` and, when given, `next` as its `next_token`.
fn page_of(ids: &[u64], next: Option<&str>) -> Vec<u8> {
    let data: Vec<String> = ids
        .iter()
        .map(|id| format!(r#"{{"id":"{id}","event_type":"MessageCreate","text":"t{id}"}}"#))
        .collect();
    let next = next.map_or(String::new(), |t| format!(r#","next_token":"{t}""#));
    http_answer(
        200,
        &[],
        &format!(
            r#"{{"data":[{}],"meta":{{"result_count":{}{next}}}}}"#,
            data.join(","),
            ids.len()
        ),
    )
}

/// The pagination token a request line asks for, if any.
fn token_asked(line: &str) -> Option<String> {
    let query = line.split_whitespace().nth(1)?.split_once('?')?.1;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("pagination_token="))
        .map(str::to_owned)
}

/// The ids of an export's lines, in order.
fn exported_ids(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

const T1: &str = "TOKEN00000000001ZZZZ";
const T2: &str = "TOKEN00000000002ZZZZ";
const T3: &str = "TOKEN00000000003ZZZZ";

#[test]
fn export_writes_no_event_twice_when_x_repeats_itself() {
    // The first page again under a new token with one more event, then a page that hands
    // back the first token.
    let server = Canned::start(|line, _| match token_asked(line).as_deref() {
        None => page_of(&[9, 8], Some(T1)),
        Some(T1) => page_of(&[9, 8, 7], Some(T2)),
        Some(T2) => page_of(&[6, 5], Some(T1)),
        _ => page_of(&[], None),
    });
    let dir = crate::common::temp_dir("repeats");
    let out = dir.join("dms.jsonl");
    let o = out.to_str().unwrap();
    let ran = run(server.xdm(&dir), &["export", "--out", o]);
    assert_eq!(ran.code, 4, "{}", ran.stderr);
    assert!(ran.stderr.contains("a second time"), "{}", ran.stderr);
    assert!(ran.stderr.contains("--resume"), "{}", ran.stderr);
    assert_eq!(server.requests().len(), 3, "no loop");
    assert_eq!(exported_ids(&out), ["9", "8", "7", "6", "5"]);
    let cp: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("dms.jsonl.checkpoint")).unwrap()).unwrap();
    assert_eq!(cp["done"], false, "a repeated token is not the end");
    assert_eq!(cp["events"], 5);

    // Resumed against a server that has mended its ways: the page the checkpoint names is
    // read again, and what it repeats of the output is recognised from the output's tail.
    let mended = Canned::start(|line, _| match token_asked(line).as_deref() {
        Some(T2) => page_of(&[6, 5, 4], Some(T3)),
        Some(T3) => page_of(&[5, 3], None),
        _ => page_of(&[9, 8, 7, 6, 5, 4, 3, 2, 1], None),
    });
    let ran = run(mended.xdm(&dir), &["export", "--out", o, "--resume"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        mended.requests().len(),
        2,
        "resumed from the page the checkpoint names"
    );
    assert_eq!(exported_ids(&out), ["9", "8", "7", "6", "5", "4", "3"]);
    let cp: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("dms.jsonl.checkpoint")).unwrap()).unwrap();
    assert_eq!(cp["done"], true);
    assert_eq!(cp["events"], 7);
    let _ = std::fs::remove_dir_all(&dir);
}
