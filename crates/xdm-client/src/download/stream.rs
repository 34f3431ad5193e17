//! The body of a streamed download: chunks handed out from the requested offset, checked
//! against the length the headers announced.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http::StatusCode;
use http::header::{ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE};
use xdm_core::endpoints::ContentRange;
use xdm_core::rate_limit::RateLimitSnapshot;
use xdm_core::retry::{ReachedServer, TransportErrorKind, TransportFailure};

use crate::error::Error;
use crate::transport::{BodyStream, TransportError};

/// A media download whose headers have arrived and whose bytes are still coming, from
/// [`Client::download_media_stream`](crate::Client::download_media_stream).
///
/// Read it with [`next_chunk`](Self::next_chunk) or as a [`Stream`] of `Result<Bytes, Error>`.
/// A failure while the body arrives (a dropped connection, a stall, a body shorter or longer
/// than its headers announced) is an error item classified like any transport failure, after
/// which the stream ends: a body is never silently cut short. Dropping the value abandons the
/// download and frees its connection.
///
/// A stream opened at an offset ([`DownloadMedia::with_offset`](xdm_core::endpoints::DownloadMedia::with_offset)) hands out the file's bytes
/// from that offset to its end, whether the server sent just those (`206 Partial Content`) or
/// ignored the range and sent the whole file (`200`), whose first bytes are then dropped
/// here.
pub struct MediaStream {
    content_type: Option<String>,
    content_length: Option<u64>,
    accepts_ranges: bool,
    rate_limit: RateLimitSnapshot,
    body: BodyStream,
    /// Where in the file the first byte handed out sits.
    offset: u64,
    /// How much of the body is still to be dropped before the offset is reached: a `200` to
    /// a ranged request starts at the beginning of the file.
    skip: u64,
    /// How long the body itself should be, and which header said so.
    body_length: Option<(u64, &'static str)>,
    body_received: u64,
    received: u64,
    ended: bool,
}

impl MediaStream {
    /// Reads the headers of a success to a request for the bytes from `offset` on; a `206`
    /// that does not hold exactly those bytes is refused.
    pub(super) fn new(
        response: http::Response<BodyStream>,
        rate_limit: RateLimitSnapshot,
        offset: u64,
    ) -> Result<Self, Error> {
        let (parts, body) = response.into_parts();
        let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let mut stream = MediaStream {
            content_type: header(CONTENT_TYPE).map(str::to_owned),
            content_length: None,
            accepts_ranges: header(ACCEPT_RANGES).is_some_and(|v| {
                v.split(',')
                    .any(|unit| unit.trim().eq_ignore_ascii_case("bytes"))
            }),
            rate_limit,
            body,
            offset,
            skip: 0,
            body_length: None,
            body_received: 0,
            received: 0,
            ended: false,
        };
        if parts.status == StatusCode::PARTIAL_CONTENT {
            let range = header(CONTENT_RANGE).and_then(ContentRange::parse);
            let range = match range {
                Some(range) if range.first == offset => range,
                Some(range) => {
                    return Err(unusable(format!(
                        "the server sent the media from byte {}, not from the offset {offset} asked for",
                        range.first
                    )));
                }
                None => {
                    return Err(unusable(
                        "the server sent part of the media without a single byte range in its content-range"
                            .to_owned(),
                    ));
                }
            };
            stream.accepts_ranges = true;
            stream.content_length = range.total;
            stream.body_length = Some((range.last - range.first + 1, "content-range"));
        } else {
            stream.content_length = header(CONTENT_LENGTH).and_then(|v| v.trim().parse().ok());
            stream.body_length = stream.content_length.map(|l| (l, "content-length"));
            stream.skip = offset;
        }
        Ok(stream)
    }

    /// The `content-type` X sent, such as `video/mp4`, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The whole file's size, when the server said: the total of a `206`'s `content-range`,
    /// or a `200`'s `content-length`. A stream opened at an offset hands out that size less
    /// the offset.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// Whether the server serves byte ranges of this file (it sent `accept-ranges: bytes`, or
    /// answered a range with `206`): whether a download that broke off can ask for the rest
    /// with [`DownloadMedia::with_offset`](xdm_core::endpoints::DownloadMedia::with_offset) instead of starting over.
    pub fn accepts_ranges(&self) -> bool {
        self.accepts_ranges
    }

    /// The rate-limit headers of the response.
    pub fn rate_limit(&self) -> &RateLimitSnapshot {
        &self.rate_limit
    }

    /// How many bytes of the file have been handed out so far, counted from the offset the
    /// stream was opened at: a download that breaks off resumes at that offset plus this.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The next chunk of the file; `None` once it is complete. After an error item, `None`.
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes, Error>> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Error>>> {
        loop {
            if self.ended {
                return Poll::Ready(None);
            }
            let item = match Pin::new(&mut self.body).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(item) => item,
            };
            let item = match item {
                Some(Ok(mut chunk)) => {
                    self.body_received += chunk.len() as u64;
                    if let Some((expected, said_by)) = self.body_length
                        && self.body_received > expected
                    {
                        Some(Err(self.length_mismatch(expected, said_by, "more than")))
                    } else {
                        // Below `skip`, so within the chunk and a usize.
                        let dropped = self.skip.min(chunk.len() as u64);
                        self.skip -= dropped;
                        chunk = chunk.slice(dropped as usize..);
                        // An empty chunk says nothing; a caller counting chunks would be
                        // misled.
                        if chunk.is_empty() {
                            continue;
                        }
                        self.received += chunk.len() as u64;
                        return Poll::Ready(Some(Ok(chunk)));
                    }
                }
                Some(Err(error)) => Some(Err(Error::Transport(error))),
                None => self.check_end().err().map(Err),
            };
            self.ended = true;
            return Poll::Ready(item);
        }
    }

    /// Whether a body that ended has brought all it should: what its headers announced, the
    /// bytes up to the offset, and the file up to its end.
    fn check_end(&self) -> Result<(), Error> {
        if let Some((expected, said_by)) = self.body_length
            && self.body_received < expected
        {
            return Err(self.length_mismatch(expected, said_by, "only"));
        }
        if self.skip > 0 {
            return Err(broken(format!(
                "the media body ended after {} bytes, before the offset {} it was asked from",
                self.body_received, self.offset
            )));
        }
        if let Some(total) = self.content_length
            && self.offset + self.received < total
        {
            return Err(broken(format!(
                "the server sent the media up to byte {} of the {total} of the file",
                self.offset + self.received
            )));
        }
        Ok(())
    }

    /// A body that disagrees with its headers: the connection or the server broke, so the
    /// file is not what X meant to send.
    fn length_mismatch(&self, expected: u64, said_by: &str, how: &str) -> Error {
        broken(format!(
            "the media body had {how} {} of the {expected} bytes its {said_by} announced",
            self.body_received
        ))
    }
}

/// A body that broke off or went wrong after the headers: a failure of the connection, which
/// a caller may resume after.
fn broken(message: String) -> Error {
    Error::Transport(TransportError::new(
        TransportFailure::new(TransportErrorKind::Io, ReachedServer::Maybe),
        message,
    ))
}

/// A success whose headers contradict the request: it would go the same way again.
fn unusable(message: String) -> Error {
    Error::Transport(TransportError::new(
        TransportFailure::new(TransportErrorKind::Other, ReachedServer::Maybe),
        message,
    ))
}

impl fmt::Debug for MediaStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaStream")
            .field("content_type", &self.content_type)
            .field("content_length", &self.content_length)
            .field("accepts_ranges", &self.accepts_ranges)
            .field("offset", &self.offset)
            .field("received", &self.received)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl Stream for MediaStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}
