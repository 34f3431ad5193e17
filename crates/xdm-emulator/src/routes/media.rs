//! Downloading the bytes of media attached to a DM.

use http::StatusCode;

use super::Ctx;
use crate::problem;
use crate::reply::Reply;
use crate::server::Inner;
use crate::validate;

pub(super) fn download(
    inner: &mut Inner,
    ctx: &Ctx,
    user: u32,
    dm_id: &str,
    media_id: &str,
    resource: &str,
) -> Result<Reply, Reply> {
    validate::no_query(&ctx.query)?;
    let w = &inner.world;
    let missing = || problem::not_found("media", "media_id", media_id);
    let eid: u64 = dm_id.parse().map_err(|_| missing())?;
    let pos = w
        .event_pos(eid)
        .filter(|&i| w.can_see(user, &w.events[i]))
        .ok_or_else(missing)?;
    let m = w
        .rich_of(&w.events[pos])
        .and_then(|r| r.media)
        .ok_or_else(missing)?;
    let media = &w.media[m as usize];
    if media.id.to_string() != media_id || media.resource_id != resource {
        return Err(missing());
    }
    Ok(Reply::bytes(
        StatusCode::OK,
        &media.media_type,
        media.data.clone(),
    ))
}
