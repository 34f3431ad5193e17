//! The world the emulator serves: users, conversations, events, media and blocks.
//!
//! Events live in one vector in id order (ids grow with time), so listings are a binary
//! search plus a walk; conversations keep the positions of their own events.

use std::collections::{BTreeMap, HashMap, HashSet};

use bytes::Bytes;

use crate::clock::rfc3339_millis;
use crate::ids::{Direction, IdGen, millis_of};

/// The three kinds of DM event X reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// A message was sent.
    MessageCreate,
    /// Users joined a group conversation.
    ParticipantsJoin,
    /// Users left a group conversation.
    ParticipantsLeave,
}

impl EventType {
    /// The wire name, as in `event_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MessageCreate => "MessageCreate",
            Self::ParticipantsJoin => "ParticipantsJoin",
            Self::ParticipantsLeave => "ParticipantsLeave",
        }
    }

    pub(crate) fn bit(self) -> u8 {
        match self {
            Self::MessageCreate => 1,
            Self::ParticipantsJoin => 2,
            Self::ParticipantsLeave => 4,
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "MessageCreate" => Some(Self::MessageCreate),
            "ParticipantsJoin" => Some(Self::ParticipantsJoin),
            "ParticipantsLeave" => Some(Self::ParticipantsLeave),
            _ => None,
        }
    }
}

/// A user of the emulated world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// Numeric id, as a string like on the wire.
    pub id: String,
    /// Handle without `@`.
    pub username: String,
    /// Display name.
    pub name: String,
}

#[derive(Debug)]
pub(crate) struct User {
    pub(crate) id: u64,
    pub(crate) username: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) created_ms: u64,
}

/// A conversation's identity: a pair of users, or a numbered group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ConvKey {
    Pair(u64, u64),
    Group(u64),
}

impl ConvKey {
    pub(crate) fn pair(a: u64, b: u64) -> Self {
        Self::Pair(a.min(b), a.max(b))
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        let num = |t: &str| {
            (!t.is_empty() && t.len() <= 19 && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse::<u64>().ok())
                .flatten()
        };
        match s.split_once('-') {
            Some((a, b)) => Some(Self::pair(num(a)?, num(b)?)),
            None => num(s).map(Self::Group),
        }
    }
}

impl std::fmt::Display for ConvKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Pair(a, b) => write!(f, "{a}-{b}"),
            Self::Group(g) => write!(f, "{g}"),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Conversation {
    pub(crate) key: ConvKey,
    pub(crate) members: Vec<u32>,
    /// Positions in `World::events`, ascending.
    pub(crate) events: Vec<u32>,
}

/// One event, kept small: seeded messages store only a number their text is derived from.
#[derive(Debug)]
pub(crate) struct Event {
    pub(crate) id: u64,
    pub(crate) conv: u32,
    pub(crate) sender: u32,
    pub(crate) kind: EventType,
    /// Its sender deleted it. X's delete is "delete for you": the event is gone from the
    /// sender's lookups only, and only a message's sender may delete it, so one flag is
    /// enough to say who no longer sees it.
    pub(crate) deleted: bool,
    pub(crate) body: Body,
}

#[derive(Debug)]
pub(crate) enum Body {
    Seeded(u32),
    Text(Box<str>),
    Rich(Box<Rich>),
}

#[derive(Debug, Default)]
pub(crate) struct Rich {
    pub(crate) text: Option<Box<str>>,
    pub(crate) participants: Box<[u32]>,
    pub(crate) media: Option<u32>,
    pub(crate) referenced: Box<[u64]>,
}

/// Where an upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MediaState {
    Uploading,
    Processing { ready_ms: u64 },
    Ready,
}

#[derive(Debug)]
pub(crate) struct Media {
    pub(crate) id: u64,
    pub(crate) prefix: u8,
    pub(crate) owner: u32,
    pub(crate) extra_owners: Vec<u64>,
    pub(crate) media_type: String,
    pub(crate) total_bytes: Option<u64>,
    pub(crate) segments: BTreeMap<u32, Bytes>,
    pub(crate) data: Bytes,
    pub(crate) state: MediaState,
    pub(crate) created_ms: u64,
    pub(crate) resource_id: String,
}

impl Media {
    pub(crate) fn key(&self) -> String {
        format!("{}_{}", self.prefix, self.id)
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self.prefix {
            5 => "video",
            16 => "animated_gif",
            _ => "photo",
        }
    }
}

/// Why a write was refused; routes turn these into X's bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WriteError {
    UnknownUser(String),
    UnknownConversation(String),
    NotMember,
    Blocked,
    MediaNotPermitted,
}

const PHRASES: &[&str] = &[
    "Hello there!",
    "Did you see the launch notes? #release",
    "Lunch at noon?",
    "Sending the draft over now.",
    "Thanks, that fixed it.",
    "Can you review my PR when you get a chance?",
    "Running late, start without me.",
    "Ship it! #friday",
    "I'll check the logs tonight.",
    "Good morning from the emulator.",
];

/// The whole emulated state.
#[derive(Debug, Default)]
pub(crate) struct World {
    pub(crate) users: Vec<User>,
    pub(crate) user_index: HashMap<u64, u32>,
    pub(crate) convs: Vec<Conversation>,
    pub(crate) conv_index: HashMap<ConvKey, u32>,
    pub(crate) events: Vec<Event>,
    pub(crate) media: Vec<Media>,
    pub(crate) media_index: HashMap<u64, u32>,
    /// (blocker, blocked)
    pub(crate) blocks: HashSet<(u32, u32)>,
    pub(crate) ids: IdGen,
    pub(crate) phrase_shift: u32,
    /// Each user's read mark per conversation (user, conversation) -> last read event id;
    /// a missing mark stands at `seeded_until`.
    pub(crate) read_marks: HashMap<(u32, u32), u64>,
    /// The last event of the seeded world: the world starts read up to it.
    pub(crate) seeded_until: u64,
    /// Changes not yet published to the console (conversation, event), kept only while the
    /// console is on.
    pub(crate) feed: Option<Vec<(u32, Option<u64>)>>,
}

impl World {
    pub(crate) fn add_user(&mut self, id: u64, username: &str, name: &str, created_ms: u64) -> u32 {
        let idx = self.users.len() as u32;
        self.users.push(User {
            id,
            username: username.to_owned(),
            name: name.to_owned(),
            description: format!("{name} lives in the emulator."),
            created_ms,
        });
        self.user_index.insert(id, idx);
        idx
    }

    pub(crate) fn user_by_id(&self, id: u64) -> Option<u32> {
        self.user_index.get(&id).copied()
    }

    pub(crate) fn user_by_name(&self, name: &str) -> Option<u32> {
        self.users
            .iter()
            .position(|u| u.username.eq_ignore_ascii_case(name))
            .map(|i| i as u32)
    }

    pub(crate) fn text_of(&self, e: &Event) -> Option<String> {
        match &e.body {
            Body::Seeded(n) => {
                let p = PHRASES[((*n).wrapping_add(self.phrase_shift) as usize) % PHRASES.len()];
                Some(format!("{p} ({n})"))
            }
            Body::Text(t) => Some(t.to_string()),
            Body::Rich(r) => r.text.as_deref().map(str::to_owned),
        }
    }

    /// The X ids of `users` (indices into [`World::users`]), in order, as strings.
    pub(crate) fn user_ids(&self, users: &[u32]) -> Vec<String> {
        users
            .iter()
            .map(|&u| self.users[u as usize].id.to_string())
            .collect()
    }

    pub(crate) fn rich_of<'a>(&self, e: &'a Event) -> Option<&'a Rich> {
        match &e.body {
            Body::Rich(r) => Some(r),
            _ => None,
        }
    }

    /// Where event `id` is, deleted or not.
    pub(crate) fn event_pos(&self, id: u64) -> Option<usize> {
        let p = self.events.partition_point(|e| e.id < id);
        (p < self.events.len() && self.events[p].id == id).then_some(p)
    }

    /// Where event `id` is, if `viewer` may look it up.
    pub(crate) fn event_seen_by(&self, viewer: u32, id: u64) -> Option<usize> {
        self.event_pos(id)
            .filter(|&p| self.seen_by(viewer, &self.events[p]))
    }

    /// Whether `viewer` is in the event's conversation and has not deleted it.
    pub(crate) fn seen_by(&self, viewer: u32, e: &Event) -> bool {
        !hidden_from(viewer, e) && self.convs[e.conv as usize].members.contains(&viewer)
    }

    pub(crate) fn conversation(&mut self, key: ConvKey, members: &[u32]) -> u32 {
        if let Some(&c) = self.conv_index.get(&key) {
            return c;
        }
        let idx = self.convs.len() as u32;
        self.convs.push(Conversation {
            key,
            members: members.to_vec(),
            events: Vec::new(),
        });
        self.conv_index.insert(key, idx);
        idx
    }

    /// Appends an event created at `ms`; the id is the next one for that time.
    pub(crate) fn push_event(
        &mut self,
        ms: u64,
        conv: u32,
        sender: u32,
        kind: EventType,
        body: Body,
    ) -> u64 {
        let id = self.ids.next_at(ms);
        let pos = self.events.len() as u32;
        self.events.push(Event {
            id,
            conv,
            sender,
            kind,
            deleted: false,
            body,
        });
        self.convs[conv as usize].events.push(pos);
        if self.feed.is_some() {
            // A user's own message marks the conversation read for them.
            if kind == EventType::MessageCreate {
                self.read_marks.insert((sender, conv), id);
            }
            self.note_change(conv, Some(id));
        }
        id
    }

    /// Records a change of conversation `conv` for the console's live updates.
    pub(crate) fn note_change(&mut self, conv: u32, event: Option<u64>) {
        if let Some(feed) = &mut self.feed {
            feed.push((conv, event));
        }
    }

    /// Takes the changes recorded since the last call.
    pub(crate) fn take_changes(&mut self) -> Vec<(u32, Option<u64>)> {
        self.feed.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The last event `user` has read in `conv`.
    pub(crate) fn read_mark(&self, user: u32, conv: u32) -> u64 {
        self.read_marks
            .get(&(user, conv))
            .copied()
            .unwrap_or(self.seeded_until)
    }

    /// Moves `user`'s read mark in `conv` to `event`.
    pub(crate) fn mark_read(&mut self, user: u32, conv: u32, event: u64) {
        self.read_marks.insert((user, conv), event);
        self.note_change(conv, Some(event));
    }

    /// Messages of others than `user` in `conv`, not deleted, after `user`'s read mark; 0
    /// when `user` is not a member.
    pub(crate) fn unread(&self, user: u32, conv: u32) -> usize {
        let c = &self.convs[conv as usize];
        if !c.members.contains(&user) {
            return 0;
        }
        let mark = self.read_mark(user, conv);
        c.events
            .iter()
            .rev()
            .map(|&p| &self.events[p as usize])
            .take_while(|e| e.id > mark)
            .filter(|e| e.kind == EventType::MessageCreate && e.sender != user && !e.deleted)
            .count()
    }

    /// Checks that `sender` may attach media `media_id`, returning its position.
    pub(crate) fn attachable(&self, sender: u32, media_id: &str) -> Result<u32, WriteError> {
        let id: u64 = media_id
            .parse()
            .map_err(|_| WriteError::MediaNotPermitted)?;
        let m = *self
            .media_index
            .get(&id)
            .ok_or(WriteError::MediaNotPermitted)?;
        let media = &self.media[m as usize];
        let sender_id = self.users[sender as usize].id;
        let owned = media.owner == sender || media.extra_owners.contains(&sender_id);
        if owned && media.state != MediaState::Uploading {
            Ok(m)
        } else {
            Err(WriteError::MediaNotPermitted)
        }
    }

    fn message_body(text: Option<&str>, media: Option<u32>) -> Body {
        let referenced = text.map(referenced_posts).unwrap_or_default();
        match (text, media, referenced.is_empty()) {
            (Some(t), None, true) => Body::Text(t.into()),
            _ => Body::Rich(Box::new(Rich {
                text: text.map(Into::into),
                media,
                referenced: referenced.into_boxed_slice(),
                ..Rich::default()
            })),
        }
    }

    /// Sends a message into an existing conversation the sender belongs to.
    pub(crate) fn send_to_conversation(
        &mut self,
        ms: u64,
        sender: u32,
        conv: u32,
        text: Option<&str>,
        media: Option<u32>,
    ) -> Result<(String, u64), WriteError> {
        let c = &self.convs[conv as usize];
        if !c.members.contains(&sender) {
            return Err(WriteError::NotMember);
        }
        if let ConvKey::Pair(..) = c.key {
            let other = c
                .members
                .iter()
                .copied()
                .find(|&m| m != sender)
                .unwrap_or(sender);
            if self.blocks.contains(&(other, sender)) {
                return Err(WriteError::Blocked);
            }
        }
        let key = c.key.to_string();
        let id = self.push_event(
            ms,
            conv,
            sender,
            EventType::MessageCreate,
            Self::message_body(text, media),
        );
        Ok((key, id))
    }

    /// Sends to a user, creating the one-to-one conversation on first contact.
    pub(crate) fn send_to_user(
        &mut self,
        ms: u64,
        sender: u32,
        to: u32,
        text: Option<&str>,
        media: Option<u32>,
    ) -> Result<(String, u64), WriteError> {
        if self.blocks.contains(&(to, sender)) {
            return Err(WriteError::Blocked);
        }
        let key = ConvKey::pair(self.users[sender as usize].id, self.users[to as usize].id);
        let mut members = vec![sender];
        if to != sender {
            members.push(to);
        }
        let conv = self.conversation(key, &members);
        self.send_to_conversation(ms, sender, conv, text, media)
    }

    /// Creates a new group (always new, even for a known participant list).
    pub(crate) fn create_group(
        &mut self,
        ms: u64,
        creator: u32,
        others: &[u32],
        text: Option<&str>,
        media: Option<u32>,
    ) -> (String, u64) {
        let gid = self.ids.next_at(ms);
        let mut members = vec![creator];
        members.extend(others.iter().copied().filter(|&o| o != creator));
        let conv = self.conversation(ConvKey::Group(gid), &members);
        let rich = Rich {
            participants: members.clone().into_boxed_slice(),
            ..Rich::default()
        };
        self.push_event(
            ms,
            conv,
            creator,
            EventType::ParticipantsJoin,
            Body::Rich(Box::new(rich)),
        );
        let id = self.push_event(
            ms,
            conv,
            creator,
            EventType::MessageCreate,
            Self::message_body(text, media),
        );
        (gid.to_string(), id)
    }

    /// Walks the events of `scope` newest first from `cursor`, keeping those `viewer` may see
    /// and whose type is in `types`.
    pub(crate) fn page(
        &self,
        viewer: u32,
        conv: Option<u32>,
        types: u8,
        cursor: Option<(Direction, u64)>,
        max: usize,
    ) -> Vec<usize> {
        let positions: Box<dyn Fn(usize) -> usize + '_> = match conv {
            Some(c) => Box::new(move |i| self.convs[c as usize].events[i] as usize),
            None => Box::new(|i| i),
        };
        let len = conv.map_or(self.events.len(), |c| self.convs[c as usize].events.len());
        // A conversation's membership was checked by the route; the whole-inbox walk checks it
        // per event.
        let keep = |p: usize| {
            let e = &self.events[p];
            types & e.kind.bit() != 0
                && match conv {
                    Some(_) => !hidden_from(viewer, e),
                    None => self.seen_by(viewer, e),
                }
        };
        let id_at = |i: usize| self.events[positions(i)].id;
        let mut out = Vec::new();
        match cursor {
            Some((Direction::Previous, c)) => {
                let start = partition(len, |i| id_at(i) <= c);
                for i in start..len {
                    if out.len() == max {
                        break;
                    }
                    if keep(positions(i)) {
                        out.push(positions(i));
                    }
                }
                out.reverse();
            }
            other => {
                let end = match other {
                    Some((_, c)) => partition(len, |i| id_at(i) < c),
                    None => len,
                };
                for i in (0..end).rev() {
                    if out.len() == max {
                        break;
                    }
                    if keep(positions(i)) {
                        out.push(positions(i));
                    }
                }
            }
        }
        out
    }

    /// A public snapshot of one event.
    pub(crate) fn view(&self, e: &Event) -> EventView {
        let rich = self.rich_of(e);
        EventView {
            id: e.id.to_string(),
            event_type: e.kind,
            conversation_id: self.convs[e.conv as usize].key.to_string(),
            sender_id: self.users[e.sender as usize].id.to_string(),
            text: self.text_of(e),
            participant_ids: rich
                .map(|r| self.user_ids(&r.participants))
                .unwrap_or_default(),
            media_keys: rich
                .and_then(|r| r.media)
                .map(|m| vec![self.media[m as usize].key()])
                .unwrap_or_default(),
            referenced_post_ids: rich
                .map(|r| r.referenced.iter().map(u64::to_string).collect())
                .unwrap_or_default(),
            created_at: rfc3339_millis(millis_of(e.id)),
        }
    }
}

/// Whether `viewer` deleted `e` for themselves.
fn hidden_from(viewer: u32, e: &Event) -> bool {
    e.deleted && e.sender == viewer
}

fn partition(len: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Ids of posts linked from `text` (`https://x.com/{user}/status/{id}` or twitter.com).
pub(crate) fn referenced_posts(text: &str) -> Vec<u64> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let rest = word
            .strip_prefix("https://")
            .or_else(|| word.strip_prefix("http://"));
        let Some(rest) = rest else { continue };
        let mut parts = rest.split('/');
        let host = parts.next().unwrap_or("").to_ascii_lowercase();
        let host = host
            .strip_prefix("www.")
            .or_else(|| host.strip_prefix("mobile."))
            .unwrap_or(&host);
        if host != "x.com" && host != "twitter.com" {
            continue;
        }
        let (_user, status, id) = (parts.next(), parts.next(), parts.next());
        if status != Some("status") {
            continue;
        }
        let id: String = id
            .unwrap_or("")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(id) = id.parse::<u64>()
            && (1..=19).contains(&id.to_string().len())
            && !out.contains(&id)
        {
            out.push(id);
        }
    }
    out
}

/// A snapshot of one event, for tests to inspect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventView {
    /// Event id.
    pub id: String,
    /// Kind of event.
    pub event_type: EventType,
    /// Conversation id (`low-high` or a group number).
    pub conversation_id: String,
    /// Who sent the message, or who changed the group.
    pub sender_id: String,
    /// Message text, if any.
    pub text: Option<String>,
    /// Users who joined or left (Join/Leave events).
    pub participant_ids: Vec<String>,
    /// Attached media keys.
    pub media_keys: Vec<String>,
    /// Posts linked from the text.
    pub referenced_post_ids: Vec<String>,
    /// Creation time, RFC 3339 with milliseconds.
    pub created_at: String,
}

/// A snapshot of one conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationView {
    /// Conversation id.
    pub id: String,
    /// Whether it is a group conversation.
    pub is_group: bool,
    /// Current members' ids.
    pub participant_ids: Vec<String>,
    /// Number of events its senders have not deleted.
    pub event_count: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_keys_parse_and_print() {
        assert_eq!(ConvKey::parse("9-3"), Some(ConvKey::Pair(3, 9)));
        assert_eq!(ConvKey::Pair(3, 9).to_string(), "3-9");
        assert_eq!(
            ConvKey::parse("1585800614365339648"),
            Some(ConvKey::Group(1_585_800_614_365_339_648))
        );
        assert_eq!(ConvKey::parse("abc"), None);
        assert_eq!(ConvKey::parse("1-"), None);
    }

    #[test]
    fn read_marks_count_unread_messages_of_others() {
        let mut w = World::default();
        let a = w.add_user(10, "a", "A", 0);
        let b = w.add_user(20, "b", "B", 0);
        let c = w.add_user(30, "c", "C", 0);
        w.send_to_user(1000, a, b, Some("seeded"), None).unwrap();
        w.seeded_until = w.events.last().unwrap().id;
        w.feed = Some(Vec::new());
        let conv = w.events[0].conv;
        assert_eq!(w.unread(b, conv), 0, "the seeded world starts read");
        w.send_to_user(2000, a, b, Some("one"), None).unwrap();
        let (_, two) = w.send_to_user(3000, a, b, Some("two"), None).unwrap();
        assert_eq!(w.unread(b, conv), 2);
        assert_eq!(w.unread(a, conv), 0, "one's own messages are read");
        assert_eq!(w.unread(c, conv), 0, "not a member");
        w.events.last_mut().unwrap().deleted = true;
        assert_eq!(w.unread(b, conv), 1, "a deleted message is not unread");
        w.mark_read(b, conv, two);
        assert_eq!(w.unread(b, conv), 0);
        let (_, reply) = w.send_to_user(4000, b, a, Some("reply"), None).unwrap();
        assert_eq!(w.read_mark(b, conv), reply);
        assert_eq!(w.take_changes().len(), 4);
        assert!(w.take_changes().is_empty());
    }

    #[test]
    fn events_stay_small() {
        // Benchmarks seed 100,000+ events; keep each one a few words.
        assert!(
            std::mem::size_of::<Event>() <= 48,
            "{}",
            std::mem::size_of::<Event>()
        );
    }

    #[test]
    fn finds_linked_posts() {
        assert_eq!(
            referenced_posts(
                "see https://x.com/a/status/123 and https://twitter.com/b/status/456?s=20 http://example.com/x/status/9"
            ),
            vec![123, 456]
        );
        assert!(referenced_posts("no links").is_empty());
    }
}
