//! Matrix 1: every fault the emulator can inject, against every operation of the client.
//!
//! The table of expected outcomes ([`expected`]) is written down first, as data; one test runs
//! every cell against a fresh emulator and checks the outcome, that nothing panicked or hung
//! past its budget, that no message was stored twice, and that an export holds each event once.

use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use xdm_client::{Error, ReconcilePolicy};
use xdm_core::endpoints::{
    ListConversationEvents, ListEvents, ListParams, ListParticipantEvents, Message,
};
use xdm_core::error::ApiErrorKind;
use xdm_core::upload::MediaType;
use xdm_emulator::{Fault, FaultKind, GroupLimits, RateLimits};

use crate::support::{Tally, run_cells};
use crate::world::{FaultName, MAX_RESPONSE, World, faults_past_limits, requests_to};

/// The operations of the client, each run once per cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    ListEvents,
    GetEvent,
    ListConversation,
    ListParticipant,
    SendToParticipant,
    SendToConversation,
    CreateGroup,
    /// A send with reconciliation: an unknown outcome is resolved by looking first.
    SendReconciled,
    Delete,
    Block,
    Unblock,
    Upload,
    Download,
    /// Every event of a conversation, page by page, through the event stream.
    Export,
}

const OPS: [Op; 14] = [
    Op::ListEvents,
    Op::GetEvent,
    Op::ListConversation,
    Op::ListParticipant,
    Op::SendToParticipant,
    Op::SendToConversation,
    Op::CreateGroup,
    Op::SendReconciled,
    Op::Delete,
    Op::Block,
    Op::Unblock,
    Op::Upload,
    Op::Download,
    Op::Export,
];

impl Op {
    /// The method and path template the cell's fault is armed on.
    fn target(self) -> (&'static str, &'static str) {
        match self {
            Op::ListEvents => ("GET", "/2/dm_events"),
            Op::GetEvent => ("GET", "/2/dm_events/{event_id}"),
            Op::ListConversation | Op::Export => ("GET", "/2/dm_conversations/{id}/dm_events"),
            Op::ListParticipant => ("GET", "/2/dm_conversations/with/{participant_id}/dm_events"),
            Op::SendToParticipant | Op::SendReconciled => {
                ("POST", "/2/dm_conversations/with/{participant_id}/messages")
            }
            Op::SendToConversation => ("POST", "/2/dm_conversations/{dm_conversation_id}/messages"),
            Op::CreateGroup => ("POST", "/2/dm_conversations"),
            Op::Delete => ("DELETE", "/2/dm_events/{event_id}"),
            Op::Block => ("POST", "/2/users/{id}/dm/block"),
            Op::Unblock => ("POST", "/2/users/{id}/dm/unblock"),
            // The middle step: a segment of the file.
            Op::Upload => ("POST", "/2/media/upload/{id}/append"),
            Op::Download => (
                "GET",
                "/2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}",
            ),
        }
    }

    fn is_send(self) -> bool {
        matches!(
            self,
            Op::SendToParticipant | Op::SendToConversation | Op::CreateGroup | Op::SendReconciled
        )
    }

    /// Whether the emulator counts this operation against a rate limit (media has none).
    fn rate_limited(self) -> bool {
        !matches!(self, Op::Upload | Op::Download)
    }
}

/// What goes wrong in a cell.
#[derive(Debug, Clone)]
pub(crate) enum Inject {
    Fault(FaultKind),
    /// A 429 with a reset about a second away (the limit spent by another client).
    RateLimited,
    /// A 429 usage cap.
    UsageCap,
    /// A 402 credits depleted.
    Credits,
}

impl fmt::Display for Inject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Inject::Fault(k) => FaultName(k).fmt(f),
            Inject::RateLimited => f.write_str("429 with reset"),
            Inject::UsageCap => f.write_str("usage cap"),
            Inject::Credits => f.write_str("402 credits"),
        }
    }
}

fn injects() -> Vec<Inject> {
    faults_past_limits()
        .into_iter()
        .map(Inject::Fault)
        .chain([Inject::RateLimited, Inject::UsageCap, Inject::Credits])
        .collect()
}

/// The outcome a cell must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Retried (or not needed) and succeeded; a send stored exactly once; an export complete.
    Succeeds,
    /// Succeeded, but the bytes may not be the file's: a download whose body the fault
    /// replaced with a consistent shorter one, which no client can detect without a checksum
    /// (X's API offers none).
    SucceedsUncheckedBody,
    /// `Error::OutcomeUnknown`, with the message stored this many times (0 or 1).
    OutcomeUnknown(usize),
    /// `Error::Api` of kind `Undecodable`; a send stored this many times.
    Undecodable(usize),
    /// `Error::Transport`, not retried (a body over the size cap); a send stored this many
    /// times.
    Transport(usize),
    /// `Error::Api` of kind `UsageCapped`, nothing stored.
    UsageCapped,
    /// `Error::Api` of kind `CreditsDepleted`, nothing stored.
    CreditsDepleted,
}

/// The table: what each fault must do to each operation.
pub(crate) fn expected(inject: &Inject, op: Op) -> Expect {
    use Expect::*;
    let send = op.is_send();
    // A send that may have reached X is never repeated blindly: the caller is told the outcome
    // is unknown, or (with reconciliation) the client looks for it and sends only if absent.
    let unknown = |stored: usize| match op {
        Op::SendReconciled => Succeeds,
        _ if send => OutcomeUnknown(stored),
        _ => Succeeds,
    };
    match inject {
        // Nothing was processed: reads and idempotent writes are retried.
        Inject::Fault(FaultKind::CloseBeforeResponse) => unknown(0),
        Inject::Fault(FaultKind::Status(_)) => unknown(0),
        // Processed, then the answer was lost or late.
        Inject::Fault(
            FaultKind::CloseAfterProcessing
            | FaultKind::CloseAfterHeaders
            | FaultKind::CloseMidBody
            | FaultKind::DelayHeaders(_)
            | FaultKind::DelayBody(_),
        ) => unknown(1),
        // A complete answer with a broken body: not retried (the same request would get the
        // same answer), reported as undecodable. Uploads ignore the append's body; a download's
        // body is not JSON and cannot be checked.
        Inject::Fault(FaultKind::TruncatedJson | FaultKind::InvalidJson) => match op {
            Op::Upload => Succeeds,
            Op::Download => SucceedsUncheckedBody,
            _ => Undecodable(usize::from(send)),
        },
        // Over the size cap: not retried. A send's message was stored, so its outcome is
        // unknown to the caller and must be reported as such.
        Inject::Fault(FaultKind::OversizedBody(_)) if send && op != Op::SendReconciled => {
            OutcomeUnknown(1)
        }
        Inject::Fault(FaultKind::OversizedBody(_)) if op == Op::SendReconciled => Succeeds,
        Inject::Fault(FaultKind::OversizedBody(_)) => Transport(0),
        Inject::RateLimited => Succeeds,
        Inject::UsageCap => UsageCapped,
        Inject::Credits => CreditsDepleted,
        Inject::Fault(other) => panic!("no expectation written for {other:?}"),
    }
}

/// What an operation returned, reduced to what the checks need.
#[derive(Debug)]
enum Detail {
    Sent,
    Items(usize),
    Bool(bool),
    Bytes(Bytes),
    Uploaded,
    Export,
}

/// Runs `op` once; returns its outcome and, for an export, the event ids delivered.
async fn run(
    op: Op,
    world: &World,
    client: &xdm_hyper::Client,
    text: &str,
) -> (Result<Detail, Error>, Vec<String>) {
    let message = || Message::text(text).expect("valid text");
    let mut exported = Vec::new();
    let result = match op {
        Op::ListEvents => client
            .list_page(&ListEvents::new().with_max_results(10).expect("valid"))
            .await
            .map(|p| Detail::Items(p.items().len())),
        Op::GetEvent => client
            .get_event(&world.my_event)
            .await
            .map(|r| Detail::Items(usize::from(r.data.is_some()))),
        Op::ListConversation => client
            .list_page(
                &ListConversationEvents::new(world.pair.clone())
                    .with_max_results(10)
                    .expect("valid"),
            )
            .await
            .map(|p| Detail::Items(p.items().len())),
        Op::ListParticipant => client
            .list_page(
                &ListParticipantEvents::new(world.alice.clone())
                    .with_max_results(10)
                    .expect("valid"),
            )
            .await
            .map(|p| Detail::Items(p.items().len())),
        Op::SendToParticipant | Op::SendReconciled => client
            .send_to_participant(&world.alice, message())
            .await
            .map(|_| Detail::Sent),
        Op::SendToConversation => client
            .send_to_conversation(&world.pair, message())
            .await
            .map(|_| Detail::Sent),
        Op::CreateGroup => client
            .create_group([world.alice.clone(), world.bob.clone()], message())
            .await
            .map(|_| Detail::Sent),
        Op::Delete => client
            .delete_event(&world.my_event)
            .await
            .map(|d| Detail::Bool(d.is_deleted())),
        Op::Block => client
            .block_user(&world.bob)
            .await
            .map(|b| Detail::Bool(b.is_blocked())),
        Op::Unblock => client
            .unblock_user(&world.bob)
            .await
            .map(|b| Detail::Bool(b.is_blocked())),
        Op::Upload => {
            // Three segments, so the fault hits a segment in the middle of a file.
            let png = Bytes::from(vec![0x89u8; 3 * 1024]);
            let source = xdm_client::MediaSource::from_bytes(png, MediaType::Png);
            world
                .upload_client()
                .upload_media(source)
                .await
                .map(|_| Detail::Uploaded)
        }
        Op::Download => {
            let media = world.media.as_ref().expect("the demo world has a photo");
            client
                .download_media(media)
                .await
                .map(|m| Detail::Bytes(m.body))
        }
        Op::Export => {
            let params = ListParams::new().with_max_results(10).expect("valid");
            let mut events = client
                .list_conversation_events_with(&world.pair, params)
                .events();
            let mut failed = None;
            while let Some(item) = events.next().await {
                match item {
                    Ok(item) => exported.push(item.into_event().id.unwrap_or_default()),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            match failed {
                Some(e) => Err(e),
                None => Ok(Detail::Export),
            }
        }
    };
    (result, exported)
}

/// Arms `inject` for `op` in `world`.
async fn arm(inject: &Inject, op: Op, world: &World, text: &str) {
    let h = world.emu.handle();
    let (method, path) = op.target();
    match inject {
        Inject::Fault(kind) => {
            if op == Op::Export {
                // Mid-export: the second page request fails once.
                h.inject(Fault::every(method, path, 2, kind.clone()));
                // Only once: clear it after it fired, by arming it as "every 2nd" and letting
                // the check below see one failure at most.
            } else {
                h.inject(Fault::once(method, path, kind.clone()));
            }
        }
        Inject::RateLimited => {
            // The export reads 5 pages. With one request per window it would wait out a window
            // per page, and since X's reset header counts whole seconds, a one-second window
            // opened just past a second boundary reports a reset almost 2 s away: about 10 s
            // in all, past the cell's budget, for a client that does exactly what the server
            // says. Three requests per window keep one wait in the middle of the export.
            let per_window = if op == Op::Export { 3 } else { 1 };
            let tight = GroupLimits {
                user_per_window: per_window,
                user_per_day: None,
                app_per_window: None,
                app_per_day: None,
            };
            h.set_rate_limits(RateLimits {
                enabled: true,
                window: Duration::from_secs(1),
                read: tight,
                send: tight,
                delete: tight,
                block: tight,
                ..RateLimits::default()
            });
            if op.rate_limited() {
                // Another client of the same user spends the window, so this one gets a 429.
                let other = world.client(ReconcilePolicy::Off);
                let warm = format!("{text} (warm-up)");
                if op == Op::Delete {
                    // Spend the delete window on another message of mine, not the target.
                    let other_event = world
                        .emu
                        .handle()
                        .events()
                        .into_iter()
                        .find(|e| {
                            e.sender_id == world.me.as_str()
                                && e.id != world.my_event.as_str()
                                && e.event_type == xdm_emulator::EventType::MessageCreate
                        })
                        .and_then(|e| xdm_core::ids::EventId::parse(&e.id).ok())
                        .expect("another message of mine");
                    let _ = other.delete_event(&other_event).await;
                    return;
                }
                for _ in 0..per_window {
                    let _ = run(
                        if op == Op::Export {
                            Op::ListConversation
                        } else {
                            op
                        },
                        world,
                        &other,
                        &warm,
                    )
                    .await;
                }
            }
        }
        Inject::UsageCap => h.set_usage_capped(true),
        Inject::Credits => h.set_credits_depleted(true),
    }
}

/// Runs one cell and checks it against the table.
async fn cell(inject: Inject, op: Op, expect: Expect) -> Result<(), String> {
    let world = World::start(60).await;
    let reconcile = if op == Op::SendReconciled {
        ReconcilePolicy::look_before_resend()
    } else {
        ReconcilePolicy::Off
    };
    // Media download takes OAuth 2.0 only; every other cell signs with OAuth 1.0a.
    let client = if op == Op::Download {
        world.oauth2_client()
    } else {
        world.client(reconcile)
    };
    let text = format!("cell {inject} x {op:?} {}", std::process::id());
    // The export's reference listing, taken before anything changes.
    let listing = world.conversation_events(world.pair.as_str());
    let reference = if op == Op::Download {
        let media = world.media.as_ref().expect("photo");
        Some(
            client
                .download_media(media)
                .await
                .map_err(|e| format!("reference download: {e}"))?
                .body,
        )
    } else {
        None
    };
    arm(&inject, op, &world, &text).await;
    let started = Instant::now();
    let (result, exported) = run(op, &world, &client, &text).await;
    let took = started.elapsed();
    let stored = world.stored(&text);
    let outcome = check(
        op,
        expect,
        &result,
        stored,
        &exported,
        &listing,
        reference.as_ref(),
        &world,
    );
    if let Some(e) = &result.as_ref().err() {
        // Every error prints as one readable line.
        let line = e.to_string();
        if line.is_empty() || line.contains('\n') || line.len() > 1000 {
            return Err(format!("error message is not one readable line: {line:?}"));
        }
    }
    // Never more than one copy of a message, whatever happened.
    if stored > 1 {
        return Err(format!("message stored {stored} times"));
    }
    // The emulator saw at most the attempts the retry policy allows per request.
    let attempts = requests_to(&world.emu, op.target().1);
    if op != Op::Export && op != Op::Upload && attempts > 6 {
        return Err(format!("{attempts} requests to {}", op.target().1));
    }
    if took > Duration::from_secs(8) {
        return Err(format!("took {took:?}"));
    }
    world.emu.shutdown().await;
    outcome
}

#[allow(clippy::too_many_arguments)]
fn check(
    op: Op,
    expect: Expect,
    result: &Result<Detail, Error>,
    stored: usize,
    exported: &[String],
    listing: &[String],
    reference: Option<&Bytes>,
    world: &World,
) -> Result<(), String> {
    let got = || match result {
        Ok(d) => format!("Ok({d:?})"),
        Err(e) => format!("Err({e}) [{}]", variant(e)),
    };
    // An export never delivers an event twice, even when it fails part-way.
    let unique: HashSet<&String> = exported.iter().collect();
    if unique.len() != exported.len() {
        return Err(format!(
            "export delivered {} events, {} distinct",
            exported.len(),
            unique.len()
        ));
    }
    let stored_ok = |n: usize| {
        if op.is_send() && stored != n {
            Err(format!(
                "message stored {stored} times, expected {n}; got {}",
                got()
            ))
        } else {
            Ok(())
        }
    };
    match (expect, result) {
        (Expect::Succeeds | Expect::SucceedsUncheckedBody, Ok(detail)) => {
            stored_ok(1)?;
            match (op, detail) {
                (Op::Export, _) => {
                    let want: HashSet<&String> = listing.iter().collect();
                    if unique != want {
                        return Err(format!(
                            "export holds {} events, the conversation {} ({} missing)",
                            unique.len(),
                            want.len(),
                            want.difference(&unique).count()
                        ));
                    }
                }
                (Op::Delete, Detail::Bool(true)) => {
                    if world.emu.handle().event(world.my_event.as_str()).is_some() {
                        return Err("deleted, yet the event is still there".into());
                    }
                }
                (Op::Block, Detail::Bool(true)) => {
                    if !world
                        .emu
                        .handle()
                        .is_blocked(world.me.as_str(), world.bob.as_str())
                    {
                        return Err("blocked, yet the emulator has no block".into());
                    }
                }
                (Op::Unblock, Detail::Bool(false)) => {}
                (Op::Download, Detail::Bytes(b)) => {
                    if expect == Expect::Succeeds && Some(b) != reference {
                        return Err(format!(
                            "downloaded {} bytes that differ from the file",
                            b.len()
                        ));
                    }
                }
                (_, Detail::Items(n)) if *n > 0 => {}
                (_, Detail::Sent | Detail::Uploaded) => {}
                (_, d) => return Err(format!("unexpected result {d:?}")),
            }
            Ok(())
        }
        (Expect::OutcomeUnknown(n), Err(Error::OutcomeUnknown(_))) => stored_ok(n),
        (Expect::Undecodable(n), Err(Error::Api(a)))
            if matches!(a.kind(), ApiErrorKind::Undecodable { .. }) =>
        {
            stored_ok(n)
        }
        (Expect::Transport(n), Err(Error::Transport(_))) => stored_ok(n),
        (Expect::UsageCapped, Err(Error::Api(a)))
            if matches!(a.kind(), ApiErrorKind::UsageCapped { .. }) =>
        {
            stored_ok(0)
        }
        (Expect::CreditsDepleted, Err(Error::Api(a)))
            if matches!(a.kind(), ApiErrorKind::CreditsDepleted) =>
        {
            stored_ok(0)
        }
        _ => Err(format!(
            "expected {expect:?}, got {} (stored {stored})",
            got()
        )),
    }
}

fn variant(e: &Error) -> &'static str {
    match e {
        Error::InvalidInput(_) => "InvalidInput",
        Error::Api(_) => "Api",
        Error::Transport(_) => "Transport",
        Error::Authorization(_) => "Authorization",
        Error::RateLimited { .. } => "RateLimited",
        Error::OutcomeUnknown(_) => "OutcomeUnknown",
        Error::Reconciliation { .. } => "Reconciliation",
        Error::Config(_) => "Config",
        Error::Upload(_) => "Upload",
        _ => "other",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_against_every_operation() {
    let mut cells = Vec::new();
    for inject in injects() {
        for op in OPS {
            let expect = expected(&inject, op);
            cells.push((inject.clone(), op, expect));
        }
    }
    let results = run_cells(
        cells.clone(),
        8,
        Duration::from_secs(10),
        Err,
        |(inject, op, expect)| cell(inject, op, expect),
    )
    .await;
    let mut tally = Tally::new("faults_x_operations");
    for ((inject, op, expect), outcome) in cells.iter().zip(results) {
        tally.record(format!("{inject} x {op:?} (expect {expect:?})"), outcome);
    }
    tally.finish();
}

/// Regression (was a known bug): a send whose 201 answer is larger than the client accepts: the message is stored, so the
/// caller must learn that the outcome is unknown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_with_oversized_response_is_outcome_unknown() {
    let world = World::start(20).await;
    let client = world.client(ReconcilePolicy::Off);
    world.emu.handle().inject(Fault::once(
        "POST",
        "/2/dm_conversations/with/{participant_id}/messages",
        FaultKind::OversizedBody(MAX_RESPONSE * 2),
    ));
    let text = "oversized answer";
    let result = client
        .send_to_participant(&world.alice, Message::text(text).expect("valid"))
        .await;
    assert_eq!(world.stored(text), 1, "the message is stored");
    let err = result.expect_err("the answer was too large");
    assert!(err.is_outcome_unknown(), "got {err}");
}

/// Regression (was a known bug): a delete whose answer is lost after the emulator processed
/// it; the retry's 404 means the event is deleted as asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_retried_after_lost_response_reports_deleted() {
    let world = World::start(20).await;
    let client = world.client(ReconcilePolicy::Off);
    world.emu.handle().inject(Fault::once(
        "DELETE",
        "/2/dm_events/{event_id}",
        FaultKind::CloseAfterProcessing,
    ));
    let result = client.delete_event(&world.my_event).await;
    assert!(
        world.emu.handle().event(world.my_event.as_str()).is_none(),
        "deleted"
    );
    match result {
        Ok(deletion) => assert!(deletion.is_deleted()),
        Err(e) => panic!("unexpected: {e}"),
    }
}
