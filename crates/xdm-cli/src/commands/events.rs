//! `xdm events` and `xdm event`: listings newest first, and one event.

use serde_json::Value;
use xdm_core::InvalidInput;
use xdm_core::endpoints::ListParams;
use xdm_core::error::Problem;
use xdm_core::fields::{DmEventField, EventType, Expansion, FieldSet, MediaField, UserField};
use xdm_core::ids::EventId;
use xdm_core::response::EventPage;

use crate::cli::EventsArgs;
use crate::connect::Session;
use crate::exit::{Failure, Kind};
use crate::listing::Listing;
use crate::output::{event_line, json_line, raw_data};

/// Events shown when `--limit` is not given.
pub const DEFAULT_LIMIT: u64 = 50;

/// The fields asked for unless the command line names others: enough to show time, sender,
/// text and attachments, with the sender's @username and the media's URL expanded.
pub fn fields(dm_event: &[String], expansions: &[String]) -> Result<FieldSet, InvalidInput> {
    let mut set = FieldSet::new();
    set.dm_event_fields = if dm_event.is_empty() {
        DmEventField::MESSAGE.to_vec()
    } else {
        dm_event
            .iter()
            .map(|f| DmEventField::parse(f.trim()))
            .collect::<Result<_, _>>()?
    };
    set.expansions = if expansions.is_empty() {
        vec![
            Expansion::SenderId,
            Expansion::ParticipantIds,
            Expansion::AttachmentsMediaKeys,
        ]
    } else {
        expansions
            .iter()
            .map(|e| Expansion::parse(e.trim()))
            .collect::<Result<_, _>>()?
    };
    if set
        .expansions
        .iter()
        .any(|e| matches!(e, Expansion::SenderId | Expansion::ParticipantIds))
    {
        set.user_fields = vec![UserField::Username];
    }
    if set.expansions.contains(&Expansion::AttachmentsMediaKeys) {
        set.media_fields = vec![
            MediaField::Type,
            MediaField::Url,
            MediaField::PreviewImageUrl,
        ];
    }
    set.validate()?;
    Ok(set)
}

/// Event types named on the command line; unknown names are refused, since X would refuse
/// them too.
fn event_types(names: &[String]) -> Result<Vec<EventType>, InvalidInput> {
    names
        .iter()
        .map(|n| {
            let t: EventType = n.trim().parse()?;
            if EventType::ALL.contains(&t) {
                Ok(t)
            } else {
                Err(InvalidInput::new(
                    "types",
                    format!("unknown event type `{}`", n.trim()),
                    "MessageCreate, ParticipantsJoin, ParticipantsLeave",
                ))
            }
        })
        .collect()
}

/// A validated listing.
#[derive(Debug)]
pub struct Plan {
    listing: Listing,
    limit: u64,
}

impl Plan {
    /// Validates the arguments.
    pub fn from_args(args: &EventsArgs) -> Result<Plan, Failure> {
        let limit = args.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 {
            return Err(InvalidInput::new("limit", "0 is out of range", "1 or more").into());
        }
        let page = u32::try_from(limit.min(u64::from(ListParams::MAX_RESULTS)))
            .unwrap_or(u32::from(ListParams::MAX_RESULTS));
        let params = ListParams::new()
            .with_max_results(page)?
            .with_event_types(event_types(&args.types)?)
            .with_fields(fields(&args.fields, &args.expansions)?);
        Ok(Plan {
            listing: Listing::new(&args.scope, params)?,
            limit,
        })
    }

    /// Fetches pages until the limit or the end, printing each event as it comes and a
    /// warning on standard error for each partial error. The client's listing drops events
    /// it has already yielded and stops with an error on a repeated token.
    pub async fn run(self, session: &Session, json: bool) -> Result<(), Failure> {
        let mut pages = session.api.pages(self.listing).with_max_items(self.limit);
        let mut shown = 0u64;
        while let Some(page) = pages.next_page().await {
            let page = page?;
            warn_partial_errors(&page.errors);
            if json {
                for event in kept_raw_events(&page)? {
                    json_line(&event);
                }
            } else {
                let index = page.includes.index();
                for event in page.items() {
                    println!("{}", event_line(event, &index));
                }
            }
            shown += page.items().len() as u64;
        }
        if !json && shown == 0 {
            eprintln!("no events");
        }
        Ok(())
    }
}

/// The events of `page` as X wrote them, for `--json`: the raw body holds every event X
/// sent, the decoded page only those the listing kept (within the limit, not yielded
/// before), which are a subsequence of them in the same order.
fn kept_raw_events(page: &EventPage) -> Result<Vec<Value>, Failure> {
    let mut kept = page.items().iter().map(|e| e.id.as_deref()).peekable();
    let mut out = Vec::with_capacity(page.items().len());
    for raw in raw_data(&page.body)? {
        if raw.is_null() {
            continue;
        }
        let Some(&next) = kept.peek() else { break };
        if raw.get("id").and_then(Value::as_str) == next {
            out.push(raw);
            kept.next();
        }
    }
    Ok(out)
}

/// One line on standard error for each partial error X reported (a referenced post that
/// could not be found, a field the app may not read), so that what is printed is known to be
/// incomplete.
fn warn_partial_errors(errors: &[Problem]) {
    for problem in errors {
        eprintln!("{}", warning_line(problem));
    }
}

fn warning_line(problem: &Problem) -> String {
    let said = problem
        .summary()
        .unwrap_or("a partial error without details");
    // X's text is printed on one line, with nothing that could steer the terminal.
    let said: String = said
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("warning: X reported a partial error: {said}")
}

/// `xdm event`: one event with the default fields.
pub async fn show_one(session: &Session, id: &EventId, json: bool) -> Result<(), Failure> {
    let response = session.api.get_event_with(id, fields(&[], &[])?).await?;
    // X answers a lookup of a missing event with 200, no data and a partial error.
    let Some(event) = response.data.as_ref() else {
        let said = response.errors.iter().find_map(|p| p.summary());
        let mut failure = Failure::new(
            Kind::Refused,
            format!("event {id} was not found (or is not visible to you)"),
        );
        if let Some(said) = said {
            failure = failure.with_detail(format!("X said: {said}"));
        }
        return Err(failure);
    };
    warn_partial_errors(&response.errors);
    if json {
        for event in raw_data(&response.body)? {
            json_line(&event);
        }
    } else {
        println!("{}", event_line(event, &response.includes.index()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Scope;

    fn args(limit: Option<u64>, types: &[&str]) -> EventsArgs {
        EventsArgs {
            scope: Scope::default(),
            limit,
            types: types.iter().map(|s| s.to_string()).collect(),
            fields: Vec::new(),
            expansions: Vec::new(),
        }
    }

    #[test]
    fn a_zero_limit_is_refused() {
        let e = Plan::from_args(&args(Some(0), &[])).unwrap_err();
        assert_eq!(e.kind, Kind::Input);
        assert_eq!(
            e.message,
            "invalid limit: 0 is out of range (allowed: 1 or more)"
        );
    }

    #[test]
    fn unknown_event_types_are_refused() {
        let e = Plan::from_args(&args(None, &["MessageCreate", "Typing"])).unwrap_err();
        assert!(e.message.contains("Typing"), "{}", e.message);
    }

    #[test]
    fn the_page_size_follows_a_small_limit() {
        let plan = Plan::from_args(&args(Some(7), &[])).unwrap();
        assert_eq!(
            xdm_core::pagination::PagedEndpoint::max_results(&plan.listing),
            Some(7)
        );
        let plan = Plan::from_args(&args(Some(1000), &[])).unwrap();
        assert_eq!(
            xdm_core::pagination::PagedEndpoint::max_results(&plan.listing),
            Some(100)
        );
    }

    #[test]
    fn default_fields_expand_the_sender_with_a_username() {
        let set = fields(&[], &[]).unwrap();
        assert!(set.expansions.contains(&Expansion::SenderId));
        assert_eq!(set.user_fields, vec![UserField::Username]);
        let set = fields(&["text".into()], &["attachments.media_keys".into()]).unwrap();
        assert_eq!(set.dm_event_fields, vec![DmEventField::Text]);
        assert!(set.user_fields.is_empty());
        assert!(fields(&["a b".into()], &[]).is_err());
    }

    #[test]
    fn json_output_keeps_only_the_events_the_listing_kept() {
        let body =
            r#"{"data":[{"id":"3","text":"a"},null,{"id":"2","text":"b"},{"id":"1","text":"c"}]}"#;
        let response = http::Response::new(bytes::Bytes::from(body));
        let mut page =
            xdm_core::response::decode_json_list::<xdm_core::models::DmEvent>(response).unwrap();
        // As the listing leaves it: `2` was yielded on an earlier page.
        page.data
            .as_mut()
            .unwrap()
            .retain(|e| e.id.as_deref() != Some("2"));
        let raw = kept_raw_events(&page).unwrap();
        let ids: Vec<&str> = raw.iter().map(|v| v["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["3", "1"]);
        assert_eq!(raw[1]["text"], "c");
    }

    #[test]
    fn a_partial_error_is_one_plain_line() {
        let problem = Problem::from_value(serde_json::json!({
            "title": "Not Found Error",
            "detail": "Could not find tweet with referenced_tweets.id: [9].\n\u{1b}[2J"
        }));
        let line = warning_line(&problem);
        assert_eq!(
            line,
            "warning: X reported a partial error: Could not find tweet with referenced_tweets.id: [9].  [2J"
        );
        let bare = Problem::from_value(serde_json::json!({}));
        assert!(warning_line(&bare).ends_with("a partial error without details"));
    }
}
