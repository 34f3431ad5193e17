//! Where OAuth 2.0 user tokens are kept between runs, and shared between processes.
//!
//! X's refresh tokens are single-use: two processes that hold the same token and both refresh
//! it spend the same refresh token twice, and the loser is locked out. A [`TokenStore`]
//! therefore offers, besides loading and saving, a lock that the client holds across a
//! refresh:
//!
//! 1. take the store's refresh lock ([`TokenStore::try_lock`], polled through the client's
//!    [`Timer`](crate::transport::Timer) while another process holds it);
//! 2. read the store again ([`RefreshLock::load`]); if it holds a token that supersedes the
//!    one being refreshed, another process has rotated it: take that one, release, stop;
//! 3. otherwise send the refresh, save the new token under the lock ([`RefreshLock::save`]),
//!    release the lock, and only then hand the token to the manager.
//!
//! The traits are runtime-free (boxed `Send` futures), so a store may be a file (as
//! `xdm_hyper::FileTokenStore` is), a database or a network service shared by many machines.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use xdm_auth::oauth2::UserToken;

/// The future every store operation returns: boxed, so that stores can be used as trait
/// objects, and `Send`, so that a client's calls can move between threads.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, TokenStoreError>> + Send + 'a>>;

/// Somewhere user tokens are kept between runs, and refreshed by one process at a time.
///
/// Set it with [`ClientBuilder::token_store`](crate::ClientBuilder::token_store): every
/// refresh of the client's OAuth 2.0 token then follows the protocol of this module, and the
/// rotated token is saved before anyone uses it.
pub trait TokenStore: fmt::Debug + Send + Sync {
    /// The stored token, if any.
    fn load(&self) -> StoreFuture<'_, Option<UserToken>>;

    /// Replaces the stored token (taking the store's lock, if it has one, for the write).
    fn save<'a>(&'a self, token: &'a UserToken) -> StoreFuture<'a, ()>;

    /// Takes the store's refresh lock if nobody holds it, without waiting: `None` means
    /// another holder has it, and the caller tries again later. The lock is released when the
    /// returned value is [released](RefreshLock::release) or dropped.
    fn try_lock(&self) -> StoreFuture<'_, Option<Box<dyn RefreshLock>>>;
}

/// A store's refresh lock, held across a refresh so that no other process spends the same
/// refresh token.
pub trait RefreshLock: Send {
    /// Reads the stored token under the lock.
    fn load(&self) -> StoreFuture<'_, Option<UserToken>>;

    /// Replaces the stored token under the lock.
    fn save<'a>(&'a self, token: &'a UserToken) -> StoreFuture<'a, ()>;

    /// Releases the lock. Dropping the lock releases it too; this form lets a store whose
    /// release is itself I/O (a networked lock) finish it before the caller goes on.
    fn release(self: Box<Self>) -> StoreFuture<'static, ()>;
}

/// A token store could not be read, written or locked. Its message names the store (a path,
/// an address) and what failed, never a token.
#[derive(Debug)]
pub struct TokenStoreError {
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl TokenStoreError {
    /// Wraps a store's own error; its `Display` must not quote a token.
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            source: source.into(),
        }
    }

    /// The store's own error, to downcast to its type.
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.source
    }
}

impl fmt::Display for TokenStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.source, f)
    }
}

impl std::error::Error for TokenStoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.source()
    }
}
