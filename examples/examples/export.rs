//! Pages through all DM events into a JSON Lines file, resumably.
//!
//! ```text
//! cargo run --example export -- events.jsonl
//! ```
//!
//! After each page, the events are appended and flushed, then the resume token is written to
//! `events.jsonl.checkpoint` (atomically, through a rename). A restart after a kill continues
//! from the checkpoint: the file is first cut back to the length the checkpoint recorded, so no
//! event is lost or repeated. Without environment it exports from an in-process emulator.
#![allow(clippy::print_stdout)]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use xdm::endpoints::ListParams;
use xdm::fields::{DmEventField, Expansion, FieldSet};
use xdm::ids::PaginationToken;

/// Where an interrupted export stands: the token of the next page and the output's length.
struct Checkpoint {
    token: Option<PaginationToken>,
    bytes: u64,
    done: bool,
}

fn checkpoint_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".checkpoint");
    PathBuf::from(name)
}

fn load(path: &Path) -> Result<Option<Checkpoint>, Box<dyn std::error::Error>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let value: serde_json::Value = serde_json::from_str(&text)?;
    let token = match value["token"].as_str() {
        Some(t) => Some(PaginationToken::parse(t)?),
        None => None,
    };
    Ok(Some(Checkpoint {
        token,
        bytes: value["bytes"].as_u64().unwrap_or(0),
        done: value["done"].as_bool().unwrap_or(false),
    }))
}

fn save(path: &Path, checkpoint: &Checkpoint) -> std::io::Result<()> {
    let value = serde_json::json!({
        "token": checkpoint.token.as_ref().map(|t| t.as_str()),
        "bytes": checkpoint.bytes,
        "done": checkpoint.done,
    });
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, value.to_string())?;
    fs::rename(tmp, path)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "events.jsonl".into()),
    );
    let checkpoint_file = checkpoint_path(&out);
    let connection = xdm_examples::connect(250).await?;

    let mut params = ListParams::new().with_max_results(100)?.with_fields(
        FieldSet::new()
            .with_dm_event_fields([
                DmEventField::Id,
                DmEventField::EventType,
                DmEventField::Text,
                DmEventField::CreatedAt,
                DmEventField::DmConversationId,
                DmEventField::SenderId,
                DmEventField::ParticipantIds,
                DmEventField::Attachments,
                DmEventField::Entities,
            ])
            .with_expansions([Expansion::SenderId, Expansion::AttachmentsMediaKeys]),
    );
    let mut written = 0u64;
    match load(&checkpoint_file)? {
        Some(c) if c.done => {
            println!(
                "{} is complete; delete {} to export again",
                out.display(),
                checkpoint_file.display()
            );
            return Ok(());
        }
        Some(c) => {
            // Anything written after the checkpoint belongs to a page that will come again.
            OpenOptions::new()
                .write(true)
                .open(&out)?
                .set_len(c.bytes)?;
            written = c.bytes;
            if let Some(token) = c.token {
                params = params.with_pagination_token(token);
            }
            println!("resuming at byte {written}");
        }
        None => {
            fs::write(&out, b"")?;
        }
    }

    let mut file = OpenOptions::new().append(true).open(&out)?;
    let mut pages = connection.client.list_events_with(params);
    let mut events = 0usize;
    while let Some(page) = pages.next_page().await {
        let page = page?;
        let mut chunk = Vec::new();
        for event in page.items() {
            serde_json::to_writer(&mut chunk, event)?;
            chunk.push(b'\n');
        }
        file.write_all(&chunk)?;
        file.sync_data()?;
        written += chunk.len() as u64;
        events += page.items().len();
        save(
            &checkpoint_file,
            &Checkpoint {
                token: pages.resume_token().cloned(),
                bytes: written,
                done: false,
            },
        )?;
        println!("page {}: {} events so far", pages.pages_seen(), events);
    }
    save(
        &checkpoint_file,
        &Checkpoint {
            token: None,
            bytes: written,
            done: true,
        },
    )?;
    println!(
        "exported {events} events to {} ({:?})",
        out.display(),
        pages.stop_reason()
    );
    Ok(())
}
