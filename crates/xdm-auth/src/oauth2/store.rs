//! Persisting user tokens, and refreshing them safely when several processes share a file.
//!
//! X's refresh tokens are single-use. Two processes that read the same token file and both
//! refresh would spend the same refresh token twice, and the loser would be locked out. A
//! [`FileTokenStore`] therefore refreshes under an exclusive lock on a sibling `.lock` file:
//!
//! 1. take the lock ([`FileTokenStore::lock`]);
//! 2. re-read the file ([`StoreLock::begin_refresh`]); if it holds a token that supersedes
//!    the one being refreshed, another process has rotated it: take that one and stop;
//! 3. otherwise send the refresh request and hand the response to
//!    [`StoreLock::finish_refresh`], which saves the new token, releases the lock, and only
//!    then gives the token to the manager, runs its rotation hooks and wakes its waiters;
//! 4. in the first case, release the lock (drop the [`StoreLock`]).
//!
//! Rotation hooks never run under the lock, so a hook that saves through the same store
//! (as a client configured with a token store does) takes the lock again without waiting
//! on itself.
//!
//! The lock is held across the caller's own send, so the driver decides how to wait for it
//! (for instance `spawn_blocking` around [`FileTokenStore::lock`] in an async runtime).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use xdm_core::Scope;

use super::refresh::RefreshTicket;
use super::token::{Bearer, UserToken};
use crate::error::ResponseError;
use crate::random::random_token_with;

/// Somewhere user tokens are kept between runs.
pub trait TokenStore {
    /// Why loading or saving failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The stored token, if any.
    fn load(&self) -> Result<Option<UserToken>, Self::Error>;

    /// Replaces the stored token.
    fn save(&self, token: &UserToken) -> Result<(), Self::Error>;
}

/// A token file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
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
    /// The file is not a token file. The message gives the position only, never the content.
    #[error("the token file {} is not valid (line {line}, column {column})", .path.display())]
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

/// A refresh under the file lock failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockedRefreshError {
    /// X refused the refresh, or answered something unreadable.
    #[error(transparent)]
    Refresh(#[from] ResponseError),
    /// The refresh succeeded and the manager holds the new token, but saving it failed: other
    /// processes will not see it, so fix the store before they need it.
    #[error("the token was refreshed but could not be saved: {0}")]
    Save(#[source] StoreError),
}

const FORMAT_VERSION: u32 = 1;

/// The file's layout. Tokens are written here, deliberately, and nowhere else.
#[derive(Serialize, Deserialize)]
struct StoredToken {
    version: u32,
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scopes: Option<Vec<String>>,
    issued_at_ms: u64,
}

fn to_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

impl StoredToken {
    fn from_token(token: &UserToken) -> Self {
        Self {
            version: FORMAT_VERSION,
            access_token: token.access_token().expose_secret().to_owned(),
            refresh_token: token.refresh_token().map(|r| r.expose_secret().to_owned()),
            expires_at_ms: token.expires_at().map(to_ms),
            scopes: token
                .scopes()
                .map(|s| s.iter().map(|s| s.as_str().to_owned()).collect()),
            issued_at_ms: to_ms(token.issued_at()),
        }
    }

    fn into_token(self) -> UserToken {
        let mut token = UserToken::new(self.access_token, from_ms(self.issued_at_ms));
        if let Some(r) = self.refresh_token {
            token = token.with_refresh_token(r);
        }
        if let Some(ms) = self.expires_at_ms {
            token = token.with_expires_at(from_ms(ms));
        }
        if let Some(scopes) = self.scopes {
            token = token.with_scopes(scopes.iter().map(|s| Scope::parse(s)));
        }
        token
    }
}

/// A token kept in a JSON file, readable by its owner only, replaced atomically, and
/// refreshed under a lock shared with every other process using the same file.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
    lock_path: PathBuf,
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
        }
    }

    /// The token file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the lock, waiting for another holder to release it.
    pub fn lock(&self) -> Result<StoreLock, StoreError> {
        let file = self.open_lock_file()?;
        file.lock().map_err(|source| StoreError::Io {
            action: "lock",
            path: self.lock_path.clone(),
            source,
        })?;
        Ok(StoreLock {
            _file: file,
            store: self.clone(),
        })
    }

    /// Takes the lock if nobody holds it.
    pub fn try_lock(&self) -> Result<Option<StoreLock>, StoreError> {
        let file = self.open_lock_file()?;
        match file.try_lock() {
            Ok(()) => Ok(Some(StoreLock {
                _file: file,
                store: self.clone(),
            })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(source)) => Err(StoreError::Io {
                action: "lock",
                path: self.lock_path.clone(),
                source,
            }),
        }
    }

    fn open_lock_file(&self) -> Result<File, StoreError> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        owner_only(&mut options);
        options
            .open(&self.lock_path)
            .map_err(|source| StoreError::Io {
                action: "open",
                path: self.lock_path.clone(),
                source,
            })
    }

    fn read(&self) -> Result<Option<UserToken>, StoreError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StoreError::Io {
                    action: "read",
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let corrupt = |e: serde_json::Error| StoreError::Corrupt {
            path: self.path.clone(),
            line: e.line(),
            column: e.column(),
        };
        let version: serde_json::Value = serde_json::from_slice(&bytes).map_err(corrupt)?;
        let found = version.get("version").and_then(serde_json::Value::as_u64);
        if let Some(found) = found.filter(|v| *v != u64::from(FORMAT_VERSION)) {
            return Err(StoreError::UnsupportedVersion {
                path: self.path.clone(),
                found: u32::try_from(found).unwrap_or(u32::MAX),
            });
        }
        let stored: StoredToken =
            serde_json::from_value(version).map_err(|_| StoreError::Corrupt {
                path: self.path.clone(),
                line: 1,
                column: 1,
            })?;
        Ok(Some(stored.into_token()))
    }

    /// Writes a temporary file beside the target and renames it over, so that a reader sees
    /// the old token or the new one, never half of one.
    fn write(&self, token: &UserToken) -> Result<(), StoreError> {
        self.write_with(token, getrandom::fill)
    }

    /// [`write`](Self::write), naming the temporary file from random bytes drawn by `fill`:
    /// unique without reading the clock, and unguessable, so another user cannot plant a
    /// file under the name beforehand.
    fn write_with(
        &self,
        token: &UserToken,
        fill: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>,
    ) -> Result<(), StoreError> {
        let io = |action, path: &Path| {
            let path = path.to_owned();
            move |source| StoreError::Io {
                action,
                path,
                source,
            }
        };
        let json = serde_json::to_vec_pretty(&StoredToken::from_token(token))
            .expect("a token serializes to JSON");
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "token".to_owned());
        let unique = random_token_with(12, fill).map_err(|e| StoreError::Io {
            action: "name a temporary file for",
            path: self.path.clone(),
            source: io::Error::other(e),
        })?;
        let tmp = dir.join(format!(".{name}.{unique}.tmp"));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        owner_only(&mut options);
        let result = (|| {
            let mut file = options.open(&tmp).map_err(io("create", &tmp))?;
            file.write_all(&json).map_err(io("write", &tmp))?;
            file.sync_all().map_err(io("sync", &tmp))?;
            fs::rename(&tmp, &self.path).map_err(io("replace", &self.path))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        } else if let Ok(d) = File::open(&dir) {
            // Makes the rename itself durable; not every platform can sync a directory.
            let _ = d.sync_all();
        }
        result
    }
}

#[cfg(unix)]
fn owner_only(options: &mut OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt;
    options.mode(0o600);
}

#[cfg(not(unix))]
fn owner_only(_options: &mut OpenOptions) {}

impl TokenStore for FileTokenStore {
    type Error = StoreError;

    /// Reads the file without the lock: files are replaced whole, so a read never sees a
    /// partial write.
    fn load(&self) -> Result<Option<UserToken>, StoreError> {
        self.read()
    }

    /// Saves under the lock.
    fn save(&self, token: &UserToken) -> Result<(), StoreError> {
        self.lock()?.save(token)
    }
}

/// The store's exclusive lock; released when dropped.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
    store: FileTokenStore,
}

/// The first step of a refresh under the lock.
#[derive(Debug)]
#[non_exhaustive]
pub enum LockedRefresh {
    /// Another process had already rotated the token: use this one; nothing to send.
    Ready(Bearer),
    /// Send the ticket's request, then call [`StoreLock::finish_refresh`].
    Send(RefreshTicket),
}

impl StoreLock {
    /// Reads the stored token.
    pub fn load(&self) -> Result<Option<UserToken>, StoreError> {
        self.store.read()
    }

    /// Replaces the stored token.
    pub fn save(&self, token: &UserToken) -> Result<(), StoreError> {
        self.store.write(token)
    }

    /// Re-reads the file: if it holds a token that supersedes the ticket's, the ticket takes
    /// it (and may still need to refresh it, if it is about to expire too).
    pub fn begin_refresh(
        &self,
        ticket: RefreshTicket,
        now: SystemTime,
    ) -> Result<LockedRefresh, StoreError> {
        match self.load()? {
            Some(stored) if stored.supersedes(ticket.basis()) => Ok(ticket.adopt(stored, now)),
            _ => Ok(LockedRefresh::Send(ticket)),
        }
    }

    /// Completes the refresh with X's response, consuming the lock, in this order:
    ///
    /// 1. the new token is saved to the file, under the lock, so that no other process can
    ///    refresh with the spent refresh token;
    /// 2. the lock is released;
    /// 3. the manager takes the new token, its [`on_rotate`](super::TokenManager::on_rotate)
    ///    hooks run (no lock held: a hook may save through this same store) and whoever
    ///    waits for the refresh is woken.
    ///
    /// If saving fails, the manager still takes the new token (the old refresh token is
    /// spent either way) and the error is [`LockedRefreshError::Save`]. An error response is
    /// handed to the waiters and returned, and nothing is saved.
    pub fn finish_refresh(
        self,
        ticket: RefreshTicket,
        response: &http::Response<Bytes>,
        now: SystemTime,
    ) -> Result<Bearer, LockedRefreshError> {
        let parsed = ticket.parse(response, now);
        let saved = match &parsed {
            Ok(token) => self.save(token),
            Err(_) => Ok(()),
        };
        drop(self);
        let bearer = ticket.complete(parsed)?;
        saved.map_err(LockedRefreshError::Save)?;
        Ok(bearer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let mut unique = [0u8; 8];
        getrandom::fill(&mut unique).unwrap();
        let dir = std::env::temp_dir().join(format!(
            "xdm-auth-unit-{name}-{}-{}",
            std::process::id(),
            u64::from_le_bytes(unique)
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn temporary_files_are_named_from_the_random_source() {
        let dir = temp_dir("tmp-name");
        // A directory where the temporary file would go makes the write fail after naming it,
        // which shows the name: it comes from the random bytes alone.
        let planted = dir.join(".token.json.AAAAAAAAAAAAAAAA.tmp");
        fs::create_dir(&planted).unwrap();
        let store = FileTokenStore::new(dir.join("token.json"));
        let token = UserToken::new("AT", UNIX_EPOCH);
        let e = store
            .write_with(&token, |buf| {
                buf.fill(0);
                Ok(())
            })
            .unwrap_err();
        assert!(
            matches!(&e, StoreError::Io { action: "create", path, .. } if *path == planted),
            "{e:?}"
        );
        // With other bytes the name differs and the write goes through.
        store
            .write_with(&token, |buf| {
                buf.fill(1);
                Ok(())
            })
            .unwrap();
        assert_eq!(store.read().unwrap(), Some(token));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_failing_random_source_is_an_error_and_writes_nothing() {
        let dir = temp_dir("tmp-random-fails");
        let store = FileTokenStore::new(dir.join("token.json"));
        let e = store
            .write_with(&UserToken::new("AT", UNIX_EPOCH), |_| {
                Err(getrandom::Error::UNSUPPORTED)
            })
            .unwrap_err();
        assert!(
            matches!(
                &e,
                StoreError::Io {
                    action: "name a temporary file for",
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(
            e.to_string().contains("random number generator failed"),
            "{e}"
        );
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        fs::remove_dir_all(dir).unwrap();
    }
}
