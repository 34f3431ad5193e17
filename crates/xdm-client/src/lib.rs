//! The async X DM client of xdm, generic over its HTTP transport and timer.
//!
//! This crate depends on no HTTP library and no runtime: implement [`transport::Transport`]
//! (a closure will do) and [`transport::Timer`] for yours. The `xdm-hyper` crate supplies both
//! for hyper and tokio.

pub mod transport;
