//! Hardening against hostile files, servers and environments: each test reproduces one way
//! a careless environment, an odd file or a lying server could make `xdm` spend without
//! bound, lose what the user owns, or report the wrong outcome.

use std::process::Stdio;

use crate::common::{Emu, Ran, run, run_with_stdin};

/// Runs `cmd` with `args`, standard input read from the file at `stdin`.
fn run_with_stdin_file(mut cmd: std::process::Command, args: &[&str], stdin: &str) -> Ran {
    let file = std::fs::File::open(stdin).expect("opens");
    cmd.stdin(Stdio::from(file));
    run(cmd, args)
}

#[test]
fn standard_input_is_capped_above_the_longest_message() {
    let emu = Emu::start();
    let ran = run_with_stdin_file(emu.xdm(), &["send", "--to", "12", "-"], "/dev/zero");
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("longer than 40960 bytes"),
        "{}",
        ran.stderr
    );
    // X's longest message, in four-byte characters, still fits.
    let longest = "😀".repeat(10_000);
    let ran = run_with_stdin(emu.xdm(), &["send", "--to", "12", "-"], &longest);
    assert!(!ran.stderr.contains("longer than"), "{}", ran.stderr);
    assert_eq!(emu.api_requests(), usize::from(ran.code != 2));
}

#[test]
fn zero_ids_self_conversations_and_invisible_texts_are_refused_before_any_request() {
    let emu = Emu::start();
    let cases: &[(&[&str], &str)] = &[
        (&["event", "0"], "invalid event_id"),
        (&["delete", "000"], "invalid event_id"),
        (&["block", "0"], "invalid user_id"),
        (&["send", "--to", "0", "hi"], "invalid to"),
        (&["send", "--group", "12,0", "hi"], "invalid group"),
        (
            &["send", "--conversation", "5-5", "hi"],
            "invalid conversation",
        ),
        (
            &["events", "--conversation", "7-07"],
            "invalid conversation",
        ),
        (&["events", "--with", "0"], "invalid with"),
        (&["send", "--to", "12", "\u{200B}"], "invisible"),
        (&["send", "--to", "12", "\u{FEFF} \u{2060}"], "invisible"),
        (
            &["send", "--to", "12", "--media-id", "0", "hi"],
            "invalid media_id",
        ),
    ];
    for (args, says) in cases {
        let ran = run(emu.xdm(), args);
        assert_eq!(ran.code, 2, "xdm {args:?}: {}", ran.stderr);
        assert!(
            ran.stderr.contains(says),
            "xdm {args:?} says {says:?}: {}",
            ran.stderr
        );
    }
    // A NUL cannot be an argument; it can come on standard input.
    let ran = run_with_stdin(emu.xdm(), &["send", "--to", "12", "-"], "hi\0there");
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("NUL"), "{}", ran.stderr);
    assert_eq!(emu.api_requests(), 0);
}
