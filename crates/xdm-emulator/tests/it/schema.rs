//! Response validation against the OpenAPI documents in spec/.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

static CHECKED: AtomicUsize = AtomicUsize::new(0);

/// How many bodies were validated so far (by all tests).
pub(crate) fn checked() -> usize {
    CHECKED.load(Ordering::SeqCst)
}

use serde_json::{Value, json};

const SPEC_166: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../spec/openapi-2.166.json");
const SPEC_167: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../spec/openapi-2.167.json");

fn spec(post_dialect: bool) -> &'static Value {
    static S166: OnceLock<Value> = OnceLock::new();
    static S167: OnceLock<Value> = OnceLock::new();
    let (cell, path) = if post_dialect {
        (&S167, SPEC_167)
    } else {
        (&S166, SPEC_166)
    };
    cell.get_or_init(|| {
        serde_json::from_str(&std::fs::read_to_string(path).expect("spec file")).expect("spec json")
    })
}

fn validators() -> &'static Mutex<HashMap<String, Arc<jsonschema::Validator>>> {
    static V: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    V.get_or_init(Default::default)
}

/// Validates `body` as the response of `method template` with `status` and `content_type`.
/// Returns false when the spec has no schema for it (not a spec'd endpoint).
pub(crate) fn check(
    post_dialect: bool,
    method: &str,
    template: &str,
    status: u16,
    content_type: &str,
    body: &Value,
) -> bool {
    let spec = spec(post_dialect);
    let Some(op) = spec["paths"]
        .get(template)
        .and_then(|p| p.get(method.to_ascii_lowercase()))
    else {
        return false;
    };
    let responses = &op["responses"];
    let key = if responses.get(status.to_string()).is_some() {
        status.to_string()
    } else {
        "default".to_owned()
    };
    let content = &responses[&key]["content"];
    let ctype = if content_type.starts_with("application/problem+json") {
        "application/problem+json"
    } else {
        "application/json"
    };
    let Some(schema) = content.get(ctype).map(|c| &c["schema"]) else {
        panic!(
            "{method} {template} {status}: spec has no {ctype} response, got {content_type}: {body}"
        );
    };
    let cache_key = format!("{post_dialect}|{method}|{template}|{key}|{ctype}");
    let validator = {
        let mut map = validators().lock().unwrap();
        map.entry(cache_key)
            .or_insert_with(|| {
                let mut root = json!({"components": spec["components"].clone()});
                for (k, v) in schema.as_object().expect("schema object") {
                    root[k] = v.clone();
                }
                Arc::new(jsonschema::validator_for(&root).expect("schema compiles"))
            })
            .clone()
    };
    CHECKED.fetch_add(1, Ordering::SeqCst);
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {template} {status} ({}): {errors:#?}\nbody: {body}",
        if post_dialect { "2.167" } else { "2.166" }
    );
    true
}

#[test]
fn a_wrong_body_is_refused() {
    let r = std::panic::catch_unwind(|| {
        check(
            false,
            "GET",
            "/2/dm_events",
            200,
            "application/json",
            &json!({"data": [{"text": "no id"}]}),
        )
    });
    assert!(r.is_err(), "an event without id must fail the 2.166 schema");
    assert!(check(
        false,
        "GET",
        "/2/dm_events",
        200,
        "application/json",
        &json!({"meta": {"result_count": 0}})
    ));
    assert!(!check(
        false,
        "GET",
        "/nope",
        200,
        "application/json",
        &json!({})
    ));
}

#[test]
fn users_me_bodies_are_held_to_the_user_schema() {
    let user = json!({"data": {"id": "1", "name": "A", "username": "a"}});
    for post in [false, true] {
        assert!(check(
            post,
            "GET",
            "/2/users/me",
            200,
            "application/json",
            &user
        ));
    }
    let r = std::panic::catch_unwind(|| {
        check(
            false,
            "GET",
            "/2/users/me",
            200,
            "application/json",
            &json!({"data": {"id": "1", "name": "A"}}),
        )
    });
    assert!(r.is_err(), "2.166 requires a username");
}
