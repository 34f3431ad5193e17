//! Where `xdm login` keeps what it needs between runs, and how that is read back.
//!
//! The directory and its files are the SDK's (`xdm_hyper::SavedLogin`), so that a program
//! using `xdm_hyper::from_env` finds the same login: `$XDM_CONFIG_DIR`, else
//! `$XDG_CONFIG_HOME/xdm` or `~/.config/xdm` on Linux, the BSDs and macOS, and
//! `%APPDATA%\xdm` on Windows, created readable by its owner alone. It holds:
//!
//! - `token.json`: the OAuth 2.0 user token, written by `xdm_hyper::FileTokenStore`
//!   (owner-only, replaced atomically, refreshed under a lock so that two processes never
//!   spend the same single-use refresh token);
//! - `client.json`: the app's client id, and its secret for a confidential client, which a
//!   refresh needs; owner-only as well.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use xdm_hyper::SavedClient;
use xdm_hyper::SavedLogin;

use crate::exit::{Failure, Kind};

/// The configuration directory named by the environment, not yet created.
pub fn config_dir() -> Result<PathBuf, Failure> {
    xdm_hyper::config_dir().map_err(|e| Failure::new(Kind::Local, e.to_string()))
}

fn store_failure(e: xdm_hyper::FileStoreError) -> Failure {
    match e {
        xdm_hyper::FileStoreError::Corrupt { path, .. } => Failure::new(
            Kind::Local,
            format!("{} is damaged; run `xdm login` again", path.display()),
        ),
        other => Failure::new(Kind::Local, other.to_string()),
    }
}

/// Creates `dir` (and its parents) if needed, the last level readable by its owner alone.
pub fn ensure_dir(dir: &Path) -> Result<(), Failure> {
    SavedLogin::at(dir).ensure_dir().map_err(store_failure)
}

/// The saved token's path.
pub fn token_path(dir: &Path) -> PathBuf {
    SavedLogin::at(dir).token_store().path().to_owned()
}

/// The saved client's path.
pub fn client_path(dir: &Path) -> PathBuf {
    SavedLogin::at(dir).client_path()
}

/// Saves `client` owner-only, replacing any previous one at once.
pub fn save_client(dir: &Path, client: &SavedClient) -> Result<(), Failure> {
    SavedLogin::at(dir)
        .save_client(client)
        .map_err(store_failure)
}

/// The saved client, if there is one.
pub fn load_client(dir: &Path) -> Result<Option<SavedClient>, Failure> {
    SavedLogin::at(dir).load_client().map_err(store_failure)
}

/// Removes `path`; a file that is already gone is fine.
pub fn remove_if_present(path: &Path) -> Result<(), Failure> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Failure::io(path.display(), &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_saved_owner_only_and_read_back() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("xdm");
        ensure_dir(&dir).unwrap();
        assert_eq!(load_client(&dir).unwrap(), None);
        let client = SavedClient::new("abc", Some("s3cret".into()));
        save_client(&dir, &client).unwrap();
        assert_eq!(load_client(&dir).unwrap(), Some(client.clone()));
        assert!(!format!("{client:?}").contains("s3cret"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&client_path(&dir)), 0o600);
            assert_eq!(mode(&dir), 0o700);
        }
        fs::write(client_path(&dir), b"{").unwrap();
        assert!(load_client(&dir).unwrap_err().message.contains("damaged"));
        remove_if_present(&client_path(&dir)).unwrap();
        remove_if_present(&client_path(&dir)).unwrap();
    }
}
