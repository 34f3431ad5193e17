//! `xdm watch`: new events as they arrive, until interrupted.
//!
//! It polls the newest page of the listing. The pause between polls is at least
//! `--interval`, and longer when the rate limit asks for it: the requests left in the window
//! are spread over the time until it resets, so a watch never runs into a 429 it could have
//! seen coming. Events already shown are remembered by id (the most recent
//! [`SEEN_CAPACITY`]), so none is printed twice. Network failures and X's own failures are
//! waited out with a growing pause; only refusals that waiting cannot fix end the watch. A
//! watch refused as rate limited again and again keeps trying, and says so on standard error
//! at every [`MAX_LIMITED_IN_A_ROW`]th refusal in a row.
//!
//! With `--checkpoint-redis`, the ids already shown (the newest [`SAVED_IDS`]) are a job's
//! checkpoint in Redis ([`crate::job`]): a watcher claims the job's lease (waiting while
//! another holds it), starts from the checkpoint instead of a first poll that shows nothing,
//! checks that the lease is still its own before it prints, and saves the checkpoint after.
//! A successor therefore prints what arrived since its predecessor's last checkpoint, each
//! event once, except one printed in the instant between its line and that checkpoint
//! (standard output cannot be taken back, as an export's file is cut back).

use std::time::{Duration, SystemTime};

use serde_json::Value;
use xdm_core::dedup::RecentIds;
use xdm_core::endpoints::ListParams;
use xdm_core::error::ApiErrorKind;
use xdm_core::models::DmEvent;
use xdm_core::pagination::PagedEndpoint;
use xdm_core::rate_limit::RateLimitSnapshot;
use xdm_core::response::EventPage;
use xdm_core::retry::MAX_SERVER_WAIT;

use crate::cli::WatchArgs;
use crate::commands::events::fields;
use crate::commands::export::{LimitStreak, MAX_LIMITED_IN_A_ROW, rate_limit_wait};
use crate::connect::Session;
use crate::exit::{Failure, Kind, bounded_wait, pause_until};
use crate::job::{self, Connected, Job, Spec};
use crate::listing::Listing;
use crate::output::{event_line, json_line, raw_data};

/// How many event ids are remembered.
pub const SEEN_CAPACITY: usize = 10_000;

/// How many of the newest ids a checkpoint in Redis keeps: more than a poll reads
/// ([`MAX_PAGES_PER_POLL`] pages of 100), so that a successor recognises every event its
/// predecessor's last poll saw.
pub const SAVED_IDS: usize = 1_000;

/// A watch's checkpoint in Redis.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct WatchCheckpoint {
    /// The format's version.
    version: u32,
    /// Which listing is watched; another one's ids mean nothing here.
    scope: String,
    /// The ids already shown (or passed over as earlier), oldest first.
    seen: Vec<String>,
}

/// Pages read in one poll when every event on them is new (a burst since the last poll).
const MAX_PAGES_PER_POLL: usize = 5;

/// The longest pause after repeated network failures.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The pause before the next poll: at least `floor`, and the window's remaining requests
/// spread over the time until it resets. A reset more than a day ahead
/// ([`MAX_SERVER_WAIT`]) cannot be a real window and is not paced by; should the limit be
/// spent, the refusal that follows says so.
pub fn pace(snapshot: &RateLimitSnapshot, floor: Duration, now: SystemTime) -> Duration {
    let Some(w) = snapshot.window else {
        return floor;
    };
    let left = w.reset.duration_since(now).unwrap_or_default();
    if left > MAX_SERVER_WAIT {
        return floor;
    }
    let spread = if w.remaining == 0 {
        left + Duration::from_secs(1)
    } else {
        left / w.remaining
    };
    spread.max(floor)
}

/// A validated watch.
#[derive(Debug)]
pub struct Plan {
    listing: Listing,
    interval: Duration,
    /// The job in Redis that holds the checkpoint, when one is named.
    pub shared: Option<Spec>,
}

impl Plan {
    /// Validates the arguments.
    pub fn from_args(args: &WatchArgs) -> Result<Plan, Failure> {
        if !(args.interval.is_finite() && args.interval > 0.0 && args.interval <= 86_400.0) {
            return Err(xdm_core::InvalidInput::new(
                "interval",
                format!("{} is out of range", args.interval),
                "more than 0 and at most 86400 seconds",
            )
            .into());
        }
        let params = ListParams::new()
            .with_max_results(u32::from(ListParams::MAX_RESULTS))?
            .with_fields(fields(&[], &[])?);
        Ok(Plan {
            listing: Listing::new(&args.scope, params)?,
            interval: Duration::from_secs_f64(args.interval),
            shared: Spec::from_args(&args.shared)?,
        })
    }

    /// Polls until interrupted (Ctrl-C ends it with success); with a job in Redis
    /// (`shared`), claims it first (Ctrl-C ends the wait too) and lets it go at the end.
    pub async fn run(
        self,
        session: &Session,
        shared: Option<Connected>,
        json: bool,
    ) -> Result<(), Failure> {
        let claimed = job::claim_shared(shared, session, "watch", &self.listing, "a watch");
        let job = tokio::select! {
            job = claimed => job?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let result = tokio::select! {
            r = self.poll_forever(session, job.as_ref(), json) => r,
            _ = tokio::signal::ctrl_c() => Ok(()),
            lost = async {
                match &job {
                    Some(job) => job.lost().await,
                    None => std::future::pending().await,
                }
            } => Err(lost),
        };
        if let Some(job) = job {
            job.release().await;
        }
        result
    }

    /// The ids a job's checkpoint remembers; `None` when it has none yet.
    async fn restore(&self, job: &Job) -> Result<Option<RecentIds>, Failure> {
        let Some(bytes) = job.load().await? else {
            return Ok(None);
        };
        let cp: WatchCheckpoint = serde_json::from_slice(&bytes).map_err(|e| {
            Failure::new(
                Kind::Local,
                format!("{}: not a watch's checkpoint: {e}", job.describe()),
            )
        })?;
        let key = self.listing.key();
        if cp.version != 1 || cp.scope != key {
            return Err(Failure::new(
                Kind::Input,
                format!(
                    "{} belongs to a watch of `{}` (version {}), not `{key}`; choose another \
                     --job",
                    job.describe(),
                    cp.scope,
                    cp.version
                ),
            ));
        }
        Ok(Some(RecentIds::restore(SEEN_CAPACITY, cp.seen)))
    }

    async fn save(&self, job: &Job, seen: &RecentIds) -> Result<(), Failure> {
        let mut ids = seen.snapshot();
        let ids = ids.split_off(ids.len().saturating_sub(SAVED_IDS));
        let cp = WatchCheckpoint {
            version: 1,
            scope: self.listing.key(),
            seen: ids,
        };
        let bytes =
            serde_json::to_vec(&cp).map_err(|e| Failure::new(Kind::Local, e.to_string()))?;
        job.save(&bytes).await
    }

    async fn poll_forever(
        &self,
        session: &Session,
        job: Option<&Job>,
        json: bool,
    ) -> Result<(), Failure> {
        let restored = match job {
            Some(job) => self.restore(job).await?,
            None => None,
        };
        // A watch that takes over has no first poll to pass over: what arrived since its
        // predecessor's checkpoint is new.
        let mut first = restored.is_none();
        if let (Some(seen), Some(job)) = (&restored, job) {
            eprintln!(
                "watching {} from the checkpoint of the {} ({} ids remembered); Ctrl-C to stop",
                self.listing.key(),
                job.describe(),
                seen.len()
            );
        }
        let mut seen = restored.unwrap_or_else(|| RecentIds::with_capacity(SEEN_CAPACITY));
        let mut failures = 0u32;
        let mut limited = LimitStreak::default();
        loop {
            let pause = match self.fetch(session, &seen, first).await {
                Ok((fresh, snapshot)) => {
                    let any_new = fresh.iter().any(|(_, new)| !new.is_empty());
                    if let Some(job) = job.filter(|_| any_new && !first) {
                        // Nothing is printed by a worker whose job was taken over.
                        job.check().await?;
                    }
                    let shown = show(&fresh, &mut seen, first, json);
                    if let Some(job) = job.filter(|_| shown > 0 || first) {
                        self.save(job, &seen).await?;
                    }
                    if first {
                        eprintln!(
                            "watching {} ({shown} earlier events not shown); Ctrl-C to stop",
                            self.listing.key()
                        );
                        first = false;
                    }
                    failures = 0;
                    limited.progressed();
                    pace(&snapshot, self.interval, SystemTime::now())
                }
                Err(e) => {
                    if let Some(until) = rate_limit_wait(&e) {
                        let now = SystemTime::now();
                        let until = bounded_wait(until, now)?;
                        eprintln!(
                            "rate limited; polling again at {}",
                            crate::output::moment_utc(until, now)
                        );
                        if let Some(notice) = still_limited(limited.refused()) {
                            eprintln!("{notice}");
                        }
                        pause_until(until, now)
                    } else if transient(&e) {
                        failures += 1;
                        let pause = backoff(failures, self.interval);
                        eprintln!(
                            "{}; trying again in {}",
                            Failure::from(e).message,
                            crate::output::duration_words(pause.as_secs().max(1))
                        );
                        pause
                    } else {
                        return Err(e.into());
                    }
                }
            };
            tokio::time::sleep(pause).await;
        }
    }

    /// One poll's pages, each with the indexes of the events not seen before, and the
    /// rate-limit headers of the last page.
    async fn fetch(
        &self,
        session: &Session,
        seen: &RecentIds,
        first: bool,
    ) -> Result<(Vec<(EventPage, Vec<usize>)>, RateLimitSnapshot), xdm_client::Error> {
        let mut request = self.listing.clone();
        let mut fresh: Vec<(EventPage, Vec<usize>)> = Vec::new();
        let mut snapshot = RateLimitSnapshot::default();
        for _ in 0..MAX_PAGES_PER_POLL {
            let page = session.api.list_page(&request).await?;
            snapshot = page.rate_limit.clone();
            let new: Vec<usize> = page
                .items()
                .iter()
                .enumerate()
                .filter(|(_, e)| e.id.as_deref().is_some_and(|id| !seen.contains(id)))
                .map(|(i, _)| i)
                .collect();
            let all_new = new.len() == page.items().len() && !new.is_empty();
            let next = page.next_token().map(str::to_owned);
            fresh.push((page, new));
            // On the first poll one page is the baseline; later, a page of nothing but new
            // events means a burst that may go on past it.
            let Some(next) = next.filter(|_| all_new && !first) else {
                break;
            };
            match xdm_core::ids::PaginationToken::parse(&next) {
                Ok(token) => request.set_pagination_token(Some(token)),
                Err(_) => break,
            }
        }
        Ok((fresh, snapshot))
    }
}

/// Prints a poll's new events oldest first (or, on the first poll, remembers them only);
/// how many were new.
fn show(fresh: &[(EventPage, Vec<usize>)], seen: &mut RecentIds, first: bool, json: bool) -> usize {
    let mut count = 0;
    for (page, new) in fresh.iter().rev() {
        let raw = if json && !first {
            raw_data(&page.body).unwrap_or_default()
        } else {
            Vec::new()
        };
        let index = page.includes.index();
        for &i in new.iter().rev() {
            let event: &DmEvent = &page.items()[i];
            let Some(id) = event.id.as_deref() else {
                continue;
            };
            if !seen.first_time(id) {
                continue;
            }
            count += 1;
            if first {
                continue;
            }
            if json {
                if let Some(v) = raw.get(i) {
                    json_line(v);
                } else {
                    json_line(&Value::String(id.to_owned()));
                }
            } else {
                println!("{}", event_line(event, &index));
            }
        }
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    count
}

/// What a watch says when X has refused `in_a_row` polls in a row as rate limited: a line
/// at every [`MAX_LIMITED_IN_A_ROW`]th, since a watch keeps trying (unlike an export) but
/// must not look as if it were receiving events.
fn still_limited(in_a_row: u32) -> Option<String> {
    in_a_row.is_multiple_of(MAX_LIMITED_IN_A_ROW).then(|| {
        format!(
            "X has refused the last {in_a_row} polls as rate limited, with none getting \
             through; still trying (Ctrl-C to stop)"
        )
    })
}

/// Failures that waiting may cure: no answer, or X failing.
fn transient(e: &xdm_client::Error) -> bool {
    match e {
        xdm_client::Error::Transport(_) => true,
        xdm_client::Error::Api(api) => matches!(
            api.kind(),
            ApiErrorKind::Server | ApiErrorKind::Undecodable { .. }
        ),
        _ => false,
    }
}

/// The pause after `failures` failures in a row: doubling from the interval, at most a
/// minute.
fn backoff(failures: u32, interval: Duration) -> Duration {
    let base = interval.max(Duration::from_millis(500));
    base.saturating_mul(1 << failures.min(8).saturating_sub(1))
        .min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use xdm_core::rate_limit::RateLimitWindow;

    use super::*;
    use crate::exit::Kind;

    #[test]
    fn seen_ids_are_bounded_and_forget_the_oldest() {
        let mut seen = RecentIds::with_capacity(2);
        assert!(seen.first_time("1"));
        assert!(!seen.first_time("1"));
        assert!(seen.first_time("2"));
        assert!(seen.first_time("3"));
        assert!(!seen.contains("1"));
        assert!(seen.contains("2") && seen.contains("3"));
    }

    #[test]
    fn polls_are_spread_over_the_window() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let floor = Duration::from_secs(5);
        let snapshot = |remaining, reset_in| RateLimitSnapshot {
            window: Some(RateLimitWindow {
                limit: 15,
                remaining,
                reset: now + Duration::from_secs(reset_in),
            }),
            ..RateLimitSnapshot::default()
        };
        assert_eq!(
            pace(&snapshot(10, 600), floor, now),
            Duration::from_secs(60)
        );
        assert_eq!(pace(&snapshot(10, 20), floor, now), floor);
        assert_eq!(pace(&snapshot(0, 30), floor, now), Duration::from_secs(31));
        // A window said to reset centuries ahead is not waited for.
        assert_eq!(pace(&snapshot(0, 9_000_000_000), floor, now), floor);
        assert_eq!(pace(&snapshot(3, 9_000_000_000), floor, now), floor);
        assert_eq!(pace(&RateLimitSnapshot::default(), floor, now), floor);
    }

    #[test]
    fn backoff_grows_to_a_minute() {
        let i = Duration::from_secs(1);
        assert_eq!(backoff(1, i), Duration::from_secs(1));
        assert_eq!(backoff(3, i), Duration::from_secs(4));
        assert_eq!(backoff(30, i), MAX_BACKOFF);
    }

    #[test]
    fn a_watch_refused_again_and_again_says_so_and_goes_on() {
        let mut streak = LimitStreak::default();
        let notices: Vec<u32> = (0..25)
            .map(|_| streak.refused())
            .filter(|&n| still_limited(n).is_some())
            .collect();
        assert_eq!(notices, [10, 20]);
        let said = still_limited(10).unwrap();
        assert!(said.contains("last 10 polls"), "{said}");
        assert!(said.contains("still trying"), "{said}");
        streak.progressed();
        assert_eq!(streak.refused(), 1);
    }

    #[test]
    fn a_bad_interval_is_refused() {
        let args = WatchArgs {
            scope: Default::default(),
            interval: 0.0,
            shared: crate::cli::SharedJob {
                checkpoint_redis: None,
                job: None,
                lease: 30.0,
            },
        };
        assert_eq!(Plan::from_args(&args).unwrap_err().kind, Kind::Input);
    }
}
