//! HTTP/1.1, HTTP/2 with prior knowledge, and TLS with ALPN.

use xdm_core::endpoints::{ListParams, Message};
use xdm_emulator::Emulator;
use xdm_hyper::HttpVersion;

use crate::support::{Scheme, client, client_with, emulator, user};

async fn list_and_send(api: &xdm_hyper::Client, emu: &Emulator) {
    let page = api
        .list_events_with(ListParams::new().with_max_results(5).unwrap())
        .next_page()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.items().len(), 5);
    api.send_to_participant(&user(emu, 1), Message::text("over the wire").unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn http1_only() {
    let emu = emulator(Emulator::builder().seed_events(10)).await;
    let api = client_with(&emu, Scheme::OAuth1, HttpVersion::Http1Only);
    list_and_send(&api, &emu).await;
    assert!(emu.handle().requests().iter().all(|r| !r.http2));
}

#[tokio::test]
async fn http2_with_prior_knowledge_on_loopback() {
    let emu = emulator(Emulator::builder().seed_events(10)).await;
    let api = client_with(&emu, Scheme::OAuth2, HttpVersion::Http2Only);
    list_and_send(&api, &emu).await;
    let requests = emu.handle().requests();
    assert!(!requests.is_empty());
    assert!(requests.iter().all(|r| r.http2));
}

#[tokio::test]
async fn tls_with_the_self_signed_certificate_negotiates_http2() {
    let emu = emulator(Emulator::builder().seed_events(10).tls(true)).await;
    assert!(emu.base_url().starts_with("https://"));
    for scheme in [Scheme::OAuth1, Scheme::OAuth2] {
        let api = client(&emu, scheme);
        list_and_send(&api, &emu).await;
    }
    assert!(emu.handle().requests().iter().all(|r| r.http2));
}

#[tokio::test]
async fn tls_over_http1() {
    let emu = emulator(Emulator::builder().seed_events(10).tls(true)).await;
    let api = client_with(&emu, Scheme::OAuth1, HttpVersion::Http1Only);
    list_and_send(&api, &emu).await;
    assert!(emu.handle().requests().iter().all(|r| !r.http2));
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_connect_error() {
    let emu = emulator(Emulator::builder().seed_events(1).tls(true)).await;
    let api = xdm_hyper::builder()
        .config(crate::support::config(&emu, Scheme::OAuth1))
        .retry_policy(crate::support::fast_retries())
        .build()
        .unwrap();
    let error = api.list_events().next_page().await.unwrap().unwrap_err();
    assert!(matches!(error, xdm_client::Error::Transport(_)), "{error}");
    assert!(emu.handle().requests().is_empty());
}
