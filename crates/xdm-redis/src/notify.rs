//! Wake-ups across the fleet: a settled reservation publishes on its account and group's
//! channel, and the workers waiting for a slot there re-check at once instead of polling.
//!
//! Each [`FleetLimits`](crate::FleetLimits) keeps one subscriber connection (the `redis`
//! crate's RESP2 [`PubSub`](redis::aio::PubSub), which works with any server), started on the
//! first wait and driven by one task. Waiting tasks register a [`Listener`] for their channel;
//! the task subscribes to exactly the channels that have listeners (one subscription per
//! channel, however many tasks of this process wait on it) and bumps a channel's generation on
//! each message. A listener sees every bump after the last one it looked at (a
//! [`tokio::sync::watch`]), so a message that arrives between its re-check and its sleep is
//! not lost.
//!
//! Pub/sub is at most once: a message published while the subscriber connection is down is
//! gone. So the task marks every channel unsubscribed and wakes every listener when the
//! connection fails, waiters fall back to a short backoff while it is down, and even while it
//! is up a waiter never sleeps past the bound its caller computed.

use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use futures_core::Stream;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::{mpsc, watch};

use crate::jitter;

/// How often an idle subscriber connection is checked with a `PING`, so that a connection
/// that died silently is noticed (and its waiters moved to the fallback) within this bound.
const HEALTH_CHECK: Duration = Duration::from_secs(10);
/// The longest pause between two attempts to reconnect the subscriber.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(5);

/// What a listener sees of its channel.
#[derive(Debug, Clone, Copy, Default)]
struct ChannelState {
    /// Whether this process is subscribed to the channel now.
    subscribed: bool,
    /// Bumped on every message, and when the subscription is lost.
    wakes: u64,
}

struct Channel {
    listeners: usize,
    state: watch::Sender<ChannelState>,
}

/// The state the waiting tasks and the subscriber task share.
struct Shared {
    client: redis::Client,
    connect_timeout: Duration,
    response_timeout: Duration,
    channels: Mutex<HashMap<String, Channel>>,
    /// Whether the subscriber connection failed and is not back yet.
    down: AtomicBool,
    /// Whether that failure was reported (once per outage).
    warned: AtomicBool,
}

impl Shared {
    fn channels(&self) -> MutexGuard<'_, HashMap<String, Channel>> {
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One subscriber connection and the channels this process listens on.
pub(crate) struct Notifications {
    shared: Arc<Shared>,
    /// Tells the subscriber task that the set of channels changed; made when it starts.
    kick: OnceLock<mpsc::UnboundedSender<()>>,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications")
            .field("started", &self.kick.get().is_some())
            .field("down", &self.shared.down.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Notifications {
    pub(crate) fn new(
        client: redis::Client,
        connect_timeout: Duration,
        response_timeout: Duration,
    ) -> Self {
        Notifications {
            shared: Arc::new(Shared {
                client,
                connect_timeout,
                response_timeout,
                channels: Mutex::new(HashMap::new()),
                down: AtomicBool::new(false),
                warned: AtomicBool::new(false),
            }),
            kick: OnceLock::new(),
        }
    }

    /// Starts listening on `channel` (the subscriber task is started on first use). Must be
    /// called within a tokio runtime.
    pub(crate) fn listen(&self, channel: String) -> Listener {
        let kick = self
            .kick
            .get_or_init(|| {
                let (kick, requests) = mpsc::unbounded_channel();
                tokio::spawn(run(self.shared.clone(), requests));
                kick
            })
            .clone();
        let state = {
            let mut channels = self.shared.channels();
            let entry = channels.entry(channel.clone()).or_insert_with(|| Channel {
                listeners: 0,
                // A new entry is unsubscribed until the task confirms it, even when the task
                // is still subscribed from an earlier entry: only the task knows.
                state: watch::Sender::new(ChannelState::default()),
            });
            entry.listeners += 1;
            entry.state.subscribe()
        };
        let _ = kick.send(());
        Listener {
            shared: self.shared.clone(),
            kick,
            channel,
            state,
        }
    }
}

/// One waiting task's registration on a channel; dropping it ends the registration.
pub(crate) struct Listener {
    shared: Arc<Shared>,
    kick: mpsc::UnboundedSender<()>,
    channel: String,
    state: watch::Receiver<ChannelState>,
}

impl Listener {
    /// Waits until this process is subscribed to the channel, at most `within` (no wait at
    /// all while the subscriber connection is known to be down). Every message published
    /// after this returns `true` reaches [`wait`](Self::wait).
    pub(crate) async fn subscribed(&mut self, within: Duration) -> bool {
        if self.state.borrow_and_update().subscribed {
            return true;
        }
        if self.shared.down.load(Ordering::Acquire) {
            return false;
        }
        matches!(
            tokio::time::timeout(within, self.state.wait_for(|s| s.subscribed)).await,
            Ok(Ok(_))
        )
    }

    /// Whether messages on the channel reach this listener now.
    pub(crate) fn is_subscribed(&self) -> bool {
        self.state.borrow().subscribed
    }

    /// Sleeps until a message on the channel (or a change of the subscription) newer than the
    /// last one seen, or until `bound` has passed; `true` when woken.
    pub(crate) async fn wait(&mut self, bound: Duration) -> bool {
        matches!(
            tokio::time::timeout(bound, self.state.changed()).await,
            Ok(Ok(()))
        )
    }

    /// Forgets the messages seen so far: the next [`wait`](Self::wait) returns only for a
    /// newer one.
    pub(crate) fn mark_seen(&mut self) {
        self.state.borrow_and_update();
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let mut channels = self.shared.channels();
        if let Some(entry) = channels.get_mut(&self.channel) {
            entry.listeners -= 1;
            if entry.listeners == 0 {
                channels.remove(&self.channel);
                drop(channels);
                let _ = self.kick.send(());
            }
        }
    }
}

/// Why a session of the subscriber connection ended.
enum Ended {
    /// Every handle on the notifications is gone: the task stops.
    Dropped,
    /// The connection failed (or could not be made).
    Lost(redis::RedisError),
}

/// The subscriber task: connects, keeps the subscriptions equal to the channels listened on,
/// dispatches messages, and reconnects after a failure with a growing pause.
async fn run(shared: Arc<Shared>, mut kicks: mpsc::UnboundedReceiver<()>) {
    let mut delay = Duration::from_millis(100);
    loop {
        let ended = session(&shared, &mut kicks, &mut delay).await;
        lost(&shared);
        match ended {
            Ended::Dropped => return,
            Ended::Lost(error) => {
                if !shared.warned.swap(true, Ordering::AcqRel) {
                    tracing::warn!(
                        %error,
                        "the fleet's wake-up connection to Redis failed: waiters re-check on a \
                         short backoff until it is back"
                    );
                }
            }
        }
        // Sleep before reconnecting, but stop at once when the handles are gone.
        let pause = delay + jitter::up_to(delay / 2);
        delay = (delay * 2).min(MAX_RECONNECT_DELAY);
        let sleep = tokio::time::sleep(pause);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => break,
                kick = kicks.recv() => if kick.is_none() { return },
            }
        }
    }
}

fn lost(shared: &Shared) {
    shared.down.store(true, Ordering::Release);
    for entry in shared.channels().values() {
        entry.state.send_modify(|s| {
            s.subscribed = false;
            s.wakes += 1;
        });
    }
}

async fn session(
    shared: &Shared,
    kicks: &mut mpsc::UnboundedReceiver<()>,
    delay: &mut Duration,
) -> Ended {
    let timed_out = || -> redis::RedisError {
        (
            redis::ErrorKind::Io,
            "the subscriber connection did not answer in time",
        )
            .into()
    };
    let connect = tokio::time::timeout(shared.connect_timeout, shared.client.get_async_pubsub());
    let (mut sink, mut stream) = match connect.await {
        Ok(Ok(pubsub)) => pubsub.split(),
        Ok(Err(e)) => return Ended::Lost(e),
        Err(_) => return Ended::Lost(timed_out()),
    };
    let mut subscribed = HashSet::new();
    if let Err(e) = reconcile(shared, &mut sink, &mut subscribed).await {
        return Ended::Lost(e);
    }
    shared.down.store(false, Ordering::Release);
    *delay = Duration::from_millis(100);
    if shared.warned.swap(false, Ordering::AcqRel) {
        tracing::info!("the fleet's wake-up connection to Redis is back");
    }
    let mut health = tokio::time::interval(HEALTH_CHECK);
    health.tick().await;
    loop {
        tokio::select! {
            message = next(&mut stream) => match message {
                Some(message) => wake(shared, message.get_channel_name()),
                None => return Ended::Lost(redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "the subscriber connection was closed",
                ))),
            },
            kick = kicks.recv() => {
                if kick.is_none() {
                    return Ended::Dropped;
                }
                while kicks.try_recv().is_ok() {}
                if let Err(e) = reconcile(shared, &mut sink, &mut subscribed).await {
                    return Ended::Lost(e);
                }
            }
            _ = health.tick() => {
                let ping = tokio::time::timeout(shared.response_timeout, sink.ping::<redis::Value>());
                match ping.await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Ended::Lost(e),
                    Err(_) => return Ended::Lost(timed_out()),
                }
            }
        }
    }
}

async fn next(stream: &mut PubSubStream) -> Option<redis::Msg> {
    std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

fn wake(shared: &Shared, channel: &str) {
    if let Some(entry) = shared.channels().get(channel) {
        entry.state.send_modify(|s| s.wakes += 1);
    }
}

/// Subscribes to the channels listened on and not yet subscribed, unsubscribes from those no
/// longer listened on, then tells every listener of a subscribed channel that it is.
async fn reconcile(
    shared: &Shared,
    sink: &mut PubSubSink,
    subscribed: &mut HashSet<String>,
) -> Result<(), redis::RedisError> {
    let (to_subscribe, to_unsubscribe): (Vec<String>, Vec<String>) = {
        let channels = shared.channels();
        (
            channels
                .keys()
                .filter(|c| !subscribed.contains(*c))
                .cloned()
                .collect(),
            subscribed
                .iter()
                .filter(|c| !channels.contains_key(*c))
                .cloned()
                .collect(),
        )
    };
    let bounded = |what| {
        move |answer: Result<Result<(), redis::RedisError>, tokio::time::error::Elapsed>| {
            answer.unwrap_or_else(|_| Err((redis::ErrorKind::Io, what).into()))
        }
    };
    if !to_subscribe.is_empty() {
        bounded("SUBSCRIBE was not confirmed in time")(
            tokio::time::timeout(shared.response_timeout, sink.subscribe(&to_subscribe)).await,
        )?;
        subscribed.extend(to_subscribe);
    }
    if !to_unsubscribe.is_empty() {
        bounded("UNSUBSCRIBE was not confirmed in time")(
            tokio::time::timeout(shared.response_timeout, sink.unsubscribe(&to_unsubscribe)).await,
        )?;
        for channel in &to_unsubscribe {
            subscribed.remove(channel);
        }
    }
    for (channel, entry) in shared.channels().iter() {
        if subscribed.contains(channel) {
            entry.state.send_if_modified(|s| {
                let changed = !s.subscribed;
                s.subscribed = true;
                changed
            });
        }
    }
    Ok(())
}
