//! Sending messages and creating groups: never twice by accident.

use std::time::SystemTime;

use xdm_core::endpoints::{CreateGroup, Message, SendToConversation, SendToParticipant};
use xdm_core::error::Problem;
use xdm_core::ids::{ConversationId, EventId, UserId};
use xdm_core::models::SentMessage;
use xdm_core::response::ApiResponse;
use xdm_core::{Endpoint, InvalidInput};

use crate::client::Client;
use crate::error::{Error, Recipient, UnknownOutcome};
use crate::execute::CallError;
use crate::policy::ReconcilePolicy;
use crate::transport::{Timer, Transport};

/// A message X has stored.
///
/// X's answer to a send names the new event and its conversation. Should it leave either out
/// (or send one that is not an id), the message was still stored: the call succeeds, with
/// `None` for what X did not say, rather than failing a send that happened (and tempting a
/// caller to send again).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Sent {
    /// The conversation it went to (new, for a group or a first one-to-one message). When X's
    /// answer leaves it out: the conversation sent to, or the one-to-one conversation with
    /// the participant when the user's id is known; else `None`.
    pub conversation_id: Option<ConversationId>,
    /// The message event's id, when X's answer (or the event found by reconciliation) names it.
    pub event_id: Option<EventId>,
    /// Whether the message was found by reconciliation after an unknown outcome, rather than
    /// confirmed by the send's own response.
    pub reconciled: bool,
    /// Partial errors X reported beside the stored message.
    pub errors: Vec<Problem>,
}

impl Sent {
    fn confirmed(
        recipient: &Recipient,
        me: Option<&UserId>,
        response: ApiResponse<SentMessage>,
    ) -> Result<Sent, Error> {
        let errors = response.errors.clone();
        let data = response.into_data()?;
        Ok(Sent::from_ids(
            recipient,
            me,
            data.dm_conversation_id.as_deref(),
            data.dm_event_id.as_deref(),
            false,
            errors,
        ))
    }

    /// A `Sent` from the ids X gave, each kept only if it is one.
    pub(crate) fn from_ids(
        recipient: &Recipient,
        me: Option<&UserId>,
        conversation_id: Option<&str>,
        event_id: Option<&str>,
        reconciled: bool,
        errors: Vec<Problem>,
    ) -> Sent {
        let conversation_id = match conversation_id.map(ConversationId::parse) {
            Some(Ok(id)) => Some(id),
            other => {
                if let Some(Err(e)) = other {
                    tracing::warn!(%e, "X named the conversation of a sent message oddly");
                }
                match (recipient, me) {
                    (Recipient::Conversation(id), _) => Some(id.clone()),
                    (Recipient::Participant(other), Some(me)) => {
                        Some(ConversationId::one_to_one(me, other))
                    }
                    _ => None,
                }
            }
        };
        let event_id = match event_id.map(EventId::parse) {
            Some(Ok(id)) => Some(id),
            Some(Err(e)) => {
                tracing::warn!(%e, "X named a sent message's event oddly");
                None
            }
            None => None,
        };
        Sent {
            conversation_id,
            event_id,
            reconciled,
            errors,
        }
    }
}

impl<T: Transport, C: Timer> Client<T, C> {
    /// Sends `message` to `recipient`: an existing conversation, the one-to-one conversation
    /// with a user, or a new group.
    ///
    /// A send is never retried when it may have reached X. If its outcome is unknown the call
    /// fails with [`Error::OutcomeUnknown`], unless the client reconciles
    /// ([`ReconcilePolicy::LookBeforeResend`]): then it looks for the message and sends it once
    /// more only if it is not there. A new group is never created twice.
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::Transport, C: xdm_client::transport::Timer>(
    /// #     client: xdm_client::Client<T, C>) -> Result<(), xdm_client::Error> {
    /// use xdm_client::Recipient;
    /// use xdm_core::endpoints::Message;
    ///
    /// let to = Recipient::Participant("2244994945".parse()?);
    /// let sent = client.send(to, Message::text("Hello!")?).await?;
    /// println!("event {:?} in {:?}", sent.event_id, sent.conversation_id);
    /// # Ok(()) }
    /// ```
    pub async fn send(&self, recipient: Recipient, message: Message) -> Result<Sent, Error> {
        let started_at = self.inner.timer.now();
        let cause = match self.send_once(&recipient, &message).await {
            Ok(sent) => return Ok(sent),
            Err(CallError::Failed(e) | CallError::RefusedAfterLostAnswer(e)) => return Err(e),
            Err(CallError::OutcomeUnknown(cause)) => cause,
        };
        let unknown = Box::new(UnknownOutcome {
            recipient,
            message: Some(message),
            started_at,
            cause,
        });
        match (self.inner.reconcile, &unknown.recipient) {
            (ReconcilePolicy::LookBeforeResend { .. }, Recipient::NewGroup(_)) => {
                tracing::warn!("group creation outcome unknown; not creating it again");
                Err(Error::OutcomeUnknown(unknown))
            }
            (ReconcilePolicy::LookBeforeResend { .. }, _) => self.reconcile(unknown).await,
            _ => Err(Error::OutcomeUnknown(unknown)),
        }
    }

    /// Sends `message` into an existing conversation:
    /// `POST /2/dm_conversations/{dm_conversation_id}/messages`. See [`send`](Self::send).
    pub async fn send_to_conversation(
        &self,
        conversation: &ConversationId,
        message: Message,
    ) -> Result<Sent, Error> {
        self.send(Recipient::Conversation(conversation.clone()), message)
            .await
    }

    /// Sends `message` to one user: `POST /2/dm_conversations/with/{participant_id}/messages`.
    /// See [`send`](Self::send).
    pub async fn send_to_participant(
        &self,
        participant: &UserId,
        message: Message,
    ) -> Result<Sent, Error> {
        self.send(Recipient::Participant(participant.clone()), message)
            .await
    }

    /// Creates a group conversation with a first message: `POST /2/dm_conversations`.
    /// `participants` are the others (2 to 49), not the authenticated user.
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::Transport, C: xdm_client::transport::Timer>(
    /// #     client: xdm_client::Client<T, C>) -> Result<(), xdm_client::Error> {
    /// use xdm_core::endpoints::Message;
    ///
    /// let people = ["2244994945".parse()?, "783214".parse()?];
    /// let group = client.create_group(people, Message::text("Welcome, both of you")?).await?;
    /// if let Some(conversation) = &group.conversation_id {
    ///     client.send_to_conversation(conversation, Message::text("Second message")?).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn create_group(
        &self,
        participants: impl IntoIterator<Item = UserId>,
        message: Message,
    ) -> Result<Sent, Error> {
        let participants: Vec<UserId> = participants.into_iter().collect();
        // Refused here, before anything is sent, with the core's explanation.
        CreateGroup::new(participants.clone(), message.clone())?;
        self.send(Recipient::NewGroup(participants), message).await
    }

    pub(crate) async fn send_once(
        &self,
        recipient: &Recipient,
        message: &Message,
    ) -> Result<Sent, CallError> {
        let response = match recipient {
            Recipient::Conversation(id) => {
                self.call(&SendToConversation::new(id.clone(), message.clone()))
                    .await?
            }
            Recipient::Participant(id) => {
                self.call(&SendToParticipant::new(id.clone(), message.clone()))
                    .await?
            }
            Recipient::NewGroup(ids) => {
                self.call(&CreateGroup::new(ids.clone(), message.clone()).map_err(Error::from)?)
                    .await?
            }
            Recipient::Endpoint(path) => {
                return Err(CallError::Failed(Error::InvalidInput(InvalidInput::new(
                    "recipient",
                    format!("{path} is not a place to send a message"),
                    "a conversation, a participant or a new group",
                ))));
            }
        };
        Sent::confirmed(recipient, self.user_id(), response).map_err(CallError::Failed)
    }

    /// Runs an endpoint through the pipeline, keeping an unknown outcome distinct.
    pub(crate) async fn call<E>(&self, endpoint: &E) -> Result<E::Output, CallError>
    where
        E: Endpoint + Sync,
        E::Output: Send,
    {
        let build = |ctx: &xdm_core::RequestContext| endpoint.build_request(ctx);
        self.exchange(endpoint.info(), &build, |r| endpoint.decode_response(r))
            .await
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.inner.timer.now()
    }
}
