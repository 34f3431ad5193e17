//! The facade as a first program uses it: one crate, its prelude, `Client::from_env()`.

#[cfg(feature = "hyper")]
mod first_program;
mod own_transport;
#[cfg(feature = "hyper")]
mod tls;
