//! Integration tests of xdm-core: one binary, one module per concern.

mod fixtures;
mod flow;
mod reference;
mod spec;
