//! Matrix 2: exports interrupted at random points, by faults and by the process being killed,
//! then resumed until done: the output holds every event exactly once.
//!
//! An export here is what `xdm export` does with the library: fetch a page, append its events
//! to the output, then save a checkpoint (the resume token and the output's length). A kill
//! can strike before a page is written, between writing and checkpointing, or after; a resumed
//! run truncates the output to the checkpoint's length and continues from its token with a new
//! client, as a new process would. Faults (retried and not) are armed on the listing at random.
//!
//! Seeds: `XDM_RELIABILITY_SEEDS` (default 8 in CI).

use std::collections::HashSet;

use xdm_client::ReconcilePolicy;
use xdm_core::endpoints::ListEvents;
use xdm_core::ids::PaginationToken;
use xdm_emulator::{Fault, FaultKind};

use crate::support::{Tally, run_cells, seeds};
use crate::world::{MAX_RESPONSE, REQUEST_TIMEOUT, World};

/// A small deterministic generator, so that a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const PATH: &str = "/2/dm_events";

fn random_fault(rng: &mut Rng) -> FaultKind {
    match rng.below(10) {
        0 => FaultKind::CloseBeforeResponse,
        1 => FaultKind::CloseAfterProcessing,
        2 => FaultKind::CloseAfterHeaders,
        3 => FaultKind::CloseMidBody,
        4 => FaultKind::Status([500, 502, 503, 504][rng.below(4) as usize]),
        5 => FaultKind::DelayHeaders(REQUEST_TIMEOUT * 2),
        6 => FaultKind::TruncatedJson,
        7 => FaultKind::InvalidJson,
        8 => FaultKind::OversizedBody(MAX_RESPONSE * 2),
        _ => FaultKind::DelayBody(REQUEST_TIMEOUT * 2),
    }
}

/// Where a simulated kill strikes within one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kill {
    BeforeWrite,
    AfterWriteBeforeCheckpoint,
    AfterCheckpoint,
}

/// What one seed did, for the report.
#[derive(Debug, Default)]
struct Run {
    processes: u32,
    kills: u32,
    errors: u32,
}

async fn export_with_interruptions(seed: u64) -> Result<Run, String> {
    let mut rng = Rng::new(seed);
    let world = World::start(120 + rng.below(80) as usize).await;
    let h = world.emu.handle();
    let reference: Vec<String> = h.events().into_iter().map(|e| e.id).collect();
    // A few faults on the listing, some firing once, some every n-th request.
    for _ in 0..1 + rng.below(3) {
        let kind = random_fault(&mut rng);
        let fault = if rng.below(2) == 0 {
            Fault::once("GET", PATH, kind)
        } else {
            Fault::every("GET", PATH, 3 + rng.below(5) as u32, kind)
        };
        h.inject(fault);
    }
    let page_size = 5 + rng.below(20) as u32;
    let mut output: Vec<String> = Vec::new();
    let mut checkpoint: (Option<PaginationToken>, usize) = (None, 0);
    let mut run = Run::default();
    loop {
        run.processes += 1;
        if run.processes > 200 {
            return Err(format!(
                "not done after 200 runs: {run:?}, {} events",
                output.len()
            ));
        }
        // A new process: the output as the checkpoint left it, a fresh client.
        output.truncate(checkpoint.1);
        let client = world.client(ReconcilePolicy::Off);
        let mut first = ListEvents::new()
            .with_max_results(page_size)
            .map_err(|e| e.to_string())?;
        if let Some(token) = &checkpoint.0 {
            first = first.with_pagination_token(token.clone());
        }
        let mut pages = client.pages(first);
        let killed_at = if rng.below(3) == 0 {
            None
        } else {
            let kill = match rng.below(3) {
                0 => Kill::BeforeWrite,
                1 => Kill::AfterWriteBeforeCheckpoint,
                _ => Kill::AfterCheckpoint,
            };
            Some((rng.below(6), kill))
        };
        let mut page_no = 0u64;
        let mut finished = false;
        loop {
            let Some(page) = pages.next_page().await else {
                finished = true;
                break;
            };
            let page = match page {
                Ok(page) => page,
                Err(_) => {
                    // The process exits with the error; the next run resumes.
                    run.errors += 1;
                    break;
                }
            };
            let kill_here = killed_at.filter(|(at, _)| *at == page_no).map(|(_, k)| k);
            if kill_here == Some(Kill::BeforeWrite) {
                run.kills += 1;
                break;
            }
            output.extend(
                page.items()
                    .iter()
                    .map(|e| e.id.clone().unwrap_or_default()),
            );
            if kill_here == Some(Kill::AfterWriteBeforeCheckpoint) {
                run.kills += 1;
                break;
            }
            checkpoint = (pages.resume_token().cloned(), output.len());
            if kill_here == Some(Kill::AfterCheckpoint) {
                run.kills += 1;
                break;
            }
            page_no += 1;
        }
        if finished {
            let reason = pages.stop_reason().cloned();
            if !reason.as_ref().is_some_and(|r| r.is_end_of_listing()) {
                return Err(format!("stopped for {reason:?}, not at the end"));
            }
            break;
        }
    }
    world.emu.shutdown().await;
    let unique: HashSet<&String> = output.iter().collect();
    if unique.len() != output.len() {
        return Err(format!(
            "{} events written, {} distinct ({run:?})",
            output.len(),
            unique.len()
        ));
    }
    let want: HashSet<&String> = reference.iter().collect();
    if unique != want {
        return Err(format!(
            "{} events exported, {} in the listing, {} missing, {} extra ({run:?})",
            unique.len(),
            want.len(),
            want.difference(&unique).count(),
            unique.difference(&want).count()
        ));
    }
    Ok(run)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_exports_hold_every_event_exactly_once() {
    let n = seeds(8);
    let base = std::env::var("XDM_RELIABILITY_SEED_BASE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1u64);
    let mut tally = Tally::new("interrupted_exports");
    let mut totals = Run::default();
    let runs: Vec<u64> = (base..base + u64::from(n)).collect();
    let results = run_cells(
        runs.clone(),
        4,
        std::time::Duration::from_secs(60),
        Err,
        export_with_interruptions,
    )
    .await;
    for (seed, outcome) in runs.into_iter().zip(results) {
        let outcome = outcome.map(|run| {
            totals.processes += run.processes;
            totals.kills += run.kills;
            totals.errors += run.errors;
        });
        tally.record(format!("seed {seed}"), outcome);
    }
    eprintln!(
        "interrupted_exports: {} processes, {} kills, {} runs ended by an error",
        totals.processes, totals.kills, totals.errors
    );
    // The schedule must actually interrupt exports, or the matrix proves nothing.
    assert!(
        totals.kills + totals.errors > 0,
        "no export was interrupted"
    );
    tally.finish();
}
