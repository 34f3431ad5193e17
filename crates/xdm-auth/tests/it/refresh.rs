//! The token manager, driven by a fake clock: expiry, 401, rotation and concurrent callers.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use xdm_auth::oauth2::{Bearer, RefreshOutcome, TokenAction, TokenManager, UserToken};
use xdm_auth::{AuthorizeError, ResponseError};
use xdm_core::{Authorize, Delivery, EndpointGroup, EndpointInfo, Scope};

use crate::support::{at, client, refresh_token_sent, response, token, token_response};

fn manager() -> TokenManager {
    TokenManager::new(client(), token("AT1", "RT1"))
}

fn use_(action: TokenAction) -> Bearer {
    match action {
        TokenAction::Use(b) => b,
        other => panic!("expected Use, got {other:?}"),
    }
}

#[test]
fn uses_until_the_margin_then_refreshes_once() {
    let m = manager().with_margin(Duration::from_secs(300));
    assert_eq!(
        use_(m.poll_token(at(6899))).access_token().expose_secret(),
        "AT1"
    );
    let TokenAction::Refresh(ticket) = m.poll_token(at(6900)) else {
        panic!("expected a refresh")
    };
    assert_eq!(refresh_token_sent(&ticket.request()), "RT1");
    // Still valid: others keep using it while the refresh is in flight.
    assert_eq!(
        use_(m.poll_token(at(6901))).access_token().expose_secret(),
        "AT1"
    );
    // Expired: others wait.
    assert!(matches!(m.poll_token(at(7200)), TokenAction::Wait(_)));

    let bearer = ticket
        .handle_response(&token_response("AT2", "RT2", 7200), at(7000))
        .unwrap();
    assert_eq!(bearer.access_token().expose_secret(), "AT2");
    let now = m.token();
    assert_eq!(now.refresh_token().unwrap().expose_secret(), "RT2");
    assert_eq!(now.expires_at(), Some(at(14200)));
    assert_eq!(use_(m.poll_token(at(7200))), bearer);

    // The next refresh spends the rotated token.
    let TokenAction::Refresh(ticket) = m.poll_token(at(14000)) else {
        panic!("expected a refresh")
    };
    assert_eq!(refresh_token_sent(&ticket.request()), "RT2");
}

#[test]
fn waiters_get_the_outcome() {
    let m = manager();
    let TokenAction::Refresh(ticket) = m.poll_token(at(7200)) else {
        panic!()
    };
    let TokenAction::Wait(wait) = m.poll_token(at(7200)) else {
        panic!()
    };

    // A hand-made executor step: pending first, woken by the refresh, then ready.
    let woken = Arc::new(Flag::default());
    let waker = Waker::from(Arc::clone(&woken));
    let mut cx = Context::from_waker(&waker);
    let mut wait = Box::pin(wait);
    assert!(wait.as_mut().poll(&mut cx).is_pending());
    assert!(wait.as_mut().poll(&mut cx).is_pending());
    assert_eq!(woken.count(), 0);
    let bearer = ticket
        .handle_response(&token_response("AT2", "RT2", 7200), at(7200))
        .unwrap();
    assert_eq!(woken.count(), 1);
    assert_eq!(
        wait.as_mut().poll(&mut cx),
        Poll::Ready(RefreshOutcome::Refreshed(bearer))
    );
}

#[derive(Default)]
struct Flag(AtomicUsize);

impl Flag {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropping_a_ticket_releases_the_next_caller() {
    let m = manager();
    let TokenAction::Refresh(ticket) = m.poll_token(at(7200)) else {
        panic!()
    };
    let TokenAction::Wait(wait) = m.poll_token(at(7200)) else {
        panic!()
    };
    let TokenAction::Wait(dropped_wait) = m.poll_token(at(7200)) else {
        panic!()
    };
    drop(dropped_wait);
    drop(ticket);
    assert_eq!(wait.wait_blocking(), RefreshOutcome::Abandoned);
    let TokenAction::Refresh(ticket) = m.poll_token(at(7200)) else {
        panic!("the next caller refreshes")
    };
    assert_eq!(refresh_token_sent(&ticket.request()), "RT1");
}

#[test]
fn invalid_grant_asks_for_a_new_authorization() {
    let m = manager();
    let TokenAction::Refresh(ticket) = m.poll_token(at(7150)) else {
        panic!()
    };
    use_(m.poll_token(at(7150)));
    let TokenAction::Wait(wait) = m.poll_token(at(7200)) else {
        panic!()
    };
    let e = ticket
        .handle_response(&response(400, r#"{"error":"invalid_grant"}"#), at(7150))
        .unwrap_err();
    assert!(e.is_invalid_grant());
    assert_eq!(wait.wait_blocking(), RefreshOutcome::Failed(e));
    // Still valid for a while: use it; then nothing more can be done.
    use_(m.poll_token(at(7160)));
    assert!(matches!(m.poll_token(at(7200)), TokenAction::Reauthorize));
    let mut r = http::Request::get("https://api.x.com/2/dm_events")
        .body(Bytes::new())
        .unwrap();
    assert_eq!(
        m.authorize(&mut r, at(7200)),
        Err(AuthorizeError::TokenExpired)
    );

    // A new authorization revives the manager.
    m.set_token(token("AT9", "RT9").with_expires_at(at(20000)));
    assert_eq!(
        use_(m.poll_token(at(7200))).access_token().expose_secret(),
        "AT9"
    );
}

#[test]
fn a_transient_failure_is_retried_by_the_next_poll() {
    let m = manager();
    let TokenAction::Refresh(ticket) = m.poll_token(at(7200)) else {
        panic!()
    };
    let e = ticket
        .handle_response(&response(503, "busy"), at(7200))
        .unwrap_err();
    assert_eq!(e, ResponseError::Status { status: 503 });
    assert!(matches!(m.poll_token(at(7200)), TokenAction::Refresh(_)));
}

#[test]
fn a_401_refreshes_once_and_only_for_the_current_token() {
    let m = manager();
    let first = use_(m.poll_token(at(10)));
    assert!(m.handle_unauthorized(&first));
    let TokenAction::Refresh(ticket) = m.poll_token(at(11)) else {
        panic!("a rejected token is refreshed though not expired")
    };
    // Others holding the rejected token wait rather than resend it.
    let TokenAction::Wait(wait) = m.poll_token(at(11)) else {
        panic!()
    };
    let mut r = http::Request::get("https://api.x.com/2/dm_events")
        .body(Bytes::new())
        .unwrap();
    assert_eq!(
        m.authorize(&mut r, at(11)),
        Err(AuthorizeError::TokenNeedsRefresh)
    );
    let second = ticket
        .handle_response(&token_response("AT2", "RT2", 7200), at(12))
        .unwrap();
    assert_eq!(
        wait.wait_blocking(),
        RefreshOutcome::Refreshed(second.clone())
    );
    // A late 401 for the old token does not trigger a second refresh.
    assert!(!m.handle_unauthorized(&first));
    assert_eq!(use_(m.poll_token(at(13))), second);
    m.authorize(&mut r, at(13)).unwrap();
    assert_eq!(r.headers()["authorization"], "Bearer AT2");
}

#[test]
fn a_token_without_refresh_token_is_used_until_it_expires() {
    let m = TokenManager::new(
        client(),
        UserToken::new("AT", at(0)).with_expires_at(at(100)),
    );
    use_(m.poll_token(at(99)));
    assert!(matches!(m.poll_token(at(100)), TokenAction::Reauthorize));
    let b = use_(TokenManager::new(client(), UserToken::new("AT", at(0))).poll_token(at(1 << 40)));
    assert_eq!(b.access_token().expose_secret(), "AT");
}

#[test]
fn missing_fields_in_a_refresh_response_keep_the_old_ones() {
    let m = TokenManager::new(client(), token("AT1", "RT1").with_scopes([Scope::DmRead]));
    let TokenAction::Refresh(ticket) = m.poll_token(at(7200)) else {
        panic!()
    };
    ticket
        .handle_response(
            &response(
                200,
                r#"{"token_type":"bearer","access_token":"AT2","expires_in":60}"#,
            ),
            at(7200),
        )
        .unwrap();
    let t = m.token();
    assert_eq!(t.refresh_token().unwrap().expose_secret(), "RT1");
    assert_eq!(t.scopes().unwrap(), &[Scope::DmRead]);
}

#[test]
fn rotations_reach_the_hook() {
    let m = manager();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    m.on_rotate(move |t| {
        sink.lock()
            .unwrap()
            .push(t.refresh_token().unwrap().expose_secret().to_owned())
    });
    for (i, now) in [7200, 14400].into_iter().enumerate() {
        let TokenAction::Refresh(ticket) = m.poll_token(at(now)) else {
            panic!()
        };
        ticket
            .handle_response(
                &token_response("AT", &format!("RT{}", i + 2), 7200),
                at(now),
            )
            .unwrap();
    }
    assert_eq!(*seen.lock().unwrap(), ["RT2", "RT3"]);
}

#[test]
fn the_manager_checks_scopes() {
    let m = TokenManager::new(client(), token("AT1", "RT1").with_scopes([Scope::DmRead]));
    let mut r = http::Request::delete("https://api.x.com/2/dm_events/1")
        .extension(EndpointInfo::new(
            Method::DELETE,
            "/2/dm_events/{event_id}",
            EndpointGroup::DeleteEvent,
            &[Scope::DmRead, Scope::DmWrite],
            Delivery::Idempotent,
        ))
        .body(Bytes::new())
        .unwrap();
    let e = m.authorize(&mut r, at(0)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the token lacks the scope(s) dm.write needed by DELETE /2/dm_events/{event_id}; \
         authorize again asking for them"
    );
}

#[test]
fn fifty_threads_one_refresh() {
    const THREADS: usize = 50;
    let m = manager();
    let refreshes = Arc::new(AtomicUsize::new(0));
    let waits = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (m, refreshes, waits, barrier) = (
                m.clone(),
                Arc::clone(&refreshes),
                Arc::clone(&waits),
                Arc::clone(&barrier),
            );
            std::thread::spawn(move || {
                barrier.wait();
                match m.poll_token(at(7200)) {
                    TokenAction::Use(b) => b,
                    TokenAction::Refresh(ticket) => {
                        refreshes.fetch_add(1, Ordering::SeqCst);
                        assert_eq!(refresh_token_sent(&ticket.request()), "RT1");
                        // Long enough for every other thread to find the refresh in flight.
                        std::thread::sleep(Duration::from_millis(200));
                        ticket
                            .handle_response(&token_response("AT2", "RT2", 7200), at(7200))
                            .unwrap()
                    }
                    TokenAction::Wait(wait) => {
                        waits.fetch_add(1, Ordering::SeqCst);
                        match wait.wait_blocking() {
                            RefreshOutcome::Refreshed(b) => b,
                            other => panic!("{other:?}"),
                        }
                    }
                    other => panic!("{other:?}"),
                }
            })
        })
        .collect();
    let bearers: Vec<Bearer> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
    assert!(
        bearers
            .iter()
            .all(|b| b.access_token().expose_secret() == "AT2")
    );
}

/// The same under a tiny single-threaded executor: many tasks, one refresh, no runtime.
#[test]
fn many_tasks_one_refresh_on_a_hand_made_executor() {
    let m = manager();
    let sent = Arc::new(AtomicUsize::new(0));
    let mut tasks: Vec<Pin<Box<dyn Future<Output = Bearer>>>> = Vec::new();
    for _ in 0..20 {
        let (m, sent) = (m.clone(), Arc::clone(&sent));
        tasks.push(Box::pin(async move {
            loop {
                match m.poll_token(at(7200)) {
                    TokenAction::Use(b) => return b,
                    TokenAction::Refresh(ticket) => {
                        sent.fetch_add(1, Ordering::SeqCst);
                        Yield(false).await;
                        return ticket
                            .handle_response(&token_response("AT2", "RT2", 7200), at(7200))
                            .unwrap();
                    }
                    TokenAction::Wait(wait) => {
                        if let RefreshOutcome::Refreshed(b) = wait.await {
                            return b;
                        }
                    }
                    other => panic!("{other:?}"),
                }
            }
        }));
    }
    let flag = Arc::new(Flag::default());
    let waker = Waker::from(Arc::clone(&flag));
    let mut cx = Context::from_waker(&waker);
    let mut done = vec![None; tasks.len()];
    for _round in 0..10 {
        for (task, slot) in tasks.iter_mut().zip(done.iter_mut()) {
            if slot.is_none()
                && let Poll::Ready(b) = task.as_mut().poll(&mut cx)
            {
                *slot = Some(b);
            }
        }
    }
    assert_eq!(sent.load(Ordering::SeqCst), 1);
    assert!(
        done.iter()
            .all(|b| b.as_ref().unwrap().access_token().expose_secret() == "AT2")
    );
    assert!(flag.count() >= 1);
}

struct Yield(bool);

impl Future for Yield {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[test]
fn a_panicking_hook_does_not_leave_waiters_pending() {
    let m = manager();
    let later_hook_ran = Arc::new(Mutex::new(false));
    let flag = Arc::clone(&later_hook_ran);
    m.on_rotate(|_| panic!("the hook fails"));
    m.on_rotate(move |_| *flag.lock().unwrap() = true);
    let TokenAction::Refresh(ticket) = m.poll_token(at(7200)) else {
        panic!()
    };
    let TokenAction::Wait(wait) = m.poll_token(at(7200)) else {
        panic!("a second caller waits for the refresh")
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || tx.send(wait.wait_blocking()).unwrap());
    // Let the waiter register before the refresh ends.
    std::thread::sleep(std::time::Duration::from_millis(50));

    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ticket.handle_response(&token_response("AT2", "RT2", 7200), at(7200))
    }));
    assert!(panicked.is_err(), "the hook's panic reaches the refresher");
    let outcome = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the waiter was woken");
    waiter.join().unwrap();
    let RefreshOutcome::Refreshed(bearer) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(bearer.access_token().expose_secret(), "AT2");
    assert!(*later_hook_ran.lock().unwrap(), "later hooks still run");
    // The refresh is over: the new token is in use and the next refresh can start.
    assert!(matches!(m.poll_token(at(7200)), TokenAction::Use(_)));
    assert!(matches!(m.poll_token(at(14400)), TokenAction::Refresh(_)));
}

#[test]
fn hooks_run_before_the_refresh_ends() {
    let m = manager();
    let during = Arc::new(Mutex::new(None));
    let (sink, inner) = (Arc::clone(&during), m.clone());
    m.on_rotate(move |_| {
        // Nobody may start another refresh while this token is being persisted.
        let next = inner.poll_token(at(14370));
        *sink.lock().unwrap() = Some(matches!(next, TokenAction::Use(_)));
    });
    let TokenAction::Refresh(ticket) = m.poll_token(at(7200)) else {
        panic!()
    };
    ticket
        .handle_response(&token_response("AT2", "RT2", 7200), at(7200))
        .unwrap();
    assert_eq!(*during.lock().unwrap(), Some(true));
}

#[test]
fn an_endless_margin_refreshes_any_expiring_token_without_panicking() {
    let m = manager().with_margin(Duration::MAX);
    let TokenAction::Refresh(ticket) = m.poll_token(at(0)) else {
        panic!("an endless margin makes the token due at once")
    };
    ticket
        .handle_response(&token_response("AT2", "RT2", 7200), at(0))
        .unwrap();
    // A token without expiry is never due.
    m.set_token(UserToken::new("AT3", at(0)).with_refresh_token("RT3"));
    assert!(matches!(m.poll_token(at(0)), TokenAction::Use(_)));
}

#[test]
fn a_refresh_token_refused_as_invalid_request_asks_for_a_new_authorization() {
    // X answers a spent or unknown refresh token with invalid_request, not invalid_grant:
    // sending it again can only be refused again.
    let m = manager();
    let TokenAction::Refresh(ticket) = m.poll_token(at(7200)) else {
        panic!("the token is due for a refresh")
    };
    let body = r#"{"error":"invalid_request","error_description":"Value passed for the token was invalid."}"#;
    let e = ticket
        .handle_response(&response(400, body), at(7200))
        .unwrap_err();
    assert!(e.refuses_refresh_token() && !e.is_invalid_grant());
    assert!(matches!(m.poll_token(at(7201)), TokenAction::Reauthorize));
}

#[test]
fn other_refusals_leave_the_refresh_token_to_be_tried_again() {
    let m = manager();
    let TokenAction::Refresh(ticket) = m.poll_token(at(7200)) else {
        panic!("the token is due for a refresh")
    };
    let e = ticket
        .handle_response(
            &response(503, r#"{"error":"temporarily_unavailable"}"#),
            at(7200),
        )
        .unwrap_err();
    assert!(!e.refuses_refresh_token());
    assert!(matches!(m.poll_token(at(7201)), TokenAction::Refresh(_)));
}

mod under_a_store_lock {
    //! The steps a driver takes under a shared store's lock: resume from what the store
    //! holds, parse, save, complete.

    use std::time::Duration;

    use xdm_auth::oauth2::{LockedRefresh, RefreshOutcome, TokenAction, TokenManager, UserToken};

    use crate::support::{at, client, refresh_token_sent, response, token, token_response};

    #[test]
    fn a_newer_stored_token_is_taken_instead_of_refreshing() {
        let m = TokenManager::new(client(), token("AT1", "RT1"));
        // Another process rotated the token meanwhile.
        let rotated = UserToken::new("AT2", at(7000))
            .with_refresh_token("RT2")
            .with_expires_at(at(14200));
        let TokenAction::Refresh(ticket) = m.poll_token(at(7200)) else {
            panic!()
        };
        let TokenAction::Wait(wait) = m.poll_token(at(7200)) else {
            panic!()
        };
        let LockedRefresh::Ready(bearer) = ticket.resume_from(Some(rotated.clone()), at(7200))
        else {
            panic!("the stored token is fresh")
        };
        assert_eq!(bearer.access_token().expose_secret(), "AT2");
        assert!(matches!(
            wait.wait_blocking(),
            RefreshOutcome::Refreshed(b) if b == bearer
        ));
        assert_eq!(m.token(), rotated);
    }

    #[test]
    fn an_older_or_identical_stored_token_is_refreshed_as_held() {
        let m = TokenManager::new(client(), token("AT1", "RT1"));
        for stored in [
            None,
            Some(token("AT1", "RT1")),
            Some(UserToken::new("AT0", at(0) - Duration::from_secs(1)).with_refresh_token("RT0")),
        ] {
            let TokenAction::Refresh(ticket) = m.poll_token(at(7200)) else {
                panic!()
            };
            let LockedRefresh::Send(ticket) = ticket.resume_from(stored.clone(), at(7200)) else {
                panic!("{stored:?} does not supersede the held token")
            };
            assert_eq!(refresh_token_sent(&ticket.request()), "RT1");
            assert_eq!(ticket.basis(), &token("AT1", "RT1"));
        }
    }

    #[test]
    fn a_stale_stored_token_is_refreshed_with_its_own_refresh_token() {
        let m = TokenManager::new(client(), token("AT1", "RT1"));
        let stored = UserToken::new("AT2", at(10))
            .with_refresh_token("RT2")
            .with_expires_at(at(7210));
        let TokenAction::Refresh(ticket) = m.poll_token(at(7200)) else {
            panic!()
        };
        let LockedRefresh::Send(ticket) = ticket.resume_from(Some(stored), at(7200)) else {
            panic!("the stored token expires too soon")
        };
        assert_eq!(refresh_token_sent(&ticket.request()), "RT2");
        let parsed = ticket
            .parse(&token_response("AT3", "RT3", 7200), at(7200))
            .unwrap();
        // Parsing changes nothing yet: the driver saves first.
        assert_eq!(m.token().access_token().expose_secret(), "AT2");
        let bearer = ticket.complete(Ok(parsed)).unwrap();
        assert_eq!(bearer.access_token().expose_secret(), "AT3");
        assert_eq!(m.token().refresh_token().unwrap().expose_secret(), "RT3");
    }

    #[test]
    fn a_refused_refresh_completes_with_the_error_and_asks_for_authorization() {
        let m = TokenManager::new(client(), token("AT1", "RT1"));
        let TokenAction::Refresh(ticket) = m.poll_token(at(7200)) else {
            panic!()
        };
        let LockedRefresh::Send(ticket) = ticket.resume_from(None, at(7200)) else {
            panic!()
        };
        let parsed = ticket.parse(&response(400, r#"{"error":"invalid_grant"}"#), at(7200));
        let e = ticket.complete(parsed).unwrap_err();
        assert!(e.refuses_refresh_token(), "{e:?}");
        assert!(matches!(m.poll_token(at(7200)), TokenAction::Reauthorize));
    }

    #[test]
    fn an_endless_margin_refreshes_an_adopted_token_without_panicking() {
        let m = TokenManager::new(client(), token("AT1", "RT1")).with_margin(Duration::MAX);
        let stored = UserToken::new("AT2", at(10))
            .with_refresh_token("RT2")
            .with_expires_at(at(1_000_000));
        let TokenAction::Refresh(ticket) = m.poll_token(at(0)) else {
            panic!()
        };
        let LockedRefresh::Send(ticket) = ticket.resume_from(Some(stored), at(0)) else {
            panic!("under an endless margin every expiring token is due")
        };
        assert_eq!(refresh_token_sent(&ticket.request()), "RT2");
    }
}
