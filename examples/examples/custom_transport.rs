//! The client over a transport that is not hyper: a blocking `std::net` HTTP/1.1 client run
//! on a thread per request, and a timer that sleeps on a thread. Neither touches tokio; the
//! runtime here only hosts the emulator.
//!
//! `xdm::client::Client` is the client generic over its transport and timer. A program that
//! brings its own transport depends on `xdm` with `default-features = false` (no hyper, no
//! rustls, no tokio), or on the single crates `xdm-core`, `xdm-auth` and `xdm-client`.
//!
//! ```text
//! cargo run --example custom_transport
//! ```
//!
//! The emulator allows two listing requests per two-second window, so paging through its
//! events shows the client waiting for each window instead of collecting 429s.
#![allow(clippy::print_stdout)]

use std::future::Future;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use xdm::BaseUrl;
use xdm::client::{Client, Config, Credentials};
use xdm::emulator::{Emulator, RateLimits};
use xdm::endpoints::ListParams;
use xdm::retry::{ReachedServer, TransportErrorKind, TransportFailure};
use xdm::transport::{Timer, Transport, TransportError};

/// A value computed on another thread, awaited without any runtime.
struct OnThread<T> {
    slot: Arc<Mutex<(Option<T>, Option<Waker>)>>,
}

impl<T: Send + 'static> OnThread<T> {
    fn spawn(work: impl FnOnce() -> T + Send + 'static) -> Self {
        let slot: Arc<Mutex<(Option<T>, Option<Waker>)>> = Arc::new(Mutex::new((None, None)));
        let filled = Arc::clone(&slot);
        std::thread::spawn(move || {
            let value = work();
            let mut slot = filled.lock().unwrap_or_else(|e| e.into_inner());
            slot.0 = Some(value);
            if let Some(waker) = slot.1.take() {
                waker.wake();
            }
        });
        OnThread { slot }
    }
}

impl<T> Future for OnThread<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        match slot.0.take() {
            Some(value) => Poll::Ready(value),
            None => {
                slot.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// HTTP/1.1 over `std::net`, one connection per request (plain `http://` only).
struct BlockingHttp;

fn failure(
    kind: TransportErrorKind,
    reached: ReachedServer,
    what: impl Into<String>,
) -> TransportError {
    TransportError::new(TransportFailure::new(kind, reached), what)
}

fn exchange(request: http::Request<Bytes>) -> Result<http::Response<Bytes>, TransportError> {
    let uri = request.uri();
    let host = uri.host().unwrap_or("127.0.0.1").to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let mut stream = TcpStream::connect((host.as_str(), port)).map_err(|e| {
        failure(
            TransportErrorKind::Connect,
            ReachedServer::No,
            e.to_string(),
        )
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let io =
        |e: std::io::Error| failure(TransportErrorKind::Io, ReachedServer::Maybe, e.to_string());
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut head = format!(
        "{} {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n",
        request.method()
    );
    for (name, value) in request.headers() {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap_or("")));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", request.body().len()));
    stream.write_all(head.as_bytes()).map_err(io)?;
    stream.write_all(request.body()).map_err(io)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(io)?;
    parse_response(&raw).ok_or_else(|| {
        failure(
            TransportErrorKind::Io,
            ReachedServer::Maybe,
            "malformed HTTP/1.1 response",
        )
    })
}

fn parse_response(raw: &[u8]) -> Option<http::Response<Bytes>> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut builder = http::Response::builder().status(status);
    let mut chunked = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        chunked |= name.eq_ignore_ascii_case("transfer-encoding")
            && value.trim().eq_ignore_ascii_case("chunked");
        builder = builder.header(name.trim(), value.trim());
    }
    let body = &raw[end + 4..];
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    builder.body(Bytes::from(body)).ok()
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size =
            usize::from_str_radix(std::str::from_utf8(&body[..line_end]).ok()?.trim(), 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

impl Transport for BlockingHttp {
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> impl Future<Output = Result<http::Response<Bytes>, TransportError>> + Send {
        OnThread::spawn(move || exchange(request))
    }
}

/// The system clock, sleeping on a thread.
struct ThreadClock;

impl Timer for ThreadClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        OnThread::spawn(move || std::thread::sleep(duration))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let defaults = RateLimits::default();
    let limits = RateLimits {
        window: Duration::from_secs(2),
        read: xdm::emulator::GroupLimits {
            user_per_window: 2,
            ..defaults.read
        },
        ..defaults
    };
    let emulator = Emulator::builder()
        .seed_events(24)
        .rate_limits(limits)
        .start()
        .await?;
    let c = &emulator.credentials().oauth1;
    let config = Config::new(Credentials::oauth1(
        &c.consumer_key,
        &c.consumer_secret,
        &c.access_token,
        &c.access_token_secret,
    ))
    .with_base_url(BaseUrl::parse(emulator.base_url())?);
    let client = Client::new(BlockingHttp, ThreadClock, config);

    let started = Instant::now();
    let mut pages = client.list_events_with(ListParams::new().with_max_results(5)?);
    while let Some(page) = pages.next_page().await {
        let page = page?;
        println!(
            "{:>5.1}s  page {} with {} events",
            started.elapsed().as_secs_f64(),
            pages.pages_seen(),
            page.items().len()
        );
    }
    let statuses: Vec<u16> = emulator
        .handle()
        .requests()
        .iter()
        .filter_map(|r| r.status)
        .collect();
    let too_many = statuses.iter().filter(|s| **s == 429).count();
    println!(
        "done ({:?}): {} requests, {too_many} answered 429",
        pages.stop_reason(),
        statuses.len()
    );
    emulator.shutdown().await;
    Ok(())
}
