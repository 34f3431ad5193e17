//! One module per command; this one dispatches and holds the one-request commands.

pub mod events;
pub mod export;
pub mod listen;
pub mod login;
pub mod media;
pub mod send;
pub mod watch;
pub mod webhook;

use serde_json::json;
use xdm_core::ids::{EventId, UserId};

use crate::cli::{Cli, Command};
use crate::connect::{Session, connect};
use crate::exit::Failure;
use crate::output::json_line;

/// Runs the command the line names; a failure because X stalled says how long it waited.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let started = std::time::Instant::now();
    dispatch(cli).await.map_err(|f| f.waited(started.elapsed()))
}

async fn dispatch(cli: Cli) -> Result<(), Failure> {
    let global = &cli.global;
    // The API root is checked before anything else is read or sent: a variable that is set
    // but unusable is an error naming it, never a silent fall back to X's own address.
    if !global.emulator && !matches!(cli.command, Command::Completions { .. }) {
        crate::connect::base_url(global)?;
    }
    match cli.command {
        Command::Send(args) => {
            let plan = send::Plan::from_args(args).await?;
            plan.run(&connect(global).await?, global.json).await
        }
        Command::Events(args) => {
            let plan = events::Plan::from_args(&args)?;
            plan.run(&connect(global).await?, global.json).await
        }
        Command::Event { event_id } => {
            let id = EventId::parse_as(&event_id, "event_id")?;
            events::show_one(&connect(global).await?, &id, global.json).await
        }
        Command::Delete { event_id } => {
            let id = EventId::parse_as(&event_id, "event_id")?;
            delete(&connect(global).await?, &id, global.json).await
        }
        Command::Block { user_id } => {
            let id = UserId::parse_as(&user_id, "user_id")?;
            block(&connect(global).await?, &id, true, global.json).await
        }
        Command::Unblock { user_id } => {
            let id = UserId::parse_as(&user_id, "user_id")?;
            block(&connect(global).await?, &id, false, global.json).await
        }
        Command::Export(args) => {
            let plan = export::Plan::from_args(args)?;
            // Redis first: a bad URL is refused before anything is asked of X.
            let shared = match &plan.shared {
                Some(spec) => Some(spec.connect().await?),
                None => None,
            };
            plan.run(&connect(global).await?, shared, global.json).await
        }
        Command::Watch(args) => {
            let plan = watch::Plan::from_args(&args)?;
            let shared = match &plan.shared {
                Some(spec) => Some(spec.connect().await?),
                None => None,
            };
            plan.run(&connect(global).await?, shared, global.json).await
        }
        Command::Webhook(args) => webhook::run(args, global).await,
        Command::Media { out, media_url } => {
            let plan = media::Plan::new(out, &media_url)?;
            plan.run(&connect(global).await?, global.json).await
        }
        Command::Listen(args) => listen::Plan::from_args(&args)?.run(global).await,
        Command::Login(args) => login::login(args, global).await,
        Command::Logout => login::logout(global).await,
        Command::Completions { shell } => {
            completions(shell);
            Ok(())
        }
    }
}

async fn delete(session: &Session, id: &EventId, json: bool) -> Result<(), Failure> {
    let deleted = session.api.delete_event(id).await?.is_deleted();
    if json {
        json_line(&json!({ "deleted": deleted }));
    } else if deleted {
        println!("deleted event {id}");
    } else {
        println!("event {id} was not deleted");
    }
    Ok(())
}

async fn block(session: &Session, id: &UserId, block: bool, json: bool) -> Result<(), Failure> {
    let blocked = if block {
        session.api.block_user(id).await?
    } else {
        session.api.unblock_user(id).await?
    }
    .is_blocked();
    if json {
        json_line(&json!({ "blocked": blocked }));
    } else if blocked {
        println!("user {id} is blocked from sending you DMs");
    } else {
        println!("user {id} can send you DMs");
    }
    Ok(())
}

fn completions(shell: clap_complete::Shell) {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "xdm", &mut std::io::stdout());
}
