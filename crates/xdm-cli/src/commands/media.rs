//! `xdm media`: downloads DM media to a file, atomically.
//!
//! The bytes go to a temporary file beside the target, are made durable, and the file is
//! renamed over the target: a failed or interrupted download never leaves a half-written
//! file under the name asked for.

use std::path::PathBuf;

use serde_json::json;
use xdm_core::endpoints::DownloadMedia;

use crate::checkpoint::write_atomically;
use crate::connect::Session;
use crate::exit::Failure;
use crate::output::json_line;

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
        let content = session.api.download_media(&self.media).await?;
        write_atomically(&self.out, &content.body)
            .map_err(|e| Failure::io(self.out.display(), &e))?;
        let content_type = content.content_type.clone();
        if json {
            json_line(&json!({
                "path": self.out.display().to_string(),
                "bytes": content.body.len(),
                "content_type": content_type,
            }));
        } else {
            println!(
                "wrote {} bytes{} to {}",
                content.body.len(),
                content_type.map(|t| format!(" of {t}")).unwrap_or_default(),
                self.out.display()
            );
        }
        Ok(())
    }
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
