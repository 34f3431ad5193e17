//! The command line: every command, option and help text.
//!
//! Values are taken as strings here and validated by the core's id and field types in the
//! commands, so that a refusal carries the core's own words about what is allowed.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Exit codes as the help texts list them; `exit.rs` holds the numbers themselves.
const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  local failure (a file could not be read or written, an unreadable answer)
  2  bad input or usage, refused before any request
  3  authentication: no credentials, refused credentials or a missing scope
  4  refused by X (not found, not allowed, invalid request)
  5  rate limit, usage cap or spent credits
  6  network failure or X unavailable (5xx)
  7  unknown outcome of a send: the message may have been sent; check before resending
130  interrupted (Ctrl-C) before a download finished; nothing was written

Credentials come from X_CONSUMER_KEY, X_CONSUMER_SECRET, X_ACCESS_TOKEN and
X_ACCESS_TOKEN_SECRET (OAuth 1.0a), or X_OAUTH2_ACCESS_TOKEN [+ X_OAUTH2_REFRESH_TOKEN,
X_CLIENT_ID, X_CLIENT_SECRET] (OAuth 2.0), or the token saved by `xdm login`.
Try any command with no account: `xdm --emulator events`.";

/// X direct messages from the terminal: read, send, back up and follow your DMs.
#[derive(Debug, Parser)]
#[command(name = "xdm", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Print JSON Lines on standard output instead of text for people.
    #[arg(long, global = true)]
    pub json: bool,
    /// The API root, such as https://api.x.com [env: X_API_BASE_URL].
    // This comment is the option's `--help` text, where a URL stays as typed.
    #[allow(rustdoc::bare_urls)]
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,
    /// Run against an in-process emulator seeded with demo data: no account needed.
    #[arg(long, global = true)]
    pub emulator: bool,
    /// Explain failures in detail (HTTP status and X's own explanation).
    #[arg(long, short, global = true)]
    pub verbose: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send a message to a user, into a conversation, or to a new group.
    #[command(after_help = "Examples:
  xdm send --to 2244994945 'Hello!'
  echo 'from a script' | xdm send --conversation 1578900353814519810 -
  xdm send --group 2244994945,783214 'Welcome to the group'
  xdm send --to 2244994945 --media photo.jpg 'Look at this'")]
    Send(SendArgs),
    /// List events, newest first.
    #[command(after_help = "Examples:
  xdm events --limit 20
  xdm events --with 2244994945 --types MessageCreate
  xdm --json events --conversation 1578900353814519810 --fields created_at,text,sender_id")]
    Events(EventsArgs),
    /// Show one event.
    #[command(after_help = "Example:\n  xdm event 1585800613253812228")]
    Event {
        /// The event's id.
        event_id: String,
    },
    /// Delete one of your events.
    #[command(after_help = "Example:\n  xdm delete 1585800613253812228")]
    Delete {
        /// The event's id.
        event_id: String,
    },
    /// Stop a user from sending you DMs.
    #[command(after_help = "Example:\n  xdm block 2244994945")]
    Block {
        /// The user's id.
        user_id: String,
    },
    /// Let a blocked user send you DMs again.
    #[command(after_help = "Example:\n  xdm unblock 2244994945")]
    Unblock {
        /// The user's id.
        user_id: String,
    },
    /// Back up every event to a JSON Lines file, resumably.
    #[command(
        after_help = "Each line is one event exactly as X sent it. A checkpoint file
(FILE.jsonl.checkpoint) is kept beside the output; if the export stops for any reason, run the
same command again with --resume and it ends with every event exactly once. An existing
file is never replaced unless it is this export's own (its checkpoint agrees with it) or
--force is given. Both files are readable by you alone.

With --checkpoint-redis URL (or XDM_REDIS_URL), the checkpoint lives in Redis under a lease
instead: run the same command on several machines with --out on storage they share; one
worker exports, the others wait, and when it dies one of them takes over from its last
checkpoint (an unfinished job is always resumed; a finished one is not started again
without --force). A worker whose lease was taken over stops with exit code 1.

Examples:
  xdm export --out dms.jsonl
  xdm export --out alice.jsonl --with 2244994945 --resume
  xdm export --out /shared/dms.jsonl --checkpoint-redis redis://redis.internal:6379/"
    )]
    Export(ExportArgs),
    /// Print new events as they arrive, until interrupted.
    #[command(
        after_help = "With --checkpoint-redis URL (or XDM_REDIS_URL), the ids already shown are
kept in Redis under a lease: one watcher prints, the others wait, and when it dies one of
them takes over and prints what arrived since, each event once (one printed in the instant
between its line and the checkpoint may be printed again). A watcher whose lease was taken
over stops with exit code 1.

Examples:
  xdm watch
  xdm --json watch --conversation 1578900353814519810
  xdm --json watch --checkpoint-redis redis://redis.internal:6379/ --lease 10"
    )]
    Watch(WatchArgs),
    /// Print each DM as it arrives, over the X Activity API stream, until interrupted.
    #[command(
        after_help = "The stream takes the app's Bearer token from X_BEARER_TOKEN; your own
credentials (as for every command) subscribe you to dm.received and dm.sent and fill gaps
after an outage from the DM listing. Each message is printed once; reconnects and filled
gaps are reported on standard error.

Examples:
  xdm listen
  xdm --json listen --with 2244994945
  xdm --emulator listen"
    )]
    Listen(ListenArgs),
    /// Receive DMs on a webhook, and register, list, revalidate, delete or replay webhooks.
    #[command(
        after_help = "serve checks X's signatures with the app's consumer secret
(X_CONSUMER_SECRET); the other commands use the app's Bearer token (X_BEARER_TOKEN).

Examples:
  xdm webhook serve --addr 127.0.0.1:8080
  xdm webhook register https://bot.example.com/webhooks/x
  xdm webhook list
  xdm webhook replay 1146654567674912769 --from 2026-12-02T09:00:00Z --to 2026-12-02T10:00:00Z"
    )]
    Webhook(WebhookArgs),
    /// Download media attached to a DM.
    #[command(after_help = "Example:
  xdm media --out photo.jpg https://ton.twitter.com/1.1/ton/data/dm/1589472163941056517/1589472151165317121/ncc3LNYu.jpg")]
    Media {
        /// Where to write the file (replaced atomically).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The media URL, as `xdm events` shows it.
        media_url: String,
    },
    /// Sign in with OAuth 2.0 in a browser, and save the token.
    #[command(
        after_help = "The token is saved in $XDM_CONFIG_DIR, else $XDG_CONFIG_HOME/xdm, else
~/.config/xdm, readable by you alone, and refreshed when needed.

Examples:
  xdm login --client-id YOUR_CLIENT_ID
  xdm login --client-id YOUR_CLIENT_ID --redirect-uri https://www.example.com"
    )]
    Login(LoginArgs),
    /// Revoke the saved token and forget it.
    #[command(after_help = "Example:\n  xdm logout")]
    Logout,
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  xdm completions bash > ~/.local/share/bash-completion/completions/xdm
  xdm completions zsh > ~/.zfunc/_xdm
  xdm completions fish > ~/.config/fish/completions/xdm.fish")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Which conversation a listing reads.
#[derive(Debug, Args, Clone, Default)]
#[group(multiple = false)]
pub struct Scope {
    /// A conversation, by id (`low-high` for one-to-one, a number for a group).
    #[arg(long, value_name = "CONV_ID")]
    pub conversation: Option<String>,
    /// The one-to-one conversation with this user.
    #[arg(long, value_name = "USER_ID")]
    pub with: Option<String>,
}

/// `xdm send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The recipient's user id.
    #[arg(long, value_name = "USER_ID", group = "target")]
    pub to: Option<String>,
    /// An existing conversation's id.
    #[arg(long, value_name = "CONV_ID", group = "target")]
    pub conversation: Option<String>,
    /// Create a group with these users (2 to 49 ids, comma-separated).
    #[arg(
        long,
        value_name = "ID1,ID2,...",
        group = "target",
        value_delimiter = ','
    )]
    pub group: Option<Vec<String>>,
    /// Upload this file and attach it.
    #[arg(long, value_name = "PATH", conflicts_with = "media_id")]
    pub media: Option<PathBuf>,
    /// Attach media uploaded before.
    #[arg(long, value_name = "ID")]
    pub media_id: Option<String>,
    /// The text; `-` reads it from standard input.
    pub text: Option<String>,
}

/// `xdm webhook`.
#[derive(Debug, Args)]
pub struct WebhookArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: WebhookCommand,
}

/// The `xdm webhook` commands.
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Answer X's webhook calls on ADDR and print each DM once, until Ctrl-C.
    Serve {
        /// Where to listen, such as 127.0.0.1:8080 (behind an HTTPS proxy).
        #[arg(long, value_name = "ADDR")]
        addr: String,
    },
    /// Register a webhook URL (https, no port, at most 200 characters); X checks it first.
    Register {
        /// The URL.
        url: String,
    },
    /// List the app's webhooks.
    List,
    /// Ask X to check a webhook again, re-enabling it if it answers.
    Revalidate {
        /// The webhook's id.
        webhook_id: String,
    },
    /// Delete a webhook.
    Delete {
        /// The webhook's id.
        webhook_id: String,
    },
    /// Ask X to send again what a webhook was sent in a window of the last 24 hours.
    Replay {
        /// The webhook's id.
        webhook_id: String,
        /// The window's start (RFC 3339, such as 2026-12-02T09:00:00Z).
        #[arg(long, value_name = "TIME")]
        from: String,
        /// The window's end (RFC 3339).
        #[arg(long, value_name = "TIME")]
        to: String,
    },
}

/// `xdm events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Which conversation (all of yours when neither is given).
    #[command(flatten)]
    pub scope: Scope,
    /// How many events to show at most (default 50).
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Event types: MessageCreate, ParticipantsJoin, ParticipantsLeave.
    #[arg(long, value_name = "T1,T2", value_delimiter = ',')]
    pub types: Vec<String>,
    /// Event fields to ask for (dm_event.fields).
    #[arg(long, value_name = "F1,F2", value_delimiter = ',')]
    pub fields: Vec<String>,
    /// Expansions to ask for.
    #[arg(long, value_name = "E1,E2", value_delimiter = ',')]
    pub expansions: Vec<String>,
}

/// `xdm export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The JSON Lines file to write.
    #[arg(long, value_name = "FILE.jsonl")]
    pub out: PathBuf,
    /// Which conversation (all of yours when neither is given).
    #[command(flatten)]
    pub scope: Scope,
    /// Continue an export that stopped, from its checkpoint.
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
    /// Replace the output file even when it is not an export this command wrote.
    #[arg(long)]
    pub force: bool,
    /// Where the checkpoint is shared with other workers.
    #[command(flatten)]
    pub shared: SharedJob,
}

/// `xdm watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Which conversation (all of yours when neither is given).
    #[command(flatten)]
    pub scope: Scope,
    /// The shortest pause between two polls, in seconds; longer pauses are taken when the
    /// rate limit asks for them.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub interval: f64,
    /// Where the checkpoint is shared with other workers.
    #[command(flatten)]
    pub shared: SharedJob,
}

/// The options of `export` and `watch` that keep their checkpoint in Redis, so that a job
/// one worker started can be taken over by another (`xdm` built with the `redis` feature).
#[derive(Debug, Args, Clone)]
pub struct SharedJob {
    /// Keep the checkpoint in the Redis at URL (redis://host:port/, or
    /// redis://user:password@host:port/db), under a lease, instead of in a local file: one worker at a time runs the job, and
    /// another takes it over from its last checkpoint when that one dies; needs an xdm built
    /// with the `redis` feature [env: XDM_REDIS_URL].
    #[arg(long, value_name = "URL")]
    pub checkpoint_redis: Option<RedisUrl>,
    /// The job's name in Redis, kept per account (default: the command and what it lists,
    /// such as `export-all` or `watch-with-2244994945`). Workers given the same name and
    /// account share one job.
    #[arg(long, value_name = "NAME")]
    pub job: Option<String>,
    /// How long the job's lease lasts without renewal, in seconds: a worker renews it while
    /// it runs, and a successor takes over this long after a worker died.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub lease: f64,
}

/// A Redis URL, which may carry a password: never shown by `Debug`.
#[derive(Clone)]
pub struct RedisUrl(
    #[cfg_attr(
        not(feature = "redis"),
        expect(dead_code, reason = "refused before use without the feature")
    )]
    pub String,
);

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisUrl(..)")
    }
}

impl std::str::FromStr for RedisUrl {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(RedisUrl(s.to_owned()))
    }
}

/// `xdm listen`.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Only the one-to-one conversation with this user.
    #[arg(long, value_name = "USER_ID")]
    pub with: Option<String>,
    /// Stop after printing this many messages.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

/// `xdm login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Your app's OAuth 2.0 client id.
    #[arg(long, value_name = "ID")]
    pub client_id: String,
    /// The client secret, for a confidential client.
    #[arg(long, value_name = "S")]
    pub client_secret: Option<String>,
    /// Scopes to ask for.
    #[arg(
        long,
        value_name = "S1,S2",
        value_delimiter = ',',
        default_value = "dm.read,dm.write,tweet.read,users.read,offline.access,media.write"
    )]
    pub scopes: Vec<String>,
    /// The local port for the redirect (any free port by default); the app's registered
    /// callback must be http://127.0.0.1:PORT/callback.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// The callback registered for your app, when it is not http://127.0.0.1:PORT/callback.
    /// A loopback http URL is listened on; for any other (such as `https://www.example.com`),
    /// paste the address the browser is sent to.
    #[arg(long, value_name = "URL", conflicts_with = "port")]
    pub redirect_uri: Option<String>,
    /// Print the URL only; do not try to open a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// How long to wait for the browser, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub timeout: u64,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn conversation_and_with_exclude_each_other() {
        let r = Cli::try_parse_from(["xdm", "events", "--conversation", "1-2", "--with", "3"]);
        assert!(r.is_err());
    }

    #[test]
    fn a_group_is_split_on_commas() {
        let cli = Cli::try_parse_from(["xdm", "send", "--group", "1,2,3", "hi"]).unwrap();
        let Command::Send(args) = cli.command else {
            panic!("not send")
        };
        assert_eq!(args.group.unwrap(), ["1", "2", "3"]);
        assert_eq!(args.text.as_deref(), Some("hi"));
    }

    #[test]
    fn send_takes_one_target() {
        assert!(Cli::try_parse_from(["xdm", "send", "--to", "1", "--group", "2,3", "x"]).is_err());
    }
}
