//! A small emulator world with a client pointed at it, and the targets the matrices act on.

use std::time::Duration;

use xdm_client::{Config, Credentials, ReconcilePolicy};
use xdm_core::endpoints::DownloadMedia;
use xdm_core::fields::{Expansion, FieldSet, MediaField};
use xdm_core::ids::{ConversationId, EventId, UserId};
use xdm_core::retry::RetryPolicy;
use xdm_emulator::{Emulator, EventType, GroupLimits, RateLimits};

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

/// Limits so high that no matrix run reaches them. (Turning limits off is not enough: the
/// emulator still sends X's default headers, counting down, and a client rightly obeys them.)
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

    /// A client with the matrices' timeouts and retry policy.
    pub(crate) fn client(&self, reconcile: ReconcilePolicy) -> xdm_hyper::Client {
        let c = &self.emu.credentials().oauth1;
        let credentials = Credentials::oauth1(
            c.consumer_key.clone(),
            c.consumer_secret.clone(),
            c.access_token.clone(),
            c.access_token_secret.clone(),
        );
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
            .reconcile(reconcile)
            .build()
            .expect("the client builds")
    }

    /// A client with the same options, authenticated with the emulator's OAuth 2.0 user token
    /// (media download accepts nothing else).
    pub(crate) fn oauth2_client(&self) -> xdm_hyper::Client {
        let token = self.emu.credentials().oauth2.access_token.clone();
        let config = Config::new(Credentials::oauth2_token(token))
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
            .get_event(&EventId::parse(&event.id).ok()?, fields)
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
