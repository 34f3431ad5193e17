//! Reliability and security test suites of the xdm workspace.
//!
//! This package holds no library code: its integration tests (`tests/it`) drive the other
//! crates through faults, invalid input, hostile responses, secret-leak checks and load, and
//! `RELIABILITY.md` at the repository root reports what they cover.
