//! A small emulator world with a client pointed at it, and the targets the matrices act on.

use std::time::{Duration, SystemTime};

use xdm_auth::oauth2::{OAuth2Client, TokenManager, UserToken};
use xdm_client::{Config, Credentials, ReconcilePolicy};
use xdm_core::endpoints::DownloadMedia;
use xdm_core::fields::{Expansion, FieldSet, MediaField};
use xdm_core::ids::{ConversationId, EventId, UserId};
use xdm_core::retry::RetryPolicy;
use xdm_emulator::{Emulator, EventType, FaultKind, GroupLimits, ManualClock, RateLimits};
use xdm_hyper::FileTokenStore;

/// The whole-request timeout of every client of the matrices: "delayed past the timeout"
/// faults wait longer than this.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_millis(300);

/// The largest response body the matrices' clients accept; "oversized" faults send more.
pub(crate) const MAX_RESPONSE: usize = 256 * 1024;

/// A running emulator, and what the matrices act on in it.
pub(crate) struct World {
    pub(crate) emu: Emulator,
    pub(crate) me: UserId,
    pub(crate) alice: UserId,
    pub(crate) bob: UserId,
    /// The one-to-one conversation of me and alice.
    pub(crate) pair: ConversationId,
    /// A message of mine in `pair`, to read and delete.
    pub(crate) my_event: EventId,
    /// An event with a photo, and its download.
    pub(crate) media: Option<DownloadMedia>,
}

/// The retry policy of the matrices: X's defaults, with backoffs short enough for CI.
pub(crate) fn retry_policy() -> RetryPolicy {
    let mut policy = RetryPolicy::default();
    policy.max_attempts = 3;
    policy.base_backoff = Duration::from_millis(10);
    policy.max_backoff = Duration::from_millis(40);
    policy.max_rate_limit_wait = Duration::from_secs(5);
    policy
}

/// Limits so high that no matrix run reaches them. (`RateLimits::off()` would not do: its
/// headers stay at X's table, `remaining` always equal to `limit` (15 reads) and `reset` the
/// end of the current window, and a client that reserves a slot per request in flight still
/// holds concurrent calls of a group to those 15; the load matrix makes 50 at once.)
pub(crate) fn generous_limits() -> RateLimits {
    let plenty = GroupLimits {
        user_per_window: 1_000_000,
        user_per_day: None,
        app_per_window: None,
        app_per_day: None,
    };
    RateLimits {
        read: plenty,
        send: plenty,
        delete: plenty,
        block: plenty,
        ..RateLimits::default()
    }
}

/// A demo world of 10 events with rate limits out of reach, on a clock the test moves: a
/// token can then expire at the server and nowhere else.
pub(crate) async fn emulator_on_manual_clock() -> (Emulator, ManualClock) {
    let clock = ManualClock::starting_now();
    let emu = Emulator::builder()
        .seed_events(10)
        .rate_limits(generous_limits())
        .clock(clock.clone())
        .start()
        .await
        .expect("starts");
    (emu, clock)
}

/// Every fault kind the emulator can inject, in the order the matrices list them: the two
/// delays and the oversized body's length are the caller's, since each matrix sets them
/// against its own client's timeout and size cap.
pub(crate) fn fault_kinds(
    headers_delay: Duration,
    body_delay: Duration,
    oversized: usize,
) -> Vec<FaultKind> {
    vec![
        FaultKind::CloseBeforeResponse,
        FaultKind::CloseAfterProcessing,
        FaultKind::CloseAfterHeaders,
        FaultKind::CloseMidBody,
        FaultKind::Status(500),
        FaultKind::Status(502),
        FaultKind::Status(503),
        FaultKind::Status(504),
        FaultKind::DelayHeaders(headers_delay),
        FaultKind::DelayBody(body_delay),
        FaultKind::TruncatedJson,
        FaultKind::InvalidJson,
        FaultKind::OversizedBody(oversized),
    ]
}

/// [`fault_kinds`] against the matrices' own client: delays well past [`REQUEST_TIMEOUT`], a
/// body twice [`MAX_RESPONSE`].
pub(crate) fn faults_past_limits() -> Vec<FaultKind> {
    let late = REQUEST_TIMEOUT * 3;
    fault_kinds(late, late, MAX_RESPONSE * 2)
}

/// A fault kind as a cell name: short, and without the durations and sizes the matrix chose.
pub(crate) struct FaultName<'a>(pub(crate) &'a FaultKind);

impl std::fmt::Display for FaultName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            FaultKind::DelayHeaders(_) => f.write_str("headers delayed past timeout"),
            FaultKind::DelayBody(_) => f.write_str("body delayed past timeout"),
            FaultKind::OversizedBody(_) => f.write_str("oversized body"),
            FaultKind::Status(s) => write!(f, "status {s}"),
            k => write!(f, "{k:?}"),
        }
    }
}

/// The emulator's OAuth 1.0a user as client credentials.
pub(crate) fn oauth1_credentials(emu: &Emulator) -> Credentials {
    let c = &emu.credentials().oauth1;
    Credentials::oauth1(
        c.consumer_key.clone(),
        c.consumer_secret.clone(),
        c.access_token.clone(),
        c.access_token_secret.clone(),
    )
}

/// The emulator's OAuth 2.0 app as a confidential client whose token endpoint is the
/// emulator's. No cell completes an authorization, so the redirect goes nowhere.
pub(crate) fn oauth2_app(emu: &Emulator) -> OAuth2Client {
    let c = &emu.credentials().oauth2;
    OAuth2Client::confidential(
        c.client_id.clone(),
        c.client_secret.clone(),
        "http://127.0.0.1:1/cb",
    )
    .with_api_base_url(xdm_core::BaseUrl::parse(emu.base_url()).expect("loopback"))
}

/// The emulator's OAuth 2.0 access token as issued three hours ago (so it expired an hour
/// ago), paired with `refresh_token`: the first call through it must refresh.
pub(crate) fn expired_token(emu: &Emulator, refresh_token: &str) -> UserToken {
    let long_ago = SystemTime::now() - Duration::from_secs(3 * 3600);
    UserToken::new(emu.credentials().oauth2.access_token.clone(), long_ago)
        .with_refresh_token(refresh_token.to_owned())
        .with_expires_at(long_ago + Duration::from_secs(7200))
}

/// An [`expired_token`] managed by [`oauth2_app`].
pub(crate) fn expired_manager(emu: &Emulator, refresh_token: &str) -> TokenManager {
    TokenManager::new(oauth2_app(emu), expired_token(emu, refresh_token))
}

/// A client holding an [`expired_token`], with the matrices' request timeout and retry policy.
/// `user` is left to the caller: a client without it asks X who it is when it needs to, and
/// some cells count every request.
pub(crate) fn expired_oauth2_client(
    emu: &Emulator,
    refresh_token: &str,
    user: Option<UserId>,
) -> xdm_hyper::Client {
    let mut config = Config::new(Credentials::oauth2(expired_manager(emu, refresh_token)))
        .with_base_url(xdm_core::BaseUrl::parse(emu.base_url()).expect("loopback"));
    if let Some(user) = user {
        config = config.with_user_id(user);
    }
    xdm_hyper::builder()
        .config(config)
        .transport(|t| t.request_timeout(REQUEST_TIMEOUT))
        .retry_policy(retry_policy())
        .build()
        .expect("builds")
}

/// Credentials for the token `store` holds now, refreshed through [`oauth2_app`]: what a
/// program starting with a saved login has.
pub(crate) fn saved_login(emu: &Emulator, store: &FileTokenStore) -> Credentials {
    let token = store
        .load_blocking()
        .expect("readable")
        .expect("a saved token");
    Credentials::oauth2(TokenManager::new(oauth2_app(emu), token))
}

/// How many requests the emulator logged for the path `template`, whatever their method.
pub(crate) fn requests_to(emu: &Emulator, template: &str) -> usize {
    emu.handle()
        .requests()
        .iter()
        .filter(|r| r.template == template)
        .count()
}

/// How many refreshes the emulator was asked for. Its log holds no bodies, so this counts
/// every POST to the token endpoint: the cells exchange no code, only refresh tokens.
pub(crate) fn refresh_requests(emu: &Emulator) -> usize {
    emu.handle()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.template == TOKEN_PATH)
        .count()
}

/// The token endpoint's path template.
pub(crate) const TOKEN_PATH: &str = "/2/oauth2/token";

impl World {
    /// A demo world of `events` events, rate limits out of reach (a cell that needs them sets its
    /// own).
    pub(crate) async fn start(events: usize) -> World {
        let emu = Emulator::builder()
            .seed_events(events)
            .rate_limits(generous_limits())
            .start()
            .await
            .expect("the emulator starts on 127.0.0.1");
        let h = emu.handle();
        let users = h.users();
        let id = |i: usize| UserId::parse(&users[i].id).expect("emulator ids are numeric");
        let (me, alice, bob) = (id(0), id(1), id(2));
        let pair = ConversationId::one_to_one(&me, &alice);
        let my_event = h
            .events()
            .into_iter()
            .find(|e| {
                e.conversation_id == pair.as_str()
                    && e.sender_id == me.as_str()
                    && e.event_type == EventType::MessageCreate
            })
            .map(|e| EventId::parse(&e.id).expect("numeric"))
            .expect("the demo world has a message of mine to alice");
        let mut world = World {
            emu,
            me,
            alice,
            bob,
            pair,
            my_event,
            media: None,
        };
        world.media = world.find_media().await;
        world.emu.handle().clear_requests();
        world
    }

    /// A client builder acting as `me` with `credentials`, under the matrices' timeouts, size
    /// cap and retry policy: what every client of a world shares.
    fn builder(&self, credentials: Credentials) -> xdm_hyper::Builder {
        let config = Config::new(credentials)
            .with_base_url(xdm_core::BaseUrl::parse(self.emu.base_url()).expect("loopback URL"))
            .with_user_id(self.me.clone());
        xdm_hyper::builder()
            .config(config)
            .transport(|t| {
                t.request_timeout(REQUEST_TIMEOUT)
                    .connect_timeout(REQUEST_TIMEOUT)
                    .max_response_bytes(MAX_RESPONSE)
            })
            .retry_policy(retry_policy())
    }

    /// A client with the matrices' timeouts and retry policy.
    pub(crate) fn client(&self, reconcile: ReconcilePolicy) -> xdm_hyper::Client {
        self.builder(oauth1_credentials(&self.emu))
            .reconcile(reconcile)
            .build()
            .expect("the client builds")
    }

    /// A client with the same options, authenticated with the emulator's OAuth 2.0 user token
    /// (media download accepts nothing else).
    pub(crate) fn oauth2_client(&self) -> xdm_hyper::Client {
        let token = self.emu.credentials().oauth2.access_token.clone();
        self.builder(Credentials::oauth2_token(token))
            .build()
            .expect("the client builds")
    }

    /// A client that uploads in 1 KiB segments, so that a 3 KiB file has a middle segment for
    /// a fault to hit.
    pub(crate) fn upload_client(&self) -> xdm_hyper::Client {
        self.builder(oauth1_credentials(&self.emu))
            .customize(|b| b.upload_chunk_size(1024))
            .build()
            .expect("the client builds")
    }

    /// Finds a seeded photo and the download that fetches it, through the API itself.
    async fn find_media(&self) -> Option<DownloadMedia> {
        let h = self.emu.handle();
        let event = h.events().into_iter().find(|e| !e.media_keys.is_empty())?;
        let client = self.client(ReconcilePolicy::Off);
        let fields = FieldSet::new()
            .with_expansions([Expansion::AttachmentsMediaKeys])
            .with_media_fields([MediaField::Url, MediaField::MediaKey]);
        let response = client
            .get_event_with(&EventId::parse(&event.id).ok()?, fields)
            .await
            .ok()?;
        let url = response
            .includes
            .media
            .iter()
            .flatten()
            .find_map(|m| m.url.clone())?;
        DownloadMedia::from_media_url(&url).ok()
    }

    /// How many stored events carry `text`: the number of times a message was delivered.
    pub(crate) fn stored(&self, text: &str) -> usize {
        self.emu
            .handle()
            .events()
            .iter()
            .filter(|e| e.text.as_deref() == Some(text))
            .count()
    }

    /// The ids of every event of a conversation, as the emulator holds them.
    pub(crate) fn conversation_events(&self, conversation: &str) -> Vec<String> {
        self.emu
            .handle()
            .events()
            .into_iter()
            .filter(|e| e.conversation_id == conversation)
            .map(|e| e.id)
            .collect()
    }
}
