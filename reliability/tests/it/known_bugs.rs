//! Bugs found in other crates, each with a test that fails while the bug is there.
//!
//! Such tests are ignored in CI so that the suite stays green while the owners fix them; run
//! them with `cargo test -p xdm-reliability -- --ignored`. The matrices count the cells these
//! bugs break as "known bugs" (`Tally::known_bug`), and fail as soon as such a cell passes, so
//! that this list is trimmed when a fix lands. Fixed bugs move to `regressions.rs`.
//!
//! None is known today: every bug these suites found is fixed and has its regression test.
