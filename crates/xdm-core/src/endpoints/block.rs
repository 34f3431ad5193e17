//! Blocking and unblocking direct messages from a user.

use http::Method;

use super::{WRITE_SCOPES, info};
use crate::ids::UserId;
use crate::models::BlockStatus;
use crate::{Delivery, EndpointGroup, EndpointInfo};

fn block_info(template: &'static str) -> EndpointInfo {
    info(
        Method::POST,
        template,
        EndpointGroup::Block,
        WRITE_SCOPES,
        Delivery::Idempotent,
    )
}

/// Stops a user from sending the caller direct messages: `POST /2/users/{id}/dm/block`.
///
/// `id` is the user being blocked, not the caller. Blocking twice leaves the same state, so
/// the request is [`Delivery::Idempotent`].
///
/// ```
/// use xdm_core::endpoints::{BlockUser, UnblockUser};
/// use xdm_core::ids::UserId;
/// use xdm_core::{Endpoint, RequestContext};
///
/// let request = BlockUser::new(UserId::try_from(2244994945).unwrap()).build_request(&RequestContext::default())?;
/// assert_eq!(request.method(), "POST");
/// assert_eq!(request.uri(), "https://api.x.com/2/users/2244994945/dm/block");
/// assert!(request.body().is_empty());
///
/// let request = UnblockUser::new(UserId::try_from(2244994945).unwrap()).build_request(&RequestContext::default())?;
/// assert_eq!(request.uri(), "https://api.x.com/2/users/2244994945/dm/unblock");
/// # Ok::<(), xdm_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockUser {
    user: UserId,
}

impl BlockUser {
    /// Where blocking lives.
    pub const PATH: &'static str = "/2/users/{id}/dm/block";

    /// Blocks direct messages from `user`.
    pub fn new(user: UserId) -> Self {
        Self { user }
    }

    /// The user blocked.
    pub fn user(&self) -> &UserId {
        &self.user
    }
}

// The spec declares no request body for block or unblock, so the request has none, and no
// `content-type`.
one_id_endpoint!(
    BlockUser => BlockStatus,
    info: block_info(Self::PATH),
    path: Self::PATH, "id" = user
);

/// Lets a blocked user send the caller direct messages again: `POST /2/users/{id}/dm/unblock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnblockUser {
    user: UserId,
}

impl UnblockUser {
    /// Where unblocking lives.
    pub const PATH: &'static str = "/2/users/{id}/dm/unblock";

    /// Unblocks direct messages from `user`.
    pub fn new(user: UserId) -> Self {
        Self { user }
    }

    /// The user unblocked.
    pub fn user(&self) -> &UserId {
        &self.user
    }
}

// The spec declares no request body for block or unblock, so the request has none, and no
// `content-type`.
one_id_endpoint!(
    UnblockUser => BlockStatus,
    info: block_info(Self::PATH),
    path: Self::PATH, "id" = user
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Endpoint;
    use crate::endpoints::test_support::{build, response};

    #[test]
    fn block_and_unblock_are_idempotent_bodiless_posts() {
        let block = BlockUser::new(UserId::try_from(3).unwrap());
        let unblock = UnblockUser::new(UserId::try_from(3).unwrap());
        assert_eq!(block.user(), unblock.user());
        for (request, info) in [
            (build(&block), block.info()),
            (build(&unblock), unblock.info()),
        ] {
            assert_eq!(request.method(), Method::POST);
            assert!(request.body().is_empty());
            assert!(request.headers().get("content-type").is_none());
            assert_eq!(info.group, EndpointGroup::Block);
            assert_eq!(info.delivery, Delivery::Idempotent);
            assert!(info.oauth1);
        }
        assert_eq!(build(&block).uri(), "https://api.x.com/2/users/3/dm/block");
        assert_eq!(
            build(&unblock).uri(),
            "https://api.x.com/2/users/3/dm/unblock"
        );
    }

    #[test]
    fn statuses_decode() {
        let blocked = BlockUser::new(UserId::try_from(3).unwrap())
            .decode_response(response(
                200,
                "application/json",
                r#"{"data":{"blocked":true}}"#,
            ))
            .unwrap();
        assert!(blocked.data.unwrap().blocked);
        let unblocked = UnblockUser::new(UserId::try_from(3).unwrap())
            .decode_response(response(
                200,
                "application/json",
                r#"{"data":{"blocked":false}}"#,
            ))
            .unwrap();
        assert!(!unblocked.data.unwrap().blocked);
    }
}
