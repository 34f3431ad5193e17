//! A small pseudo-random generator for backoff jitter and multipart boundaries.
//!
//! Jitter only has to differ between processes and between calls, not resist prediction, so a
//! xorshift generator seeded once from the operating system is enough.

use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug)]
pub(crate) struct Jitter {
    state: u64,
}

impl Jitter {
    pub(crate) fn from_os() -> Self {
        let mut seed = [0u8; 8];
        let seed = match getrandom::fill(&mut seed) {
            Ok(()) => u64::from_le_bytes(seed),
            // Without OS randomness, spread clients by start time; jitter is not a secret.
            Err(_) => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0x9E37_79B9_7F4A_7C15, |d| d.as_nanos() as u64),
        };
        Jitter::seeded(seed)
    }

    pub(crate) fn seeded(seed: u64) -> Self {
        // Zero is the one state xorshift never leaves.
        Jitter {
            state: if seed == 0 {
                0x9E37_79B9_7F4A_7C15
            } else {
                seed
            },
        }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `[0, 1)`.
    pub(crate) fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_stay_in_range_and_vary() {
        let mut j = Jitter::seeded(0);
        let values: Vec<f64> = (0..1000).map(|_| j.next_unit()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        let low = values.iter().filter(|v| **v < 0.5).count();
        assert!((300..700).contains(&low), "{low}");
    }

    #[test]
    fn os_seeds_differ() {
        assert_ne!(Jitter::from_os().next_u64(), Jitter::from_os().next_u64());
    }
}
