//! A chunked video upload end to end: initialize, append, finalize, then status polls until
//! the emulator has finished processing, and the message sent with it.

use xdm_client::{MediaSource, Recipient};
use xdm_core::upload::MediaType;
use xdm_emulator::Emulator;

use crate::support::{Scheme, builder, emulator, user};

#[tokio::test]
async fn a_video_is_appended_in_chunks_and_sent_once_processing_is_done() {
    let emu = emulator(Emulator::builder()).await;
    let api = builder(&emu, Scheme::OAuth1)
        .customize(|b| b.upload_chunk_size(1024))
        .build()
        .unwrap();
    // Three chunks and a bit: the last append is short.
    let video: Vec<u8> = (0..3 * 1024 + 100).map(|i| (i % 251) as u8).collect();
    let peer = user(&emu, 1);
    let sent = api
        .send_with_media(
            Recipient::Participant(peer),
            Some("a clip".into()),
            MediaSource::from_bytes(video, MediaType::Mp4),
        )
        .await
        .unwrap();

    let log = emu.handle().requests();
    let steps: Vec<String> = log
        .iter()
        .filter(|r| r.path.starts_with("/2/media/upload"))
        .map(|r| format!("{} {}", r.method, r.template))
        .collect();
    let appends = steps.iter().filter(|s| s.contains("append")).count();
    let statuses = steps.iter().filter(|s| s.starts_with("GET")).count();
    assert_eq!(appends, 4, "{steps:?}");
    assert!(
        steps.first().is_some_and(|s| s.contains("initialize")),
        "{steps:?}"
    );
    // Finalize reported processing in progress, so the client asked again before sending.
    assert!(statuses >= 1, "{steps:?}");
    let finalize = steps.iter().position(|s| s.contains("finalize")).unwrap();
    assert!(
        steps[finalize + 1..].iter().all(|s| s.starts_with("GET")),
        "{steps:?}"
    );
    // The send came after the last status poll, and only once.
    let last_upload = log
        .iter()
        .rposition(|r| r.path.starts_with("/2/media/upload"))
        .unwrap();
    let sends: Vec<usize> = log
        .iter()
        .enumerate()
        .filter(|(_, r)| r.method == "POST" && r.path.ends_with("/messages"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(sends.len(), 1);
    assert!(sends[0] > last_upload);

    let stored = emu
        .handle()
        .event(sent.event_id.as_ref().unwrap().as_str())
        .unwrap();
    assert_eq!(stored.media_keys.len(), 1);
    // No status poll was wasted before the emulator's processing time could have passed.
    assert!(statuses <= 3, "{steps:?}");
}
