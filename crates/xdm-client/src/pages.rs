//! Listings as streams of pages and of events.
//!
//! The stop rules (missing token, empty page, repeated token, page and item limits) are the
//! core's [`Paginator`]; this module drives it over the client. The fetch in progress lives in
//! the stream value, so dropping a `next_page()` future half-way loses nothing: the next call
//! picks the same fetch up.
//!
//! A server that repeats itself cannot make a listing yield an event twice: events whose id
//! the listing has already yielded are dropped (the core's [`RecentIds`] remembers the last
//! [`RecentIds::DEFAULT_CAPACITY`] ids, which covers any repeat of a recent page, since pages
//! come newest first), and a pagination token handed out a second time ends the listing with
//! [`Error::RepeatedToken`] instead of a loop. A `next_token` that is not a pagination token
//! ends it with [`Error::MalformedToken`], after the page that carried it: whether more
//! events follow is unknown, so the listing does not end as if complete.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use tracing::Instrument;
use xdm_core::dedup::RecentIds;
use xdm_core::endpoints::{ListConversationEvents, ListEvents, ListParams, ListParticipantEvents};
use xdm_core::error::Problem;
use xdm_core::ids::{ConversationId, PaginationToken, UserId};
use xdm_core::includes::{Includes, ResolvedEvent};
use xdm_core::models::{DmEvent, User};
use xdm_core::pagination::{PagedEndpoint, Paginator, StopReason};
use xdm_core::response::EventPage;

use crate::client::Client;
use crate::error::Error;
use crate::transport::{Timer, Transport};

type Fetch = Pin<Box<dyn Future<Output = Result<EventPage, Error>> + Send>>;

/// The pages of one listing, newest first.
///
/// Use it as a [`Stream`] or through [`next_page`](Self::next_page). Save
/// [`resume_token`](Self::resume_token) after each page you have fully processed to continue
/// later from the next one, with any client.
///
/// Each page's `data` holds only events this listing has not yielded before (it remembers
/// the last [`RecentIds::DEFAULT_CAPACITY`] ids; pages come newest first, so a repeated page
/// falls within them); its `body` is still the answer as X sent it, and its `errors` are the
/// page's partial errors. A pagination token handed out a second time ends the listing with
/// [`Error::RepeatedToken`], a malformed `next_token` with [`Error::MalformedToken`].
#[must_use = "a listing does nothing until its pages are requested"]
pub struct Pages<T, C, E> {
    client: Client<T, C>,
    paginator: Paginator<E>,
    includes: Includes,
    fetch: Option<Fetch>,
    seen: RecentIds,
    failed: Option<Error>,
}

impl<T, C, E: fmt::Debug> fmt::Debug for Pages<T, C, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pages")
            .field("paginator", &self.paginator)
            .field("fetching", &self.fetch.is_some())
            .finish_non_exhaustive()
    }
}

impl<T, C, E> Pages<T, C, E>
where
    T: Transport + 'static,
    C: Timer + 'static,
    E: PagedEndpoint + Send + Sync + 'static,
{
    pub(crate) fn new(client: Client<T, C>, first: E) -> Self {
        Pages {
            client,
            paginator: Paginator::new(first),
            includes: Includes::default(),
            fetch: None,
            seen: RecentIds::new(),
            failed: None,
        }
    }

    /// Stops after `pages` pages.
    pub fn with_max_pages(mut self, pages: u32) -> Self {
        self.paginator = self.paginator.with_max_pages(pages);
        self
    }

    /// Stops after `items` events; the last page is trimmed (and requested smaller) to fit.
    /// Events dropped as repeats count towards the limit, so a repeating server can make a
    /// limited listing end with fewer.
    pub fn with_max_items(mut self, items: u64) -> Self {
        self.paginator = self.paginator.with_max_items(items);
        self
    }

    /// The next page, `None` once the listing is over. An error leaves the listing where it
    /// was: calling again retries the same page.
    pub async fn next_page(&mut self) -> Option<Result<EventPage, Error>> {
        poll_fn(|cx| self.poll_page(cx)).await
    }

    /// Where to resume after the pages returned so far: `None` at the start or once the
    /// listing has ended (check [`is_done`](Self::is_done)).
    pub fn resume_token(&self) -> Option<&PaginationToken> {
        self.paginator.resume_token()
    }

    /// Why the listing stopped, once it has.
    pub fn stop_reason(&self) -> Option<&StopReason> {
        self.paginator.stop_reason()
    }

    /// Whether no more pages (nor a last error) will come.
    pub fn is_done(&self) -> bool {
        self.paginator.is_done() && self.fetch.is_none() && self.failed.is_none()
    }

    /// Pages returned so far.
    pub fn pages_seen(&self) -> u32 {
        self.paginator.pages_seen()
    }

    /// Everything the pages so far included (users, media, posts), merged.
    pub fn includes(&self) -> &Includes {
        &self.includes
    }

    /// The same listing, one event at a time.
    pub fn events(self) -> Events<T, C, E> {
        Events {
            pages: self,
            buffer: VecDeque::new(),
            page_includes: Arc::new(Includes::default()),
            page_errors: Arc::from([]),
            fresh_page: false,
            carried: Vec::new(),
            page_token: None,
        }
    }

    fn poll_page(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<EventPage, Error>>> {
        loop {
            if let Some(error) = self.failed.take() {
                return Poll::Ready(Some(Err(error)));
            }
            if self.fetch.is_none() {
                let Some(endpoint) = self.paginator.poll_request() else {
                    return Poll::Ready(None);
                };
                let client = self.client.clone();
                let span = tracing::info_span!(
                    "xdm.page",
                    page = self.paginator.pages_seen() + 1,
                    resumed = endpoint.pagination_token().is_some()
                );
                self.fetch = Some(Box::pin(
                    async move { client.execute(&endpoint).await }.instrument(span),
                ));
            }
            let Some(fetch) = self.fetch.as_mut() else {
                continue;
            };
            let result = match fetch.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(result) => result,
            };
            self.fetch = None;
            match result {
                Err(error) => {
                    self.paginator.handle_failure();
                    return Poll::Ready(Some(Err(error)));
                }
                Ok(mut page) => {
                    let keep = self.paginator.handle_page(&page);
                    let mut repeated = 0;
                    if let Some(data) = page.data.as_mut() {
                        data.truncate(keep);
                        repeated = self.seen.retain_new(data);
                    }
                    match self.paginator.stop_reason() {
                        Some(StopReason::RepeatedToken(token)) => {
                            tracing::warn!("the server repeated a pagination token; stopping");
                            self.failed = Some(Error::RepeatedToken(token.clone()));
                        }
                        // Not the end of the listing: ending quietly would pass a truncated
                        // listing off as complete.
                        Some(StopReason::MalformedToken) => {
                            tracing::warn!("the server sent a malformed next_token; stopping");
                            self.failed = Some(Error::MalformedToken);
                        }
                        _ => {}
                    }
                    self.includes.merge(page.includes.clone());
                    tracing::debug!(events = keep - repeated, repeated, "page received");
                    // The empty page after X's last page says only that the listing is over,
                    // unless it carries partial errors, which are never dropped.
                    if keep == 0
                        && self.paginator.is_done()
                        && page.errors.is_empty()
                        && self.failed.is_none()
                    {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Ok(page)));
                }
            }
        }
    }
}

impl<T, C, E> Stream for Pages<T, C, E>
where
    T: Transport + 'static,
    C: Timer + 'static,
    E: PagedEndpoint + Send + Sync + Unpin + 'static,
{
    type Item = Result<EventPage, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_page(cx)
    }
}

/// One event of a listing, with the includes and the partial errors of the page it came on.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EventItem {
    /// The event.
    pub event: DmEvent,
    includes: Arc<Includes>,
    page_errors: Arc<[Problem]>,
    first_on_page: bool,
}

impl EventItem {
    /// The partial errors X reported on the event's page, such as a referenced post that
    /// could not be found. Every event of a page carries the same list; to handle each error
    /// once, read it where [`is_first_on_page`](Self::is_first_on_page) is true.
    pub fn page_errors(&self) -> &[Problem] {
        &self.page_errors
    }

    /// Whether this is the first event the listing yields from its page.
    pub fn is_first_on_page(&self) -> bool {
        self.first_on_page
    }

    /// The users, media and posts of the event's page.
    pub fn includes(&self) -> &Includes {
        &self.includes
    }

    /// The sender, when the listing asked for the `sender_id` expansion.
    pub fn sender(&self) -> Option<&User> {
        self.includes.index().sender(&self.event)
    }

    /// The event with everything it refers to looked up in the includes.
    pub fn resolve(&self) -> ResolvedEvent<'_> {
        resolve_in(&self.includes, &self.event)
    }

    /// The event, without its includes.
    pub fn into_event(self) -> DmEvent {
        self.event
    }
}

fn resolve_in<'a>(includes: &'a Includes, event: &'a DmEvent) -> ResolvedEvent<'a> {
    includes.index().resolve(event)
}

/// The events of one listing, newest first, each with its page's includes and partial
/// errors, and none twice (see [`Pages`]).
#[must_use = "a listing does nothing until its events are requested"]
pub struct Events<T, C, E> {
    pages: Pages<T, C, E>,
    buffer: VecDeque<DmEvent>,
    page_includes: Arc<Includes>,
    page_errors: Arc<[Problem]>,
    fresh_page: bool,
    carried: Vec<Problem>,
    page_token: Option<PaginationToken>,
}

impl<T, C, E: fmt::Debug> fmt::Debug for Events<T, C, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("pages", &self.pages)
            .field("buffered", &self.buffer.len())
            .finish_non_exhaustive()
    }
}

impl<T, C, E> Events<T, C, E>
where
    T: Transport + 'static,
    C: Timer + 'static,
    E: PagedEndpoint + Send + Sync + 'static,
{
    /// The next event, `None` once the listing is over.
    pub async fn next(&mut self) -> Option<Result<EventItem, Error>> {
        poll_fn(|cx| self.poll_event(cx)).await
    }

    /// Where to resume without losing an event: while events of a page are still buffered,
    /// the token of that page (so resuming may repeat some of them), else the next page's.
    pub fn resume_token(&self) -> Option<&PaginationToken> {
        if self.buffer.is_empty() {
            self.pages.resume_token()
        } else {
            self.page_token.as_ref()
        }
    }

    /// Why the listing stopped, once it has.
    pub fn stop_reason(&self) -> Option<&StopReason> {
        self.pages.stop_reason()
    }

    /// Partial errors of the last pages that brought no new event, so no event carries them
    /// (see [`EventItem::page_errors`]); read them once the listing is over.
    pub fn trailing_errors(&self) -> &[Problem] {
        &self.carried
    }

    /// Everything the pages so far included, merged.
    pub fn includes(&self) -> &Includes {
        self.pages.includes()
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<EventItem, Error>>> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                let first_on_page = std::mem::take(&mut self.fresh_page);
                return Poll::Ready(Some(Ok(EventItem {
                    event,
                    includes: Arc::clone(&self.page_includes),
                    page_errors: Arc::clone(&self.page_errors),
                    first_on_page,
                })));
            }
            let token = self.pages.resume_token().cloned();
            match self.pages.poll_page(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(page))) => {
                    self.page_token = token;
                    self.page_includes = Arc::new(page.includes);
                    self.buffer = page.data.unwrap_or_default().into();
                    // The errors of a page without an event to carry them go with the next
                    // event, or stay in `trailing_errors` at the end.
                    self.carried.extend(page.errors);
                    if !self.buffer.is_empty() {
                        self.page_errors = std::mem::take(&mut self.carried).into();
                        self.fresh_page = true;
                    }
                }
            }
        }
    }
}

impl<T, C, E> Stream for Events<T, C, E>
where
    T: Transport + 'static,
    C: Timer + 'static,
    E: PagedEndpoint + Send + Sync + Unpin + 'static,
{
    type Item = Result<EventItem, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_event(cx)
    }
}

impl<T, C> Client<T, C>
where
    T: Transport + 'static,
    C: Timer + 'static,
{
    /// All of the user's DM events of the last 30 days, page by page, with X's defaults
    /// (100 events a page, every event type, default fields): `GET /2/dm_events`. See
    /// [`list_events_with`](Self::list_events_with) to choose.
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::Transport + 'static,
    /// #               C: xdm_client::transport::Timer + 'static>(
    /// #     client: xdm_client::Client<T, C>) -> Result<(), xdm_client::Error> {
    /// let mut events = client.list_events().with_max_items(250).events();
    /// while let Some(item) = events.next().await {
    ///     let item = item?;
    ///     println!("{:?}", item.event.text);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_events(&self) -> Pages<T, C, ListEvents> {
        self.list_events_with(ListParams::new())
    }

    /// All of the user's DM events of the last 30 days, with `params`: `GET /2/dm_events`.
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::Transport + 'static,
    /// #               C: xdm_client::transport::Timer + 'static>(
    /// #     client: xdm_client::Client<T, C>) -> Result<(), xdm_client::Error> {
    /// use xdm_core::endpoints::ListParams;
    /// use xdm_core::fields::{DmEventField, Expansion, FieldSet, UserField};
    ///
    /// let fields = FieldSet::new()
    ///     .with_dm_event_fields([DmEventField::Text, DmEventField::SenderId])
    ///     .with_expansions([Expansion::SenderId])
    ///     .with_user_fields([UserField::Username]);
    /// let params = ListParams::new().with_max_results(50)?.with_fields(fields);
    /// let mut events = client.list_events_with(params).with_max_items(250).events();
    /// while let Some(item) = events.next().await {
    ///     let item = item?;
    ///     if item.is_first_on_page() {
    ///         for problem in item.page_errors() {
    ///             eprintln!("warning: {}", problem.summary().unwrap_or("a partial error"));
    ///         }
    ///     }
    ///     println!("{:?} from {:?}", item.event.text, item.sender().and_then(|u| u.username.clone()));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_events_with(&self, params: ListParams) -> Pages<T, C, ListEvents> {
        self.pages(ListEvents::new().with_params(params))
    }

    /// One conversation's events, with X's defaults: `GET /2/dm_conversations/{id}/dm_events`.
    pub fn list_conversation_events(
        &self,
        conversation: &ConversationId,
    ) -> Pages<T, C, ListConversationEvents> {
        self.list_conversation_events_with(conversation, ListParams::new())
    }

    /// One conversation's events, with `params`: `GET /2/dm_conversations/{id}/dm_events`.
    pub fn list_conversation_events_with(
        &self,
        conversation: &ConversationId,
        params: ListParams,
    ) -> Pages<T, C, ListConversationEvents> {
        self.pages(ListConversationEvents::new(conversation.clone()).with_params(params))
    }

    /// The one-to-one conversation with `participant`, with X's defaults:
    /// `GET /2/dm_conversations/with/{participant_id}/dm_events`.
    pub fn list_participant_events(
        &self,
        participant: &UserId,
    ) -> Pages<T, C, ListParticipantEvents> {
        self.list_participant_events_with(participant, ListParams::new())
    }

    /// The one-to-one conversation with `participant`, with `params`:
    /// `GET /2/dm_conversations/with/{participant_id}/dm_events`.
    pub fn list_participant_events_with(
        &self,
        participant: &UserId,
        params: ListParams,
    ) -> Pages<T, C, ListParticipantEvents> {
        self.pages(ListParticipantEvents::new(participant.clone()).with_params(params))
    }

    /// Pages of any listing endpoint, starting from the token it carries (if any).
    pub fn pages<E>(&self, first: E) -> Pages<T, C, E>
    where
        E: PagedEndpoint + Send + Sync + 'static,
    {
        Pages::new(self.clone(), first)
    }
}
