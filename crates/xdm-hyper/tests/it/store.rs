//! The file store (format, permissions, atomic replacement, its lock), and the client's
//! refresh under a store's lock, with every way a store can fail.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use xdm_auth::oauth2::{OAuth2Client, TokenManager, UserToken};
use xdm_client::transport::TransportError;
use xdm_client::{
    AuthorizationError, Config, Credentials, Error, RefreshLock, StoreFuture, TokenStore,
    TokenStoreError,
};
use xdm_core::Scope;
use xdm_core::endpoints::ListEvents;
use xdm_hyper::{FileStoreError, FileTokenStore, TokioClock};

fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("xdm-hyper-{name}-"))
        .tempdir()
        .unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

fn token(access: &str, refresh: &str) -> UserToken {
    UserToken::new(access, at(0))
        .with_refresh_token(refresh)
        .with_expires_at(at(7200))
}

#[tokio::test]
async fn round_trip_owner_only_and_atomic() {
    let dir = temp_dir("roundtrip");
    let store = FileTokenStore::new(dir.path().join("token.json"));
    assert_eq!(store.load().await.unwrap(), None);
    let t = token("AT", "RT").with_scopes([Scope::DmRead, Scope::Other("x.y".into())]);
    store.save(&t).await.unwrap();
    assert_eq!(store.load().await.unwrap(), Some(t.clone()));
    let minimal = UserToken::new("AT2", at(5));
    store.save_blocking(&minimal).unwrap();
    assert_eq!(store.load_blocking().unwrap(), Some(minimal));
    assert_eq!(entries(dir.path()), ["token.json", "token.json.lock"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for name in ["token.json", "token.json.lock"] {
            let mode = std::fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        assert!(!store.is_open_to_others());
        std::fs::set_permissions(store.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(store.is_open_to_others());
    }
    assert_eq!(store.path(), dir.path().join("token.json"));
}

/// A token file as this crate wrote it before the record layout moved into `xdm-auth`
/// (`TokenRecord`), with the file store's own field beside the token's.
const FILE_BEFORE_THE_SHARED_RECORD: &str = r#"{
  "version": 1,
  "access_token": "AT",
  "refresh_token": "RT",
  "expires_at_ms": 1700007200000,
  "scopes": [
    "dm.read",
    "x.y"
  ],
  "issued_at_ms": 1700000000000,
  "succeeds_refresh_sha256": "0a1b2c"
}"#;

#[tokio::test]
async fn a_token_file_written_before_the_shared_record_still_loads_and_is_written_alike() {
    let dir = temp_dir("oldformat");
    let path = dir.path().join("token.json");
    std::fs::write(&path, FILE_BEFORE_THE_SHARED_RECORD).unwrap();
    let store = FileTokenStore::new(&path);
    let expected = token("AT", "RT").with_scopes([Scope::DmRead, Scope::Other("x.y".into())]);
    assert_eq!(store.load().await.unwrap(), Some(expected.clone()));

    // Written again, the file has the same layout (without the mark of an origin, which a
    // plain save does not carry).
    store.save(&expected).await.unwrap();
    let without_origin =
        FILE_BEFORE_THE_SHARED_RECORD.replace(",\n  \"succeeds_refresh_sha256\": \"0a1b2c\"", "");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), without_origin);
}

#[tokio::test]
async fn unreadable_files_are_errors_without_content() {
    let dir = temp_dir("corrupt");
    let path = dir.path().join("token.json");
    let store = FileTokenStore::new(&path);
    let file_error = |e: TokenStoreError| {
        let text = format!("{e} {e:?}");
        assert!(!text.contains("SECRET-AT"), "{text}");
        format!(
            "{:?}",
            e.get_ref().downcast_ref::<FileStoreError>().unwrap()
        )
    };
    std::fs::write(&path, r#"{"version":1,"access_token":"SECRET-AT","#).unwrap();
    assert!(file_error(store.load().await.unwrap_err()).starts_with("Corrupt"));

    std::fs::write(
        &path,
        r#"{"version":1,"access_token":"SECRET-AT","issued_at_ms":"SECRET-AT"}"#,
    )
    .unwrap();
    assert!(file_error(store.load().await.unwrap_err()).starts_with("Corrupt"));

    std::fs::write(
        &path,
        r#"{"version":7,"access_token":"SECRET-AT","issued_at_ms":1}"#,
    )
    .unwrap();
    let e = store.load_blocking().unwrap_err();
    assert!(
        matches!(e, FileStoreError::UnsupportedVersion { found: 7, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("format version 7"));

    let as_dir = FileTokenStore::new(dir.path());
    assert!(matches!(
        as_dir.load_blocking(),
        Err(FileStoreError::Io { action: "read", .. })
    ));

    let nowhere = FileTokenStore::new(dir.path().join("missing").join("token.json"));
    let e = nowhere.save_blocking(&token("AT", "RT")).unwrap_err();
    assert!(
        matches!(e, FileStoreError::Io { action: "open", .. }),
        "{e:?}"
    );
    let e = nowhere.try_lock().await.err().unwrap();
    assert!(file_error(e).contains("\"open\""));
}

#[tokio::test]
async fn a_write_failure_leaves_no_temporary_file() {
    let dir = temp_dir("writefail");
    // The target is a non-empty directory: the rename over it fails.
    let path = dir.path().join("token.json");
    std::fs::create_dir_all(path.join("occupied")).unwrap();
    let store = FileTokenStore::new(&path);
    let e = store.save_blocking(&token("AT", "RT")).unwrap_err();
    assert!(
        matches!(
            e,
            FileStoreError::Io {
                action: "replace",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(entries(dir.path()), ["token.json", "token.json.lock"]);
}

#[tokio::test]
async fn the_lock_excludes_other_holders_until_released_or_dropped() {
    let dir = temp_dir("lock");
    let store = FileTokenStore::new(dir.path().join("token.json"));
    let held = store.try_lock().await.unwrap().expect("free");
    assert!(store.try_lock().await.unwrap().is_none());
    held.save(&token("AT", "RT")).await.unwrap();
    assert_eq!(held.load().await.unwrap(), Some(token("AT", "RT")));
    held.release().await.unwrap();
    let again = store.try_lock().await.unwrap().expect("released");
    drop(again);
    assert!(store.try_lock().await.unwrap().is_some());
}

/// A fake X: the token endpoint answers with a new pair (counting the refreshes and keeping
/// the refresh tokens spent) or with `refusal`; every other request gets an empty listing.
#[derive(Clone, Default)]
struct FakeX {
    refreshes: Arc<Mutex<Vec<String>>>,
    refusal: Option<&'static str>,
}

impl FakeX {
    fn transport(
        &self,
    ) -> impl Fn(
        http::Request<Bytes>,
    ) -> std::future::Ready<Result<http::Response<Bytes>, TransportError>>
    + Send
    + Sync
    + 'static {
        let this = self.clone();
        move |request: http::Request<Bytes>| {
            let response = if request.uri().path() == "/2/oauth2/token" {
                let body = std::str::from_utf8(request.body()).unwrap().to_owned();
                let spent = body
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("refresh_token="))
                    .unwrap()
                    .to_owned();
                let mut refreshes = this.refreshes.lock().unwrap();
                refreshes.push(spent);
                match this.refusal {
                    Some(body) => http::Response::builder()
                        .status(400)
                        .body(Bytes::from_static(body.as_bytes())),
                    None => http::Response::builder().status(200).body(Bytes::from(format!(
                        r#"{{"token_type":"bearer","expires_in":7200,"access_token":"AT-{n}","refresh_token":"RT-{n}"}}"#,
                        n = refreshes.len()
                    ))),
                }
            } else {
                http::Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(Bytes::from_static(br#"{"meta":{"result_count":0}}"#))
            };
            std::future::ready(Ok(response.unwrap()))
        }
    }

    fn spent(&self) -> Vec<String> {
        self.refreshes.lock().unwrap().clone()
    }
}

fn expired(access: &str, refresh: &str) -> UserToken {
    let now = SystemTime::now();
    UserToken::new(access, now - Duration::from_secs(7300))
        .with_refresh_token(refresh)
        .with_expires_at(now - Duration::from_secs(100))
}

fn client_with(
    x: &FakeX,
    token: UserToken,
    store: impl TokenStore + 'static,
) -> (
    xdm_client::Client<impl xdm_client::transport::Transport, TokioClock>,
    TokenManager,
) {
    let oauth = OAuth2Client::public("client-id", "http://127.0.0.1:1/cb")
        .with_api_base_url(xdm_core::BaseUrl::parse("http://127.0.0.1:9").unwrap());
    let manager = TokenManager::new(oauth, token);
    let config = Config::new(Credentials::oauth2(manager.clone()))
        .with_base_url(xdm_core::BaseUrl::parse("http://127.0.0.1:9").unwrap())
        .with_user_id("1".parse().unwrap());
    let client = xdm_client::Client::builder(x.transport(), TokioClock, config)
        .token_store(store)
        .build();
    (client, manager)
}

#[tokio::test]
async fn the_client_adopts_a_token_another_process_saved() {
    let dir = temp_dir("adopt");
    let store = FileTokenStore::new(dir.path().join("token.json"));
    let now = SystemTime::now();
    let rotated = UserToken::new("AT-other", now)
        .with_refresh_token("RT-other")
        .with_expires_at(now + Duration::from_secs(7200));
    store.save(&rotated).await.unwrap();
    let x = FakeX::default();
    let (client, manager) = client_with(&x, expired("AT0", "RT0"), store.clone());
    client.list_page(&ListEvents::new()).await.unwrap();
    assert!(x.spent().is_empty(), "{:?}", x.spent());
    assert_eq!(manager.token().access_token().expose_secret(), "AT-other");
    assert!(store.try_lock().await.unwrap().is_some());
}

#[tokio::test]
async fn the_client_refreshes_a_stale_stored_token_with_its_own_refresh_token() {
    let dir = temp_dir("adopt-stale");
    let store = FileTokenStore::new(dir.path().join("token.json"));
    // Saved by another process just now, and already expired (as a revoked token can be).
    let stale = UserToken::new("AT-other", SystemTime::now())
        .with_refresh_token("RT-other")
        .with_expires_at(SystemTime::now() - Duration::from_secs(100));
    store.save(&stale).await.unwrap();
    let x = FakeX::default();
    let (client, _) = client_with(&x, expired("AT0", "RT0"), store.clone());
    client.list_page(&ListEvents::new()).await.unwrap();
    assert_eq!(x.spent(), ["RT-other"]);
    let saved = store.load().await.unwrap().unwrap();
    assert_eq!(saved.refresh_token().unwrap().expose_secret(), "RT-1");
}

#[tokio::test]
async fn a_refused_refresh_is_reported_and_the_lock_released() {
    let dir = temp_dir("refused");
    let store = FileTokenStore::new(dir.path().join("token.json"));
    let x = FakeX {
        refusal: Some(r#"{"error":"invalid_request","error_description":"spent"}"#),
        ..FakeX::default()
    };
    let (client, _) = client_with(&x, expired("AT0", "RT0"), store.clone());
    let e = client.list_page(&ListEvents::new()).await.unwrap_err();
    assert!(
        matches!(e, Error::Authorization(AuthorizationError::Refresh(_))),
        "{e:?}"
    );
    assert!(e.to_string().contains("authorize"), "{e}");
    assert_eq!(x.spent(), ["RT0"]);
    assert!(store.try_lock().await.unwrap().is_some());
    assert_eq!(store.load().await.unwrap(), None);
}

/// A store in memory whose operations fail as told, to reach every failure of the protocol.
#[derive(Debug, Clone, Default)]
struct Flaky {
    token: Arc<Mutex<Option<UserToken>>>,
    fail_load: bool,
    fail_save: bool,
    always_held: bool,
    lock_tries: Arc<AtomicUsize>,
    released: Arc<AtomicUsize>,
}

#[derive(Debug)]
struct FlakyLock(Flaky);

fn refused(what: &str) -> TokenStoreError {
    TokenStoreError::new(std::io::Error::other(format!(
        "the store refused to {what}"
    )))
}

impl TokenStore for Flaky {
    fn load(&self) -> StoreFuture<'_, Option<UserToken>> {
        Box::pin(async move {
            if self.fail_load {
                return Err(refused("load"));
            }
            Ok(self.token.lock().unwrap().clone())
        })
    }

    fn save<'a>(&'a self, token: &'a UserToken) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if self.fail_save {
                return Err(refused("save"));
            }
            *self.token.lock().unwrap() = Some(token.clone());
            Ok(())
        })
    }

    fn try_lock(&self) -> StoreFuture<'_, Option<Box<dyn RefreshLock>>> {
        Box::pin(async move {
            self.lock_tries.fetch_add(1, Ordering::SeqCst);
            if self.always_held {
                return Ok(None);
            }
            Ok(Some(
                Box::new(FlakyLock(self.clone())) as Box<dyn RefreshLock>
            ))
        })
    }
}

impl RefreshLock for FlakyLock {
    fn load(&self) -> StoreFuture<'_, Option<UserToken>> {
        self.0.load()
    }

    fn save<'a>(&'a self, token: &'a UserToken) -> StoreFuture<'a, ()> {
        self.0.save(token)
    }

    fn release(self: Box<Self>) -> StoreFuture<'static, ()> {
        self.0.released.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Err(refused("release")) })
    }
}

/// Asserts that `e` is the token store's failure and says `words`.
fn assert_store_error(e: &Error, words: &str) {
    assert!(
        matches!(e, Error::Authorization(AuthorizationError::TokenStore(_))),
        "{e:?}"
    );
    assert!(e.to_string().contains(words), "{e}");
}

#[tokio::test]
async fn a_store_that_cannot_be_read_fails_the_call_and_leaves_the_refresh_to_the_next() {
    let x = FakeX::default();
    let store = Flaky {
        fail_load: true,
        ..Flaky::default()
    };
    let (client, _) = client_with(&x, expired("AT0", "RT0"), store.clone());
    let e = client.list_page(&ListEvents::new()).await.unwrap_err();
    assert_store_error(&e, "refused to load");
    assert!(x.spent().is_empty());
    // The ticket was abandoned, not left pending: the next call asks again.
    let _ = client.list_page(&ListEvents::new()).await.unwrap_err();
    assert_eq!(store.lock_tries.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_token_that_cannot_be_saved_is_still_used_and_a_failed_release_is_survived() {
    let x = FakeX::default();
    let store = Flaky {
        fail_save: true,
        ..Flaky::default()
    };
    let (client, manager) = client_with(&x, expired("AT0", "RT0"), store.clone());
    client.list_page(&ListEvents::new()).await.unwrap();
    assert_eq!(x.spent(), ["RT0"]);
    assert_eq!(
        manager.token().refresh_token().unwrap().expose_secret(),
        "RT-1"
    );
    assert_eq!(store.released.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_lock_held_for_a_minute_fails_the_call() {
    let x = FakeX::default();
    let store = Flaky {
        always_held: true,
        ..Flaky::default()
    };
    let (client, _) = client_with(&x, expired("AT0", "RT0"), store.clone());
    let e = client.list_page(&ListEvents::new()).await.unwrap_err();
    assert_store_error(&e, "for a minute");
    // Tried every 20 ms for a minute, then once more.
    assert_eq!(store.lock_tries.load(Ordering::SeqCst), 3001);
    assert!(x.spent().is_empty());
}
