//! Injected faults: retried when harmless, reported (or reconciled) when a send may have
//! arrived, and never a message twice.

use xdm_client::{Error, ReconcilePolicy};
use xdm_core::endpoints::{ListEvents, Message};
use xdm_emulator::{Emulator, Fault, FaultKind};

use crate::support::{Scheme, builder, client, emulator, user};

const SEND_WITH: &str = "/2/dm_conversations/with/{participant_id}/messages";
const SEND_INTO: &str = "/2/dm_conversations/{dm_conversation_id}/messages";

fn copies(emu: &Emulator, text: &str) -> usize {
    emu.handle()
        .events()
        .iter()
        .filter(|e| e.text.as_deref() == Some(text))
        .count()
}

#[tokio::test]
async fn a_get_is_retried_after_503() {
    let emu = emulator(Emulator::builder().seed_events(5)).await;
    emu.handle()
        .inject(Fault::once("GET", "/2/dm_events", FaultKind::Status(503)));
    let api = client(&emu, Scheme::OAuth1);
    let page = api.list_page(&ListEvents::new()).await.unwrap();
    assert_eq!(page.items().len(), 5);
    let statuses: Vec<_> = emu.handle().requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(503), Some(200)]);
}

#[tokio::test]
async fn a_get_is_retried_after_a_dropped_connection() {
    let emu = emulator(Emulator::builder().seed_events(5)).await;
    emu.handle().inject(Fault::once(
        "GET",
        "/2/dm_events",
        FaultKind::CloseBeforeResponse,
    ));
    let api = client(&emu, Scheme::OAuth2);
    let page = api.list_page(&ListEvents::new()).await.unwrap();
    assert_eq!(page.items().len(), 5);
}

#[tokio::test]
async fn a_send_dropped_after_processing_is_reported_and_not_repeated() {
    let emu = emulator(Emulator::builder().seed_events(5)).await;
    emu.handle().inject(Fault::once(
        "POST",
        SEND_WITH,
        FaultKind::CloseAfterProcessing,
    ));
    let api = client(&emu, Scheme::OAuth1);
    let alice = user(&emu, 1);
    let error = api
        .send_to_participant(&alice, Message::text("exactly once, please").unwrap())
        .await
        .unwrap_err();
    let Error::OutcomeUnknown(unknown) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        unknown.message.as_ref().and_then(|m| m.text_content()),
        Some("exactly once, please")
    );
    assert!(!error.to_string().contains("exactly once"), "{error}");
    assert_eq!(copies(&emu, "exactly once, please"), 1);
}

#[tokio::test]
async fn reconciliation_finds_the_dropped_send_and_does_not_send_it_twice() {
    let emu = emulator(Emulator::builder().seed_events(5)).await;
    let alice = user(&emu, 1);
    for scheme in [Scheme::OAuth1, Scheme::OAuth2] {
        emu.handle().inject(Fault::once(
            "POST",
            SEND_WITH,
            FaultKind::CloseAfterProcessing,
        ));
        let api = builder(&emu, scheme)
            .reconcile(ReconcilePolicy::look_before_resend())
            .build()
            .unwrap();
        let text = format!("reconciled with {scheme:?}");
        let sent = api
            .send_to_participant(&alice, Message::text(text.clone()).unwrap())
            .await
            .unwrap();
        assert!(sent.reconciled);
        assert_eq!(copies(&emu, &text), 1);
        assert_eq!(
            emu.handle()
                .event(sent.event_id.as_ref().unwrap().as_str())
                .unwrap()
                .text
                .as_deref(),
            Some(text.as_str())
        );
    }
}

#[tokio::test]
async fn reconciliation_sends_again_when_the_message_never_arrived() {
    let emu = emulator(Emulator::builder().seed_events(5)).await;
    let conversation = emu
        .handle()
        .conversations()
        .into_iter()
        .find(|c| c.is_group)
        .unwrap();
    let conversation = xdm_core::ids::ConversationId::parse(&conversation.id).unwrap();
    // A 503 answers without storing the message: its outcome is unknown to the client.
    emu.handle()
        .inject(Fault::once("POST", SEND_INTO, FaultKind::Status(503)));
    let api = builder(&emu, Scheme::OAuth1)
        .reconcile(ReconcilePolicy::look_before_resend())
        .build()
        .unwrap();
    let sent = api
        .send_to_conversation(&conversation, Message::text("second try").unwrap())
        .await
        .unwrap();
    assert!(!sent.reconciled);
    assert_eq!(copies(&emu, "second try"), 1);
}
