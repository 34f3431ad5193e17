//! The export's output file and its checkpoint, written so that a crash at any instant can
//! be resumed with every event exactly once.
//!
//! # Write order
//!
//! For each page:
//!
//! 1. append the page's events to the output, one JSON line each, then `fsync` it;
//! 2. write the checkpoint to a temporary file beside it, `fsync` that, rename it over the
//!    checkpoint, and `fsync` the directory.
//!
//! The checkpoint holds the token of the *next* page and the output's length *after* the
//! page it follows. Whatever the instant of a crash:
//!
//! - before step 1 completes, the output may hold part of a page past the checkpoint's
//!   length; the checkpoint still names this page's token;
//! - between steps 1 and 2, the output holds the whole page past the checkpoint's length;
//!   the checkpoint still names this page's token;
//! - after step 2, both agree.
//!
//! On resume the output is truncated to the checkpoint's length and the listing continues
//! from its token, so bytes written after the last checkpoint are dropped and fetched again:
//! no event is lost, none is written twice. The rename makes the checkpoint change all at
//! once; a crash mid-write leaves the old one or a stray temporary file, never half of one.
//!
//! The first checkpoint (length 0, no token) is written before the first request, so an
//! export that never got further starts over from the newest event. A finished export keeps
//! a checkpoint marked `done`, so that `--resume` of it does nothing instead of starting
//! again.
//!
//! # Agreement
//!
//! A checkpoint also records a SHA-256 of the output's bytes up to its length. Before an
//! export continues from a checkpoint, or replaces an output, the output must agree with it:
//! at least as long, the length on a line boundary, exactly as many lines as events counted,
//! and the same bytes. The output is read once for this; the hash then runs on as pages are
//! appended, so it costs nothing more per page. An output edited, replaced or cut
//! since is refused rather than extended into broken lines, duplicates or gaps.
//!
//! Both files are created readable by their owner alone: an export holds private messages.
//!
//! # No event twice
//!
//! A server may serve a page again, under its own token or a fresh one. The export drops
//! every event whose id it has written recently (the last [`RecentIds::DEFAULT_CAPACITY`],
//! twenty full pages: pages come newest first, so a repeat falls within them). That memory
//! must outlive a crash, so it is not kept in the checkpoint but read back from the output
//! itself: on resume, the ids of the output's last lines before the checkpoint's length,
//! which the agreement check has just vouched for. The output is the record of what was
//! written, so the memory cannot disagree with it, and the checkpoint stays small.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use xdm_core::dedup::RecentIds;

/// Where an export stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The format's version, to refuse files from a future layout.
    pub version: u32,
    /// Which listing this export reads (`all`, `conversation:ID`, `with:ID`); resuming with a
    /// different one would mix two listings in one file.
    pub scope: String,
    /// The token of the next page; `None` before the first page and after the last.
    pub next_token: Option<String>,
    /// The output's length in bytes once the pages before `next_token` are written.
    pub bytes: u64,
    /// Events written so far.
    pub events: u64,
    /// Pages written so far.
    pub pages: u64,
    /// Whether the listing was read to its end.
    pub done: bool,
    /// SHA-256 (hex) of the output's first `bytes` bytes; absent in checkpoints written
    /// before it was kept, which are checked without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl Checkpoint {
    /// The layout this code writes.
    pub const VERSION: u32 = 1;

    /// The state before anything was fetched.
    pub fn start(scope: impl Into<String>) -> Self {
        Checkpoint {
            version: Self::VERSION,
            scope: scope.into(),
            next_token: None,
            bytes: 0,
            events: 0,
            pages: 0,
            done: false,
            sha256: Some(hex(Sha256::new())),
        }
    }
}

/// The hex digest of what `hasher` has taken so far.
fn hex(hasher: Sha256) -> String {
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The checkpoint's path: the output's with `.checkpoint` appended.
pub fn path_for(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".checkpoint");
    PathBuf::from(name)
}

/// Reads the checkpoint at `path`; `None` when there is none.
pub fn load(path: &Path) -> io::Result<Option<Checkpoint>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    parse(&bytes).map(Some)
}

/// Reads a checkpoint from its bytes (a file's, or a job's in Redis).
pub fn parse(bytes: &[u8]) -> io::Result<Checkpoint> {
    let cp: Checkpoint = serde_json::from_slice(bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not an export's checkpoint: {e}"),
        )
    })?;
    if cp.version != Checkpoint::VERSION {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("checkpoint version {} is not supported", cp.version),
        ));
    }
    Ok(cp)
}

/// Replaces the checkpoint at `path` all at once.
pub fn store(path: &Path, cp: &Checkpoint) -> io::Result<()> {
    let json = serde_json::to_vec(cp).map_err(io::Error::other)?;
    write_atomically(path, &json)
}

/// Writes `bytes` to `path` so that readers see the old content or the new, never a mix: a
/// temporary file in the same directory (readable by its owner alone, with an unpredictable
/// name), `fsync`, rename over `path`, `fsync` of the directory. The temporary file is
/// removed when anything fails.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".xdm-")
        .suffix(".tmp")
        .tempfile_in(parent(path))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(path)
}

/// The directory `path` is in (`.` for a bare name).
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes a rename in `path`'s directory durable.
pub fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(parent(path))?.sync_all()
}

/// An error for an output that does not agree with its checkpoint.
fn disagrees(why: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{why}: it was changed since its checkpoint was written; move it away (or delete \
             it and its checkpoint) to start over"
        ),
    )
}

/// Opens `path` for the export's output: read and write, created owner-only if missing,
/// refused when it is not a regular file (a device such as `/dev/null`, a FIFO, a
/// directory), so that a checkpoint never describes something that does not keep bytes.
pub fn open_output(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
        // A FIFO would block the open until a reader comes; a regular file ignores this.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(not_a_regular_file(path));
    }
    Ok(file)
}

/// The error for an output that is not a regular file.
pub fn not_a_regular_file(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{} is not a regular file (a device, a pipe or a directory); an export needs a \
             file it can resume",
            path.display()
        ),
    )
}

/// Checks that `file` agrees with `cp` ([module docs](self)): it is at least `cp.bytes` long,
/// that length ends a line, the lines before it number `cp.events`, and they hash as
/// recorded. Returns the hash's state over those bytes.
pub fn check_agreement(file: &mut File, cp: &Checkpoint) -> io::Result<Sha256> {
    scan(file, cp, 0).map(|(hasher, _)| hasher)
}

/// [`check_agreement`], also returning where the last `lines` lines before `cp.bytes` start
/// (0 when there are fewer).
fn scan(file: &mut File, cp: &Checkpoint, lines_wanted: usize) -> io::Result<(Sha256, u64)> {
    let actual = file.metadata()?.len();
    if actual < cp.bytes {
        return Err(disagrees(format!(
            "the output is {actual} bytes but its checkpoint says {}",
            cp.bytes
        )));
    }
    file.seek(io::SeekFrom::Start(0))?;
    let mut reader = (&mut *file).take(cp.bytes);
    let mut buf = vec![0; 64 * 1024];
    let (mut lines, mut read) = (0u64, 0u64);
    let mut hasher = Sha256::new();
    let mut last = None;
    // Where each of the last lines ends (just past its newline): the oldest of
    // `lines_wanted + 1` is where the last `lines_wanted` lines start.
    let mut ends: std::collections::VecDeque<u64> = std::collections::VecDeque::new();
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        for (i, _) in chunk.iter().enumerate().filter(|&(_, &b)| b == b'\n') {
            lines += 1;
            if lines_wanted > 0 {
                if ends.len() > lines_wanted {
                    ends.pop_front();
                }
                ends.push_back(read + i as u64 + 1);
            }
        }
        read += n as u64;
        hasher.update(chunk);
        last = chunk.last().copied();
    }
    if read != cp.bytes {
        return Err(disagrees("the output ended while it was read"));
    }
    if last.is_some_and(|b| b != b'\n') {
        return Err(disagrees(format!(
            "the checkpoint's length ({} bytes) is not the end of a line of the output",
            cp.bytes
        )));
    }
    if lines != cp.events {
        return Err(disagrees(format!(
            "the output holds {lines} events before the checkpoint's length, the checkpoint \
             counts {}",
            cp.events
        )));
    }
    if cp
        .sha256
        .as_deref()
        .is_some_and(|h| h != hex(hasher.clone()))
    {
        return Err(disagrees("the output's events are not those it wrote"));
    }
    let tail = if ends.len() > lines_wanted {
        ends.front().copied().unwrap_or(0)
    } else {
        0
    };
    Ok((hasher, tail))
}

/// The ids of the lines of `file` from `start` to `end`, in order. Lines without an id (or
/// that are not JSON objects) have none to remember and are passed over.
fn ids_between(file: &mut File, start: u64, end: u64) -> io::Result<Vec<String>> {
    use std::io::BufRead;
    file.seek(io::SeekFrom::Start(start))?;
    let mut reader = io::BufReader::new((&mut *file).take(end.saturating_sub(start)));
    let mut ids = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if let Ok(serde_json::Value::Object(event)) = serde_json::from_slice(&line)
            && let Some(serde_json::Value::String(id)) = event.get("id")
        {
            ids.push(id.clone());
        }
    }
    Ok(ids)
}

/// The export's output, opened at the length a checkpoint names.
pub struct Output {
    file: File,
    len: u64,
    hasher: Sha256,
    /// The ids of the last lines it held when opened, oldest first.
    written_ids: Vec<String>,
}

impl Output {
    /// Opens (or creates) `path`, checks that it agrees with `cp`, and cuts it to `cp.bytes`,
    /// dropping whatever was written after the checkpoint.
    /// The ids of its last [`RecentIds::DEFAULT_CAPACITY`] lines are read back for
    /// [`recent_ids`](Self::recent_ids).
    pub fn open_at(path: &Path, cp: &Checkpoint) -> io::Result<Output> {
        let mut file = open_output(path)?;
        let (hasher, tail) = scan(&mut file, cp, RecentIds::DEFAULT_CAPACITY)?;
        let written_ids = ids_between(&mut file, tail, cp.bytes)?;
        let mut output = Output::cut(file, cp.bytes, hasher)?;
        output.written_ids = written_ids;
        Ok(output)
    }

    /// Opens (or creates) `path` empty, whatever it held: for `--force`, and for a fresh
    /// export once the old output was found to be its own.
    pub fn replace(path: &Path) -> io::Result<Output> {
        let file = open_output(path)?;
        Output::cut(file, 0, Sha256::new())
    }

    fn cut(mut file: File, len: u64, hasher: Sha256) -> io::Result<Output> {
        #[cfg(unix)]
        {
            // A file that existed before (with --force) may have been readable by others.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
        file.set_len(len)?;
        file.sync_all()?;
        file.seek(io::SeekFrom::Start(len))?;
        Ok(Output {
            file,
            len,
            hasher,
            written_ids: Vec::new(),
        })
    }

    /// A memory of the ids of the events the output held when it was opened (its last
    /// [`RecentIds::DEFAULT_CAPACITY`] lines), for the export to go on dropping repeats
    /// across a resume; empty for a new output.
    pub fn recent_ids(&self) -> RecentIds {
        let mut seen = RecentIds::new();
        for id in &self.written_ids {
            seen.first_time(id);
        }
        seen
    }

    /// Appends `lines` (each gets a newline) and makes them durable; returns the new length.
    pub fn append(&mut self, lines: &[String]) -> io::Result<u64> {
        let mut buf = Vec::new();
        for line in lines {
            buf.extend_from_slice(line.as_bytes());
            buf.push(b'\n');
        }
        self.file.write_all(&buf)?;
        self.file.sync_all()?;
        self.len += buf.len() as u64;
        self.hasher.update(&buf);
        Ok(self.len)
    }

    /// The hash a checkpoint of the output as it is now records.
    pub fn sha256(&self) -> String {
        hex(self.hasher.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checkpoint of `events` events written through an [`Output`] at `path`.
    fn written(path: &Path, lines: &[&str]) -> Checkpoint {
        let mut out = Output::replace(path).unwrap();
        let lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        let mut cp = Checkpoint::start("all");
        cp.bytes = out.append(&lines).unwrap();
        cp.events = lines.len() as u64;
        cp.sha256 = Some(out.sha256());
        cp
    }

    #[test]
    fn a_checkpoint_round_trips_and_replaces_the_old_one() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.jsonl.checkpoint");
        assert_eq!(load(&p).unwrap(), None);
        let mut cp = Checkpoint::start("all");
        store(&p, &cp).unwrap();
        cp.next_token = Some("18LAA5G1SL0NR5OG0G00ZZZZ".into());
        cp.bytes = 42;
        store(&p, &cp).unwrap();
        assert_eq!(load(&p).unwrap(), Some(cp));
        let leftovers: Vec<_> = fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn a_damaged_or_future_checkpoint_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c");
        fs::write(&p, b"{\"version\":1,").unwrap();
        assert_eq!(load(&p).unwrap_err().kind(), io::ErrorKind::InvalidData);
        let mut cp = Checkpoint::start("all");
        cp.version = 9;
        fs::write(&p, serde_json::to_vec(&cp).unwrap()).unwrap();
        assert!(load(&p).unwrap_err().to_string().contains("version 9"));
    }

    #[test]
    fn reopening_drops_bytes_written_after_the_checkpoint() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.jsonl");
        let cp = written(&p, &["{\"id\":\"1\"}"]);
        let mut out = Output::open_at(&p, &cp).unwrap();
        out.append(&["{\"id\":\"2\"}".into(), "{\"id\":\"3\"".into()])
            .unwrap();
        drop(out);
        let mut out = Output::open_at(&p, &cp).unwrap();
        out.append(&["{\"id\":\"2\"}".into()]).unwrap();
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            "{\"id\":\"1\"}\n{\"id\":\"2\"}\n"
        );
    }

    #[test]
    fn an_output_that_disagrees_with_its_checkpoint_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.jsonl");
        let cp = written(&p, &["{\"id\":\"1\"}", "{\"id\":\"2\"}"]);
        // Shorter than the checkpoint says.
        let mut short = cp.clone();
        short.bytes += 10;
        let e = Output::open_at(&p, &short).err().unwrap();
        assert!(e.to_string().contains("checkpoint says"), "{e}");
        // A length inside a line.
        let mut torn = cp.clone();
        torn.bytes -= 3;
        let e = Output::open_at(&p, &torn).err().unwrap();
        assert!(e.to_string().contains("not the end of a line"), "{e}");
        // A count that does not match the lines.
        let mut miscounted = cp.clone();
        miscounted.events = 5;
        let e = Output::open_at(&p, &miscounted).err().unwrap();
        assert!(e.to_string().contains("holds 2 events"), "{e}");
        // The same length and lines, other bytes.
        fs::write(&p, "{\"id\":\"7\"}\n{\"id\":\"8\"}\n").unwrap();
        let e = Output::open_at(&p, &cp).err().unwrap();
        assert!(e.to_string().contains("not those it wrote"), "{e}");
        assert!(e.to_string().contains("start over"), "{e}");
        // Nothing was cut from the refused file.
        assert_eq!(fs::read(&p).unwrap().len() as u64, cp.bytes);
        // A checkpoint from before fingerprints is checked on length and lines alone.
        let mut old = cp.clone();
        old.sha256 = None;
        assert!(Output::open_at(&p, &old).is_ok());
    }

    #[test]
    fn the_output_and_checkpoint_are_private_and_must_be_regular_files() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.jsonl");
        written(&p, &["{}"]);
        let cp_path = path_for(&p);
        store(&cp_path, &Checkpoint::start("all")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in [&p, &cp_path] {
                let mode = fs::metadata(f).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", f.display());
            }
            let e = Output::replace(Path::new("/dev/null")).err().unwrap();
            assert!(e.to_string().contains("not a regular file"), "{e}");
        }
        assert!(Output::replace(d.path()).is_err(), "a directory is refused");
    }

    #[test]
    fn a_reopened_output_remembers_the_ids_of_its_last_lines() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.jsonl");
        let cp = written(
            &p,
            &[
                r#"{"id":"5"}"#,
                r#"{"id":"4"}"#,
                r#"{"text":"no id"}"#,
                r#"{"id":"3"}"#,
                r#"{"id":"2"}"#,
            ],
        );
        // Only the last lines are read back.
        let mut file = open_output(&p).unwrap();
        let (_, tail) = scan(&mut file, &cp, 2).unwrap();
        assert_eq!(ids_between(&mut file, tail, cp.bytes).unwrap(), ["3", "2"]);
        let (_, all) = scan(&mut file, &cp, 9).unwrap();
        assert_eq!(all, 0);
        // Bytes past the checkpoint are not remembered: they are cut and fetched again.
        let mut out = Output::open_at(&p, &cp).unwrap();
        out.append(&[r#"{"id":"1"}"#.into()]).unwrap();
        drop(out);
        let out = Output::open_at(&p, &cp).unwrap();
        let mut seen = out.recent_ids();
        for id in ["5", "4", "3", "2"] {
            assert!(!seen.first_time(id), "{id}");
        }
        assert!(seen.first_time("1"));
        assert!(Output::replace(&p).unwrap().recent_ids().first_time("5"));
    }

    #[test]
    fn the_checkpoint_lives_beside_the_output() {
        assert_eq!(
            path_for(Path::new("/a/b.jsonl")),
            Path::new("/a/b.jsonl.checkpoint")
        );
    }
}
