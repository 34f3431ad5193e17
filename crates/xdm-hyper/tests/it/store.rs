//! The file store: format, permissions, atomic replacement, and refreshes across processes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use xdm_auth::oauth2::{
    FileTokenStore, LockedRefresh, LockedRefreshError, StoreError, TokenAction, TokenManager,
    TokenStore, UserToken,
};
use xdm_core::Scope;

use crate::support::{at, client, refresh_token_sent, token, token_response};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "xdm-auth-{name}-{}-{}",
        std::process::id(),
        at(0).elapsed().map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Held by tests that check a lock is free again after its holder let go, and taken
/// exclusively while child processes are started: a child between fork and exec holds copies
/// of this process's file descriptors, and with them any file lock they carry, so a lock just
/// released would still look held.
static FORKING: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn no_fork_meanwhile() -> std::sync::RwLockReadGuard<'static, ()> {
    FORKING
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn round_trip_owner_only_and_atomic() {
    let dir = temp_dir("roundtrip");
    let store = FileTokenStore::new(dir.join("token.json"));
    assert_eq!(store.load().unwrap(), None);
    let t = token("AT", "RT").with_scopes([Scope::DmRead, Scope::Other("x.y".into())]);
    store.save(&t).unwrap();
    assert_eq!(store.load().unwrap(), Some(t.clone()));
    let minimal = UserToken::new("AT2", at(5));
    store.save(&minimal).unwrap();
    assert_eq!(store.load().unwrap(), Some(minimal));
    assert_eq!(entries(&dir), ["token.json", "token.json.lock"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for name in ["token.json", "token.json.lock"] {
            let mode = std::fs::metadata(dir.join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }
    assert_eq!(store.path(), dir.join("token.json"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unreadable_files_are_errors_without_content() {
    let dir = temp_dir("corrupt");
    let path = dir.join("token.json");
    let store = FileTokenStore::new(&path);
    std::fs::write(&path, r#"{"version":1,"access_token":"SECRET-AT","#).unwrap();
    let e = store.load().unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
    assert!(!format!("{e} {e:?}").contains("SECRET-AT"));

    std::fs::write(
        &path,
        r#"{"version":1,"access_token":"SECRET-AT","issued_at_ms":"SECRET-AT"}"#,
    )
    .unwrap();
    let e = store.load().unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
    assert!(!format!("{e} {e:?}").contains("SECRET-AT"));

    std::fs::write(
        &path,
        r#"{"version":7,"access_token":"SECRET-AT","issued_at_ms":1}"#,
    )
    .unwrap();
    let e = store.load().unwrap_err();
    assert!(
        matches!(e, StoreError::UnsupportedVersion { found: 7, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("format version 7"));

    let as_dir = FileTokenStore::new(&dir);
    assert!(matches!(
        as_dir.load(),
        Err(StoreError::Io { action: "read", .. })
    ));

    let nowhere = FileTokenStore::new(dir.join("missing").join("token.json"));
    let e = nowhere.save(&token("AT", "RT")).unwrap_err();
    assert!(matches!(e, StoreError::Io { action: "open", .. }), "{e:?}");
    assert!(matches!(
        nowhere.try_lock(),
        Err(StoreError::Io { action: "open", .. })
    ));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_write_failure_leaves_no_temporary_file() {
    let dir = temp_dir("writefail");
    // The target is a non-empty directory: the rename over it fails.
    let path = dir.join("token.json");
    std::fs::create_dir_all(path.join("occupied")).unwrap();
    let store = FileTokenStore::new(&path);
    let e = store.save(&token("AT", "RT")).unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::Io {
                action: "replace",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(entries(&dir), ["token.json", "token.json.lock"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_lock_excludes_other_holders() {
    let _no_fork = no_fork_meanwhile();
    let dir = temp_dir("lock");
    let store = FileTokenStore::new(dir.join("token.json"));
    let held = store.lock().unwrap();
    assert!(store.try_lock().unwrap().is_none());
    drop(held);
    assert!(store.try_lock().unwrap().is_some());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_newer_stored_token_is_taken_instead_of_refreshing() {
    let dir = temp_dir("adopt");
    let store = FileTokenStore::new(dir.join("token.json"));
    store.save(&token("AT1", "RT1")).unwrap();
    let m = TokenManager::new(client(), store.load().unwrap().unwrap());
    // Another process rotated the token meanwhile.
    let rotated = UserToken::new("AT2", at(7000))
        .with_refresh_token("RT2")
        .with_expires_at(at(14200));
    store.save(&rotated).unwrap();

    let TokenAction::Refresh(ticket) = m.poll_token(at(7200)) else {
        panic!()
    };
    let TokenAction::Wait(wait) = m.poll_token(at(7200)) else {
        panic!()
    };
    let lock = store.lock().unwrap();
    let LockedRefresh::Ready(bearer) = lock.begin_refresh(ticket, at(7200)).unwrap() else {
        panic!("the stored token is fresh")
    };
    assert_eq!(bearer.access_token().expose_secret(), "AT2");
    assert!(matches!(
        wait.wait_blocking(),
        xdm_auth::oauth2::RefreshOutcome::Refreshed(b) if b == bearer
    ));
    drop(lock);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_stale_stored_token_is_refreshed_with_its_own_refresh_token() {
    let dir = temp_dir("adopt-stale");
    let store = FileTokenStore::new(dir.join("token.json"));
    let m = TokenManager::new(client(), token("AT1", "RT1"));
    store
        .save(
            &UserToken::new("AT2", at(10))
                .with_refresh_token("RT2")
                .with_expires_at(at(7210)),
        )
        .unwrap();

    let TokenAction::Refresh(ticket) = m.poll_token(at(7200)) else {
        panic!()
    };
    let lock = store.lock().unwrap();
    let LockedRefresh::Send(ticket) = lock.begin_refresh(ticket, at(7200)).unwrap() else {
        panic!("the stored token expires too soon")
    };
    assert_eq!(refresh_token_sent(&ticket.request()), "RT2");
    let bearer = lock
        .finish_refresh(ticket, &token_response("AT3", "RT3", 7200), at(7200))
        .unwrap();
    assert_eq!(bearer.access_token().expose_secret(), "AT3");
    let saved = store.load().unwrap().unwrap();
    assert_eq!(saved.refresh_token().unwrap().expose_secret(), "RT3");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn refresh_failures_under_the_lock() {
    let _no_fork = no_fork_meanwhile();
    let dir = temp_dir("locked-fail");
    let store = FileTokenStore::new(dir.join("token.json"));
    store.save(&token("AT1", "RT1")).unwrap();
    let m = TokenManager::new(client(), token("AT1", "RT1"));

    let TokenAction::Refresh(ticket) = m.poll_token(at(7200)) else {
        panic!()
    };
    let lock = store.lock().unwrap();
    let LockedRefresh::Send(ticket) = lock.begin_refresh(ticket, at(7200)).unwrap() else {
        panic!()
    };
    let e = lock
        .finish_refresh(
            ticket,
            &crate::support::response(400, r#"{"error":"invalid_grant"}"#),
            at(7200),
        )
        .unwrap_err();
    assert!(
        matches!(e, LockedRefreshError::Refresh(ref r) if r.is_invalid_grant()),
        "{e:?}"
    );
    // The lock went with the refresh.
    assert!(store.try_lock().unwrap().is_some());

    // A refresh that succeeds but cannot be saved still leaves the manager with the new token.
    let m = TokenManager::new(client(), token("AT1", "RT1"));
    let TokenAction::Refresh(ticket) = m.poll_token(at(7200)) else {
        panic!()
    };
    let lock = store.lock().unwrap();
    let LockedRefresh::Send(ticket) = lock.begin_refresh(ticket, at(7200)).unwrap() else {
        panic!()
    };
    std::fs::remove_dir_all(&dir).unwrap();
    let e = lock
        .finish_refresh(ticket, &token_response("AT2", "RT2", 7200), at(7200))
        .unwrap_err();
    assert!(
        matches!(e, LockedRefreshError::Save(StoreError::Io { .. })),
        "{e:?}"
    );
    assert_eq!(m.token().refresh_token().unwrap().expose_secret(), "RT2");

    // A store that cannot be read abandons the ticket: the next caller gets to try.
    let TokenAction::Refresh(ticket) = m.poll_token(at(20000)) else {
        panic!()
    };
    let dir = temp_dir("locked-fail-read");
    std::fs::create_dir(dir.join("token.json")).unwrap();
    let unreadable = FileTokenStore::new(dir.join("token.json"));
    let lock = unreadable.lock().unwrap();
    let e = lock.begin_refresh(ticket, at(20000)).unwrap_err();
    assert!(matches!(e, StoreError::Io { action: "read", .. }), "{e:?}");
    assert!(matches!(m.poll_token(at(20000)), TokenAction::Refresh(_)));
    drop(lock);
    std::fs::remove_dir_all(dir).unwrap();
}

const ROLE: &str = "XDM_AUTH_STORE_PROBE_DIR";
const PROCESSES: usize = 3;

/// Several OS processes share one token file, all find the token expired at once, and
/// exactly one refresh request is sent among them.
#[test]
fn processes_sharing_a_file_refresh_once() {
    let dir = temp_dir("processes");
    FileTokenStore::new(dir.join("token.json"))
        .save(&token("AT1", "RT1"))
        .unwrap();
    let exe = std::env::current_exe().unwrap();
    // `spawn` returns once the child has exec'd, which closes the copied descriptors.
    let forking = FORKING
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let children: Vec<_> = (0..PROCESSES)
        .map(|i| {
            Command::new(&exe)
                .args([
                    "store::probe_process",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(ROLE, &dir)
                .stdout(std::process::Stdio::null())
                .env("XDM_AUTH_STORE_PROBE_ID", i.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    drop(forking);
    // Start them together, once all are up.
    let deadline = Instant::now() + Duration::from_secs(60);
    while (0..PROCESSES).any(|i| !dir.join(format!("ready-{i}")).exists()) {
        assert!(
            Instant::now() < deadline,
            "the probe processes did not start"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::write(dir.join("go"), b"").unwrap();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }

    let sent = std::fs::read_to_string(dir.join("server.log")).unwrap();
    assert_eq!(
        sent.lines().collect::<Vec<_>>(),
        ["RT1"],
        "refresh requests sent: {sent:?}"
    );
    let results: Vec<String> = (0..PROCESSES)
        .map(|i| std::fs::read_to_string(dir.join(format!("result-{i}"))).unwrap())
        .collect();
    let refreshed = results
        .iter()
        .filter(|r| r.starts_with("refreshed"))
        .count();
    let adopted = results.iter().filter(|r| r.starts_with("adopted")).count();
    assert_eq!((refreshed, adopted), (1, PROCESSES - 1), "{results:?}");
    assert!(
        results.iter().all(|r| r.ends_with(" AT-new")),
        "{results:?}"
    );
    assert!(
        results.iter().any(|r| r.contains(" waited ")),
        "no process found the lock taken: {results:?}"
    );
    let stored = FileTokenStore::new(dir.join("token.json"))
        .load()
        .unwrap()
        .unwrap();
    assert_eq!(stored.refresh_token().unwrap().expose_secret(), "RT1-next");
    std::fs::remove_dir_all(dir).unwrap();
}

/// The second process of `processes_sharing_a_file_refresh_once`; does nothing when run as
/// an ordinary test.
#[test]
fn probe_process() {
    let Some(dir) = std::env::var_os(ROLE).map(PathBuf::from) else {
        return;
    };
    let id = std::env::var("XDM_AUTH_STORE_PROBE_ID").unwrap();
    let store = FileTokenStore::new(dir.join("token.json"));
    let manager = TokenManager::new(client(), store.load().unwrap().unwrap());
    std::fs::write(dir.join(format!("ready-{id}")), b"").unwrap();
    while !dir.join("go").exists() {
        std::thread::sleep(Duration::from_millis(2));
    }

    let TokenAction::Refresh(ticket) = manager.poll_token(at(7200)) else {
        panic!("each process holds an expired token")
    };
    let (lock, contended) = match store.try_lock().unwrap() {
        Some(lock) => (lock, "first"),
        None => (store.lock().unwrap(), "waited"),
    };
    let (how, bearer) = match lock.begin_refresh(ticket, at(7200)).unwrap() {
        LockedRefresh::Ready(bearer) => {
            drop(lock);
            ("adopted", bearer)
        }
        LockedRefresh::Send(ticket) => {
            let request = ticket.request();
            // The fake server: records what it was asked to spend, answers slowly.
            let spent = refresh_token_sent(&request);
            let mut log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("server.log"))
                .unwrap();
            std::io::Write::write_all(&mut log, format!("{spent}\n").as_bytes()).unwrap();
            std::thread::sleep(Duration::from_millis(400));
            let response = token_response("AT-new", &format!("{spent}-next"), 7200);
            (
                "refreshed",
                lock.finish_refresh(ticket, &response, at(7200)).unwrap(),
            )
        }
        other => {
            drop(lock);
            panic!("{other:?}")
        }
    };
    std::fs::write(
        dir.join(format!("result-{id}")),
        format!(
            "{how} {contended} {}",
            bearer.access_token().expose_secret()
        ),
    )
    .unwrap();
}

/// Runs `f` on its own thread and fails the test, rather than hanging it, if `f` does not
/// return within a few seconds.
fn within_seconds<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{what} did not finish: it waits on itself"))
}

#[test]
fn a_rotation_hook_may_save_to_the_same_store() {
    let _no_fork = no_fork_meanwhile();
    let dir = temp_dir("hook-saves");
    let store = FileTokenStore::new(dir.join("token.json"));
    store.save(&token("AT1", "RT1")).unwrap();
    let m = TokenManager::new(client(), token("AT1", "RT1"));
    let hook_store = store.clone();
    let saved_by_hook = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&saved_by_hook);
    m.on_rotate(move |t| {
        hook_store.save(t).unwrap();
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });

    let (s, m2) = (store.clone(), m.clone());
    let bearer = within_seconds("a refresh whose hook saves to the store", move || {
        let TokenAction::Refresh(ticket) = m2.poll_token(at(7200)) else {
            panic!()
        };
        let lock = s.lock().unwrap();
        let LockedRefresh::Send(ticket) = lock.begin_refresh(ticket, at(7200)).unwrap() else {
            panic!()
        };
        lock.finish_refresh(ticket, &token_response("AT2", "RT2", 7200), at(7200))
            .unwrap()
    });
    assert_eq!(bearer.access_token().expose_secret(), "AT2");
    assert!(saved_by_hook.load(std::sync::atomic::Ordering::SeqCst));
    let saved = store.load().unwrap().unwrap();
    assert_eq!(saved.refresh_token().unwrap().expose_secret(), "RT2");
    // The lock is free again.
    assert!(store.try_lock().unwrap().is_some());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_token_is_saved_before_the_hooks_run_and_the_lock_is_free_for_them() {
    let _no_fork = no_fork_meanwhile();
    let dir = temp_dir("hook-order");
    let store = FileTokenStore::new(dir.join("token.json"));
    store.save(&token("AT1", "RT1")).unwrap();
    let m = TokenManager::new(client(), token("AT1", "RT1"));
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let (sink, hook_store, hook_manager) = (std::sync::Arc::clone(&seen), store.clone(), m.clone());
    m.on_rotate(move |_| {
        let on_disk = hook_store.load().unwrap().unwrap();
        let free = hook_store.try_lock().unwrap().is_some();
        let in_memory = hook_manager.token();
        *sink.lock().unwrap() = Some((
            on_disk.refresh_token().unwrap().expose_secret().to_owned(),
            free,
            in_memory
                .refresh_token()
                .unwrap()
                .expose_secret()
                .to_owned(),
        ));
    });
    let TokenAction::Refresh(ticket) = m.poll_token(at(7200)) else {
        panic!()
    };
    let lock = store.lock().unwrap();
    let LockedRefresh::Send(ticket) = lock.begin_refresh(ticket, at(7200)).unwrap() else {
        panic!()
    };
    lock.finish_refresh(ticket, &token_response("AT2", "RT2", 7200), at(7200))
        .unwrap();
    assert_eq!(
        seen.lock().unwrap().take(),
        Some(("RT2".to_owned(), true, "RT2".to_owned()))
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_endless_margin_refreshes_an_adopted_token_without_panicking() {
    let dir = temp_dir("adopt-endless-margin");
    let store = FileTokenStore::new(dir.join("token.json"));
    let m = TokenManager::new(client(), token("AT1", "RT1")).with_margin(Duration::MAX);
    store
        .save(
            &UserToken::new("AT2", at(10))
                .with_refresh_token("RT2")
                .with_expires_at(at(1_000_000)),
        )
        .unwrap();
    let TokenAction::Refresh(ticket) = m.poll_token(at(0)) else {
        panic!()
    };
    let lock = store.lock().unwrap();
    let LockedRefresh::Send(ticket) = lock.begin_refresh(ticket, at(0)).unwrap() else {
        panic!("under an endless margin every expiring token is due")
    };
    assert_eq!(refresh_token_sent(&ticket.request()), "RT2");
    drop((lock, ticket));
    std::fs::remove_dir_all(dir).unwrap();
}
