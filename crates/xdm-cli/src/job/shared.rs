//! The job's lease and checkpoint in Redis, through `xdm-redis`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use xdm_redis::{AccountId, CheckpointLease, ConnectError, Redis, RedisCheckpoints, StoreError};

use super::Spec;
use crate::connect::Session;
use crate::exit::{Failure, Kind};

/// A Redis reached, the job not claimed yet.
pub struct Connected {
    redis: Redis,
    name: Option<String>,
    lease: Duration,
}

impl Spec {
    /// Checks the URL and reaches the server, before any request to X: a malformed URL is
    /// bad input (exit 2), a Redis that does not answer a network failure (exit 6).
    pub async fn connect(&self) -> Result<Connected, Failure> {
        let redis = Redis::connect(&self.url.0).await.map_err(|e| match e {
            e @ (ConnectError::BadUrl { .. } | ConnectError::BadPrefix(_)) => {
                Failure::new(Kind::Input, format!("--checkpoint-redis: {e}"))
            }
            e => Failure::new(
                Kind::Network,
                format!("{e}; the job's checkpoint cannot be shared without it"),
            ),
        })?;
        Ok(Connected {
            redis,
            name: self.name.clone(),
            lease: self.lease,
        })
    }
}

impl Connected {
    /// Claims the job of the account `session` acts for, named `--job` or `default_name`;
    /// while another worker holds it, says so once and waits for it (`what` says what the
    /// job does, for that message).
    pub async fn claim(
        self,
        session: &Session,
        default_name: String,
        what: &str,
    ) -> Result<Job, Failure> {
        let user = session.api.authenticated_user_id().await?;
        let account = AccountId::new(user.as_str()).map_err(|e| {
            Failure::new(
                Kind::Local,
                format!("the user id {user} cannot name a job: {e}"),
            )
        })?;
        let name = self.name.unwrap_or(default_name);
        let checkpoints = RedisCheckpoints::new(&self.redis, account, &name)
            .map_err(|e| Failure::new(Kind::Input, format!("--job {name:?}: {e}")))?;
        let describe = format!(
            "job `{name}` of account {user} in Redis at {}",
            self.redis.address()
        );
        // Often enough that a successor starts soon after the lease ends, rarely enough not
        // to load Redis with standbys.
        let every = (self.lease / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        let mut said = false;
        let lease = loop {
            match checkpoints.claim(self.lease).await {
                Ok(Some(lease)) => break lease,
                Ok(None) => {
                    if !said {
                        eprintln!(
                            "{describe} is held by another worker; waiting to take it over \
                             when it lets go or its lease ends ({what})"
                        );
                        said = true;
                    }
                    tokio::time::sleep(every).await;
                }
                Err(e) => return Err(store_failure(&describe, e)),
            }
        };
        if said {
            eprintln!("took over {describe}");
        }
        let lease = Arc::new(lease);
        let (lost_tx, lost_rx) = watch::channel(None);
        let renewer = tokio::spawn(renew(
            checkpoints.clone(),
            lease.clone(),
            self.lease,
            describe.clone(),
            lost_tx,
        ));
        Ok(Job {
            checkpoints,
            lease,
            describe,
            lost: lost_rx,
            renewer,
        })
    }
}

/// Renews the lease a third of its lifetime before it would end, until it is lost; then says
/// why on `lost`. A renewal that fails because Redis does is tried again: the lease may
/// still be there when Redis answers.
async fn renew(
    checkpoints: RedisCheckpoints,
    lease: Arc<CheckpointLease>,
    ttl: Duration,
    describe: String,
    lost: watch::Sender<Option<String>>,
) {
    let mut warned = false;
    loop {
        tokio::time::sleep(ttl / 3).await;
        match checkpoints.renew(&lease).await {
            Ok(()) => warned = false,
            Err(e @ StoreError::LockLost { .. }) => {
                let _ = lost.send(Some(taken_over(&describe, &e)));
                return;
            }
            Err(e) => {
                if !warned {
                    eprintln!("warning: could not renew the lease of the {describe}: {e}");
                    warned = true;
                }
            }
        }
    }
}

/// The message of a worker whose lease another took over.
fn taken_over(describe: &str, e: &StoreError) -> String {
    format!(
        "this worker no longer holds the {describe}: another worker took it over ({e}); \
         stopping without writing more"
    )
}

fn store_failure(describe: &str, e: StoreError) -> Failure {
    match e {
        e @ StoreError::LockLost { .. } => Failure::new(Kind::Local, taken_over(describe, &e)),
        e @ StoreError::Redis { .. } => Failure::new(
            Kind::Network,
            format!(
                "{e}; the {describe} stops here, its checkpoint kept for the next worker (or \
                 this command again)"
            ),
        ),
        e => Failure::new(Kind::Local, format!("{describe}: {e}")),
    }
}

/// A job this worker holds the lease of; release it when done.
pub struct Job {
    checkpoints: RedisCheckpoints,
    lease: Arc<CheckpointLease>,
    describe: String,
    lost: watch::Receiver<Option<String>>,
    renewer: tokio::task::JoinHandle<()>,
}

impl Job {
    /// The job, its account and its Redis, for messages.
    pub fn describe(&self) -> String {
        self.describe.clone()
    }

    /// The last checkpoint any worker saved.
    pub async fn load(&self) -> Result<Option<Vec<u8>>, Failure> {
        self.checkpoints
            .load()
            .await
            .map(|cp| cp.map(|cp| cp.data))
            .map_err(|e| store_failure(&self.describe, e))
    }

    /// Saves a checkpoint, refused once another worker holds the lease.
    pub async fn save(&self, bytes: &[u8]) -> Result<(), Failure> {
        self.checkpoints
            .save(&self.lease, bytes)
            .await
            .map_err(|e| store_failure(&self.describe, e))
    }

    /// Checks that the lease is still this worker's (renewing it), just before a write.
    pub async fn check(&self) -> Result<(), Failure> {
        if let Some(why) = self.lost.borrow().clone() {
            return Err(Failure::new(Kind::Local, why));
        }
        self.checkpoints
            .renew(&self.lease)
            .await
            .map_err(|e| store_failure(&self.describe, e))
    }

    /// Resolves when the lease was found lost, with the failure to stop with.
    pub async fn lost(&self) -> Failure {
        let mut lost = self.lost.clone();
        match lost.wait_for(Option::is_some).await {
            Ok(why) => Failure::new(Kind::Local, why.clone().unwrap_or_default()),
            // The renewer never ends without saying why; should it, the job runs on, checked
            // before each write.
            Err(_) => std::future::pending().await,
        }
    }

    /// Lets the job go, so that a waiting worker takes it over at once.
    pub async fn release(self) {
        self.renewer.abort();
        let _ = self.renewer.await;
        if let Ok(lease) = Arc::try_unwrap(self.lease) {
            // Failing to release only delays a successor until the lease ends.
            let _ = self.checkpoints.release(lease).await;
        }
    }
}
