//! Matrix 5 for the client, the transport and the emulator-facing paths: every operation and
//! every error path runs under a TRACE capture with the emulator's credentials as the known
//! secrets; none may appear in logs, errors, `Debug` output or panics. Also: plain `http://`
//! to a non-loopback host is refused, and so is a certificate for another host.

use bytes::Bytes;
use xdm_client::{Config, Credentials, Error, ReconcilePolicy};
use xdm_core::endpoints::{ListEvents, ListParams, Message};
use xdm_core::fields::{DmEventField, FieldSet};
use xdm_core::upload::MediaType;
use xdm_emulator::{Emulator, Fault, FaultKind};

use crate::capture::{self, leaked};
use crate::support::Tally;
use crate::world::{
    REQUEST_TIMEOUT, World, expired_oauth2_client, generous_limits, oauth1_credentials,
    retry_policy,
};

/// Every secret the emulator issued.
fn secrets(emu: &Emulator) -> Vec<String> {
    let c = emu.credentials();
    vec![
        c.oauth1.consumer_secret.clone(),
        c.oauth1.access_token.clone(),
        c.oauth1.access_token_secret.clone(),
        c.oauth2.access_token.clone(),
        c.oauth2.refresh_token.clone(),
        c.oauth2.client_secret.clone(),
        c.app_bearer_token.clone(),
    ]
}

/// An OAuth 2.0 client whose token is expired, so its first call refreshes it.
fn refreshing_client(world: &World, refresh_token: &str) -> xdm_hyper::Client {
    expired_oauth2_client(&world.emu, refresh_token, Some(world.me.clone()))
}

/// Renders a result both ways a program might print it.
fn show<T: std::fmt::Debug>(r: &Result<T, Error>) -> String {
    match r {
        Ok(v) => format!("{v:?}"),
        Err(e) => {
            let mut s = format!("{e} | {e:?}");
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                s.push_str(&format!(" | {cause}"));
                source = cause.source();
            }
            s
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_leaks_from_client_operations_or_errors() {
    capture::install();
    let records_before = capture::records();
    let world = World::start(60).await;
    let secrets = secrets(&world.emu);
    let secret_refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let h = world.emu.handle();
    let client = world.client(ReconcilePolicy::look_before_resend());
    let oauth2 = world.oauth2_client();
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut note = |name: &str, text: String| texts.push((name.to_owned(), text));
    note("client debug", format!("{client:?} {oauth2:?}"));

    // Every operation, succeeding.
    let msg = || Message::text("secret-free text").expect("valid");
    let r = client
        .list_page(&ListEvents::new().with_max_results(5).expect("valid"))
        .await;
    note("list", show(&r));
    let r = client
        .get_event_with(
            &world.my_event,
            FieldSet::new().with_dm_event_fields([DmEventField::Text]),
        )
        .await;
    note("get", show(&r));
    let r = client.send_to_participant(&world.alice, msg()).await;
    note("send", show(&r));
    let r = client.send_to_conversation(&world.pair, msg()).await;
    note("send conversation", show(&r));
    let r = client
        .create_group([world.alice.clone(), world.bob.clone()], msg())
        .await;
    note("group", show(&r));
    let r = client.block_user(&world.bob).await;
    note("block", show(&r));
    let r = client.unblock_user(&world.bob).await;
    note("unblock", show(&r));
    let r = client
        .upload_media(xdm_client::MediaSource::from_bytes(
            Bytes::from_static(b"\x89PNG...."),
            MediaType::Png,
        ))
        .await;
    note("upload", show(&r));
    if let Some(media) = &world.media {
        let r = oauth2.download_media(media).await;
        note("download", show(&r.map(|m| m.body.len())));
    }
    let mut events = client
        .list_events_with(ListParams::new().with_max_results(10).expect("valid"))
        .with_max_pages(3)
        .events();
    while let Some(item) = events.next().await {
        note("export", show(&item.map(|i| i.into_event().id)));
    }
    let r = client.delete_event(&world.my_event).await;
    note("delete", show(&r));

    // Every error path: faults on a read and on a send, refusals, bad credentials.
    let kinds = [
        FaultKind::CloseBeforeResponse,
        FaultKind::CloseAfterProcessing,
        FaultKind::CloseMidBody,
        FaultKind::Status(503),
        FaultKind::DelayHeaders(REQUEST_TIMEOUT * 3),
        FaultKind::TruncatedJson,
        FaultKind::InvalidJson,
        FaultKind::OversizedBody(crate::world::MAX_RESPONSE * 2),
    ];
    for kind in kinds {
        h.inject(Fault::always("*", "*", kind.clone()));
        let r = client.list_page(&ListEvents::new()).await;
        note(&format!("list under {kind:?}"), show(&r));
        let r = client.send_to_participant(&world.alice, msg()).await;
        note(&format!("send under {kind:?}"), show(&r));
        h.clear_faults();
    }
    h.set_usage_capped(true);
    note(
        "usage cap",
        show(&client.list_page(&ListEvents::new()).await),
    );
    h.set_usage_capped(false);
    h.set_credits_depleted(true);
    note(
        "credits",
        show(&client.send_to_participant(&world.alice, msg()).await),
    );
    h.set_credits_depleted(false);
    note(
        "not found",
        show(
            &client
                .delete_event(&xdm_core::ids::EventId::try_from(42u64).unwrap())
                .await,
        ),
    );
    // Wrong OAuth 1.0a secrets: a 401 whose error must not quote what was sent.
    let c = &world.emu.credentials().oauth1;
    let wrong = xdm_hyper::builder()
        .base_url(world.emu.base_url())
        .expect("loopback")
        .credentials(Credentials::oauth1(
            c.consumer_key.clone(),
            c.consumer_secret.clone(),
            c.access_token.clone(),
            "not-the-secret",
        ))
        .build()
        .expect("builds");
    note(
        "401 oauth1",
        show(&wrong.list_page(&ListEvents::new()).await),
    );
    // OAuth 2.0: an expired token refreshed on first use, then a refresh that X refuses.
    let refresh = refreshing_client(&world, &world.emu.credentials().oauth2.refresh_token);
    note(
        "refresh ok",
        show(&refresh.list_page(&ListEvents::new()).await),
    );
    let refused = refreshing_client(&world, &world.emu.credentials().oauth2.refresh_token);
    note(
        "refresh with a spent refresh token",
        show(&refused.list_page(&ListEvents::new()).await),
    );
    let bearer_only = xdm_hyper::builder()
        .base_url(world.emu.base_url())
        .expect("loopback")
        .credentials(Credentials::oauth2_token(
            world.emu.credentials().app_bearer_token.clone(),
        ))
        .build()
        .expect("builds");
    note(
        "app-only token",
        show(&bearer_only.list_page(&ListEvents::new()).await),
    );

    let mut tally = Tally::new("secrets_client");
    for (name, text) in &texts {
        let found = leaked(text, &secret_refs);
        tally.record(
            name,
            if found.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{} secret(s) in: {}",
                    found.len(),
                    text.chars().take(300).collect::<String>()
                ))
            },
        );
    }
    let logs = capture::captured();
    let found = leaked(&logs, &secret_refs);
    let line = logs
        .lines()
        .find(|l| !leaked(l, &secret_refs).is_empty())
        .unwrap_or_default()
        .to_owned();
    tally.record(
        "captured TRACE logs and panics",
        if found.is_empty() {
            Ok(())
        } else {
            Err(format!("{} secret(s) logged, e.g. {line:?}", found.len()))
        },
    );
    // The capture saw the client at work, so "nothing leaked" is not for want of logs.
    tally.record(
        "the capture saw client logs",
        if capture::records() > records_before + 20 && logs.contains("xdm") {
            Ok(())
        } else {
            Err("the client logged nothing; the capture is not working".into())
        },
    );
    world.emu.shutdown().await;
    tally.finish();
}

/// Plain `http://` to anything but loopback is refused, whichever way the URL comes in, and
/// before any connection is made.
#[test]
fn plain_http_to_a_non_loopback_host_is_refused() {
    let mut tally = Tally::new("plain_http_refused");
    for url in [
        "http://api.x.com",
        "http://10.1.2.3:8080",
        "http://192.168.1.10",
        "http://localhost.evil.example",
    ] {
        let via_builder = xdm_hyper::builder().base_url(url).map(drop);
        tally.record(
            format!("builder {url}"),
            match via_builder {
                Err(e) if e.to_string().contains("base") || e.to_string().contains("http") => {
                    Ok(())
                }
                Err(e) => Err(format!("refused without saying why: {e}")),
                Ok(()) => Err("accepted".into()),
            },
        );
        let via_env = Config::from_vars(|name| match name {
            "X_API_BASE_URL" => Some(url.to_owned()),
            "X_OAUTH2_ACCESS_TOKEN" => Some("token".to_owned()),
            _ => None,
        });
        tally.record(
            format!("environment {url}"),
            match via_env {
                Err(e) if e.to_string().contains("X_API_BASE_URL") => Ok(()),
                Err(e) => Err(format!("does not name the variable: {e}")),
                Ok(_) => Err("accepted".into()),
            },
        );
    }
    tally.finish();
}

/// TLS: the emulator's self-signed certificate names `localhost` and `127.0.0.1`. Trusted and
/// reached by a name it carries, it works; reached at another address, or not trusted, the
/// connection is refused before any request is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_for_another_host_or_untrusted_are_refused() {
    let mut tally = Tally::new("tls_refusals");
    // 127.0.0.2 is loopback too, but not a name in the certificate.
    for (addr, trusted, should_work) in [
        ("127.0.0.1:0", true, true),
        ("127.0.0.2:0", true, false),
        ("127.0.0.1:0", false, false),
    ] {
        let emu = Emulator::builder()
            .addr(addr.parse().expect("addr"))
            .tls(true)
            .seed_events(10)
            .rate_limits(generous_limits())
            .start()
            .await
            .expect("starts");
        let mut builder = xdm_hyper::builder()
            .base_url(emu.base_url())
            .expect("https URL")
            .credentials(oauth1_credentials(&emu))
            .retry_policy(retry_policy());
        if trusted {
            builder =
                builder.add_root_certificates_pem(emu.certificate_pem().expect("tls").to_owned());
        }
        let client = builder.build().expect("builds");
        let r = client.list_page(&ListEvents::new()).await;
        let requests = emu.handle().requests().len();
        let case = format!("{} trusted={trusted}", emu.base_url());
        tally.record(
            case,
            match (should_work, &r) {
                (true, Ok(_)) => Ok(()),
                (false, Err(Error::Transport(t))) if requests == 0 => {
                    if t.failure().kind == xdm_core::retry::TransportErrorKind::Connect {
                        Ok(())
                    } else {
                        Err(format!("refused, but classified {:?}", t.failure()))
                    }
                }
                (false, Err(e)) if requests == 0 => {
                    Err(format!("refused with an unexpected error: {e}"))
                }
                (_, r) => Err(format!("got {} with {requests} requests served", show(r))),
            },
        );
        emu.shutdown().await;
    }
    tally.finish();
}
