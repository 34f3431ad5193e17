use std::time::Duration;

use base64::Engine;
use xdm_emulator::{Emulator, ManualClock, RateLimits};

use crate::common::{Api, Auth, Resp, query_pairs, raw};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn authorize_url(emu: &Emulator, scope: &str) -> String {
    format!(
        "{}/i/oauth2/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state=st4te&code_challenge={CHALLENGE}&code_challenge_method=S256",
        emu.base_url(),
        emu.credentials().oauth2.client_id,
        enc(REDIRECT),
        enc(scope)
    )
}

fn location_params(r: &Resp) -> Vec<(String, String)> {
    assert_eq!(r.status, 302, "{}", String::from_utf8_lossy(&r.body));
    let loc = r.header("location").unwrap();
    assert!(
        loc.starts_with(REDIRECT) || loc.starts_with("http://127.0.0.1:9/cb"),
        "{loc}"
    );
    query_pairs(loc.split_once('?').unwrap().1)
}

fn get<'a>(p: &'a [(String, String)], k: &str) -> Option<&'a str> {
    p.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

async fn form(emu: &Emulator, path: &str, body: &str, basic: bool) -> Resp {
    let mut headers = Vec::new();
    if basic {
        let c = &emu.credentials().oauth2;
        let b = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", c.client_id, c.client_secret));
        headers.push(("authorization", format!("Basic {b}")));
    }
    raw(
        "POST",
        &format!("{}{path}", emu.base_url()),
        &headers,
        Some((
            "application/x-www-form-urlencoded",
            body.as_bytes().to_vec(),
        )),
    )
    .await
}

async fn code(emu: &Emulator, scope: &str) -> String {
    let r = raw("GET", &authorize_url(emu, scope), &[], None).await;
    let p = location_params(&r);
    assert_eq!(get(&p, "state"), Some("st4te"));
    get(&p, "code").unwrap().to_owned()
}

#[tokio::test]
async fn pkce_code_flow_refresh_rotation_and_revoke() {
    let emu = Emulator::builder()
        .seed_events(10)
        .rate_limits(RateLimits::off())
        .start()
        .await
        .unwrap();
    let client_id = emu.credentials().oauth2.client_id.clone();
    let c = code(
        &emu,
        "dm.read dm.write tweet.read users.read offline.access",
    )
    .await;
    let body = format!(
        "grant_type=authorization_code&code={c}&redirect_uri={}&code_verifier={VERIFIER}&client_id={client_id}",
        enc(REDIRECT)
    );
    let r = form(&emu, "/2/oauth2/token", &body, false).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let t = r.json();
    assert_eq!(t["token_type"], "bearer");
    assert_eq!(t["expires_in"], 7200);
    assert_eq!(
        t["scope"],
        "dm.read dm.write tweet.read users.read offline.access"
    );
    let access = t["access_token"].as_str().unwrap().to_owned();
    let refresh = t["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        Api::new(&emu, Auth::Bearer(access.clone()))
            .get("/2/dm_events")
            .await
            .status,
        200
    );
    // The code is spent.
    assert_eq!(
        form(&emu, "/2/oauth2/token", &body, false).await.json()["error"],
        "invalid_request"
    );
    // Refresh (confidential client): a new pair, and the old refresh token dies.
    let r = form(
        &emu,
        "/2/oauth2/token",
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
        true,
    )
    .await;
    assert_eq!(r.status, 200);
    let t2 = r.json();
    let refresh2 = t2["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh2, refresh);
    let again = form(
        &emu,
        "/2/oauth2/token",
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
        true,
    )
    .await;
    assert_eq!(again.status, 400);
    // A public client refreshes with client_id in the body.
    let r = form(
        &emu,
        "/2/oauth2/token",
        &format!("grant_type=refresh_token&refresh_token={refresh2}&client_id={client_id}"),
        false,
    )
    .await;
    assert_eq!(r.status, 200);
    // Revoke the access token.
    let access2 = r.json()["access_token"].as_str().unwrap().to_owned();
    let r = form(
        &emu,
        "/2/oauth2/revoke",
        &format!("token={access2}&client_id={client_id}"),
        false,
    )
    .await;
    assert_eq!(r.json(), serde_json::json!({"revoked": true}));
    assert_eq!(
        Api::new(&emu, Auth::Bearer(access2))
            .get("/2/dm_events")
            .await
            .status,
        401
    );
    let r = form(
        &emu,
        "/2/oauth2/revoke",
        &format!("client_id={client_id}"),
        false,
    )
    .await;
    assert_eq!(r.status, 400);
    // Without offline.access there is no refresh token.
    let c = code(&emu, "dm.read tweet.read users.read").await;
    let body = format!(
        "grant_type=authorization_code&code={c}&redirect_uri={}&code_verifier={VERIFIER}",
        enc(REDIRECT)
    );
    let t = form(&emu, "/2/oauth2/token", &body, true).await.json();
    assert!(t.get("refresh_token").is_none());
}

#[tokio::test]
async fn token_endpoint_refusals() {
    let clock = ManualClock::new(1_790_000_000_000);
    let emu = Emulator::builder()
        .seed_events(10)
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let client_id = emu.credentials().oauth2.client_id.clone();
    let exchange = |c: String, verifier: &str, redirect: &str| {
        format!(
            "grant_type=authorization_code&code={c}&redirect_uri={}&code_verifier={verifier}&client_id={client_id}",
            enc(redirect)
        )
    };
    let c = code(&emu, "dm.read").await;
    let r = form(
        &emu,
        "/2/oauth2/token",
        &exchange(c, "wrong-verifier", REDIRECT),
        false,
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("code verifier")
    );
    let c = code(&emu, "dm.read").await;
    let r = form(
        &emu,
        "/2/oauth2/token",
        &exchange(c, VERIFIER, "http://127.0.0.1:9/other"),
        false,
    )
    .await;
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("redirect uri")
    );
    let c = code(&emu, "dm.read").await;
    clock.advance(Duration::from_secs(31));
    let r = form(
        &emu,
        "/2/oauth2/token",
        &exchange(c, VERIFIER, REDIRECT),
        false,
    )
    .await;
    assert_eq!(r.status, 400, "codes live 30 s");
    let r = form(
        &emu,
        "/2/oauth2/token",
        "grant_type=authorization_code&code=x",
        false,
    )
    .await;
    assert_eq!(r.status, 401, "no client authentication");
    let r = raw(
        "POST",
        &format!("{}/2/oauth2/token", emu.base_url()),
        &[("authorization", "Basic Zm9vOmJhcg==".into())],
        Some((
            "application/x-www-form-urlencoded",
            b"grant_type=refresh_token&refresh_token=x".to_vec(),
        )),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "unauthorized_client");
    for (body, err) in [
        ("grant_type=password", "unsupported_grant_type"),
        ("grant_type=authorization_code", "invalid_request"),
        ("grant_type=refresh_token", "invalid_request"),
        (
            "grant_type=refresh_token&refresh_token=nope",
            "invalid_request",
        ),
        ("x=1", "invalid_request"),
    ] {
        let r = form(
            &emu,
            "/2/oauth2/token",
            &format!("{body}&client_id={client_id}"),
            false,
        )
        .await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.json()["error"], err, "{body}");
    }
}

#[tokio::test]
async fn authorize_page_checks_and_consent() {
    let emu = Emulator::builder()
        .seed_events(10)
        .auto_approve(false)
        .start()
        .await
        .unwrap();
    let url = authorize_url(&emu, "dm.read users.read");
    let r = raw("GET", &url, &[], None).await;
    assert_eq!(r.status, 200);
    let html = String::from_utf8_lossy(&r.body).to_string();
    assert!(
        html.contains("<form method=\"post\" action=\"/i/oauth2/authorize\">"),
        "{html}"
    );
    assert!(html.contains("name=\"code_challenge\""));
    let q = url.split_once('?').unwrap().1;
    let post = |decision: &str| {
        let body = format!("{q}&decision={decision}");
        let u = format!("{}/i/oauth2/authorize", emu.base_url());
        async move {
            raw(
                "POST",
                &u,
                &[],
                Some(("application/x-www-form-urlencoded", body.into_bytes())),
            )
            .await
        }
    };
    let p = location_params(&post("approve").await);
    assert!(get(&p, "code").is_some());
    let p = location_params(&post("deny").await);
    assert_eq!(get(&p, "error"), Some("access_denied"));
    for bad in [
        url.replace("response_type=code", "response_type=token"),
        url.replace(&emu.credentials().oauth2.client_id, "someone-else"),
        url.replace("code_challenge_method=S256", "code_challenge_method=S512"),
        url.replace("&state=st4te", ""),
        url.replace("&state=st4te", &format!("&state={}", "s".repeat(501))),
    ] {
        let r = raw("GET", &bad, &[], None).await;
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
    }
}

fn sign(
    emu: &Emulator,
    method: &str,
    path: &str,
    token: Option<(&str, &str)>,
    callback: Option<&str>,
    verifier: Option<&str>,
) -> String {
    let c = &emu.credentials().oauth1;
    let mut b = oauth1_request::Builder::<_, _>::new(
        oauth1_request::Credentials::new(c.consumer_key.as_str(), c.consumer_secret.as_str()),
        oauth1_request::HmacSha1::new(),
    );
    if let Some((t, s)) = token {
        b.token(oauth1_request::Credentials::new(t, s));
    }
    b.callback(callback);
    b.verifier(verifier);
    b.authorize(method, format!("{}{path}", emu.base_url()), &())
}

#[tokio::test]
async fn oauth1_three_legged_flow() {
    let emu = Emulator::builder()
        .seed_events(10)
        .rate_limits(RateLimits::off())
        .start()
        .await
        .unwrap();
    let base = emu.base_url().to_owned();
    let cb = "http://127.0.0.1:9/cb";
    let h = sign(&emu, "POST", "/oauth/request_token", None, Some(cb), None);
    let r = raw(
        "POST",
        &format!("{base}/oauth/request_token"),
        &[("authorization", h)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let p = query_pairs(std::str::from_utf8(&r.body).unwrap());
    assert_eq!(get(&p, "oauth_callback_confirmed"), Some("true"));
    let (rt, rs) = (
        get(&p, "oauth_token").unwrap().to_owned(),
        get(&p, "oauth_token_secret").unwrap().to_owned(),
    );
    let r = raw(
        "GET",
        &format!("{base}/oauth/authorize?oauth_token={rt}"),
        &[],
        None,
    )
    .await;
    let p = location_params(&r);
    assert_eq!(get(&p, "oauth_token"), Some(rt.as_str()));
    let verifier = get(&p, "oauth_verifier").unwrap().to_owned();
    // A wrong verifier is refused.
    let h = sign(
        &emu,
        "POST",
        "/oauth/access_token",
        Some((&rt, &rs)),
        None,
        Some("wrong"),
    );
    let r = raw(
        "POST",
        &format!("{base}/oauth/access_token"),
        &[("authorization", h)],
        None,
    )
    .await;
    assert_eq!(r.status, 401);
    let h = sign(
        &emu,
        "POST",
        "/oauth/access_token",
        Some((&rt, &rs)),
        None,
        Some(&verifier),
    );
    let r = raw(
        "POST",
        &format!("{base}/oauth/access_token"),
        &[("authorization", h)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let p = query_pairs(std::str::from_utf8(&r.body).unwrap());
    assert_eq!(get(&p, "screen_name"), Some("emu_me"));
    let c = &emu.credentials().oauth1;
    let api = Api::new(
        &emu,
        Auth::OAuth1 {
            ck: c.consumer_key.clone(),
            cs: c.consumer_secret.clone(),
            tk: get(&p, "oauth_token").unwrap().into(),
            ts: get(&p, "oauth_token_secret").unwrap().into(),
        },
    );
    assert_eq!(api.get("/2/dm_events").await.status, 200);
    // The request token is spent.
    let h = sign(
        &emu,
        "POST",
        "/oauth/access_token",
        Some((&rt, &rs)),
        None,
        Some(&verifier),
    );
    assert_eq!(
        raw(
            "POST",
            &format!("{base}/oauth/access_token"),
            &[("authorization", h)],
            None
        )
        .await
        .status,
        401
    );
}

#[tokio::test]
async fn oauth1_flow_edges() {
    let emu = Emulator::builder()
        .seed_events(10)
        .auto_approve(false)
        .start()
        .await
        .unwrap();
    let base = emu.base_url().to_owned();
    // Unsigned, and signed without a callback.
    assert_eq!(
        raw("POST", &format!("{base}/oauth/request_token"), &[], None)
            .await
            .status,
        401
    );
    let h = sign(&emu, "POST", "/oauth/request_token", None, None, None);
    assert_eq!(
        raw(
            "POST",
            &format!("{base}/oauth/request_token"),
            &[("authorization", h)],
            None
        )
        .await
        .status,
        403
    );
    let h = sign(
        &emu,
        "POST",
        "/oauth/request_token",
        None,
        Some("oob"),
        None,
    );
    let r = raw(
        "POST",
        &format!("{base}/oauth/request_token"),
        &[("authorization", h)],
        None,
    )
    .await;
    let p = query_pairs(std::str::from_utf8(&r.body).unwrap());
    let rt = get(&p, "oauth_token").unwrap().to_owned();
    // Consent page, then approval shows a PIN for oob.
    let r = raw(
        "GET",
        &format!("{base}/oauth/authorize?oauth_token={rt}"),
        &[],
        None,
    )
    .await;
    assert!(String::from_utf8_lossy(&r.body).contains("action=\"/oauth/authorize\""));
    let r = raw(
        "POST",
        &format!("{base}/oauth/authorize"),
        &[],
        Some((
            "application/x-www-form-urlencoded",
            format!("oauth_token={rt}&decision=approve").into_bytes(),
        )),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(String::from_utf8_lossy(&r.body).contains("oauth_pin"));
    assert_eq!(
        raw(
            "GET",
            &format!("{base}/oauth/authorize?oauth_token=unknown"),
            &[],
            None
        )
        .await
        .status,
        400
    );
    assert_eq!(
        raw("GET", &format!("{base}/oauth/authorize"), &[], None)
            .await
            .status,
        400
    );
    // Denial redirects with `denied`.
    let h = sign(
        &emu,
        "POST",
        "/oauth/request_token",
        None,
        Some("http://127.0.0.1:9/cb"),
        None,
    );
    let r = raw(
        "POST",
        &format!("{base}/oauth/request_token"),
        &[("authorization", h)],
        None,
    )
    .await;
    let rt = get(
        &query_pairs(std::str::from_utf8(&r.body).unwrap()),
        "oauth_token",
    )
    .unwrap()
    .to_owned();
    let r = raw(
        "POST",
        &format!("{base}/oauth/authorize"),
        &[],
        Some((
            "application/x-www-form-urlencoded",
            format!("oauth_token={rt}&decision=deny").into_bytes(),
        )),
    )
    .await;
    assert_eq!(get(&location_params(&r), "denied"), Some(rt.as_str()));
}

#[tokio::test]
async fn revoke_needs_client_authentication() {
    let emu = Emulator::builder().seed_events(5).start().await.unwrap();
    let t = emu.credentials().oauth2.access_token.clone();
    let r = form(&emu, "/2/oauth2/revoke", &format!("token={t}"), false).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        Api::new(&emu, Auth::Bearer(t.clone()))
            .get("/2/dm_events")
            .await
            .status,
        200
    );
    let r = form(&emu, "/2/oauth2/revoke", &format!("token={t}"), true).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        Api::new(&emu, Auth::Bearer(t))
            .get("/2/dm_events")
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn registered_callbacks_only() {
    let emu = Emulator::builder()
        .seed_events(5)
        .redirect_uris([REDIRECT])
        .start()
        .await
        .unwrap();
    let r = raw("GET", &authorize_url(&emu, "dm.read"), &[], None).await;
    assert_eq!(r.status, 302);
    let other = authorize_url(&emu, "dm.read")
        .replace(&enc(REDIRECT), &enc("http://127.0.0.1:9/elsewhere"));
    assert_eq!(raw("GET", &other, &[], None).await.status, 400);
    let base = emu.base_url().to_owned();
    let h = sign(
        &emu,
        "POST",
        "/oauth/request_token",
        None,
        Some("http://127.0.0.1:9/elsewhere"),
        None,
    );
    let r = raw(
        "POST",
        &format!("{base}/oauth/request_token"),
        &[("authorization", h)],
        None,
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["errors"][0]["code"], 415);
    let h = sign(
        &emu,
        "POST",
        "/oauth/request_token",
        None,
        Some(REDIRECT),
        None,
    );
    assert_eq!(
        raw(
            "POST",
            &format!("{base}/oauth/request_token"),
            &[("authorization", h)],
            None
        )
        .await
        .status,
        200
    );
    let h = sign(
        &emu,
        "POST",
        "/oauth/request_token",
        None,
        Some("oob"),
        None,
    );
    assert_eq!(
        raw(
            "POST",
            &format!("{base}/oauth/request_token"),
            &[("authorization", h)],
            None
        )
        .await
        .status,
        200
    );
}
