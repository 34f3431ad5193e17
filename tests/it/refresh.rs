//! An OAuth 2.0 token that expired on the server: one refresh, then the call goes through.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use xdm_auth::oauth2::UserToken;
use xdm_client::{RefreshLock, StoreFuture, TokenStore};
use xdm_core::endpoints::ListEvents;
use xdm_emulator::{Emulator, ManualClock};

use crate::support::{Scheme, builder, emulator};

/// A store in memory, as a networked one would be shaped: every token saved, and a lock flag.
#[derive(Debug, Clone, Default)]
struct MemoryStore {
    saved: Arc<Mutex<Vec<UserToken>>>,
    locked: Arc<Mutex<bool>>,
}

#[derive(Debug)]
struct MemoryLock(MemoryStore);

impl MemoryStore {
    fn last(&self) -> Option<UserToken> {
        self.saved.lock().unwrap().last().cloned()
    }
}

impl TokenStore for MemoryStore {
    fn load(&self) -> StoreFuture<'_, Option<UserToken>> {
        Box::pin(async move { Ok(self.last()) })
    }

    fn save<'a>(&'a self, token: &'a UserToken) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.saved.lock().unwrap().push(token.clone());
            Ok(())
        })
    }

    fn try_lock(&self) -> StoreFuture<'_, Option<Box<dyn RefreshLock>>> {
        Box::pin(async move {
            let mut locked = self.locked.lock().unwrap();
            if *locked {
                return Ok(None);
            }
            *locked = true;
            Ok(Some(
                Box::new(MemoryLock(self.clone())) as Box<dyn RefreshLock>
            ))
        })
    }
}

impl RefreshLock for MemoryLock {
    fn load(&self) -> StoreFuture<'_, Option<UserToken>> {
        self.0.load()
    }

    fn save<'a>(&'a self, token: &'a UserToken) -> StoreFuture<'a, ()> {
        self.0.save(token)
    }

    fn release(self: Box<Self>) -> StoreFuture<'static, ()> {
        Box::pin(async move {
            *self.0.locked.lock().unwrap() = false;
            Ok(())
        })
    }
}

#[tokio::test]
async fn a_401_refreshes_once_across_tasks_and_saves_the_rotated_token() {
    let clock = ManualClock::starting_now();
    let emu = emulator(Emulator::builder().seed_events(5).clock(clock.clone())).await;
    let store = MemoryStore::default();
    let api = builder(&emu, Scheme::OAuth2)
        .token_store(store.clone())
        .build()
        .unwrap();
    api.list_page(&ListEvents::new()).await.unwrap();
    // The access token's two hours pass on the server.
    clock.advance(Duration::from_secs(3 * 3600));
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move { api.list_page(&ListEvents::new()).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let requests = emu.handle().requests();
    let refreshes = requests
        .iter()
        .filter(|r| r.path == "/2/oauth2/token")
        .count();
    assert_eq!(refreshes, 1, "{requests:?}");
    let saved = store.saved.lock().unwrap();
    assert!(!*store.locked.lock().unwrap());
    assert_eq!(saved.len(), 1);
    assert_ne!(
        saved[0].access_token().expose_secret(),
        emu.credentials().oauth2.access_token
    );
}
