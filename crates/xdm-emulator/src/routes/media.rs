//! Downloading the bytes of media attached to a DM, whole or from a byte range.

use bytes::Bytes;
use http::StatusCode;
use serde_json::json;

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
    let pos = w.event_seen_by(user, eid).ok_or_else(missing)?;
    let m = w
        .rich_of(&w.events[pos])
        .and_then(|r| r.media)
        .ok_or_else(missing)?;
    let media = &w.media[m as usize];
    if media.id.to_string() != media_id || media.resource_id != resource {
        return Err(missing());
    }
    ranged(&media.media_type, &media.data, ctx.header("range"))
}

/// The whole file, or the part a `Range` header asks for.
///
/// Faults act on the reply this returns, so a ranged answer can be cut short like a whole one.
fn ranged(content_type: &str, data: &Bytes, range: Option<&str>) -> Result<Reply, Reply> {
    let total = data.len() as u64;
    let reply = match range.map(|r| parse_range(r, total)) {
        None | Some(Requested::Ignored) => Reply::bytes(StatusCode::OK, content_type, data.clone()),
        Some(Requested::Unsatisfiable) => return Err(unsatisfiable(total)),
        Some(Requested::Span(first, last)) => {
            // Both ends lie inside the file, which is held in memory, so they fit a usize.
            let part = data.slice(first as usize..=last as usize);
            Reply::bytes(StatusCode::PARTIAL_CONTENT, content_type, part)
                .with_header("content-range", &format!("bytes {first}-{last}/{total}"))
        }
    };
    Ok(reply.with_header("accept-ranges", "bytes"))
}

/// What a `Range` header asks of a file of some length.
#[derive(Debug, PartialEq, Eq)]
enum Requested {
    /// Bytes `first..=last`, both inside the file.
    Span(u64, u64),
    /// A well-formed range that lies wholly past the end of the file.
    Unsatisfiable,
    /// A header that is malformed, in another unit or asks for several ranges: HTTP lets a
    /// server answer such a request with the whole file, which is simpler than multipart.
    Ignored,
}

fn parse_range(header: &str, total: u64) -> Requested {
    let Some(spec) = header
        .trim()
        .split_once('=')
        .filter(|(unit, _)| unit.trim().eq_ignore_ascii_case("bytes"))
        .map(|(_, spec)| spec.trim())
    else {
        return Requested::Ignored;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return Requested::Ignored;
    };
    if spec.contains(',') {
        return Requested::Ignored;
    }
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        // `u64::from_str` takes a leading `+`, which a range does not.
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim().is_empty(), number(first), number(last)) {
        // `bytes=-S`: the last S bytes.
        (true, _, Some(suffix)) => {
            if suffix == 0 || total == 0 {
                Requested::Unsatisfiable
            } else {
                Requested::Span(total - suffix.min(total), total - 1)
            }
        }
        (false, Some(first), None) if last.trim().is_empty() => span(first, None, total),
        (false, Some(first), Some(last)) if last >= first => span(first, Some(last), total),
        _ => Requested::Ignored,
    }
}

fn span(first: u64, last: Option<u64>, total: u64) -> Requested {
    if first >= total {
        return Requested::Unsatisfiable;
    }
    let end = total - 1;
    Requested::Span(first, last.map_or(end, |l| l.min(end)))
}

fn unsatisfiable(total: u64) -> Reply {
    Reply::json(
        StatusCode::RANGE_NOT_SATISFIABLE,
        json!({
            "title": "Range Not Satisfiable",
            "detail": format!("The requested range is not within the {total} bytes of the media."),
            "type": "about:blank",
            "status": 416
        }),
    )
    .with_content_type("application/problem+json")
    .with_header("content-range", &format!("bytes */{total}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_http_defines_them() {
        use Requested::*;
        let cases = [
            ("bytes=0-", Span(0, 9)),
            ("bytes=4-", Span(4, 9)),
            ("bytes=4-6", Span(4, 6)),
            ("bytes=4-4", Span(4, 4)),
            ("bytes=4-99", Span(4, 9)),
            (" Bytes = 2 - 3 ", Span(2, 3)),
            ("bytes=-3", Span(7, 9)),
            ("bytes=-30", Span(0, 9)),
            ("bytes=9-", Span(9, 9)),
            ("bytes=10-", Unsatisfiable),
            ("bytes=10-20", Unsatisfiable),
            ("bytes=-0", Unsatisfiable),
            ("bytes=6-4", Ignored),
            ("bytes=0-1,4-5", Ignored),
            ("bytes=", Ignored),
            ("bytes=-", Ignored),
            ("bytes=a-", Ignored),
            ("bytes=+1-", Ignored),
            ("bytes=1-x", Ignored),
            ("bytes 1-2", Ignored),
            ("items=1-2", Ignored),
            ("bytes=99999999999999999999-", Ignored),
        ];
        for (header, want) in cases {
            assert_eq!(parse_range(header, 10), want, "{header}");
        }
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=-1", 0), Unsatisfiable);
    }
}
