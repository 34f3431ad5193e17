//! An echo bot over the X Activity API stream: every DM the user receives is answered with
//! its own text.
//!
//! With no environment set it runs against an in-process emulator, where a demo user writes
//! to the bot a few times and the bot's answers are printed:
//!
//! ```text
//! cargo run --example echo_bot
//! ```
//!
//! Against X, set the bot's user credentials as for every example (`X_OAUTH2_ACCESS_TOKEN`
//! with `dm.read dm.write tweet.read users.read`, or the four OAuth 1.0a variables) and the
//! app's Bearer token in `X_BEARER_TOKEN`; `X_API_BASE_URL` points it at another server. It
//! subscribes the user to `dm.received` and `dm.sent`, then answers until Ctrl-C.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Duration;

use xdm::activity::{
    ActivityItem, ActivitySetup, ActivityStream, Direction, StopCause, StreamNotice,
};
use xdm::endpoints::Message;
use xdm::ids::UserId;
use xdm::{BaseUrl, Config, Credentials};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let connection = xdm_examples::connect(0).await?;
    let bot = &connection.client;
    let app_config = match &connection.emulator {
        Some(emulator) => Config::new(Credentials::app_bearer(
            emulator.credentials().app_bearer_token.clone(),
        ))
        .with_base_url(BaseUrl::parse(emulator.base_url())?),
        None => Config::app_bearer_from_env()?,
    };
    let app = xdm::builder().config(app_config).build()?;
    let me = bot.authenticated_user_id().await?;
    ActivitySetup::new(&app, bot).ensure(&me).await?;

    let mut stream = ActivityStream::new(app).with_gap_fill(bot.clone());
    let stop = stream.shutdown_handle();
    // In the emulator, a demo user writes to the bot; the run ends once all were answered.
    let mut expected_replies = None;
    if let Some(emulator) = &connection.emulator {
        let friend = emulator.handle().users()[1].id.clone();
        let (handle, me) = (emulator.handle(), me.to_string());
        let greetings = ["hello, bot", "are you there?", "echo this"];
        expected_replies = Some(greetings.len());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            for text in greetings {
                handle.send_dm(&friend, &me, text);
            }
        });
    }
    let ctrl_c = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            ctrl_c.shutdown();
        }
    });

    let mut replied = 0;
    while let Some(item) = stream.next().await {
        match item {
            ActivityItem::Notice(StreamNotice::Stopped(StopCause::Shutdown)) => break,
            ActivityItem::Notice(StreamNotice::Stopped(cause)) => {
                return Err(format!("the stream stopped: {cause:?}").into());
            }
            ActivityItem::Notice(notice) => eprintln!("{notice:?}"),
            item => {
                let Some(event) = item.dm_event() else {
                    continue;
                };
                // Only messages others sent: the bot's own replies come back as dm.sent.
                let from_someone_else = match item.message() {
                    Some(message) => message.direction == Direction::Received,
                    None => event.sender_id.as_deref() != Some(me.as_str()),
                };
                let (Some(text), Some(sender), true) = (
                    event.text.as_deref(),
                    event.sender_id.as_deref(),
                    from_someone_else,
                ) else {
                    continue;
                };
                let sender = UserId::parse(sender)?;
                println!("{sender} wrote {text:?}; echoing");
                bot.send_to_participant(&sender, Message::text(text)?)
                    .await?;
                replied += 1;
                if expected_replies == Some(replied) {
                    stop.shutdown();
                }
            }
        }
    }
    println!("answered {replied} message(s)");
    Ok(())
}
