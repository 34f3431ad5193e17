//! Real-time Direct Message events from the X Activity API, without I/O.
//!
//! [`session`] decides when to open the activity stream, how long to back off after a
//! failure, when a silent connection counts as dropped, and which stretch of time the stream
//! missed.

pub mod session;
