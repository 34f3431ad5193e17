//! `xdm listen`: each DM as it arrives, over the X Activity API stream, until interrupted.
//!
//! The stream is opened with the app's Bearer token (`X_BEARER_TOKEN`); the user's
//! credentials, read as for every other command, subscribe the user (`dm.received`,
//! `dm.sent`) and fill the gaps an outage leaves from `GET /2/dm_events`. Each message is
//! printed once, however many ways it arrived; reconnects and filled gaps are reported on
//! standard error.

use serde_json::Value;
use xdm_client::activity::{
    ActivityItem, ActivitySetup, ActivityStream, Disconnect, StopCause, StreamNotice,
};
use xdm_client::{Config, ConfigError};
use xdm_core::ids::UserId;
use xdm_core::includes::Includes;
use xdm_core::models::DmEvent;

use crate::cli::{Global, ListenArgs};
use crate::connect::{Session, connect};
use crate::exit::{Failure, Kind};
use crate::output::{duration_words, event_line, json_line, one_line};

/// A validated listen.
#[derive(Debug)]
pub struct Plan {
    with: Option<UserId>,
    count: Option<u64>,
}

impl Plan {
    /// Validates the arguments, before anything is read or sent.
    pub fn from_args(args: &ListenArgs) -> Result<Plan, Failure> {
        let with = args
            .with
            .as_deref()
            .map(|id| UserId::parse_as(id.trim(), "with"))
            .transpose()?;
        if args.count == Some(0) {
            return Err(xdm_core::InvalidInput::new("count", "0", "at least 1").into());
        }
        Ok(Plan {
            with,
            count: args.count,
        })
    }

    /// Subscribes, then prints until interrupted (Ctrl-C ends it with success) or, with
    /// `--count`, until that many messages were printed.
    pub async fn run(self, global: &Global) -> Result<(), Failure> {
        // The app's token is checked before the user's credentials are read or anything is
        // sent, so that a missing variable is named at once.
        let app_config = if global.emulator {
            None
        } else {
            Some(app_config(global)?)
        };
        let session = connect(global).await?;
        let app_config = match app_config {
            Some(config) => config,
            None => emulator_app_config(&session)?,
        };
        let app = xdm_hyper::builder()
            .config(app_config)
            .build()
            .map_err(|e| Failure::new(Kind::Local, format!("could not set up HTTPS: {e}")))?;
        let me = session.api.authenticated_user_id().await?;
        let report = ActivitySetup::new(&app, &session.api).ensure(&me).await?;
        eprintln!(
            "subscribed user {me} ({} subscription(s) created, {} present)",
            report.created.len(),
            report.present.len() + report.duplicates.len()
        );
        let stream = ActivityStream::new(app).with_gap_fill(session.api.clone());
        tokio::select! {
            r = self.print(stream, global.json) => r,
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    }

    async fn print<T, C>(&self, mut stream: ActivityStream<T, C>, json: bool) -> Result<(), Failure>
    where
        T: xdm_client::transport::StreamingTransport + 'static,
        C: xdm_client::transport::Timer + 'static,
    {
        let includes = Includes::default();
        let index = includes.index();
        let mut printed = 0u64;
        while let Some(item) = stream.next().await {
            if let ActivityItem::Notice(notice) = item {
                report(notice)?;
                continue;
            }
            let Some(event) = item.dm_event() else {
                continue;
            };
            if !self.shows(event) {
                continue;
            }
            if json {
                json_line(&json_value(event)?);
            } else {
                println!("{}", event_line(event, &index));
            }
            printed += 1;
            if self.count.is_some_and(|n| printed >= n) {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Whether `event` belongs to the conversation `--with` names (every event without it).
    fn shows(&self, event: &DmEvent) -> bool {
        let Some(with) = &self.with else {
            return true;
        };
        event.sender_id.as_deref() == Some(with.as_str())
            || event
                .dm_conversation_id
                .as_deref()
                .is_some_and(|c| c.split('-').any(|part| part == with.as_str()))
    }
}

/// The app's configuration from `X_BEARER_TOKEN`, against the command's API root.
fn app_config(global: &Global) -> Result<Config, Failure> {
    let base = crate::connect::base_url(global)?;
    let config = Config::app_bearer_from_env().map_err(|e| match e {
        ConfigError::Missing { .. } => Failure::new(
            Kind::Auth,
            format!(
                "{} is not set: `xdm listen` opens the activity stream with the app's Bearer \
                 token (developer portal, Keys and tokens); set it, or try `xdm --emulator \
                 listen`",
                xdm_client::vars::BEARER_TOKEN
            ),
        ),
        other => Failure::new(Kind::Input, other.to_string()),
    })?;
    Ok(config.with_base_url(base))
}

/// The in-process emulator's app token, for `--emulator`.
fn emulator_app_config(session: &Session) -> Result<Config, Failure> {
    let token = session
        .emulator_app_bearer()
        .ok_or_else(|| Failure::new(Kind::Local, "the emulator gave no app Bearer token"))?;
    Ok(Config::new(xdm_client::Credentials::app_bearer(token))
        .with_base_url(session.api.request_context().base_url.clone()))
}

/// One line on standard error for a notice; the end of the stream as a failure, unless it
/// was asked for.
fn report(notice: StreamNotice) -> Result<(), Failure> {
    match notice {
        StreamNotice::Connected { .. } => eprintln!("connected; Ctrl-C to stop"),
        StreamNotice::ConnectFailed(e) => eprintln!("could not connect: {e}"),
        StreamNotice::Refused(refusal) => eprintln!("X refused the connection: {refusal:?}"),
        StreamNotice::Problems(problems) => {
            for p in problems {
                let said = p
                    .detail()
                    .or(p.title())
                    .unwrap_or("a problem without details");
                eprintln!("X said: {}", one_line(said));
            }
        }
        StreamNotice::Disconnected(how) => eprintln!(
            "disconnected: {}",
            match how {
                Disconnect::Ended => "X ended the stream".to_owned(),
                Disconnect::Broken(e) => e.to_string(),
                Disconnect::IdleTimeout => "no keep-alive for too long".to_owned(),
                Disconnect::ConnectTimeout => "no answer to the connect".to_owned(),
                _ => "closed".to_owned(),
            }
        ),
        StreamNotice::Reconnecting { after, at_cap, .. } => eprintln!(
            "reconnecting in {}{}",
            duration_words(after.as_secs().max(1)),
            if at_cap {
                " (the longest backoff: check X's status)"
            } else {
                ""
            }
        ),
        StreamNotice::GapFilled { events, outage } => eprintln!(
            "gap of {} filled: {events} missed message(s)",
            duration_words(outage.as_secs().max(1))
        ),
        StreamNotice::GapFillFailed(e) => {
            eprintln!("warning: could not fill the gap, messages may be missing: {e}")
        }
        StreamNotice::GapNotFilled { outage } => eprintln!(
            "warning: a gap of {} was not filled",
            duration_words(outage.as_secs().max(1))
        ),
        StreamNotice::Skipped { len, reason } => {
            eprintln!("warning: skipped a stream line of {len} bytes: {reason}")
        }
        StreamNotice::Stopped(StopCause::Refused(fatal)) => {
            let mut failure = Failure::new(
                Kind::Auth,
                format!(
                    "X refused the activity stream with HTTP {}: check X_BEARER_TOKEN and the \
                     app's access to the Activity API",
                    fatal.status.as_u16()
                ),
            );
            if let Some(detail) = fatal.detail {
                failure = failure.with_detail(format!("X said: {detail}"));
            }
            return Err(failure);
        }
        StreamNotice::Stopped(StopCause::Error(e)) => return Err(e.into()),
        StreamNotice::Stopped(_) => {}
        other => eprintln!("{other:?}"),
    }
    Ok(())
}

/// The value `--json` prints for `event`: the same wire names as `xdm events --json`.
pub fn json_value(event: &DmEvent) -> Result<Value, Failure> {
    serde_json::to_value(event).map_err(|e| Failure::new(Kind::Local, e.to_string()))
}
