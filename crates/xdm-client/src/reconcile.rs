//! Finding a message whose send had an unknown outcome, before sending it again.

use std::time::{SystemTime, UNIX_EPOCH};

use xdm_core::endpoints::{ListConversationEvents, ListParams, ListParticipantEvents, Message};
use xdm_core::fields::{DmEventField, EventType, FieldSet};
use xdm_core::ids::UserId;
use xdm_core::models::DmEvent;

use crate::client::Client;
use crate::error::{Error, Recipient, UnknownOutcome};
use crate::execute::CallError;
use crate::policy::ReconcilePolicy;
use crate::send::Sent;
use crate::transport::{Timer, Transport};

impl<T: Transport, C: Timer> Client<T, C> {
    /// Looks for the message; returns it if found, else sends it once more.
    pub(crate) async fn reconcile(&self, unknown: Box<UnknownOutcome>) -> Result<Sent, Error> {
        let ReconcilePolicy::LookBeforeResend {
            clock_skew,
            events_to_search,
        } = self.inner.reconcile
        else {
            return Err(Error::OutcomeUnknown(unknown));
        };
        let Some(message) = unknown.message.clone() else {
            return Err(Error::OutcomeUnknown(unknown));
        };
        let since = unknown
            .started_at
            .checked_sub(clock_skew)
            .unwrap_or(UNIX_EPOCH);
        let found = self
            .find_sent(&unknown.recipient, &message, since, events_to_search)
            .await;
        match found {
            Ok(Some(sent)) => {
                tracing::info!("the message of unknown outcome was found; not sending again");
                Ok(sent)
            }
            Ok(None) => {
                tracing::info!("the message of unknown outcome was not found; sending once more");
                match self.send_once(&unknown.recipient, &message).await {
                    Ok(sent) => Ok(sent),
                    Err(CallError::Failed(e) | CallError::RefusedAfterLostAnswer(e)) => Err(e),
                    Err(CallError::OutcomeUnknown(cause)) => {
                        Err(Error::OutcomeUnknown(Box::new(UnknownOutcome {
                            started_at: self.now(),
                            cause,
                            ..*unknown
                        })))
                    }
                }
            }
            Err(cause) => Err(Error::Reconciliation {
                send: unknown,
                cause: Box::new(cause),
            }),
        }
    }

    async fn find_sent(
        &self,
        recipient: &Recipient,
        message: &Message,
        since: SystemTime,
        events_to_search: u8,
    ) -> Result<Option<Sent>, Error> {
        let params = ListParams::new()
            .with_max_results(u32::from(events_to_search.clamp(1, 100)))?
            .with_event_types([EventType::MessageCreate])
            .with_fields(FieldSet::new().with_dm_event_fields([
                DmEventField::Id,
                DmEventField::EventType,
                DmEventField::Text,
                DmEventField::SenderId,
                DmEventField::CreatedAt,
                DmEventField::DmConversationId,
                DmEventField::Attachments,
            ]));
        let (page, sender) = match recipient {
            Recipient::Conversation(id) => {
                // Known, implied by an OAuth 1.0a token, or asked of the server once (an
                // OAuth 2.0 token does not name its user).
                let me = self.authenticated_user_id().await?;
                let page = self
                    .execute(&ListConversationEvents::new(id.clone()).with_params(params))
                    .await?;
                (page, SenderRule::Is(me))
            }
            Recipient::Participant(id) => {
                // In a one-to-one conversation, whoever is not the participant is the user.
                let sender = match self.user_id() {
                    Some(me) => SenderRule::Is(me.clone()),
                    None => SenderRule::IsNot(id.clone()),
                };
                let page = self
                    .execute(&ListParticipantEvents::new(id.clone()).with_params(params))
                    .await?;
                (page, sender)
            }
            // No conversation to look in.
            Recipient::NewGroup(_) | Recipient::Endpoint(_) => return Ok(None),
        };
        let found = page
            .items()
            .iter()
            .find(|event| is_the_message(event, message, &sender, since));
        Ok(found.map(|event| {
            Sent::from_ids(
                recipient,
                self.user_id(),
                event.dm_conversation_id.as_deref(),
                event.id.as_deref(),
                true,
                // The listing page's partial errors are about other events, not this send.
                Vec::new(),
            )
        }))
    }
}

pub(crate) enum SenderRule {
    Is(UserId),
    IsNot(UserId),
}

/// Whether `event` is `message` as sent by the user at or after `since`.
pub(crate) fn is_the_message(
    event: &DmEvent,
    message: &Message,
    sender: &SenderRule,
    since: SystemTime,
) -> bool {
    let sender_ok = match (sender, event.sender_id.as_deref()) {
        (SenderRule::Is(me), Some(id)) => id == me.as_str(),
        (SenderRule::IsNot(other), Some(id)) => id != other.as_str(),
        (_, None) => false,
    };
    let text_ok = event.text.as_deref().unwrap_or("") == message.text_content().unwrap_or("");
    let media: Vec<&str> = event.media_keys().collect();
    let attachment_ok = match message.attachment() {
        // A media key is `{type}_{media_id}`.
        Some(id) => media
            .iter()
            .any(|key| key.rsplit('_').next() == Some(id.as_str())),
        None => media.is_empty(),
    };
    // An event whose time cannot be read is not taken for the message: sending again is
    // safer than claiming a match that may be another copy.
    let time_ok = match (event.created_at(), jiff::Timestamp::try_from(since)) {
        (Some(at), Ok(since)) => at >= since,
        _ => false,
    };
    sender_ok && text_ok && attachment_ok && time_ok
}

#[cfg(test)]
mod tests;
