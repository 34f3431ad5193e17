//! Integration tests of xdm-core: one binary, one module per concern.

mod activity_endpoints;
mod activity_session;
mod fixtures;
mod flow;
mod reference;
mod spec;
