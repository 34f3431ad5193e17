//! RFC 7807 problem details, as X sends them in error bodies and in the `errors` of a success.

use serde::Serialize;
use serde_json::{Map, Value};

/// What a [`Problem`]'s `type` URI names.
///
/// X has used two hosts for the same types (`https://api.twitter.com/2/problems/…` and
/// `https://api.x.com/2/problems/…`), so only the part after `/2/problems/` is compared. Types
/// this crate does not know are kept whole in [`ProblemType::Other`], never refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemType {
    /// `about:blank` (or no `type` at all): the HTTP status says what happened.
    AboutBlank,
    /// `invalid-request`: parameters were refused.
    InvalidRequest,
    /// `resource-not-found`: an id names nothing.
    ResourceNotFound,
    /// `not-authorized-for-resource`: the caller may not see the object.
    NotAuthorizedForResource,
    /// `not-authorized-for-field`: the caller may not see a field.
    NotAuthorizedForField,
    /// `field-unauthorized`: the caller may not see a field.
    FieldUnauthorized,
    /// `field-hydration-failure`: an expansion could not be filled in.
    FieldHydrationFailure,
    /// `resource-unavailable`: the object exists but cannot be shown (suspended, protected).
    ResourceUnavailable,
    /// `disallowed-resource`: the object may not be used this way.
    DisallowedResource,
    /// `internal-error`: X failed.
    InternalError,
    /// `unsupported-authentication`: wrong kind of credentials (app-only on a user endpoint).
    UnsupportedAuthentication,
    /// `usage-capped`: a daily or monthly cap is used up; waiting for the rate-limit window
    /// does not help.
    UsageCapped,
    /// `credits-depleted`: the pay-per-use balance is empty.
    CreditsDepleted,
    /// `rate-limit-exceeded`.
    RateLimitExceeded,
    /// `client-forbidden`: the app is not allowed to make this request.
    ClientForbidden,
    /// `client-disconnected` (streams).
    ClientDisconnected,
    /// `conflict`.
    Conflict,
    /// `operational-disconnect` (streams).
    OperationalDisconnect,
    /// Any other `type`, as the URI arrived.
    Other(String),
}

const HOSTS: [&str; 2] = [
    "https://api.x.com/2/problems/",
    "https://api.twitter.com/2/problems/",
];

impl ProblemType {
    /// Reads a problem `type` URI.
    ///
    /// ```
    /// use xdm_core::error::ProblemType;
    ///
    /// let old = ProblemType::parse("https://api.twitter.com/2/problems/usage-capped");
    /// let new = ProblemType::parse("https://api.x.com/2/problems/usage-capped");
    /// assert_eq!(old, ProblemType::UsageCapped);
    /// assert_eq!(old, new);
    /// ```
    pub fn parse(uri: &str) -> ProblemType {
        if uri.is_empty() || uri == "about:blank" {
            return ProblemType::AboutBlank;
        }
        let Some(slug) = HOSTS.iter().find_map(|host| uri.strip_prefix(host)) else {
            return ProblemType::Other(uri.to_owned());
        };
        match slug {
            "invalid-request" => ProblemType::InvalidRequest,
            "resource-not-found" => ProblemType::ResourceNotFound,
            "not-authorized-for-resource" => ProblemType::NotAuthorizedForResource,
            "not-authorized-for-field" => ProblemType::NotAuthorizedForField,
            "field-unauthorized" => ProblemType::FieldUnauthorized,
            "field-hydration-failure" => ProblemType::FieldHydrationFailure,
            "resource-unavailable" => ProblemType::ResourceUnavailable,
            "disallowed-resource" => ProblemType::DisallowedResource,
            "internal-error" => ProblemType::InternalError,
            "unsupported-authentication" => ProblemType::UnsupportedAuthentication,
            "usage-capped" => ProblemType::UsageCapped,
            "credits-depleted" => ProblemType::CreditsDepleted,
            "rate-limit-exceeded" => ProblemType::RateLimitExceeded,
            "client-forbidden" => ProblemType::ClientForbidden,
            "client-disconnected" => ProblemType::ClientDisconnected,
            "conflict" => ProblemType::Conflict,
            "operational-disconnect" => ProblemType::OperationalDisconnect,
            _ => ProblemType::Other(uri.to_owned()),
        }
    }
}

/// An RFC 7807 problem: the body of most X errors, and each item of a success's `errors`.
///
/// Decoding a problem never fails on content: a known key holding a value of an unexpected
/// type is left in [`Problem::extra`] instead, and a non-object becomes a problem whose
/// `detail` is its text. Partial errors must never cost the data they sit beside.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Problem {
    /// The `type` URI as it arrived; see [`Problem::problem_type`].
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_uri: Option<String>,
    /// A short summary, such as `Forbidden` or `UsageCapExceeded`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What happened, in X's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The HTTP status X meant, when it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The kind of object concerned (`user`, `tweet`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// The id of the object concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// The request parameter concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// The parameter's value, in whatever shape X gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// The response section concerned (`data`, `includes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// The field concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For usage caps: `Daily` or `Monthly`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// For usage caps: `Account` or `Product`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// For forbidden clients: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For forbidden clients: where to enrol.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_url: Option<String>,
    /// Every other key, as it arrived.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Problem {
    /// What the `type` URI names. A missing `type` means `about:blank` (RFC 7807 §4.2).
    pub fn problem_type(&self) -> ProblemType {
        ProblemType::parse(self.type_uri.as_deref().unwrap_or(""))
    }

    /// The most specific human text available: `detail`, else `title`.
    pub fn summary(&self) -> Option<&str> {
        self.detail.as_deref().or(self.title.as_deref())
    }

    /// Reads a problem from any JSON value without failing; see the type's docs.
    pub fn from_value(value: Value) -> Problem {
        let map = match value {
            Value::Object(map) => map,
            Value::String(text) => return Problem::with_detail(text),
            other => return Problem::with_detail(other.to_string()),
        };
        let mut p = Problem::default();
        for (key, value) in map {
            let slot = match key.as_str() {
                "type" => &mut p.type_uri,
                "title" => &mut p.title,
                "detail" => &mut p.detail,
                "resource_type" => &mut p.resource_type,
                "resource_id" => &mut p.resource_id,
                "parameter" => &mut p.parameter,
                "section" => &mut p.section,
                "field" => &mut p.field,
                "period" => &mut p.period,
                "scope" => &mut p.scope,
                "reason" => &mut p.reason,
                "registration_url" => &mut p.registration_url,
                "status" => {
                    match value.as_u64().and_then(|n| u16::try_from(n).ok()) {
                        Some(n) => p.status = Some(n),
                        None => keep(&mut p.extra, key, value),
                    }
                    continue;
                }
                "value" if !value.is_null() => {
                    p.value = Some(value);
                    continue;
                }
                _ => {
                    keep(&mut p.extra, key, value);
                    continue;
                }
            };
            match value {
                Value::String(s) => *slot = Some(s),
                Value::Null => {}
                other => keep(&mut p.extra, key, other),
            }
        }
        p
    }

    fn with_detail(detail: String) -> Problem {
        Problem {
            detail: Some(detail),
            ..Problem::default()
        }
    }
}

fn keep(extra: &mut Map<String, Value>, key: String, value: Value) {
    if !value.is_null() {
        extra.insert(key, value);
    }
}

impl<'de> serde::Deserialize<'de> for Problem {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(Problem::from_value)
    }
}

crate::models::wire::wire_via_deserialize!(Problem);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_hosts_and_blank_are_recognised() {
        for host in HOSTS {
            assert_eq!(
                ProblemType::parse(&format!("{host}resource-not-found")),
                ProblemType::ResourceNotFound
            );
            assert_eq!(
                ProblemType::parse(&format!("{host}credits-depleted")),
                ProblemType::CreditsDepleted
            );
        }
        assert_eq!(ProblemType::parse("about:blank"), ProblemType::AboutBlank);
        assert_eq!(Problem::default().problem_type(), ProblemType::AboutBlank);
    }

    #[test]
    fn unknown_types_are_kept_whole() {
        for uri in [
            "https://api.x.com/2/problems/brand-new",
            "https://example.com/2/problems/usage-capped",
            "urn:x:problem",
        ] {
            assert_eq!(ProblemType::parse(uri), ProblemType::Other(uri.to_owned()));
        }
    }

    #[test]
    fn wrong_types_go_to_extra_and_round_trip() {
        let input = json!({
            "type": "https://api.x.com/2/problems/resource-not-found",
            "title": 5,
            "detail": "no such event",
            "status": "404",
            "value": 123,
            "resource_type": "dm_event",
            "future": [1, 2]
        });
        let p = Problem::from_value(input.clone());
        assert_eq!(p.problem_type(), ProblemType::ResourceNotFound);
        assert_eq!(p.title, None);
        assert_eq!(p.status, None);
        assert_eq!(p.extra["status"], json!("404"));
        assert_eq!(p.value, Some(json!(123)));
        assert_eq!(p.summary(), Some("no such event"));
        assert_eq!(serde_json::to_value(&p).unwrap(), input);
    }

    #[test]
    fn status_out_of_range_is_kept_not_truncated() {
        let p = Problem::from_value(json!({"status": 70000}));
        assert_eq!(p.status, None);
        assert_eq!(p.extra["status"], json!(70000));
    }

    #[test]
    fn non_objects_become_a_detail() {
        assert_eq!(
            Problem::from_value(json!("boom")).detail.as_deref(),
            Some("boom")
        );
        assert_eq!(
            Problem::from_value(json!([1])).detail.as_deref(),
            Some("[1]")
        );
    }

    #[test]
    fn nulls_are_absent() {
        let p = Problem::from_value(json!({"title": null, "value": null, "x": null}));
        assert_eq!(p, Problem::default());
    }
}
