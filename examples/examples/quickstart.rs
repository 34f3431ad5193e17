//! X's quick-start flow: create a group conversation with a first message, add a second
//! message, and list the conversation's events.
//!
//! With no environment set it runs against an in-process emulator:
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! Against a real server, set `X_API_BASE_URL` (optional), credentials (`X_CONSUMER_KEY`,
//! `X_CONSUMER_SECRET`, `X_ACCESS_TOKEN`, `X_ACCESS_TOKEN_SECRET`, or
//! `X_OAUTH2_ACCESS_TOKEN`) and `X_QUICKSTART_PARTICIPANTS` (two or more user ids, comma
//! separated).
#![allow(clippy::print_stdout)]

use xdm::endpoints::{ListParams, Message};
use xdm::fields::{DmEventField, Expansion, FieldSet, UserField};
use xdm::ids::UserId;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let connection = xdm_examples::connect(20).await?;
    let client = &connection.client;
    let participants: Vec<UserId> = match &connection.emulator {
        Some(emulator) => {
            println!(
                "No X_API_BASE_URL or credentials set: running against the emulator at {}",
                emulator.base_url()
            );
            emulator.handle().users()[1..3]
                .iter()
                .map(|u| UserId::parse(&u.id))
                .collect::<Result<_, _>>()?
        }
        None => std::env::var("X_QUICKSTART_PARTICIPANTS")
            .map_err(|_| "set X_QUICKSTART_PARTICIPANTS to two or more user ids, comma separated")?
            .split(',')
            .map(|id| UserId::parse(id.trim()))
            .collect::<Result<_, _>>()?,
    };

    let group = client
        .create_group(
            participants.clone(),
            Message::text("Hello, group! (xdm quickstart)")?,
        )
        .await?;
    // X's answer names the new conversation and event; without the conversation there is
    // nowhere to send the second message.
    let conversation = group
        .conversation_id
        .ok_or("X created the group but did not name its conversation")?;
    println!(
        "1. created group conversation {conversation} with {} participants; first message is event {}",
        participants.len(),
        named(group.event_id.as_ref())
    );

    let second = client
        .send_to_conversation(&conversation, Message::text("And a second message.")?)
        .await?;
    println!(
        "2. sent a second message: event {}",
        named(second.event_id.as_ref())
    );

    let fields = FieldSet::new()
        .with_dm_event_fields([
            DmEventField::Text,
            DmEventField::SenderId,
            DmEventField::CreatedAt,
            DmEventField::ParticipantIds,
        ])
        .with_expansions([Expansion::SenderId])
        .with_user_fields([UserField::Username]);
    let mut events = client
        .list_conversation_events_with(&conversation, ListParams::new().with_fields(fields))
        .events();
    println!("3. the conversation's events, newest first:");
    while let Some(item) = events.next().await {
        let item = item?;
        let who = item
            .sender()
            .and_then(|u| u.username.clone())
            .or(item.event.sender_id.clone())
            .unwrap_or_default();
        // A join or leave has no text; name who joined or left instead.
        let what = match (&item.event.text, item.event.participant_ids.as_deref()) {
            (Some(text), _) => text.clone(),
            (None, Some(ids)) if !ids.is_empty() => format!("participants: {}", ids.join(", ")),
            _ => String::new(),
        };
        println!(
            "   {} {} @{} {}",
            item.event.created_at.as_deref().unwrap_or("-"),
            item.event.event_type.as_ref().map_or("-", |t| t.as_str()),
            who,
            what
        );
    }
    if let Some(emulator) = connection.emulator {
        emulator.shutdown().await;
    }
    Ok(())
}

/// An id X named, or a word saying it did not (the message was stored all the same).
fn named(id: Option<&impl std::fmt::Display>) -> String {
    id.map_or_else(|| "(not named by X)".to_owned(), ToString::to_string)
}
