//! An OAuth 2.0 token that expired on the server: one refresh, then the call goes through.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use xdm_auth::oauth2::{TokenStore, UserToken};
use xdm_core::endpoints::ListEvents;
use xdm_emulator::{Emulator, ManualClock};

use crate::support::{Scheme, builder, emulator};

#[derive(Clone, Default)]
struct MemoryStore(Arc<Mutex<Vec<UserToken>>>);

impl TokenStore for MemoryStore {
    type Error = std::io::Error;

    fn load(&self) -> Result<Option<UserToken>, std::io::Error> {
        Ok(self.0.lock().unwrap().last().cloned())
    }

    fn save(&self, token: &UserToken) -> Result<(), std::io::Error> {
        self.0.lock().unwrap().push(token.clone());
        Ok(())
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
    let saved = store.0.lock().unwrap();
    assert_eq!(saved.len(), 1);
    assert_ne!(
        saved[0].access_token().expose_secret(),
        emu.credentials().oauth2.access_token
    );
}
