//! Snowflake-like ids, opaque pagination tokens and random secrets.

use sha2::{Digest, Sha256};

/// X's snowflake epoch (2010-11-04T01:42:54.657Z), so ids have 19 digits today.
const TWEPOCH_MS: u64 = 1_288_834_974_657;

/// Hands out ids that increase with time and never repeat.
#[derive(Debug, Default)]
pub(crate) struct IdGen {
    last: u64,
}

impl IdGen {
    /// The next id for an object created at `ms`; strictly greater than any id before it.
    pub(crate) fn next_at(&mut self, ms: u64) -> u64 {
        let base = ms.saturating_sub(TWEPOCH_MS) << 22;
        self.last = base.max(self.last + 1);
        self.last
    }
}

/// The creation time encoded in a snowflake id.
pub(crate) fn millis_of(id: u64) -> u64 {
    (id >> 22) + TWEPOCH_MS
}

const B32HEX: &[u8; 32] = b"0123456789ABCDEFGHIJKLMNOPQRSTUV";

/// Which way a pagination token points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Older than the cursor.
    Next,
    /// Newer than the cursor.
    Previous,
}

/// Makes and checks pagination tokens: 20 base32hex characters carrying the direction, the
/// cursor id and a keyed check, then `ZZZZ` as X's tokens end.
#[derive(Debug, Clone)]
pub(crate) struct TokenCodec {
    key: [u8; 16],
}

impl TokenCodec {
    pub(crate) fn new(key: [u8; 16]) -> Self {
        Self { key }
    }

    fn check(&self, dir: u8, id: u64) -> [u8; 3] {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update([dir]);
        h.update(id.to_be_bytes());
        let d = h.finalize();
        [d[0], d[1], d[2]]
    }

    pub(crate) fn encode(&self, dir: Direction, id: u64) -> String {
        let d = match dir {
            Direction::Next => 1u8,
            Direction::Previous => 2u8,
        };
        let mut bytes = [0u8; 12];
        bytes[0] = d;
        bytes[1..9].copy_from_slice(&id.to_be_bytes());
        bytes[9..].copy_from_slice(&self.check(d, id));
        let mut acc: u128 = 0;
        for b in bytes {
            acc = (acc << 8) | u128::from(b);
        }
        // 96 bits padded to 100 so they split into 20 five-bit digits.
        acc <<= 4;
        let mut out = String::with_capacity(24);
        for i in (0..20).rev() {
            out.push(B32HEX[((acc >> (i * 5)) & 31) as usize] as char);
        }
        out.push_str("ZZZZ");
        out
    }

    pub(crate) fn decode(&self, token: &str) -> Option<(Direction, u64)> {
        let body = token.strip_suffix("ZZZZ")?;
        if body.len() != 20 {
            return None;
        }
        let mut acc: u128 = 0;
        for c in body.bytes() {
            let v = B32HEX.iter().position(|&x| x == c)? as u128;
            acc = (acc << 5) | v;
        }
        if acc & 0xF != 0 {
            return None;
        }
        acc >>= 4;
        let bytes: Vec<u8> = (0..12).rev().map(|i| (acc >> (i * 8)) as u8).collect();
        let dir = match bytes[0] {
            1 => Direction::Next,
            2 => Direction::Previous,
            _ => return None,
        };
        let id = u64::from_be_bytes(bytes[1..9].try_into().ok()?);
        (self.check(bytes[0], id) == bytes[9..12]).then_some((dir, id))
    }
}

/// A small deterministic generator (SplitMix64) so seeded worlds and credentials repeat.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A generator seeded from the operating system.
    pub(crate) fn from_os() -> Self {
        let mut b = [0u8; 8];
        // Falling back to a fixed seed only weakens nonce-like values, which are local anyway.
        let _ = getrandom::fill(&mut b);
        Self(u64::from_le_bytes(b))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// An alphanumeric string, the alphabet X's tokens and keys use.
    pub(crate) fn alnum(&mut self, len: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| A[self.below(A.len() as u64) as usize] as char)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_and_have_nineteen_digits() {
        let mut g = IdGen::default();
        let now = 1_790_000_000_000;
        let a = g.next_at(now);
        let b = g.next_at(now);
        let c = g.next_at(now - 1000);
        assert!(a < b && b < c);
        assert_eq!(a.to_string().len(), 19);
        assert_eq!(millis_of(a), now);
    }

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let c = TokenCodec::new([7; 16]);
        let t = c.encode(Direction::Next, 1_585_800_613_752_881_156);
        assert_eq!(t.len(), 24);
        assert!(t.ends_with("ZZZZ"));
        assert_eq!(
            c.decode(&t),
            Some((Direction::Next, 1_585_800_613_752_881_156))
        );
        let p = c.encode(Direction::Previous, 42);
        assert_eq!(c.decode(&p), Some((Direction::Previous, 42)));
        let mut bad = t.clone().into_bytes();
        bad[5] = if bad[5] == b'0' { b'1' } else { b'0' };
        assert_eq!(c.decode(std::str::from_utf8(&bad).unwrap()), None);
        assert_eq!(c.decode("short"), None);
        assert_eq!(c.decode("WWWWWWWWWWWWWWWWWWWWZZZZ"), None);
        assert_eq!(TokenCodec::new([8; 16]).decode(&t), None);
    }

    #[test]
    fn rng_is_deterministic() {
        assert_eq!(Rng::new(1).alnum(10), Rng::new(1).alnum(10));
        assert_ne!(Rng::new(1).alnum(10), Rng::new(2).alnum(10));
    }
}
