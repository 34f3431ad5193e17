//! End-to-end tests of the `xdm` binary: each runs it as a child process against an
//! emulator started in the test on 127.0.0.1.

// A test binary has no public API: `pub` marks what `common` offers the other modules.
#![allow(unreachable_pub)]

mod commands;
mod common;
mod env;
mod export;
mod failures;
mod hardening;
mod listen;
mod login;
mod media;
mod partial_errors;
#[cfg(feature = "redis")]
mod redis_jobs;
#[cfg(feature = "redis")]
mod redis_server;
mod watch;
mod webhook;
