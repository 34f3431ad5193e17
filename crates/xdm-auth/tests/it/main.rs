//! Integration tests of xdm-auth, in one binary.

mod app_bearer;
mod oauth1_flow;
mod oauth1_sign;
mod oauth2_flow;
mod redaction;
mod refresh;
mod support;
mod verify;
