//! Blocking and unblocking DMs from a user.

use http::StatusCode;
use serde_json::json;

use super::Ctx;
use crate::problem;
use crate::reply::Reply;
use crate::server::Inner;
use crate::validate;

pub(super) fn set(
    inner: &mut Inner,
    ctx: &Ctx,
    user: u32,
    target: &str,
    block: bool,
) -> Result<Reply, Reply> {
    let id = validate::numeric_id("id", target)?;
    validate::no_query(&ctx.query)?;
    let w = &mut inner.world;
    let t = w
        .user_by_id(id)
        .ok_or_else(|| problem::not_found("user", "id", target))?;
    if block {
        w.blocks.insert((user, t));
    } else {
        w.blocks.remove(&(user, t));
    }
    Ok(Reply::json(
        StatusCode::OK,
        json!({"data": {"blocked": block}}),
    ))
}
