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

#[derive(Debug)]
pub(crate) struct Armed {
    fault: Fault,
    seen: u32,
    spent: bool,
}

/// The armed faults, in the order they were added; the first that fires wins, and a
/// one-time fault beaten to a request stays armed for the next.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    armed: Vec<Armed>,
}

impl Faults {
    pub(crate) fn add(&mut self, fault: Fault) {
        self.armed.push(Armed {
            fault,
            seen: 0,
            spent: false,
        });
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
                a.spent = a.fault.trigger == Trigger::Once;
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
}
