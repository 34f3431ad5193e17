//! A real `redis-server` of the test's own (`xdm_redis::testing`), and a way to read and
//! damage what the binary wrote there without a Redis client.

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

pub use xdm_redis::testing::{RedisServer, free_port};

/// Plain commands to the test's server.
pub trait Commands {
    /// Sends one command and returns the first line of the answer, or for a bulk string a
    /// NUL followed by its content; empty when the server does not answer.
    fn command(&self, args: &[&str]) -> String;

    /// The value of `field` of the hash at `key`, if any.
    fn hget(&self, key: &str, field: &str) -> Option<String> {
        self.command(&["HGET", key, field])
            .strip_prefix('\u{0}')
            .map(str::to_owned)
    }
}

impl Commands for RedisServer {
    fn command(&self, args: &[&str]) -> String {
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port())) else {
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
