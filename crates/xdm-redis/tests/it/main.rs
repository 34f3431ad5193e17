//! Tests of xdm-redis against a real `redis-server` each test starts for itself, and the
//! emulator.

mod checkpoint;
mod connect;
mod encryption;
mod errors;
mod fleet;
mod limits;
mod refresh;
mod sends;
mod streaming;
mod support;
mod wakeups;
mod worker;
