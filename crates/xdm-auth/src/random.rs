//! Random values from the operating system's CSPRNG.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The operating system's random number generator failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the operating system's random number generator failed: {reason}")]
pub struct RandomError {
    reason: String,
}

/// `bytes` random bytes, base64url-encoded without padding: only unreserved characters, so the
/// result needs no escaping in a URL, a header or a form body.
pub(crate) fn random_token(bytes: usize) -> Result<String, RandomError> {
    random_token_with(bytes, getrandom::fill)
}

pub(crate) fn random_token_with(
    bytes: usize,
    fill: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>,
) -> Result<String, RandomError> {
    let mut buf = vec![0u8; bytes];
    fill(&mut buf).map_err(|e| RandomError {
        reason: e.to_string(),
    })?;
    Ok(URL_SAFE_NO_PAD.encode(&buf))
}

/// A 256-bit nonce in base64url without padding, kept on the stack: signing makes one per
/// request.
pub(crate) struct Nonce([u8; 43]);

impl Nonce {
    pub(crate) fn generate() -> Result<Self, RandomError> {
        Self::generate_with(getrandom::fill)
    }

    fn generate_with(
        fill: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>,
    ) -> Result<Self, RandomError> {
        let mut raw = [0u8; 32];
        fill(&mut raw).map_err(|e| RandomError {
            reason: e.to_string(),
        })?;
        let mut out = [0u8; 43];
        URL_SAFE_NO_PAD
            .encode_slice(raw, &mut out)
            .expect("32 bytes are 43 in unpadded base64");
        Ok(Self(out))
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("base64 is ASCII")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unreserved_and_differ() {
        let a = random_token(32).unwrap();
        let b = random_token(32).unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn nonces_are_tokens_of_32_bytes() {
        let a = Nonce::generate().unwrap();
        let b = Nonce::generate().unwrap();
        assert_ne!(a.as_str(), b.as_str());
        let fixed = Nonce::generate_with(|buf| {
            buf.fill(7);
            Ok(())
        })
        .unwrap();
        let expected = random_token_with(32, |buf| {
            buf.fill(7);
            Ok(())
        })
        .unwrap();
        assert_eq!(fixed.as_str(), expected);
        assert!(Nonce::generate_with(|_| Err(getrandom::Error::UNSUPPORTED)).is_err());
    }

    #[test]
    fn a_failing_generator_is_an_error() {
        let e = random_token_with(8, |_| Err(getrandom::Error::UNSUPPORTED)).unwrap_err();
        assert!(e.to_string().contains("random number generator failed"));
    }
}
