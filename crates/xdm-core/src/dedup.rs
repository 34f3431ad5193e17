//! Dropping the events of a listing that were already handed out.
//!
//! A server that repeats a page, under the same token or under a fresh one, would otherwise
//! make a listing yield the same event twice (and an export write it twice). Listings are
//! ordered newest first and a repeat comes back to a page just handed out, so remembering the
//! most recent ids suffices: [`RecentIds`] keeps the last [`RecentIds::DEFAULT_CAPACITY`] ids
//! in a bounded window, whatever the length of the listing.
//!
//! ```
//! use xdm_core::dedup::RecentIds;
//! use xdm_core::models::DmEvent;
//!
//! let event = |id: &str| {
//!     let mut e = DmEvent::default();
//!     e.id = Some(id.to_owned());
//!     e
//! };
//! let mut seen = RecentIds::new();
//! let mut first = vec![event("3"), event("2")];
//! assert_eq!(seen.retain_new(&mut first), 0);
//! // The same page again, then one older event.
//! let mut again = vec![event("3"), event("2"), event("1")];
//! assert_eq!(seen.retain_new(&mut again), 2);
//! assert_eq!(again, [event("1")]);
//! ```

use std::collections::{HashSet, VecDeque};

use crate::models::DmEvent;

/// A bounded memory of the event ids a listing has handed out, oldest forgotten first.
///
/// An id is remembered until `capacity` newer ids have been seen after it. Events without an
/// id cannot be told apart and always pass.
#[derive(Debug, Clone)]
pub struct RecentIds {
    capacity: usize,
    order: VecDeque<String>,
    known: HashSet<String>,
}

impl Default for RecentIds {
    fn default() -> Self {
        Self::new()
    }
}

impl RecentIds {
    /// The ids remembered by [`new`](Self::new): the last 20 full pages of 100 events, far
    /// more than a repeated page reaches back, in about 100 KB at most.
    pub const DEFAULT_CAPACITY: usize = 2_000;

    /// A memory of the last [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) ids.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A memory of the last `capacity` ids (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        RecentIds {
            capacity,
            order: VecDeque::new(),
            known: HashSet::new(),
        }
    }

    /// How many ids are remembered at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether `id` is new: `true` (and `id` is remembered from now on) unless it is among
    /// the remembered ids.
    pub fn first_time(&mut self, id: &str) -> bool {
        if self.known.contains(id) {
            return false;
        }
        if self.order.len() == self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.known.remove(&oldest);
        }
        self.order.push_back(id.to_owned());
        self.known.insert(id.to_owned());
        true
    }

    /// Whether `id` is among the remembered ids (without remembering it).
    pub fn contains(&self, id: &str) -> bool {
        self.known.contains(id)
    }

    /// How many ids are remembered now.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The remembered ids, oldest first: what [`restore`](Self::restore) takes back, to keep
    /// the memory across a restart.
    ///
    /// ```
    /// use xdm_core::dedup::RecentIds;
    ///
    /// let mut seen = RecentIds::with_capacity(2);
    /// for id in ["1", "2", "3"] {
    ///     seen.first_time(id);
    /// }
    /// let mut again = RecentIds::restore(2, seen.snapshot());
    /// assert_eq!(again.snapshot(), ["2", "3"]);
    /// assert!(!again.first_time("3"));
    /// ```
    pub fn snapshot(&self) -> Vec<String> {
        self.order.iter().cloned().collect()
    }

    /// A memory of the last `capacity` ids (at least one) that starts out knowing `ids`,
    /// oldest first, as [`snapshot`](Self::snapshot) wrote them. When there are more than
    /// `capacity`, the newest are kept; repeats count once.
    pub fn restore(capacity: usize, ids: impl IntoIterator<Item = String>) -> Self {
        let mut seen = Self::with_capacity(capacity);
        for id in ids {
            seen.first_time(&id);
        }
        seen
    }

    /// Keeps the events seen for the first time, in their order, and returns how many were
    /// dropped. Events without an id are kept.
    pub fn retain_new(&mut self, events: &mut Vec<DmEvent>) -> usize {
        let before = events.len();
        events.retain(|event| event.id.as_deref().is_none_or(|id| self.first_time(id)));
        before - events.len()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    fn event(id: u32) -> DmEvent {
        DmEvent {
            id: Some(id.to_string()),
            ..DmEvent::default()
        }
    }

    #[test]
    fn the_oldest_id_is_forgotten_first() {
        let mut seen = RecentIds::with_capacity(2);
        assert!(seen.first_time("a"));
        assert!(seen.first_time("b"));
        assert!(!seen.first_time("a"));
        assert!(seen.first_time("c"));
        // `a` was pushed out by `c`: beyond the window a repeat passes, as documented.
        assert!(seen.first_time("a"));
        assert!(!seen.first_time("c"));
        assert_eq!(seen.capacity(), 2);
        assert_eq!(RecentIds::with_capacity(0).capacity(), 1);
        assert_eq!(RecentIds::default().capacity(), RecentIds::DEFAULT_CAPACITY);
    }

    #[test]
    fn events_without_an_id_always_pass() {
        let mut seen = RecentIds::new();
        let mut page = vec![DmEvent::default(), event(1), DmEvent::default(), event(1)];
        assert_eq!(seen.retain_new(&mut page), 1);
        assert_eq!(page, [DmEvent::default(), event(1), DmEvent::default()]);
    }

    /// A listing as a hostile server may serve it: fresh pages of older events, mixed with
    /// repeats of any of the last four fresh pages.
    fn listing() -> impl Strategy<Value = Vec<Vec<u32>>> {
        proptest::collection::vec((any::<bool>(), 0usize..4, 0usize..30), 1..40).prop_map(|steps| {
            let mut next_id = 1_000_000u32;
            let mut fresh: Vec<Vec<u32>> = Vec::new();
            let mut served: Vec<Vec<u32>> = Vec::new();
            for (repeat, back, size) in steps {
                if repeat && !fresh.is_empty() {
                    served.push(fresh[fresh.len().saturating_sub(1 + back)].clone());
                } else {
                    let page: Vec<u32> = (0..size)
                        .map(|_| {
                            next_id -= 1;
                            next_id
                        })
                        .collect();
                    fresh.push(page.clone());
                    served.push(page);
                }
            }
            served
        })
    }

    proptest! {
        /// Against the model (every id ever seen, unbounded): while repeats stay within the
        /// window, the bounded memory keeps exactly what the model keeps.
        #[test]
        fn matches_an_unbounded_model_within_its_window(pages in listing()) {
            // Four pages back of at most 30 events each fit in 150 ids.
            let mut seen = RecentIds::with_capacity(150);
            let mut model: HashSet<u32> = HashSet::new();
            for page in pages {
                let mut events: Vec<DmEvent> = page.iter().copied().map(event).collect();
                let expected: Vec<DmEvent> =
                    page.iter().copied().filter(|id| model.insert(*id)).map(event).collect();
                let dropped = seen.retain_new(&mut events);
                prop_assert_eq!(dropped, page.len() - expected.len());
                prop_assert_eq!(events, expected);
            }
        }

        #[test]
        fn memory_never_exceeds_the_capacity(ids in proptest::collection::vec(0u32..500, 0..2000), cap in 1usize..64) {
            let mut seen = RecentIds::with_capacity(cap);
            for id in ids {
                seen.first_time(&id.to_string());
                prop_assert!(seen.order.len() <= cap);
                prop_assert_eq!(seen.order.len(), seen.known.len());
            }
        }
    }
}
