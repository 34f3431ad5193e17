//! Creating a group conversation with a first message.

use bytes::Bytes;
use http::Method;
use serde::Serialize;

use super::{WRITE_SCOPES, info, json_request};
use crate::endpoints::Message;
use crate::error::ApiError;
use crate::ids::UserId;
use crate::models::SentMessage;
use crate::response::{ApiResponse, decode_json};
use crate::{Delivery, Endpoint, EndpointGroup, EndpointInfo, InvalidInput, RequestContext};

/// Creates a group conversation and sends its first message: `POST /2/dm_conversations`.
///
/// X takes 2 to 49 participants. Posting the same list twice creates two groups, so this is
/// [`Delivery::AtMostOnce`] like any send.
///
/// ```
/// use xdm_core::endpoints::{CreateGroup, Message};
/// use xdm_core::ids::UserId;
/// use xdm_core::{Endpoint, RequestContext};
///
/// let group = CreateGroup::new(
///     [UserId::try_from(145336962).unwrap(), UserId::try_from(750362064426721281).unwrap()],
///     Message::text("Testing")?,
/// )?;
/// let request = group.build_request(&RequestContext::default())?;
/// assert_eq!(request.uri(), "https://api.x.com/2/dm_conversations");
/// assert_eq!(
///     request.body().as_ref(),
///     br#"{"conversation_type":"Group","participant_ids":["145336962","750362064426721281"],"message":{"text":"Testing"}}"#
/// );
///
/// let one = CreateGroup::new([UserId::try_from(1).unwrap()], Message::text("x")?);
/// assert_eq!(one.unwrap_err().parameter, "participant_ids");
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateGroup {
    participants: Vec<UserId>,
    message: Message,
}

const PARTICIPANTS_ALLOWED: &str = "2 to 49 distinct user ids";

impl CreateGroup {
    /// Where group creation lives.
    pub const PATH: &'static str = "/2/dm_conversations";
    /// The fewest participants X accepts.
    pub const MIN_PARTICIPANTS: usize = 2;
    /// The most participants X accepts.
    pub const MAX_PARTICIPANTS: usize = 49;

    /// A group of `participants` (2 to 49, no repeats) opened with `message`.
    pub fn new(
        participants: impl IntoIterator<Item = UserId>,
        message: Message,
    ) -> Result<Self, InvalidInput> {
        let participants: Vec<UserId> = participants.into_iter().collect();
        // Compared by value: "07" and "7" name the same user.
        for (i, p) in participants.iter().enumerate() {
            if participants[..i].iter().any(|q| q.as_u64() == p.as_u64()) {
                return Err(InvalidInput::new(
                    "participant_ids",
                    format!("user {p} is listed more than once"),
                    PARTICIPANTS_ALLOWED,
                ));
            }
        }
        let n = participants.len();
        if !(Self::MIN_PARTICIPANTS..=Self::MAX_PARTICIPANTS).contains(&n) {
            return Err(InvalidInput::new(
                "participant_ids",
                format!("{n} participants"),
                PARTICIPANTS_ALLOWED,
            ));
        }
        Ok(Self {
            participants,
            message,
        })
    }

    /// The participants, in the order given.
    pub fn participants(&self) -> &[UserId] {
        &self.participants
    }

    /// The first message.
    pub fn message(&self) -> &Message {
        &self.message
    }
}

/// The wire body; field order follows the spec's example.
#[derive(Serialize)]
struct Wire<'a> {
    conversation_type: &'static str,
    participant_ids: &'a [UserId],
    message: &'a Message,
}

impl Endpoint for CreateGroup {
    type Output = ApiResponse<SentMessage>;

    fn info(&self) -> EndpointInfo {
        info(
            Method::POST,
            Self::PATH,
            EndpointGroup::SendMessage,
            WRITE_SCOPES,
            Delivery::AtMostOnce,
        )
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        let body = Wire {
            // X accepts only this value, and only with this capitalisation.
            conversation_type: "Group",
            participant_ids: &self.participants,
            message: &self.message,
        };
        Ok(json_request(self.info(), ctx, Self::PATH, &body))
    }

    fn decode_response(
        &self,
        response: http::Response<Bytes>,
    ) -> Result<ApiResponse<SentMessage>, ApiError> {
        decode_json(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoints::test_support::{build, response};
    use crate::ids::MediaId;

    fn users(n: u64) -> Vec<UserId> {
        (1..=n).map(|i| UserId::try_from(i).unwrap()).collect()
    }

    fn text() -> Message {
        Message::text("hi").unwrap()
    }

    #[test]
    fn participant_counts_outside_2_to_49_are_refused() {
        for n in [0, 1, 50, 100] {
            let e = CreateGroup::new(users(n), text()).unwrap_err();
            assert_eq!(e.parameter, "participant_ids");
            assert_eq!(e.problem, format!("{n} participants"));
            assert_eq!(e.allowed, PARTICIPANTS_ALLOWED);
        }
        for n in [2, 49] {
            let g = CreateGroup::new(users(n), text()).unwrap();
            assert_eq!(g.participants().len(), n as usize);
        }
    }

    #[test]
    fn duplicates_are_refused_even_when_spelled_differently() {
        let e = CreateGroup::new(
            [
                UserId::try_from(7).unwrap(),
                UserId::try_from(8).unwrap(),
                UserId::try_from(7).unwrap(),
            ],
            text(),
        )
        .unwrap_err();
        assert_eq!(e.problem, "user 7 is listed more than once");
        let e = CreateGroup::new(
            [
                UserId::parse("07").unwrap(),
                UserId::try_from(7).unwrap(),
                UserId::try_from(9).unwrap(),
            ],
            text(),
        )
        .unwrap_err();
        assert_eq!(e.parameter, "participant_ids");
        // 49 distinct plus one repeat: the repeat is what the caller needs to hear about.
        let mut many = users(49);
        many.push(UserId::try_from(1).unwrap());
        let e = CreateGroup::new(many, text()).unwrap_err();
        assert!(e.problem.contains("more than once"));
    }

    #[test]
    fn body_and_info() {
        let g = CreateGroup::new(users(2), Message::media(MediaId::try_from(3).unwrap())).unwrap();
        assert_eq!(
            g.message().attachment(),
            Some(&MediaId::try_from(3).unwrap())
        );
        let request = build(&g);
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.headers()["content-type"], "application/json");
        assert_eq!(
            request.body().as_ref(),
            br#"{"conversation_type":"Group","participant_ids":["1","2"],"message":{"attachments":[{"media_id":"3"}]}}"#
        );
        let info = g.info();
        assert_eq!(info.delivery, Delivery::AtMostOnce);
        assert_eq!(info.group, EndpointGroup::SendMessage);
        assert_eq!(info.path_template, "/2/dm_conversations");
    }

    #[test]
    fn response_decodes() {
        let sent = CreateGroup::new(users(2), text())
            .unwrap()
            .decode_response(response(
                201,
                "application/json",
                r#"{"data":{"dm_conversation_id":"1578900353814519810","dm_event_id":"1"}}"#,
            ))
            .unwrap();
        assert!(sent.data.is_some());
    }
}
