//! `xdm media`: downloads DM media to a file, atomically.
//!
//! The bytes are written as they arrive to a temporary file beside the target, which is made
//! durable and renamed over the target once the body is complete: a failed or interrupted
//! download never leaves a half-written file under the name asked for, and a file of any size
//! passes through without being held in memory. When the connection breaks mid-body and the
//! server serves ranges, the rest is asked for from the bytes already written, a few times at
//! most, and appended to the same temporary file.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;
use xdm_client::MediaStream;
use xdm_core::endpoints::DownloadMedia;

use crate::checkpoint::{parent, sync_dir};
use crate::connect::{Api, Session};
use crate::exit::{Failure, Kind};
use crate::output::json_line;

/// How many times a download that broke off mid-body is resumed before its failure is
/// reported. Each resume is a request of its own, with its own retries and rate limiting.
const MAX_RESUMES: u32 = 5;

/// A validated download.
#[derive(Debug)]
pub struct Plan {
    out: PathBuf,
    media: DownloadMedia,
}

impl Plan {
    /// Validates the URL: it must name a DM event, a media id and a resource.
    pub fn new(out: PathBuf, url: &str) -> Result<Plan, Failure> {
        Ok(Plan {
            out,
            media: DownloadMedia::from_media_url(url)?,
        })
    }

    /// Downloads and writes the file.
    pub async fn run(self, session: &Session, json: bool) -> Result<(), Failure> {
        // The request comes first: an error from X is reported as such, whatever the path.
        let download = session.api.download_media_stream(&self.media).await?;
        let content_type = download.content_type().map(str::to_owned);
        // Ctrl-C drops the download, and with it the temporary file (see `Partial`), so an
        // interrupted download leaves nothing behind.
        let bytes = tokio::select! {
            saved = save(&self.out, &session.api, &self.media, download) => saved?,
            _ = tokio::signal::ctrl_c() => {
                return Err(Failure::new(
                    Kind::Interrupted,
                    format!("interrupted; {} was left as it was", self.out.display()),
                ));
            }
        };
        if json {
            json_line(&json!({
                "path": self.out.display().to_string(),
                "bytes": bytes,
                "content_type": content_type,
            }));
        } else {
            println!(
                "wrote {} bytes{} to {}",
                bytes,
                content_type.map(|t| format!(" of {t}")).unwrap_or_default(),
                self.out.display()
            );
        }
        Ok(())
    }
}

/// Writes the download's chunks to a temporary sibling of `out`, then `fsync`s it, renames it
/// over `out` and `fsync`s the directory. Returns the bytes written.
///
/// A body that breaks off is asked for again from the bytes written so far, up to
/// [`MAX_RESUMES`] times, when the server said it serves ranges; the client hands out exactly
/// the bytes from that offset whatever the server answers, so they are appended as they come.
///
/// Writes are synchronous: a local file takes a chunk in far less time than the network
/// takes to bring the next, and the command runs nothing else meanwhile.
async fn save(
    out: &Path,
    api: &Api,
    media: &DownloadMedia,
    mut download: MediaStream,
) -> Result<u64, Failure> {
    let io_failure = |e: std::io::Error| Failure::io(out.display(), &e);
    // Removed when dropped unless persisted: after an error, and also when the download is
    // dropped half-way. Its name is unpredictable and it is readable by its owner alone.
    let mut partial = tempfile::Builder::new()
        .prefix(".xdm-")
        .suffix(".part")
        .tempfile_in(parent(out))
        .map_err(io_failure)?;
    let mut written = 0u64;
    let mut resumes = 0;
    loop {
        match download.next_chunk().await {
            Some(Ok(chunk)) => {
                partial.write_all(&chunk).map_err(io_failure)?;
                written += chunk.len() as u64;
            }
            None => break,
            Some(Err(error)) if download.accepts_ranges() && resumes < MAX_RESUMES => {
                resumes += 1;
                eprintln!(
                    "the download broke off after {written} bytes ({error}); \
                     resuming ({resumes} of {MAX_RESUMES})"
                );
                let rest = media.clone().with_offset(written);
                download = api.download_media_stream(&rest).await?;
            }
            Some(Err(error)) => return Err(error.into()),
        }
    }
    partial.as_file().sync_all().map_err(io_failure)?;
    partial.persist(out).map_err(|e| io_failure(e.error))?;
    sync_dir(out).map_err(io_failure)?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Kind;

    #[test]
    fn a_url_that_names_no_media_is_refused() {
        let e = Plan::new("x".into(), "https://example.com/nothing").unwrap_err();
        assert_eq!(e.kind, Kind::Input);
        assert!(Plan::new(
            "x".into(),
            "https://ton.twitter.com/1.1/ton/data/dm/1589472163941056517/1589472151165317121/ncc3LNYu.jpg"
        )
        .is_ok());
    }
}
