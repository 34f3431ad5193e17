//! A transport that knows how to make a whole client from the environment, so that the client
//! type of a transport crate has `Client::from_env()`.
//!
//! The client is generic, and an inherent constructor can only be written here; the transport
//! crate supplies what "from the environment" means for it (which timer, which options,
//! where a saved login lives) by implementing [`FromEnv`] for its transport.

use crate::Client;
use crate::transport::{Timer, Transport};

/// A transport able to build a ready [`Client`] from the process environment.
///
/// Implemented by transport crates (`xdm-hyper`'s transport does), which gives their client
/// type the constructor [`Client::from_env`].
pub trait FromEnv: Transport + Sized {
    /// The timer the ready client runs on.
    type Timer: Timer;
    /// Why the client could not be made (incomplete configuration, a transport that could not
    /// be built).
    type Error: std::error::Error + Send + Sync + 'static;

    /// A client configured from the environment (see [`crate::vars`]) over this transport.
    fn client_from_env() -> Result<Client<Self, Self::Timer>, Self::Error>;
}

impl<T: FromEnv> Client<T, T::Timer> {
    /// A client configured from the environment (see [`crate::vars`]), over the transport's
    /// defaults.
    pub fn from_env() -> Result<Self, T::Error> {
        T::client_from_env()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use bytes::Bytes;

    use super::*;
    use crate::transport::TransportError;
    use crate::{Config, ConfigError};

    struct Canned;
    impl Transport for Canned {
        async fn send(
            &self,
            _: http::Request<Bytes>,
        ) -> Result<http::Response<Bytes>, TransportError> {
            Ok(http::Response::new(Bytes::new()))
        }
    }

    struct Still;
    impl Timer for Still {
        fn now(&self) -> SystemTime {
            SystemTime::UNIX_EPOCH
        }
        async fn sleep(&self, _: Duration) {}
    }

    struct Refusing;
    impl Transport for Refusing {
        async fn send(
            &self,
            _: http::Request<Bytes>,
        ) -> Result<http::Response<Bytes>, TransportError> {
            Ok(http::Response::new(Bytes::new()))
        }
    }

    impl FromEnv for Canned {
        type Timer = Still;
        type Error = ConfigError;
        fn client_from_env() -> Result<Client<Self, Still>, ConfigError> {
            let config = Config::from_vars(|name| {
                (name == crate::vars::OAUTH2_ACCESS_TOKEN).then(|| "token".to_owned())
            })?;
            Ok(Client::new(Canned, Still, config))
        }
    }

    impl FromEnv for Refusing {
        type Timer = Still;
        type Error = ConfigError;
        fn client_from_env() -> Result<Client<Self, Still>, ConfigError> {
            Config::from_vars(|_| None).map(|config| Client::new(Refusing, Still, config))
        }
    }

    #[test]
    fn from_env_is_the_transports_constructor() {
        assert!(Client::<Canned, Still>::from_env().is_ok());
    }

    #[test]
    fn from_env_passes_the_transports_error_on() {
        let Err(err) = Client::<Refusing, Still>::from_env() else {
            panic!("a client without credentials");
        };
        assert_eq!(err, ConfigError::NoCredentials);
    }
}
