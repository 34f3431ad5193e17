//! Matrix 3 at the client level: invalid input to the client's operations and configuration is
//! refused with an error naming the parameter, and the emulator's request log stays empty.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use xdm_client::{Config, Error, MediaSource, Recipient};
use xdm_core::endpoints::{ListEvents, ListParams};
use xdm_core::fields::{DmEventField, EventType, Expansion, FieldSet, UserField};
use xdm_core::ids::UserId;
use xdm_core::upload::MediaType;

use crate::support::Tally;
use crate::world::World;

type Attempt<'a> = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;

/// The parameter an error names, when it is an input or configuration refusal.
fn named(e: &Error) -> Option<String> {
    match e {
        Error::InvalidInput(i) => Some(i.parameter.to_string()),
        Error::Config(c) => Some(c.to_string()),
        Error::File { path, .. } => Some(path.display().to_string()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_refuses_invalid_input_before_any_request() {
    let world = World::start(20).await;
    let client = world.client(xdm_client::ReconcilePolicy::Off);
    let h = world.emu.handle();
    let ids = |v: &[u64]| {
        v.iter()
            .map(|n| UserId::try_from(*n).unwrap())
            .collect::<Vec<_>>()
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let empty = dir.join("empty.png");
    std::fs::write(&empty, b"").expect("write");
    let text_file = dir.join("notes.txt");
    std::fs::write(&text_file, b"hello").expect("write");
    let missing = dir.join("missing.jpg");
    let chunkless = {
        xdm_hyper::builder()
            .base_url(world.emu.base_url())
            .expect("loopback")
            .credentials(crate::world::oauth1_credentials(&world.emu))
            .customize(|b| b.upload_chunk_size(0))
            .build()
            .expect("builds")
    };

    let cases: Vec<(&str, &str, Attempt<'_>)> = vec![
        (
            "create_group: one participant",
            "participant_ids",
            Box::pin(async {
                client
                    .create_group(
                        ids(&[2]),
                        xdm_core::endpoints::Message::text("hi").expect("valid"),
                    )
                    .await
                    .map(drop)
            }),
        ),
        (
            "create_group: 50 participants",
            "participant_ids",
            Box::pin(async {
                client
                    .create_group(
                        ids(&(1..=50).collect::<Vec<_>>()),
                        xdm_core::endpoints::Message::text("hi").expect("valid"),
                    )
                    .await
                    .map(drop)
            }),
        ),
        (
            "create_group: a duplicate",
            "participant_ids",
            Box::pin(async {
                client
                    .create_group(
                        ids(&[2, 3, 2]),
                        xdm_core::endpoints::Message::text("hi").expect("valid"),
                    )
                    .await
                    .map(drop)
            }),
        ),
        (
            "send_with_media: blank text",
            "text",
            Box::pin(async {
                let media = MediaSource::from_bytes(Bytes::from_static(b"png"), MediaType::Png);
                client
                    .send_with_media(
                        Recipient::Participant(world.alice.clone()),
                        Some("  ".into()),
                        media,
                    )
                    .await
                    .map(drop)
            }),
        ),
        (
            "upload: empty file",
            "media",
            Box::pin(async {
                client
                    .upload_media(MediaSource::from_bytes(Bytes::new(), MediaType::Png))
                    .await
                    .map(drop)
            }),
        ),
        (
            "upload: image over 5 MiB",
            "media",
            Box::pin(async {
                client
                    .upload_media(MediaSource::from_bytes(
                        Bytes::from(vec![0u8; 5 * 1024 * 1024 + 1]),
                        MediaType::Jpeg,
                    ))
                    .await
                    .map(drop)
            }),
        ),
        (
            "upload: chunk size 0",
            "chunk_size",
            Box::pin(async {
                chunkless
                    .upload_media(MediaSource::from_bytes(
                        Bytes::from_static(b"png"),
                        MediaType::Png,
                    ))
                    .await
                    .map(drop)
            }),
        ),
        (
            "upload: missing file",
            "missing.jpg",
            Box::pin(async {
                let source = xdm_hyper::MediaFile::open(&missing).await?;
                client.upload_media(source).await.map(drop)
            }),
        ),
        (
            "upload: empty file on disk",
            "media",
            Box::pin(async {
                let source = xdm_hyper::MediaFile::open(&empty).await?;
                client.upload_media(source).await.map(drop)
            }),
        ),
        (
            "upload: a text file",
            "media_path",
            Box::pin(async {
                let source = xdm_hyper::MediaFile::open(&text_file).await?;
                client.upload_media(source).await.map(drop)
            }),
        ),
        (
            "list: a field with a comma",
            "dm_event.fields",
            Box::pin(async {
                let e = ListEvents::new().with_fields(
                    FieldSet::new().with_dm_event_fields([DmEventField::Other("a,b".into())]),
                );
                client.list_page(&e).await.map(drop)
            }),
        ),
        (
            "list: an event type with a space",
            "event_types",
            Box::pin(async {
                let e =
                    ListEvents::new().with_event_types([EventType::Other("Message Create".into())]);
                client.list_page(&e).await.map(drop)
            }),
        ),
        (
            "events stream: a user field with a newline",
            "user.fields",
            Box::pin(async {
                let params = ListParams::new().with_fields(
                    FieldSet::new().with_user_fields([UserField::Other("a\nb".into())]),
                );
                let mut events = client.list_events_with(params).events();
                match events.next().await {
                    Some(Err(e)) => Err(e),
                    Some(Ok(_)) => Ok(()),
                    None => Ok(()),
                }
            }),
        ),
        (
            "get_event: an empty expansion",
            "expansions",
            Box::pin(async {
                client
                    .get_event_with(
                        &world.my_event,
                        FieldSet::new().with_expansions([Expansion::Other(String::new())]),
                    )
                    .await
                    .map(drop)
            }),
        ),
        (
            "config: X_USER_ID",
            "X_USER_ID",
            Box::pin(async {
                Config::from_vars(|n| match n {
                    "X_OAUTH2_ACCESS_TOKEN" => Some("t".into()),
                    "X_USER_ID" => Some("@me".into()),
                    _ => None,
                })
                .map(drop)
                .map_err(Error::Config)
            }),
        ),
        (
            "config: X_API_BASE_URL ftp",
            "X_API_BASE_URL",
            Box::pin(async {
                Config::from_vars(|n| match n {
                    "X_OAUTH2_ACCESS_TOKEN" => Some("t".into()),
                    "X_API_BASE_URL" => Some("ftp://api.x.com".into()),
                    _ => None,
                })
                .map(drop)
                .map_err(Error::Config)
            }),
        ),
        (
            "config: half the OAuth 1.0a variables",
            "X_",
            Box::pin(async {
                Config::from_vars(|n| match n {
                    "X_CONSUMER_KEY" => Some("k".into()),
                    "X_ACCESS_TOKEN" => Some("t".into()),
                    _ => None,
                })
                .map(drop)
                .map_err(Error::Config)
            }),
        ),
    ];
    let mut tally = Tally::new("bad_input_client");
    for (name, parameter, attempt) in cases {
        h.clear_requests();
        let result = tokio::time::timeout(std::time::Duration::from_secs(5), attempt).await;
        let requests = h.requests().len();
        let outcome = match result {
            Err(_) => Err("hung".to_owned()),
            Ok(Ok(())) => Err("accepted".to_owned()),
            Ok(Err(e)) => match named(&e) {
                Some(p) if p.contains(parameter) || e.to_string().contains(parameter) => {
                    if requests == 0 {
                        Ok(())
                    } else {
                        Err(format!("refused ({e}), but after {requests} requests"))
                    }
                }
                _ => Err(format!("error does not name {parameter:?}: {e}")),
            },
        };
        tally.record(name, outcome);
    }
    world.emu.shutdown().await;
    tally.finish();
}
