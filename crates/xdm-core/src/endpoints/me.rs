//! Who the credentials belong to.

use bytes::Bytes;
use http::Method;

use super::{Body, info, new_request};
use crate::error::ApiError;
use crate::fields::UserField;
use crate::models::User;
use crate::query::Query;
use crate::response::{ApiResponse, decode_json};
use crate::{Delivery, Endpoint, EndpointGroup, EndpointInfo, InvalidInput, RequestContext, Scope};

/// Scopes of the authenticated-user lookup, as the spec declares them.
const ME_SCOPES: &[Scope] = &[Scope::TweetRead, Scope::UsersRead];

/// Looks up the user the credentials act for: `GET /2/users/me`.
///
/// Not a direct-message endpoint, but the one way to learn the user id behind an OAuth 2.0
/// token (an OAuth 1.0a access token names it in its first part): the id is what tells the
/// caller's own messages from the others' in a conversation.
///
/// ```
/// use xdm_core::endpoints::GetMe;
/// use xdm_core::fields::UserField;
/// use xdm_core::{Endpoint, RequestContext};
///
/// let request = GetMe::new()
///     .with_user_fields([UserField::Username, UserField::Verified])?
///     .build_request(&RequestContext::default())?;
/// assert_eq!(
///     request.uri(),
///     "https://api.x.com/2/users/me?user.fields=username%2Cverified"
/// );
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetMe {
    user_fields: Vec<UserField>,
}

impl GetMe {
    /// Where the lookup lives.
    pub const PATH: &'static str = "/2/users/me";

    /// A lookup with X's default fields (`id`, `name`, `username`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for more user fields; a name outside the known set is checked here.
    pub fn with_user_fields(
        mut self,
        fields: impl IntoIterator<Item = UserField>,
    ) -> Result<Self, InvalidInput> {
        for field in fields {
            field.validate()?;
            self.user_fields.push(field);
        }
        Ok(self)
    }

    /// The user fields asked for beyond the defaults.
    pub fn user_fields(&self) -> &[UserField] {
        &self.user_fields
    }
}

impl Endpoint for GetMe {
    type Output = ApiResponse<User>;

    fn info(&self) -> EndpointInfo {
        info(
            Method::GET,
            Self::PATH,
            EndpointGroup::LookupSelf,
            ME_SCOPES,
            Delivery::Idempotent,
        )
    }

    fn build_request(&self, ctx: &RequestContext) -> Result<http::Request<Bytes>, InvalidInput> {
        let mut query = Query::new();
        query.set_list(
            "user.fields",
            self.user_fields.iter().map(|f| f.as_wire(ctx.dialect)),
        );
        Ok(new_request(
            self.info(),
            ctx,
            Self::PATH,
            &query,
            Body::Empty,
        ))
    }

    fn decode_response(
        &self,
        response: http::Response<Bytes>,
    ) -> Result<ApiResponse<User>, ApiError> {
        decode_json(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_field_name_is_refused_before_any_request() {
        let error = GetMe::new()
            .with_user_fields([UserField::Other("bad name".into())])
            .unwrap_err();
        assert!(error.to_string().contains("user.fields"), "{error}");
    }

    #[test]
    fn the_caller_is_decoded_with_its_id() {
        let response = http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Bytes::from_static(
                br#"{"data":{"id":"2244994945","name":"X Dev","username":"XDevelopers"}}"#,
            ))
            .unwrap();
        let me = GetMe::new()
            .decode_response(response)
            .unwrap()
            .into_data()
            .unwrap();
        assert_eq!(me.id.as_deref(), Some("2244994945"));
        assert_eq!(me.username.as_deref(), Some("XDevelopers"));
    }

    #[test]
    fn the_lookup_has_its_own_group_and_both_auth_schemes() {
        let info = GetMe::new().info();
        assert_eq!(info.group, EndpointGroup::LookupSelf);
        assert!(info.oauth1);
        assert_eq!(info.scopes, ME_SCOPES);
    }
}
