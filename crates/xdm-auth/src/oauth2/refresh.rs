//! Keeping a user token fresh: one refresh at a time, whatever the number of callers.
//!
//! X's refresh tokens are single-use, so two refreshes with the same one would leave one
//! caller holding a dead token. [`TokenManager::poll_token`] hands out at most one
//! [`RefreshTicket`] at a time; everyone else who needs the new token gets a [`RefreshWait`],
//! a future that resolves when the ticket is completed or dropped. Nothing here does I/O or
//! depends on an async runtime: the ticket holds the request, the caller sends it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use xdm_core::Authorize;

use super::client::OAuth2Client;
use super::token::{Bearer, UserToken, check_scopes};
use crate::error::{AuthorizeError, ResponseError};
use crate::secret::RefreshToken;

/// How long before expiry a token is refreshed, unless told otherwise.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);

type RotateHook = Arc<dyn Fn(&UserToken) + Send + Sync>;

/// Holds a user token and decides when it must be refreshed, and by whom.
///
/// Cloning gives another handle to the same token. A typical driver:
///
/// ```text
/// loop {
///     match manager.poll_token(now) {
///         TokenAction::Use(bearer) => break bearer,
///         TokenAction::Refresh(ticket) => {
///             let response = send(ticket.request()).await?;     // on failure the ticket drops
///             break ticket.handle_response(&response, now)?;
///         }
///         TokenAction::Wait(wait) => match wait.await {
///             RefreshOutcome::Refreshed(bearer) => break bearer,
///             RefreshOutcome::Failed(error) => return Err(error),
///             _ => continue,                                     // abandoned: poll again
///         },
///         _ => return Err(reauthorize),
///     }
/// }
/// ```
///
/// After a 401, call [`handle_unauthorized`](Self::handle_unauthorized) with the bearer that
/// was refused, poll again and resend the request once.
#[derive(Clone)]
pub struct TokenManager {
    shared: Arc<Shared>,
}

struct Shared {
    client: OAuth2Client,
    state: Mutex<State>,
}

struct State {
    token: UserToken,
    /// Bumped at each new token, so a 401 for an older token can be recognised.
    generation: u64,
    rejected: bool,
    /// X refused the refresh token for good: only a new authorization helps.
    dead: bool,
    in_flight: bool,
    /// How many refreshes have ended; a wait resolves once this passes its snapshot.
    finished: u64,
    last_outcome: Option<RefreshOutcome>,
    waiters: Vec<(u64, Waker)>,
    next_waiter: u64,
    margin: Duration,
    hooks: Vec<RotateHook>,
}

/// What the caller of [`TokenManager::poll_token`] should do next.
#[derive(Debug)]
#[non_exhaustive]
pub enum TokenAction {
    /// Send the request with this token.
    Use(Bearer),
    /// This caller must refresh the token: send the ticket's request and hand the response
    /// to the ticket.
    Refresh(RefreshTicket),
    /// Another caller is refreshing; await this, then use its outcome.
    Wait(RefreshWait),
    /// The token has expired and there is no way to refresh it: the user must authorize again
    /// (then call [`TokenManager::set_token`]).
    Reauthorize,
}

/// How a refresh that others waited for ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshOutcome {
    /// A new token.
    Refreshed(Bearer),
    /// X refused the refresh or answered something unreadable.
    Failed(ResponseError),
    /// The refreshing caller gave up without a response (its ticket was dropped); poll again
    /// and one waiter will be asked to refresh.
    Abandoned,
}

impl TokenManager {
    /// Manages `token`, refreshing it through `client`, [`DEFAULT_REFRESH_MARGIN`] before it
    /// expires.
    pub fn new(client: OAuth2Client, token: UserToken) -> Self {
        Self {
            shared: Arc::new(Shared {
                client,
                state: Mutex::new(State {
                    token,
                    generation: 1,
                    rejected: false,
                    dead: false,
                    in_flight: false,
                    finished: 0,
                    last_outcome: None,
                    waiters: Vec::new(),
                    next_waiter: 0,
                    margin: DEFAULT_REFRESH_MARGIN,
                    hooks: Vec::new(),
                }),
            }),
        }
    }

    /// Refreshes this long before expiry instead. A margin too large to add to the clock
    /// (such as [`Duration::MAX`]) means: refresh whenever the token has an expiry.
    pub fn with_margin(self, margin: Duration) -> Self {
        self.shared.lock().margin = margin;
        self
    }

    /// Calls `hook` with every token a refresh obtains: the place to persist rotated tokens,
    /// since the previous refresh token is now spent.
    ///
    /// Hooks run after the new token is installed in the manager (and, for a refresh under a
    /// store's lock, after the driver saved it and released the lock: see
    /// [`RefreshTicket::complete`]), with no lock held, so a hook may save through the same
    /// store or read the manager. They run before anyone waiting
    /// for the refresh is woken and before another refresh can begin, so they see tokens in
    /// the order they were obtained. A hook that panics does not keep waiters pending: they
    /// are woken anyway, and the panic reaches whoever completed the refresh.
    pub fn on_rotate(&self, hook: impl Fn(&UserToken) + Send + Sync + 'static) {
        self.shared.lock().hooks.push(Arc::new(hook));
    }

    /// The OAuth client refreshes go through.
    pub fn client(&self) -> &OAuth2Client {
        &self.shared.client
    }

    /// A copy of the current token.
    pub fn token(&self) -> UserToken {
        self.shared.lock().token.clone()
    }

    /// Replaces the token, after a new authorization for instance.
    pub fn set_token(&self, token: UserToken) {
        self.shared.lock().install(token);
    }

    /// Decides what the caller should do to get a usable token at `now`.
    pub fn poll_token(&self, now: SystemTime) -> TokenAction {
        let mut state = self.shared.lock();
        let usable = !state.rejected && !state.token.is_expired(now);
        let due = state.rejected
            || state
                .token
                .expires_at()
                .is_some_and(|at| due_at(now, state.margin, at));
        if !due {
            return TokenAction::Use(state.bearer());
        }
        if state.in_flight {
            if usable {
                return TokenAction::Use(state.bearer());
            }
            let id = state.next_waiter;
            state.next_waiter += 1;
            return TokenAction::Wait(RefreshWait {
                shared: Arc::clone(&self.shared),
                seen: state.finished,
                id,
            });
        }
        let refresh_token = match state.token.refresh_token() {
            Some(r) if !state.dead => r.clone(),
            _ if usable => return TokenAction::Use(state.bearer()),
            _ => return TokenAction::Reauthorize,
        };
        state.in_flight = true;
        TokenAction::Refresh(RefreshTicket {
            shared: Arc::clone(&self.shared),
            refresh_token,
            basis: state.token.clone(),
            done: false,
        })
    }

    /// Records that X answered 401 to a request sent with `bearer_used`: the next poll
    /// refreshes, unless a newer token has replaced that one meanwhile. Returns whether the
    /// current token was marked.
    pub fn handle_unauthorized(&self, bearer_used: &Bearer) -> bool {
        let mut state = self.shared.lock();
        if bearer_used.generation == state.generation {
            state.rejected = true;
            true
        } else {
            false
        }
    }
}

/// Whether a token expiring at `expires_at` is within `margin` of expiry at `now`. A margin
/// reaching past the end of the clock makes every expiring token due.
fn due_at(now: SystemTime, margin: Duration, expires_at: SystemTime) -> bool {
    now.checked_add(margin).is_none_or(|t| t >= expires_at)
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // No code panics while holding the lock with the state half-updated, so the state
        // behind a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn bearer(&self) -> Bearer {
        Bearer::with_generation(self.token.access_token().clone(), self.generation)
    }

    fn install(&mut self, token: UserToken) -> Bearer {
        self.token = token;
        self.generation += 1;
        self.rejected = false;
        self.dead = false;
        self.bearer()
    }

    fn end_refresh(&mut self, outcome: RefreshOutcome) -> Vec<Waker> {
        self.in_flight = false;
        self.finished += 1;
        self.last_outcome = Some(outcome);
        self.waiters.drain(..).map(|(_, w)| w).collect()
    }
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("TokenManager")
            .field("token", &state.token)
            .field("generation", &state.generation)
            .field("rejected", &state.rejected)
            .field("refreshing", &state.in_flight)
            .field("margin", &state.margin)
            .finish_non_exhaustive()
    }
}

impl Authorize for TokenManager {
    type Error = AuthorizeError;

    /// Adds the current token if it is usable at `now`; it never refreshes, so poll the
    /// manager first.
    fn authorize(
        &self,
        request: &mut http::Request<Bytes>,
        now: SystemTime,
    ) -> Result<(), AuthorizeError> {
        let bearer = {
            let state = self.shared.lock();
            check_scopes(request, &state.token)?;
            if state.rejected || state.token.is_expired(now) {
                return Err(if state.dead || state.token.refresh_token().is_none() {
                    AuthorizeError::TokenExpired
                } else {
                    AuthorizeError::TokenNeedsRefresh
                });
            }
            state.bearer()
        };
        bearer.apply(request)
    }
}

/// The duty to refresh the token, given to exactly one caller at a time.
///
/// Complete it with [`handle_response`](Self::handle_response). Dropping it instead (the
/// request could not be sent, the task was cancelled) ends the refresh as
/// [`RefreshOutcome::Abandoned`], and the next poll hands out a new ticket.
pub struct RefreshTicket {
    shared: Arc<Shared>,
    refresh_token: RefreshToken,
    basis: UserToken,
    done: bool,
}

impl RefreshTicket {
    /// The refresh request to send. Each call builds it anew.
    pub fn request(&self) -> http::Request<Bytes> {
        self.shared.client.refresh_request(&self.refresh_token)
    }

    /// Completes the refresh with X's response, received at `now`. Everyone waiting gets the
    /// outcome; after a refusal of the refresh token itself
    /// ([`ResponseError::refuses_refresh_token`]) the manager asks for a new authorization.
    ///
    /// On success the new token is installed first, then the
    /// [`on_rotate`](TokenManager::on_rotate) hooks run (with no lock held), then the waiters
    /// are woken. A panicking hook does not stop the other hooks nor leave waiters pending;
    /// its panic is resumed here once they have been woken.
    pub fn handle_response(
        self,
        response: &http::Response<Bytes>,
        now: SystemTime,
    ) -> Result<Bearer, ResponseError> {
        let parsed = self.parse(response, now);
        self.complete(parsed)
    }

    /// The token this ticket refreshes.
    pub fn basis(&self) -> &UserToken {
        &self.basis
    }

    /// The first step of a refresh shared with other processes through a token store, taken
    /// under the store's lock with what the store holds now: if `stored` supersedes the
    /// token this ticket refreshes, another process has rotated it, and the manager takes it
    /// (refreshing it in turn if it is about to expire too); otherwise the ticket's request
    /// is to be sent.
    pub fn resume_from(self, stored: Option<UserToken>, now: SystemTime) -> LockedRefresh {
        match stored {
            Some(stored) if stored.supersedes(&self.basis) => self.adopt(stored, now),
            _ => LockedRefresh::Send(self),
        }
    }

    /// Reads X's response to the refresh into the token it grants, changing nothing yet: a
    /// driver that shares the token with other processes saves it (still under its store's
    /// lock) before handing it to [`complete`](Self::complete).
    pub fn parse(
        &self,
        response: &http::Response<Bytes>,
        now: SystemTime,
    ) -> Result<UserToken, ResponseError> {
        let mut token = self.shared.client.parse_token_response(response, now)?;
        // RFC 6749 §6: without a new refresh token, the old one stays valid; without a
        // scope, the grant is unchanged.
        token.set_refresh_token_if_absent(&self.refresh_token);
        token.set_scopes_if_unknown(self.basis.scopes());
        Ok(token)
    }

    /// Ends the refresh with `parsed`, in this order: the new token becomes the manager's,
    /// the [`on_rotate`](TokenManager::on_rotate) hooks run, then the refresh is marked over
    /// and everyone waiting is woken.
    ///
    /// No lock is held while a hook runs, so a hook may use the manager or take a store's
    /// file lock. The refresh stays marked in flight until the hooks return, so no second
    /// refresh can start and hand its hooks a newer token before this one's are done: hooks
    /// see tokens in the order they were obtained. If a hook panics, the other hooks still
    /// run, the refresh still ends and the waiters are still woken; the first panic is then
    /// resumed in the caller.
    ///
    /// [`handle_response`](Self::handle_response) is [`parse`](Self::parse) then this.
    pub fn complete(
        mut self,
        parsed: Result<UserToken, ResponseError>,
    ) -> Result<Bearer, ResponseError> {
        self.done = true;
        let mut state = self.shared.lock();
        let token = match parsed {
            Ok(token) => token,
            Err(error) => {
                if error.refuses_refresh_token() {
                    state.dead = true;
                }
                let wakers = state.end_refresh(RefreshOutcome::Failed(error.clone()));
                drop(state);
                wakers.into_iter().for_each(Waker::wake);
                return Err(error);
            }
        };
        let bearer = state.install(token.clone());
        let hooks = state.hooks.clone();
        drop(state);
        // Each hook runs even if an earlier one panicked (a later one may be the one that
        // persists the token), and the refresh ends before any panic goes on, so that no
        // waiter is left pending for a wake that never comes.
        let mut first_panic = None;
        for hook in hooks {
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(&token)));
            if let Err(payload) = run {
                first_panic.get_or_insert(payload);
            }
        }
        let wakers = self
            .shared
            .lock()
            .end_refresh(RefreshOutcome::Refreshed(bearer.clone()));
        wakers.into_iter().for_each(Waker::wake);
        if let Some(payload) = first_panic {
            std::panic::resume_unwind(payload);
        }
        Ok(bearer)
    }

    /// Takes a token found in shared storage that supersedes the one this ticket refreshes.
    /// If it is fresh enough (or cannot be refreshed), the refresh ends with it; otherwise
    /// the ticket now refreshes the stored token instead.
    fn adopt(mut self, stored: UserToken, now: SystemTime) -> LockedRefresh {
        let mut state = self.shared.lock();
        let fresh = stored
            .expires_at()
            .is_none_or(|at| !due_at(now, state.margin, at));
        let bearer = state.install(stored.clone());
        match stored.refresh_token() {
            Some(r) if !fresh => {
                self.refresh_token = r.clone();
                self.basis = stored;
                drop(state);
                LockedRefresh::Send(self)
            }
            _ => {
                self.done = true;
                let wakers = state.end_refresh(RefreshOutcome::Refreshed(bearer.clone()));
                drop(state);
                wakers.into_iter().for_each(Waker::wake);
                LockedRefresh::Ready(bearer)
            }
        }
    }
}

/// The first step of a refresh under a token store's lock
/// ([`RefreshTicket::resume_from`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum LockedRefresh {
    /// Another process had already rotated the token: the manager holds this one now;
    /// nothing to send.
    Ready(Bearer),
    /// Send the ticket's request, save what [`RefreshTicket::parse`] reads from the answer,
    /// release the lock, then [`RefreshTicket::complete`].
    Send(RefreshTicket),
}

impl Drop for RefreshTicket {
    fn drop(&mut self) {
        if !self.done {
            let wakers = self.shared.lock().end_refresh(RefreshOutcome::Abandoned);
            wakers.into_iter().for_each(Waker::wake);
        }
    }
}

impl fmt::Debug for RefreshTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTicket")
            .field("refresh_token", &self.refresh_token)
            .finish_non_exhaustive()
    }
}

/// Resolves when the refresh in flight ends, with its outcome.
///
/// Works under any executor: it keeps the task's waker and the refresh's end wakes it.
pub struct RefreshWait {
    shared: Arc<Shared>,
    seen: u64,
    id: u64,
}

impl RefreshWait {
    /// Blocks the current thread until the refresh ends, for callers without an executor.
    pub fn wait_blocking(mut self) -> RefreshOutcome {
        struct Unpark(std::thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(outcome) = Pin::new(&mut self).poll(&mut cx) {
                return outcome;
            }
            std::thread::park();
        }
    }
}

impl Future for RefreshWait {
    type Output = RefreshOutcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RefreshOutcome> {
        let this = self.get_mut();
        let mut state = this.shared.lock();
        if state.finished > this.seen {
            state.waiters.retain(|(id, _)| *id != this.id);
            let outcome = state
                .last_outcome
                .clone()
                .unwrap_or(RefreshOutcome::Abandoned);
            return Poll::Ready(outcome);
        }
        match state.waiters.iter_mut().find(|(id, _)| *id == this.id) {
            Some((_, waker)) => waker.clone_from(cx.waker()),
            None => state.waiters.push((this.id, cx.waker().clone())),
        }
        Poll::Pending
    }
}

impl Drop for RefreshWait {
    fn drop(&mut self) {
        self.shared.lock().waiters.retain(|(id, _)| *id != self.id);
    }
}

impl fmt::Debug for RefreshWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshWait")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
