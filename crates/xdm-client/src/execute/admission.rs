//! Admission: wait until the rate limiter lets a request of the group go.

use xdm_core::EndpointGroup;
use xdm_core::rate_limit::Admit;

use super::changed;
use super::retry::WaitBudget;
use crate::client::Client;
use crate::error::{Error, until};
use crate::transport::{Timer, Transport};

impl<T: Transport, C: Timer> Client<T, C> {
    /// Waits until the limiter admits a request for `group`, within the policy's budget.
    ///
    /// While requests of the group are in flight, a refusal is provisional: their answers
    /// carry the server's own count, which may be far above the documented limits the limiter
    /// starts from (or the window may have rolled over). So the call waits for the next settled
    /// reservation and asks again, without spending its wait budget; only a refusal with
    /// nothing in flight to correct it is waited out or, past the budget, returned.
    pub(super) async fn admit(
        &self,
        group: EndpointGroup,
        budget: &mut WaitBudget,
    ) -> Result<(), Error> {
        let key = &self.inner.credential_key;
        loop {
            // Read before the limiter, so a settlement in between is not missed.
            let seen = self.inner.limits_changed.generation();
            let now = self.inner.timer.now();
            let (admit, in_flight) = {
                let mut limiter = self.inner.limiter();
                let admit = limiter.poll_admit(key, group, now);
                (admit, limiter.in_flight(key, group))
            };
            let reset = match admit {
                Admit::Send => return Ok(()),
                Admit::WaitUntil(reset) => reset,
                // A future answer this client does not know: sending is what X decides on.
                _ => return Ok(()),
            };
            let wait = until(reset, now);
            if in_flight > 0 {
                // Bounded by the reservation timeout too: a reservation whose caller vanished
                // is dropped by the limiter then, and nothing else would wake this call.
                let guard = self
                    .inner
                    .limiter()
                    .config()
                    .reservation_timeout
                    .map_or(wait, |t| wait.min(t));
                tracing::debug!(in_flight, "limit reached; waiting for answers in flight");
                changed::either(
                    self.inner.limits_changed.wait_past(seen),
                    self.inner.timer.sleep(guard),
                )
                .await;
                continue;
            }
            if !budget.take(wait) {
                return Err(Error::RateLimited { group, reset });
            }
            tracing::info!(
                wait_ms = wait.as_millis() as u64,
                "rate limit exhausted; waiting for the reset"
            );
            self.inner.timer.sleep(wait).await;
        }
    }
}
