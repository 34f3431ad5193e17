//! Single-request operations: look up, delete, block, unblock, download, one page.

use xdm_core::endpoints::{
    BlockUser, DeleteEvent, DownloadMedia, GetEvent, MediaContent, UnblockUser,
};
use xdm_core::error::Problem;
use xdm_core::fields::FieldSet;
use xdm_core::ids::{EventId, UserId};
use xdm_core::models::{BlockStatus, DmEvent};
use xdm_core::pagination::PagedEndpoint;
use xdm_core::response::{ApiResponse, EventPage};
use xdm_core::{Endpoint, RequestContext};

use crate::client::Client;
use crate::error::Error;
use crate::transport::{Timer, Transport};

/// Whether a user's DMs are blocked, as X reports after a block or an unblock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BlockState {
    /// The user's DMs are blocked.
    Blocked,
    /// The user's DMs are not blocked.
    NotBlocked,
}

/// What X reported after [`Client::block_user`] or [`Client::unblock_user`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Blocking {
    /// Whether the user is now blocked.
    pub state: BlockState,
    /// Partial errors X reported beside the result.
    pub errors: Vec<Problem>,
}

impl Blocking {
    fn from_response(response: ApiResponse<BlockStatus>) -> Result<Blocking, Error> {
        let errors = response.errors.clone();
        let state = match response.into_data()?.blocked {
            true => BlockState::Blocked,
            false => BlockState::NotBlocked,
        };
        Ok(Blocking { state, errors })
    }

    /// Whether the user is now blocked.
    pub fn is_blocked(&self) -> bool {
        self.state == BlockState::Blocked
    }
}

/// Whether a message event is deleted, as X reports after [`Client::delete_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeleteState {
    /// The event is deleted (for the user: X deletes a message for its sender only).
    Deleted,
    /// X answered that the event was not deleted.
    NotDeleted,
}

/// What X reported after [`Client::delete_event`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Deletion {
    /// Whether the event is deleted.
    pub state: DeleteState,
    /// Partial errors X reported beside the result.
    pub errors: Vec<Problem>,
}

impl Deletion {
    /// Whether the event is deleted.
    pub fn is_deleted(&self) -> bool {
        self.state == DeleteState::Deleted
    }
}

impl<T: Transport, C: Timer> Client<T, C> {
    /// One event by id, with X's default fields (`id`, `event_type`, `text`):
    /// `GET /2/dm_events/{event_id}`. See [`get_event_with`](Self::get_event_with) to ask for
    /// more.
    ///
    /// X answers a lookup of an event that does not exist (or is not the user's) with no data
    /// and a partial error in `errors`, not with an error status.
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::Transport, C: xdm_client::transport::Timer>(
    /// #     client: xdm_client::Client<T, C>) -> Result<(), xdm_client::Error> {
    /// let found = client.get_event(&"1585800613253812228".parse()?).await?;
    /// println!("{:?}", found.data.and_then(|e| e.text));
    /// # Ok(()) }
    /// ```
    pub async fn get_event(&self, event_id: &EventId) -> Result<ApiResponse<DmEvent>, Error> {
        self.get_event_with(event_id, FieldSet::new()).await
    }

    /// One event by id, with the requested fields and expansions:
    /// `GET /2/dm_events/{event_id}`.
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::Transport, C: xdm_client::transport::Timer>(
    /// #     client: xdm_client::Client<T, C>) -> Result<(), xdm_client::Error> {
    /// use xdm_core::fields::{DmEventField, FieldSet};
    ///
    /// let fields = FieldSet::new().with_dm_event_fields([DmEventField::Text, DmEventField::SenderId]);
    /// let found = client.get_event_with(&"1585800613253812228".parse()?, fields).await?;
    /// for problem in &found.errors {
    ///     eprintln!("warning: {}", problem.summary().unwrap_or("a partial error"));
    /// }
    /// println!("{:?}", found.data.and_then(|e| e.text));
    /// # Ok(()) }
    /// ```
    pub async fn get_event_with(
        &self,
        event_id: &EventId,
        fields: FieldSet,
    ) -> Result<ApiResponse<DmEvent>, Error> {
        self.execute(&GetEvent::new(event_id.clone()).with_fields(fields))
            .await
    }

    /// Deletes one of the user's message events: `DELETE /2/dm_events/{event_id}`. Returns
    /// what X reports, with its partial errors.
    ///
    /// A deletion is retried like a read. When an attempt may have reached X but its answer was
    /// lost (the connection dropped or timed out after sending, or a 5xx), a retry can find the
    /// event already gone: that 404 means the earlier attempt deleted it, so the call returns
    /// [`DeleteState::Deleted`]. A 404 to the first attempt, or after failures that certainly
    /// did not reach X, is still an error: the event did not exist, or is not the user's to
    /// delete.
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::Transport, C: xdm_client::transport::Timer>(
    /// #     client: xdm_client::Client<T, C>) -> Result<(), xdm_client::Error> {
    /// use xdm_client::DeleteState;
    ///
    /// let deletion = client.delete_event(&"1585800613253812228".parse()?).await?;
    /// assert_eq!(deletion.state, DeleteState::Deleted);
    /// # Ok(()) }
    /// ```
    pub async fn delete_event(&self, event_id: &EventId) -> Result<Deletion, Error> {
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
        let Some(response) = response else {
            return Ok(Deletion {
                state: DeleteState::Deleted,
                errors: Vec::new(),
            });
        };
        let errors = response.errors.clone();
        let state = match response.into_data()?.deleted {
            true => DeleteState::Deleted,
            false => DeleteState::NotDeleted,
        };
        Ok(Deletion { state, errors })
    }

    /// Blocks DMs from `user`: `POST /2/users/{id}/dm/block`. Returns what X reports, with
    /// its partial errors.
    ///
    /// ```no_run
    /// # async fn demo<T: xdm_client::transport::Transport, C: xdm_client::transport::Timer>(
    /// #     client: xdm_client::Client<T, C>) -> Result<(), xdm_client::Error> {
    /// use xdm_client::BlockState;
    ///
    /// let user = "2244994945".parse()?;
    /// assert_eq!(client.block_user(&user).await?.state, BlockState::Blocked);
    /// assert_eq!(client.unblock_user(&user).await?.state, BlockState::NotBlocked);
    /// # Ok(()) }
    /// ```
    pub async fn block_user(&self, user: &UserId) -> Result<Blocking, Error> {
        Blocking::from_response(self.execute(&BlockUser::new(user.clone())).await?)
    }

    /// Unblocks DMs from `user`: `POST /2/users/{id}/dm/unblock`. Returns what X reports
    /// ([`BlockState::NotBlocked`] once it is done), with its partial errors.
    pub async fn unblock_user(&self, user: &UserId) -> Result<Blocking, Error> {
        Blocking::from_response(self.execute(&UnblockUser::new(user.clone())).await?)
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
