//! Bugs this suite found in other crates that are fixed now, each kept as a test of the
//! behaviour that was missing, so that it cannot come back unnoticed.

use std::time::{Duration, SystemTime};

use http::StatusCode;
use xdm_client::{AuthorizationError, Error};
use xdm_core::EndpointGroup;
use xdm_core::endpoints::ListEvents;
use xdm_core::rate_limit::{Admit, LimiterConfig, RateLimitSnapshot, RateLimitWindow, RateLimiter};
use xdm_core::retry::ReachedServer;
use xdm_emulator::{Fault, FaultKind};

use crate::world::{World, expired_oauth2_client};

const TOKEN: &str = "/2/oauth2/token";

fn at(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + ms)
}

fn window(limit: u32, remaining: u32, reset: SystemTime) -> RateLimitSnapshot {
    RateLimitSnapshot {
        window: Some(RateLimitWindow {
            limit,
            remaining,
            reset,
        }),
        ..RateLimitSnapshot::default()
    }
}

/// Was: once a learned window rolled over, the limiter guessed the next reset 15 minutes on
/// and dropped a server report naming an earlier one, so after a 429 the client waited for its
/// own guess. With one-request windows of one second, the limiter must follow the server.
#[test]
fn limiter_follows_an_earlier_server_reset_after_rolling_over() {
    let read = EndpointGroup::ReadEvents;
    let mut l = RateLimiter::new(LimiterConfig::default());
    assert_eq!(l.poll_admit(&1u64, read, at(0)), Admit::Send);
    l.handle_response(&1, read, &window(1, 0, at(1000)), StatusCode::OK, at(10));
    assert_eq!(l.poll_admit(&1, read, at(500)), Admit::WaitUntil(at(1000)));
    // Past the reset: a request goes out and is refused, with a reset at t=3s.
    assert_eq!(l.poll_admit(&1, read, at(1500)), Admit::Send);
    l.handle_response(
        &1,
        read,
        &window(1, 0, at(3000)),
        StatusCode::TOO_MANY_REQUESTS,
        at(1510),
    );
    assert_eq!(l.poll_admit(&1, read, at(2000)), Admit::WaitUntil(at(3000)));
    assert_eq!(l.poll_admit(&1, read, at(3500)), Admit::Send);
}

/// Was: a finalize X carried out but whose answer was lost was retried, X refused the retry
/// with 400 "already finalized", and the upload failed although the media was ready. The
/// upload must hand back the media id, which a message can carry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalize_retried_after_a_lost_answer_hands_back_the_ready_media() {
    use xdm_client::{MediaSource, ReconcilePolicy};
    use xdm_core::endpoints::Message;

    let world = World::start(10).await;
    let finalize = "/2/media/upload/{id}/finalize";
    let h = world.emu.handle();
    h.inject(Fault::once(
        "POST",
        finalize,
        FaultKind::CloseAfterProcessing,
    ));
    let client = world.client(ReconcilePolicy::Off);
    let png = MediaSource::from_bytes(vec![7u8; 2048], xdm_core::upload::MediaType::Png);
    let result = client.upload_media(png).await;
    let log = h.requests();
    let finalizes: Vec<_> = log.iter().filter(|r| r.template == finalize).collect();
    // The fault must have fired and the retry been refused, or this tests nothing.
    assert_eq!(finalizes.len(), 2, "one lost finalize and its retry");
    assert_eq!(finalizes[0].status, None, "the first answer was lost");
    assert_eq!(
        finalizes[1].status,
        Some(400),
        "X refuses a second finalize"
    );
    let id = finalizes[0]
        .path
        .split('/')
        .nth(4)
        .expect("/2/media/upload/{id}/finalize")
        .to_owned();
    let uploaded = result.unwrap_or_else(|e| panic!("the media is finalized, yet: {e}"));
    assert_eq!(uploaded.id.to_string(), id);
    client
        .send_to_participant(&world.alice, Message::media(uploaded.id))
        .await
        .expect("a message carries the media");
}

/// A client whose OAuth 2.0 token expired hours ago and must refresh before its first call.
/// It is not told its user id, as the client of the original reports was not.
fn expired_client(world: &World, refresh_token: String) -> xdm_hyper::Client {
    expired_oauth2_client(&world.emu, &refresh_token, None)
}

fn refreshes(world: &World) -> Vec<Option<u16>> {
    world
        .emu
        .handle()
        .requests()
        .iter()
        .filter(|r| r.template == TOKEN)
        .map(|r| r.status)
        .collect()
}

fn reauthorization_required(r: &Result<impl std::fmt::Debug, Error>) -> bool {
    matches!(
        r,
        Err(Error::Authorization(
            AuthorizationError::ReauthorizationRequired
        ))
    )
}

/// Was: X refuses a spent refresh token with `400 invalid_request`, which the token manager did
/// not take as final, so every call sent the dead token again. After one refusal, calls must
/// say to authorize again and send nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refresh_token_is_sent_once_then_reauthorization_is_required() {
    let world = World::start(10).await;
    // A refresh token X does not know, as after a rotation whose answer was lost.
    let client = expired_client(&world, "spent-refresh-token".into());
    let first = client.list_page(&ListEvents::new()).await;
    assert!(
        matches!(
            &first,
            Err(Error::Authorization(AuthorizationError::Refresh(e))) if e.to_string().contains("invalid_request")
        ),
        "X refuses the token: {first:?}"
    );
    assert_eq!(refreshes(&world), [Some(400)]);
    let before = world.emu.handle().requests().len();
    for _ in 0..2 {
        let later = client.list_page(&ListEvents::new()).await;
        assert!(reauthorization_required(&later), "{later:?}");
    }
    assert_eq!(
        world.emu.handle().requests().len(),
        before,
        "nothing is sent once the refresh token is known dead"
    );
}

/// Was reported as a passing network error: a refresh X carried out whose answer was lost.
/// No client can recover the rotated token, so the error must say what happened, the spent
/// token is tried at most once more, and then the user is told to authorize again, with
/// nothing sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_refresh_answer_is_reported_as_a_possibly_spent_token() {
    let world = World::start(10).await;
    let c = world.emu.credentials().oauth2.clone();
    let client = expired_client(&world, c.refresh_token.clone());
    world
        .emu
        .handle()
        .inject(Fault::once("POST", TOKEN, FaultKind::CloseAfterProcessing));
    let first = client.list_page(&ListEvents::new()).await;
    match &first {
        Err(Error::Authorization(AuthorizationError::RefreshTransport(t))) => {
            assert_eq!(t.failure().reached_server, ReachedServer::Maybe);
        }
        other => panic!("expected RefreshTransport, got {other:?}"),
    }
    let line = first.as_ref().err().map(ToString::to_string).unwrap();
    assert!(
        line.contains("refresh token is spent") && line.contains("authorized again"),
        "{line}"
    );
    assert!(!line.contains(&c.refresh_token), "{line}");
    // X carried the refresh out: its log shows the lost answer as no status.
    assert_eq!(refreshes(&world), [None]);
    let second = client.list_page(&ListEvents::new()).await;
    assert!(
        matches!(
            &second,
            Err(Error::Authorization(AuthorizationError::Refresh(_)))
        ),
        "the spent token is tried once and refused: {second:?}"
    );
    assert_eq!(refreshes(&world), [None, Some(400)]);
    let before = world.emu.handle().requests().len();
    let third = client.list_page(&ListEvents::new()).await;
    assert!(reauthorization_required(&third), "{third:?}");
    assert_eq!(world.emu.handle().requests().len(), before, "nothing sent");
}

/// A refresh X granted, whose 200 answer could not be read: X rotated the refresh token, so
/// the error must say what a lost answer's says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_refresh_answer_is_reported_as_a_spent_token() {
    for kind in [FaultKind::TruncatedJson, FaultKind::InvalidJson] {
        let world = World::start(10).await;
        let refresh_token = world.emu.credentials().oauth2.refresh_token.clone();
        let client = expired_client(&world, refresh_token);
        world
            .emu
            .handle()
            .inject(Fault::once("POST", TOKEN, kind.clone()));
        let line = match client.list_page(&ListEvents::new()).await {
            Ok(_) => panic!("{kind:?}: the refresh's answer could not be read"),
            Err(e) => e.to_string(),
        };
        assert_eq!(
            refreshes(&world),
            [Some(200)],
            "{kind:?}: X granted the refresh"
        );
        assert!(
            line.contains("spent") && line.contains("authorized again"),
            "{kind:?}: {line}"
        );
    }
}
