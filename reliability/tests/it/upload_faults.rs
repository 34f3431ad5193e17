//! Matrix 1b: every fault on every step of a chunked media upload (initialize, append,
//! finalize, status), through `upload_media` and through `send_with_media`.
//!
//! What a user needs from an upload that met a fault: either a media id that really works
//! (a message can carry it, and the bytes X holds are the file's), or an error that says
//! which kind of failure it was. A send with media must never go out with a media id whose
//! upload failed, and never twice.

use std::time::Duration;

use bytes::Bytes;
use xdm_client::{Error, MediaSource, Recipient};
use xdm_core::endpoints::Message;
use xdm_core::error::ApiErrorKind;
use xdm_core::fields::{Expansion, FieldSet, MediaField};
use xdm_core::upload::MediaType;
use xdm_emulator::{Fault, FaultKind};

use crate::support::{Tally, run_cells};
use crate::world::{FaultName, World, faults_past_limits, requests_to};

/// The step a cell's fault is armed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Initialize,
    Append,
    Finalize,
    /// A status poll while X processes a video.
    Status,
}

const STEPS: [Step; 4] = [Step::Initialize, Step::Append, Step::Finalize, Step::Status];

impl Step {
    fn target(self) -> (&'static str, &'static str) {
        match self {
            Step::Initialize => ("POST", "/2/media/upload/initialize"),
            Step::Append => ("POST", "/2/media/upload/{id}/append"),
            Step::Finalize => ("POST", "/2/media/upload/{id}/finalize"),
            Step::Status => ("GET", "/2/media/upload"),
        }
    }
}

/// The file a cell uploads. Only a video (or GIF) is processed after finalize, so only its
/// upload polls the status; the other cells use a photo, which is ready at once and quicker
/// to test.
fn media_for(steps: &[Step]) -> (Bytes, MediaType) {
    // Three 1 KiB segments (the cells' chunk size), so an append fault hits the middle.
    let body: Vec<u8> = (0..3 * 1024u32).map(|i| (i % 251) as u8).collect();
    let kind = if steps.contains(&Step::Status) {
        MediaType::Mp4
    } else {
        MediaType::Png
    };
    (Bytes::from(body), kind)
}

/// How the upload is driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Upload,
    SendWithMedia,
}

/// What a cell must end with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A media id that a message can carry, with the file's bytes; a send stored once.
    Usable,
    /// `Error::Api` of kind `Undecodable`: the step's answer was a success whose body cannot
    /// be read, which repeating the request would not cure.
    Undecodable,
    /// `Error::Transport`: an answer over the size cap, not retried.
    Transport,
}

/// The table, written before the runs.
fn expected(kind: &FaultKind, step: Step) -> Expect {
    match kind {
        // Each step is idempotent (a repeated initialize leaves an unused upload behind, a
        // repeated append rewrites its segment, status is a read), so a lost or failed
        // answer is retried; a repeated finalize is answered "already finalized", which the
        // client must see through by asking the status, since the media is ready.
        FaultKind::CloseBeforeResponse
        | FaultKind::CloseAfterProcessing
        | FaultKind::CloseAfterHeaders
        | FaultKind::CloseMidBody
        | FaultKind::Status(_)
        | FaultKind::DelayHeaders(_)
        | FaultKind::DelayBody(_) => Expect::Usable,
        // An append's answer is not read; the others carry the media id or its state.
        FaultKind::TruncatedJson | FaultKind::InvalidJson if step == Step::Append => Expect::Usable,
        FaultKind::TruncatedJson | FaultKind::InvalidJson => Expect::Undecodable,
        FaultKind::OversizedBody(_) => Expect::Transport,
        other => panic!("no expectation written for {other:?}"),
    }
}

/// Whether the error is one of the kinds a caller can act on, and names what failed.
fn classified(e: &Error) -> Result<&'static str, String> {
    let line = e.to_string();
    if line.is_empty() || line.contains('\n') || line.len() > 1000 {
        return Err(format!("error is not one readable line: {line:?}"));
    }
    Ok(match e {
        Error::Api(a) => match a.kind() {
            ApiErrorKind::Undecodable { .. } => "Undecodable",
            ApiErrorKind::InvalidRequest { .. } => "InvalidRequest",
            ApiErrorKind::Server => "Server",
            _ => "Api(other)",
        },
        Error::Transport(_) => "Transport",
        Error::OutcomeUnknown(_) => "OutcomeUnknown",
        Error::Upload(_) => "Upload",
        other => return Err(format!("unclassified for an upload: {other:?}")),
    })
}

/// Checks that `media_id` works: a message carries it, and the photo X serves is the file.
async fn usable(world: &World, media_id: &str, file: &Bytes, photo: bool) -> Result<(), String> {
    let probe = world.client(xdm_client::ReconcilePolicy::Off);
    let id = xdm_core::ids::MediaId::parse(media_id).map_err(|e| e.to_string())?;
    let sent = probe
        .send_to_participant(&world.alice, Message::media(id))
        .await
        .map_err(|e| format!("the media id {media_id} cannot be sent: {e}"))?;
    if !photo {
        return Ok(());
    }
    let event = sent.event_id.ok_or("the send named no event")?;
    let fields = FieldSet::new()
        .with_expansions([Expansion::AttachmentsMediaKeys])
        .with_media_fields([MediaField::Url, MediaField::MediaKey]);
    let got = probe
        .get_event_with(&event, fields)
        .await
        .map_err(|e| e.to_string())?;
    let url = got
        .includes
        .media
        .iter()
        .flatten()
        .find_map(|m| m.url.clone())
        .ok_or("the sent event has no media URL")?;
    let download =
        xdm_core::endpoints::DownloadMedia::from_media_url(&url).map_err(|e| e.to_string())?;
    let body = world
        .oauth2_client()
        .download_media(&download)
        .await
        .map_err(|e| e.to_string())?
        .body;
    if body == file {
        Ok(())
    } else {
        Err(format!(
            "X holds {} bytes that are not the file's {}",
            body.len(),
            file.len()
        ))
    }
}

/// Uploads with each of `faults` armed once on its step, and checks the end against `expect`.
async fn cell(faults: Vec<(FaultKind, Step)>, via: Via, expect: Expect) -> Result<(), String> {
    let world = World::start(10).await;
    let client = world.upload_client();
    for (kind, step) in &faults {
        let (method, path) = step.target();
        world
            .emu
            .handle()
            .inject(Fault::once(method, path, kind.clone()));
    }
    let steps: Vec<Step> = faults.iter().map(|(_, step)| *step).collect();
    let (file, media_type) = media_for(&steps);
    let source = MediaSource::from_bytes(file.clone(), media_type);
    let text = format!("upload {steps:?} {via:?} {}", std::process::id());
    let h = world.emu.handle();
    let result = match via {
        Via::Upload => client.upload_media(source).await.map(|m| m.id.to_string()),
        Via::SendWithMedia => client
            .send_with_media(
                Recipient::Participant(world.alice.clone()),
                Some(text.clone()),
                source,
            )
            .await
            .map(|s| s.event_id.map(|id| id.to_string()).unwrap_or_default()),
    };
    if let Some(step) = steps
        .iter()
        .find(|step| requests_to(&world.emu, step.target().1) == 0)
    {
        return Err(format!("the {step:?} step was never requested"));
    }
    let stored: Vec<_> = h
        .events()
        .into_iter()
        .filter(|e| e.text.as_deref() == Some(text.as_str()))
        .collect();
    if stored.len() > 1 {
        return Err(format!("message stored {} times", stored.len()));
    }
    let outcome = match (&result, expect) {
        (Ok(id), Expect::Usable) => match via {
            Via::Upload => usable(&world, id, &file, media_type == MediaType::Png).await,
            Via::SendWithMedia => match stored.first() {
                Some(e) if e.id == *id && !e.media_keys.is_empty() => Ok(()),
                Some(e) => Err(format!("stored without its media: {:?}", e.media_keys)),
                None => Err("reported sent, yet not stored".into()),
            },
        },
        (Err(e), _) => {
            let class = classified(e)?;
            if !stored.is_empty() {
                Err(format!("failed ({e}), yet the message was sent"))
            } else {
                match (expect, class) {
                    (Expect::Undecodable, "Undecodable") | (Expect::Transport, "Transport") => {
                        Ok(())
                    }
                    _ => Err(format!("expected {expect:?}, got {class}: {e}")),
                }
            }
        }
        (Ok(_), _) => Err(format!("expected {expect:?}, got a media id")),
    };
    world.emu.shutdown().await;
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_on_every_upload_step() {
    let mut cells = Vec::new();
    for kind in faults_past_limits() {
        for step in STEPS {
            for via in [Via::Upload, Via::SendWithMedia] {
                cells.push((kind.clone(), step, via, expected(&kind, step)));
            }
        }
    }
    let results = run_cells(
        cells.clone(),
        8,
        Duration::from_secs(15),
        Err,
        |(kind, step, via, expect)| cell(vec![(kind, step)], via, expect),
    )
    .await;
    let mut tally = Tally::new("faults_x_upload_steps");
    for ((kind, step, via, expect), outcome) in cells.iter().zip(results) {
        tally.record(
            format!(
                "{} x {step:?} via {via:?} (expect {expect:?})",
                FaultName(kind)
            ),
            outcome,
        );
    }
    tally.finish();
}

/// Two faults on one upload, drawn from a seed among those a retry cures: on two steps, or
/// twice on the same one. Whatever the pair, the upload must end usable and a message with it
/// must be stored once. More seeds with `XDM_RELIABILITY_SEEDS`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_faults_on_one_upload() {
    let cured: Vec<FaultKind> = faults_past_limits()
        .into_iter()
        .filter(|kind| {
            STEPS
                .iter()
                .all(|&step| expected(kind, step) == Expect::Usable)
        })
        .collect();
    let mut cells = Vec::new();
    for seed in 0..crate::support::seeds(8) {
        // A small linear congruential generator: the same seed draws the same cell.
        let mut state = u64::from(seed).wrapping_mul(6_364_136_223_846_793_005) ^ 0x5DEE_CE66;
        let mut draw = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % n
        };
        let faults: Vec<(FaultKind, Step)> = (0..2)
            .map(|_| (cured[draw(cured.len())].clone(), STEPS[draw(STEPS.len())]))
            .collect();
        let via = if draw(2) == 0 {
            Via::Upload
        } else {
            Via::SendWithMedia
        };
        cells.push((seed, faults, via));
    }
    let results = run_cells(
        cells.clone(),
        4,
        Duration::from_secs(30),
        Err,
        |(_, faults, via)| cell(faults, via, Expect::Usable),
    )
    .await;
    let mut tally = Tally::new("two_faults_x_upload");
    for ((seed, faults, via), outcome) in cells.iter().zip(results) {
        let names: Vec<String> = faults
            .iter()
            .map(|(kind, step)| format!("{} on {step:?}", FaultName(kind)))
            .collect();
        tally.record(
            format!("seed {seed}: {} via {via:?}", names.join(" + ")),
            outcome,
        );
    }
    tally.finish();
}
