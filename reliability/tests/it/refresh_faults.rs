//! Matrix 5b: every fault on `POST /2/oauth2/token` while the client refreshes an OAuth 2.0
//! token, either because it is due (expired as the client sees it) or because X answered 401.
//!
//! X rotates refresh tokens: a refresh spends the old one. So a refresh whose answer is lost
//! after X carried it out leaves the client with a dead refresh token, and the new one exists
//! only in the lost answer: no client can go on from there, and the user must authorize the app
//! again. What a client owes the user then is the truth, early and cheaply: the faulted call
//! says the refresh token may be spent, the token file stays whole, the dead token is tried at
//! most once more, and from then on calls say to authorize again without sending anything.
//!
//! Each cell makes the faulted call and two more on the same client, then two from a new
//! client loading the token file (the next run of a program), and checks each of those
//! promises apart. When X did not carry out the refresh (closed before processing, 5xx), every
//! later call must succeed instead.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use xdm_auth::oauth2::UserToken;
use xdm_client::{AuthorizationError, Config, Error};
use xdm_core::endpoints::ListEvents;
use xdm_emulator::{Emulator, Fault, FaultKind};
use xdm_hyper::FileTokenStore;

use crate::support::{Tally, run_cells};
use crate::world::{
    FaultName, MAX_RESPONSE, REQUEST_TIMEOUT, TOKEN_PATH as TOKEN, emulator_on_manual_clock,
    faults_past_limits, refresh_requests, retry_policy, saved_login,
};

/// Why the client refreshes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// The saved token's expiry has passed: the client refreshes before calling.
    Expired,
    /// The client believes its token valid; X's clock says otherwise and answers 401.
    Rejected,
}

/// How the client keeps its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keeping {
    /// A `TokenManager::on_rotate` hook saves the rotated token after the refresh.
    Hook,
    /// `ClientBuilder::token_store`: the refresh runs under the file's lock (as `xdm` does).
    Locked,
}

/// Whether X carried out the refresh although the client got no usable answer: the refresh
/// token it holds is then spent.
fn processed(kind: &FaultKind) -> bool {
    !matches!(kind, FaultKind::CloseBeforeResponse | FaultKind::Status(_))
}

fn temp_file(name: &str) -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix("xdm-rel-refresh-faults-")
        .tempdir()
        .expect("temp dir")
        .keep();
    dir.join(format!("{name}.json"))
}

fn client(emu: &Emulator, store: &FileTokenStore, keeping: Keeping) -> xdm_hyper::Client {
    let user = &emu.credentials().oauth2.user_id;
    let credentials = saved_login(emu, store);
    if let (Keeping::Hook, xdm_client::Credentials::OAuth2(manager)) = (keeping, &credentials) {
        let saving = store.clone();
        manager.on_rotate(move |token| {
            let _ = saving.save_blocking(token);
        });
    }
    let config = Config::new(credentials)
        .with_base_url(xdm_core::BaseUrl::parse(emu.base_url()).expect("loopback"))
        .with_user_id(xdm_core::ids::UserId::parse(user).expect("numeric"));
    let builder = xdm_hyper::builder()
        .config(config)
        .transport(|t| {
            t.request_timeout(REQUEST_TIMEOUT)
                .max_response_bytes(MAX_RESPONSE)
        })
        .retry_policy(retry_policy());
    match keeping {
        Keeping::Hook => builder,
        Keeping::Locked => builder.token_store(store.clone()),
    }
    .build()
    .expect("builds")
}

/// One call, reduced to what the checks need.
async fn call(client: &xdm_hyper::Client) -> Result<(), Error> {
    client.list_page(&ListEvents::new()).await.map(drop)
}

fn show(r: &Result<(), Error>) -> String {
    match r {
        Ok(()) => "Ok".into(),
        Err(e) => format!("Err({e})"),
    }
}

/// The token file loads and holds a token; returns it.
fn intact(store: &FileTokenStore) -> Result<UserToken, String> {
    let raw = std::fs::read_to_string(store.path()).map_err(|e| format!("unreadable: {e}"))?;
    serde_json::from_str::<serde_json::Value>(&raw)
        .map_err(|e| format!("the token file is not JSON any more ({e})"))?;
    store
        .load_blocking()
        .map_err(|e| format!("the token file does not load: {e}"))?
        .ok_or_else(|| "the token file holds no token".to_owned())
}

/// The faulted call's error must be an authorization failure that says the refresh failed.
fn refresh_error(r: &Result<(), Error>) -> Result<(), String> {
    match r {
        Ok(()) => Ok(()),
        Err(Error::Authorization(
            AuthorizationError::RefreshTransport(_) | AuthorizationError::Refresh(_),
        )) => {
            let line = r
                .as_ref()
                .err()
                .map(ToString::to_string)
                .unwrap_or_default();
            if line.contains("refresh") && !line.contains('\n') {
                Ok(())
            } else {
                Err(format!("the error does not say the refresh failed: {line}"))
            }
        }
        Err(e) => Err(format!("the faulted refresh is reported as {e:?}")),
    }
}

/// What the cell found, each check apart, so that a known bug marks only its own check.
struct Found {
    /// The checks every cell must pass.
    core: Result<(), String>,
    /// After a refresh X did not carry out, the user goes on; after one it did, the faulted
    /// call says the refresh token may be spent and the app must be authorized again.
    report: Result<(), String>,
    /// A refresh token X refused is sent at most once per client; after it, calls fail with
    /// `ReauthorizationRequired` and send nothing.
    dead_token: Result<(), String>,
}

/// How many requests the emulator has seen, and how many of them were refreshes.
fn counts(emu: &Emulator) -> (usize, usize) {
    (emu.handle().requests().len(), refresh_requests(emu))
}

/// The status of every refresh X was asked for, `None` for an answer it never sent.
fn token_statuses(log: &[xdm_emulator::RequestRecord]) -> Vec<Option<u16>> {
    log.iter()
        .filter(|r| r.method == "POST" && r.template == TOKEN)
        .map(|r| r.status)
        .collect()
}

fn reauthorization_required(r: &Result<(), Error>) -> bool {
    matches!(
        r,
        Err(Error::Authorization(
            AuthorizationError::ReauthorizationRequired
        ))
    )
}

/// Checks one client's later calls after its refresh token was spent: `second` may send the
/// dead token once (counted by `refreshes_in_second`), `third` must fail with
/// `ReauthorizationRequired` having sent nothing (`sent_in_third`).
fn dead_token_check(
    who: &str,
    second: &Result<(), Error>,
    refreshes_in_second: usize,
    third: &Result<(), Error>,
    sent_in_third: usize,
) -> Result<(), String> {
    if second.is_ok() {
        return Err(format!(
            "{who}: a call succeeded with a spent refresh token ({})",
            show(second)
        ));
    }
    if refreshes_in_second > 1 {
        return Err(format!(
            "{who}: the spent refresh token was sent {refreshes_in_second} times in one call"
        ));
    }
    if !reauthorization_required(third) {
        return Err(format!(
            "{who}: after X refused the refresh token, a call reports {} instead of \
             ReauthorizationRequired",
            show(third)
        ));
    }
    if sent_in_third > 0 {
        return Err(format!(
            "{who}: {sent_in_third} request(s) sent, though the refresh token is known dead"
        ));
    }
    Ok(())
}

async fn cell(kind: FaultKind, trigger: Trigger, keeping: Keeping, name: &str) -> Found {
    let (emu, clock) = emulator_on_manual_clock().await;
    let c = emu.credentials().oauth2.clone();
    let store = FileTokenStore::new(temp_file(name));
    let now = SystemTime::now();
    let expires_at = match trigger {
        Trigger::Expired => now - Duration::from_secs(60),
        Trigger::Rejected => now + Duration::from_secs(7200),
    };
    let saved = UserToken::new(c.access_token.clone(), now - Duration::from_secs(60))
        .with_refresh_token(c.refresh_token.clone())
        .with_expires_at(expires_at);
    store.save_blocking(&saved).expect("saved");
    if trigger == Trigger::Rejected {
        // X's clock passes the access token's two hours; the client's does not.
        clock.advance(Duration::from_secs(3 * 3600));
    }
    emu.handle()
        .inject(Fault::once("POST", TOKEN, kind.clone()));
    let first_client = client(&emu, &store, keeping);
    let r1 = call(&first_client).await;
    let after_first = intact(&store);
    let (_, refreshes_1) = counts(&emu);
    let r2 = call(&first_client).await;
    let (sent_2, refreshes_2) = counts(&emu);
    let r3 = call(&first_client).await;
    let (sent_3, _) = counts(&emu);
    let after_second = intact(&store);
    // The next run of the program: a new client from the file.
    let (r4, r5, refreshes_4, sent_5) = match &after_second {
        Ok(_) => {
            let next_run = client(&emu, &store, keeping);
            let r4 = call(&next_run).await;
            let (sent_4, refreshes_4) = counts(&emu);
            let r5 = call(&next_run).await;
            let (sent_5, _) = counts(&emu);
            (r4, r5, refreshes_4 - refreshes_2, sent_5 - sent_4)
        }
        Err(_) => (Ok(()), Ok(()), 0, 0),
    };
    let after_third = intact(&store);
    let log = emu.handle().requests();
    let token_requests = token_statuses(&log);
    let granted = token_requests.iter().filter(|s| **s == Some(200)).count();
    // Every token that could leak: the saved ones and whatever the file holds now.
    let mut secrets = vec![
        c.access_token.clone(),
        c.refresh_token.clone(),
        c.client_secret.clone(),
    ];
    for t in [&after_first, &after_second, &after_third]
        .into_iter()
        .flatten()
    {
        secrets.push(t.access_token().expose_secret().to_owned());
        if let Some(r) = t.refresh_token() {
            secrets.push(r.expose_secret().to_owned());
        }
    }
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let mut text = String::new();
    for r in [&r1, &r2, &r3, &r4, &r5] {
        if let Err(e) = r {
            text.push_str(&format!("{e}\n{e:?}\n"));
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text.push_str(&format!("{s}\n{s:?}\n"));
                source = s.source();
            }
        }
    }
    let _ = std::fs::remove_file(store.path());
    emu.shutdown().await;
    let calls = format!(
        "calls: {} / {} / {} / new client {} / {}",
        show(&r1),
        show(&r2),
        show(&r3),
        show(&r4),
        show(&r5)
    );
    let core = (|| {
        after_first
            .as_ref()
            .map_err(|e| format!("after call 1: {e}"))?;
        after_second
            .as_ref()
            .map_err(|e| format!("after calls 2 and 3: {e}"))?;
        after_third
            .as_ref()
            .map_err(|e| format!("after the next run's calls: {e}"))?;
        let leaked = crate::capture::leaked(&text, &secrets);
        if !leaked.is_empty() {
            return Err(format!("{} secret(s) in errors ({calls})", leaked.len()));
        }
        refresh_error(&r1).map_err(|e| format!("{e} ({calls})"))?;
        if trigger == Trigger::Rejected && !log.iter().any(|r| r.status == Some(401)) {
            return Err("X never answered 401: the cell tested nothing".into());
        }
        if token_requests.is_empty() {
            return Err("no refresh was attempted".into());
        }
        // One rotation is all the calls need.
        if granted > 1 {
            return Err(format!("{granted} refreshes granted ({calls})"));
        }
        Ok(())
    })();
    let report = if processed(&kind) {
        // The rotated token was in the answer the fault destroyed.
        match &r1 {
            Ok(()) => Err(format!(
                "the faulted call succeeded, though X's answer never arrived ({calls})"
            )),
            Err(e) => {
                let line = e.to_string();
                if line.contains("spent") && line.contains("authorize") {
                    Ok(())
                } else {
                    Err(format!(
                        "X carried out the refresh and the client never read its answer, yet the error \
                         does not say the refresh token may be spent: {line}"
                    ))
                }
            }
        }
    } else if r2.is_err() || r3.is_err() || r4.is_err() || r5.is_err() {
        Err(format!(
            "X did not carry out the refresh, yet the user cannot go on ({calls})"
        ))
    } else {
        match (&after_third, granted) {
            (Ok(token), 1) if token.supersedes(&saved) => Ok(()),
            _ => Err(format!(
                "after the retried refresh the file does not hold the rotated token \
                 ({granted} granted; token requests {token_requests:?})"
            )),
        }
    };
    let dead_token = if processed(&kind) {
        dead_token_check(
            "same client",
            &r2,
            refreshes_2 - refreshes_1,
            &r3,
            sent_3 - sent_2,
        )
        .and_then(|()| dead_token_check("next run", &r4, refreshes_4, &r5, sent_5))
        .map_err(|e| format!("{e} ({calls}; token requests {token_requests:?})"))
    } else {
        let refused = token_requests
            .iter()
            .filter(|s| s.is_some_and(|s| (400..500).contains(&s)))
            .count();
        if refused == 0 {
            Ok(())
        } else {
            Err(format!(
                "X did not carry out the refresh, yet refused {refused} refresh(es) ({calls})"
            ))
        }
    };
    Found {
        core,
        report,
        dead_token,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_on_the_token_endpoint_during_a_refresh() {
    crate::capture::install();
    let mut cells = Vec::new();
    for kind in faults_past_limits() {
        for trigger in [Trigger::Expired, Trigger::Rejected] {
            for keeping in [Keeping::Hook, Keeping::Locked] {
                cells.push((kind.clone(), trigger, keeping));
            }
        }
    }
    let results = run_cells(
        cells.iter().cloned().enumerate().collect(),
        8,
        Duration::from_secs(15),
        |why| Found {
            core: Err(why),
            report: Err("hung".into()),
            dead_token: Err("hung".into()),
        },
        |(i, (kind, trigger, keeping))| async move {
            cell(kind, trigger, keeping, &format!("cell-{i}")).await
        },
    )
    .await;
    let mut tally = Tally::new("faults_x_token_refresh");
    for ((kind, trigger, keeping), found) in cells.iter().zip(results) {
        let name = format!("{} x {trigger:?} x {keeping:?}", FaultName(kind));
        tally.record(format!("checks after {name}"), found.core);
        tally.record(format!("report after {name}"), found.report);
        tally.record(format!("dead token after {name}"), found.dead_token);
    }
    tally.finish();
}
