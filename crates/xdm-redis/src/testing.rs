//! A real `redis-server` for tests (feature `testing`): the crate's own tests use it, and so
//! may a program's tests of its fleet.
//!
//! [`RedisServer::start`] runs `redis-server` (found on `PATH`) on a free loopback port, with
//! its data in a temporary directory of its own, and waits until it answers. Writes are kept
//! in an append-only file synced on every write, so that [`RedisServer::restart`] after
//! [`RedisServer::stop`] finds what was written, as after a crash of a real server. Dropping
//! the value kills the server and removes the directory.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = xdm_redis::testing::RedisServer::start();
//! let redis = xdm_redis::Redis::connect(&server.url()).await?;
//! # let _ = redis;
//! # Ok(())
//! # }
//! ```

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a start may take before it is given up as failed.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A loopback port nothing listened on a moment ago (the listener that found it is closed
/// again), for a server to start on or for a URL that nothing answers.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A `redis-server` of the caller's own on 127.0.0.1, killed when dropped.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one on a free port and waits until it answers a PING.
    ///
    /// # Panics
    ///
    /// When `redis-server` cannot be run (it is not installed, say: the message says how to
    /// install it), or does not answer within ten seconds; a test needing it should fail
    /// loudly rather than pass without it.
    pub fn start() -> RedisServer {
        let mut server = RedisServer {
            port: free_port(),
            dir: tempfile::tempdir().expect("a temporary directory"),
            child: None,
        };
        server.restart();
        server
    }

    /// The URL to connect to, `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server at once (SIGKILL: no goodbye to its clients), as a crash would. Does
    /// nothing when it is already stopped.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again (stopping it first if it runs) on the same port and data
    /// directory, and waits until it answers a PING.
    ///
    /// # Panics
    ///
    /// As [`RedisServer::start`].
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--save", "", "--appendonly", "yes"])
            .args(["--appendfsync", "always"])
            .args(["--protected-mode", "yes", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "could not start redis-server ({e}). These tests need a real Redis: install \
                     Debian's package (apt-get install -y redis-server), as .ci/run does"
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        // Accepting connections is not having loaded the data: wait for a PONG.
        while !self.answers_ping() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn answers_ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        if stream.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut buf = [0u8; 64];
        matches!(stream.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_server_refuses_and_a_restarted_one_answers() {
        let mut server = RedisServer::start();
        assert!(server.answers_ping());
        server.stop();
        assert!(!server.answers_ping());
        server.stop();
        server.restart();
        assert!(server.answers_ping());
        assert_eq!(
            server.url(),
            format!("redis://127.0.0.1:{}/", server.port())
        );
    }
}
