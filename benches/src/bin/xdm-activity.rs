//! The real-time DM measurements of BENCHMARKS.md ("Real-time DMs"), driven by
//! `benches/compare/activity.sh`. Each subcommand prints one JSON object per measurement.
//!
//! ```text
//! xdm-activity stream-file PATH LINES      write LINES documented-shape `dm.received` lines,
//!                                          `\r\n`-terminated, a keep-alive after every tenth
//! xdm-activity decode PATH ROUNDS          LineDecoder (1 KiB chunks, as xdk reads) against
//!                                          splitting on `\n` and parsing each line into a
//!                                          `serde_json::Value`; median of ROUNDS
//! xdm-activity receive EVENTS              EVENTS signed deliveries through
//!                                          `WebhookReceiver::handle`, in process, each item
//!                                          read from the queue
//! xdm-activity server EVENTS CONNECTIONS   the same through `WebhookServer` over loopback,
//!                                          CONNECTIONS keep-alive HTTP/1.1 senders
//! xdm-activity latency stream|webhook N    N DMs sent on the emulator one after another, each
//!                                          timed until the listener hands it out
//! ```
//!
//! The lines and bodies are the documented `dm.received` delivery of
//! `spec/fixtures/activity/dm_received.json` on one line, with a distinct DM id each.

#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use xdm_client::Credentials;
use xdm_client::activity::{ActivityItem, ActivityStream, StreamNotice, StreamOptions};
use xdm_client::webhook::{WebhookEvents, WebhookItem, WebhookReceiver, Webhooks};
use xdm_core::activity::ActivityEvent;
use xdm_core::activity::session::SessionConfig;
use xdm_core::activity::stream::{LineDecoder, StreamItem};
use xdm_core::activity::webhook::{ConsumerSecret, SIGNATURE_HEADER};
use xdm_core::endpoints::{CreateSubscription, SubscriptionEventType};
use xdm_core::ids::{UserId, WebhookId};
use xdm_core::{BaseUrl, RequestContext};
use xdm_emulator::{Emulator, RateLimits};
use xdm_hyper::webhook::WebhookServer;
use xdm_hyper::{HyperTransport, TokioClock};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[path = "../activity_input.rs"]
mod activity_input;
use activity_input::{delivery_line, stream_bytes};
const SECRET: &str = "example_consumer_secret";

fn usage() -> ! {
    eprintln!("usage: see the doc comment of benches/src/bin/xdm-activity.rs");
    std::process::exit(2)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_else(|| usage());
    match arg(0) {
        "stream-file" => {
            std::fs::write(arg(1), stream_bytes(arg(2).parse()?))?;
            Ok(())
        }
        "decode" => decode(&std::fs::read(arg(1))?, arg(2).parse()?),
        "receive" => receive(arg(1).parse()?),
        "server" => server(arg(1).parse()?, arg(2).parse()?).await,
        "latency" => match arg(1) {
            "stream" => latency_stream(arg(2).parse()?).await,
            "webhook" => latency_webhook(arg(2).parse()?).await,
            _ => usage(),
        },
        _ => usage(),
    }
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Median seconds of `run` over `rounds` rounds, after one run whose result must be `expect`.
fn time_rounds(rounds: usize, expect: usize, mut run: impl FnMut() -> usize) -> f64 {
    assert_eq!(run(), expect, "a contender lost or invented lines");
    median(
        (0..rounds.max(1))
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(run());
                start.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

fn decode(bytes: &[u8], rounds: usize) -> Result<(), BoxError> {
    let events = bytes
        .split(|&b| b == b'\n')
        .filter(|line| !line.trim_ascii().is_empty())
        .count();
    let ours = time_rounds(rounds, events, || {
        let mut decoder = LineDecoder::new();
        let mut deliveries = 0;
        for chunk in bytes.chunks(1024) {
            decoder.push(chunk);
            while let Some(item) = decoder.poll_item() {
                deliveries += usize::from(matches!(item, StreamItem::Delivery(_)));
            }
        }
        deliveries
    });
    let value = time_rounds(rounds, events, || {
        bytes
            .split(|&b| b == b'\n')
            .filter(|line| {
                !line.trim_ascii().is_empty()
                    && serde_json::from_slice::<serde_json::Value>(line).is_ok()
            })
            .count()
    });
    for (contender, seconds) in [
        ("xdm LineDecoder + delivery decode", ours),
        ("serde_json::Value per line", value),
    ] {
        println!(
            "{}",
            json!({"bench": "stream_decode", "contender": contender, "seconds": seconds,
                   "bytes": bytes.len(), "events": events, "chunk_size": 1024})
        );
    }
    Ok(())
}

fn signed_requests(secret: &ConsumerSecret, events: u64) -> Vec<http::Request<Bytes>> {
    (0..events)
        .map(|i| {
            let body = Bytes::from(delivery_line(4_000_000_000_000_000_000 + i));
            http::Request::post("/webhooks/x")
                .header("content-type", "application/json")
                .header(SIGNATURE_HEADER, secret.sign(&body))
                .body(body)
                .expect("a valid request")
        })
        .collect()
}

fn message_id(item: &WebhookItem) -> Option<&str> {
    let WebhookItem::Delivery(delivery) = item else {
        return None;
    };
    delivery.events.iter().find_map(|e| match e {
        ActivityEvent::Message(m) => Some(m.id()),
        _ => None,
    })
}

/// Every request through the receiver; each delivery read back from the queue at once, as
/// an application keeping up would.
fn receive(events: u64) -> Result<(), BoxError> {
    let secret = ConsumerSecret::new(SECRET);
    let requests = signed_requests(&secret, events);
    let (receiver, mut items) = WebhookReceiver::builder(secret)
        .capacity(64)
        .deduper(xdm_core::activity::dedup::EventDeduper::with_capacity(
            events as usize + 1,
        ))
        .build();
    let start = Instant::now();
    let mut delivered = 0u64;
    for request in requests {
        let answer = receiver.handle(request);
        if answer.status() != 200 {
            return Err(format!("answered {}", answer.status()).into());
        }
        while let Some(item) = items.try_next() {
            delivered += u64::from(message_id(&item).is_some());
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    if delivered != events {
        return Err(format!("{delivered} of {events} delivered").into());
    }
    println!(
        "{}",
        json!({"bench": "webhook_receive", "contender": "WebhookReceiver::handle (in process)",
               "seconds": seconds, "events": events})
    );
    Ok(())
}

/// The receiver behind `WebhookServer` on loopback; `connections` senders each post their
/// share of the deliveries one after another over a keep-alive connection.
async fn server(events: u64, connections: u64) -> Result<(), BoxError> {
    let secret = ConsumerSecret::new(SECRET);
    let requests = signed_requests(&secret, events);
    let (receiver, mut items) = WebhookReceiver::builder(secret)
        .capacity(1024)
        .deduper(xdm_core::activity::dedup::EventDeduper::with_capacity(
            events as usize + 1,
        ))
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let serving = tokio::spawn(
        WebhookServer::from_listener(listener, receiver).run_until(std::future::pending()),
    );
    let reader = tokio::spawn(async move {
        let mut delivered = 0u64;
        while delivered < events {
            match items.recv().await {
                Some(item) => delivered += u64::from(message_id(&item).is_some()),
                None => break,
            }
        }
        delivered
    });
    let client: HyperClient<_, Full<Bytes>> =
        HyperClient::builder(TokioExecutor::new()).build_http();
    let mut shares: Vec<Vec<http::Request<Bytes>>> =
        (0..connections.max(1)).map(|_| Vec::new()).collect();
    let n = shares.len();
    for (i, request) in requests.into_iter().enumerate() {
        shares[i % n].push(request);
    }
    let start = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for share in shares {
        let client = client.clone();
        senders.spawn(async move {
            for request in share {
                let (parts, body) = request.into_parts();
                let mut request = http::Request::from_parts(parts, Full::new(body));
                *request.uri_mut() = format!("http://{addr}/webhooks/x").parse()?;
                let answer = client.request(request).await?;
                if answer.status() != 200 {
                    return Err::<(), BoxError>(format!("answered {}", answer.status()).into());
                }
                http_body_util::BodyExt::collect(answer.into_body()).await?;
            }
            Ok(())
        });
    }
    while let Some(done) = senders.join_next().await {
        done??;
    }
    let delivered = reader.await?;
    let seconds = start.elapsed().as_secs_f64();
    serving.abort();
    if delivered != events {
        return Err(format!("{delivered} of {events} delivered").into());
    }
    println!(
        "{}",
        json!({"bench": "webhook_receive", "contender": format!("WebhookServer over loopback, {connections} connection(s)"),
               "seconds": seconds, "events": events, "connections": connections})
    );
    Ok(())
}

/// Percentiles of the samples (seconds), as one JSON row.
fn latency_row(path: &str, mut samples: Vec<f64>) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    println!(
        "{}",
        json!({"bench": "latency", "contender": path, "samples": samples.len(),
               "p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": at(1.0), "mean": mean})
    );
}

fn app_client(emu: &Emulator) -> Result<xdm_hyper::Client, BoxError> {
    Ok(xdm_hyper::builder()
        .base_url(emu.base_url())?
        .credentials(Credentials::app_bearer(
            emu.credentials().app_bearer_token.clone(),
        ))
        .build()?)
}

fn user_client(emu: &Emulator) -> Result<xdm_hyper::Client, BoxError> {
    Ok(xdm_hyper::builder()
        .base_url(emu.base_url())?
        .credentials(Credentials::oauth2_token(
            emu.credentials().oauth2.access_token.clone(),
        ))
        .build()?)
}

/// The emulator's user (`me`) and another user who writes to it.
fn parties(emu: &Emulator) -> (String, String) {
    let me = emu.credentials().oauth2.user_id.clone();
    let other = emu
        .handle()
        .users()
        .into_iter()
        .map(|u| u.id)
        .find(|id| *id != me)
        .expect("the emulator seeds more than one user");
    (me, other)
}

/// Sends `samples` DMs from the other party to "me", one at a time, and times each until
/// `arrived` (called with the new event's id, once per item received) says it came out.
async fn time_sends(
    emu: &Emulator,
    samples: usize,
    mut arrived: impl AsyncFnMut(&str) -> Result<bool, BoxError>,
) -> Result<Vec<f64>, BoxError> {
    let (me, other) = parties(emu);
    let handle = emu.handle();
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples {
        let start = Instant::now();
        let id = handle
            .send_dm(&other, &me, &format!("latency {i}"))
            .ok_or("send_dm refused")?;
        while !arrived(&id)
            .await
            .map_err(|e| format!("at sample {i}: {e}"))?
        {}
        times.push(start.elapsed().as_secs_f64());
    }
    Ok(times)
}

/// `send_dm` on the emulator until `ActivityStream` hands the message out, one at a time.
async fn latency_stream(samples: usize) -> Result<(), BoxError> {
    let emu = Emulator::builder()
        .seed_events(0)
        .rate_limits(RateLimits::off())
        .start()
        .await?;
    let (me, _) = parties(&emu);
    let subscribe =
        CreateSubscription::for_user(SubscriptionEventType::DmReceived, UserId::parse(&me)?)?;
    user_client(&emu)?.execute(&subscribe).await?;
    let options = StreamOptions::new().with_session(SessionConfig::new().with_backfill(false));
    let mut stream = ActivityStream::with_options(app_client(&emu)?, options);
    // Connected before the first send.
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await? {
            Some(ActivityItem::Notice(StreamNotice::Connected { .. })) => break,
            Some(_) => {}
            None => return Err("the stream stopped before connecting".into()),
        }
    }
    let times = time_sends(&emu, samples, async |id: &str| {
        let item = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await?
            .ok_or("the stream stopped")?;
        if let ActivityItem::Notice(StreamNotice::Disconnected(_)) = &item {
            return Err("the stream dropped".into());
        }
        Ok(item.message().is_some_and(|m| m.id() == id))
    })
    .await?;
    latency_row("emulator send_dm -> ActivityStream::next", times);
    emu.shutdown().await;
    Ok(())
}

/// `send_dm` on the emulator until the `WebhookReceiver` behind a loopback `WebhookServer`
/// hands it out, one at a time.
async fn latency_webhook(samples: usize) -> Result<(), BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr: SocketAddr = listener.local_addr()?;
    let emu = Emulator::builder()
        .seed_events(0)
        .rate_limits(RateLimits::off())
        .webhook_target(addr)
        .start()
        .await?;
    let secret = emu.credentials().oauth1.consumer_secret.clone();
    let (receiver, mut items): (WebhookReceiver, WebhookEvents) =
        WebhookReceiver::new(ConsumerSecret::new(secret));
    let serving = tokio::spawn(
        WebhookServer::from_listener(listener, receiver).run_until(std::future::pending()),
    );
    let hooks = Webhooks::new(
        HyperTransport::builder().build()?,
        TokioClock,
        emu.credentials().app_bearer_token.clone(),
        RequestContext::new(BaseUrl::parse(emu.base_url())?),
    );
    let webhook = hooks
        .register("https://hooks.example.com/webhooks/x")
        .await?
        .id
        .ok_or("no webhook id")?;
    let (me, _) = parties(&emu);
    let subscribe =
        CreateSubscription::for_user(SubscriptionEventType::DmReceived, UserId::parse(&me)?)?
            .with_webhook(WebhookId::parse(&webhook)?);
    user_client(&emu)?.execute(&subscribe).await?;
    let times = time_sends(&emu, samples, async |id: &str| {
        let item = tokio::time::timeout(Duration::from_secs(10), items.recv())
            .await?
            .ok_or("the receiver stopped")?;
        Ok(message_id(&item) == Some(id))
    })
    .await?;
    latency_row(
        "emulator send_dm -> WebhookServer -> WebhookEvents::recv",
        times,
    );
    serving.abort();
    emu.shutdown().await;
    Ok(())
}
