//! A real `redis-server` of the test's own, on a free loopback port with its data in a
//! temporary directory; killed when dropped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nothing listens on (the listener that found it is closed again).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// The server.
pub struct RedisServer {
    port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts one and waits until it answers a PING. A missing `redis-server` fails the test
    /// loudly: `.ci/run` installs it.
    pub fn start() -> RedisServer {
        let port = free_port();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(dir.path())
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "could not start redis-server ({e}). These tests need a real Redis: install \
                     Debian's package (apt-get install -y redis-server), as .ci/run does"
                )
            });
        let server = RedisServer {
            port,
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !server.ping() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// Kills the server at once, as a crash would.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The URL to connect to.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn ping(&self) -> bool {
        self.command(&["PING"]).starts_with("+PONG")
    }

    /// The value of `field` of the hash at `key`, if any.
    pub fn hget(&self, key: &str, field: &str) -> Option<String> {
        self.command(&["HGET", key, field])
            .strip_prefix('\u{0}')
            .map(str::to_owned)
    }

    /// Sends one command and returns the first line of the answer, or for a bulk string a
    /// NUL followed by its content.
    pub fn command(&self, args: &[&str]) -> String {
        use std::io::{BufRead, BufReader, Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return String::new();
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut request = format!("*{}\r\n", args.len());
        for a in args {
            request.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        if stream.write_all(request.as_bytes()).is_err() {
            return String::new();
        }
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        match line.trim_end().strip_prefix('$').map(str::parse::<usize>) {
            Some(Ok(len)) => {
                let mut bulk = vec![0; len];
                reader.read_exact(&mut bulk).expect("the bulk string");
                format!("\u{0}{}", String::from_utf8_lossy(&bulk))
            }
            _ => line,
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
