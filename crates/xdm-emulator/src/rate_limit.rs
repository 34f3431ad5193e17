//! Per-user (and per-app) request budgets at X's documented defaults.

use std::collections::HashMap;
use std::time::Duration;

use crate::reply::Reply;

/// Which budget an endpoint spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndpointGroup {
    /// The four event lookups.
    Read,
    /// Sending and creating groups.
    Send,
    /// Deleting an event.
    Delete,
    /// Blocking and unblocking.
    Block,
    /// `GET /2/users/me`.
    UsersMe,
    /// `POST /2/activity/subscriptions` (a budget of its own, per app).
    SubscriptionCreate,
    /// `GET /2/activity/subscriptions`.
    SubscriptionList,
    /// `PUT /2/activity/subscriptions/{subscription_id}`.
    SubscriptionUpdate,
    /// `DELETE /2/activity/subscriptions/{subscription_id}` and `DELETE ...?ids=`.
    SubscriptionDelete,
    /// `POST /2/webhooks`.
    WebhookCreate,
    /// `GET /2/webhooks`.
    WebhookList,
    /// `PUT /2/webhooks/{webhook_id}`.
    WebhookUpdate,
    /// `DELETE /2/webhooks/{webhook_id}`.
    WebhookDelete,
    /// `POST /2/webhooks/replay`.
    WebhookReplay,
    /// Connecting to `GET /2/activity/stream`.
    StreamConnect,
}

impl EndpointGroup {
    /// The group's name in the console's limits view (`read`, `send`, `users_me`...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Send => "send",
            Self::Delete => "delete",
            Self::Block => "block",
            Self::UsersMe => "users_me",
            Self::SubscriptionCreate => "subscription_create",
            Self::SubscriptionList => "subscription_list",
            Self::SubscriptionUpdate => "subscription_update",
            Self::SubscriptionDelete => "subscription_delete",
            Self::WebhookCreate => "webhook_create",
            Self::WebhookList => "webhook_list",
            Self::WebhookUpdate => "webhook_update",
            Self::WebhookDelete => "webhook_delete",
            Self::WebhookReplay => "webhook_replay",
            Self::StreamConnect => "stream_connect",
        }
    }

    /// The groups a user spends, in the order the limits view shows them.
    pub(crate) const PER_USER: [Self; 5] = [
        Self::Read,
        Self::Send,
        Self::Delete,
        Self::Block,
        Self::UsersMe,
    ];
}

/// The budgets of one endpoint group. `None` means "no such limit".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupLimits {
    /// Requests per user per window (the `x-rate-limit-*` headers).
    pub user_per_window: u32,
    /// Requests per user per day (`x-user-limit-24hour-*`).
    pub user_per_day: Option<u32>,
    /// Requests per app per window.
    pub app_per_window: Option<u32>,
    /// Requests per app per day (`x-app-limit-24hour-*`).
    pub app_per_day: Option<u32>,
}

/// Rate-limit settings; [`RateLimits::default`] is X's documented table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// Whether limits apply at all. When off, nothing is counted or refused and the headers
    /// stay constant (see [`RateLimits::off`]).
    pub enabled: bool,
    /// The short window (15 minutes at X).
    pub window: Duration,
    /// The long window (24 hours at X).
    pub day: Duration,
    /// GET lookups.
    pub read: GroupLimits,
    /// POST sends and group creation.
    pub send: GroupLimits,
    /// DELETE of an event.
    pub delete: GroupLimits,
    /// Block and unblock.
    pub block: GroupLimits,
    /// The authenticated-user lookup, `GET /2/users/me`.
    pub users_me: GroupLimits,
    /// Each method of `/2/activity/subscriptions` (POST, GET, PUT, DELETE), counted per app
    /// and per method: X lists 500 per 15 minutes for each. Only `app_per_window` is used.
    pub subscriptions: GroupLimits,
    /// Each method of `/2/webhooks` (POST, GET, PUT, DELETE), per app and per method: 450 per
    /// 15 minutes each. Only `app_per_window` is used.
    pub webhooks: GroupLimits,
    /// `POST /2/webhooks/replay`: 100 per 15 minutes per app. Only `app_per_window` is used.
    pub webhook_replay: GroupLimits,
    /// Connections to `GET /2/activity/stream`: 450 per 15 minutes per app. Only
    /// `app_per_window` is used.
    pub stream_connect: GroupLimits,
}

/// The limits of an endpoint that X counts per app only.
const fn per_app(n: u32) -> GroupLimits {
    GroupLimits {
        user_per_window: n,
        user_per_day: None,
        app_per_window: Some(n),
        app_per_day: None,
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            enabled: true,
            window: Duration::from_secs(15 * 60),
            day: Duration::from_secs(24 * 60 * 60),
            read: GroupLimits {
                user_per_window: 15,
                user_per_day: None,
                app_per_window: None,
                app_per_day: None,
            },
            send: GroupLimits {
                user_per_window: 15,
                user_per_day: Some(1440),
                app_per_window: None,
                app_per_day: Some(1440),
            },
            delete: GroupLimits {
                user_per_window: 300,
                user_per_day: Some(1500),
                app_per_window: None,
                app_per_day: Some(4000),
            },
            block: GroupLimits {
                user_per_window: 10,
                user_per_day: Some(400),
                app_per_window: Some(25),
                app_per_day: Some(1000),
            },
            users_me: GroupLimits {
                user_per_window: 75,
                user_per_day: None,
                app_per_window: None,
                app_per_day: None,
            },
            subscriptions: per_app(500),
            webhooks: per_app(450),
            webhook_replay: per_app(100),
            stream_connect: per_app(450),
        }
    }
}

impl RateLimits {
    /// X's table, but nothing enforced and nothing counted.
    ///
    /// Responses still carry every rate-limit header of X's table, and they stay constant:
    /// `remaining` always equals `limit`, and `reset` is the end of the current window (it
    /// moves on only when a window rolls over). Sending no headers at all would be worse for a
    /// client that starts from X's documented limits and charges every header-less answer
    /// against them (as `xdm-core`'s limiter does): it would run dry after 15 reads and wait
    /// out a window that the emulator never enforces. A client that reserves one slot per
    /// request in flight still sends at most `limit` requests of a group at once; raise the
    /// group's limits for more concurrency than that.
    pub fn off() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    pub(crate) fn group(&self, g: EndpointGroup) -> GroupLimits {
        match g {
            EndpointGroup::Read => self.read,
            EndpointGroup::Send => self.send,
            EndpointGroup::Delete => self.delete,
            EndpointGroup::Block => self.block,
            EndpointGroup::UsersMe => self.users_me,
            EndpointGroup::SubscriptionCreate
            | EndpointGroup::SubscriptionList
            | EndpointGroup::SubscriptionUpdate
            | EndpointGroup::SubscriptionDelete => self.subscriptions,
            EndpointGroup::WebhookCreate
            | EndpointGroup::WebhookList
            | EndpointGroup::WebhookUpdate
            | EndpointGroup::WebhookDelete => self.webhooks,
            EndpointGroup::WebhookReplay => self.webhook_replay,
            EndpointGroup::StreamConnect => self.stream_connect,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start_ms: u64,
    used: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Who {
    User(u32),
    App,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Span {
    Short,
    Day,
}

/// Fixed windows that start with their first request.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    windows: HashMap<(Who, EndpointGroup, Span), Window>,
    /// Windows an injected 429 holds shut until this instant (ms).
    holds: HashMap<(Who, EndpointGroup), u64>,
}

/// One budget as the console's limits view shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BudgetView {
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    /// When the window resets; `None` when nothing was spent in a live window.
    pub(crate) reset_ms: Option<u64>,
}

/// One group of one caller (a user or the app) in the limits view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupView {
    pub(crate) group: EndpointGroup,
    pub(crate) window: BudgetView,
    pub(crate) day: Option<BudgetView>,
    pub(crate) held_until_ms: Option<u64>,
}

/// What a request used, to be written into the response headers.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    pub(crate) allowed: bool,
    headers: Vec<(String, String)>,
}

impl Verdict {
    pub(crate) fn apply(&self, r: &mut Reply) {
        for (k, v) in &self.headers {
            r.set_dynamic_header(k, v);
        }
    }
}

impl Limiter {
    /// Holds `who`'s window of `group` shut until `until_ms` (a user, or the app for `None`):
    /// every request of it is refused with `remaining` 0 and that reset, whether limits are
    /// enforced or not.
    pub(crate) fn hold(&mut self, user: Option<u32>, group: EndpointGroup, until_ms: u64) {
        let who = user.map_or(Who::App, Who::User);
        self.holds.insert((who, group), until_ms);
    }

    /// The hold on `who`'s `group`, if it still lasts at `now_ms`.
    fn held(&self, who: Who, group: EndpointGroup, now_ms: u64) -> Option<u64> {
        self.holds
            .get(&(who, group))
            .copied()
            .filter(|&until| now_ms < until)
    }

    /// The users who spent anything or are held, by index.
    pub(crate) fn users_seen(&self) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .windows
            .keys()
            .map(|k| k.0)
            .chain(self.holds.keys().map(|k| k.0))
            .filter_map(|w| match w {
                Who::User(u) => Some(u),
                Who::App => None,
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The app-wide groups spent or held, in a stable order.
    pub(crate) fn app_groups_seen(&self) -> Vec<EndpointGroup> {
        let mut out: Vec<EndpointGroup> = self
            .windows
            .keys()
            .filter(|k| k.0 == Who::App && k.2 == Span::Short)
            .map(|k| k.1)
            .chain(self.holds.keys().filter(|k| k.0 == Who::App).map(|k| k.1))
            .collect();
        out.sort_by_key(|g| g.name());
        out.dedup();
        out
    }

    /// A read-only view of one budget.
    fn budget(
        &self,
        key: (Who, EndpointGroup, Span),
        len_ms: u64,
        limit: u32,
        now_ms: u64,
    ) -> BudgetView {
        match self.windows.get(&key) {
            Some(w) if now_ms < w.start_ms + len_ms => BudgetView {
                limit,
                remaining: limit.saturating_sub(w.used),
                reset_ms: Some(w.start_ms + len_ms),
            },
            _ => BudgetView {
                limit,
                remaining: limit,
                reset_ms: None,
            },
        }
    }

    /// How `user`'s (or, for `None`, the app's) budgets of `group` stand at `now_ms`,
    /// without spending anything.
    pub(crate) fn view(
        &self,
        cfg: &RateLimits,
        user: Option<u32>,
        group: EndpointGroup,
        now_ms: u64,
    ) -> GroupView {
        let l = cfg.group(group);
        let win = cfg.window.as_millis() as u64;
        let day = cfg.day.as_millis() as u64;
        let who = user.map_or(Who::App, Who::User);
        let (short_limit, day_limit) = match who {
            Who::User(_) => (l.user_per_window, l.user_per_day),
            Who::App => (l.app_per_window.unwrap_or(l.user_per_window), l.app_per_day),
        };
        let mut window = self.budget((who, group, Span::Short), win, short_limit, now_ms);
        let held_until_ms = self.held(who, group, now_ms);
        if let Some(until) = held_until_ms {
            window.remaining = 0;
            window.reset_ms = Some(until);
        }
        GroupView {
            group,
            window,
            day: day_limit.map(|n| self.budget((who, group, Span::Day), day, n, now_ms)),
            held_until_ms,
        }
    }

    /// The window for `key`, restarted when its time is up.
    fn window(&mut self, key: (Who, EndpointGroup, Span), len_ms: u64, now_ms: u64) -> &mut Window {
        let w = self.windows.entry(key).or_insert(Window {
            start_ms: now_ms,
            used: 0,
        });
        if now_ms >= w.start_ms + len_ms {
            *w = Window {
                start_ms: now_ms,
                used: 0,
            };
        }
        w
    }

    /// Spends one request of an app-only `group` (the activity and webhook endpoints, which
    /// X counts per app whoever calls) and reports the `x-rate-limit-*` headers.
    pub(crate) fn check_app(
        &mut self,
        cfg: &RateLimits,
        group: EndpointGroup,
        now_ms: u64,
    ) -> Verdict {
        let limit = cfg.group(group).app_per_window.unwrap_or(u32::MAX);
        let key = (Who::App, group, Span::Short);
        let len = cfg.window.as_millis() as u64;
        let held = self.held(Who::App, group, now_ms);
        let allowed =
            held.is_none() && (!cfg.enabled || self.window(key, len, now_ms).used < limit);
        let w = self.window(key, len, now_ms);
        if allowed && cfg.enabled {
            w.used = w.used.saturating_add(1);
        }
        let mut reset = (w.start_ms + len).div_ceil(1000);
        let mut remaining = limit.saturating_sub(w.used);
        if let Some(until) = held {
            (reset, remaining) = (until.div_ceil(1000), 0);
        }
        Verdict {
            allowed,
            headers: vec![
                ("x-rate-limit-limit".into(), limit.to_string()),
                ("x-rate-limit-remaining".into(), remaining.to_string()),
                ("x-rate-limit-reset".into(), reset.to_string()),
            ],
        }
    }

    /// Spends one request of `group` for `user` if every budget it touches has room (a
    /// refused request spends nothing), and reports the headers to send.
    pub(crate) fn check(
        &mut self,
        cfg: &RateLimits,
        group: EndpointGroup,
        user: u32,
        now_ms: u64,
    ) -> Verdict {
        let l = cfg.group(group);
        let win = cfg.window.as_millis() as u64;
        let day = cfg.day.as_millis() as u64;
        // (budget, its length, its limit, header prefix)
        let mut budgets = vec![(
            (Who::User(user), group, Span::Short),
            win,
            l.user_per_window,
            Some("x-rate-limit"),
        )];
        if let Some(n) = l.user_per_day {
            budgets.push((
                (Who::User(user), group, Span::Day),
                day,
                n,
                Some("x-user-limit-24hour"),
            ));
        }
        if let Some(n) = l.app_per_window {
            budgets.push(((Who::App, group, Span::Short), win, n, None));
        }
        if let Some(n) = l.app_per_day {
            budgets.push((
                (Who::App, group, Span::Day),
                day,
                n,
                Some("x-app-limit-24hour"),
            ));
        }
        let held = self.held(Who::User(user), group, now_ms);
        let allowed = held.is_none()
            && (!cfg.enabled
                || budgets
                    .iter()
                    .all(|&(key, len, limit, _)| self.window(key, len, now_ms).used < limit));
        let mut headers = Vec::new();
        for (key, len, limit, prefix) in budgets {
            let w = self.window(key, len, now_ms);
            // With limits off nothing is spent, so `remaining` never drifts from `limit`.
            if allowed && cfg.enabled {
                w.used = w.used.saturating_add(1);
            }
            let mut reset = (w.start_ms + len).div_ceil(1000);
            let mut remaining = limit.saturating_sub(w.used);
            if let (Some(until), Span::Short) = (held, key.2) {
                (reset, remaining) = (until.div_ceil(1000), 0);
            }
            if let Some(p) = prefix {
                headers.push((p, limit, remaining, reset));
            }
        }
        let headers = headers
            .into_iter()
            .flat_map(|(p, limit, remaining, reset)| {
                [
                    (format!("{p}-limit"), limit.to_string()),
                    (format!("{p}-remaining"), remaining.to_string()),
                    (format!("{p}-reset"), reset.to_string()),
                ]
            })
            .collect();
        Verdict { allowed, headers }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_reset_and_count() {
        let cfg = RateLimits {
            window: Duration::from_secs(10),
            ..RateLimits::default()
        };
        let mut l = Limiter::default();
        for _ in 0..15 {
            assert!(l.check(&cfg, EndpointGroup::Read, 0, 1000).allowed);
        }
        assert!(!l.check(&cfg, EndpointGroup::Read, 0, 2000).allowed);
        assert!(
            l.check(&cfg, EndpointGroup::Read, 1, 2000).allowed,
            "other users have their own budget"
        );
        assert!(
            l.check(&cfg, EndpointGroup::Read, 0, 11_000).allowed,
            "a new window"
        );
        assert!(
            l.check(&RateLimits::off(), EndpointGroup::Read, 0, 11_000)
                .allowed
        );
    }

    fn header<'a>(v: &'a Verdict, name: &str) -> &'a str {
        v.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name}"))
    }

    #[test]
    fn off_spends_nothing_and_reports_a_full_budget() {
        let cfg = RateLimits {
            window: Duration::from_secs(10),
            ..RateLimits::off()
        };
        let mut l = Limiter::default();
        let first = l.check(&cfg, EndpointGroup::Send, 0, 1000);
        for _ in 0..100 {
            let v = l.check(&cfg, EndpointGroup::Send, 0, 2000);
            assert!(v.allowed);
            assert_eq!(v.headers, first.headers, "constant within a window");
        }
        assert_eq!(header(&first, "x-rate-limit-remaining"), "15");
        assert_eq!(header(&first, "x-rate-limit-limit"), "15");
        assert_eq!(header(&first, "x-user-limit-24hour-remaining"), "1440");
        assert_eq!(header(&first, "x-app-limit-24hour-remaining"), "1440");
        assert_eq!(header(&first, "x-rate-limit-reset"), "11");
        let later = l.check(&cfg, EndpointGroup::Send, 0, 11_000);
        assert_eq!(header(&later, "x-rate-limit-remaining"), "15");
        assert_eq!(
            header(&later, "x-rate-limit-reset"),
            "21",
            "the reset moves on with the window"
        );
        let me = l.check(&RateLimits::default(), EndpointGroup::UsersMe, 0, 0);
        assert_eq!(header(&me, "x-rate-limit-limit"), "75");
        assert_eq!(header(&me, "x-rate-limit-remaining"), "74");
    }

    #[test]
    fn a_hold_refuses_until_its_end_even_with_limits_off() {
        let cfg = RateLimits::off();
        let mut l = Limiter::default();
        l.hold(Some(3), EndpointGroup::Read, 60_000);
        let v = l.check(&cfg, EndpointGroup::Read, 3, 1000);
        assert!(!v.allowed);
        assert_eq!(header(&v, "x-rate-limit-remaining"), "0");
        assert_eq!(header(&v, "x-rate-limit-reset"), "60");
        assert!(
            l.check(&cfg, EndpointGroup::Read, 4, 1000).allowed,
            "other users are free"
        );
        assert!(
            l.check(&cfg, EndpointGroup::Send, 3, 1000).allowed,
            "other groups are free"
        );
        let view = l.view(&cfg, Some(3), EndpointGroup::Read, 1000);
        assert_eq!(view.held_until_ms, Some(60_000));
        assert_eq!(view.window.remaining, 0);
        assert_eq!(l.users_seen(), vec![3, 4]);
        assert!(
            l.check(&cfg, EndpointGroup::Read, 3, 60_000).allowed,
            "the hold ends"
        );
        assert_eq!(
            l.view(&cfg, Some(3), EndpointGroup::Read, 60_000)
                .held_until_ms,
            None
        );
        l.hold(None, EndpointGroup::StreamConnect, 5000);
        assert!(!l.check_app(&cfg, EndpointGroup::StreamConnect, 10).allowed);
        assert_eq!(l.app_groups_seen(), vec![EndpointGroup::StreamConnect]);
    }

    #[test]
    fn the_view_spends_nothing() {
        let cfg = RateLimits::default();
        let mut l = Limiter::default();
        l.check(&cfg, EndpointGroup::Send, 0, 1000);
        let v = l.view(&cfg, Some(0), EndpointGroup::Send, 2000);
        assert_eq!(
            v.window,
            BudgetView {
                limit: 15,
                remaining: 14,
                reset_ms: Some(901_000)
            }
        );
        assert_eq!(v.day.map(|d| d.remaining), Some(1439));
        assert_eq!(l.view(&cfg, Some(0), EndpointGroup::Send, 2000), v);
        let fresh = l.view(&cfg, Some(1), EndpointGroup::Read, 2000);
        assert_eq!(fresh.window.reset_ms, None);
        assert_eq!(fresh.window.remaining, 15);
    }
}
