//! Sending a message, to a user or into an existing conversation.

use bytes::Bytes;
use http::Method;
use serde::Serialize;

use super::{WRITE_SCOPES, fill_path, info, json_request};
use crate::error::ApiError;
use crate::ids::{ConversationId, MediaId, UserId};
use crate::models::SentMessage;
use crate::response::{ApiResponse, decode_json};
use crate::{Delivery, Endpoint, EndpointGroup, EndpointInfo, InvalidInput, RequestContext};

/// The content of a direct message: text, one media attachment, or both.
///
/// A message always has something to show: construction refuses a message with neither text
/// nor attachment, and a text that is empty or only whitespace unless media is attached. X
/// allows one attachment per message. The text's length is left to the server, which is the
/// only party that knows its current limit.
///
/// Serialized, it is X's message body: `{"text":…,"attachments":[{"media_id":…}]}`, with absent
/// parts left out.
///
/// ```
/// use xdm_core::endpoints::Message;
/// use xdm_core::ids::MediaId;
///
/// let m = Message::text("hi")?.with_attachment(MediaId::try_from(5).unwrap())?;
/// assert_eq!(
///     serde_json::to_string(&m).unwrap(),
///     r#"{"text":"hi","attachments":[{"media_id":"5"}]}"#
/// );
/// assert!(Message::text("  ").is_err());
/// assert!(Message::new(None, []).is_err());
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    text: Option<String>,
    attachment: Option<MediaId>,
}

/// Whether `c` shows nothing: white space, or a format character such as a zero-width
/// space, a joiner, a direction mark or a byte-order mark. A text made only of these would
/// arrive as an empty-looking message.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}'
            | '\u{17B5}' | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

const MESSAGE_ALLOWED: &str =
    "a non-blank text, one media attachment, or both (text may be blank only with an attachment)";

impl Message {
    /// A text message; the text must not be empty or only whitespace.
    pub fn text(text: impl Into<String>) -> Result<Self, InvalidInput> {
        Self::new(Some(text.into()), [])
    }

    /// A message that is one media item, without text.
    pub fn media(media_id: MediaId) -> Self {
        Self {
            text: None,
            attachment: Some(media_id),
        }
    }

    /// A message from optional text and any number of attachments, of which X accepts one.
    ///
    /// An empty text next to an attachment is dropped, since X requires a text to have at
    /// least one character.
    pub fn new(
        text: Option<String>,
        attachments: impl IntoIterator<Item = MediaId>,
    ) -> Result<Self, InvalidInput> {
        let mut attachments = attachments.into_iter();
        let attachment = attachments.next();
        if attachments.next().is_some() {
            return Err(too_many_attachments());
        }
        if text.as_deref().is_some_and(|t| t.contains('\0')) {
            return Err(InvalidInput::new(
                "text",
                "the text holds a NUL character",
                MESSAGE_ALLOWED,
            ));
        }
        let blank = text.as_deref().is_none_or(|t| t.chars().all(is_invisible));
        if blank && attachment.is_none() {
            let problem = if text.is_none() {
                "the message has neither text nor attachment"
            } else {
                "the text is empty or only whitespace and invisible characters"
            };
            return Err(InvalidInput::new("text", problem, MESSAGE_ALLOWED));
        }
        let text = text.filter(|t| !t.is_empty());
        Ok(Self { text, attachment })
    }

    /// Attaches a media item; refused if the message already has one.
    pub fn with_attachment(mut self, media_id: MediaId) -> Result<Self, InvalidInput> {
        if self.attachment.is_some() {
            return Err(too_many_attachments());
        }
        self.attachment = Some(media_id);
        Ok(self)
    }

    /// The text, if any.
    pub fn text_content(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// The attached media, if any.
    pub fn attachment(&self) -> Option<&MediaId> {
        self.attachment.as_ref()
    }
}

fn too_many_attachments() -> InvalidInput {
    InvalidInput::new(
        "attachments",
        "more than one attachment",
        "at most one media attachment per message",
    )
}

impl Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Attachment<'a> {
            media_id: &'a MediaId,
        }
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            text: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            attachments: Option<[Attachment<'a>; 1]>,
        }
        Wire {
            text: self.text.as_deref(),
            attachments: self
                .attachment
                .as_ref()
                .map(|media_id| [Attachment { media_id }]),
        }
        .serialize(serializer)
    }
}

fn send_info(template: &'static str) -> EndpointInfo {
    info(
        Method::POST,
        template,
        EndpointGroup::SendMessage,
        WRITE_SCOPES,
        Delivery::AtMostOnce,
    )
}

/// Sends a message to a user, creating the one-to-one conversation if needed:
/// `POST /2/dm_conversations/with/{participant_id}/messages`.
///
/// Sending is not idempotent: a request whose outcome is unknown must not be sent again
/// blindly ([`Delivery::AtMostOnce`]).
///
/// ```
/// use xdm_core::endpoints::{Message, SendToConversation, SendToParticipant};
/// use xdm_core::ids::{ConversationId, UserId};
/// use xdm_core::{Endpoint, RequestContext};
///
/// let send = SendToParticipant::new(UserId::try_from(2244994945).unwrap(), Message::text("Hello")?);
/// let request = send.build_request(&RequestContext::default())?;
/// assert_eq!(request.method(), "POST");
/// assert_eq!(
///     request.uri(),
///     "https://api.x.com/2/dm_conversations/with/2244994945/messages"
/// );
/// assert_eq!(request.headers()["content-type"], "application/json");
/// assert_eq!(request.body().as_ref(), br#"{"text":"Hello"}"#);
///
/// let group = ConversationId::parse("1578900353814519810")?;
/// let request = SendToConversation::new(group, Message::text("Hi all")?)
///     .build_request(&RequestContext::default())?;
/// assert_eq!(
///     request.uri(),
///     "https://api.x.com/2/dm_conversations/1578900353814519810/messages"
/// );
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendToParticipant {
    participant: UserId,
    message: Message,
}

impl SendToParticipant {
    /// Where this send lives.
    pub const PATH: &'static str = "/2/dm_conversations/with/{participant_id}/messages";

    /// Sends `message` to `participant`.
    pub fn new(participant: UserId, message: Message) -> Self {
        Self {
            participant,
            message,
        }
    }

    /// The recipient.
    pub fn participant(&self) -> &UserId {
        &self.participant
    }

    /// The message sent.
    pub fn message(&self) -> &Message {
        &self.message
    }
}

impl Endpoint for SendToParticipant {
    type Output = ApiResponse<SentMessage>;

    fn info(&self) -> EndpointInfo {
        send_info(Self::PATH)
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        let path = fill_path(Self::PATH, &[("participant_id", self.participant.as_str())]);
        Ok(json_request(self.info(), ctx, &path, &self.message))
    }

    fn decode_response(
        &self,
        response: http::Response<Bytes>,
    ) -> Result<ApiResponse<SentMessage>, ApiError> {
        decode_json(response)
    }
}

/// Sends a message into an existing conversation, one-to-one or group:
/// `POST /2/dm_conversations/{dm_conversation_id}/messages`.
///
/// Like every send, it is [`Delivery::AtMostOnce`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendToConversation {
    conversation: ConversationId,
    message: Message,
}

impl SendToConversation {
    /// Where this send lives.
    pub const PATH: &'static str = "/2/dm_conversations/{dm_conversation_id}/messages";

    /// Sends `message` into `conversation`.
    pub fn new(conversation: ConversationId, message: Message) -> Self {
        Self {
            conversation,
            message,
        }
    }

    /// The conversation.
    pub fn conversation(&self) -> &ConversationId {
        &self.conversation
    }

    /// The message sent.
    pub fn message(&self) -> &Message {
        &self.message
    }
}

impl Endpoint for SendToConversation {
    type Output = ApiResponse<SentMessage>;

    fn info(&self) -> EndpointInfo {
        send_info(Self::PATH)
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        let path = fill_path(
            Self::PATH,
            &[("dm_conversation_id", self.conversation.as_str())],
        );
        Ok(json_request(self.info(), ctx, &path, &self.message))
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

    fn json(m: &Message) -> String {
        serde_json::to_string(m).unwrap()
    }

    #[test]
    fn bodies_leave_absent_parts_out() {
        assert_eq!(
            json(&Message::text("a \"b\"").unwrap()),
            r#"{"text":"a \"b\""}"#
        );
        assert_eq!(
            json(&Message::media(MediaId::try_from(9).unwrap())),
            r#"{"attachments":[{"media_id":"9"}]}"#
        );
        let both = Message::new(Some("x".into()), [MediaId::try_from(1).unwrap()]).unwrap();
        assert_eq!(both.text_content(), Some("x"));
        assert_eq!(both.attachment(), Some(&MediaId::try_from(1).unwrap()));
        assert_eq!(
            json(&both),
            r#"{"text":"x","attachments":[{"media_id":"1"}]}"#
        );
    }

    #[test]
    fn empty_messages_are_refused() {
        let e = Message::new(None, []).unwrap_err();
        assert_eq!(e.parameter, "text");
        assert!(e.problem.contains("neither"));
        for blank in ["", " ", "\n\t "] {
            let e = Message::text(blank).unwrap_err();
            assert_eq!(e.parameter, "text");
            assert!(e.problem.contains("whitespace"), "{blank:?}");
        }
    }

    #[test]
    fn invisible_only_texts_and_nul_are_refused() {
        for blank in [
            "\u{200B}",
            "\u{FEFF}",
            " \u{200D}\u{2060} ",
            "\u{E0020}\u{FE0F}",
        ] {
            let e = Message::text(blank).unwrap_err();
            assert!(e.problem.contains("invisible"), "{blank:?}");
        }
        for nul in ["\0", "hi\0there"] {
            let e = Message::text(nul).unwrap_err();
            assert!(e.problem.contains("NUL"), "{nul:?}");
            let with_media = Message::new(Some(nul.into()), [MediaId::try_from(3).unwrap()]);
            assert!(with_media.is_err());
        }
        // A visible character among invisible ones is a message.
        assert!(Message::text("\u{200B}a").is_ok());
        assert!(Message::text("\u{1F44D}\u{FE0F}").is_ok());
    }

    #[test]
    fn blank_text_is_allowed_next_to_media_and_empty_text_dropped() {
        let m = Message::new(Some(String::new()), [MediaId::try_from(3).unwrap()]).unwrap();
        assert_eq!(m.text_content(), None);
        assert_eq!(json(&m), r#"{"attachments":[{"media_id":"3"}]}"#);
        let m = Message::new(Some(" ".into()), [MediaId::try_from(3).unwrap()]).unwrap();
        assert_eq!(m.text_content(), Some(" "));
    }

    #[test]
    fn a_second_attachment_is_refused() {
        let e = Message::new(
            None,
            [MediaId::try_from(1).unwrap(), MediaId::try_from(2).unwrap()],
        )
        .unwrap_err();
        assert_eq!(e.parameter, "attachments");
        let e = Message::media(MediaId::try_from(1).unwrap())
            .with_attachment(MediaId::try_from(2).unwrap())
            .unwrap_err();
        assert_eq!(e.parameter, "attachments");
    }

    #[test]
    fn refusals_never_quote_the_text() {
        let e = Message::new(
            Some("secret".into()),
            [MediaId::try_from(1).unwrap(), MediaId::try_from(2).unwrap()],
        )
        .unwrap_err();
        assert!(!e.to_string().contains("secret"));
    }

    #[test]
    fn sends_are_at_most_once_posts() {
        let send =
            SendToParticipant::new(UserId::try_from(5).unwrap(), Message::text("hey").unwrap());
        assert_eq!(send.participant().as_str(), "5");
        assert_eq!(send.message().text_content(), Some("hey"));
        let request = build(&send);
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.body().as_ref(), br#"{"text":"hey"}"#);
        assert_eq!(request.headers()["content-type"], "application/json");
        let info = send.info();
        assert_eq!(info.delivery, Delivery::AtMostOnce);
        assert_eq!(info.group, EndpointGroup::SendMessage);
        assert_eq!(info.scopes, WRITE_SCOPES);

        let conv = ConversationId::parse("1-2").unwrap();
        let send = SendToConversation::new(conv, Message::media(MediaId::try_from(4).unwrap()));
        assert_eq!(send.conversation().as_str(), "1-2");
        assert!(send.message().text_content().is_none());
        let request = build(&send);
        assert_eq!(
            request.uri(),
            "https://api.x.com/2/dm_conversations/1-2/messages"
        );
        assert_eq!(
            request.body().as_ref(),
            br#"{"attachments":[{"media_id":"4"}]}"#
        );
        assert_eq!(send.info().delivery, Delivery::AtMostOnce);
    }

    #[test]
    fn responses_decode() {
        let body = r#"{"data":{"dm_conversation_id":"1-2","dm_event_id":"1585800613253812228"}}"#;
        let sent =
            SendToParticipant::new(UserId::try_from(2).unwrap(), Message::text("x").unwrap())
                .decode_response(response(201, "application/json", body))
                .unwrap();
        assert!(sent.data.is_some());
        let sent = SendToConversation::new(
            ConversationId::parse("1-2").unwrap(),
            Message::text("x").unwrap(),
        )
        .decode_response(response(201, "application/json", body))
        .unwrap();
        assert!(sent.data.is_some());
    }
}
