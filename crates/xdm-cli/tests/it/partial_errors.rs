//! Partial errors and repeated pages, from a small canned server (the emulator answers neither
//! way): `event` and `events` warn on standard error for each partial error and still print
//! the events, `--json` keeps standard output to the API's objects, and a page served twice
//! prints no event twice.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread;

use crate::common::run;

/// Serves `bodies` in order, one per connection, as `200` JSON answers, and records each
/// request line.
struct Canned {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Canned {
    fn start(bodies: Vec<String>) -> Canned {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        thread::spawn(move || {
            for body in bodies {
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head);
                log.lock()
                    .expect("log")
                    .push(head.lines().next().unwrap_or("").to_owned());
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        Canned { url, seen }
    }

    fn xdm(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xdm"));
        cmd.env_clear()
            .env("XDM_CONFIG_DIR", crate::common::temp_dir("partial"))
            .env("X_OAUTH2_ACCESS_TOKEN", "token")
            .arg("--base-url")
            .arg(&self.url);
        cmd
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().expect("log").clone()
    }
}

const NOT_FOUND: &str = r#"{"title":"Not Found Error","type":"https://api.twitter.com/2/problems/resource-not-found","detail":"Could not find tweet with referenced_tweets.id: [9]."}"#;

#[test]
fn event_warns_of_each_partial_error_and_still_prints_the_event() {
    let body = format!(
        r#"{{"data":{{"id":"5","event_type":"MessageCreate","text":"look at this"}},
            "errors":[{NOT_FOUND},{{"title":"Forbidden","detail":"Sorry, you are not\nauthorized."}}]}}"#
    );
    let server = Canned::start(vec![body.clone(), body]);
    let ran = run(server.xdm(), &["event", "5"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("look at this"), "{}", ran.stdout);
    let warnings: Vec<&str> = ran.stderr.lines().collect();
    assert_eq!(
        warnings,
        [
            "warning: X reported a partial error: Could not find tweet with referenced_tweets.id: [9].",
            "warning: X reported a partial error: Sorry, you are not authorized.",
        ]
    );

    let ran = run(server.xdm(), &["--json", "event", "5"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let objects = crate::common::Ran::json_lines(&ran);
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0]["id"], "5");
    assert_eq!(ran.stderr.lines().count(), 2, "{}", ran.stderr);
}

#[test]
fn events_warn_per_page_and_never_print_an_event_twice() {
    let event = |id: u32| format!(r#"{{"id":"{id}","event_type":"MessageCreate","text":"m{id}"}}"#);
    let first = format!(
        r#"{{"data":[{},{}],"errors":[{NOT_FOUND}],"meta":{{"result_count":2,"next_token":"AAAAAAAAAAAAAAAAAAAA01"}}}}"#,
        event(3),
        event(2)
    );
    // The same events again under a new token, with one older event.
    let again = format!(
        r#"{{"data":[{},{},{}],"meta":{{"result_count":3,"next_token":"AAAAAAAAAAAAAAAAAAAA02"}}}}"#,
        event(3),
        event(2),
        event(1)
    );
    let end = r#"{"meta":{"result_count":0}}"#.to_owned();
    let bodies = vec![first.clone(), again.clone(), end.clone(), first, again, end];
    let server = Canned::start(bodies);
    let ran = run(server.xdm(), &["--json", "events", "--limit", "10"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let ids: Vec<String> = crate::common::Ran::json_lines(&ran)
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids, ["3", "2", "1"]);
    assert_eq!(
        ran.stderr.lines().collect::<Vec<_>>(),
        [
            "warning: X reported a partial error: Could not find tweet with referenced_tweets.id: [9]."
        ]
    );

    let ran = run(server.xdm(), &["events", "--limit", "10"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.stdout.lines().count(), 3, "{}", ran.stdout);
    for text in ["m3", "m2", "m1"] {
        assert_eq!(ran.stdout.matches(text).count(), 1, "{}", ran.stdout);
    }
    assert!(ran.stderr.starts_with("warning: "), "{}", ran.stderr);
    assert_eq!(server.requests().len(), 6);
}

#[test]
fn events_stop_with_an_error_when_a_token_comes_back() {
    let page = r#"{"data":[{"id":"3","event_type":"MessageCreate","text":"m3"}],
        "meta":{"result_count":1,"next_token":"AAAAAAAAAAAAAAAAAAAA01"}}"#;
    let back = r#"{"data":[{"id":"2","event_type":"MessageCreate","text":"m2"}],
        "meta":{"result_count":1,"next_token":"AAAAAAAAAAAAAAAAAAAA01"}}"#;
    let server = Canned::start(vec![page.to_owned(), back.to_owned()]);
    let ran = run(server.xdm(), &["--json", "events", "--limit", "10"]);
    assert_ne!(ran.code, 0, "{}", ran.stdout);
    assert_eq!(ran.stdout.lines().count(), 2, "{}", ran.stdout);
    assert!(ran.stderr.contains("a second time"), "{}", ran.stderr);
    assert_eq!(server.requests().len(), 2);
}
