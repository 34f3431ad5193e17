//! Finding a message whose send had an unknown outcome, before sending it again.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
    let time_ok = event
        .created_at
        .as_deref()
        .and_then(parse_rfc3339)
        .is_some_and(|at| at >= since);
    sender_ok && text_ok && attachment_ok && time_ok
}

/// Parses X's timestamps (`2026-11-22T10:11:12.123Z`, or with a numeric offset).
pub(crate) fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b't')
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if bytes[13] != b':' || bytes[16] != b':' || !(1..=12).contains(&month) || day == 0 || day > 31
    {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos = 0u32;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let kept = &fraction[..digits.min(9)];
        nanos = kept.parse::<u32>().ok()? * 10u32.pow(9 - kept.len() as u32);
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(&rest[3..4], ":") => {
            let sign = match &rest[..1] {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let h: i64 = rest[1..3].parse().ok()?;
            let m: i64 = rest[4..6].parse().ok()?;
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests;
