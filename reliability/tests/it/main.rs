//! Reliability and security matrices of xdm.
//!
//! Each module is one matrix of `RELIABILITY.md`. Every matrix is data (a table of cases with
//! their expected outcomes) driving one test, which prints a `matrix <name>: N cases, N passed`
//! line so that the report's counts come from real runs (`cargo test -p xdm-reliability --
//! --nocapture`).

mod bad_input_client;
mod bad_input_core;
mod capture;
mod cli;
mod env_tokens;
mod export;
mod faults;
mod hostile;
mod known_bugs;
mod load;
mod refresh_faults;
mod regressions;
mod repeated_pages;
mod secrets_auth;
mod secrets_client;
mod support;
mod tls_names;
mod upload_faults;
mod world;
