//! Shared plumbing: the tally every matrix reports through, seed counts for long runs, and
//! the runner of cells that each start an emulator of their own.

use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Counts the cases of one matrix and collects failures, so that a matrix runs every case
/// before it fails and names each failing cell.
pub(crate) struct Tally {
    name: &'static str,
    tried: usize,
    failures: Vec<String>,
    /// Case-name fragments of bugs already reported in another crate, with their description.
    known_bugs: Vec<(&'static str, &'static str)>,
    known_failures: Vec<String>,
}

impl Tally {
    pub(crate) fn new(name: &'static str) -> Self {
        Self {
            name,
            tried: 0,
            failures: Vec::new(),
            known_bugs: Vec::new(),
            known_failures: Vec::new(),
        }
    }

    /// Marks the cases whose name contains `fragment` as hitting a known bug of another crate:
    /// they are counted apart while they fail, and fail the matrix once they pass, so that the
    /// list is trimmed as soon as the bug is fixed. Each bug also has a test of its own, ignored
    /// in CI, that fails while the bug is there (`cargo test -p xdm-reliability -- --ignored`).
    pub(crate) fn known_bug(mut self, fragment: &'static str, bug: &'static str) -> Self {
        self.known_bugs.push((fragment, bug));
        self
    }

    /// Records one case: `Ok` passed, `Err` says why it failed.
    pub(crate) fn record(&mut self, case: impl std::fmt::Display, outcome: Result<(), String>) {
        self.tried += 1;
        let case = case.to_string();
        let bug = self
            .known_bugs
            .iter()
            .find(|(fragment, _)| case.contains(fragment));
        match (outcome, bug) {
            (Err(why), Some((_, bug))) => self.known_failures.push(format!("{case}: {bug}: {why}")),
            (Err(why), None) => self.failures.push(format!("{case}: {why}")),
            (Ok(()), Some((_, bug))) => self.failures.push(format!(
                "{case}: passes now; the known bug ({bug}) looks fixed, remove it from the list"
            )),
            (Ok(()), None) => {}
        }
    }

    /// Prints the counts and fails the test if any case failed, or if no case ran at all.
    pub(crate) fn finish(self) {
        let passed = self.tried - self.failures.len() - self.known_failures.len();
        if self.known_failures.is_empty() {
            eprintln!(
                "matrix {}: {} cases, {} passed",
                self.name, self.tried, passed
            );
        } else {
            eprintln!(
                "matrix {}: {} cases, {} passed, {} known bugs",
                self.name,
                self.tried,
                passed,
                self.known_failures.len()
            );
            for k in &self.known_failures {
                eprintln!("  known bug: {k}");
            }
        }
        assert!(self.tried > 0, "matrix {} ran no case", self.name);
        if !self.failures.is_empty() {
            let mut report = String::new();
            for f in &self.failures {
                let _ = writeln!(report, "  - {f}");
            }
            panic!(
                "matrix {}: {} of {} cases failed:\n{report}",
                self.name,
                self.failures.len(),
                self.tried
            );
        }
    }
}

/// How many seeds or cases a randomized matrix runs: `default` in CI, or the value of
/// `XDM_RELIABILITY_SEEDS` for long runs.
pub(crate) fn seeds(default: u32) -> u32 {
    std::env::var("XDM_RELIABILITY_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A proptest configuration with `seeds(default)` cases and no regression files (the
/// interesting inputs of this suite are listed in its tables instead).
pub(crate) fn proptest_config(default: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases: seeds(default),
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}

/// Runs `cell` on every one of `cells`, at most `at_once` at a time (each starts its own
/// emulator, and two cores are shared), and returns the outcomes in the order of `cells`.
/// A cell still running after `budget` is cut off and reported through `hung`, so that one
/// hang costs its own cell, not the whole matrix; a cell that panics fails the test.
pub(crate) async fn run_cells<C, T, Fut>(
    cells: Vec<C>,
    at_once: usize,
    budget: Duration,
    hung: impl Fn(String) -> T + Send + Sync + 'static,
    cell: impl Fn(C) -> Fut + Send + Sync + 'static,
) -> Vec<T>
where
    C: Send + 'static,
    T: Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let limit = Arc::new(tokio::sync::Semaphore::new(at_once));
    let (hung, cell) = (Arc::new(hung), Arc::new(cell));
    let count = cells.len();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, c) in cells.into_iter().enumerate() {
        let (limit, hung, cell) = (limit.clone(), hung.clone(), cell.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("open");
            let outcome = tokio::time::timeout(budget, cell(c))
                .await
                .unwrap_or_else(|_| {
                    hung(format!("hung: no outcome within {} s", budget.as_secs()))
                });
            (i, outcome)
        });
    }
    let mut results: Vec<Option<T>> = (0..count).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, outcome)) => results[i] = Some(outcome),
            Err(e) => panic!("a cell panicked: {e}"),
        }
    }
    results
        .into_iter()
        .map(|r| r.expect("every cell reports"))
        .collect()
}

/// A check as a tally outcome: `Ok` when `holds`, else the failure `why` describes.
pub(crate) fn check(holds: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if holds { Ok(()) } else { Err(why()) }
}

#[test]
fn a_failing_known_bug_is_counted_apart_from_failures() {
    let mut tally = Tally::new("mechanism").known_bug("broken", "a bug elsewhere");
    tally.record("works", Ok(()));
    tally.record("broken cell", Err("as the bug says".into()));
    assert_eq!(tally.known_failures.len(), 1);
    tally.finish();
}

#[test]
#[should_panic(expected = "looks fixed")]
fn a_known_bug_cell_that_passes_fails_the_matrix() {
    let mut tally = Tally::new("mechanism").known_bug("broken", "a bug elsewhere");
    tally.record("broken cell", Ok(()));
    tally.finish();
}
