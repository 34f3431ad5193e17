//! The worlds the emulator can start with: a seeded demo world, or users only.

use bytes::Bytes;

use crate::ids::Rng;
use crate::state::{Body, ConvKey, EventType, Media, MediaState, Rich, World};

/// The fixed users of every world: `(id, username, name)`. The first is "me", the caller
/// the issued credentials belong to; the last has blocked "me".
pub(crate) const USERS: &[(u64, &str, &str)] = &[
    (1_600_000_000_000_000_001, "emu_me", "Emulator Me"),
    (1_600_000_000_000_000_002, "alice_emu", "Alice Example"),
    (1_600_000_000_000_000_003, "bob_emu", "Bob Example"),
    (1_600_000_000_000_000_004, "carol_emu", "Carol Example"),
    (1_600_000_000_000_000_005, "dave_emu", "Dave Example"),
    (1_600_000_000_000_000_006, "erin_emu", "Erin Example"),
];

/// A tiny JPEG-looking payload served for seeded photo attachments.
pub(crate) const PHOTO: &[u8] =
    b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00emulator-photo\xFF\xD9";

/// How seeded history spreads back from the start time.
const SPAN_MS: u64 = 7 * 24 * 60 * 60 * 1000;

/// Builds the users (and erin's block of me) every world has.
pub(crate) fn users_only(now_ms: u64, seed: u64) -> World {
    let mut w = World {
        phrase_shift: (seed % 10) as u32,
        ..World::default()
    };
    for (i, (id, username, name)) in USERS.iter().enumerate() {
        w.add_user(
            *id,
            username,
            name,
            now_ms - SPAN_MS * 10 - i as u64 * 86_400_000,
        );
    }
    let last = (USERS.len() - 1) as u32;
    w.blocks.insert((last, 0));
    w
}

/// The demo world: a one-to-one with alice, one with bob, and a group that sees a join and a
/// leave, with `events` events in all, spread over the seven days before `now_ms`.
pub(crate) fn demo(now_ms: u64, seed: u64, events: usize) -> World {
    let mut w = users_only(now_ms, seed);
    let mut rng = Rng::new(seed);
    let (me, alice, bob, carol, dave) = (0u32, 1u32, 2u32, 3u32, 4u32);
    let id = |u: u32| USERS[u as usize].0;
    let a = w.conversation(ConvKey::pair(id(me), id(alice)), &[me, alice]);
    let b = w.conversation(ConvKey::pair(id(me), id(bob)), &[me, bob]);
    let start = now_ms - SPAN_MS;
    let step = SPAN_MS / (events.max(1) as u64 + 1);
    let gid = w.ids.next_at(start);
    let g = w.conversation(ConvKey::Group(gid), &[me, alice, bob, carol]);
    let n = events;
    for i in 0..n {
        let ms = start + step * i as u64 + rng.below(step.max(1));
        let join = |ps: &[u32]| {
            Body::Rich(Box::new(Rich {
                participants: ps.into(),
                ..Rich::default()
            }))
        };
        if i == 0 {
            w.push_event(
                ms,
                g,
                me,
                EventType::ParticipantsJoin,
                join(&[me, alice, bob, carol]),
            );
            continue;
        }
        if i == n / 2 && n > 4 {
            w.push_event(ms, g, me, EventType::ParticipantsJoin, join(&[dave]));
            w.convs[g as usize].members.push(dave);
            continue;
        }
        if i == 3 * n / 4 && n > 4 {
            w.push_event(ms, g, carol, EventType::ParticipantsLeave, join(&[carol]));
            w.convs[g as usize].members.retain(|&m| m != carol);
            continue;
        }
        let (conv, sender) = match i % 5 {
            0..=2 => (a, if rng.below(2) == 0 { me } else { alice }),
            3 => (b, if rng.below(2) == 0 { me } else { bob }),
            _ => {
                let members = &w.convs[g as usize].members;
                (g, members[rng.below(members.len() as u64) as usize])
            }
        };
        let body = if i % 37 == 1 {
            let post = 1_800_000_000_000_000_000 + rng.below(1_000_000_000_000);
            let text = format!("Have you seen this? https://x.com/alice_emu/status/{post}");
            Body::Rich(Box::new(Rich {
                text: Some(text.into()),
                referenced: Box::new([post]),
                ..Rich::default()
            }))
        } else if i % 53 == 2 {
            let mid = w.ids.next_at(ms);
            let m = w.media.len() as u32;
            w.media.push(Media {
                id: mid,
                prefix: 3,
                owner: sender,
                extra_owners: Vec::new(),
                media_type: "image/jpeg".into(),
                total_bytes: Some(PHOTO.len() as u64),
                segments: Default::default(),
                data: Bytes::from_static(PHOTO),
                state: MediaState::Ready,
                created_ms: ms,
                resource_id: format!("{}.jpg", rng.alnum(8)),
            });
            w.media_index.insert(mid, m);
            Body::Rich(Box::new(Rich {
                text: Some("A photo for you".into()),
                media: Some(m),
                ..Rich::default()
            }))
        } else {
            Body::Seeded(i as u32)
        };
        w.push_event(ms, conv, sender, EventType::MessageCreate, body);
    }
    w
}
