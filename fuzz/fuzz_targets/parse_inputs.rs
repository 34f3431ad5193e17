//! Every parser of user input (ids, tokens, field names, base and media URLs, MIME types):
//! arbitrary text is accepted or refused with an error naming a parameter, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xdm_core::BaseUrl;
use xdm_core::endpoints::{DownloadMedia, Message};
use xdm_core::fields::{DmEventField, EventType, Expansion, MediaField, TweetField, UserField};
use xdm_core::ids::{ConversationId, EventId, MediaKey, PaginationToken, ResourceId, UserId};
use xdm_core::upload::MediaType;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let named = |r: Result<(), xdm_core::InvalidInput>| {
        if let Err(e) = r {
            assert!(!e.parameter.is_empty() && !e.allowed.is_empty());
        }
    };
    named(UserId::parse(s).map(drop));
    named(EventId::parse(s).map(drop));
    named(ConversationId::parse(s).map(drop));
    named(MediaKey::parse(s).map(drop));
    named(ResourceId::parse(s).map(drop));
    named(PaginationToken::parse(s).map(drop));
    named(DmEventField::parse(s).map(drop));
    named(Expansion::parse(s).map(drop));
    named(UserField::parse(s).map(drop));
    named(MediaField::parse(s).map(drop));
    named(TweetField::parse(s).map(drop));
    named(s.parse::<EventType>().map(drop));
    named(BaseUrl::parse(s).map(drop));
    named(DownloadMedia::from_media_url(s).map(drop));
    named(MediaType::parse(s).map(drop));
    named(Message::text(s).map(drop));
});
