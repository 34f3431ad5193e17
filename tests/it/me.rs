//! The user behind an OAuth 2.0 token, looked up once, and used to reconcile a send to a
//! conversation whose answer was lost.

use xdm_client::ReconcilePolicy;
use xdm_emulator::{Emulator, Fault, FaultKind};
use xdm_hyper::Client;

use crate::support::{Scheme, builder, config, emulator, user};

/// An OAuth 2.0 client that is not told its user id.
fn anonymous_oauth2(emu: &Emulator) -> Client {
    let mut config = config(emu, Scheme::OAuth2);
    config.user_id = None;
    builder(emu, Scheme::OAuth2)
        .config(config)
        .reconcile(ReconcilePolicy::look_before_resend())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_token_names_its_user_through_users_me() {
    let emu = emulator(Emulator::builder()).await;
    let api = anonymous_oauth2(&emu);
    assert!(api.user_id().is_none());
    let me = api.me().await.unwrap();
    assert_eq!(
        me.id.as_deref(),
        Some(emu.credentials().oauth2.user_id.as_str())
    );
    assert_eq!(api.user_id().map(|u| u.as_str()), me.id.as_deref());
}

#[tokio::test]
async fn a_lost_answer_to_a_conversation_send_is_reconciled_without_a_configured_user_id() {
    let emu = emulator(Emulator::builder()).await;
    let api = anonymous_oauth2(&emu);
    let peer = user(&emu, 1);
    let first = api
        .send_to_participant(&peer, xdm_core::endpoints::Message::text("hi").unwrap())
        .await
        .unwrap();
    let conversation = first.conversation_id.clone().unwrap();
    emu.handle().inject(Fault::once(
        "POST",
        "/2/dm_conversations/{dm_conversation_id}/messages",
        FaultKind::CloseAfterProcessing,
    ));
    let sent = api
        .send_to_conversation(
            &conversation,
            xdm_core::endpoints::Message::text("only once").unwrap(),
        )
        .await
        .unwrap();
    assert!(sent.reconciled);
    let copies = emu
        .handle()
        .events()
        .into_iter()
        .filter(|e| e.text.as_deref() == Some("only once"))
        .count();
    assert_eq!(copies, 1);
    let lookups = emu
        .handle()
        .requests()
        .iter()
        .filter(|r| r.path == "/2/users/me")
        .count();
    assert_eq!(lookups, 1);
}
