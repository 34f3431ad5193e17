//! A stateful, in-process emulator of the X API v2 Direct Message endpoints.
//!
//! It serves the DM endpoints, media upload and download, `GET /2/users/me`, and the OAuth 2.0
//! and OAuth 1.0a flows on `127.0.0.1`, checks credentials and parameters the way X does,
//! answers with X's bodies (including its errors and quirks), enforces X's rate limits, and
//! lets a test inject faults. Any client that can talk to `https://api.x.com` can talk to it by
//! changing the base URL and credentials.
//!
//! Behaviour worth knowing:
//!
//! - A delete is X's "delete for you": the sender's lookups and listings no longer show the
//!   event (its lookup answers like an unknown id), the other participants still see it, and a
//!   second delete is a 404 like that of an unknown id. [`EmulatorHandle::events`] leaves
//!   deleted events out; [`EmulatorHandle::event_as`] shows what one user sees.
//! - With [`RateLimits::off`] nothing is refused or counted, and the rate-limit headers stay
//!   constant at a full budget, so a client that obeys them never waits.
//! - [`EmulatorHandle::connections_accepted`] and [`EmulatorHandle::connections_open`] count
//!   TCP connections, to check that a client reuses them.
//!
//! Real-time DMs through the X Activity API:
//!
//! - `POST/GET/PUT/DELETE /2/activity/subscriptions` (and `DELETE ...?ids=`): creating a
//!   `dm.*` subscription takes the filtered user's own token (OAuth 2.0 with `dm.read`, or
//!   OAuth 1.0a); listing, updating and deleting take the app's bearer
//!   ([`Credentials::app_bearer_token`]). A duplicate (same `event_type` and `filter`) gets
//!   409 `DuplicateSubscription`; the app holds at most
//!   [`EmulatorBuilder::subscription_cap`] subscriptions.
//! - `GET /2/activity/stream` (app bearer): one JSON object per `\r\n`-terminated line,
//!   keep-alives at [`EmulatorBuilder::stream_keep_alive`], `backfill_minutes` (0-5),
//!   `start_time`/`end_time`, at most [`EmulatorBuilder::stream_connection_limit`]
//!   connections (then 429 `TooManyConnections`), a clean end on shutdown.
//! - Every DM sent in a one-to-one conversation becomes `dm.sent` for its sender's and
//!   `dm.received` for its recipient's subscriptions; [`EmulatorHandle::emit_read`] and
//!   [`EmulatorHandle::emit_typing`] make `dm.read` and `dm.indicate_typing`. Group messages
//!   make no activity (X does not document any). A subscription with a `webhook_id` goes to
//!   that webhook only; one without goes to every open stream connection.
//! - `POST/GET/PUT/DELETE /2/webhooks` with a CRC check against the URL (HMAC-SHA256 with
//!   the consumer secret), deliveries signed in `x-twitter-webhooks-signature`, retries on
//!   [`EmulatorBuilder::webhook_retry_delays`], and `POST /2/webhooks/replay` jobs that re-send
//!   with `"meta":{"replay":true}` and then post a `replay_job_status`. The emulator speaks
//!   plain HTTP to webhooks: [`EmulatorBuilder::allow_loopback_webhooks`] accepts
//!   `http://127.0.0.1:PORT` URLs, and [`EmulatorBuilder::webhook_target`] sends X-conformant
//!   `https://` URLs to a local address.
//! - Faults: [`FaultKind::TooManyConnections`] and [`FaultKind::Stream`] at connect,
//!   [`EmulatorHandle::fault_streams`] on open connections, [`DeliveryFault`] for the next
//!   deliveries, and [`StreamChaos`] for reproducible random drops.
//!
//! The web console ([`EmulatorBuilder::console`], `xdm-emulator --console`):
//!
//! - A page at [`Emulator::console_url`] and a JSON control API under `/console/api/` (the
//!   crate's README documents every endpoint): the world's conversations with unread counts,
//!   sending, creating groups, marking read and typing as any user (through the same state and
//!   activity deliveries as the API), a redacted log of the last 2,000 API requests, the rate
//!   limit windows, faults ([`FaultKind::RateLimited`], [`FaultKind::PartialErrors`] among
//!   them), stream drops and webhook failures, and live updates as server-sent events.
//! - Loopback clients only unless [`EmulatorBuilder::console_allow_remote`]; console requests
//!   spend no rate limit, take no fault and stay out of [`EmulatorHandle::requests`].
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let emu = xdm_emulator::Emulator::builder().start().await?;
//! println!("{} as {}", emu.base_url(), emu.credentials().oauth2.access_token);
//! assert!(!emu.handle().events().is_empty());
//! emu.shutdown().await;
//! # Ok(()) }
//! ```

mod activity;
mod auth;
mod body;
mod clock;
mod console;
mod faults;
mod handle;
mod ids;
mod live;
mod problem;
mod rate_limit;
mod render;
mod reply;
mod routes;
mod seed;
mod server;
mod state;
#[cfg(feature = "tls")]
mod tls;
mod validate;

pub use activity::{CrcCheck, DeliveryFault, StreamChaos, StreamFault, WebhookDelivery};
pub use auth::CredentialUsed;
pub use clock::{Clock, ManualClock, SystemClock};
pub use faults::{ArmedFault, Fault, FaultKind, Trigger};
pub use handle::{
    Credentials, Emulator, EmulatorBuilder, EmulatorHandle, OAuth1Credentials, OAuth2Credentials,
};
pub use rate_limit::{EndpointGroup, GroupLimits, RateLimits};
pub use server::RequestRecord;
pub use state::{ConversationView, EventType, EventView, UserInfo};
