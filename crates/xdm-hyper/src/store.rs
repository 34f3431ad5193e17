//! The OAuth 2.0 token kept in a file: readable by its owner only, replaced atomically, and
//! refreshed under a lock shared with every other process using the same file.
//!
//! The file work is blocking, so in a tokio runtime it runs on its blocking pool
//! (`spawn_blocking`), never on the executor's threads.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xdm_auth::oauth2::{TokenRecord, UserToken};
use xdm_client::{RefreshLock, StoreFuture, TokenStore, TokenStoreError};

use crate::login::SavedClient;

/// A token file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileStoreError {
    /// A file operation failed.
    #[error("could not {action} {}: {source}", .path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// The file is not a token file (or, for the saved login's `client.json`, not a client
    /// file). The message gives the position only, never the content.
    #[error("{} is damaged: not valid at line {line}, column {column}", .path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where parsing stopped.
        line: usize,
        /// Where parsing stopped.
        column: usize,
    },
    /// The file was written by a newer format.
    #[error(
        "the token file {} has format version {found}; this version reads version {FORMAT_VERSION}",
        .path.display()
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
}

impl From<FileStoreError> for TokenStoreError {
    fn from(e: FileStoreError) -> Self {
        TokenStoreError::new(e)
    }
}

const FORMAT_VERSION: u32 = TokenRecord::VERSION;

/// The file's layout: the token record every store shares, and what the file keeps beside
/// it. Tokens are written here, deliberately, and nowhere else.
#[derive(Serialize, Deserialize)]
struct StoredToken {
    #[serde(flatten)]
    token: TokenRecord,
    /// The SHA-256 (hex) of the refresh token from the environment that this token's chain
    /// of refreshes started from: that one is spent, and this token succeeds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    succeeds_refresh_sha256: Option<String>,
}

/// The SHA-256, in hex, of a refresh token: what a token file records of the spent refresh
/// token it succeeds, so that the token itself is never written twice.
pub(crate) fn fingerprint(refresh_token: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(refresh_token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where a token from the environment came from, for a store that keeps its successors.
#[derive(Debug, Clone)]
struct Origin {
    fingerprint: String,
    client: (PathBuf, SavedClient),
}

impl StoredToken {
    fn from_token(token: &UserToken, succeeds: Option<String>) -> Self {
        Self {
            token: TokenRecord::from_token(token),
            succeeds_refresh_sha256: succeeds,
        }
    }

    fn into_token(self) -> UserToken {
        self.token.into_token()
    }
}

/// A token kept in a JSON file, readable by its owner only, replaced atomically (a temporary
/// file beside it, synced, renamed over it, and the directory synced), and refreshed under an
/// exclusive lock on a sibling `.lock` file shared with every other process using the file.
///
/// Give it to [`Builder::token_store`](crate::Builder::token_store) (or
/// [`xdm_client::ClientBuilder::token_store`]); the
/// [`TokenStore`] methods do their file work on tokio's blocking pool. The `_blocking`
/// methods are for code that runs outside an async runtime.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use xdm_hyper::FileTokenStore;
///
/// let client = xdm_hyper::builder()
///     .config(xdm_client::Config::from_env()?)
///     .token_store(FileTokenStore::new("/home/me/.config/xdm/token.json"))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
    lock_path: PathBuf,
    origin: Option<Origin>,
}

impl FileTokenStore {
    /// A store at `path`; the lock is `path` with `.lock` appended.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let mut lock_path = path.clone().into_os_string();
        lock_path.push(".lock");
        Self {
            path,
            lock_path: lock_path.into(),
            origin: None,
        }
    }

    /// Marks every token this store saves as a successor of the environment's refresh token
    /// (by `fingerprint`), and saves `client` beside it, so that the saved login can refresh
    /// it again without the environment.
    pub(crate) fn with_origin(
        mut self,
        fingerprint: String,
        client: (PathBuf, SavedClient),
    ) -> Self {
        self.origin = Some(Origin {
            fingerprint,
            client,
        });
        self
    }

    /// Whether this store keeps the successors of a token from the environment.
    pub fn keeps_environment_token(&self) -> bool {
        self.origin.is_some()
    }

    /// The stored token, and the fingerprint of the environment's refresh token it succeeds.
    pub(crate) fn load_with_origin_blocking(
        &self,
    ) -> Result<Option<(UserToken, Option<String>)>, FileStoreError> {
        self.read_stored()
            .map(|s| s.map(|s| (s.succeeds_refresh_sha256.clone(), s.into_token())))
            .map(|s| s.map(|(origin, token)| (token, origin)))
    }

    /// The token file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the token file exists and users other than its owner may read or write it
    /// (always `false` where permissions have no such bits).
    pub fn is_open_to_others(&self) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(&self.path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
        }
        #[cfg(not(unix))]
        {
            false
        }
    }

    /// Reads the stored token, blocking the thread. Files are replaced whole, so a read
    /// without the lock never sees a partial write.
    pub fn load_blocking(&self) -> Result<Option<UserToken>, FileStoreError> {
        self.read()
    }

    /// Replaces the stored token under the lock, blocking the thread (also while another
    /// process holds the lock).
    ///
    /// A token saved this way (a new login) starts afresh: it is no longer the successor of a
    /// refresh token from the environment. A refresh saves through the lock instead
    /// ([`TokenStore::try_lock`]), which keeps that mark.
    pub fn save_blocking(&self, token: &UserToken) -> Result<(), FileStoreError> {
        let _lock = self.lock_blocking()?;
        self.write(token, false)
    }

    /// Takes the lock, waiting for another holder to release it.
    fn lock_blocking(&self) -> Result<File, FileStoreError> {
        let file = self.open_lock_file()?;
        file.lock().map_err(|source| self.lock_error(source))?;
        Ok(file)
    }

    /// Takes the lock if nobody holds it.
    fn try_lock_blocking(&self) -> Result<Option<File>, FileStoreError> {
        let file = self.open_lock_file()?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(source)) => Err(self.lock_error(source)),
        }
    }

    fn lock_error(&self, source: io::Error) -> FileStoreError {
        FileStoreError::Io {
            action: "lock",
            path: self.lock_path.clone(),
            source,
        }
    }

    fn open_lock_file(&self) -> Result<File, FileStoreError> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        owner_only(&mut options);
        options
            .open(&self.lock_path)
            .map_err(|source| FileStoreError::Io {
                action: "open",
                path: self.lock_path.clone(),
                source,
            })
    }

    fn read(&self) -> Result<Option<UserToken>, FileStoreError> {
        Ok(self.read_stored()?.map(StoredToken::into_token))
    }

    fn read_stored(&self) -> Result<Option<StoredToken>, FileStoreError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(FileStoreError::Io {
                    action: "read",
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let corrupt = |e: serde_json::Error| FileStoreError::Corrupt {
            path: self.path.clone(),
            line: e.line(),
            column: e.column(),
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(corrupt)?;
        let found = value.get("version").and_then(serde_json::Value::as_u64);
        if let Some(found) = found.filter(|v| *v != u64::from(FORMAT_VERSION)) {
            return Err(FileStoreError::UnsupportedVersion {
                path: self.path.clone(),
                found: u32::try_from(found).unwrap_or(u32::MAX),
            });
        }
        // The position of a type error would point into a token: report the start instead.
        let stored: StoredToken =
            serde_json::from_value(value).map_err(|_| FileStoreError::Corrupt {
                path: self.path.clone(),
                line: 1,
                column: 1,
            })?;
        Ok(Some(stored))
    }

    /// Writes a temporary file beside the target (created owner-only under an unguessable
    /// name by `tempfile`), syncs it, renames it over the target and syncs the directory, so
    /// that a reader sees the old token or the new one, never half of one, and a crash keeps
    /// one of them.
    ///
    /// `continues` says the token is the refresh of the stored one: without an origin of its
    /// own, it keeps the stored token's mark of the environment refresh token its chain
    /// started from.
    fn write(&self, token: &UserToken, continues: bool) -> Result<(), FileStoreError> {
        let succeeds = match &self.origin {
            Some(origin) => Some(origin.fingerprint.clone()),
            None if !continues => None,
            None => self
                .read_stored()
                .ok()
                .flatten()
                .and_then(|s| s.succeeds_refresh_sha256),
        };
        let json = serde_json::to_vec_pretty(&StoredToken::from_token(token, succeeds))
            .expect("a token serializes to JSON");
        write_atomic(&self.path, &json)?;
        if let Some(Origin {
            client: (path, client),
            ..
        }) = &self.origin
        {
            let json = serde_json::to_vec_pretty(client).expect("a client serializes to JSON");
            write_atomic(path, &json)?;
        }
        Ok(())
    }
}

/// Replaces `path` with `bytes` atomically and durably, owner-only.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileStoreError> {
    {
        use std::io::Write as _;
        let io = |action, path: &Path| {
            let path = path.to_owned();
            move |source| FileStoreError::Io {
                action,
                path,
                source,
            }
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        // Dropped on an error, the temporary file is removed.
        let mut tmp = tempfile::Builder::new()
            .prefix(".xdm.")
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(io("create a temporary file in", &dir))?;
        tmp.write_all(bytes).map_err(io("write", tmp.path()))?;
        tmp.as_file().sync_all().map_err(io("sync", tmp.path()))?;
        tmp.persist(path)
            .map_err(|e| io("replace", path)(e.error))?;
        // Makes the rename itself durable; not every platform can sync a directory.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(unix)]
fn owner_only(options: &mut OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt;
    options.mode(0o600);
}

#[cfg(not(unix))]
fn owner_only(_options: &mut OpenOptions) {}

/// Runs blocking file work off the async executor: on tokio's blocking pool inside a tokio
/// runtime, else (another executor, or none) on the calling thread, which is all there is.
async fn blocking<R: Send + 'static>(
    work: impl FnOnce() -> Result<R, FileStoreError> + Send + 'static,
) -> Result<R, TokenStoreError> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle
            .spawn_blocking(work)
            .await
            .map_err(|e| TokenStoreError::new(io::Error::other(e.to_string())))?
            .map_err(TokenStoreError::from),
        Err(_) => work().map_err(TokenStoreError::from),
    }
}

impl TokenStore for FileTokenStore {
    /// Reads the file without the lock: files are replaced whole.
    fn load(&self) -> StoreFuture<'_, Option<UserToken>> {
        let store = self.clone();
        Box::pin(blocking(move || store.read()))
    }

    /// Saves under the lock, waiting for it on the blocking pool; like
    /// [`save_blocking`](FileTokenStore::save_blocking), a new token, not a refresh.
    fn save<'a>(&'a self, token: &'a UserToken) -> StoreFuture<'a, ()> {
        let store = self.clone();
        let token = token.clone();
        Box::pin(blocking(move || store.save_blocking(&token)))
    }

    fn try_lock(&self) -> StoreFuture<'_, Option<Box<dyn RefreshLock>>> {
        let store = self.clone();
        Box::pin(async move {
            let locking = store.clone();
            let file = blocking(move || locking.try_lock_blocking()).await?;
            Ok(file.map(|file| Box::new(FileLock { file, store }) as Box<dyn RefreshLock>))
        })
    }
}

/// The token file's exclusive lock; released when dropped (closing the file releases it).
#[derive(Debug)]
struct FileLock {
    file: File,
    store: FileTokenStore,
}

impl RefreshLock for FileLock {
    fn load(&self) -> StoreFuture<'_, Option<UserToken>> {
        let store = self.store.clone();
        Box::pin(blocking(move || store.read()))
    }

    fn save<'a>(&'a self, token: &'a UserToken) -> StoreFuture<'a, ()> {
        let store = self.store.clone();
        let token = token.clone();
        Box::pin(blocking(move || store.write(&token, true)))
    }

    fn release(self: Box<Self>) -> StoreFuture<'static, ()> {
        let FileLock { file, store } = *self;
        Box::pin(blocking(move || {
            file.unlock().map_err(|source| FileStoreError::Io {
                action: "unlock",
                path: store.lock_path.clone(),
                source,
            })
        }))
    }
}
