//! Faults a test can arm on an endpoint: dropped connections, error statuses, slow or broken
//! bodies.

use std::time::Duration;

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultKind {
    /// The connection closes before the request is processed: nothing is stored.
    CloseBeforeResponse,
    /// The request is processed (a send is stored), then the connection closes with no
    /// response: the client cannot know the outcome.
    CloseAfterProcessing,
    /// The status line and headers arrive, then the connection closes.
    CloseAfterHeaders,
    /// Half the body arrives, then the connection closes.
    CloseMidBody,
    /// The request is not processed and this status (500, 502, 503, 504...) is returned with
    /// an X-like problem body.
    Status(u16),
    /// The response headers are held back this long (the request is processed first).
    DelayHeaders(Duration),
    /// The headers arrive at once; the body waits this long.
    DelayBody(Duration),
    /// The JSON body is cut in half (with a matching `content-length`).
    TruncatedJson,
    /// The body is replaced by something that is not JSON.
    InvalidJson,
    /// The JSON body is padded with whitespace to at least this many bytes.
    OversizedBody(usize),
    /// On `GET /2/activity/stream`: the connection is refused with X's 429
    /// `TooManyConnections` body, as when X still counts an earlier connection as in use.
    TooManyConnections,
    /// On `GET /2/activity/stream`: the connection is accepted, and `fault` strikes once
    /// `after_events` event lines were sent on it (0: at once). A
    /// [`StreamFault::DropMidLine`](crate::StreamFault::DropMidLine) cuts the next line.
    Stream {
        /// What happens.
        fault: crate::activity::StreamFault,
        /// How many event lines go out first.
        after_events: u32,
    },
    /// X's 429 with `x-rate-limit-remaining: 0` and a reset `reset_after` from now; the
    /// caller's window of the endpoint's group is then held until that reset, so later calls
    /// in it get 429 too.
    RateLimited {
        /// How long until the reset.
        reset_after: Duration,
    },
    /// The request is processed, and a 200 JSON body gets an `errors` array with one of X's
    /// partial errors (a `resource-not-found` for an id), as a listing with a missing item.
    PartialErrors,
}

impl FaultKind {
    /// A short name for the request log and the console (`status`, `drop`, `slow`...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::CloseBeforeResponse => "drop",
            Self::CloseAfterProcessing => "close_after_processing",
            Self::CloseAfterHeaders => "close_after_headers",
            Self::CloseMidBody => "close_mid_body",
            Self::Status(_) => "status",
            Self::DelayHeaders(_) => "slow",
            Self::DelayBody(_) => "delay_body",
            Self::TruncatedJson => "truncated_json",
            Self::InvalidJson => "invalid_json",
            Self::OversizedBody(_) => "oversized_body",
            Self::TooManyConnections => "too_many_connections",
            Self::Stream { .. } => "stream",
            Self::RateLimited { .. } => "rate_limited",
            Self::PartialErrors => "partial_errors",
        }
    }
}

/// When an armed fault fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// On the next matching request that no fault armed earlier takes, then never again.
    Once,
    /// On every n-th matching request (n, 2n, 3n...).
    EveryNth(u32),
    /// On every matching request.
    Always,
}

/// A fault bound to an endpoint, matched on method and path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// HTTP method, e.g. `POST`, or `*` for any.
    pub method: String,
    /// Path template as in the API reference, e.g.
    /// `/2/dm_conversations/with/{participant_id}/messages`, or `*` for any.
    pub path: String,
    /// What happens.
    pub kind: FaultKind,
    /// When it happens.
    pub trigger: Trigger,
}

impl Fault {
    /// A fault that fires once on `method` + `path` (a template such as `/2/dm_events/{event_id}`).
    pub fn once(method: &str, path: &str, kind: FaultKind) -> Self {
        Self {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            kind,
            trigger: Trigger::Once,
        }
    }

    /// The same fault on every `n`-th matching request.
    pub fn every(method: &str, path: &str, n: u32, kind: FaultKind) -> Self {
        Self {
            trigger: Trigger::EveryNth(n.max(1)),
            ..Self::once(method, path, kind)
        }
    }

    /// The same fault on every matching request.
    pub fn always(method: &str, path: &str, kind: FaultKind) -> Self {
        Self {
            trigger: Trigger::Always,
            ..Self::once(method, path, kind)
        }
    }

    fn matches(&self, method: &str, template: &str) -> bool {
        (self.method == "*" || self.method == method) && (self.path == "*" || self.path == template)
    }
}

/// An armed fault as [`EmulatorHandle::faults`](crate::EmulatorHandle::faults) lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmedFault {
    /// Its id, for [`EmulatorHandle::remove_fault`](crate::EmulatorHandle::remove_fault).
    pub id: u64,
    /// The fault.
    pub fault: Fault,
    /// How many more requests it fires on; `None` for a fault without an end
    /// ([`Trigger::EveryNth`], [`Trigger::Always`]).
    pub remaining: Option<u32>,
}

#[derive(Debug)]
pub(crate) struct Armed {
    id: u64,
    fault: Fault,
    seen: u32,
    /// Firings left for a [`Trigger::Once`] fault (one, or the count it was armed with).
    left: u32,
    spent: bool,
}

/// The armed faults, in the order they were added; the first that fires wins, and a
/// one-time fault beaten to a request stays armed for the next.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    armed: Vec<Armed>,
    next_id: u64,
}

impl Faults {
    /// Arms `fault`; returns its id.
    pub(crate) fn add(&mut self, fault: Fault) -> u64 {
        self.add_times(fault, 1)
    }

    /// Arms `fault`; a [`Trigger::Once`] fault fires on the next `times` matching requests
    /// (at least one). Returns its id.
    pub(crate) fn add_times(&mut self, fault: Fault, times: u32) -> u64 {
        self.next_id += 1;
        self.armed.push(Armed {
            id: self.next_id,
            fault,
            seen: 0,
            left: times.max(1),
            spent: false,
        });
        self.next_id
    }

    /// The armed faults, oldest first.
    pub(crate) fn list(&self) -> Vec<ArmedFault> {
        self.armed
            .iter()
            .map(|a| ArmedFault {
                id: a.id,
                fault: a.fault.clone(),
                remaining: (a.fault.trigger == Trigger::Once).then_some(a.left),
            })
            .collect()
    }

    /// Disarms fault `id`; `false` when no such fault is armed.
    pub(crate) fn remove(&mut self, id: u64) -> bool {
        let before = self.armed.len();
        self.armed.retain(|a| a.id != id);
        self.armed.len() != before
    }

    pub(crate) fn clear(&mut self) {
        self.armed.clear();
    }

    /// Counts this request against every matching fault and returns the one that fires.
    pub(crate) fn take(&mut self, method: &str, template: &str) -> Option<FaultKind> {
        let mut fired = None;
        for a in self
            .armed
            .iter_mut()
            .filter(|a| !a.spent && a.fault.matches(method, template))
        {
            a.seen += 1;
            let fire = match a.fault.trigger {
                // Two one-time faults on one endpoint are meant for two requests.
                Trigger::Once => fired.is_none(),
                Trigger::EveryNth(n) => a.seen % n == 0,
                Trigger::Always => true,
            };
            if fire && fired.is_none() {
                if a.fault.trigger == Trigger::Once {
                    a.left -= 1;
                    a.spent = a.left == 0;
                }
                fired = Some(a.fault.kind.clone());
            }
        }
        self.armed
            .retain(|a| !a.spent || a.fault.trigger != Trigger::Once);
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers() {
        let mut f = Faults::default();
        f.add(Fault::once("GET", "/2/dm_events", FaultKind::Status(503)));
        f.add(Fault::every("POST", "*", 2, FaultKind::Status(500)));
        assert_eq!(f.take("GET", "/2/dm_events"), Some(FaultKind::Status(503)));
        assert_eq!(f.take("GET", "/2/dm_events"), None);
        assert_eq!(f.take("POST", "/x"), None);
        assert_eq!(f.take("POST", "/y"), Some(FaultKind::Status(500)));
        f.clear();
        f.add(Fault::always("*", "*", FaultKind::InvalidJson));
        assert_eq!(f.take("DELETE", "/z"), Some(FaultKind::InvalidJson));
        assert_eq!(f.take("DELETE", "/z"), Some(FaultKind::InvalidJson));
    }

    #[test]
    fn one_time_faults_on_one_endpoint_fire_on_successive_requests() {
        let mut f = Faults::default();
        f.add(Fault::once("GET", "/2/dm_events", FaultKind::Status(503)));
        f.add(Fault::once("GET", "/2/dm_events", FaultKind::InvalidJson));
        assert_eq!(f.take("GET", "/2/dm_events"), Some(FaultKind::Status(503)));
        assert_eq!(f.take("GET", "/2/dm_events"), Some(FaultKind::InvalidJson));
        assert_eq!(f.take("GET", "/2/dm_events"), None);
    }

    #[test]
    fn counted_faults_fire_that_many_times_and_can_be_removed() {
        let mut f = Faults::default();
        let a = f.add_times(Fault::once("GET", "*", FaultKind::PartialErrors), 2);
        let b = f.add(Fault::always("POST", "*", FaultKind::Status(503)));
        assert_ne!(a, b);
        assert_eq!(f.list()[0].remaining, Some(2));
        assert_eq!(f.list()[1].remaining, None);
        assert_eq!(f.take("GET", "/x"), Some(FaultKind::PartialErrors));
        assert_eq!(f.list()[0].remaining, Some(1));
        assert_eq!(f.take("GET", "/x"), Some(FaultKind::PartialErrors));
        assert_eq!(f.take("GET", "/x"), None);
        assert_eq!(f.list().len(), 1);
        assert!(f.remove(b));
        assert!(!f.remove(b));
        assert!(f.list().is_empty());
    }
}
