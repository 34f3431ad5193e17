//! The export's progress on standard error: one line redrawn in place on a terminal, plain
//! lines every few seconds otherwise (logs and CI keep every line, so redrawing would only
//! pile up carriage returns).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::output::{duration_words, moment_utc};

/// How often a plain line is written when standard error is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct State {
    events: u64,
    pages: u64,
    waiting_until: Option<SystemTime>,
    started: Instant,
    last_plain: Option<Instant>,
    drawn: bool,
}

/// Counters of a running export, drawn on standard error. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Progress {
    state: Arc<Mutex<State>>,
    tty: bool,
}

impl Progress {
    /// Starts counting from `events` and `pages` already done (a resumed export).
    pub fn new(events: u64, pages: u64) -> Self {
        Progress {
            state: Arc::new(Mutex::new(State {
                events,
                pages,
                waiting_until: None,
                started: Instant::now(),
                last_plain: None,
                drawn: false,
            })),
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a page of `events` events.
    pub fn page(&self, events: u64) {
        let mut s = self.lock();
        s.events += events;
        s.pages += 1;
        s.waiting_until = None;
        drop(s);
        self.tick(false);
    }

    /// Shows a rate-limit wait until `until`, or clears it.
    pub fn waiting(&self, until: Option<SystemTime>) {
        self.lock().waiting_until = until;
        self.tick(until.is_some());
    }

    /// Redraws (terminal) or writes a plain line when one is due (`force`: now).
    pub fn tick(&self, force: bool) {
        let mut s = self.lock();
        let line = render(&s, SystemTime::now());
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{line}");
            s.drawn = true;
        } else if force || s.last_plain.is_none_or(|t| t.elapsed() >= PLAIN_EVERY) {
            let _ = writeln!(err, "{line}");
            s.last_plain = Some(Instant::now());
        }
        let _ = err.flush();
    }

    /// Redraws every second until the returned task is aborted, so that the countdown and
    /// the elapsed time move while a request or a wait is under way.
    pub fn spawn_ticker(&self) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                me.tick(false);
            }
        })
    }

    /// Writes the final state and ends the redrawn line.
    pub fn finish(&self, what: &str) {
        let s = self.lock();
        let mut err = std::io::stderr().lock();
        if self.tty && s.drawn {
            let _ = write!(err, "\r\x1b[2K");
        }
        let _ = writeln!(
            err,
            "{what}: {} events, {} pages, {} elapsed",
            s.events,
            s.pages,
            duration_words(s.started.elapsed().as_secs())
        );
    }
}

fn render(s: &State, now: SystemTime) -> String {
    let mut line = format!(
        "exporting: {} events, {} pages, {} elapsed",
        s.events,
        s.pages,
        duration_words(s.started.elapsed().as_secs())
    );
    if let Some(until) = s.waiting_until {
        let left = until.duration_since(now).unwrap_or_default();
        line.push_str(&format!(
            ", rate limited: waiting {} (until {})",
            duration_words(left.as_secs()),
            moment_utc(until, now)
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_counts_and_the_wait() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let s = State {
            events: 250,
            pages: 3,
            waiting_until: Some(now + Duration::from_secs(75)),
            started: Instant::now(),
            last_plain: None,
            drawn: false,
        };
        let line = render(&s, now);
        assert!(
            line.starts_with("exporting: 250 events, 3 pages, 0s elapsed"),
            "{line}"
        );
        assert!(
            line.ends_with("rate limited: waiting 1m 15s (until 22:14:35 UTC)"),
            "{line}"
        );
    }
}
