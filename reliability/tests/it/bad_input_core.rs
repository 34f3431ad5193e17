//! Matrix 3 at the core level: every parameter of every operation, given invalid values, is
//! refused before a request exists, with an error naming the parameter and what is allowed.
//!
//! "Before a request exists" means either the constructor of the endpoint value refuses (so no
//! value exists to build a request from), or `build_request` returns `Err` (so no
//! `http::Request` exists). Both are checked here; the client- and CLI-level versions of this
//! matrix check that the emulator's request log stays empty.

use std::fmt;

use bytes::Bytes;
use xdm_core::endpoints::{
    BlockUser, CreateGroup, DeleteEvent, DownloadMedia, GetEvent, ListConversationEvents,
    ListEvents, ListParams, ListParticipantEvents, Message, SendToConversation, SendToParticipant,
    UnblockUser,
};
use xdm_core::fields::{
    DmEventField, EventType, Expansion, FieldSet, MediaField, TweetField, UserField,
};
use xdm_core::ids::{
    ConversationId, EventId, MediaId, MediaKey, PaginationToken, ResourceId, UserId,
};
use xdm_core::pagination::PagedEndpoint;
use xdm_core::upload::{
    AppendUpload, ChunkedUpload, InitializeUpload, MediaCategory, MediaType, UploadMedia,
};
use xdm_core::{BaseUrl, Endpoint, InvalidInput, RequestContext};

use crate::support::Tally;

/// A private value that must never be quoted back in an error (message texts may be private).
const PRIVATE_TEXT_MARK: &str = "PRIVATE-TEXT-7f3a";

/// One cell: an operation, one of its parameters, an invalid value, and how the core is
/// expected to refuse it.
struct Case {
    operation: &'static str,
    parameter: &'static str,
    value: String,
    /// Tries to get as far as a built request; must fail with `InvalidInput`.
    attempt: Box<dyn Fn() -> Result<(), InvalidInput>>,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.value.chars().take(40).collect();
        write!(f, "{} / {} = {:?}", self.operation, self.parameter, shown)
    }
}

fn ctx() -> RequestContext {
    RequestContext::default()
}

/// Builds the request of an endpoint value, mapping success to `()`.
fn build<E: Endpoint>(e: &E) -> Result<(), InvalidInput> {
    e.build_request(&ctx()).map(drop)
}

fn bad_numeric_ids() -> Vec<String> {
    vec![
        String::new(),
        "abc".into(),
        "-1".into(),
        "+1".into(),
        " 1".into(),
        "1 ".into(),
        "1.0".into(),
        "12345678901234567890".into(), // 20 digits
        "１２３".into(),               // full-width digits
        "1/../2".into(),
        "1%2F2".into(),
        "1?x=1".into(),
        "0x10".into(),
        "1\n".into(),
    ]
}

/// What cannot stand as one path segment. The send path's `dm_conversation_id` has no
/// pattern in X's specifications, so other shapes (`123`, `1-2-3`) are X's to judge.
fn bad_conversation_ids() -> Vec<String> {
    vec![
        String::new(),
        "1 - 2".into(),
        "1-2/../x".into(),
        "1%2F2".into(),
        "1?x=1".into(),
        "1#x".into(),
        "1\\2".into(),
        "1\n".into(),
        "..".into(),
        "１２３".into(), // full-width digits
        "1".repeat(129),
    ]
}

fn bad_tokens() -> Vec<String> {
    vec![
        String::new(),
        "short".into(),
        "fifteen-chars15".into(),
        "has whitespace in the middle".into(),
        "tab\tseparated-token-x".into(),
        "newline\ninside-the-token".into(),
        "nön-ascii-tøken-value".into(),
        "x".repeat(1025),
    ]
}

fn bad_field_names() -> Vec<String> {
    vec![
        String::new(),
        "a,b".into(),
        "with space".into(),
        "tab\there".into(),
        "ünicode".into(),
        "new\nline".into(),
    ]
}

fn text_message() -> Message {
    Message::text("hello").expect("valid text")
}

/// Every numeric-id parameter of every operation, each with every malformed id.
fn id_cases(cases: &mut Vec<Case>) {
    type Op = fn(&str) -> Result<(), InvalidInput>;
    let ops: [(&str, &str, Op); 11] = [
        ("get_event", "event_id", |v| {
            build(&GetEvent::new(EventId::parse_as(v, "event_id")?))
        }),
        ("delete_event", "event_id", |v| {
            build(&DeleteEvent::new(EventId::parse_as(v, "event_id")?))
        }),
        ("list_participant_events", "participant_id", |v| {
            build(&ListParticipantEvents::new(UserId::parse_as(
                v,
                "participant_id",
            )?))
        }),
        ("send_to_participant", "participant_id", |v| {
            let id = UserId::parse_as(v, "participant_id")?;
            build(&SendToParticipant::new(id, text_message()))
        }),
        ("block", "user_id", |v| {
            build(&BlockUser::new(UserId::parse(v)?))
        }),
        ("unblock", "user_id", |v| {
            build(&UnblockUser::new(UserId::parse(v)?))
        }),
        ("send (attachment)", "media_id", |v| {
            let m = text_message().with_attachment(MediaId::parse(v)?)?;
            build(&SendToParticipant::new(UserId::try_from(2u64).unwrap(), m))
        }),
        ("create_group", "participant_ids", |v| {
            let p = UserId::parse_as(v, "participant_ids")?;
            build(&CreateGroup::new(
                [UserId::try_from(2u64).unwrap(), p],
                text_message(),
            )?)
        }),
        ("download_media", "dm_id", |v| {
            let e = DownloadMedia::new(
                EventId::parse_as(v, "dm_id")?,
                MediaId::try_from(1u64).unwrap(),
                ResourceId::parse("a.jpg")?,
            );
            build(&e)
        }),
        ("download_media", "media_id", |v| {
            let e = DownloadMedia::new(
                EventId::try_from(1u64).unwrap(),
                MediaId::parse(v)?,
                ResourceId::parse("a.jpg")?,
            );
            build(&e)
        }),
        ("upload_append", "media_id", |v| {
            let e = AppendUpload::new(MediaId::parse(v)?, 0, Bytes::from_static(b"x"), "b0undary")?;
            build(&e)
        }),
    ];
    for (operation, parameter, op) in ops {
        for value in bad_numeric_ids() {
            cases.push(Case {
                operation,
                parameter,
                attempt: Box::new({
                    let value = value.clone();
                    move || op(&value)
                }),
                value,
            });
        }
    }
    type ConvOp = fn(&str) -> Result<(), InvalidInput>;
    let conv_ops: [(&str, ConvOp); 2] = [
        ("list_conversation_events", |v| {
            build(&ListConversationEvents::new(ConversationId::parse(v)?))
        }),
        ("send_to_conversation", |v| {
            build(&SendToConversation::new(
                ConversationId::parse(v)?,
                text_message(),
            ))
        }),
    ];
    for (operation, op) in conv_ops {
        for value in bad_conversation_ids() {
            cases.push(Case {
                operation,
                parameter: "dm_conversation_id",
                attempt: Box::new({
                    let value = value.clone();
                    move || op(&value)
                }),
                value,
            });
        }
    }
    for value in ["", "3", "3_", "_5", "a_1", "3_1_2", "3-5"] {
        cases.push(Case {
            operation: "media key (includes)",
            parameter: "media_key",
            value: value.into(),
            attempt: Box::new(move || MediaKey::parse(value).map(drop)),
        });
    }
    for value in ["", ".", "..", "a/b", "a b", "a%2Fb", &"x".repeat(51)] {
        let value = value.to_owned();
        cases.push(Case {
            operation: "download_media",
            parameter: "resource_id",
            attempt: Box::new({
                let value = value.clone();
                move || {
                    let e = DownloadMedia::new(
                        EventId::try_from(1u64).unwrap(),
                        MediaId::try_from(1u64).unwrap(),
                        ResourceId::parse(&value)?,
                    );
                    build(&e)
                }
            }),
            value,
        });
    }
    for value in [
        "",
        "not a url",
        "http://ton.twitter.com/1.1/ton/data/dm/1/2/a.jpg",
        "https://evil.example/1.1/ton/data/dm/1/2/a.jpg",
        "https://ton.twitter.com.evil.example/1.1/ton/data/dm/1/2/a.jpg",
        "https://user@ton.twitter.com/1.1/ton/data/dm/1/2/a.jpg",
        "https://ton.twitter.com:8443/1.1/ton/data/dm/1/2/a.jpg",
        "https://ton.twitter.com/1.1/ton/data/other/1/2/a.jpg",
        "https://ton.twitter.com/1.1/ton/data/dm/1/2",
        "https://ton.twitter.com/1.1/ton/data/dm/1/2/a.jpg/extra",
    ] {
        cases.push(Case {
            operation: "download_media (from url)",
            parameter: "media_url",
            value: value.into(),
            attempt: Box::new(move || build(&DownloadMedia::from_media_url(value)?)),
        });
    }
}

/// `max_results` and `pagination_token` of the three listings.
fn list_cases(cases: &mut Vec<Case>) {
    type MaxOp = fn(u32) -> Result<(), InvalidInput>;
    let max_ops: [(&str, MaxOp); 4] = [
        ("list_events", |n| {
            build(&ListEvents::new().with_max_results(n)?)
        }),
        ("list_conversation_events", |n| {
            let c = ConversationId::parse("1-2").expect("valid");
            build(&ListConversationEvents::new(c).with_max_results(n)?)
        }),
        ("list_participant_events", |n| {
            build(&ListParticipantEvents::new(UserId::try_from(2u64).unwrap()).with_max_results(n)?)
        }),
        ("list params", |n| {
            build(&ListEvents::new().with_params(ListParams::new().with_max_results(n)?))
        }),
    ];
    for (operation, op) in max_ops {
        for n in [0u32, 101, 255, 256, 1000, u32::MAX] {
            cases.push(Case {
                operation,
                parameter: "max_results",
                value: n.to_string(),
                attempt: Box::new(move || op(n)),
            });
        }
    }
    for n in [0u8, 101, 255] {
        cases.push(Case {
            operation: "paginator (set_max_results)",
            parameter: "max_results",
            value: n.to_string(),
            attempt: Box::new(move || {
                let mut e = ListEvents::new();
                e.set_max_results(n)?;
                build(&e)
            }),
        });
    }
    for value in bad_tokens() {
        cases.push(Case {
            operation: "list_events",
            parameter: "pagination_token",
            attempt: Box::new({
                let value = value.clone();
                move || {
                    build(&ListEvents::new().with_pagination_token(PaginationToken::parse(&value)?))
                }
            }),
            value,
        });
    }
}

/// Field, expansion and event-type names: refused by `parse`, and, when smuggled in as
/// `Other`, refused by `build_request` of every operation that sends them.
fn field_cases(cases: &mut Vec<Case>) {
    type Parse = fn(&str) -> Result<(), InvalidInput>;
    type Smuggle = fn(&str) -> FieldSet;
    let params: [(&str, Parse, Option<Smuggle>); 6] = [
        (
            "dm_event.fields",
            |v| DmEventField::parse(v).map(drop),
            Some(|v| FieldSet::new().with_dm_event_fields([DmEventField::Other(v.into())])),
        ),
        (
            "expansions",
            |v| Expansion::parse(v).map(drop),
            Some(|v| FieldSet::new().with_expansions([Expansion::Other(v.into())])),
        ),
        (
            "user.fields",
            |v| UserField::parse(v).map(drop),
            Some(|v| FieldSet::new().with_user_fields([UserField::Other(v.into())])),
        ),
        (
            "media.fields",
            |v| MediaField::parse(v).map(drop),
            Some(|v| FieldSet::new().with_media_fields([MediaField::Other(v.into())])),
        ),
        (
            "tweet.fields",
            |v| TweetField::parse(v).map(drop),
            Some(|v| FieldSet::new().with_tweet_fields([TweetField::Other(v.into())])),
        ),
        ("event_types", |v| v.parse::<EventType>().map(drop), None),
    ];
    type Apply = fn(FieldSet) -> Result<(), InvalidInput>;
    let ops: [(&str, Apply); 4] = [
        ("list_events", |f| build(&ListEvents::new().with_fields(f))),
        ("list_conversation_events", |f| {
            let c = ConversationId::parse("1-2").expect("valid");
            build(&ListConversationEvents::new(c).with_fields(f))
        }),
        ("list_participant_events", |f| {
            build(&ListParticipantEvents::new(UserId::try_from(2u64).unwrap()).with_fields(f))
        }),
        ("get_event", |f| {
            build(&GetEvent::new(EventId::try_from(1u64).unwrap()).with_fields(f))
        }),
    ];
    for (parameter, parse, smuggle) in params {
        for value in bad_field_names() {
            cases.push(Case {
                operation: "parse",
                parameter,
                attempt: Box::new({
                    let value = value.clone();
                    move || parse(&value)
                }),
                value: value.clone(),
            });
            if let Some(smuggle) = smuggle {
                for (operation, apply) in ops {
                    cases.push(Case {
                        operation,
                        parameter,
                        attempt: Box::new({
                            let value = value.clone();
                            move || apply(smuggle(&value))
                        }),
                        value: value.clone(),
                    });
                }
            }
        }
    }
    // Event types only go on the three listings.
    type TypesOp = fn(EventType) -> Result<(), InvalidInput>;
    let type_ops: [(&str, TypesOp); 3] = [
        ("list_events", |t| {
            build(&ListEvents::new().with_event_types([t]))
        }),
        ("list_conversation_events", |t| {
            let c = ConversationId::parse("1-2").expect("valid");
            build(&ListConversationEvents::new(c).with_event_types([t]))
        }),
        ("list_participant_events", |t| {
            build(
                &ListParticipantEvents::new(UserId::try_from(2u64).unwrap()).with_event_types([t]),
            )
        }),
    ];
    for value in bad_field_names() {
        for (operation, op) in type_ops {
            cases.push(Case {
                operation,
                parameter: "event_types",
                attempt: Box::new({
                    let value = value.clone();
                    move || op(EventType::Other(value.clone()))
                }),
                value: value.clone(),
            });
        }
    }
}

/// Message texts, attachments and participant lists.
fn message_cases(cases: &mut Vec<Case>) {
    for value in ["", " ", "\n\t  \r\n", "\u{3000}"] {
        type Op = fn(&str) -> Result<(), InvalidInput>;
        let ops: [(&str, Op); 4] = [
            ("send_to_participant", |v| {
                build(&SendToParticipant::new(
                    UserId::try_from(2u64).unwrap(),
                    Message::text(v)?,
                ))
            }),
            ("send_to_conversation", |v| {
                let c = ConversationId::parse("1-2").expect("valid");
                build(&SendToConversation::new(c, Message::text(v)?))
            }),
            ("create_group", |v| {
                let p = [
                    UserId::try_from(2u64).unwrap(),
                    UserId::try_from(3u64).unwrap(),
                ];
                build(&CreateGroup::new(p, Message::text(v)?)?)
            }),
            ("message (new)", |v| {
                Message::new(Some(v.to_owned()), []).map(drop)
            }),
        ];
        for (operation, op) in ops {
            cases.push(Case {
                operation,
                parameter: "text",
                value: value.into(),
                attempt: Box::new(move || op(value)),
            });
        }
    }
    cases.push(Case {
        operation: "message (new)",
        parameter: "text",
        value: "no text and no attachment".into(),
        attempt: Box::new(|| Message::new(None, []).map(drop)),
    });
    cases.push(Case {
        operation: "message (new)",
        parameter: "attachments",
        value: "two attachments".into(),
        attempt: Box::new(|| {
            let text = format!("{PRIVATE_TEXT_MARK} secret words");
            Message::new(
                Some(text),
                [
                    MediaId::try_from(1u64).unwrap(),
                    MediaId::try_from(2u64).unwrap(),
                ],
            )
            .map(drop)
        }),
    });
    cases.push(Case {
        operation: "message (with_attachment)",
        parameter: "attachments",
        value: "a second attachment".into(),
        attempt: Box::new(|| {
            Message::media(MediaId::try_from(1u64).unwrap())
                .with_attachment(MediaId::try_from(2u64).unwrap())
                .map(drop)
        }),
    });
    let participant_lists: Vec<(&str, Vec<u64>)> = vec![
        ("no participants", vec![]),
        ("one participant", vec![2]),
        ("50 participants", (1..=50).collect()),
        ("200 participants", (1..=200).collect()),
        ("a duplicate", vec![2, 3, 2]),
    ];
    for (desc, ids) in participant_lists {
        cases.push(Case {
            operation: "create_group",
            parameter: "participant_ids",
            value: desc.into(),
            attempt: Box::new(move || {
                let p = ids.iter().map(|n| UserId::try_from(*n).unwrap());
                build(&CreateGroup::new(p, text_message())?)
            }),
        });
    }
    cases.push(Case {
        operation: "create_group",
        parameter: "participant_ids",
        value: "\"07\" and \"7\" (the same user)".into(),
        attempt: Box::new(|| {
            let p = [UserId::parse("07")?, UserId::parse("7")?];
            build(&CreateGroup::new(p, text_message())?)
        }),
    });
}

/// Files to upload: empty, too large, wrong type, bad chunking, bad boundaries.
fn upload_cases(cases: &mut Vec<Case>) {
    const MIB: usize = 1024 * 1024;
    let files: Vec<(&str, &str, usize, MediaType)> = vec![
        ("upload (one request)", "media", 0, MediaType::Png),
        (
            "upload (one request)",
            "media",
            5 * MIB + 1,
            MediaType::Jpeg,
        ),
        ("upload (one request)", "media_type", 10, MediaType::Gif),
        ("upload (one request)", "media_type", 10, MediaType::Mp4),
        ("upload (chunked)", "media", 0, MediaType::Mp4),
        ("upload (chunked)", "media", 5 * MIB + 1, MediaType::Webp),
        ("upload (chunked)", "media", 15 * MIB + 1, MediaType::Gif),
    ];
    for (operation, parameter, len, media_type) in files {
        cases.push(Case {
            operation,
            parameter,
            value: format!("{len} bytes of {media_type}"),
            attempt: Box::new(move || {
                let data = Bytes::from(vec![b'a'; len]);
                if operation == "upload (one request)" {
                    build(&UploadMedia::new(data, media_type, "b0undary")?)
                } else {
                    ChunkedUpload::new(data, media_type, "b0undary").map(drop)
                }
            }),
        });
    }
    cases.push(Case {
        operation: "upload (chunked)",
        parameter: "media",
        value: "512 MiB + 1 of video/mp4 (announced)".into(),
        attempt: Box::new(|| {
            let e = InitializeUpload::new(
                512 * MIB as u64 + 1,
                MediaType::Mp4,
                MediaCategory::DmVideo,
            )?;
            build(&e)
        }),
    });
    for (value, category) in [
        ("image/png as dm_video", MediaCategory::DmVideo),
        ("image/png as dm_gif", MediaCategory::DmGif),
    ] {
        cases.push(Case {
            operation: "upload (chunked)",
            parameter: "media_type",
            value: value.into(),
            attempt: Box::new(move || {
                ChunkedUpload::new(Bytes::from_static(b"png"), MediaType::Png, "b0undary")?
                    .with_category(category)
                    .map(drop)
            }),
        });
    }
    for value in [
        "",
        "image/svg+xml",
        "text/plain",
        "image/jpeg; q=1",
        "video/webm",
    ] {
        cases.push(Case {
            operation: "upload",
            parameter: "media_type",
            value: value.into(),
            attempt: Box::new(move || MediaType::parse(value).map(drop)),
        });
    }
    for chunk in [0usize, 5 * MIB + 1, usize::MAX] {
        cases.push(Case {
            operation: "upload (chunked)",
            parameter: "chunk_size",
            value: chunk.to_string(),
            attempt: Box::new(move || {
                ChunkedUpload::new(Bytes::from_static(b"mp4"), MediaType::Mp4, "b0undary")?
                    .with_chunk_size(chunk)
                    .map(drop)
            }),
        });
    }
    cases.push(Case {
        operation: "upload (chunked)",
        parameter: "chunk_size",
        value: "1 byte for a 1001-byte file (1001 segments)".into(),
        attempt: Box::new(|| {
            ChunkedUpload::new(Bytes::from(vec![b'a'; 1001]), MediaType::Mp4, "b0undary")?
                .with_chunk_size(1)
                .map(drop)
        }),
    });
    for index in [1000u16, u16::MAX] {
        cases.push(Case {
            operation: "upload_append",
            parameter: "segment_index",
            value: index.to_string(),
            attempt: Box::new(move || {
                build(&AppendUpload::new(
                    MediaId::try_from(1u64).unwrap(),
                    index,
                    Bytes::from_static(b"x"),
                    "b0undary",
                )?)
            }),
        });
    }
    for len in [0usize, 5 * MIB + 1] {
        cases.push(Case {
            operation: "upload_append",
            parameter: "media",
            value: format!("a segment of {len} bytes"),
            attempt: Box::new(move || {
                let chunk = Bytes::from(vec![b'a'; len]);
                build(&AppendUpload::new(
                    MediaId::try_from(1u64).unwrap(),
                    0,
                    chunk,
                    "b0undary",
                )?)
            }),
        });
    }
    let long_boundary = "b".repeat(71);
    for boundary in [
        "",
        "ends with space ",
        "quote\"inside",
        "crlf\r\n",
        "ümlaut",
        &long_boundary,
    ] {
        let boundary = boundary.to_owned();
        cases.push(Case {
            operation: "upload (one request)",
            parameter: "boundary",
            attempt: Box::new({
                let boundary = boundary.clone();
                move || {
                    build(&UploadMedia::new(
                        Bytes::from_static(b"png"),
                        MediaType::Png,
                        boundary.clone(),
                    )?)
                }
            }),
            value: boundary.clone(),
        });
        cases.push(Case {
            operation: "upload (chunked)",
            parameter: "boundary",
            attempt: Box::new({
                let boundary = boundary.clone();
                move || {
                    ChunkedUpload::new(Bytes::from_static(b"mp4"), MediaType::Mp4, boundary.clone())
                        .map(drop)
                }
            }),
            value: boundary,
        });
    }
    // A boundary that occurs in the file would end a multipart part early.
    cases.push(Case {
        operation: "upload (one request)",
        parameter: "boundary",
        value: "a boundary occurring in the file".into(),
        attempt: Box::new(|| {
            let data = Bytes::from_static(b"xx\r\n--b0undary\r\nyy");
            build(&UploadMedia::new(data, MediaType::Png, "b0undary")?)
        }),
    });
    cases.push(Case {
        operation: "upload (chunked)",
        parameter: "boundary",
        value: "a boundary occurring in the file".into(),
        attempt: Box::new(|| {
            let data = Bytes::from_static(b"xx\r\n--b0undary\r\nyy");
            ChunkedUpload::new(data, MediaType::Mp4, "b0undary").map(drop)
        }),
    });
}

/// Base URLs: anything but https (or http to loopback) is refused.
fn base_url_cases(cases: &mut Vec<Case>) {
    for value in [
        "",
        "api.x.com",
        "ftp://api.x.com",
        "file:///etc/passwd",
        "http://api.x.com",
        "http://10.0.0.1:8080",
        "http://192.168.0.1",
        "http://localhost.example.com",
        "http://127.0.0.1.nip.io",
        "http://[::ffff:7f00:1]",
        "http://0x7f000001",
        "https://user:password@api.x.com",
        "https://api.x.com/?q=1",
        "https://api.x.com/#f",
        "https://",
        "https:// spaced.example",
    ] {
        cases.push(Case {
            operation: "any (base url)",
            parameter: "base_url",
            value: value.into(),
            attempt: Box::new(move || BaseUrl::parse(value).map(drop)),
        });
    }
}

/// Checks one refusal: the right parameter, a stated problem, a stated allowance, a message
/// that says all three, and no private text quoted back.
fn check(case: &Case) -> Result<(), String> {
    let error = match (case.attempt)() {
        Ok(()) => return Err("accepted; a request could be built".into()),
        Err(e) => e,
    };
    if error.parameter != case.parameter {
        return Err(format!(
            "names parameter {:?}, expected {:?} ({error})",
            error.parameter, case.parameter
        ));
    }
    if error.problem.trim().is_empty() || error.allowed.trim().is_empty() {
        return Err(format!("problem or allowed is empty: {error:?}"));
    }
    let message = error.to_string();
    if !message.contains(case.parameter) || !message.contains(error.allowed.as_ref()) {
        return Err(format!(
            "message does not name parameter and allowance: {message}"
        ));
    }
    if message.contains(PRIVATE_TEXT_MARK) {
        return Err(format!("message quotes the message text: {message}"));
    }
    // A refusal must stay readable whatever was passed in: the value is never echoed whole.
    if message.len() > 600 {
        return Err(format!("message is {} bytes long", message.len()));
    }
    Ok(())
}

#[test]
fn every_invalid_parameter_is_refused_before_a_request_exists() {
    let mut cases = Vec::new();
    id_cases(&mut cases);
    list_cases(&mut cases);
    field_cases(&mut cases);
    message_cases(&mut cases);
    upload_cases(&mut cases);
    base_url_cases(&mut cases);
    let mut tally = Tally::new("bad_input_core");
    for case in &cases {
        tally.record(case, check(case));
    }
    tally.finish();
}

/// The valid neighbours of the invalid values above are accepted, so that the matrix cannot
/// pass by refusing everything.
#[test]
fn valid_neighbours_are_accepted() {
    let mut tally = Tally::new("bad_input_core_valid_neighbours");
    type Attempt = Box<dyn Fn() -> Result<(), InvalidInput>>;
    let ok: Vec<(&str, Attempt)> = vec![
        (
            "event_id 19 digits",
            Box::new(|| build(&GetEvent::new(EventId::parse("1234567890123456789")?))),
        ),
        (
            "max_results 1",
            Box::new(|| build(&ListEvents::new().with_max_results(1)?)),
        ),
        (
            "max_results 100",
            Box::new(|| build(&ListEvents::new().with_max_results(100)?)),
        ),
        (
            "token 16 chars",
            Box::new(|| {
                build(
                    &ListEvents::new()
                        .with_pagination_token(PaginationToken::parse("18LAA5G1SL0NR5OG")?),
                )
            }),
        ),
        (
            "unknown field name",
            Box::new(|| {
                build(&ListEvents::new().with_fields(
                    FieldSet::new().with_dm_event_fields([DmEventField::parse("future_field")?]),
                ))
            }),
        ),
        (
            "group of 2",
            Box::new(|| {
                build(&CreateGroup::new(
                    [
                        UserId::try_from(2u64).unwrap(),
                        UserId::try_from(3u64).unwrap(),
                    ],
                    text_message(),
                )?)
            }),
        ),
        (
            "group of 49",
            Box::new(|| {
                build(&CreateGroup::new(
                    (1..=49u64).map(|n| UserId::try_from(n).unwrap()),
                    text_message(),
                )?)
            }),
        ),
        (
            "blank text with attachment",
            Box::new(|| {
                Message::new(Some(" ".into()), [MediaId::try_from(1u64).unwrap()]).map(drop)
            }),
        ),
        (
            "conversation 15 digits",
            Box::new(|| {
                build(&ListConversationEvents::new(ConversationId::parse(
                    "123456789012345",
                )?))
            }),
        ),
        (
            "png of 5 MiB",
            Box::new(|| {
                build(&UploadMedia::new(
                    Bytes::from(vec![b'a'; 5 * 1024 * 1024]),
                    MediaType::Png,
                    "b0undary",
                )?)
            }),
        ),
        (
            "http loopback",
            Box::new(|| BaseUrl::parse("http://127.0.0.1:9").map(drop)),
        ),
        (
            "media url",
            Box::new(|| {
                build(&DownloadMedia::from_media_url(
                    "https://ton.twitter.com/1.1/ton/data/dm/1/2/a.jpg",
                )?)
            }),
        ),
    ];
    for (name, attempt) in ok {
        tally.record(name, attempt().map_err(|e| format!("refused: {e}")));
    }
    tally.finish();
}
