//! An emulator on 127.0.0.1 in its own runtime, and the `xdm` binary run against it as a
//! child process with a clean environment.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use xdm_emulator::{Emulator, EmulatorBuilder, EmulatorHandle};

/// "me", as the demo world names it.
pub fn me(emu: &Emu) -> String {
    emu.emulator().credentials().oauth2.user_id.clone()
}

/// A running emulator; stopped when dropped.
pub struct Emu {
    emu: Option<Emulator>,
    rt: tokio::runtime::Runtime,
    /// A fresh configuration directory for the children (no saved login).
    pub config_dir: PathBuf,
}

impl Emu {
    /// The demo world with X's rate limits.
    pub fn start() -> Emu {
        Emu::with(Emulator::builder())
    }

    /// An emulator built from `builder`.
    pub fn with(builder: EmulatorBuilder) -> Emu {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let emu = rt.block_on(builder.start()).expect("emulator starts");
        Emu {
            emu: Some(emu),
            rt,
            config_dir: temp_dir("config"),
        }
    }

    /// The emulator.
    pub fn emulator(&self) -> &Emulator {
        self.emu.as_ref().expect("running")
    }

    /// Its state and faults.
    pub fn handle(&self) -> EmulatorHandle {
        self.emulator().handle()
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        self.emulator().base_url().to_owned()
    }

    /// `xdm --base-url URL` with no X_* variable set and an empty config directory.
    pub fn bare(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xdm"));
        cmd.env_clear()
            .env("XDM_CONFIG_DIR", &self.config_dir)
            .arg("--base-url")
            .arg(self.url())
            .stdin(Stdio::null());
        cmd
    }

    /// `xdm` as "me" with the emulator's OAuth 2.0 token.
    pub fn xdm(&self) -> Command {
        let token = self.emulator().credentials().oauth2.access_token.clone();
        self.as_token(&token)
    }

    /// `xdm` with the given OAuth 2.0 access token.
    pub fn as_token(&self, token: &str) -> Command {
        let mut cmd = self.bare();
        cmd.env("X_OAUTH2_ACCESS_TOKEN", token);
        cmd
    }

    /// `xdm` as another user of the demo world.
    pub fn as_user(&self, user_id: &str) -> Command {
        let scopes = ["dm.read dm.write tweet.read users.read media.write"];
        let token = self
            .handle()
            .issue_oauth2_token(user_id, &scopes)
            .expect("known user");
        self.as_token(&token)
    }

    /// Requests the emulator received that reached an API route (not OAuth pages).
    pub fn api_requests(&self) -> usize {
        self.handle()
            .requests()
            .iter()
            .filter(|r| r.path.starts_with("/2/"))
            .count()
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        if let Some(emu) = self.emu.take() {
            self.rt.block_on(emu.shutdown());
        }
        let _ = std::fs::remove_dir_all(&self.config_dir);
    }
}

/// A fresh, empty directory under the system's temporary directory.
///
/// The directory outlives the test (the child processes of a test may still hold files in it
/// when it ends), so it is kept rather than removed.
pub fn temp_dir(tag: &str) -> PathBuf {
    tempfile::Builder::new()
        .prefix(&format!("xdm-cli-it-{tag}-"))
        .tempdir()
        .expect("temp dir")
        .keep()
}

/// Sends `file` to the user `to` with `xdm send --media`, with `text` if given; returns the
/// id of the new event.
pub fn send_media(emu: &Emu, to: &str, file: &Path, text: Option<&str>) -> String {
    let mut args = vec![
        "--json",
        "send",
        "--to",
        to,
        "--media",
        file.to_str().unwrap(),
    ];
    args.extend(text);
    let sent = ok(emu.xdm(), &args);
    sent.json_lines()[0]["dm_event_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// What `xdm event` shows for the event `id`, and the media URL in it.
pub fn shown_media_url(emu: &Emu, id: &str) -> (String, String) {
    let shown = ok(emu.xdm(), &["event", id]).stdout;
    let url = shown
        .split_whitespace()
        .find(|w| w.starts_with("https://ton.twitter.com/"))
        .unwrap_or_else(|| panic!("a media URL in {shown}"))
        .trim_end_matches(']')
        .to_owned();
    (shown, url)
}

/// What a finished child said.
pub struct Ran {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Ran {
    /// Standard output's lines parsed as JSON.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// Runs `cmd` with `args` to its end.
pub fn run(mut cmd: Command, args: &[&str]) -> Ran {
    let out: Output = cmd.args(args).output().expect("xdm runs");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `xdm args` and checks that it ended with `code`, saying `says` on standard error.
pub fn fails(cmd: Command, args: &[&str], code: i32, says: &str) -> Ran {
    let ran = run(cmd, args);
    assert_eq!(ran.code, code, "xdm {args:?}: {}", ran.stderr);
    assert!(
        ran.stderr.contains(says),
        "xdm {args:?} says {says:?}: {}",
        ran.stderr
    );
    ran
}

/// Runs `xdm args` and checks that it was refused as bad input (exit 2), saying `says`.
pub fn refused_as_bad_input(cmd: Command, args: &[&str], says: &str) -> Ran {
    fails(cmd, args, 2, says)
}

/// Runs `cmd` and asserts success.
pub fn ok(cmd: Command, args: &[&str]) -> Ran {
    let ran = run(cmd, args);
    assert_eq!(ran.code, 0, "xdm {args:?} failed: {}", ran.stderr);
    ran
}

/// Runs `cmd` with `input` on standard input.
pub fn run_with_stdin(mut cmd: Command, args: &[&str], input: &str) -> Ran {
    let mut child = cmd
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A child whose output lines arrive on channels as they are written.
pub struct Running {
    /// The process.
    pub child: Child,
    /// Standard output's lines.
    pub stdout: mpsc::Receiver<String>,
    /// Standard error's lines.
    pub stderr: mpsc::Receiver<String>,
}

fn pump(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Running {
    /// Kills the process and waits for it to be gone.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits up to `within` for a line on standard error that satisfies `pred`.
    #[cfg(feature = "redis")]
    pub fn says(&self, within: Duration, pred: impl FnMut(&str) -> bool) -> bool {
        wait_line(&self.stderr, within, pred).is_some()
    }

    /// Waits up to `within` for the process to end, checks that it ended with `code`, and
    /// returns what it said on standard error meanwhile.
    #[cfg(feature = "redis")]
    pub fn ends_with(&mut self, code: i32, within: Duration) -> Vec<String> {
        let ended = wait_exit(&mut self.child, within);
        let said: Vec<String> = self.stderr.try_iter().collect();
        assert_eq!(ended, code, "{said:?}");
        said
    }
}

/// Starts `cmd` with `args` in the background.
pub fn spawn(mut cmd: Command, args: &[&str]) -> Running {
    let mut child = cmd
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = pump(child.stdout.take().expect("stdout"));
    let stderr = pump(child.stderr.take().expect("stderr"));
    Running {
        child,
        stdout,
        stderr,
    }
}

/// Waits up to `within` for a line on `rx` that satisfies `pred`; returns it.
pub fn wait_line(
    rx: &mpsc::Receiver<String>,
    within: Duration,
    mut pred: impl FnMut(&str) -> bool,
) -> Option<String> {
    let deadline = std::time::Instant::now() + within;
    loop {
        let left = deadline.checked_duration_since(std::time::Instant::now())?;
        match rx.recv_timeout(left) {
            Ok(line) if pred(&line) => return Some(line),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

/// Waits for the child to end, up to `within`; its exit code.
pub fn wait_exit(child: &mut Child, within: Duration) -> i32 {
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code().unwrap_or(-1);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("xdm did not end within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A bare HTTP/1.1 GET to a 127.0.0.1 URL: status and headers, lower-cased names.
pub fn http_get(url: &str) -> (u16, Vec<(String, String)>) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    assert!(
        authority.starts_with("127.0.0.1:"),
        "tests talk to 127.0.0.1 only"
    );
    let mut stream = TcpStream::connect(authority).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n",
        if path.is_empty() { "/" } else { path }
    )
    .expect("write");
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    let mut lines = reply.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers)
}
