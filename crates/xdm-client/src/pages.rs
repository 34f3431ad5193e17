//! Listings as streams of pages and of events.
//!
//! The stop rules (missing token, empty page, repeated token, page and item limits) are the
//! core's [`Paginator`]; this module drives it over the client. The fetch in progress lives in
//! the stream value, so dropping a `next_page()` future half-way loses nothing: the next call
//! picks the same fetch up.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use tracing::Instrument;
use xdm_core::endpoints::{ListConversationEvents, ListEvents, ListParams, ListParticipantEvents};
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
#[must_use = "a listing does nothing until its pages are requested"]
pub struct Pages<T, C, E> {
    client: Client<T, C>,
    paginator: Paginator<E>,
    includes: Includes,
    fetch: Option<Fetch>,
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
        }
    }

    /// Stops after `pages` pages.
    pub fn with_max_pages(mut self, pages: u32) -> Self {
        self.paginator = self.paginator.with_max_pages(pages);
        self
    }

    /// Stops after `items` events; the last page is trimmed (and requested smaller) to fit.
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

    /// Whether no more pages will come.
    pub fn is_done(&self) -> bool {
        self.paginator.is_done() && self.fetch.is_none()
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
            page_token: None,
        }
    }

    fn poll_page(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<EventPage, Error>>> {
        loop {
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
                    if let Some(data) = page.data.as_mut() {
                        data.truncate(keep);
                    }
                    self.includes.merge(page.includes.clone());
                    tracing::debug!(events = keep, "page received");
                    // The empty page after X's last page says only that the listing is over.
                    if keep == 0 && self.paginator.is_done() {
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

/// One event of a listing, with the includes of the page it came on.
#[derive(Debug, Clone)]
pub struct EventItem {
    /// The event.
    pub event: DmEvent,
    includes: Arc<Includes>,
}

impl EventItem {
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

/// The events of one listing, newest first, each with its page's includes.
#[must_use = "a listing does nothing until its events are requested"]
pub struct Events<T, C, E> {
    pages: Pages<T, C, E>,
    buffer: VecDeque<DmEvent>,
    page_includes: Arc<Includes>,
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

    /// Everything the pages so far included, merged.
    pub fn includes(&self) -> &Includes {
        self.pages.includes()
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<EventItem, Error>>> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                return Poll::Ready(Some(Ok(EventItem {
                    event,
                    includes: Arc::clone(&self.page_includes),
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
    /// All of the user's DM events of the last 30 days, page by page:
    /// `GET /2/dm_events`.
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::Transport + 'static,
    /// #               C: xdm_client::transport::Timer + 'static>(
    /// #     client: xdm_client::Client<T, C>) -> Result<(), xdm_client::Error> {
    /// use xdm_core::endpoints::ListParams;
    ///
    /// let mut events = client.list_events(ListParams::new()).with_max_items(250).events();
    /// while let Some(item) = events.next().await {
    ///     let item = item?;
    ///     println!("{:?} from {:?}", item.event.text, item.sender().and_then(|u| u.username.clone()));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_events(&self, params: ListParams) -> Pages<T, C, ListEvents> {
        self.pages(ListEvents::new().with_params(params))
    }

    /// One conversation's events: `GET /2/dm_conversations/{id}/dm_events`.
    pub fn list_conversation_events(
        &self,
        conversation: ConversationId,
        params: ListParams,
    ) -> Pages<T, C, ListConversationEvents> {
        self.pages(ListConversationEvents::new(conversation).with_params(params))
    }

    /// The one-to-one conversation with `participant`:
    /// `GET /2/dm_conversations/with/{participant_id}/dm_events`.
    pub fn list_participant_events(
        &self,
        participant: UserId,
        params: ListParams,
    ) -> Pages<T, C, ListParticipantEvents> {
        self.pages(ListParticipantEvents::new(participant).with_params(params))
    }

    /// Pages of any listing endpoint, starting from the token it carries (if any).
    pub fn pages<E>(&self, first: E) -> Pages<T, C, E>
    where
        E: PagedEndpoint + Send + Sync + 'static,
    {
        Pages::new(self.clone(), first)
    }
}
