//! End to end: the hyper client against the emulator over real TCP on 127.0.0.1.

mod activity;
mod console;
mod faults;
mod limits;
mod me;
mod media_stream;
mod operations;
mod refresh;
mod support;
mod upload;
mod versions;
mod webhook;
