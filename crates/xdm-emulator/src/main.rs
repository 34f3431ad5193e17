//! `xdm-emulator [OPTIONS]`: serves until killed, after printing one JSON line with the base
//! URL, credentials and users. `xdm-emulator --help` lists the options.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use xdm_emulator::{Emulator, EmulatorBuilder, RateLimits};

const HELP: &str = "\
usage: xdm-emulator [OPTIONS]

Serves the X API v2 Direct Message endpoints on a local port until killed. When ready it
prints one JSON line on stdout: the base URL, the credentials and the users.

World and server:
  --addr ADDR                where to listen [default: 127.0.0.1:0, any free port]
  --seed N                   the seed the world and the credentials derive from [default: 1]
  --events N                 events in the demo world [default: 300]
  --empty                    users only: no conversations, no events
  --consent                  show the authorize pages instead of approving at once

Rate limits (X's documented table unless changed):
  --no-rate-limits           enforce nothing; the headers keep reporting a full budget
                             (--no-limits is the same)
  --rate-limit-window SECS   length of the short window [default: 900]
  --rate-limit-day SECS      length of the 24-hour window [default: 86400]
  --read-limit N             requests per user and window: the four event lookups [default: 15]
  --send-limit N             ... sends and group creation [default: 15]
  --delete-limit N           ... deleting an event [default: 300]
  --block-limit N            ... blocking and unblocking [default: 10]
  --users-me-limit N         ... GET /2/users/me [default: 75]
  Windows are 1 to 31536000 seconds; a limit of 0 refuses every request of its group.

  -h, --help                 print this help
";

/// The longest window accepted: a year, far past any test, and far from overflowing the
/// millisecond arithmetic of the windows.
const MAX_WINDOW_SECS: u64 = 365 * 24 * 60 * 60;

#[derive(Debug, Clone, PartialEq, Eq)]
enum World {
    Demo(Option<usize>),
    Empty,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    addr: SocketAddr,
    seed: Option<u64>,
    world: World,
    consent: bool,
    limits: RateLimits,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: None,
            world: World::Demo(None),
            consent: false,
            limits: RateLimits::default(),
        }
    }
}

impl Options {
    fn builder(self) -> EmulatorBuilder {
        let mut b = Emulator::builder()
            .addr(self.addr)
            .auto_approve(!self.consent)
            .rate_limits(self.limits);
        if let Some(seed) = self.seed {
            b = b.seed(seed);
        }
        match self.world {
            World::Demo(Some(n)) => b.seed_events(n),
            World::Demo(None) => b,
            World::Empty => b.empty_world(),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Serve(Box<Options>),
    Help,
}

fn number<T: FromStr>(flag: &str, raw: &str) -> Result<T, String> {
    raw.parse()
        .map_err(|_| format!("{flag}: `{raw}` is not a whole number in range"))
}

fn window(flag: &str, raw: &str) -> Result<Duration, String> {
    match number::<u64>(flag, raw)? {
        s @ 1..=MAX_WINDOW_SECS => Ok(Duration::from_secs(s)),
        _ => Err(format!(
            "{flag}: {raw} seconds is out of range (1 to {MAX_WINDOW_SECS})"
        )),
    }
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut o = Options::default();
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--addr" => {
                let raw = value()?;
                o.addr = raw.parse().map_err(|_| {
                    format!("--addr: `{raw}` is not a socket address like 127.0.0.1:8080")
                })?;
            }
            "--seed" => o.seed = Some(number(&flag, &value()?)?),
            "--events" => o.world = World::Demo(Some(number(&flag, &value()?)?)),
            "--empty" => o.world = World::Empty,
            "--consent" => o.consent = true,
            "--no-rate-limits" | "--no-limits" => o.limits.enabled = false,
            "--rate-limit-window" => o.limits.window = window(&flag, &value()?)?,
            "--rate-limit-day" => o.limits.day = window(&flag, &value()?)?,
            "--read-limit" => o.limits.read.user_per_window = number(&flag, &value()?)?,
            "--send-limit" => o.limits.send.user_per_window = number(&flag, &value()?)?,
            "--delete-limit" => o.limits.delete.user_per_window = number(&flag, &value()?)?,
            "--block-limit" => o.limits.block.user_per_window = number(&flag, &value()?)?,
            "--users-me-limit" => o.limits.users_me.user_per_window = number(&flag, &value()?)?,
            _ => return Err(format!("unknown option `{flag}`")),
        }
    }
    Ok(Command::Serve(Box::new(o)))
}

#[tokio::main]
async fn main() {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Command::Serve(o)) => o,
        Ok(Command::Help) => {
            #[allow(clippy::print_stdout)]
            {
                print!("{HELP}");
            }
            return;
        }
        Err(e) => {
            eprintln!("xdm-emulator: {e}\ntry `xdm-emulator --help`");
            std::process::exit(2)
        }
    };
    let emu = match options.builder().start().await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("xdm-emulator: cannot start: {e}");
            std::process::exit(1)
        }
    };
    #[allow(clippy::print_stdout)]
    {
        println!("{}", emu.describe());
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
    emu.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> Options {
        match parse(args.iter().map(|s| s.to_string())) {
            Ok(Command::Serve(o)) => *o,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn error(args: &[&str]) -> String {
        match parse(args.iter().map(|s| s.to_string())) {
            Err(e) => e,
            other => panic!("{args:?} should fail: {other:?}"),
        }
    }

    #[test]
    fn no_flags_means_the_library_defaults() {
        assert_eq!(serve(&[]), Options::default());
        assert_eq!(serve(&[]).limits, RateLimits::default());
    }

    #[test]
    fn world_and_server_flags() {
        let o = serve(&[
            "--addr",
            "127.0.0.1:8080",
            "--seed",
            "7",
            "--events",
            "20",
            "--consent",
        ]);
        assert_eq!(o.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(o.seed, Some(7));
        assert_eq!(o.world, World::Demo(Some(20)));
        assert!(o.consent);
        assert_eq!(serve(&["--events", "5", "--empty"]).world, World::Empty);
        assert_eq!(
            serve(&["--empty", "--events", "5"]).world,
            World::Demo(Some(5)),
            "the last one wins"
        );
    }

    #[test]
    fn rate_limit_flags_map_onto_the_settings() {
        let o = serve(&[
            "--rate-limit-window",
            "5",
            "--rate-limit-day",
            "60",
            "--read-limit",
            "2",
            "--send-limit",
            "3",
            "--delete-limit",
            "4",
            "--block-limit",
            "0",
            "--users-me-limit",
            "6",
        ]);
        let d = RateLimits::default();
        assert_eq!(
            o.limits,
            RateLimits {
                window: Duration::from_secs(5),
                day: Duration::from_secs(60),
                read: xdm_emulator::GroupLimits {
                    user_per_window: 2,
                    ..d.read
                },
                send: xdm_emulator::GroupLimits {
                    user_per_window: 3,
                    ..d.send
                },
                delete: xdm_emulator::GroupLimits {
                    user_per_window: 4,
                    ..d.delete
                },
                block: xdm_emulator::GroupLimits {
                    user_per_window: 0,
                    ..d.block
                },
                users_me: xdm_emulator::GroupLimits {
                    user_per_window: 6,
                    ..d.users_me
                },
                ..d
            }
        );
        assert_eq!(serve(&["--no-rate-limits"]).limits, RateLimits::off());
        assert_eq!(serve(&["--no-limits"]).limits, RateLimits::off());
        let off_with_numbers = serve(&["--read-limit", "500", "--no-rate-limits"]).limits;
        assert!(!off_with_numbers.enabled);
        assert_eq!(off_with_numbers.read.user_per_window, 500);
    }

    #[test]
    fn bad_values_are_named() {
        assert_eq!(error(&["--bogus"]), "unknown option `--bogus`");
        assert_eq!(error(&["extra"]), "unknown option `extra`");
        assert_eq!(error(&["--read-limit"]), "--read-limit needs a value");
        assert_eq!(
            error(&["--read-limit", "-1"]),
            "--read-limit: `-1` is not a whole number in range"
        );
        assert_eq!(
            error(&["--send-limit", "many"]),
            "--send-limit: `many` is not a whole number in range"
        );
        assert_eq!(
            error(&["--users-me-limit", "4294967296"]),
            "--users-me-limit: `4294967296` is not a whole number in range"
        );
        assert_eq!(
            error(&["--rate-limit-window", "0"]),
            "--rate-limit-window: 0 seconds is out of range (1 to 31536000)"
        );
        assert_eq!(
            error(&["--rate-limit-day", "31536001"]),
            "--rate-limit-day: 31536001 seconds is out of range (1 to 31536000)"
        );
        assert_eq!(
            error(&["--rate-limit-window", "1.5"]),
            "--rate-limit-window: `1.5` is not a whole number in range"
        );
        assert_eq!(
            error(&["--addr", "256.0.0.1:1"]),
            "--addr: `256.0.0.1:1` is not a socket address like 127.0.0.1:8080"
        );
        assert_eq!(
            error(&["--seed", ""]),
            "--seed: `` is not a whole number in range"
        );
        assert_eq!(
            error(&["--events", "ten"]),
            "--events: `ten` is not a whole number in range"
        );
    }

    #[test]
    fn help_wins_and_lists_every_flag() {
        assert_eq!(
            parse(["--read-limit", "2", "--help"].map(String::from)),
            Ok(Command::Help)
        );
        assert_eq!(parse(["-h"].map(String::from)), Ok(Command::Help));
        for flag in [
            "--addr",
            "--seed",
            "--events",
            "--empty",
            "--consent",
            "--no-rate-limits",
            "--no-limits",
            "--rate-limit-window",
            "--rate-limit-day",
            "--read-limit",
            "--send-limit",
            "--delete-limit",
            "--block-limit",
            "--users-me-limit",
        ] {
            assert!(HELP.contains(flag), "{flag}");
        }
    }
}
