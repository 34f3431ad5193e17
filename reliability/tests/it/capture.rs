//! Everything a program could leak a secret through, captured: every tracing span and event at
//! TRACE (with all fields), and every panic message.
//!
//! The subscriber is installed as the process-wide default, so it sees what client tasks log
//! on any runtime thread. Tests running in parallel share the buffer; each test looks for its
//! own secret values, which no other test uses.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once, OnceLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

static BUFFER: OnceLock<Mutex<String>> = OnceLock::new();
static INSTALL: Once = Once::new();
static RECORDS: AtomicU64 = AtomicU64::new(0);

fn buffer() -> &'static Mutex<String> {
    BUFFER.get_or_init(|| Mutex::new(String::new()))
}

fn append(line: &str) {
    RECORDS.fetch_add(1, Ordering::Relaxed);
    let mut b = buffer().lock().unwrap_or_else(|p| p.into_inner());
    b.push_str(line);
    b.push('\n');
}

/// Writes every field of a span or event, with `Debug` formatting, as a subscriber that
/// formats logs would.
struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let _ = write!(self.0, " {}={}", field.name(), value);
        let mut source = value.source();
        while let Some(s) = source {
            let _ = write!(self.0, " caused by: {s}");
            source = s.source();
        }
    }
}

/// A subscriber that enables everything and writes it all to the buffer.
struct CaptureAll {
    next_id: AtomicU64,
}

impl Subscriber for CaptureAll {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut f = Fields(format!(
            "span {} {}",
            span.metadata().target(),
            span.metadata().name()
        ));
        span.record(&mut f);
        append(&f.0);
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut f = Fields("record".to_owned());
        values.record(&mut f);
        append(&f.0);
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let m = event.metadata();
        let mut f = Fields(format!("event {} {} {}", m.level(), m.target(), m.name()));
        event.record(&mut f);
        append(&f.0);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Installs the capture (once per process): the tracing subscriber and a panic hook that
/// records panic messages before the default hook prints them.
pub(crate) fn install() {
    INSTALL.call_once(|| {
        let _ = tracing::subscriber::set_global_default(CaptureAll {
            next_id: AtomicU64::new(0),
        });
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            append(&format!("panic {info}"));
            previous(info);
        }));
    });
}

/// Everything captured so far.
pub(crate) fn captured() -> String {
    buffer().lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// How many records (spans, events, panics) were captured so far; lets a test prove the
/// capture saw something, so that "no secret in the logs" is not vacuous where the code logs.
pub(crate) fn records() -> u64 {
    RECORDS.load(Ordering::Relaxed)
}

/// Which of `secrets` occur in `text` (or in its percent-encoded form).
pub(crate) fn leaked<'a>(text: &str, secrets: &[&'a str]) -> Vec<&'a str> {
    secrets
        .iter()
        .copied()
        .filter(|s| {
            let encoded: String = s
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            text.contains(s) || text.contains(&encoded)
        })
        .collect()
}
