//! The emulator as X's webhook client: CRC checks, signed deliveries with retries, replay
//! completion notices.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use sha2::Sha256;
use tokio::sync::mpsc::UnboundedReceiver;

use super::{ActivityConfig, CrcCheck};
use crate::live::stopped;
use crate::server::Shared;

/// The largest answer read from a webhook; X's CRC answer is a few dozen bytes.
const MAX_ANSWER: usize = 64 * 1024;

/// Work for a webhook's delivery task, done in order.
#[derive(Debug)]
pub(crate) enum WebhookJob {
    /// First attempt of the delivery recorded at `index`.
    Deliver { index: usize, body: Bytes },
    /// The end of a replay job: announce it on the webhook.
    ReplayDone { job_id: u64 },
}

/// `sha256=` + base64 of HMAC-SHA256 keyed with the consumer secret: the CRC
/// `response_token` and the `x-twitter-webhooks-signature` header alike.
pub(crate) fn signature(consumer_secret: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(consumer_secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(message);
    format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// Where the emulator connects for a webhook URL, and what it asks for there.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    connect: Connect,
    host: String,
    path_and_query: String,
}

#[derive(Debug, Clone)]
enum Connect {
    Addr(SocketAddr),
    Host(String),
}

impl Target {
    /// Resolves `url` under the configuration: an `https://` URL needs the builder's
    /// `webhook_target`, since the emulator speaks plain HTTP only.
    pub(crate) fn of(url: &str, cfg: &ActivityConfig) -> Result<Self, String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|_| "the URL does not parse".to_owned())?;
        let host = uri.authority().ok_or("the URL has no host")?.to_string();
        let path_and_query = uri
            .path_and_query()
            .map_or("/".to_owned(), |p| p.as_str().to_owned());
        let connect = match (cfg.webhook_target, uri.scheme_str()) {
            (Some(addr), _) => Connect::Addr(addr),
            (None, Some("http")) => Connect::Host(match uri.port_u16() {
                Some(_) => host.clone(),
                None => format!("{host}:80"),
            }),
            _ => {
                return Err(
                    "the emulator has no TLS client; route https webhooks with webhook_target"
                        .to_owned(),
                );
            }
        };
        Ok(Self {
            connect,
            host,
            path_and_query,
        })
    }

    /// The same target with `name=value` added to the query.
    fn with_query(&self, name: &str, value: &str) -> Self {
        let sep = if self.path_and_query.contains('?') {
            '&'
        } else {
            '?'
        };
        Self {
            path_and_query: format!("{}{sep}{name}={value}", self.path_and_query),
            ..self.clone()
        }
    }
}

/// One HTTP/1.1 exchange with a timeout over everything; the status and body, or why not.
async fn exchange(
    target: &Target,
    method: http::Method,
    headers: &[(&'static str, String)],
    body: Bytes,
    timeout: Duration,
) -> Result<(u16, Bytes), String> {
    let work = async {
        let tcp = match &target.connect {
            Connect::Addr(a) => tokio::net::TcpStream::connect(a).await,
            Connect::Host(h) => tokio::net::TcpStream::connect(h.as_str()).await,
        }
        .map_err(|e| format!("connect: {e}"))?;
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(conn);
        let mut b = http::Request::builder()
            .method(method)
            .uri(target.path_and_query.as_str())
            .header("host", target.host.as_str())
            .header("user-agent", "xdm-emulator");
        for (k, v) in headers {
            b = b.header(*k, v.as_str());
        }
        let req = b
            .body(Full::new(body))
            .map_err(|e| format!("request: {e}"))?;
        let resp = send
            .send_request(req)
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = resp.status().as_u16();
        let body = Limited::new(resp.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| format!("answer body: {e}"))?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| format!("no answer within {timeout:?}"))?
}

/// Sends a CRC challenge to `url` and judges the answer.
pub(crate) async fn crc(url: &str, secret: &str, cfg: &ActivityConfig, token: String) -> CrcCheck {
    let mut check = CrcCheck {
        url: url.to_owned(),
        crc_token: token.clone(),
        status: None,
        valid: false,
        reason: String::new(),
    };
    let target = match Target::of(url, cfg) {
        Ok(t) => t.with_query("crc_token", &token),
        Err(e) => {
            check.reason = e;
            return check;
        }
    };
    match exchange(
        &target,
        http::Method::GET,
        &[],
        Bytes::new(),
        cfg.crc_timeout,
    )
    .await
    {
        Err(e) => check.reason = e,
        Ok((status, body)) => {
            check.status = Some(status);
            let expected = signature(secret, token.as_bytes());
            let got = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["response_token"].as_str().map(str::to_owned));
            match (status, got) {
                (200, Some(t)) if t == expected => check.valid = true,
                (200, Some(t)) => check.reason = format!("wrong response_token {t:?}"),
                (200, None) => check.reason = "no response_token in the answer".to_owned(),
                (s, _) => check.reason = format!("status {s}"),
            }
        }
    }
    check
}

/// Starts the task that delivers a webhook's queue in order.
pub(crate) fn spawn_worker(
    shared: Arc<Shared>,
    webhook_id: u64,
    rx: UnboundedReceiver<WebhookJob>,
) {
    tokio::spawn(worker(shared, webhook_id, rx));
}

async fn worker(shared: Arc<Shared>, webhook_id: u64, mut rx: UnboundedReceiver<WebhookJob>) {
    let mut stop = shared.stop.clone();
    loop {
        let job = tokio::select! {
            j = rx.recv() => match j { Some(j) => j, None => return },
            _ = stopped(&mut stop) => return,
        };
        let (index, body) = match job {
            WebhookJob::Deliver { index, body } => (index, body),
            WebhookJob::ReplayDone { job_id } => {
                let mut g = shared.lock();
                let Some(hook) = g.activity.webhooks.get_mut(&webhook_id) else {
                    continue;
                };
                hook.replay_job = None;
                let body = Bytes::from(
                    serde_json::json!({"replay_job_status": {
                        "webhook_id": webhook_id.to_string(),
                        "job_state": "Complete",
                        "job_state_description": "Job completed successfully",
                        "job_id": job_id.to_string(),
                    }})
                    .to_string(),
                );
                let now = shared.clock.now_millis();
                (hook.record(now, None, body.clone(), true), body)
            }
        };
        if !attempt(&shared, webhook_id, index, &body).await {
            tokio::spawn(retry(shared.clone(), webhook_id, index, body));
        }
    }
}

/// Retries a failed delivery on the configured schedule until one attempt gets a 200.
async fn retry(shared: Arc<Shared>, webhook_id: u64, index: usize, body: Bytes) {
    let delays = shared.lock().activity.config.retry_delays.clone();
    let mut stop = shared.stop.clone();
    for d in delays {
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = stopped(&mut stop) => return,
        }
        if attempt(&shared, webhook_id, index, &body).await {
            return;
        }
    }
}

/// One signed POST of a recorded delivery; records its status and says whether it got a 200.
/// A webhook deleted meanwhile counts as done.
async fn attempt(shared: &Arc<Shared>, webhook_id: u64, index: usize, body: &Bytes) -> bool {
    let (target, secret, timeout, failure) = {
        let mut g = shared.lock();
        if !g.activity.webhooks.contains_key(&webhook_id) {
            return true;
        }
        let failure = g.activity.webhook_failures.pop_front();
        let hook = &g.activity.webhooks[&webhook_id];
        (
            Target::of(&hook.url, &g.activity.config),
            g.auth.consumer_secret.clone(),
            g.activity.config.delivery_timeout,
            failure,
        )
    };
    let status = match target {
        // A failure injected from the console answers in the webhook's place.
        _ if failure.is_some() => failure,
        Ok(t) => {
            let headers = [
                ("content-type", "application/json; charset=utf-8".to_owned()),
                ("x-twitter-webhooks-signature", signature(&secret, body)),
            ];
            exchange(&t, http::Method::POST, &headers, body.clone(), timeout)
                .await
                .ok()
                .map(|(s, _)| s)
        }
        Err(_) => None,
    };
    let mut g = shared.lock();
    if let Some(d) = g
        .activity
        .webhooks
        .get_mut(&webhook_id)
        .and_then(|h| h.deliveries.get_mut(index))
    {
        d.attempts.push(status);
    }
    shared.publish(crate::console::Update::activity());
    drop(g);
    status == Some(200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_vectors() {
        assert_eq!(
            signature("example_consumer_secret", b"challenge_string"),
            "sha256=BLHQf/McUOUGeo+E7k27Xca4s4VPe0iGUexxg/WXCaw="
        );
        let body = br#"{"data":{"event_uuid":"1","filter":{"user_id":"1111111111111111111"},"event_type":"dm.received","payload":{}}}"#;
        assert_eq!(body.len(), 110);
        assert_eq!(
            signature("example_consumer_secret", body),
            "sha256=7gIiHTf/YyrMqwrivo/z8QiydUC8+z/68YKR1ctwGhc="
        );
    }

    #[test]
    fn targets() {
        let cfg = ActivityConfig::default();
        let t = Target::of("http://127.0.0.1:9/hook?a=1", &cfg).unwrap();
        assert_eq!(
            t.with_query("crc_token", "x").path_and_query,
            "/hook?a=1&crc_token=x"
        );
        assert!(Target::of("https://example.com/hook", &cfg).is_err());
        let routed = ActivityConfig {
            webhook_target: Some(SocketAddr::from(([127, 0, 0, 1], 9))),
            ..ActivityConfig::default()
        };
        let t = Target::of("https://example.com/hook", &routed).unwrap();
        assert_eq!(t.host, "example.com");
        assert_eq!(
            t.with_query("crc_token", "x").path_and_query,
            "/hook?crc_token=x"
        );
    }
}
