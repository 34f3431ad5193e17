//! Every request the endpoints build is allowed by the OpenAPI specs.
//!
//! Requests in the legacy dialect are checked against spec 2.166 (the last to use
//! `tweet.fields`), requests in the post dialect against 2.167. For each request: the method and
//! path template exist, path parameters match their schemas, every query parameter is declared
//! and its values are in the declared enums (apart from the listed exceptions), the body
//! validates against the request schema for its content type (or is absent when none is
//! declared), and the scopes match the security requirement. A `multipart/form-data` body is
//! read as an object of its fields, file parts standing for their bytes as a string.
//!
//! Schemas are checked by the `jsonschema` crate (the emulator's response tests use it too), each
//! compiled with the document's `components` so its references resolve. Keywords that only
//! document (`format`, `example`) constrain nothing, as in the specs' own reading of them.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use bytes::Bytes;
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};
use xdm_core::endpoints::{
    BlockUser, CreateGroup, DeleteEvent, DownloadMedia, GetEvent, GetMe, ListConversationEvents,
    ListEvents, ListParticipantEvents, Message, SendToConversation, SendToParticipant, UnblockUser,
};
use xdm_core::fields::{EventType, FieldSet, UserField};
use xdm_core::ids::{ConversationId, EventId, MediaId, PaginationToken, UserId};
use xdm_core::upload::{
    AppendUpload, FinalizeUpload, InitializeUpload, MediaCategory, MediaType, UploadMedia,
    UploadStatus,
};
use xdm_core::{Dialect, Endpoint, EndpointInfo, RequestContext};

const SPEC_2_166: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../spec/openapi-2.166.json");
const SPEC_2_167: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../spec/openapi-2.167.json");

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("the spec is JSON")
}

/// Names the API accepts that a spec's enum lacks, per (spec, parameter).
///
/// Each is also checked to be a property of the matching object schema in one of the two specs,
/// which is the evidence that X returns it.
fn known_exceptions(dialect: Dialect, parameter: &str) -> &'static [&'static str] {
    match (dialect, parameter) {
        // New in 2.167; the legacy dialect only renames, it does not hide newer fields.
        (Dialect::Legacy, "user.fields") => &["subscribes_to_you"],
        (Dialect::Legacy, "tweet.fields") => &["article_title"],
        // 2.167 dropped these from the enums although its DmEvent schema still has them and
        // the docs and live responses use them: 2.167's enums are lossy.
        (Dialect::Post, "dm_event.fields") => &["participant_ids", "referenced_posts", "sender_id"],
        // Likewise present on 2.167's User schema, absent from its user.fields enum.
        (Dialect::Post, "user.fields") => &["affiliation", "most_recent_post_id", "pinned_post_id"],
        // Likewise present on 2.167's Post schema, absent from its post.fields enum.
        (Dialect::Post, "post.fields") => &[
            "author_id",
            "edit_history_post_ids",
            "in_reply_to_user_id",
            "referenced_posts",
        ],
        _ => &[],
    }
}

/// The object schemas whose properties a field parameter selects.
fn object_schemas(parameter: &str) -> &'static [&'static str] {
    match parameter {
        "dm_event.fields" => &["DmEvent"],
        "user.fields" => &["User"],
        "tweet.fields" | "post.fields" => &["Tweet", "Post"],
        _ => &[],
    }
}

// ---------------------------------------------------------------------------------------------
// Schemas of the specs, checked by the `jsonschema` crate.

/// Follows `$ref` pointers inside the document until `node` is not a reference.
fn resolve<'a>(spec: &'a Value, mut node: &'a Value) -> &'a Value {
    while let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref {reference}"));
        node = spec
            .pointer(pointer)
            .unwrap_or_else(|| panic!("dangling $ref {reference}"));
    }
    node
}

/// Compiles `schema`, a schema found in `doc`, so that its `#/components/...` references
/// resolve against the document's components.
fn compile(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = json!({"components": doc["components"].clone()});
    for (keyword, value) in schema.as_object().expect("a schema is an object") {
        root[keyword] = value.clone();
    }
    jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{schema} does not compile: {e}"))
}

/// The problems with `value` under `validator`, each with where it is; empty when it validates.
fn problems(validator: &jsonschema::Validator, value: &Value, at: &str) -> Vec<String> {
    validator
        .iter_errors(value)
        .map(|e| format!("{at}{}: {e}", e.instance_path()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Checking a request against an operation.

struct Spec {
    doc: Value,
    dialect: Dialect,
    label: &'static str,
    /// Compiled schemas by their JSON text: the requests share most of their schemas.
    validators: RefCell<HashMap<String, Rc<jsonschema::Validator>>>,
}

impl Spec {
    fn legacy() -> Self {
        Spec {
            doc: load(SPEC_2_166),
            dialect: Dialect::Legacy,
            label: "2.166",
            validators: RefCell::default(),
        }
    }

    fn post() -> Self {
        Spec {
            doc: load(SPEC_2_167),
            dialect: Dialect::Post,
            label: "2.167",
            validators: RefCell::default(),
        }
    }

    /// The problems with `value` under `schema`, a schema of this document; empty when it
    /// validates.
    fn validate(&self, schema: &Value, value: &Value, at: &str) -> Vec<String> {
        let validator = Rc::clone(
            self.validators
                .borrow_mut()
                .entry(schema.to_string())
                .or_insert_with(|| Rc::new(compile(&self.doc, schema))),
        );
        problems(&validator, value, at)
    }

    fn operation(&self, info: &EndpointInfo) -> &Value {
        let method = info.method.as_str().to_ascii_lowercase();
        self.doc["paths"]
            .get(info.path_template)
            .and_then(|p| p.get(&method))
            .unwrap_or_else(|| {
                panic!(
                    "{} {} is not in spec {}",
                    info.method, info.path_template, self.label
                )
            })
    }

    fn parameters<'a>(&'a self, operation: &'a Value) -> Vec<&'a Value> {
        operation["parameters"]
            .as_array()
            .map(|ps| ps.iter().map(|p| resolve(&self.doc, p)).collect())
            .unwrap_or_default()
    }

    fn check(&self, request: &http::Request<Bytes>) {
        let info = request
            .extensions()
            .get::<EndpointInfo>()
            .expect("every request carries its EndpointInfo");
        let operation = self.operation(info);
        let parameters = self.parameters(operation);
        let param = |name: &str, location: &str| {
            parameters
                .iter()
                .find(|p| p["name"] == name && p["in"] == location)
                .copied()
        };
        let context = format!("{} {} ({})", info.method, request.uri(), self.label);
        assert_eq!(request.method(), info.method, "{context}");

        // Path parameters.
        // The default base URL has no path prefix, so the path is the endpoint's own.
        let path = request.uri().path();
        let actual: Vec<&str> = path.split('/').collect();
        let template: Vec<&str> = info.path_template.split('/').collect();
        assert_eq!(actual.len(), template.len(), "{context}: segment count");
        for (segment, expected) in actual.iter().zip(&template) {
            match expected.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => {
                    let p = param(name, "path")
                        .unwrap_or_else(|| panic!("{context}: path parameter {name} undeclared"));
                    let value = percent_decode_str(segment).decode_utf8().unwrap();
                    let problems = self.validate(&p["schema"], &json!(value), name);
                    assert!(problems.is_empty(), "{context}: {problems:?}");
                }
                None => assert_eq!(segment, expected, "{context}"),
            }
        }
        for p in &parameters {
            if p["in"] == "path" {
                let placeholder = format!("{{{}}}", p["name"].as_str().unwrap());
                assert!(
                    info.path_template.contains(&placeholder),
                    "{context}: {placeholder}"
                );
            }
        }

        // Query parameters.
        for pair in request
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|s| !s.is_empty())
        {
            let (name, value) = pair.split_once('=').expect("name=value");
            let name = percent_decode_str(name).decode_utf8().unwrap();
            let value = percent_decode_str(value).decode_utf8().unwrap();
            let p = param(&name, "query")
                .unwrap_or_else(|| panic!("{context}: query parameter {name} undeclared"));
            let schema = resolve(&self.doc, &p["schema"]);
            let value = match schema["type"].as_str() {
                Some("array") => {
                    assert_eq!(
                        p["explode"],
                        json!(false),
                        "{context}: {name} is comma-joined"
                    );
                    let exceptions = known_exceptions(self.dialect, &name);
                    let items: Vec<&str> = value.split(',').collect();
                    let kept: Vec<&str> = items
                        .iter()
                        .copied()
                        .filter(|v| !exceptions.contains(v))
                        .collect();
                    if kept.is_empty() {
                        continue;
                    }
                    json!(kept)
                }
                Some("integer") => json!(value.parse::<i64>().expect("an integer")),
                _ => json!(value),
            };
            let problems = self.validate(schema, &value, &name);
            assert!(problems.is_empty(), "{context}: {problems:?}");
        }

        // Body.
        match operation.get("requestBody") {
            Some(body) => {
                let body = resolve(&self.doc, body);
                let content_type = request.headers()["content-type"].to_str().unwrap();
                let media_type = content_type.split(';').next().unwrap().trim();
                let schema = body["content"]
                    .get(media_type)
                    .unwrap_or_else(|| panic!("{context}: the spec declares no {media_type} body"));
                let schema = &schema["schema"];
                let candidates = if media_type == "multipart/form-data" {
                    multipart_readings(content_type, request.body(), &context)
                } else {
                    assert_eq!(media_type, "application/json", "{context}");
                    vec![serde_json::from_slice(request.body()).expect("JSON body")]
                };
                let problems: Vec<Vec<String>> = candidates
                    .iter()
                    .map(|value| self.validate(schema, value, "body"))
                    .collect();
                assert!(
                    problems.iter().any(Vec::is_empty),
                    "{context}: {problems:?}"
                );
            }
            None => {
                assert!(
                    request.body().is_empty(),
                    "{context}: the spec declares no body"
                );
                assert!(request.headers().get("content-type").is_none(), "{context}");
            }
        }

        // Security.
        let security = operation["security"].as_array().expect("security declared");
        let oauth2: BTreeSet<&str> = security
            .iter()
            .filter_map(|s| s.get("OAuth2UserToken"))
            .flat_map(|scopes| {
                scopes
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap())
            })
            .collect();
        let ours: BTreeSet<&str> = info.scopes.iter().map(|s| s.as_str()).collect();
        assert_eq!(ours, oauth2, "{context}: scopes");
        let user_token = security.iter().any(|s| s.get("UserToken").is_some());
        assert_eq!(info.oauth1, user_token, "{context}: OAuth 1.0a");
    }
}

/// The fields of a `multipart/form-data` body, as JSON objects the body schema can check.
///
/// On the wire every field is text, which the server reads as the schema's type, so a text
/// field that is a whole number is tried both as a string and as an integer: the body passes
/// when one of the readings validates. A file part (one with a filename) stands for its
/// bytes, which the schemas declare as a string of format `binary`.
fn multipart_readings(content_type: &str, body: &[u8], context: &str) -> Vec<Value> {
    let boundary = content_type
        .split_once("boundary=")
        .unwrap_or_else(|| panic!("{context}: no boundary"))
        .1
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let starts: Vec<usize> = (0..body.len().saturating_sub(delimiter.len() - 1))
        .filter(|&i| body[i..].starts_with(delimiter))
        .collect();
    assert_eq!(
        starts.first(),
        Some(&0),
        "{context}: body starts with a delimiter"
    );
    let last = *starts.last().unwrap();
    assert_eq!(
        &body[last + delimiter.len()..],
        b"--\r\n",
        "{context}: body ends with the close delimiter"
    );
    let mut fields: Vec<(String, Vec<Value>)> = Vec::new();
    for pair in starts.windows(2) {
        let part = &body[pair[0] + delimiter.len()..pair[1]];
        let part = part
            .strip_prefix(b"\r\n")
            .and_then(|p| p.strip_suffix(b"\r\n"))
            .unwrap_or_else(|| panic!("{context}: a part is not framed by CRLFs"));
        let split = (0..part.len())
            .find(|&i| part[i..].starts_with(b"\r\n\r\n"))
            .unwrap_or_else(|| panic!("{context}: a part has no blank line"));
        let headers = std::str::from_utf8(&part[..split]).unwrap();
        let data = &part[split + 4..];
        let disposition = headers
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-disposition")
                    .then(|| value.trim())
            })
            .unwrap_or_else(|| panic!("{context}: a part has no content-disposition"));
        let param = |key: &str| {
            disposition.split(';').find_map(|p| {
                let (k, v) = p.trim().split_once('=')?;
                (k == key).then(|| v.trim_matches('"').to_owned())
            })
        };
        assert!(
            disposition.starts_with("form-data"),
            "{context}: {disposition}"
        );
        let name = param("name").unwrap_or_else(|| panic!("{context}: a part has no name"));
        assert!(
            fields.iter().all(|(n, _)| *n != name),
            "{context}: field {name} twice"
        );
        let readings = if param("filename").is_some() {
            vec![json!("<binary>")]
        } else {
            let text = std::str::from_utf8(data).expect("a text field is UTF-8");
            let mut readings = vec![json!(text)];
            if let Ok(n) = text.parse::<i64>() {
                readings.push(json!(n));
            }
            readings
        };
        fields.push((name, readings));
    }
    // Every combination of the fields' readings: at most two text fields, so at most four.
    let mut objects = vec![serde_json::Map::new()];
    for (name, readings) in fields {
        let mut next = Vec::new();
        for o in &objects {
            for r in &readings {
                let mut o = o.clone();
                o.insert(name.clone(), r.clone());
                next.push(o);
            }
        }
        objects = next;
    }
    objects.into_iter().map(Value::Object).collect()
}

// ---------------------------------------------------------------------------------------------
// The requests.

fn all_event_types() -> Vec<EventType> {
    EventType::ALL.to_vec()
}

fn token() -> PaginationToken {
    PaginationToken::parse("18LAA5G1SL0NR5OG0G00ZZZZ").unwrap()
}

fn messages() -> Vec<Message> {
    vec![
        Message::text("Hello, world & more?").unwrap(),
        Message::media(MediaId::try_from(1146654567674912769).unwrap()),
        Message::new(Some("both".into()), [MediaId::try_from(1).unwrap()]).unwrap(),
    ]
}

fn every_request(dialect: Dialect) -> Vec<http::Request<Bytes>> {
    let ctx = &RequestContext::default().with_dialect(dialect);
    let mut requests = Vec::new();
    let conversations = [
        ConversationId::parse("123123123-456456456").unwrap(),
        ConversationId::one_to_one(
            &UserId::try_from(9).unwrap(),
            &UserId::try_from(10).unwrap(),
        ),
        ConversationId::parse("1578900353814519810").unwrap(),
    ];
    let full = |l: ListEvents| {
        l.with_max_results(100)
            .unwrap()
            .with_pagination_token(token())
            .with_event_types(all_event_types())
            .with_fields(FieldSet::everything())
    };
    requests.push(full(ListEvents::new()).build_request(ctx).unwrap());
    requests.push(
        ListEvents::new()
            .with_max_results(1)
            .unwrap()
            .build_request(ctx)
            .unwrap(),
    );
    for conv in &conversations {
        let list = ListConversationEvents::new(conv.clone())
            .with_params(full(ListEvents::new()).params().clone());
        requests.push(list.build_request(ctx).unwrap());
        for m in messages() {
            let send = SendToConversation::new(conv.clone(), m);
            requests.push(send.build_request(ctx).unwrap());
        }
    }
    let user = UserId::try_from(2244994945).unwrap();
    let list = ListParticipantEvents::new(user.clone())
        .with_params(full(ListEvents::new()).params().clone());
    requests.push(list.build_request(ctx).unwrap());
    for m in messages() {
        let send = SendToParticipant::new(user.clone(), m.clone());
        requests.push(send.build_request(ctx).unwrap());
        for n in [2, 49] {
            let group =
                CreateGroup::new((1..=n).map(|i| UserId::try_from(i).unwrap()), m.clone()).unwrap();
            requests.push(group.build_request(ctx).unwrap());
        }
    }
    let event = EventId::try_from(1585800613253812228).unwrap();
    let get = GetEvent::new(event.clone()).with_fields(FieldSet::everything());
    requests.push(get.build_request(ctx).unwrap());
    requests.push(DeleteEvent::new(event.clone()).build_request(ctx).unwrap());
    requests.push(BlockUser::new(user.clone()).build_request(ctx).unwrap());
    requests.push(UnblockUser::new(user.clone()).build_request(ctx).unwrap());
    let download = DownloadMedia::from_media_url(
        "https://ton.twitter.com/1.1/ton/data/dm/1589472163941056517/1589472151165317121/ncc3LNYu.jpg",
    )
    .unwrap();
    requests.push(download.build_request(ctx).unwrap());
    let me = GetMe::new()
        .with_user_fields(UserField::ALL.iter().cloned())
        .unwrap();
    requests.push(me.build_request(ctx).unwrap());
    requests.extend(upload_requests(ctx));
    requests
}

/// The media upload requests: one-shot, and each step of a chunked upload, for every DM
/// media category.
fn upload_requests(ctx: &RequestContext) -> Vec<http::Request<Bytes>> {
    const BOUNDARY: &str = "xdm-spec-3f9a1c";
    let mut requests = Vec::new();
    let image = Bytes::from_static(b"\xff\xd8\xff\xe0 a JPEG, as far as the request can tell");
    for media_type in [MediaType::Jpeg, MediaType::Png, MediaType::Webp] {
        let one_shot = UploadMedia::new(image.clone(), media_type, BOUNDARY).unwrap();
        requests.push(one_shot.build_request(ctx).unwrap());
    }
    for (media_type, category) in [
        (MediaType::Jpeg, MediaCategory::DmImage),
        (MediaType::Gif, MediaCategory::DmGif),
        (MediaType::Mp4, MediaCategory::DmVideo),
        (MediaType::Quicktime, MediaCategory::DmVideo),
    ] {
        let init = InitializeUpload::new(1_000, media_type, category).unwrap();
        requests.push(init.build_request(ctx).unwrap());
    }
    let id = MediaId::try_from(1146654567674912769).unwrap();
    for segment in [0, 7, 999] {
        let append = AppendUpload::new(id.clone(), segment, image.clone(), BOUNDARY).unwrap();
        requests.push(append.build_request(ctx).unwrap());
    }
    requests.push(FinalizeUpload::new(id.clone()).build_request(ctx).unwrap());
    requests.push(UploadStatus::new(id).build_request(ctx).unwrap());
    requests
}

#[test]
fn legacy_requests_conform_to_spec_2_166() {
    let spec = Spec::legacy();
    let requests = every_request(Dialect::Legacy);
    for request in &requests {
        spec.check(request);
    }
    assert!(
        requests
            .iter()
            .any(|r| r.uri().query().is_some_and(|q| q.contains("tweet.fields=")))
    );
}

#[test]
fn post_dialect_requests_conform_to_spec_2_167() {
    let spec = Spec::post();
    let requests = every_request(Dialect::Post);
    for request in &requests {
        spec.check(request);
    }
    assert!(
        requests
            .iter()
            .any(|r| r.uri().query().is_some_and(|q| q.contains("post.fields=")))
    );
}

#[test]
fn every_dm_and_media_upload_operation_in_the_specs_has_an_endpoint() {
    for spec in [Spec::legacy(), Spec::post()] {
        let ours: BTreeSet<(String, String)> = every_request(spec.dialect)
            .iter()
            .map(|r| {
                let info = r.extensions().get::<EndpointInfo>().unwrap();
                (
                    info.method.as_str().to_ascii_lowercase(),
                    info.path_template.to_owned(),
                )
            })
            .collect();
        let paths = spec.doc["paths"].as_object().unwrap();
        for (path, item) in paths {
            let ours_to_cover = path.starts_with("/2/dm_")
                || path.starts_with("/2/users/{id}/dm/")
                || path.starts_with("/2/media/upload");
            if !ours_to_cover {
                continue;
            }
            for method in item.as_object().unwrap().keys() {
                assert!(
                    ours.contains(&(method.clone(), path.clone())),
                    "{method} {path} in {} has no endpoint type",
                    spec.label
                );
            }
        }
    }
}

#[test]
fn exceptions_are_needed_and_backed_by_the_object_schemas() {
    for spec in [Spec::legacy(), Spec::post()] {
        let other = if spec.dialect == Dialect::Legacy {
            Spec::post()
        } else {
            Spec::legacy()
        };
        let tweet_fields = if spec.dialect == Dialect::Legacy {
            "tweet.fields"
        } else {
            "post.fields"
        };
        for parameter in [
            "dm_event.fields",
            "expansions",
            "user.fields",
            tweet_fields,
            "media.fields",
        ] {
            let declared = spec.doc["components"]["parameters"]
                .as_object()
                .unwrap()
                .values()
                .find(|p| p["name"] == parameter)
                .unwrap_or_else(|| panic!("{parameter} in {}", spec.label));
            let enum_values = &declared["schema"]["items"]["enum"];
            for exception in known_exceptions(spec.dialect, parameter) {
                assert!(
                    !enum_values.as_array().unwrap().contains(&json!(exception)),
                    "{exception} is in {}'s {parameter} enum now; drop the exception",
                    spec.label
                );
                let backed = object_schemas(parameter).iter().any(|schema| {
                    [&spec.doc, &other.doc].iter().any(|doc| {
                        doc["components"]["schemas"][schema]["properties"]
                            .get(exception)
                            .is_some()
                    })
                });
                assert!(backed, "{exception} is on no {parameter} object schema");
            }
        }
    }
}

#[test]
fn the_schemas_reject_what_the_specs_forbid() {
    let spec = Spec::post();
    let doc = &spec.doc;
    let send = &doc["components"]["schemas"]["CreateDirectMessagesByParticipantIdRequest"];
    assert!(spec.validate(send, &json!({"text": "x"}), "b").is_empty());
    for bad in [
        json!({}),
        json!({"text": ""}),
        json!({"text": "x", "extra": 1}),
        json!({"attachments": [{"media_id": "12a"}]}),
        json!({"attachments": [{}]}),
        json!("text"),
    ] {
        assert!(!spec.validate(send, &bad, "b").is_empty(), "{bad}");
    }
    let group = &doc["components"]["schemas"]["CreateDirectMessagesConversationRequest"];
    let ok = json!({"conversation_type": "Group", "participant_ids": ["1", "2"], "message": {"text": "x"}});
    assert!(spec.validate(group, &ok, "b").is_empty());
    for bad in [
        json!({"conversation_type": "group", "participant_ids": ["1", "2"], "message": {"text": "x"}}),
        json!({"conversation_type": "Group", "participant_ids": ["1"], "message": {"text": "x"}}),
        json!({"conversation_type": "Group", "participant_ids": (1..=50).map(|n| n.to_string()).collect::<Vec<_>>(), "message": {"text": "x"}}),
        json!({"conversation_type": "Group", "participant_ids": ["1", "2"]}),
    ] {
        assert!(!spec.validate(group, &bad, "b").is_empty(), "{bad}");
    }
    let legacy = Spec::legacy();
    let message = &legacy.doc["components"]["schemas"]["CreateMessageRequest"];
    assert!(
        legacy
            .validate(message, &json!({"attachments": []}), "b")
            .is_empty()
    );
    assert!(!legacy.validate(message, &json!({}), "b").is_empty());
}

/// The schema of path parameter `name` of `GET template` in `spec`.
fn path_schema<'a>(spec: &'a Spec, template: &str, name: &str) -> &'a Value {
    let operation = &spec.doc["paths"][template]["get"];
    let parameter = spec
        .parameters(operation)
        .into_iter()
        .find(|p| p["name"] == name && p["in"] == "path")
        .unwrap_or_else(|| panic!("{name} of {template} in {}", spec.label));
    &parameter["schema"]
}

#[test]
fn the_spec_patterns_accept_ids_and_refuse_the_rest() {
    let spec = Spec::legacy();
    let conversation = path_schema(&spec, "/2/dm_conversations/{id}/dm_events", "id");
    assert_eq!(
        resolve(&spec.doc, conversation)["pattern"],
        "^([0-9]{1,19}-[0-9]{1,19}|[0-9]{15,19})$"
    );
    for ok in [
        "1-2",
        "123123123-456456456",
        "123456789012345",
        "9999999999999999999",
    ] {
        assert!(
            spec.validate(conversation, &json!(ok), "id").is_empty(),
            "{ok}"
        );
    }
    for bad in [
        "",
        "1",
        "12345678901234",
        "1-",
        "-1",
        "1-2-3",
        "12345678901234567890",
        "a-1",
        "1-2\n",
    ] {
        assert!(
            !spec.validate(conversation, &json!(bad), "id").is_empty(),
            "{bad}"
        );
    }
    let media = "/2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}";
    let resource = path_schema(&spec, media, "resource_id");
    assert!(
        spec.validate(resource, &json!("ncc3LNYu.jpg"), "r")
            .is_empty()
    );
    assert!(!spec.validate(resource, &json!("a/b"), "r").is_empty());
    assert!(
        !spec
            .validate(resource, &json!("a".repeat(51)), "r")
            .is_empty()
    );
    let event = path_schema(&spec, "/2/dm_events/{event_id}", "event_id");
    assert!(spec.validate(event, &json!("0"), "e").is_empty());
    assert!(!spec.validate(event, &json!("1x"), "e").is_empty());
    assert!(
        !spec.validate(event, &json!(1), "e").is_empty(),
        "a number is not a string"
    );
}

#[test]
#[should_panic(expected = "query parameter bogus undeclared")]
fn an_undeclared_query_parameter_fails_the_check() {
    let mut request = ListEvents::new()
        .build_request(&RequestContext::default())
        .unwrap();
    *request.uri_mut() = "https://api.x.com/2/dm_events?bogus=1".parse().unwrap();
    Spec::legacy().check(&request);
}

#[test]
#[should_panic(expected = "is not one of")]
fn an_undeclared_enum_value_fails_the_check() {
    let mut request = ListEvents::new()
        .build_request(&RequestContext::default())
        .unwrap();
    *request.uri_mut() = "https://api.x.com/2/dm_events?dm_event.fields=id%2Cbogus"
        .parse()
        .unwrap();
    Spec::legacy().check(&request);
}

#[test]
#[should_panic(expected = "does not match")]
fn a_path_parameter_off_pattern_fails_the_check() {
    let mut request = BlockUser::new(UserId::try_from(1).unwrap())
        .build_request(&RequestContext::default())
        .unwrap();
    *request.uri_mut() = "https://api.x.com/2/users/abc/dm/block".parse().unwrap();
    Spec::post().check(&request);
}

fn append_request() -> http::Request<Bytes> {
    AppendUpload::new(
        MediaId::try_from(1).unwrap(),
        0,
        Bytes::from_static(b"abc"),
        "b0undary",
    )
    .unwrap()
    .build_request(&RequestContext::default())
    .unwrap()
}

#[test]
#[should_panic(expected = "'segment' was unexpected")]
fn a_misnamed_multipart_field_fails_the_check() {
    let mut request = append_request();
    let body = String::from_utf8(request.body().to_vec())
        .unwrap()
        .replace("name=\"segment_index\"", "name=\"segment\"");
    *request.body_mut() = Bytes::from(body);
    Spec::post().check(&request);
}

#[test]
#[should_panic(expected = "1000 is greater than the maximum of 999")]
fn a_multipart_value_out_of_range_fails_the_check() {
    let mut request = append_request();
    let body = String::from_utf8(request.body().to_vec())
        .unwrap()
        .replace("\r\n\r\n0\r\n", "\r\n\r\n1000\r\n");
    *request.body_mut() = Bytes::from(body);
    Spec::post().check(&request);
}

#[test]
#[should_panic(expected = "declares no multipart/form-data body")]
fn a_multipart_body_where_only_json_is_declared_fails_the_check() {
    let mut request = InitializeUpload::new(10, MediaType::Jpeg, MediaCategory::DmImage)
        .unwrap()
        .build_request(&RequestContext::default())
        .unwrap();
    let multipart = append_request();
    request
        .headers_mut()
        .insert("content-type", multipart.headers()["content-type"].clone());
    *request.body_mut() = multipart.body().clone();
    Spec::legacy().check(&request);
}
