//! Where `xdm login` keeps what it needs between runs, and how that is read back.
//!
//! The directory is `$XDM_CONFIG_DIR`, else `$XDG_CONFIG_HOME/xdm`, else `~/.config/xdm`,
//! created readable by its owner alone. It holds:
//!
//! - `token.json`: the OAuth 2.0 user token, written by xdm-auth's file store (owner-only,
//!   replaced atomically, refreshed under a lock so that two processes never spend the same
//!   single-use refresh token);
//! - `client.json`: the app's client id, and its secret for a confidential client, which a
//!   refresh needs; owner-only as well.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::exit::{Failure, Kind};

/// The configuration directory named by the environment, not yet created.
pub fn config_dir() -> Result<PathBuf, Failure> {
    dir_from(
        std::env::var_os("XDM_CONFIG_DIR"),
        std::env::var_os("XDG_CONFIG_HOME"),
        std::env::var_os("HOME"),
    )
}

fn dir_from(
    explicit: Option<std::ffi::OsString>,
    xdg: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Result<PathBuf, Failure> {
    let non_empty = |v: Option<std::ffi::OsString>| v.filter(|v| !v.is_empty());
    if let Some(dir) = non_empty(explicit) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(xdg) = non_empty(xdg) {
        return Ok(PathBuf::from(xdg).join("xdm"));
    }
    if let Some(home) = non_empty(home) {
        return Ok(PathBuf::from(home).join(".config").join("xdm"));
    }
    Err(Failure::new(
        Kind::Local,
        "no configuration directory: set XDM_CONFIG_DIR, XDG_CONFIG_HOME or HOME",
    ))
}

/// Creates `dir` (and its parents) if needed, the last level readable by its owner alone.
pub fn ensure_dir(dir: &Path) -> Result<(), Failure> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| Failure::io(dir.display(), &e))
}

/// The saved token's path.
pub fn token_path(dir: &Path) -> PathBuf {
    dir.join("token.json")
}

/// The saved client's path.
pub fn client_path(dir: &Path) -> PathBuf {
    dir.join("client.json")
}

/// The app a saved token belongs to.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedClient {
    /// The OAuth 2.0 client id.
    pub client_id: String,
    /// The client secret of a confidential client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for SavedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SavedClient")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// Saves `client` owner-only, replacing any previous one at once.
pub fn save_client(dir: &Path, client: &SavedClient) -> Result<(), Failure> {
    let path = client_path(dir);
    let json =
        serde_json::to_vec_pretty(client).map_err(|e| Failure::new(Kind::Local, e.to_string()))?;
    let tmp = crate::checkpoint::temp_sibling(&path);
    let write = || -> io::Result<()> {
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp)?;
        f.write_all(&json)?;
        f.sync_all()?;
        fs::rename(&tmp, &path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Failure::io(path.display(), &e)
    })
}

/// The saved client, if there is one.
pub fn load_client(dir: &Path) -> Result<Option<SavedClient>, Failure> {
    let path = client_path(dir);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|_| {
            Failure::new(
                Kind::Local,
                format!("{} is damaged; run `xdm login` again", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::io(path.display(), &e)),
    }
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
    fn the_directory_follows_the_environment_in_order() {
        let s = |v: &str| Some(std::ffi::OsString::from(v));
        assert_eq!(
            dir_from(s("/x"), s("/y"), s("/h")).unwrap(),
            Path::new("/x")
        );
        assert_eq!(
            dir_from(None, s("/y"), s("/h")).unwrap(),
            Path::new("/y/xdm")
        );
        assert_eq!(
            dir_from(s(""), s(""), s("/h")).unwrap(),
            Path::new("/h/.config/xdm")
        );
        assert_eq!(dir_from(None, None, None).unwrap_err().kind, Kind::Local);
    }

    #[test]
    fn the_client_is_saved_owner_only_and_read_back() {
        let dir = std::env::temp_dir().join(format!("xdm-cfg-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        ensure_dir(&dir).unwrap();
        assert_eq!(load_client(&dir).unwrap(), None);
        let client = SavedClient {
            client_id: "abc".into(),
            client_secret: Some("s3cret".into()),
        };
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
