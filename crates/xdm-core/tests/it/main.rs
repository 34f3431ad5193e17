//! Integration tests of xdm-core: one binary, one module per concern.

mod activity_dedup;
mod activity_endpoints;
mod activity_events;
mod activity_fixtures;
mod activity_session;
mod activity_stream;
mod activity_webhook;
mod fixtures;
mod flow;
mod reference;
mod spec;
