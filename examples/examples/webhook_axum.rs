//! A webhook receiver inside an axum app: the receiver answers X's CRC checks, refuses
//! unsigned calls, and hands each new DM to the app once.
//!
//! With `X_CONSUMER_SECRET` set it serves on `X_WEBHOOK_ADDR` (default `127.0.0.1:8080`)
//! until Ctrl-C; put it behind an HTTPS proxy and register the public URL with
//! `xdm webhook register https://…/webhooks/x`.
//!
//! Without it, it runs once against an in-process emulator: registers its route (the emulator
//! checks it with a CRC), subscribes the demo user, sends a DM and prints it as it arrives.
//!
//! ```text
//! cargo run -p xdm-examples --example webhook_axum
//! ```
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http::StatusCode;
use xdm::emulator::Emulator;
use xdm::endpoints::{CreateSubscription, SubscriptionEventType};
use xdm::ids::{UserId, WebhookId};
use xdm::webhook::{
    ActivityEvent, ConsumerSecret, WebhookEvents, WebhookItem, WebhookReceiver, Webhooks,
};
use xdm::{BaseUrl, Config, Credentials};

/// The route X calls: the whole request goes to the receiver, whose answer goes back as is.
async fn webhook(State(receiver): State<WebhookReceiver>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, receiver.max_body_bytes()).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    receiver
        .handle(http::Request::from_parts(parts, body))
        .map(Body::from)
}

/// The app's side: each DM once, the other items as notes.
async fn print_dms(mut items: WebhookEvents, stop_after: Option<usize>) {
    let mut seen = 0;
    while let Some(item) = items.recv().await {
        match item {
            WebhookItem::Delivery(delivery) => {
                for event in &delivery.events {
                    if let ActivityEvent::Message(m) = event {
                        println!(
                            "DM {} from {}: {}",
                            m.id(),
                            m.event.sender_id.as_deref().unwrap_or("?"),
                            m.event.text.as_deref().unwrap_or("")
                        );
                        seen += 1;
                    }
                }
            }
            WebhookItem::ReplayJobStatus(status) => {
                println!("replay job ended: {:?}", status.job_state);
            }
            other => println!("something else: {other:?}"),
        }
        if stop_after.is_some_and(|n| seen >= n) {
            return;
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if let Ok(secret) = std::env::var("X_CONSUMER_SECRET") {
        let addr: SocketAddr = std::env::var("X_WEBHOOK_ADDR")
            .unwrap_or_else(|_| "127.0.0.1:8080".to_owned())
            .parse()?;
        let (receiver, items) = WebhookReceiver::new(ConsumerSecret::new(secret));
        let app = Router::new()
            .route("/webhooks/x", any(webhook))
            .with_state(receiver);
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("listening on http://{addr}/webhooks/x (Ctrl-C to stop)");
        tokio::spawn(print_dms(items, None));
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        return Ok(());
    }

    // The demo: the app first, then an emulator that sends what is registered as an https
    // URL (as X requires) to the app's plain-HTTP address.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let emulator = Emulator::builder().webhook_target(addr).start().await?;
    let credentials = emulator.credentials();
    println!(
        "No X_CONSUMER_SECRET set: running against the emulator at {}",
        emulator.base_url()
    );
    let secret = ConsumerSecret::new(credentials.oauth1.consumer_secret.clone());
    let (receiver, items) = WebhookReceiver::new(secret);
    let app = Router::new()
        .route("/webhooks/x", any(webhook))
        .with_state(receiver);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let base = BaseUrl::parse(emulator.base_url())?;
    let hooks = Webhooks::new(
        xdm::transport::HyperTransport::builder().build()?,
        xdm::transport::TokioClock,
        credentials.app_bearer_token.clone(),
        xdm::endpoint::RequestContext::new(base.clone()),
    );
    let hook = hooks.register("https://bot.example.com/webhooks/x").await?;
    println!("registered webhook {:?} (valid: {:?})", hook.id, hook.valid);

    let me = UserId::parse(&credentials.oauth2.user_id)?;
    let user = xdm::builder()
        .config(
            Config::new(Credentials::oauth2_token(
                credentials.oauth2.access_token.clone(),
            ))
            .with_base_url(base),
        )
        .build()?;
    let subscribe = CreateSubscription::for_user(SubscriptionEventType::DmReceived, me.clone())?
        .with_webhook(WebhookId::parse(hook.id.as_deref().unwrap_or_default())?);
    user.execute(&subscribe).await?;

    let alice = emulator.handle().users()[1].id.clone();
    emulator
        .handle()
        .send_dm(&alice, me.as_str(), "hello from the webhook demo");
    tokio::time::timeout(Duration::from_secs(10), print_dms(items, Some(1))).await?;
    Ok(())
}
