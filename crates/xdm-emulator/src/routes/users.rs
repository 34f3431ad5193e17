//! The authenticated-user lookup, which is how a client learns whose OAuth 2.0 token it holds.

use http::StatusCode;
use serde_json::json;

use super::Ctx;
use crate::render;
use crate::reply::Reply;
use crate::server::Inner;
use crate::validate;

/// `GET /2/users/me`: `{"data": User}` for the caller, with `id`, `name` and `username` always
/// and the other `user.fields` the emulator has values for. Expansions are accepted but find
/// nothing to expand: the emulated users have no posts.
pub(super) fn me(inner: &mut Inner, ctx: &Ctx, user: u32) -> Result<Reply, Reply> {
    let fields = validate::user_params(&ctx.query)?;
    Ok(Reply::json(
        StatusCode::OK,
        json!({"data": render::user(&inner.world, user, &fields)}),
    ))
}
