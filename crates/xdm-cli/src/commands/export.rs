//! `xdm export`: every event to a JSON Lines file, resumable after a crash at any point.
//!
//! Each line is one event object from X's page body, re-encoded compactly with its keys in
//! the order they arrived: nothing is dropped, renamed or added. How the output and its
//! checkpoint are written so that `--resume` ends with every event exactly once is explained
//! in [`crate::checkpoint`].
//!
//! An event X serves again (a page repeated under its own token or a fresh one) is written
//! once: ids already written are remembered, across a resume too ([`crate::checkpoint`]).
//! A pagination token handed out a second time stops the export with an error instead of a
//! loop, and the export is not marked complete.
//!
//! Rate limits are waited out here rather than in the client, so that the wait and its
//! countdown show in the progress line; after [`MAX_LIMITED_IN_A_ROW`] refusals in a row
//! with no page between them the export stops with exit 5. Any other failure stops the export with its exit
//! code; the checkpoint stays, and `--resume` continues from the last page written.
//!
//! With `--checkpoint-redis` the checkpoint is a job's in Redis ([`crate::job`]) rather than
//! a file beside the output, and the output is meant to be on storage every worker reaches.
//! The order of writes is the same (output, then checkpoint), and so is the resume: the
//! output cut back to the checkpoint's length. What changes: a worker claims the job's lease
//! first (waiting while another holds it); an unfinished job is always resumed, since a worker
//! that takes over cannot know whether it is the first; a finished one is not started again
//! without `--force`; and the lease is checked just before each page is appended, so that a
//! worker whose job was taken over stops instead of writing.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use xdm_core::endpoints::ListParams;
use xdm_core::fields::{DmEventField, FieldSet};
use xdm_core::ids::PaginationToken;
use xdm_core::pagination::{PagedEndpoint, Paginator, StopReason};
use xdm_core::retry::MAX_SERVER_WAIT;

use crate::checkpoint::{self, Checkpoint, Output};
use crate::cli::ExportArgs;
use crate::connect::Session;
use crate::exit::{Failure, Kind, bounded_wait, pause_until};
use crate::job::{self, Connected, Job, Spec};
use crate::listing::Listing;
use crate::output::{json_line, raw_data};
use crate::progress::Progress;

/// A validated export.
#[derive(Debug)]
pub struct Plan {
    listing: Listing,
    out: PathBuf,
    resume: bool,
    force: bool,
    /// The job in Redis that holds the checkpoint, when one is named.
    pub shared: Option<Spec>,
}

/// Where the checkpoint lives: a file beside the output, or a job in Redis (boxed: a job is
/// much larger than a path).
enum Checkpoints {
    File(PathBuf),
    Shared(Box<Job>),
}

impl Checkpoints {
    /// Where, for messages.
    fn describe(&self) -> String {
        match self {
            Checkpoints::File(path) => path.display().to_string(),
            Checkpoints::Shared(job) => job.describe(),
        }
    }

    async fn load(&self) -> Result<Option<Checkpoint>, Failure> {
        match self {
            Checkpoints::File(path) => {
                checkpoint::load(path).map_err(|e| Failure::io(path.display(), &e))
            }
            Checkpoints::Shared(job) => match job.load().await? {
                None => Ok(None),
                Some(bytes) => checkpoint::parse(&bytes)
                    .map(Some)
                    .map_err(|e| Failure::io(job.describe(), &e)),
            },
        }
    }

    async fn store(&self, cp: &Checkpoint) -> Result<(), Failure> {
        match self {
            Checkpoints::File(path) => {
                checkpoint::store(path, cp).map_err(|e| Failure::io(path.display(), &e))
            }
            Checkpoints::Shared(job) => {
                let bytes =
                    serde_json::to_vec(cp).map_err(|e| Failure::new(Kind::Local, e.to_string()))?;
                job.save(&bytes).await
            }
        }
    }

    /// Before the output is written: the job must still be this worker's.
    async fn check(&self) -> Result<(), Failure> {
        match self {
            Checkpoints::File(_) => Ok(()),
            Checkpoints::Shared(job) => job.check().await,
        }
    }

    /// Resolves when another worker took the job over; never for a file.
    async fn lost(&self) -> Failure {
        match self {
            Checkpoints::File(_) => std::future::pending().await,
            Checkpoints::Shared(job) => job.lost().await,
        }
    }
}

/// Where an export starts: its checkpoint, and the output opened to match it.
struct Start {
    cp: Checkpoint,
    output: Option<Output>,
}

impl Plan {
    /// Validates the arguments: every event field, the largest pages.
    pub fn from_args(args: ExportArgs) -> Result<Plan, Failure> {
        let params = ListParams::new()
            .with_max_results(u32::from(ListParams::MAX_RESULTS))?
            .with_fields(FieldSet::new().with_dm_event_fields(DmEventField::ALL.iter().cloned()));
        Ok(Plan {
            listing: Listing::new(&args.scope, params)?,
            out: args.out,
            resume: args.resume,
            force: args.force,
            shared: Spec::from_args(&args.shared)?,
        })
    }

    /// Where to start: the checkpoint when resuming, else the beginning. Nothing the export
    /// did not write is replaced without `--force`: an existing output must agree with its
    /// checkpoint (and an unfinished one needs `--resume`).
    ///
    /// A job in Redis (`shared`) resumes an unfinished checkpoint and keeps a finished one
    /// without being told, as every worker of a fleet runs the same command.
    fn starting_point(
        &self,
        found: Option<Checkpoint>,
        place: &str,
        shared: bool,
    ) -> Result<Start, Failure> {
        let out = &self.out;
        // Checked before anything is created, so that `--out /dev/null` leaves no checkpoint
        // in /dev.
        match std::fs::metadata(out) {
            Ok(m) if !m.is_file() => {
                return Err(Failure::new(
                    Kind::Input,
                    checkpoint::not_a_regular_file(out).to_string(),
                ));
            }
            _ => {}
        }
        let exists = out.exists();
        let key = self.listing.key();
        let open_io = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::InvalidInput => Failure::new(Kind::Input, e.to_string()),
            _ => Failure::io(out.display(), &e),
        };
        let fresh = |key: String| -> Result<Start, Failure> {
            Ok(Start {
                cp: Checkpoint::start(key),
                output: Some(Output::replace(out).map_err(open_io)?),
            })
        };
        if self.force {
            return fresh(key);
        }
        match found {
            None if self.resume => Err(Failure::new(
                Kind::Input,
                format!(
                    "there is nothing to resume: {} has no checkpoint ({place}); run without \
                     --resume to start an export",
                    out.display(),
                ),
            )),
            None if exists => Err(Failure::new(
                Kind::Input,
                format!(
                    "{} exists and is not an export this command can continue (it has no \
                     checkpoint); choose another --out, or add --force to replace it",
                    out.display()
                ),
            )),
            None => fresh(key),
            Some(cp) if self.resume || shared => {
                if cp.scope != key {
                    let other = if shared { "--job" } else { "--out" };
                    return Err(Failure::new(
                        Kind::Input,
                        format!(
                            "{place} belongs to an export of `{}`, not `{key}`; resume it with \
                             the same options, or choose another {other}",
                            cp.scope
                        ),
                    ));
                }
                if cp.done {
                    return Ok(Start { cp, output: None });
                }
                let output = Output::open_at(out, &cp).map_err(open_io)?;
                Ok(Start {
                    cp,
                    output: Some(output),
                })
            }
            Some(cp) if !cp.done => Err(Failure::new(
                Kind::Input,
                format!(
                    "{place} holds an unfinished export ({} events so far): add --resume to \
                     continue it, or delete it and {} to start over",
                    cp.events,
                    out.display()
                ),
            )),
            Some(cp) => {
                // A finished export may be started over, if the file is still the one it
                // wrote.
                if exists {
                    let mut file = checkpoint::open_output(out).map_err(open_io)?;
                    checkpoint::check_agreement(&mut file, &cp).map_err(open_io)?;
                }
                fresh(key)
            }
        }
    }

    /// Runs the export to its end; with a job in Redis (`shared`, connected before anything
    /// was asked of X), claims it first and lets it go at the end.
    pub async fn run(
        self,
        session: &Session,
        shared: Option<Connected>,
        json: bool,
    ) -> Result<(), Failure> {
        let claimed = job::claim_shared(shared, session, "export", &self.listing, "an export");
        let store = match claimed.await? {
            Some(job) => Checkpoints::Shared(Box::new(job)),
            None => Checkpoints::File(checkpoint::path_for(&self.out)),
        };
        let result = tokio::select! {
            r = self.export(session, &store, json) => r,
            lost = store.lost() => Err(lost),
        };
        if let Checkpoints::Shared(job) = store {
            job.release().await;
        }
        result
    }

    async fn export(
        mut self,
        session: &Session,
        store: &Checkpoints,
        json: bool,
    ) -> Result<(), Failure> {
        let place = store.describe();
        let found = store.load().await?;
        let shared = matches!(store, Checkpoints::Shared(_));
        let Start { mut cp, output } = self.starting_point(found, &place, shared)?;
        let Some(mut output) = output.filter(|_| !cp.done) else {
            eprintln!(
                "{} is complete already: {} events",
                self.out.display(),
                cp.events
            );
            if json {
                json_line(&serde_json::json!({
                    "path": self.out.display().to_string(),
                    "events": cp.events,
                    "pages": cp.pages,
                }));
            }
            return Ok(());
        };
        let io = |e: std::io::Error| Failure::io(self.out.display(), &e);
        store.store(&cp).await?;
        let token = cp
            .next_token
            .as_deref()
            .map(PaginationToken::parse)
            .transpose()
            .map_err(|e| Failure::new(Kind::Local, format!("{place}: {e}")))?;
        let resumed_from_token = token.is_some();
        self.listing.set_pagination_token(token);
        let mut pages = Paginator::new(self.listing.clone());
        // Events already written are dropped when X serves them again (see `checkpoint`).
        let mut seen = output.recent_ids();
        let progress = Progress::new(cp.events, cp.pages);
        let ticker = progress.spawn_ticker();
        let mut pages_this_run = 0u64;
        let mut limited = LimitStreak::default();
        let result: Result<(), Failure> = async {
            while let Some(request) = pages.poll_request() {
                let page = match session.api.list_page(&request).await {
                    Ok(page) => {
                        limited.progressed();
                        page
                    }
                    Err(e) => {
                        pages.handle_failure();
                        match rate_limit_wait(&e) {
                            Some(until) => {
                                limited.refused_export()?;
                                let until = bounded_wait(until, SystemTime::now())?;
                                progress.waiting(Some(until));
                                sleep_until(until).await;
                                progress.waiting(None);
                                continue;
                            }
                            None if resumed_from_token
                                && pages_this_run == 0
                                && token_refused(&e) =>
                            {
                                return Err(Failure::new(
                                    Kind::Refused,
                                    format!(
                                        "X refused to continue from the checkpoint (its \
                                         pagination token may have expired): this export \
                                         cannot be resumed; delete {} and its checkpoint \
                                         ({place}) to start over",
                                        self.out.display(),
                                    ),
                                )
                                .with_detail(e.to_string()));
                            }
                            None => return Err(resumable(e.into())),
                        }
                    }
                };
                let keep = pages.handle_page(&page);
                if pages.stop_reason() == Some(&StopReason::MalformedToken) {
                    // The page is not written: its checkpoint could name no next page, and a
                    // resume reads it again.
                    return Err(resumable(Failure::new(
                        Kind::Local,
                        "X's answer could not be read: its next_token is not a pagination \
                         token, so the export cannot tell whether more events follow",
                    )));
                }
                let lines: Vec<String> = raw_data(&page.body)
                    .map_err(resumable)?
                    .iter()
                    .take(keep)
                    .filter(|v| {
                        v.get("id")
                            .and_then(serde_json::Value::as_str)
                            .is_none_or(|id| seen.first_time(id))
                    })
                    .map(|v| v.to_string())
                    .collect();
                let repeated = match pages.stop_reason() {
                    Some(StopReason::RepeatedToken(token)) => Some(token.clone()),
                    _ => None,
                };
                // Events first, made durable; only then the checkpoint that counts them. A job
                // taken over by another worker is not written to.
                store.check().await?;
                cp.bytes = output.append(&lines).map_err(io)?;
                cp.sha256 = Some(output.sha256());
                cp.events += lines.len() as u64;
                cp.pages += 1;
                if let Some(token) = repeated {
                    // Not the end of the listing: whether more events follow is unknown. The
                    // checkpoint names this page again, whose events a resume then drops as
                    // written.
                    cp.next_token = request.pagination_token().map(|t| t.as_str().to_owned());
                    cp.done = false;
                    store.store(&cp).await?;
                    progress.page(lines.len() as u64);
                    return Err(resumable(Failure::new(
                        Kind::Refused,
                        format!(
                            "X handed out the pagination token {token} a second time; \
                             following it would loop, so the export stopped after {} events \
                             and may be incomplete",
                            cp.events
                        ),
                    )));
                }
                cp.next_token = pages.resume_token().map(|t| t.as_str().to_owned());
                cp.done = pages
                    .stop_reason()
                    .is_some_and(StopReason::is_end_of_listing);
                store.store(&cp).await?;
                pages_this_run += 1;
                progress.page(lines.len() as u64);
            }
            Ok(())
        }
        .await;
        ticker.abort();
        match result {
            Ok(()) => {
                progress.finish(&format!("exported to {}", self.out.display()));
                if json {
                    json_line(&serde_json::json!({
                        "path": self.out.display().to_string(),
                        "events": cp.events,
                        "pages": cp.pages,
                    }));
                }
                Ok(())
            }
            Err(f) => {
                progress.finish("stopped");
                Err(f)
            }
        }
    }
}

/// `failure`, with how to continue: the checkpoint stays, and `--resume` picks up from it.
fn resumable(mut failure: Failure) -> Failure {
    failure
        .message
        .push_str("; run the same command with --resume to continue");
    failure
}

/// Whether X refused a request as invalid: for a resumed listing's first page, the
/// checkpoint's token (which X may have let expire).
fn token_refused(e: &xdm_client::Error) -> bool {
    use xdm_core::error::ApiErrorKind;
    matches!(e, xdm_client::Error::Api(api) if matches!(api.kind(), ApiErrorKind::InvalidRequest { .. }))
}

/// When a rate-limited listing may be tried again; `None` for every other failure.
pub fn rate_limit_wait(e: &xdm_client::Error) -> Option<SystemTime> {
    use xdm_core::error::ApiErrorKind;
    match e {
        xdm_client::Error::RateLimited { reset, .. } => Some(*reset),
        xdm_client::Error::Api(api) if matches!(api.kind(), ApiErrorKind::RateLimited { .. }) => {
            let now = SystemTime::now();
            Some(
                api.retry_at()
                    .or_else(|| api.rate_limit().retry_reset())
                    // A longer wait than the cap is refused by the caller; shortening it
                    // first keeps the sum from overflowing.
                    .or_else(|| {
                        let d = api.retry_after()?;
                        now.checked_add(d.min(MAX_SERVER_WAIT + Duration::from_secs(1)))
                    })
                    .unwrap_or(now + Duration::from_secs(60)),
            )
        }
        _ => None,
    }
}

/// Sleeps until `until`, plus a second ([`pause_until`]).
pub async fn sleep_until(until: SystemTime) {
    tokio::time::sleep(pause_until(until, SystemTime::now())).await;
}

/// Rate-limit refusals in a row, with no page getting through between them, after which an
/// export stops (exit 5) rather than wait on: a server that refuses every request, or says
/// no reset time (each such refusal is waited out for a minute), would otherwise keep it
/// waiting without end.
pub const MAX_LIMITED_IN_A_ROW: u32 = 10;

/// Rate-limit refusals since the last page that got through.
#[derive(Debug, Default)]
pub struct LimitStreak {
    in_a_row: u32,
}

impl LimitStreak {
    /// A page got through.
    pub fn progressed(&mut self) {
        self.in_a_row = 0;
    }

    /// One more refusal; how many there have been in a row.
    pub fn refused(&mut self) -> u32 {
        self.in_a_row = self.in_a_row.saturating_add(1);
        self.in_a_row
    }

    /// One more refusal of an export's request: an error once it is the
    /// [`MAX_LIMITED_IN_A_ROW`]th in a row.
    pub fn refused_export(&mut self) -> Result<(), Failure> {
        let n = self.refused();
        if n >= MAX_LIMITED_IN_A_ROW {
            return Err(resumable(Failure::new(
                Kind::Limited,
                format!(
                    "X refused {n} requests in a row as rate limited, with no page getting \
                     through; stopping rather than waiting without end"
                ),
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_refused_again_and_again_stops_with_exit_5() {
        let mut streak = LimitStreak::default();
        for _ in 1..MAX_LIMITED_IN_A_ROW {
            streak.refused_export().unwrap();
        }
        // A page that gets through starts the count again.
        streak.progressed();
        for _ in 1..MAX_LIMITED_IN_A_ROW {
            streak.refused_export().unwrap();
        }
        let f = streak.refused_export().unwrap_err();
        assert_eq!(f.kind, Kind::Limited);
        assert_eq!(f.kind.code(), 5);
        assert!(f.message.contains("10 requests in a row"), "{}", f.message);
        assert!(f.message.contains("--resume"), "{}", f.message);
    }
}
