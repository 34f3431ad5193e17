//! Matrix 5 for `xdm-auth`: every credential-handling operation and every error path, run with
//! known secret values under a TRACE capture; no secret may reach a log line, an error message,
//! a `Debug` rendering or a panic message.
//!
//! Where a secret must travel (the access token in an `Authorization` header), the header is
//! checked to be marked sensitive, which is what keeps `http`'s own `Debug` from printing it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use xdm_auth::oauth1::{ConsumerCredentials, OAuth1Authorizer, OAuth1Flow, TokenCredentials};
use xdm_auth::oauth2::{
    Bearer, BearerAuthorizer, OAuth2Client, PkceVerifier, RevocableToken, TokenAction,
    TokenManager, UserToken,
};
use xdm_auth::secret::{AccessToken, RefreshToken};
use xdm_core::Authorize;
use xdm_hyper::FileTokenStore;

use crate::capture::{self, leaked};
use crate::support::Tally;

const CONSUMER_KEY: &str = "ck-PUBLIC-KEY";
const CONSUMER_SECRET: &str = "CS-SECRET-a1b2c3d4";
const ACCESS_TOKEN: &str = "AT-SECRET-e5f6g7h8";
const TOKEN_SECRET: &str = "TS-SECRET-i9j0k1l2";
const REFRESH_TOKEN: &str = "RT-SECRET-m3n4o5p6";
const CLIENT_SECRET: &str = "CL-SECRET-q7r8s9t0";
const AUTH_CODE: &str = "CODE-SECRET-u1v2w3x4";
const NEW_ACCESS: &str = "AT2-SECRET-y5z6a7b8";
const NEW_REFRESH: &str = "RT2-SECRET-c9d0e1f2";

/// Secrets that may appear nowhere but on the wire.
const NEVER: &[&str] = &[
    CONSUMER_SECRET,
    ACCESS_TOKEN,
    TOKEN_SECRET,
    REFRESH_TOKEN,
    CLIENT_SECRET,
    AUTH_CODE,
    NEW_ACCESS,
    NEW_REFRESH,
];

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn json(status: u16, body: &str) -> http::Response<Bytes> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_owned()))
        .expect("valid")
}

fn client() -> OAuth2Client {
    OAuth2Client::confidential("client-id", CLIENT_SECRET, "http://127.0.0.1:8765/cb")
}

fn token() -> UserToken {
    UserToken::new(ACCESS_TOKEN, now())
        .with_refresh_token(REFRESH_TOKEN)
        .with_expires_at(now() + Duration::from_secs(7200))
}

/// One operation: returns every text a user could see from it (Debug, Display, errors), and
/// the requests it produced (whose secret-bearing headers must be sensitive).
type Run = Box<dyn Fn() -> (Vec<String>, Vec<http::Request<Bytes>>)>;

struct Op {
    name: &'static str,
    run: Run,
}

fn ops() -> Vec<Op> {
    let mut ops: Vec<Op> = Vec::new();
    let mut add = |name: &'static str, run: Run| {
        ops.push(Op { name, run });
    };
    add(
        "oauth1 sign",
        Box::new(|| {
            let a = OAuth1Authorizer::new(
                ConsumerCredentials::new(CONSUMER_KEY, CONSUMER_SECRET),
                TokenCredentials::new(ACCESS_TOKEN, TOKEN_SECRET),
            );
            let mut r = http::Request::post("https://api.x.com/2/dm_conversations")
                .body(Bytes::from_static(b"{}"))
                .expect("valid");
            let e = a
                .authorize(&mut r, now())
                .err()
                .map(|e| format!("{e} {e:?}"));
            (
                vec![format!("{a:?}"), format!("{r:?}"), e.unwrap_or_default()],
                vec![r],
            )
        }),
    );
    add(
        "oauth1 credentials debug",
        Box::new(|| {
            let c = ConsumerCredentials::new(CONSUMER_KEY, CONSUMER_SECRET);
            let t = TokenCredentials::new(ACCESS_TOKEN, TOKEN_SECRET);
            (vec![format!("{c:?} {t:?} {}", t.secret)], vec![])
        }),
    );
    add(
        "oauth1 flow (request token, access token, errors)",
        Box::new(|| {
            let flow = OAuth1Flow::new(ConsumerCredentials::new(CONSUMER_KEY, CONSUMER_SECRET));
            let mut texts = vec![format!("{flow:?}")];
            let mut reqs = Vec::new();
            if let Ok(r) = flow.request_token_request("http://127.0.0.1:1/cb", now()) {
                texts.push(format!("{r:?}"));
                reqs.push(r);
            }
            let ok = http::Response::new(Bytes::from(format!(
                "oauth_token=rt&oauth_token_secret={TOKEN_SECRET}&oauth_callback_confirmed=true"
            )));
            if let Ok(rt) = flow.parse_request_token(&ok) {
                texts.push(format!("{rt:?}"));
                let cb = flow.parse_callback(
                    &rt,
                    &format!("http://127.0.0.1:1/cb?oauth_token=rt&oauth_verifier={AUTH_CODE}"),
                );
                texts.push(format!("{cb:?}"));
                if let Ok(v) = cb
                    && let Ok(r) = flow.access_token_request(&rt, &v, now())
                {
                    texts.push(format!("{r:?}"));
                    reqs.push(r);
                }
                let mismatch = flow.parse_callback(
                    &rt,
                    &format!("http://127.0.0.1:1/cb?oauth_token=other&oauth_verifier={AUTH_CODE}"),
                );
                texts.push(format!("{mismatch:?}"));
                if let Err(e) = mismatch {
                    texts.push(e.to_string());
                }
            }
            let at = http::Response::new(Bytes::from(format!(
                "oauth_token={ACCESS_TOKEN}&oauth_token_secret={TOKEN_SECRET}&user_id=1"
            )));
            texts.push(format!("{:?}", flow.parse_access_token(&at)));
            // Error answers that echo the secrets back.
            for (status, body) in [
                (
                    401,
                    format!("oauth_token={ACCESS_TOKEN}&oauth_token_secret={TOKEN_SECRET}"),
                ),
                (200, format!("oauth_token_secret={TOKEN_SECRET}")),
                (
                    200,
                    format!(
                        "oauth_token={ACCESS_TOKEN}&oauth_callback_confirmed=false&oauth_token_secret={TOKEN_SECRET}"
                    ),
                ),
                (500, format!("{{\"error\":\"{CONSUMER_SECRET}\"}}")),
            ] {
                let r = http::Response::builder()
                    .status(status)
                    .body(Bytes::from(body))
                    .expect("valid");
                for e in [flow.parse_request_token(&r).err(), None]
                    .into_iter()
                    .flatten()
                {
                    texts.push(format!("{e} {e:?}"));
                }
                if let Err(e) = flow.parse_access_token(&r) {
                    texts.push(format!("{e} {e:?}"));
                }
            }
            (texts, reqs)
        }),
    );
    add(
        "oauth2 pkce authorize + callback",
        Box::new(|| {
            let c = client();
            let mut texts = vec![format!("{c:?}")];
            let p = c
                .authorize(&[xdm_core::Scope::DmRead])
                .expect("random works");
            texts.push(format!("{p:?}"));
            texts.push(format!("{:?}", p.verifier()));
            // Wrong state, denial, missing code: the code must not be quoted back.
            for url in [
                format!("http://127.0.0.1:8765/cb?state=wrong&code={AUTH_CODE}"),
                format!("http://127.0.0.1:8765/cb?code={AUTH_CODE}"),
                format!(
                    "http://127.0.0.1:8765/cb?state={}&error=access_denied&code={AUTH_CODE}",
                    p.state()
                ),
                format!(
                    "http://127.0.0.1:8765/cb?state={}&code={AUTH_CODE}",
                    p.state()
                ),
            ] {
                match p.handle_callback(&url) {
                    Ok(code) => texts.push(format!("{code:?} {code}")),
                    Err(e) => texts.push(format!("{e} {e:?}")),
                }
            }
            let code = xdm_auth::secret::AuthorizationCode::new(AUTH_CODE);
            let r = c.exchange_code_request(&code, p.verifier());
            texts.push(format!("{:?}", r.headers()));
            (texts, vec![r])
        }),
    );
    add(
        "oauth2 pkce verifier parse error",
        Box::new(|| {
            let e = PkceVerifier::parse(&format!("{REFRESH_TOKEN}+/")).err();
            (
                vec![
                    format!("{e:?}"),
                    e.map(|e| e.to_string()).unwrap_or_default(),
                ],
                vec![],
            )
        }),
    );
    add(
        "oauth2 token parsing, success and every error shape",
        Box::new(|| {
            let c = client();
            let mut texts = Vec::new();
            let bodies = [
                (200, format!(r#"{{"token_type":"bearer","expires_in":7200,"access_token":"{NEW_ACCESS}","refresh_token":"{NEW_REFRESH}","scope":"dm.read"}}"#)),
                (200, format!(r#"{{"token_type":"mac","access_token":"{NEW_ACCESS}"}}"#)),
                (200, format!(r#"{{"token_type":7,"access_token":"{NEW_ACCESS}"}}"#)),
                (200, format!(r#"{{"token_type":"bearer","access_token":"{NEW_ACCESS}","expires_in":"{NEW_REFRESH}"}}"#)),
                (200, format!(r#"{{"token_type":"bearer","access_token":["{NEW_ACCESS}"]}}"#)),
                (200, format!(r#"{{"token_type":"bearer","access_token":"{NEW_ACCESS}","scope":{{"{NEW_REFRESH}":1}}}}"#)),
                (200, format!(r#"{{"access_token":"{NEW_ACCESS}""#)),
                (200, format!("access_token={NEW_ACCESS}")),
                (400, r#"{"error":"invalid_grant","error_description":"Value passed for the token was invalid."}"#.to_owned()),
                (401, format!(r#"{{"error":"invalid_client","client_secret":"{CLIENT_SECRET}"}}"#)),
                (500, format!("<html>{NEW_REFRESH}</html>")),
            ];
            for (status, body) in bodies {
                match c.parse_token_response(&json(status, &body), now()) {
                    Ok(t) => texts.push(format!("{t:?}")),
                    Err(e) => texts.push(format!("{e} {e:?}")),
                }
                if let Err(e) = c.parse_revoke_response(&json(status, &body)) {
                    texts.push(format!("{e} {e:?}"));
                }
            }
            let reqs = vec![
                c.refresh_request(&RefreshToken::new(REFRESH_TOKEN)),
                c.revoke_request(RevocableToken::Access(&AccessToken::new(ACCESS_TOKEN))),
            ];
            (texts, reqs)
        }),
    );
    add(
        "oauth2 token manager refresh, success and failure",
        Box::new(|| {
            let m = TokenManager::new(client(), token());
            let mut texts = vec![format!("{m:?}")];
            let mut reqs = Vec::new();
            if let TokenAction::Use(b) = m.poll_token(now()) {
                texts.push(format!("{b:?}"));
                let mut r = http::Request::get("https://api.x.com/2/dm_events")
                    .body(Bytes::new())
                    .expect("valid");
                if let Err(e) = b.apply(&mut r) {
                    texts.push(format!("{e} {e:?}"));
                }
                texts.push(format!("{r:?}"));
                reqs.push(r);
            }
            let later = now() + Duration::from_secs(7200);
            let action = m.poll_token(later);
            texts.push(format!("{action:?}"));
            if let TokenAction::Refresh(ticket) = action {
                texts.push(format!("{ticket:?}"));
                reqs.push(ticket.request());
                let bad = json(
                    400,
                    r#"{"error":"invalid_grant","error_description":"Value passed for the token was invalid."}"#,
                );
                match ticket.handle_response(&bad, later) {
                    Ok(b) => texts.push(format!("{b:?}")),
                    Err(e) => texts.push(format!("{e} {e:?}")),
                }
            }
            texts.push(format!("{m:?}"));
            (texts, reqs)
        }),
    );
    add(
        "bearer with a header-breaking token",
        Box::new(|| {
            let b = Bearer::new(AccessToken::new(format!("{ACCESS_TOKEN}\r\nX-Injected: 1")));
            let mut texts = vec![format!("{b:?}")];
            match b.header_value() {
                Ok(v) => texts.push(format!("{v:?}")),
                Err(e) => texts.push(format!("{e} {e:?}")),
            }
            let a = BearerAuthorizer::new(UserToken::new(format!("{ACCESS_TOKEN}\n"), now()));
            let mut r = http::Request::get("https://api.x.com/2/dm_events")
                .body(Bytes::new())
                .expect("valid");
            if let Err(e) = a.authorize(&mut r, now()) {
                texts.push(format!("{e} {e:?}"));
            }
            texts.push(format!("{a:?}"));
            (texts, vec![])
        }),
    );
    add(
        "token file store: save, load, corrupt, unreadable",
        Box::new(|| {
            let tmp = tempfile::tempdir().expect("temp dir");
            let path = tmp.path().join("token.json");
            let store = FileTokenStore::new(&path);
            let mut texts = vec![format!("{store:?}")];
            {
                if let Err(e) = store.save_blocking(&token()) {
                    texts.push(format!("{e} {e:?}"));
                }
                match store.load_blocking() {
                    Ok(t) => texts.push(format!("{t:?}")),
                    Err(e) => texts.push(format!("{e} {e:?}")),
                }
                for corrupt in [
                    format!(
                        r#"{{"version":1,"access_token":"{ACCESS_TOKEN}","refresh_token":"{REFRESH_TOKEN}","issued_at_ms":"x"}}"#
                    ),
                    format!(r#"{{"version":2,"access_token":"{ACCESS_TOKEN}"}}"#),
                    format!("{ACCESS_TOKEN} {REFRESH_TOKEN}"),
                    format!(
                        r#"{{"version":1,"access_token":{{"{ACCESS_TOKEN}":1}},"issued_at_ms":0}}"#
                    ),
                ] {
                    let _ = std::fs::write(&path, corrupt);
                    match store.load_blocking() {
                        Ok(t) => texts.push(format!("{t:?}")),
                        Err(e) => texts.push(format!("{e} {e:?}")),
                    }
                }
            }
            let missing =
                FileTokenStore::new(tmp.path().join("no-such-dir").join("x").join("token.json"));
            if let Err(e) = missing.save_blocking(&token()) {
                texts.push(format!("{e} {e:?}"));
            }
            (texts, vec![])
        }),
    );
    add(
        "hostile token lifetime (panic path)",
        Box::new(|| {
            let c = client();
            let body = format!(
                r#"{{"token_type":"bearer","access_token":"{NEW_ACCESS}","expires_in":18446744073709551615}}"#
            );
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                c.parse_token_response(&json(200, &body), now())
            }));
            let text = match outcome {
                Ok(Ok(t)) => format!("{t:?}"),
                Ok(Err(e)) => format!("{e} {e:?}"),
                Err(_) => "panicked".to_owned(),
            };
            (vec![text], vec![])
        }),
    );
    ops
}

#[test]
fn no_secret_leaks_from_auth_operations_or_errors() {
    capture::install();
    let mut tally = Tally::new("secrets_auth");
    for op in ops() {
        let (texts, requests) = (op.run)();
        let mut problems = Vec::new();
        for t in &texts {
            let found = leaked(t, NEVER);
            if !found.is_empty() {
                problems.push(format!(
                    "{found:?} in {:?}",
                    t.chars().take(300).collect::<String>()
                ));
            }
        }
        for r in &requests {
            // Headers that carry credentials must be marked sensitive, so `Debug` and header
            // dumps print `Sensitive`.
            for (name, value) in r.headers() {
                if name == http::header::AUTHORIZATION && !value.is_sensitive() {
                    problems.push("authorization header not marked sensitive".into());
                }
            }
            // Secrets that are signing keys never travel at all.
            let wire = format!(
                "{:?} {:?}",
                r.uri(),
                r.headers()
                    .get(http::header::AUTHORIZATION)
                    .map(|v| v.as_bytes().to_vec())
            );
            let keys = leaked(&wire, &[CONSUMER_SECRET, TOKEN_SECRET]);
            if !keys.is_empty() {
                problems.push(format!("signing key {keys:?} on the wire"));
            }
        }
        tally.record(
            op.name,
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join("; "))
            },
        );
    }
    // The capture (logs and panic messages) saw no secret either.
    let logs = capture::captured();
    let found = leaked(&logs, NEVER);
    tally.record(
        "captured logs and panics",
        if found.is_empty() {
            Ok(())
        } else {
            Err(format!("{found:?} in captured output"))
        },
    );
    tally.finish();
}

/// The leak detector itself finds a secret, raw or percent-encoded, so that the matrix above
/// cannot pass by never looking.
#[test]
fn leak_detector_finds_planted_secrets() {
    assert_eq!(
        leaked(&format!("x {ACCESS_TOKEN} y"), NEVER),
        vec![ACCESS_TOKEN]
    );
    assert_eq!(
        leaked("token=AT-SECRET-e5f6g7h8", &[ACCESS_TOKEN]),
        vec![ACCESS_TOKEN]
    );
    assert_eq!(leaked("a%20b", &["a b"]), vec!["a b"]);
    assert!(leaked("[redacted]", NEVER).is_empty());
}
