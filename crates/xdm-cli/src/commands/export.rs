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
        })
    }

    /// Where to start: the checkpoint when resuming, else the beginning. Nothing the export
    /// did not write is replaced without `--force`: an existing output must agree with its
    /// checkpoint (and an unfinished one needs `--resume`).
    fn starting_point(&self) -> Result<Start, Failure> {
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
        let path = checkpoint::path_for(out);
        let found = checkpoint::load(&path).map_err(|e| Failure::io(path.display(), &e))?;
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
                    "there is nothing to resume: {} has no checkpoint ({}); run without \
                     --resume to start an export",
                    out.display(),
                    path.display()
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
            Some(cp) if self.resume => {
                if cp.scope != key {
                    return Err(Failure::new(
                        Kind::Input,
                        format!(
                            "{} belongs to an export of `{}`, not `{key}`; resume it with the \
                             same options, or choose another --out",
                            path.display(),
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
                    "{} holds an unfinished export ({} events so far): add --resume to continue \
                     it, or delete it and {} to start over",
                    path.display(),
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

    /// Runs the export to its end.
    pub async fn run(mut self, session: &Session, json: bool) -> Result<(), Failure> {
        let cp_path = checkpoint::path_for(&self.out);
        let Start { mut cp, output } = self.starting_point()?;
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
        checkpoint::store(&cp_path, &cp).map_err(|e| Failure::io(cp_path.display(), &e))?;
        let token = cp
            .next_token
            .as_deref()
            .map(PaginationToken::parse)
            .transpose()
            .map_err(|e| Failure::new(Kind::Local, format!("{}: {e}", cp_path.display())))?;
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
                                         cannot be resumed; delete {} and {} to start over",
                                        self.out.display(),
                                        cp_path.display()
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
                // Events first, made durable; only then the checkpoint that counts them.
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
                    checkpoint::store(&cp_path, &cp)
                        .map_err(|e| Failure::io(cp_path.display(), &e))?;
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
                checkpoint::store(&cp_path, &cp).map_err(|e| Failure::io(cp_path.display(), &e))?;
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
