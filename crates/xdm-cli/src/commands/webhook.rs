//! `xdm webhook`: receive DMs on a webhook (`serve`), and manage the app's webhooks.
//!
//! `serve` checks signatures with the app's consumer secret (`X_CONSUMER_SECRET`); the other
//! commands act for the app with its Bearer token (`X_BEARER_TOKEN`), never a user's token.
//! Every input is checked before anything is sent.

use std::net::SocketAddr;
use std::time::SystemTime;

use jiff::Timestamp;
use xdm_client::webhook::{WebhookEvents, WebhookItem, WebhookReceiver, Webhooks};
use xdm_core::activity::ActivityEvent;
use xdm_core::activity::webhook::ConsumerSecret;
use xdm_core::endpoints::{ReplayWebhook, WebhookConfig, WebhookUrl};
use xdm_core::ids::WebhookId;
use xdm_core::includes::Includes;
use xdm_core::{BaseUrl, RequestContext};
use xdm_hyper::webhook::WebhookServer;
use xdm_hyper::{HyperTransport, TokioClock};

use crate::cli::{Global, WebhookArgs, WebhookCommand};
use crate::exit::{Failure, Kind, from_client_error};
use crate::output::{event_line, json_line, parse_rfc3339};

/// The variable holding the app's Bearer token, shared with `xdm listen`.
pub const BEARER_TOKEN_VAR: &str = xdm_client::vars::BEARER_TOKEN;
/// The variable holding the app's consumer secret (API key secret).
pub const CONSUMER_SECRET_VAR: &str = "X_CONSUMER_SECRET";

/// Runs `xdm webhook …`.
pub async fn run(args: WebhookArgs, global: &Global) -> Result<(), Failure> {
    match args.command {
        WebhookCommand::Serve { addr } => {
            let addr: SocketAddr = addr.parse().map_err(|_| {
                Failure::new(
                    Kind::Input,
                    format!("--addr {addr:?} is not an address such as 127.0.0.1:8080"),
                )
            })?;
            if global.emulator {
                return Err(Failure::new(
                    Kind::Input,
                    "`webhook serve` receives from X: it cannot run against an in-process \
                     emulator that no one else can reach; run `xdm-emulator \
                     --allow-loopback-webhooks` and `xdm --base-url` for local trials",
                ));
            }
            let secret = consumer_secret()?;
            serve(addr, secret, global.json).await
        }
        WebhookCommand::Register { url } => {
            let url = WebhookUrl::parse(&url)?;
            let (hooks, _emulator) = app(global).await?;
            let config = hooks.register(url.as_str()).await.map_err(client_failure)?;
            print_config(&config, global.json);
            Ok(())
        }
        WebhookCommand::List => {
            let (hooks, _emulator) = app(global).await?;
            let list = hooks.list().await.map_err(client_failure)?;
            if list.is_empty() && !global.json {
                eprintln!("no webhooks");
            }
            for config in &list {
                print_config(config, global.json);
            }
            Ok(())
        }
        WebhookCommand::Revalidate { webhook_id } => {
            WebhookId::parse_as(&webhook_id, "webhook_id")?;
            let (hooks, _emulator) = app(global).await?;
            let answer = hooks
                .revalidate(&webhook_id)
                .await
                .map_err(client_failure)?;
            let valid = answer.valid.unwrap_or(false);
            if global.json {
                json_line(&serde_json::json!({ "valid": valid }));
            } else {
                println!("webhook {webhook_id} valid: {valid}");
            }
            Ok(())
        }
        WebhookCommand::Delete { webhook_id } => {
            WebhookId::parse_as(&webhook_id, "webhook_id")?;
            let (hooks, _emulator) = app(global).await?;
            let deleted = hooks
                .delete(&webhook_id)
                .await
                .map_err(client_failure)?
                .deleted;
            if global.json {
                json_line(&serde_json::json!({ "deleted": deleted }));
            } else if deleted {
                println!("deleted webhook {webhook_id}");
            } else {
                println!("webhook {webhook_id} was not deleted");
            }
            Ok(())
        }
        WebhookCommand::Replay {
            webhook_id,
            from,
            to,
        } => {
            let id = WebhookId::parse_as(&webhook_id, "webhook_id")?;
            let (from, to) = (time_arg("--from", &from)?, time_arg("--to", &to)?);
            // The window is checked here, before the token is even read.
            ReplayWebhook::new(id, from, to, Timestamp::now())?;
            let (hooks, _emulator) = app(global).await?;
            let job = hooks
                .replay(&webhook_id, from, to)
                .await
                .map_err(client_failure)?;
            let job_id = job.job_id.unwrap_or_default();
            if global.json {
                json_line(&serde_json::json!({ "job_id": job_id, "created_at": job.created_at }));
            } else {
                println!("replay job {job_id} started; `xdm webhook serve` reports when it ends");
            }
            Ok(())
        }
    }
}

fn client_failure(e: xdm_client::Error) -> Failure {
    from_client_error(e, SystemTime::now())
}

/// A time given as RFC 3339, such as `2026-12-02T10:00:00Z`.
fn time_arg(flag: &str, value: &str) -> Result<Timestamp, Failure> {
    parse_rfc3339(value.trim()).ok_or_else(|| {
        Failure::new(
            Kind::Input,
            format!("{flag} {value:?} is not a time such as 2026-12-02T10:00:00Z (RFC 3339)"),
        )
    })
}

fn consumer_secret() -> Result<ConsumerSecret, Failure> {
    match std::env::var(CONSUMER_SECRET_VAR) {
        Ok(secret) if !secret.trim().is_empty() => Ok(ConsumerSecret::new(secret.trim())),
        _ => Err(Failure::new(
            Kind::Auth,
            format!(
                "no consumer secret: set {CONSUMER_SECRET_VAR} to the app's API key secret, \
                 which signs X's webhook calls"
            ),
        )),
    }
}

/// The in-process emulator behind `--emulator`, kept alive while the command runs.
#[cfg(feature = "emulator")]
type Emulator = xdm_emulator::Emulator;
#[cfg(not(feature = "emulator"))]
type Emulator = std::convert::Infallible;

/// The app's webhooks, with the Bearer token from the environment (or the emulator's).
async fn app(
    global: &Global,
) -> Result<(Webhooks<HyperTransport, TokioClock>, Option<Emulator>), Failure> {
    let transport = crate::connect::transport()?;
    let (token, base, emulator) = if global.emulator {
        let (token, base, emulator) = emulated().await?;
        (token, base, Some(emulator))
    } else {
        let base = crate::connect::base_url(global)?;
        let token = match std::env::var(BEARER_TOKEN_VAR) {
            Ok(token) if !token.trim().is_empty() => token.trim().to_owned(),
            _ => {
                return Err(Failure::new(
                    Kind::Auth,
                    format!(
                        "no app token: set {BEARER_TOKEN_VAR} to the app's Bearer token \
                         (webhooks are managed by the app, not a user); \
                         `xdm --emulator ...` needs none"
                    ),
                ));
            }
        };
        (token, base, None)
    };
    let hooks = Webhooks::new(transport, TokioClock, token, RequestContext::new(base));
    Ok((hooks, emulator))
}

#[cfg(feature = "emulator")]
async fn emulated() -> Result<(String, BaseUrl, Emulator), Failure> {
    let emu = Emulator::builder()
        .allow_loopback_webhooks(true)
        .start()
        .await
        .map_err(|e| Failure::io("could not start the emulator", &e))?;
    let base = BaseUrl::parse(emu.base_url())?;
    Ok((emu.credentials().app_bearer_token.clone(), base, emu))
}

#[cfg(not(feature = "emulator"))]
async fn emulated() -> Result<(String, BaseUrl, Emulator), Failure> {
    Err(Failure::new(
        Kind::Input,
        "this xdm was built without the emulator: build it with the `emulator` feature (on by \
         default) to use --emulator",
    ))
}

fn print_config(config: &WebhookConfig, json: bool) {
    if json {
        json_line(&serde_json::to_value(config).unwrap_or_default());
    } else {
        println!(
            "{}  {}  valid: {}  created: {}",
            config.id.as_deref().unwrap_or("?"),
            config.url.as_deref().unwrap_or("?"),
            config
                .valid
                .map_or_else(|| "?".to_owned(), |v| v.to_string()),
            config.created_at.as_deref().unwrap_or("?"),
        );
    }
}

/// Serves until Ctrl-C, printing each new DM once.
async fn serve(addr: SocketAddr, secret: ConsumerSecret, json: bool) -> Result<(), Failure> {
    let (receiver, mut items) = WebhookReceiver::new(secret);
    let server = WebhookServer::bind(addr, receiver)
        .await
        .map_err(|e| Failure::io(format!("could not listen on {addr}"), &e))?;
    let bound = server
        .local_addr()
        .map_err(|e| Failure::io("could not read the bound address", &e))?;
    eprintln!("listening on http://{bound} (Ctrl-C to stop)");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    tokio::select! {
        () = print_items(&mut items, json) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    let _ = stop.send(());
    match running.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(Failure::io("the webhook server failed", &e)),
        Err(e) => return Err(Failure::new(Kind::Local, e.to_string())),
    }
    // Whatever the server accepted during shutdown is still shown.
    while let Some(item) = items.try_next() {
        print_item(item, json);
    }
    Ok(())
}

async fn print_items(items: &mut WebhookEvents, json: bool) {
    while let Some(item) = items.recv().await {
        print_item(item, json);
    }
}

/// A DM on standard output (as `xdm events` prints it); everything else on standard error.
fn print_item(item: WebhookItem, json: bool) {
    match item {
        WebhookItem::Delivery(delivery) => {
            let mut includes = Includes::default();
            includes.users = Some(delivery.users.clone());
            let index = includes.index();
            for event in &delivery.events {
                match event {
                    ActivityEvent::Message(message) if json => {
                        json_line(&serde_json::to_value(&message.event).unwrap_or_default());
                    }
                    ActivityEvent::Message(message) => {
                        println!("{}", event_line(&message.event, &index));
                    }
                    ActivityEvent::Read(read) => {
                        eprintln!("{} read up to {}", read.reader_id, read.last_read_event_id);
                    }
                    ActivityEvent::Typing(typing) => {
                        eprintln!("{} is typing", typing.typist_id);
                    }
                    ActivityEvent::Revoked(revoked) => {
                        eprintln!("{} revoked the app's access", revoked.user_id);
                    }
                    ActivityEvent::Unknown(unknown) => {
                        eprintln!("an event of unknown kind {:?}", unknown.kind);
                    }
                    _ => eprintln!("an event of a kind this xdm does not show"),
                }
            }
        }
        WebhookItem::ReplayJobStatus(status) => eprintln!(
            "replay job {} ended: {} ({})",
            status.job_id.as_deref().unwrap_or("?"),
            status.job_state.as_deref().unwrap_or("?"),
            status.job_state_description.as_deref().unwrap_or(""),
        ),
        WebhookItem::Unknown(body) => {
            eprintln!("a signed body of unknown shape ({} bytes)", body.len())
        }
        _ => eprintln!("a webhook call of a kind this xdm does not show"),
    }
}
