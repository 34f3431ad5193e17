//! `xdm-emulator [OPTIONS]`: serves until killed, after printing one JSON line with the base
//! URL, credentials and users. `xdm-emulator --help` lists the options.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use clap::Parser;
use xdm_emulator::{Emulator, EmulatorBuilder, GroupLimits, RateLimits};

/// The longest window accepted: a year, far past any test, and far from overflowing the
/// millisecond arithmetic of the windows.
const MAX_WINDOW_SECS: u64 = 365 * 24 * 60 * 60;

const WORLD: &str = "World and server";
const LIMITS: &str = "Rate limits (X's documented table unless changed)";

/// The flags of the binary; `--help` shows them in this order.
#[derive(Debug, Parser)]
#[command(
    name = "xdm-emulator",
    about = "Serves the X API v2 Direct Message endpoints on a local port until killed. When ready \
             it prints one JSON line on stdout: the base URL, the credentials and the users.",
    long_about = None,
    // Flags given twice keep the last value, as `--events`/`--empty` keep the last of the two.
    args_override_self = true,
    // `--read-limit -1` is a bad number to name, not an unknown flag `-1`.
    allow_negative_numbers = true,
    after_help = "Windows are 1 to 31536000 seconds; a limit of 0 refuses every request of its group."
)]
struct Args {
    /// Where to listen (port 0: any free port)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0",
          value_parser = socket_address, help_heading = WORLD)]
    addr: SocketAddr,

    /// The seed the world and the credentials derive from [default: 1]
    #[arg(long, value_name = "N", value_parser = whole::<u64>, help_heading = WORLD)]
    seed: Option<u64>,

    /// Events in the demo world [default: 300]
    #[arg(long, value_name = "N", value_parser = whole::<usize>, overrides_with = "empty",
          help_heading = WORLD)]
    events: Option<usize>,

    /// Users only: no conversations, no events
    #[arg(long, overrides_with = "events", help_heading = WORLD)]
    empty: bool,

    /// Show the authorize pages instead of approving at once
    #[arg(long, help_heading = WORLD)]
    consent: bool,

    /// Accept http:// webhook URLs on 127.0.0.1, localhost or [::1] (with a port)
    #[arg(long, help_heading = WORLD)]
    allow_loopback_webhooks: bool,

    /// Serve the web console at /console/ (loopback clients only)
    #[arg(long, help_heading = WORLD)]
    console: bool,

    /// Let clients that are not on loopback use the console (with --console)
    #[arg(long, requires = "console", help_heading = WORLD)]
    console_allow_remote: bool,

    /// Enforce nothing; the headers keep reporting a full budget
    #[arg(long = "no-rate-limits", visible_alias = "no-limits", help_heading = LIMITS)]
    no_rate_limits: bool,

    /// Length of the short window
    #[arg(long, value_name = "SECS", value_parser = window_secs,
          default_value_t = RateLimits::default().window.as_secs(), help_heading = LIMITS)]
    rate_limit_window: u64,

    /// Length of the 24-hour window
    #[arg(long, value_name = "SECS", value_parser = window_secs,
          default_value_t = RateLimits::default().day.as_secs(), help_heading = LIMITS)]
    rate_limit_day: u64,

    /// Requests per user and window: the four event lookups
    #[arg(long, value_name = "N", value_parser = whole::<u32>,
          default_value_t = RateLimits::default().read.user_per_window, help_heading = LIMITS)]
    read_limit: u32,

    /// Requests per user and window: sends and group creation
    #[arg(long, value_name = "N", value_parser = whole::<u32>,
          default_value_t = RateLimits::default().send.user_per_window, help_heading = LIMITS)]
    send_limit: u32,

    /// Requests per user and window: deleting an event
    #[arg(long, value_name = "N", value_parser = whole::<u32>,
          default_value_t = RateLimits::default().delete.user_per_window, help_heading = LIMITS)]
    delete_limit: u32,

    /// Requests per user and window: blocking and unblocking
    #[arg(long, value_name = "N", value_parser = whole::<u32>,
          default_value_t = RateLimits::default().block.user_per_window, help_heading = LIMITS)]
    block_limit: u32,

    /// Requests per user and window: GET /2/users/me
    #[arg(long, value_name = "N", value_parser = whole::<u32>,
          default_value_t = RateLimits::default().users_me.user_per_window, help_heading = LIMITS)]
    users_me_limit: u32,
}

fn whole<T: FromStr>(raw: &str) -> Result<T, String> {
    raw.parse()
        .map_err(|_| "not a whole number in range".to_owned())
}

fn window_secs(raw: &str) -> Result<u64, String> {
    match whole::<u64>(raw)? {
        s @ 1..=MAX_WINDOW_SECS => Ok(s),
        s => Err(format!(
            "{s} seconds is out of range (1 to {MAX_WINDOW_SECS})"
        )),
    }
}

fn socket_address(raw: &str) -> Result<SocketAddr, String> {
    raw.parse()
        .map_err(|_| "not a socket address like 127.0.0.1:8080".to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum World {
    Demo(Option<usize>),
    Empty,
}

impl Args {
    fn world(&self) -> World {
        // `overrides_with` leaves only the later of `--events` and `--empty` set.
        if self.empty {
            World::Empty
        } else {
            World::Demo(self.events)
        }
    }

    fn limits(&self) -> RateLimits {
        let d = RateLimits::default();
        let per_window = |group: GroupLimits, user_per_window| GroupLimits {
            user_per_window,
            ..group
        };
        RateLimits {
            enabled: !self.no_rate_limits,
            window: Duration::from_secs(self.rate_limit_window),
            day: Duration::from_secs(self.rate_limit_day),
            read: per_window(d.read, self.read_limit),
            send: per_window(d.send, self.send_limit),
            delete: per_window(d.delete, self.delete_limit),
            block: per_window(d.block, self.block_limit),
            users_me: per_window(d.users_me, self.users_me_limit),
            ..d
        }
    }

    /// Why these flags cannot serve, if they cannot: the console on an address others can
    /// reach needs an explicit yes.
    fn refusal(&self) -> Option<String> {
        (self.console && !self.console_allow_remote && !self.addr.ip().is_loopback()).then(|| {
            format!(
                "error: --console on {} would serve the console (credentials, acting as any \
                 user) to other machines; listen on a loopback address such as 127.0.0.1, or \
                 add --console-allow-remote",
                self.addr
            )
        })
    }

    fn builder(&self) -> EmulatorBuilder {
        let mut b = Emulator::builder()
            .addr(self.addr)
            .console(self.console)
            .console_allow_remote(self.console_allow_remote)
            .auto_approve(!self.consent)
            .allow_loopback_webhooks(self.allow_loopback_webhooks)
            .rate_limits(self.limits());
        if let Some(seed) = self.seed {
            b = b.seed(seed);
        }
        match self.world() {
            World::Demo(Some(n)) => b.seed_events(n),
            World::Demo(None) => b,
            World::Empty => b.empty_world(),
        }
    }
}

#[tokio::main]
async fn main() {
    // Usage errors are named on stderr with exit code 2; --help goes to stdout with 0.
    let args = Args::parse();
    if let Some(why) = args.refusal() {
        eprintln!("{why}");
        std::process::exit(2);
    }
    let emu = match args.builder().start().await {
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
    if let Some(url) = emu.console_url() {
        eprintln!("xdm-emulator: the console is at {url}");
    }
    let _ = tokio::signal::ctrl_c().await;
    emu.shutdown().await;
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("xdm-emulator").chain(args.iter().copied()))
    }

    fn serve(args: &[&str]) -> Args {
        parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn error(args: &[&str]) -> clap::Error {
        match parse(args) {
            Err(e) => e,
            Ok(a) => panic!("{args:?} should fail: {a:?}"),
        }
    }

    /// The first line of the error as printed, without the usage and the hint after it.
    fn message(args: &[&str]) -> String {
        let e = error(args);
        assert_eq!(e.exit_code(), 2, "{args:?}");
        e.to_string().lines().next().unwrap().to_owned()
    }

    #[test]
    fn the_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn no_flags_means_the_library_defaults() {
        let a = serve(&[]);
        assert_eq!(a.limits(), RateLimits::default());
        assert_eq!(a.addr, SocketAddr::from(([127, 0, 0, 1], 0)));
        assert_eq!(a.seed, None);
        assert_eq!(a.world(), World::Demo(None));
        assert!(!a.consent);
        assert!(!a.allow_loopback_webhooks);
        assert!(!a.console && !a.console_allow_remote);
        assert_eq!(a.refusal(), None);
    }

    #[test]
    fn the_console_on_a_reachable_address_needs_a_yes() {
        let a = serve(&["--console"]);
        assert!(a.console);
        assert_eq!(a.refusal(), None, "loopback is fine");
        assert_eq!(serve(&["--console", "--addr", "[::1]:0"]).refusal(), None);
        let why = serve(&["--console", "--addr", "0.0.0.0:0"])
            .refusal()
            .expect("refused");
        assert!(
            why.contains("--console-allow-remote") && why.contains("0.0.0.0:0"),
            "{why}"
        );
        assert_eq!(
            serve(&["--console", "--console-allow-remote", "--addr", "0.0.0.0:0"]).refusal(),
            None
        );
        assert_eq!(
            serve(&["--addr", "0.0.0.0:0"]).refusal(),
            None,
            "no console"
        );
        assert_eq!(
            message(&["--console-allow-remote"]),
            "error: the following required arguments were not provided:"
        );
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
            "--allow-loopback-webhooks",
        ]);
        assert!(o.allow_loopback_webhooks);
        assert_eq!(o.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(o.seed, Some(7));
        assert_eq!(o.world(), World::Demo(Some(20)));
        assert!(o.consent);
        assert_eq!(serve(&["--events", "5", "--empty"]).world(), World::Empty);
        assert_eq!(
            serve(&["--empty", "--events", "5"]).world(),
            World::Demo(Some(5)),
            "the last one wins"
        );
        assert_eq!(
            serve(&["--seed", "1", "--seed", "2"]).seed,
            Some(2),
            "a repeated flag keeps its last value"
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
            o.limits(),
            RateLimits {
                window: Duration::from_secs(5),
                day: Duration::from_secs(60),
                read: GroupLimits {
                    user_per_window: 2,
                    ..d.read
                },
                send: GroupLimits {
                    user_per_window: 3,
                    ..d.send
                },
                delete: GroupLimits {
                    user_per_window: 4,
                    ..d.delete
                },
                block: GroupLimits {
                    user_per_window: 0,
                    ..d.block
                },
                users_me: GroupLimits {
                    user_per_window: 6,
                    ..d.users_me
                },
                ..d
            }
        );
        assert_eq!(serve(&["--no-rate-limits"]).limits(), RateLimits::off());
        assert_eq!(serve(&["--no-limits"]).limits(), RateLimits::off());
        let off_with_numbers = serve(&["--read-limit", "500", "--no-rate-limits"]).limits();
        assert!(!off_with_numbers.enabled);
        assert_eq!(off_with_numbers.read.user_per_window, 500);
    }

    #[test]
    fn bad_values_are_named() {
        assert_eq!(
            message(&["--bogus"]),
            "error: unexpected argument '--bogus' found"
        );
        assert_eq!(
            message(&["extra"]),
            "error: unexpected argument 'extra' found"
        );
        assert_eq!(
            message(&["--read-limit"]),
            "error: a value is required for '--read-limit <N>' but none was supplied"
        );
        // `shown` is the flag as clap names it, with its value placeholder.
        let invalid = |shown: &str, raw: &str, why: &str| {
            let flag = shown.split(' ').next().unwrap();
            assert_eq!(
                message(&[flag, raw]),
                format!("error: invalid value '{raw}' for '{shown}': {why}")
            );
        };
        let nan = "not a whole number in range";
        invalid("--read-limit <N>", "-1", nan);
        invalid("--send-limit <N>", "many", nan);
        invalid("--delete-limit <N>", "1e3", nan);
        invalid("--block-limit <N>", " 1", nan);
        invalid("--users-me-limit <N>", "4294967296", nan);
        invalid(
            "--rate-limit-window <SECS>",
            "0",
            "0 seconds is out of range (1 to 31536000)",
        );
        invalid(
            "--rate-limit-day <SECS>",
            "31536001",
            "31536001 seconds is out of range (1 to 31536000)",
        );
        invalid("--rate-limit-window <SECS>", "1.5", nan);
        invalid(
            "--addr <ADDR>",
            "256.0.0.1:1",
            "not a socket address like 127.0.0.1:8080",
        );
        invalid("--seed <N>", "", nan);
        invalid("--events <N>", "ten", nan);
        assert_eq!(error(&["--bogus"]).kind(), ErrorKind::UnknownArgument);
        assert_eq!(
            error(&["--events", "ten"]).kind(),
            ErrorKind::ValueValidation
        );
    }

    #[test]
    fn help_wins_and_lists_every_flag() {
        for args in [&["--read-limit", "2", "--help"][..], &["-h"][..]] {
            let e = error(args);
            assert!(matches!(e.kind(), ErrorKind::DisplayHelp), "{args:?}: {e}");
            assert_eq!(e.exit_code(), 0);
        }
        let help = Args::command().render_help().to_string();
        for flag in [
            "--addr <ADDR>",
            "--seed <N>",
            "--events <N>",
            "--empty",
            "--consent",
            "--console",
            "--console-allow-remote",
            "--no-rate-limits",
            "no-limits",
            "--rate-limit-window <SECS>",
            "--rate-limit-day <SECS>",
            "--read-limit <N>",
            "--send-limit <N>",
            "--delete-limit <N>",
            "--block-limit <N>",
            "--users-me-limit <N>",
        ] {
            assert!(help.contains(flag), "{flag}: {help}");
        }
        let d = RateLimits::default();
        for default in [
            "[default: 127.0.0.1:0]".to_owned(),
            format!("[default: {}]", d.window.as_secs()),
            format!("[default: {}]", d.day.as_secs()),
            format!("[default: {}]", d.delete.user_per_window),
        ] {
            assert!(help.contains(&default), "{default}: {help}");
        }
    }
}
