//! A throwaway `redis-server` (Debian's package) for the benches: a free loopback port, no
//! snapshots, its data in a temporary directory.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server, and its data directory, deleted after the server is killed.
pub(crate) struct Server(
    Child,
    #[allow(dead_code, reason = "kept until the server is gone")] tempfile::TempDir,
);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a server with `extra_args` after the common ones and waits until it accepts
/// connections; returns it with its URL.
pub(crate) fn start_redis(extra_args: &[&str]) -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(extra_args)
        .arg("--dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server runs (apt-get install -y redis-server)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server started");
        std::thread::sleep(Duration::from_millis(20));
    }
    (Server(child, dir), format!("redis://127.0.0.1:{port}/"))
}
