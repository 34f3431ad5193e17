//! Single-request operations: look up, delete, block, unblock, download, one page.

use xdm_core::endpoints::{
    BlockUser, DeleteEvent, DownloadMedia, GetEvent, MediaContent, UnblockUser,
};
use xdm_core::fields::FieldSet;
use xdm_core::ids::{EventId, UserId};
use xdm_core::models::DmEvent;
use xdm_core::pagination::PagedEndpoint;
use xdm_core::response::{ApiResponse, EventPage};
use xdm_core::{Endpoint, RequestContext};

use crate::client::Client;
use crate::error::Error;
use crate::transport::{Timer, Transport};

impl<T: Transport, C: Timer> Client<T, C> {
    /// One event by id, with the requested fields and expansions: `GET /2/dm_events/{event_id}`.
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::Transport, C: xdm_client::transport::Timer>(
    /// #     client: xdm_client::Client<T, C>) -> Result<(), xdm_client::Error> {
    /// use xdm_core::fields::{DmEventField, FieldSet};
    ///
    /// let fields = FieldSet::new().with_dm_event_fields([DmEventField::Text, DmEventField::SenderId]);
    /// let found = client.get_event(&"1585800613253812228".parse()?, fields).await?;
    /// println!("{:?}", found.data.and_then(|e| e.text));
    /// # Ok(()) }
    /// ```
    pub async fn get_event(
        &self,
        event_id: &EventId,
        fields: FieldSet,
    ) -> Result<ApiResponse<DmEvent>, Error> {
        self.execute(&GetEvent::new(event_id.clone()).with_fields(fields))
            .await
    }

    /// Deletes one of the user's message events: `DELETE /2/dm_events/{event_id}`. Returns
    /// whether X reports it deleted.
    ///
    /// A deletion is retried like a read. When an attempt may have reached X but its answer was
    /// lost (the connection dropped or timed out after sending, or a 5xx), a retry can find the
    /// event already gone: that 404 means the earlier attempt deleted it, so the call returns
    /// `Ok(true)`. A 404 to the first attempt, or after failures that certainly did not reach X,
    /// is still an error: the event did not exist, or is not the user's to delete.
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::Transport, C: xdm_client::transport::Timer>(
    /// #     client: xdm_client::Client<T, C>) -> Result<(), xdm_client::Error> {
    /// assert!(client.delete_event(&"1585800613253812228".parse()?).await?);
    /// # Ok(()) }
    /// ```
    pub async fn delete_event(&self, event_id: &EventId) -> Result<bool, Error> {
        let endpoint = DeleteEvent::new(event_id.clone());
        let info = endpoint.info();
        let path = info.path_template;
        let started_at = self.inner.timer.now();
        let build = |ctx: &RequestContext| endpoint.build_request(ctx);
        let response = self
            .exchange_with(
                info,
                &build,
                |r| endpoint.decode_response(r).map(Some),
                Some(&|| None),
            )
            .await
            .map_err(|e| e.into_error(path, started_at))?;
        match response {
            Some(response) => Ok(response.into_data()?.deleted),
            None => Ok(true),
        }
    }

    /// Blocks DMs from `user`: `POST /2/users/{id}/dm/block`. Returns whether X reports the
    /// user blocked.
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::Transport, C: xdm_client::transport::Timer>(
    /// #     client: xdm_client::Client<T, C>) -> Result<(), xdm_client::Error> {
    /// let user = "2244994945".parse()?;
    /// assert!(client.block_user(&user).await?);
    /// assert!(!client.unblock_user(&user).await?);
    /// # Ok(()) }
    /// ```
    pub async fn block_user(&self, user: &UserId) -> Result<bool, Error> {
        let response = self.execute(&BlockUser::new(user.clone())).await?;
        Ok(response.into_data()?.blocked)
    }

    /// Unblocks DMs from `user`: `POST /2/users/{id}/dm/unblock`. Returns whether X still
    /// reports the user blocked (so `false` on success).
    pub async fn unblock_user(&self, user: &UserId) -> Result<bool, Error> {
        let response = self.execute(&UnblockUser::new(user.clone())).await?;
        Ok(response.into_data()?.blocked)
    }

    /// Downloads media attached to a message:
    /// `GET /2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}` (OAuth 2.0 only).
    ///
    /// The whole file is held in memory, and the transport's response cap bounds its size.
    /// For videos and other large files, use
    /// [`download_media_stream`](Client::download_media_stream), which needs a
    /// [`StreamingTransport`](crate::transport::StreamingTransport).
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::Transport, C: xdm_client::transport::Timer>(
    /// #     client: xdm_client::Client<T, C>) -> Result<(), xdm_client::Error> {
    /// use xdm_core::endpoints::DownloadMedia;
    ///
    /// let media = DownloadMedia::from_media_url(
    ///     "https://ton.twitter.com/1.1/ton/data/dm/1589472163941056517/1589472151165317121/ncc3LNYu.jpg",
    /// )?;
    /// let content = client.download_media(&media).await?;
    /// println!("{} bytes of {:?}", content.body.len(), content.content_type);
    /// # Ok(()) }
    /// ```
    pub async fn download_media(&self, media: &DownloadMedia) -> Result<MediaContent, Error> {
        self.execute(media).await
    }

    /// One page of a listing, for callers who page by hand: pass the `next_token` of the last
    /// page in the endpoint's parameters to get the next.
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::Transport, C: xdm_client::transport::Timer>(
    /// #     client: xdm_client::Client<T, C>) -> Result<(), xdm_client::Error> {
    /// use xdm_core::endpoints::ListEvents;
    ///
    /// let page = client.list_page(&ListEvents::new().with_max_results(20)?).await?;
    /// println!("{} events, next: {:?}", page.items().len(), page.next_token());
    /// # Ok(()) }
    /// ```
    pub async fn list_page<E>(&self, endpoint: &E) -> Result<EventPage, Error>
    where
        E: PagedEndpoint + Sync,
    {
        self.execute(endpoint).await
    }
}
