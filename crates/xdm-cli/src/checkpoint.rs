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

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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
        }
    }
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
    let cp: Checkpoint = serde_json::from_slice(&bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not a checkpoint file: {e}"),
        )
    })?;
    if cp.version != Checkpoint::VERSION {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("checkpoint version {} is not supported", cp.version),
        ));
    }
    Ok(Some(cp))
}

/// Replaces the checkpoint at `path` all at once (temporary file, `fsync`, rename, `fsync`
/// of the directory).
pub fn store(path: &Path, cp: &Checkpoint) -> io::Result<()> {
    let json = serde_json::to_vec(cp).map_err(io::Error::other)?;
    write_atomically(path, &json)
}

/// Writes `bytes` to `path` through a temporary sibling and a rename, so that readers see
/// the old content or the new, never a mix.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_sibling(path);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// A temporary name in the same directory, so that the rename stays on one file system.
pub fn temp_sibling(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".tmp{}", std::process::id()));
    PathBuf::from(name)
}

/// Makes a rename in `path`'s directory durable.
pub fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// The export's output, opened at the length a checkpoint names.
pub struct Output {
    file: File,
    len: u64,
}

impl Output {
    /// Opens (or creates) `path` and cuts it to `len` bytes, dropping whatever was written
    /// after the checkpoint.
    pub fn open_at(path: &Path, len: u64) -> io::Result<Output> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)?;
        let actual = file.metadata()?.len();
        if actual < len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the output is {actual} bytes but its checkpoint says {len}: it was changed \
                     since; delete both files to start over"
                ),
            ));
        }
        file.set_len(len)?;
        file.sync_all()?;
        let mut out = Output { file, len };
        io::Seek::seek(&mut out.file, io::SeekFrom::Start(len))?;
        Ok(out)
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
        Ok(self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("xdm-cp-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_checkpoint_round_trips_and_replaces_the_old_one() {
        let d = dir("roundtrip");
        let p = d.join("x.jsonl.checkpoint");
        assert_eq!(load(&p).unwrap(), None);
        let mut cp = Checkpoint::start("all");
        store(&p, &cp).unwrap();
        cp.next_token = Some("18LAA5G1SL0NR5OG0G00ZZZZ".into());
        cp.bytes = 42;
        store(&p, &cp).unwrap();
        assert_eq!(load(&p).unwrap(), Some(cp));
        let leftovers: Vec<_> = fs::read_dir(&d).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn a_damaged_or_future_checkpoint_is_refused() {
        let d = dir("damaged");
        let p = d.join("c");
        fs::write(&p, b"{\"version\":1,").unwrap();
        assert_eq!(load(&p).unwrap_err().kind(), io::ErrorKind::InvalidData);
        let mut cp = Checkpoint::start("all");
        cp.version = 9;
        fs::write(&p, serde_json::to_vec(&cp).unwrap()).unwrap();
        assert!(load(&p).unwrap_err().to_string().contains("version 9"));
    }

    #[test]
    fn reopening_drops_bytes_written_after_the_checkpoint() {
        let d = dir("truncate");
        let p = d.join("out.jsonl");
        let mut out = Output::open_at(&p, 0).unwrap();
        let len = out.append(&["{\"id\":\"1\"}".into()]).unwrap();
        out.append(&["{\"id\":\"2\"}".into(), "{\"id\":\"3\"".into()])
            .unwrap();
        drop(out);
        let mut out = Output::open_at(&p, len).unwrap();
        out.append(&["{\"id\":\"2\"}".into()]).unwrap();
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            "{\"id\":\"1\"}\n{\"id\":\"2\"}\n"
        );
    }

    #[test]
    fn an_output_shorter_than_its_checkpoint_is_refused() {
        let d = dir("short");
        let p = d.join("out.jsonl");
        fs::write(&p, b"abc").unwrap();
        let e = Output::open_at(&p, 10).err().unwrap();
        assert!(e.to_string().contains("checkpoint says 10"), "{e}");
    }

    #[test]
    fn the_checkpoint_lives_beside_the_output() {
        assert_eq!(
            path_for(Path::new("/a/b.jsonl")),
            Path::new("/a/b.jsonl.checkpoint")
        );
    }
}
