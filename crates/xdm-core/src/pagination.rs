//! Walking a listing page by page: a state machine that hands out requests and reads pages.
//!
//! [`Paginator`] never sends anything. The caller asks it for the next request
//! ([`poll_request`](Paginator::poll_request)), sends it however it likes, and hands back the
//! decoded page ([`handle_page`](Paginator::handle_page)) or reports a failure
//! ([`handle_failure`](Paginator::handle_failure)). Because its whole state is a token, a
//! listing can be checkpointed ([`resume_token`](Paginator::resume_token)) and resumed later
//! by any client.
//!
//! X's DM listings need more stop rules than "no `next_token`": real responses carry a
//! `next_token` on their last page, and the request that follows returns
//! `{"meta":{"result_count":0}}`. Tokens can also repeat. The paginator therefore stops on any
//! of: a missing token, an empty page, a token already requested, a page limit or an item
//! limit.

use std::collections::HashSet;

use crate::endpoint::Endpoint;
use crate::ids::PaginationToken;
use crate::input::InvalidInput;
use crate::response::EventPage;

/// A listing endpoint whose requests carry `pagination_token` and `max_results`.
pub trait PagedEndpoint: Endpoint<Output = EventPage> + Clone {
    /// The `pagination_token` the request will carry.
    fn pagination_token(&self) -> Option<&PaginationToken>;
    /// Sets or clears the `pagination_token`.
    fn set_pagination_token(&mut self, token: Option<PaginationToken>);
    /// The `max_results` the request will carry, if set.
    fn max_results(&self) -> Option<u8>;
    /// Sets `max_results`; refused when out of the endpoint's range.
    fn set_max_results(&mut self, n: u8) -> Result<(), InvalidInput>;
}

/// How many tokens a paginator remembers before it stops with [`StopReason::TokenMemoryFull`].
///
/// At 100 events a page this is a million events, more than X keeps for one account (30 days
/// of history); reaching it means the server is handing out endless fresh tokens.
pub const MAX_REMEMBERED_TOKENS: usize = 10_000;

/// X's page size when a request sets no `max_results`.
const DEFAULT_PAGE_SIZE: u64 = 100;

/// Why a [`Paginator`] stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// The last page carried no `next_token`.
    NoNextToken,
    /// A page had no events (`data` absent or empty, or `result_count` 0).
    EmptyPage,
    /// A page's `next_token` had been requested before; following it would loop.
    RepeatedToken(PaginationToken),
    /// A page's `next_token` was not a well-formed token. This is a fault of the server,
    /// not the end of the listing ([`is_end_of_listing`](Self::is_end_of_listing) is false):
    /// whether more events follow is unknown. [`Paginator::resume_token`] then names the
    /// page that carried the bad token, so a caller that does not keep that page reads it
    /// again on resuming.
    MalformedToken,
    /// The page limit was reached.
    PageLimit,
    /// The item limit was reached.
    ItemLimit,
    /// [`MAX_REMEMBERED_TOKENS`] distinct tokens were requested.
    TokenMemoryFull,
}

impl StopReason {
    /// Whether the listing was read to its end, as opposed to cut short by a limit.
    pub fn is_end_of_listing(&self) -> bool {
        matches!(
            self,
            StopReason::NoNextToken | StopReason::EmptyPage | StopReason::RepeatedToken(_)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// The next `poll_request` hands out a request.
    Ready,
    /// A request is out; waiting for `handle_page` or `handle_failure`.
    Awaiting,
    Stopped(StopReason),
}

/// A state machine that walks a listing, one request at a time.
///
/// ```
/// use bytes::Bytes;
/// use xdm_core::endpoints::ListEvents;
/// use xdm_core::pagination::{PagedEndpoint, Paginator, StopReason};
/// use xdm_core::{Endpoint, RequestContext};
///
/// # fn respond(json: &str) -> http::Response<Bytes> {
/// #     http::Response::new(Bytes::from(json.to_owned()))
/// # }
/// let ctx = RequestContext::default();
/// let mut pages = Paginator::new(ListEvents::new()).with_max_items(150);
///
/// // First request: no token.
/// let list = pages.poll_request().unwrap();
/// assert!(list.pagination_token().is_none());
/// let _request = list.build_request(&ctx)?;
/// // ... send it; decode the answer with the same endpoint value:
/// let events = vec![r#"{"id":"1","event_type":"MessageCreate"}"#; 100].join(",");
/// let body = format!(r#"{{"data":[{events}],"meta":{{"result_count":100,"next_token":"18LAA581J5II7LA00C00ZZZZ"}}}}"#);
/// let page = list.decode_response(respond(&body)).unwrap();
/// assert_eq!(pages.handle_page(&page), 100);
///
/// // Second request: follows next_token and asks only for the 50 events still wanted.
/// let list = pages.poll_request().unwrap();
/// assert_eq!(list.pagination_token().unwrap().as_str(), "18LAA581J5II7LA00C00ZZZZ");
/// assert_eq!(list.max_results(), Some(50));
/// // What an export would save, to resume later with `Paginator::new` on a request carrying it.
/// assert_eq!(pages.resume_token().unwrap().as_str(), "18LAA581J5II7LA00C00ZZZZ");
///
/// // X's last page is empty.
/// let page = list.decode_response(respond(r#"{"meta":{"result_count":0}}"#)).unwrap();
/// assert_eq!(pages.handle_page(&page), 0);
/// assert!(pages.poll_request().is_none());
/// assert_eq!(pages.stop_reason(), Some(&StopReason::EmptyPage));
/// assert_eq!((pages.pages_seen(), pages.items_seen()), (2, 100));
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone)]
pub struct Paginator<E> {
    next: E,
    state: State,
    requested: HashSet<Option<PaginationToken>>,
    max_pages: Option<u32>,
    max_items: Option<u64>,
    pages: u32,
    items: u64,
}

/// What the paginator needs from a page.
struct PageView<'a> {
    items: usize,
    result_count: Option<u64>,
    next_token: Option<&'a str>,
}

impl<E: PagedEndpoint> Paginator<E> {
    /// A paginator starting with `first`: from its `pagination_token` if it carries one (a
    /// saved [`resume_token`](Self::resume_token)), otherwise from the newest events.
    pub fn new(first: E) -> Self {
        Paginator {
            next: first,
            state: State::Ready,
            requested: HashSet::new(),
            max_pages: None,
            max_items: None,
            pages: 0,
            items: 0,
        }
    }

    /// Stops after `pages` pages.
    pub fn with_max_pages(mut self, pages: u32) -> Self {
        self.max_pages = Some(pages);
        self
    }

    /// Stops once `items` events were seen, and asks the last request for no more than are
    /// still wanted.
    pub fn with_max_items(mut self, items: u64) -> Self {
        self.max_items = Some(items);
        self
    }

    /// The next request to send, or `None` when the listing is done or a request is still
    /// out (answer it with [`handle_page`](Self::handle_page) or
    /// [`handle_failure`](Self::handle_failure) first).
    pub fn poll_request(&mut self) -> Option<E> {
        if self.state == State::Ready {
            self.check_limits();
        }
        if self.state != State::Ready {
            return None;
        }
        if self.requested.len() >= MAX_REMEMBERED_TOKENS {
            self.state = State::Stopped(StopReason::TokenMemoryFull);
            return None;
        }
        self.trim_page_size();
        self.requested.insert(self.next.pagination_token().cloned());
        self.state = State::Awaiting;
        Some(self.next.clone())
    }

    /// Takes the decoded answer to the request last handed out.
    ///
    /// Returns how many of the page's events the caller should keep: all of them, except when
    /// the server sent more than the item limit still allowed. A page that arrives when no
    /// request is out is ignored, and 0 is returned.
    pub fn handle_page(&mut self, page: &EventPage) -> usize {
        let view = PageView {
            items: page.items().len(),
            result_count: page.meta.as_ref().and_then(|m| m.result_count),
            next_token: page.next_token(),
        };
        self.handle_view(view)
    }

    /// Reports that the request last handed out failed; the next
    /// [`poll_request`](Self::poll_request) hands out the same request again.
    pub fn handle_failure(&mut self) {
        if self.state == State::Awaiting {
            self.requested
                .remove(&self.next.pagination_token().cloned());
            self.state = State::Ready;
        }
    }

    /// The token to start from to read the next unseen page: what an export would save.
    ///
    /// `None` before the first page of a fresh listing, and once the listing was read to its
    /// end ([`StopReason::is_end_of_listing`]); after a limit, the token that continues it.
    pub fn resume_token(&self) -> Option<&PaginationToken> {
        match &self.state {
            State::Stopped(reason) if reason.is_end_of_listing() => None,
            _ => self.next.pagination_token(),
        }
    }

    /// Pages handled so far.
    pub fn pages_seen(&self) -> u32 {
        self.pages
    }

    /// Events seen so far.
    pub fn items_seen(&self) -> u64 {
        self.items
    }

    /// Why the paginator stopped, once it has.
    pub fn stop_reason(&self) -> Option<&StopReason> {
        match &self.state {
            State::Stopped(reason) => Some(reason),
            _ => None,
        }
    }

    /// Whether the paginator has stopped.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Stopped(_))
    }

    fn handle_view(&mut self, view: PageView<'_>) -> usize {
        if self.state != State::Awaiting {
            return 0;
        }
        self.pages = self.pages.saturating_add(1);
        let wanted = self.max_items.map(|max| max.saturating_sub(self.items));
        let keep = match wanted {
            Some(w) if (view.items as u64) > w => w as usize,
            _ => view.items,
        };
        self.items = self.items.saturating_add(keep as u64);
        self.state = State::Ready;

        if keep < view.items {
            // The next unseen events are in the middle of this page: resuming must refetch it.
            return self.stop(StopReason::ItemLimit, keep);
        }
        if view.items == 0 || view.result_count == Some(0) {
            return self.stop(StopReason::EmptyPage, keep);
        }
        let Some(raw) = view.next_token else {
            return self.stop(StopReason::NoNextToken, keep);
        };
        let Ok(token) = PaginationToken::parse(raw) else {
            return self.stop(StopReason::MalformedToken, keep);
        };
        if self.requested.contains(&Some(token.clone())) {
            return self.stop(StopReason::RepeatedToken(token), keep);
        }
        self.next.set_pagination_token(Some(token));
        self.check_limits();
        keep
    }

    fn stop(&mut self, reason: StopReason, keep: usize) -> usize {
        self.state = State::Stopped(reason);
        keep
    }

    fn check_limits(&mut self) {
        if self.max_pages.is_some_and(|max| self.pages >= max) {
            self.state = State::Stopped(StopReason::PageLimit);
        } else if self.max_items.is_some_and(|max| self.items >= max) {
            self.state = State::Stopped(StopReason::ItemLimit);
        }
    }

    /// Lowers `max_results` so the last request asks only for the events still wanted.
    fn trim_page_size(&mut self) {
        let Some(max) = self.max_items else { return };
        let wanted = max.saturating_sub(self.items);
        let size = self.next.max_results().map_or(DEFAULT_PAGE_SIZE, u64::from);
        if wanted < size {
            // `wanted` is below a page size, so it fits in a u8. Should the endpoint refuse it
            // (below its minimum), the request keeps its size and the page is cut on arrival.
            let _ = u8::try_from(wanted).map(|n| self.next.set_max_results(n));
        }
    }
}

#[cfg(test)]
mod tests;
