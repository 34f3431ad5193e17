//! Hardening against hostile files, servers and environments: each test reproduces one way
//! a careless environment, an odd file or a lying server could make `xdm` spend without
//! bound, lose what the user owns, or report the wrong outcome.

use std::process::Stdio;

use crate::common::{Emu, Ran, run, run_with_stdin};

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
        let ran = run(emu.xdm(), args);
        assert_eq!(ran.code, 2, "xdm {args:?}: {}", ran.stderr);
        assert!(
            ran.stderr.contains(says),
            "xdm {args:?} says {says:?}: {}",
            ran.stderr
        );
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
