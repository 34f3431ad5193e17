//! Media downloads that pass the body through as it arrives, over a [`StreamingTransport`].
//!
//! Opening the download runs the same retry loop as any call (rate limits, authorization,
//! retries, one refresh after a 401), with an attempt of its own that leaves the body of a
//! success to the caller instead of decoding it. Once the body has started, nothing is
//! retried here: the caller holds the bytes already received, and resumes, if the server
//! serves ranges, by opening the download again at the offset it reached
//! ([`DownloadMedia::with_offset`]). A stream opened at an offset hands out exactly the bytes
//! from there, whether the server answers the range or sends the whole file.
//!
//! This file opens the download; `stream.rs` hands out its body; `tests.rs` tests both.

use bytes::{Bytes, BytesMut};
use tracing::Instrument;
use xdm_core::endpoints::DownloadMedia;
use xdm_core::response::decode_error;
use xdm_core::{Endpoint, EndpointInfo};

use crate::client::Client;
use crate::error::Error;
use crate::execute::{Answered, Attempt, NoAnswer, call_span};
use crate::transport::{BodyStream, StreamingTransport, Timer, TransportError};

/// The most of an error response's body that is read to classify it. X's problem documents
/// are a few hundred bytes; a longer body is cut here rather than read whole, and the status
/// still classifies it.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

mod stream;
#[cfg(test)]
mod tests;

pub use stream::MediaStream;

impl<T: StreamingTransport, C: Timer> Client<T, C> {
    /// Downloads media attached to a message as its bytes arrive:
    /// `GET /2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}` (OAuth 2.0 only).
    ///
    /// Unlike [`download_media`](Client::download_media), which holds the whole file in
    /// memory (and is bounded by the transport's response cap), this returns as soon as the
    /// headers arrive, with the content type, the length when known and a stream of chunks.
    /// Until then the call goes through the same rate limiting, authorization, retries and
    /// token refresh as any other, and an error status fails it with the same error
    /// `download_media` would give. Once the body has started, a failure is an error item of
    /// the stream and is not retried.
    ///
    /// A download that breaks off can be resumed by the caller: when the stream
    /// [`accepts_ranges`](MediaStream::accepts_ranges), open it again with
    /// [`DownloadMedia::with_offset`] at the offset reached, which goes through the same
    /// pipeline, and keep writing where the bytes stopped (second example). A `206` whose
    /// `content-range` does not start at the offset fails the call with a transport error of
    /// kind `Other`.
    ///
    /// Needs a transport that implements [`StreamingTransport`], as `xdm-hyper`'s does.
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::StreamingTransport, C: xdm_client::transport::Timer>(
    /// #     client: xdm_client::Client<T, C>) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::io::Write;
    /// use xdm_core::endpoints::{ContentRange, DownloadMedia};
    ///
    /// let media = DownloadMedia::from_media_url(
    ///     "https://ton.twitter.com/1.1/ton/data/dm/1589472163941056517/1589472151165317121/ncc3LNYu.mp4",
    /// )?;
    /// let mut download = client.download_media_stream(&media).await?;
    /// println!("{:?}, {:?} bytes", download.content_type(), download.content_length());
    /// let mut file = std::fs::File::create("video.mp4")?;
    /// while let Some(chunk) = download.next_chunk().await {
    ///     file.write_all(&chunk?)?;
    /// }
    /// file.sync_all()?;
    /// # Ok(()) }
    /// ```
    ///
    /// Resuming after a broken connection, at most five times:
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::StreamingTransport, C: xdm_client::transport::Timer>(
    /// #     client: xdm_client::Client<T, C>, mut media: xdm_core::endpoints::DownloadMedia,
    /// #     file: &mut std::fs::File) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::io::Write;
    ///
    /// let mut download = client.download_media_stream(&media).await?;
    /// let mut resumes = 0;
    /// loop {
    ///     match download.next_chunk().await {
    ///         Some(Ok(chunk)) => file.write_all(&chunk)?,
    ///         None => break,
    ///         Some(Err(_)) if download.accepts_ranges() && resumes < 5 => {
    ///             resumes += 1;
    ///             let reached = media.offset() + download.received();
    ///             media = media.with_offset(reached);
    ///             download = client.download_media_stream(&media).await?;
    ///         }
    ///         Some(Err(error)) => return Err(error.into()),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn download_media_stream(&self, media: &DownloadMedia) -> Result<MediaStream, Error> {
        let info = media.info();
        let started_at = self.inner.timer.now();
        self.run_attempts(&info, None, || self.open_once(media, &info))
            .instrument(call_span(&info))
            .await
            // A download changes nothing at X, so its outcome is never unknown; the
            // conversion is total all the same.
            .map_err(|e| e.into_error(info.path_template, started_at))
    }

    /// One request: build, authorize, send, settle the limiter's reservation; on an error
    /// status, read the (bounded) body and decode it.
    async fn open_once(&self, media: &DownloadMedia, info: &EndpointInfo) -> Attempt<MediaStream> {
        let build = |ctx: &xdm_core::RequestContext| media.build_request(ctx);
        let answered = self
            .request_once(info, &build, |request| {
                self.inner.transport.send_streaming(request)
            })
            .await;
        let Answered {
            response,
            bearer,
            rate_limit: snapshot,
        } = match answered {
            Ok(answered) => answered,
            Err(no_answer) => return no_answer.into(),
        };
        let status = response.status();
        if status.is_success() {
            tracing::Span::current().record("status", status.as_u16());
            return match MediaStream::new(response, snapshot, media.offset()) {
                Ok(stream) => Attempt::Done(stream),
                Err(error) => Attempt::Stop(error),
            };
        }
        let (parts, body) = response.into_parts();
        let body = match read_bounded(body, ERROR_BODY_LIMIT).await {
            Ok(body) => body,
            // As for a buffered response whose body broke off: no answer was read.
            Err(error) => {
                tracing::info!(%error, "error response cut off");
                return NoAnswer::Failed(error).into();
            }
        };
        // What `DownloadMedia::decode_response` answers for any status other than 2xx.
        let error = decode_error(http::Response::from_parts(parts, body));
        Attempt::refused(status, error, bearer)
    }
}

/// Reads `body` up to `limit` bytes; the rest, if any, is dropped unread.
async fn read_bounded(mut body: BodyStream, limit: usize) -> Result<Bytes, TransportError> {
    let mut out = BytesMut::new();
    while out.len() < limit {
        match body.next_chunk().await {
            Some(Ok(chunk)) => {
                let room = limit - out.len();
                out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Some(Err(error)) => return Err(error),
            None => break,
        }
    }
    Ok(out.freeze())
}
