//! Jobs (an export, a watch) whose checkpoint several workers share through Redis, so that
//! one takes over when another dies (`--checkpoint-redis`, built with the `redis` feature).
//!
//! A worker claims the job's lease before it reads the checkpoint, renews the lease while it
//! runs, checks that the lease is still its own just before each write to its output, and
//! saves each checkpoint through `xdm-redis`, which refuses it once the lease is another
//! worker's. A worker that finds the job held waits and claims it when the holder lets go or
//! its lease runs out.
//!
//! What the lease cannot fence is the output itself: a file on shared storage does not know
//! about leases. The check just before each write narrows the window to a worker that stalls
//! longer than the lease between that check and the write; the successor then cuts the
//! output back to the checkpoint it resumes from, but cannot undo bytes written over its own
//! after that. A lease much longer than a write (the default, 30 s) keeps this unlikely.

use std::time::Duration;

use crate::cli::{RedisUrl, SharedJob};
use crate::exit::{Failure, Kind};

/// The variable that names the Redis when `--checkpoint-redis` is not given.
pub const REDIS_URL_VAR: &str = "XDM_REDIS_URL";

/// What the options ask for: a job in Redis, checked before anything is connected.
#[derive(Debug)]
pub struct Spec {
    url: RedisUrl,
    name: Option<String>,
    lease: Duration,
}

impl Spec {
    /// The job the options (and `XDM_REDIS_URL`) describe; `None` when no Redis is named, so
    /// the checkpoint stays in a local file.
    pub fn from_args(args: &SharedJob) -> Result<Option<Spec>, Failure> {
        let url = args.checkpoint_redis.clone().or_else(|| {
            std::env::var(REDIS_URL_VAR)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(RedisUrl)
        });
        let Some(url) = url else {
            if args.job.is_some() {
                return Err(Failure::new(
                    Kind::Input,
                    format!(
                        "--job names a job in Redis: give --checkpoint-redis URL (or set \
                         {REDIS_URL_VAR}) as well"
                    ),
                ));
            }
            return Ok(None);
        };
        if !cfg!(feature = "redis") {
            return Err(Failure::new(
                Kind::Input,
                format!(
                    "this xdm was built without the `redis` feature: build it with `cargo \
                     install xdm-cli --features redis` to keep checkpoints in Redis \
                     (--checkpoint-redis or {REDIS_URL_VAR})"
                ),
            ));
        }
        if !(args.lease.is_finite() && (0.1..=3600.0).contains(&args.lease)) {
            return Err(xdm_core::InvalidInput::new(
                "lease",
                format!("{} is out of range", args.lease),
                "at least 0.1 and at most 3600 seconds",
            )
            .into());
        }
        if let Some(name) = &args.job {
            check_name(name)?;
        }
        Ok(Some(Spec {
            url,
            name: args.job.clone(),
            lease: Duration::from_secs_f64(args.lease),
        }))
    }
}

/// The default name of a job: the command and what it lists (`export-all`,
/// `watch-with-2244994945`), with the `:` a key cannot hold made a `-`.
pub fn default_name(command: &str, listing_key: &str) -> String {
    format!("{command}-{}", listing_key.replace(':', "-"))
}

/// Claims the job in Redis when there is one (`shared`), named `--job` or after `command` and
/// what `listing` lists; `what` says what the job does, for the message while another worker
/// holds it. Without Redis there is no job to claim.
pub async fn claim_shared(
    shared: Option<Connected>,
    session: &crate::connect::Session,
    command: &str,
    listing: &crate::listing::Listing,
    what: &str,
) -> Result<Option<Job>, Failure> {
    match shared {
        Some(redis) => {
            let name = default_name(command, &listing.key());
            redis.claim(session, name, what).await.map(Some)
        }
        None => Ok(None),
    }
}

#[cfg(feature = "redis")]
fn check_name(name: &str) -> Result<(), Failure> {
    xdm_redis::AccountId::new(name)
        .map(drop)
        .map_err(|e| Failure::new(Kind::Input, format!("--job {name:?} is not usable: {e}")))
}

#[cfg(not(feature = "redis"))]
fn check_name(_: &str) -> Result<(), Failure> {
    Ok(())
}

#[cfg(feature = "redis")]
mod shared;
#[cfg(feature = "redis")]
pub use shared::{Connected, Job};

/// Without the `redis` feature no job can be connected: [`Spec::from_args`] refuses first.
#[cfg(not(feature = "redis"))]
pub enum Connected {}

/// Without the `redis` feature there is no job.
#[cfg(not(feature = "redis"))]
pub enum Job {}

#[cfg(not(feature = "redis"))]
impl Spec {
    /// Never called: a `Spec` is only made with the feature.
    pub async fn connect(&self) -> Result<Connected, Failure> {
        let _ = (&self.url, &self.name, self.lease);
        Err(Failure::new(
            Kind::Input,
            "built without the `redis` feature",
        ))
    }
}

#[cfg(not(feature = "redis"))]
impl Connected {
    /// Uninhabited.
    pub async fn claim(
        self,
        _: &crate::connect::Session,
        _: String,
        _: &str,
    ) -> Result<Job, Failure> {
        match self {}
    }
}

#[cfg(not(feature = "redis"))]
impl Job {
    /// Uninhabited.
    pub fn describe(&self) -> String {
        match *self {}
    }
    /// Uninhabited.
    pub async fn load(&self) -> Result<Option<Vec<u8>>, Failure> {
        match *self {}
    }
    /// Uninhabited.
    pub async fn save(&self, _: &[u8]) -> Result<(), Failure> {
        match *self {}
    }
    /// Uninhabited.
    pub async fn check(&self) -> Result<(), Failure> {
        match *self {}
    }
    /// Uninhabited.
    pub async fn lost(&self) -> Failure {
        match *self {}
    }
    /// Uninhabited.
    pub async fn release(self) {
        match self {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_name_holds_no_colon() {
        assert_eq!(default_name("export", "all"), "export-all");
        assert_eq!(
            default_name("watch", "conversation:1-2"),
            "watch-conversation-1-2"
        );
    }

    #[test]
    fn a_redis_url_is_not_shown_by_debug() {
        let url = RedisUrl("redis://user:hunter2@host/".into());
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}
