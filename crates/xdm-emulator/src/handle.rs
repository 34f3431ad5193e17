//! The public face: the builder, the running emulator, and the handle tests inspect it with.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::activity::{
    Activity, ActivityConfig, CrcCheck, DeliveryFault, StreamChaos, StreamFault, WebhookDelivery,
};
use crate::auth::AuthState;
use crate::clock::{Clock, SystemClock};
use crate::console::{self, Hub, Update};
use crate::faults::{ArmedFault, Fault, Faults};
use crate::ids::{Rng, TokenCodec};
use crate::rate_limit::{Limiter, RateLimits};
use crate::seed;
use crate::server::{self, Inner, RequestRecord, Shared, Switches};
use crate::state::{ConversationView, EventView, UserInfo};

/// The scopes of the OAuth 2.0 token issued at start.
const DEFAULT_SCOPES: &[&str] = &[
    "dm.read",
    "dm.write",
    "tweet.read",
    "users.read",
    "offline.access",
    "media.write",
];

/// OAuth 1.0a user-context credentials for "me".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth1Credentials {
    /// The app's consumer (API) key.
    pub consumer_key: String,
    /// The app's consumer secret.
    pub consumer_secret: String,
    /// "me"'s access token.
    pub access_token: String,
    /// "me"'s access token secret.
    pub access_token_secret: String,
    /// "me"'s user id.
    pub user_id: String,
}

/// OAuth 2.0 credentials: the client, and a user token for "me".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2Credentials {
    /// The client id (public or confidential).
    pub client_id: String,
    /// The client secret (for Basic authentication at the token endpoint).
    pub client_secret: String,
    /// A user access token for "me", valid two hours from start.
    pub access_token: String,
    /// Its refresh token (single use: refreshing rotates it).
    pub refresh_token: String,
    /// "me"'s user id.
    pub user_id: String,
    /// The scopes the access token carries.
    pub scopes: Vec<String>,
}

/// Everything a client needs to authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// OAuth 1.0a.
    pub oauth1: OAuth1Credentials,
    /// OAuth 2.0 user context.
    pub oauth2: OAuth2Credentials,
    /// The app-only bearer token: the DM endpoints refuse it with 403, as X does; the
    /// activity stream, the subscription listing, update and delete, and the webhook
    /// endpoints take nothing else. (CRC answers and webhook signatures use
    /// [`OAuth1Credentials::consumer_secret`].)
    pub app_bearer_token: String,
}

#[derive(Debug, Clone, Copy)]
enum WorldSpec {
    Demo(usize),
    Empty,
}

/// Options for [`Emulator`]; start with [`Emulator::builder`].
pub struct EmulatorBuilder {
    addr: SocketAddr,
    seed: u64,
    world: WorldSpec,
    limits: RateLimits,
    clock: Arc<dyn Clock>,
    auto_approve: bool,
    redirect_uris: Vec<String>,
    max_body: usize,
    activity: ActivityConfig,
    console: bool,
    console_allow_remote: bool,
    #[cfg(feature = "tls")]
    tls: bool,
    /// The names the certificate carries; empty means `localhost` and `127.0.0.1`.
    #[cfg(feature = "tls")]
    tls_names: Vec<String>,
}

impl std::fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorBuilder")
            .field("addr", &self.addr)
            .field("seed", &self.seed)
            .field("world", &self.world)
            .field("limits", &self.limits)
            .field("auto_approve", &self.auto_approve)
            .field("console", &self.console)
            .finish_non_exhaustive()
    }
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 1,
            world: WorldSpec::Demo(300),
            limits: RateLimits::default(),
            clock: Arc::new(SystemClock),
            auto_approve: true,
            redirect_uris: Vec::new(),
            max_body: 64 * 1024 * 1024,
            activity: ActivityConfig::default(),
            console: false,
            console_allow_remote: false,
            #[cfg(feature = "tls")]
            tls: false,
            #[cfg(feature = "tls")]
            tls_names: Vec::new(),
        }
    }
}

impl EmulatorBuilder {
    /// Where to listen; `127.0.0.1:0` (any free port) by default.
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The seed the demo world and the credentials are derived from (default 1).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Users only: no conversations, no events.
    pub fn empty_world(mut self) -> Self {
        self.world = WorldSpec::Empty;
        self
    }

    /// The demo world with `n` events instead of the default 300 (100,000+ is fine).
    pub fn seed_events(mut self, n: usize) -> Self {
        self.world = WorldSpec::Demo(n);
        self
    }

    /// Rate-limit settings (X's defaults unless changed; [`RateLimits::off`] disables them).
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The clock to use instead of real time (see [`crate::ManualClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Whether the authorize pages approve at once and redirect (default) or show a consent
    /// form first.
    pub fn auto_approve(mut self, yes: bool) -> Self {
        self.auto_approve = yes;
        self
    }

    /// The app's registered callback URLs. `redirect_uri` (OAuth 2.0) and `oauth_callback`
    /// (OAuth 1.0a, except `oob`) must then match one exactly, as at X. By default any is
    /// accepted.
    pub fn redirect_uris<I, S>(mut self, uris: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.redirect_uris = uris.into_iter().map(Into::into).collect();
        self
    }

    /// The largest request body accepted (64 MiB by default); larger ones get 413.
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body = n;
        self
    }

    /// How often an idle activity stream sends a keep-alive (`\r\n`); 20 s by default, as X
    /// documents for its streams. Tests shorten it. The response headers go out at once
    /// (X sends them with the first keep-alive; arm [`FaultKind::DelayHeaders`] on
    /// `/2/activity/stream` to imitate that).
    ///
    /// [`FaultKind::DelayHeaders`]: crate::FaultKind::DelayHeaders
    pub fn stream_keep_alive(mut self, every: Duration) -> Self {
        self.activity.keep_alive = every;
        self
    }

    /// How many activity-stream connections the app may hold at once (X: 2); one more gets
    /// the 429 `TooManyConnections` body.
    pub fn stream_connection_limit(mut self, n: usize) -> Self {
        self.activity.connection_limit = n;
        self
    }

    /// How many activity subscriptions the app may hold (X self-serve: 1,500).
    pub fn subscription_cap(mut self, n: usize) -> Self {
        self.activity.subscription_cap = n;
        self
    }

    /// How many webhooks the app may register (X pay-per-use: 1).
    pub fn webhook_cap(mut self, n: usize) -> Self {
        self.activity.webhook_cap = n;
        self
    }

    /// Lets `POST /2/webhooks` accept `http://` URLs on `127.0.0.1`, `localhost` or `[::1]`
    /// with a port, so a test can register a local receiver. X accepts only `https://` URLs
    /// without a port, and so does the emulator by default.
    pub fn allow_loopback_webhooks(mut self, yes: bool) -> Self {
        self.activity.loopback_webhooks = yes;
        self
    }

    /// Sends every webhook request (CRC and deliveries) to this plain-HTTP address, whatever
    /// the registered URL names; the `Host` header and the path stay those of the URL. This
    /// is how an `https://` URL that follows X's rules reaches a local receiver: the emulator
    /// has no TLS client, so without it such a URL fails its CRC.
    pub fn webhook_target(mut self, addr: SocketAddr) -> Self {
        self.activity.webhook_target = Some(addr);
        self
    }

    /// Refuses `backfill_minutes` on the stream with a 400, as X does on plans without
    /// backfill.
    pub fn refuse_backfill(mut self, yes: bool) -> Self {
        self.activity.refuse_backfill = yes;
        self
    }

    /// The waits before each retry of a webhook delivery that got no 200: one retry per
    /// entry. X publishes no schedule for its V2 webhooks; the default (30 s, 90 s, 180 s:
    /// three retries over about five minutes) follows its older enterprise one.
    pub fn webhook_retry_delays(mut self, delays: impl IntoIterator<Item = Duration>) -> Self {
        self.activity.retry_delays = delays.into_iter().collect();
        self
    }

    /// How long the emulator waits for a webhook's answer: to a CRC (3 s by default, as X's
    /// older docs say) and to a delivery (10 s by default, X's documented limit).
    pub fn webhook_timeouts(mut self, crc: Duration, delivery: Duration) -> Self {
        self.activity.crc_timeout = crc;
        self.activity.delivery_timeout = delivery;
        self
    }

    /// Serves the web console under `/console/` and its control API under `/console/api/`
    /// (off by default; then `/console` paths are unknown paths). The console answers
    /// loopback clients only (see [`console_allow_remote`](Self::console_allow_remote)); its
    /// requests never count against rate limits, take no armed fault and stay out of
    /// [`EmulatorHandle::requests`]. With it on, the emulator also keeps a detailed, redacted
    /// log of the last 2,000 API requests for the console.
    pub fn console(mut self, yes: bool) -> Self {
        self.console = yes;
        self
    }

    /// Lets clients that are not on a loopback address use the console. Anyone who can reach
    /// the port can then read the credentials and act as any user: only for a network you
    /// trust.
    pub fn console_allow_remote(mut self, yes: bool) -> Self {
        self.console_allow_remote = yes;
        self
    }

    /// Serve HTTPS with a freshly generated self-signed certificate for `localhost` and
    /// `127.0.0.1` (see [`Emulator::certificate_pem`]).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, yes: bool) -> Self {
        self.tls = yes;
        self
    }

    /// The names the certificate of [`tls`](Self::tls) carries instead of `localhost` and
    /// `127.0.0.1`: DNS names, or IP addresses written out. Only these are in it, so a client
    /// that connects by any other name (`localhost` included, unless listed) must refuse the
    /// certificate even when it trusts it; that is what this option is for. It does not turn
    /// TLS on, and an empty list keeps the default names.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let emu = xdm_emulator::Emulator::builder()
    ///     .tls(true)
    ///     .tls_names(["api.example.test"])
    ///     .start()
    ///     .await?;
    /// // A client trusting `emu.certificate_pem()` refuses `https://localhost:<port>`.
    /// # drop(emu);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls_names<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tls_names = names.into_iter().map(Into::into).collect();
        self
    }

    /// Builds the world, binds the socket and starts serving.
    pub async fn start(self) -> std::io::Result<Emulator> {
        let now = self.clock.now_millis();
        let mut world = match self.world {
            WorldSpec::Demo(n) => seed::demo(now, self.seed, n),
            WorldSpec::Empty => seed::users_only(now, self.seed),
        };
        if self.console {
            // The seeded world starts read; changes from now on are published.
            world.seeded_until = world.events.last().map_or(0, |e| e.id);
            world.feed = Some(Vec::new());
        }
        let mut rng = Rng::new(self.seed ^ 0x5EED_C0DE_CAFE_F00D);
        let me_id = world.users[0].id;
        let mut auth = AuthState::new(&mut rng, 0, me_id);
        let scopes: Vec<String> = DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect();
        let client_id = auth.client_id.clone();
        let (access, refresh) = auth.issue_oauth2(0, scopes.clone(), &client_id, now);
        let (o1_token, (o1_secret, _)) = auth
            .oauth1_tokens
            .iter()
            .next()
            .map(|(k, v)| (k.clone(), v.clone()))
            .expect("one OAuth 1.0a token is issued at start");
        let credentials = Credentials {
            oauth1: OAuth1Credentials {
                consumer_key: auth.consumer_key.clone(),
                consumer_secret: auth.consumer_secret.clone(),
                access_token: o1_token,
                access_token_secret: o1_secret,
                user_id: me_id.to_string(),
            },
            oauth2: OAuth2Credentials {
                client_id,
                client_secret: auth.client_secret.clone(),
                access_token: access,
                refresh_token: refresh.unwrap_or_default(),
                user_id: me_id.to_string(),
                scopes,
            },
            app_bearer_token: auth.app_bearer.clone(),
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
        key[8..].copy_from_slice(&Rng::from_os().next_u64().to_le_bytes());
        let inner = Inner {
            world,
            auth,
            limiter: Limiter::default(),
            limits: self.limits,
            faults: Faults::default(),
            log: Vec::new(),
            requests: self.console.then(console::requests::RequestLog::default),
            switches: Switches::default(),
            codec: TokenCodec::new(key),
            auto_approve: self.auto_approve,
            redirect_uris: self.redirect_uris,
            activity: Activity::new(self.activity, self.seed, stop_rx.clone()),
            followup: None,
        };
        let listener = TcpListener::bind(self.addr).await?;
        let local = listener.local_addr()?;
        #[cfg(feature = "tls")]
        let (acceptor, cert_pem, scheme) = if self.tls {
            let (a, pem) = if self.tls_names.is_empty() {
                crate::tls::acceptor()?
            } else {
                crate::tls::acceptor_for(&self.tls_names)?
            };
            (Some(a), Some(pem), "https")
        } else {
            (None, None, "http")
        };
        #[cfg(not(feature = "tls"))]
        let (acceptor, cert_pem, scheme): (server::Acceptor, Option<String>, &'static str) =
            (None, None, "http");
        let shared = Arc::new(Shared::new(
            inner,
            self.clock,
            scheme,
            self.max_body,
            stop_rx.clone(),
            self.console.then(|| Hub::new(self.console_allow_remote)),
        ));
        let task = tokio::spawn(server::serve(listener, shared.clone(), stop_rx, acceptor));
        let emu = Emulator {
            base_url: format!("{scheme}://{local}"),
            addr: local,
            credentials,
            handle: EmulatorHandle(shared.clone()),
            stop: stop_tx,
            task: Some(task),
            cert_pem,
        };
        if let Some(hub) = &shared.console {
            let _ = hub.describe.set(emu.describe());
        }
        Ok(emu)
    }
}

/// A running emulator. Dropping it stops the server; [`Emulator::shutdown`] also waits.
#[derive(Debug)]
pub struct Emulator {
    base_url: String,
    addr: SocketAddr,
    credentials: Credentials,
    handle: EmulatorHandle,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    cert_pem: Option<String>,
}

impl Emulator {
    /// Options, starting from the defaults: `127.0.0.1:0`, the demo world, X's rate limits,
    /// real time, auto-approving authorize pages.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// `http://127.0.0.1:PORT` (or `https://` with TLS): use it in place of `https://api.x.com`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The socket address served.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Credentials for "me" and the app.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// A cloneable handle to inspect state and inject faults.
    pub fn handle(&self) -> EmulatorHandle {
        self.handle.clone()
    }

    /// `{base_url}/console/` when the console is on ([`EmulatorBuilder::console`]).
    pub fn console_url(&self) -> Option<String> {
        self.handle
            .0
            .console
            .as_ref()
            .map(|_| format!("{}/console/", self.base_url))
    }

    /// The self-signed certificate (PEM) when serving HTTPS.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    /// The one-line JSON description the binary prints: base URL, credentials and users.
    pub fn describe(&self) -> serde_json::Value {
        let c = &self.credentials;
        json!({
            "base_url": self.base_url,
            "oauth1": {
                "consumer_key": c.oauth1.consumer_key,
                "consumer_secret": c.oauth1.consumer_secret,
                "access_token": c.oauth1.access_token,
                "access_token_secret": c.oauth1.access_token_secret,
                "user_id": c.oauth1.user_id,
            },
            "oauth2": {
                "client_id": c.oauth2.client_id,
                "client_secret": c.oauth2.client_secret,
                "access_token": c.oauth2.access_token,
                "refresh_token": c.oauth2.refresh_token,
                "user_id": c.oauth2.user_id,
            },
            "app_bearer_token": c.app_bearer_token,
            "users": self.handle.users().iter().map(|u| json!({"id": u.id, "username": u.username, "name": u.name})).collect::<Vec<_>>(),
        })
    }

    /// Stops accepting, closes open connections, and waits for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Inspects and steers a running emulator. Cheap to clone; usable from any thread.
#[derive(Clone)]
pub struct EmulatorHandle(Arc<Shared>);

impl std::fmt::Debug for EmulatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmulatorHandle")
    }
}

impl EmulatorHandle {
    /// All users; the first is "me".
    pub fn users(&self) -> Vec<UserInfo> {
        let g = self.0.lock();
        g.world
            .users
            .iter()
            .map(|u| UserInfo {
                id: u.id.to_string(),
                username: u.username.clone(),
                name: u.name.clone(),
            })
            .collect()
    }

    /// Every event its sender has not deleted, oldest first.
    ///
    /// A delete at X is "delete for you": the API hides the event from its sender only, and
    /// the other participants still see it (see [`EmulatorHandle::event_as`]). The handle's
    /// views count such an event as deleted.
    pub fn events(&self) -> Vec<EventView> {
        let g = self.0.lock();
        g.world
            .events
            .iter()
            .filter(|e| !e.deleted)
            .map(|e| g.world.view(e))
            .collect()
    }

    /// Number of events not deleted (cheap, for large worlds).
    pub fn event_count(&self) -> usize {
        self.0
            .lock()
            .world
            .events
            .iter()
            .filter(|e| !e.deleted)
            .count()
    }

    /// One event by id, if it exists and its sender has not deleted it.
    pub fn event(&self, id: &str) -> Option<EventView> {
        let g = self.0.lock();
        let id: u64 = id.parse().ok()?;
        g.world
            .event_pos(id)
            .map(|p| &g.world.events[p])
            .filter(|e| !e.deleted)
            .map(|e| g.world.view(e))
    }

    /// One event as user `user_id` sees it through the API: `None` when they are not in its
    /// conversation, have deleted it, or either id is unknown.
    pub fn event_as(&self, user_id: &str, id: &str) -> Option<EventView> {
        let g = self.0.lock();
        let user = g.world.user_by_id(user_id.parse().ok()?)?;
        let pos = g.world.event_seen_by(user, id.parse().ok()?)?;
        Some(g.world.view(&g.world.events[pos]))
    }

    /// Every conversation.
    pub fn conversations(&self) -> Vec<ConversationView> {
        let g = self.0.lock();
        let w = &g.world;
        w.convs
            .iter()
            .map(|c| ConversationView {
                id: c.key.to_string(),
                is_group: matches!(c.key, crate::state::ConvKey::Group(_)),
                participant_ids: w.user_ids(&c.members),
                event_count: c
                    .events
                    .iter()
                    .filter(|&&p| !w.events[p as usize].deleted)
                    .count(),
            })
            .collect()
    }

    /// Whether `blocker` blocks DMs from `blocked` (user ids).
    pub fn is_blocked(&self, blocker: &str, blocked: &str) -> bool {
        let g = self.0.lock();
        let find = |s: &str| s.parse().ok().and_then(|id| g.world.user_by_id(id));
        match (find(blocker), find(blocked)) {
            (Some(a), Some(b)) => g.world.blocks.contains(&(a, b)),
            _ => false,
        }
    }

    /// How many TCP connections the server has accepted since it started (with TLS, before
    /// the handshake). Two requests over one kept-alive connection count once.
    pub fn connections_accepted(&self) -> u64 {
        self.0.connections.accepted()
    }

    /// How many accepted connections are open now. A connection counts until the server has
    /// seen it close, which may be a moment after the client dropped it.
    pub fn connections_open(&self) -> u64 {
        self.0.connections.open()
    }

    /// The requests received so far, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.0.lock().log.clone()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.0.lock().log.clear();
    }

    /// Arms a fault.
    pub fn inject(&self, fault: Fault) {
        self.0.lock().faults.add(fault);
        self.0.publish(Update::faults());
    }

    /// Arms a fault that fires on the next `times` matching requests (for a
    /// [`Trigger::Once`](crate::Trigger::Once) fault; at least once), and returns its id.
    pub fn inject_times(&self, fault: Fault, times: u32) -> u64 {
        let id = self.0.lock().faults.add_times(fault, times);
        self.0.publish(Update::faults());
        id
    }

    /// The armed faults, oldest first.
    pub fn faults(&self) -> Vec<ArmedFault> {
        self.0.lock().faults.list()
    }

    /// Disarms fault `id`; `false` when it is not armed (it fired its last time, or never
    /// was).
    pub fn remove_fault(&self, id: u64) -> bool {
        let removed = self.0.lock().faults.remove(id);
        self.0.publish(Update::faults());
        removed
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        self.0.lock().faults.clear();
        self.0.publish(Update::faults());
    }

    /// Answers every DM request with 429 `usage-capped` while on.
    pub fn set_usage_capped(&self, on: bool) {
        self.0.lock().switches.usage_capped = on;
    }

    /// Answers every DM request with 402 `credits-depleted` while on.
    pub fn set_credits_depleted(&self, on: bool) {
        self.0.lock().switches.credits_depleted = on;
    }

    /// Replaces the rate-limit settings and forgets what was spent.
    pub fn set_rate_limits(&self, limits: RateLimits) {
        let mut g = self.0.lock();
        g.limits = limits;
        g.limiter = Limiter::default();
        drop(g);
        self.0.publish(Update::limits());
    }

    /// Issues an OAuth 2.0 user token for any user, with the given scopes (space-separated
    /// or one per item); `None` for an unknown user.
    pub fn issue_oauth2_token(&self, user_id: &str, scopes: &[&str]) -> Option<String> {
        let mut g = self.0.lock();
        let user = g.world.user_by_id(user_id.parse().ok()?)?;
        let now = self.0.clock.now_millis();
        let scopes = scopes
            .iter()
            .flat_map(|s| s.split(' '))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let client = g.auth.client_id.clone();
        Some(g.auth.issue_oauth2(user, scopes, &client, now).0)
    }

    /// Issues an OAuth 1.0a access token and secret for any user; `None` for an unknown user.
    pub fn issue_oauth1_token(&self, user_id: &str) -> Option<(String, String)> {
        let mut g = self.0.lock();
        let id: u64 = user_id.parse().ok()?;
        let user = g.world.user_by_id(id)?;
        Some(g.auth.issue_oauth1(user, id))
    }

    /// Sends a one-to-one DM from `from` to `to` (user ids) as if `from` had called the send
    /// endpoint, with its activity; the new event's id, or `None` for an unknown user or a
    /// block.
    pub fn send_dm(&self, from: &str, to: &str, text: &str) -> Option<String> {
        let mut g = self.0.lock();
        let now = self.0.clock.now_millis();
        let from = g.world.user_by_id(from.parse().ok()?)?;
        let to = g.world.user_by_id(to.parse().ok()?)?;
        let before = g.world.events.len();
        let (_, id) = g.world.send_to_user(now, from, to, Some(text), None).ok()?;
        let inner = &mut *g;
        inner.activity.on_new_events(&inner.world, before, now);
        console::publish_changes(&self.0, inner);
        Some(id.to_string())
    }

    /// Emits `dm.read`: `reader_id` read the messages of `author_id` up to
    /// `last_read_event_id`, delivered to `author_id`'s `dm.read` subscriptions. The payload
    /// is the emulator's reconstruction (X publishes none). `false` for an unknown user.
    pub fn emit_read(&self, reader_id: &str, author_id: &str, last_read_event_id: &str) -> bool {
        let (Ok(reader), Ok(author), Ok(last)) = (
            reader_id.parse::<u64>(),
            author_id.parse::<u64>(),
            last_read_event_id.parse::<u64>(),
        ) else {
            return false;
        };
        let mut g = self.0.lock();
        if g.world.user_by_id(reader).is_none() || g.world.user_by_id(author).is_none() {
            return false;
        }
        let now = self.0.clock.now_millis();
        let inner = &mut *g;
        inner
            .activity
            .on_read(&inner.world, reader, author, last, now);
        self.0.publish(Update::activity());
        true
    }

    /// Emits `dm.indicate_typing`: `typist_id` is typing to `recipient_id`, delivered to
    /// `recipient_id`'s subscriptions. The payload is the emulator's reconstruction. `false`
    /// for an unknown user.
    pub fn emit_typing(&self, typist_id: &str, recipient_id: &str) -> bool {
        let (Ok(typist), Ok(recipient)) = (typist_id.parse::<u64>(), recipient_id.parse::<u64>())
        else {
            return false;
        };
        let mut g = self.0.lock();
        if g.world.user_by_id(typist).is_none() || g.world.user_by_id(recipient).is_none() {
            return false;
        }
        let now = self.0.clock.now_millis();
        let inner = &mut *g;
        inner
            .activity
            .on_typing(&inner.world, typist, recipient, now);
        self.0.publish(Update::activity());
        true
    }

    /// How many activity-stream connections are open (a stalled one counts until the client
    /// drops it and the server notices).
    pub fn stream_connections(&self) -> usize {
        self.0.lock().activity.open_streams()
    }

    /// Applies `fault` to every open activity-stream connection.
    pub fn fault_streams(&self, fault: StreamFault) {
        self.0.lock().activity.fault_streams(fault);
        self.0.publish(Update::activity());
    }

    /// Cuts every open activity-stream connection now, as a network failure would (no
    /// final chunk); returns how many were open.
    pub fn drop_streams(&self) -> usize {
        let n = self.0.lock().activity.drop_streams();
        self.0.publish(Update::activity());
        n
    }

    /// Makes the next `count` webhook delivery attempts fail with `status` (503, say)
    /// without reaching the webhook; they are retried as any failed delivery is.
    pub fn fail_webhook_deliveries(&self, count: usize, status: u16) {
        self.0.lock().activity.fail_webhooks(count, status);
        self.0.publish(Update::activity());
    }

    /// Queues a fault for the next delivery (stream or webhook); several queue up in order.
    pub fn inject_delivery_fault(&self, fault: DeliveryFault) {
        self.0.lock().activity.add_delivery_fault(fault);
    }

    /// Cuts stream connections at random points, reproducibly (see [`StreamChaos`]); `None`
    /// stops it.
    pub fn set_stream_chaos(&self, chaos: Option<StreamChaos>) {
        self.0.lock().activity.set_chaos(chaos);
    }

    /// The app's subscriptions as `GET /2/activity/subscriptions` shows them.
    pub fn subscriptions(&self) -> Vec<serde_json::Value> {
        let g = self.0.lock();
        g.activity
            .subscriptions
            .values()
            .map(crate::routes::activity::subscription_json)
            .collect()
    }

    /// The ids of the registered webhooks, oldest first.
    pub fn webhook_ids(&self) -> Vec<String> {
        let g = self.0.lock();
        g.activity.webhooks.keys().map(u64::to_string).collect()
    }

    /// Whether webhook `id` is registered and valid (receiving events).
    pub fn webhook_valid(&self, id: &str) -> Option<bool> {
        let g = self.0.lock();
        g.activity.webhooks.get(&id.parse().ok()?).map(|h| h.valid)
    }

    /// Every POST made (or being retried) to webhook `id`, in order; empty for an unknown id.
    pub fn webhook_deliveries(&self, id: &str) -> Vec<WebhookDelivery> {
        let g = self.0.lock();
        id.parse()
            .ok()
            .and_then(|id| g.activity.webhooks.get(&id))
            .map(|h| h.view())
            .unwrap_or_default()
    }

    /// The outcome of the last CRC check made.
    pub fn last_crc(&self) -> Option<CrcCheck> {
        self.0.lock().activity.last_crc.clone()
    }
}
