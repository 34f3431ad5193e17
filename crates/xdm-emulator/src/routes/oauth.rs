//! The OAuth endpoints: 2.0 authorize / token / revoke, and the 1.0a three-legged flow.

use http::StatusCode;
use serde_json::json;

use super::Ctx;
use crate::auth::oauth1::enc;
use crate::auth::oauth2::{parse_basic, pkce_matches};
use crate::auth::{AuthCode, CODE_MS, RequestToken, TokenKind};
use crate::problem::oauth2_error;
use crate::reply::Reply;
use crate::server::Inner;

/// The user who approves consent screens.
const APPROVER: u32 = 0;

fn param<'a>(p: &'a [(String, String)], k: &str) -> Option<&'a str> {
    p.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn error_page(msg: &str) -> Reply {
    Reply::html(
        StatusCode::BAD_REQUEST,
        format!(
            "<!doctype html><title>Error</title><h1>Something went wrong</h1><p>{}</p>",
            html_escape(msg)
        ),
    )
}

fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", q.join("&"))
}

fn consent_page(action: &str, fields: &[(String, String)], what: &str) -> Reply {
    let hidden: String = fields
        .iter()
        .filter(|(k, _)| k != "decision")
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                html_escape(k),
                html_escape(v)
            )
        })
        .collect();
    Reply::html(
        StatusCode::OK,
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Authorize app</title></head><body>\
             <h1>Authorize access to your account?</h1><p>{}</p>\
             <form method=\"post\" action=\"{action}\">{hidden}\
             <button name=\"decision\" value=\"approve\">Authorize app</button> \
             <button name=\"decision\" value=\"deny\">Cancel</button></form></body></html>",
            html_escape(what)
        ),
    )
}

/// `GET /i/oauth2/authorize` shows consent (or approves at once in auto-approve mode);
/// `POST` carries the decision.
pub(super) fn authorize2(inner: &mut Inner, ctx: &Ctx) -> Reply {
    let p = if ctx.method == http::Method::POST {
        ctx.form()
    } else {
        ctx.query.clone()
    };
    let need = [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
    ];
    if let Some(k) = need.iter().find(|k| param(&p, k).is_none_or(str::is_empty)) {
        return error_page(&format!("The parameter {k} is missing."));
    }
    let get = |k| param(&p, k).unwrap_or_default().to_owned();
    if get("client_id") != inner.auth.client_id {
        return error_page("Unknown client_id.");
    }
    if get("response_type") != "code" {
        return error_page("response_type must be code.");
    }
    let method = param(&p, "code_challenge_method")
        .unwrap_or("plain")
        .to_owned();
    if method != "S256" && method != "plain" {
        return error_page("code_challenge_method must be S256 or plain.");
    }
    if get("state").len() > 500 {
        return error_page("state is longer than 500 characters.");
    }
    let redirect = get("redirect_uri");
    if !inner.callback_allowed(&redirect) {
        return error_page("The redirect_uri is not registered for this app.");
    }
    let decision = param(&p, "decision");
    if decision.is_none() && !inner.auto_approve {
        let scopes = get("scope");
        return consent_page(
            "/i/oauth2/authorize",
            &p,
            &format!("The app asks for: {scopes}"),
        );
    }
    if decision.is_some_and(|d| d != "approve") {
        return Reply::redirect(&with_query(
            &redirect,
            &[("error", "access_denied"), ("state", &get("state"))],
        ));
    }
    let code = inner.auth.new_token(64);
    inner.auth.codes.insert(
        code.clone(),
        AuthCode {
            client_id: get("client_id"),
            redirect_uri: redirect.clone(),
            challenge: get("code_challenge"),
            method,
            scopes: get("scope")
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            user: APPROVER,
            expires_ms: ctx.now_ms + CODE_MS,
        },
    );
    Reply::redirect(&with_query(
        &redirect,
        &[("state", &get("state")), ("code", &code)],
    ))
}

/// Client authentication: Basic for confidential clients, `client_id` in the body for public ones.
fn client(inner: &Inner, ctx: &Ctx, form: &[(String, String)]) -> Result<String, Reply> {
    let bad = || {
        oauth2_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "Missing valid authorization header",
        )
    };
    if let Some(h) = ctx.header("authorization") {
        let (id, secret) = parse_basic(h).ok_or_else(bad)?;
        return if id == inner.auth.client_id && secret == inner.auth.client_secret {
            Ok(id)
        } else {
            Err(bad())
        };
    }
    match param(form, "client_id") {
        Some(id) if id == inner.auth.client_id => Ok(id.to_owned()),
        _ => Err(bad()),
    }
}

fn token_reply(access: String, refresh: Option<String>, scopes: &[String]) -> Reply {
    let mut body = json!({
        "token_type": "bearer",
        "expires_in": crate::auth::ACCESS_TOKEN_MS / 1000,
        "access_token": access,
        "scope": scopes.join(" "),
    });
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r);
    }
    Reply::json(StatusCode::OK, body)
}

/// `POST /2/oauth2/token`: authorization code (with PKCE) or refresh (with rotation).
pub(super) fn token(inner: &mut Inner, ctx: &Ctx) -> Reply {
    let form = ctx.form();
    let client_id = match client(inner, ctx, &form) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let invalid = |d: &str| oauth2_error(StatusCode::BAD_REQUEST, "invalid_request", d);
    match param(&form, "grant_type") {
        Some("authorization_code") => {
            let (Some(code), Some(redirect), Some(verifier)) = (
                param(&form, "code"),
                param(&form, "redirect_uri"),
                param(&form, "code_verifier"),
            ) else {
                return invalid(
                    "Missing required parameter [code, redirect_uri or code_verifier].",
                );
            };
            // A code is spent by its first use, right or wrong.
            let Some(c) = inner.auth.codes.remove(code) else {
                return invalid("Value passed for the authorization code was invalid.");
            };
            if c.expires_ms <= ctx.now_ms || c.client_id != client_id {
                return invalid("Value passed for the authorization code was invalid.");
            }
            if c.redirect_uri != redirect {
                return invalid(
                    "Value passed for the redirect uri did not match the uri of the authorization code.",
                );
            }
            if !pkce_matches(&c.method, &c.challenge, verifier) {
                return invalid(
                    "Value passed for the code verifier did not match the code challenge.",
                );
            }
            let (a, r) = inner
                .auth
                .issue_oauth2(c.user, c.scopes.clone(), &client_id, ctx.now_ms);
            token_reply(a, r, &c.scopes)
        }
        Some("refresh_token") => {
            let Some(rt) = param(&form, "refresh_token") else {
                return invalid("Missing required parameter [refresh_token].");
            };
            match inner.auth.refresh.get(rt) {
                Some(t) if t.client_id == client_id => {}
                _ => return invalid("Value passed for the token was invalid."),
            }
            let old = inner.auth.refresh.remove(rt).expect("checked above");
            let (a, r) =
                inner
                    .auth
                    .issue_oauth2(old.user, old.scopes.clone(), &client_id, ctx.now_ms);
            token_reply(a, r, &old.scopes)
        }
        Some(_) => oauth2_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The grant type is not supported.",
        ),
        None => invalid("Missing required parameter [grant_type]."),
    }
}

/// `POST /2/oauth2/revoke`: forgets an access or refresh token.
pub(super) fn revoke(inner: &mut Inner, ctx: &Ctx) -> Reply {
    let form = ctx.form();
    if let Err(r) = client(inner, ctx, &form) {
        return r;
    }
    let Some(t) = param(&form, "token") else {
        return oauth2_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter [token].",
        );
    };
    inner.auth.access.remove(t);
    inner.auth.refresh.remove(t);
    Reply::json(StatusCode::OK, json!({"revoked": true}))
}

fn could_not_authenticate() -> Reply {
    Reply::json(
        StatusCode::UNAUTHORIZED,
        json!({"errors": [{"code": 32, "message": "Could not authenticate you."}]}),
    )
}

/// `POST /oauth/request_token`, signed with the consumer key alone.
pub(super) fn request_token(inner: &mut Inner, ctx: &Ctx) -> Reply {
    let form = ctx.form();
    let Some(v) = inner.auth.verify_oauth1(&ctx.facts(&form), TokenKind::None) else {
        return could_not_authenticate();
    };
    let Some(callback) = param(&v.params, "oauth_callback").map(str::to_owned) else {
        return Reply::json(
            StatusCode::FORBIDDEN,
            json!({"errors": [{"code": 417, "message": "Desktop applications only support the oauth_callback value 'oob'"}]}),
        );
    };
    if callback != "oob" && !inner.callback_allowed(&callback) {
        return Reply::json(
            StatusCode::FORBIDDEN,
            json!({"errors": [{"code": 415, "message": "Callback URL not approved for this client application."}]}),
        );
    }
    let token = inner.auth.new_token(27);
    let secret = inner.auth.new_token(32);
    inner.auth.request_tokens.insert(
        token.clone(),
        RequestToken {
            secret: secret.clone(),
            callback,
            verifier: None,
        },
    );
    Reply::form(
        StatusCode::OK,
        format!("oauth_token={token}&oauth_token_secret={secret}&oauth_callback_confirmed=true"),
    )
}

/// `GET /oauth/authorize?oauth_token=…` (consent or auto-approve) and its `POST` decision.
pub(super) fn authorize1(inner: &mut Inner, ctx: &Ctx) -> Reply {
    let p = if ctx.method == http::Method::POST {
        ctx.form()
    } else {
        ctx.query.clone()
    };
    let Some(token) = param(&p, "oauth_token").map(str::to_owned) else {
        return error_page("The parameter oauth_token is missing.");
    };
    let Some(rt) = inner.auth.request_tokens.get(&token).cloned() else {
        return error_page("This request token is invalid or has expired.");
    };
    let decision = param(&p, "decision");
    if decision.is_none() && !inner.auto_approve {
        return consent_page("/oauth/authorize", &p, "An app asks to use your account.");
    }
    if decision.is_some_and(|d| d != "approve") {
        inner.auth.request_tokens.remove(&token);
        return Reply::redirect(&with_query(&rt.callback, &[("denied", &token)]));
    }
    let verifier = inner.auth.new_token(32);
    if let Some(r) = inner.auth.request_tokens.get_mut(&token) {
        r.verifier = Some(verifier.clone());
    }
    if rt.callback == "oob" {
        return Reply::html(
            StatusCode::OK,
            format!(
                "<!doctype html><title>PIN</title><p>Enter this PIN: <code id=\"oauth_pin\">{verifier}</code></p>"
            ),
        );
    }
    Reply::redirect(&with_query(
        &rt.callback,
        &[("oauth_token", &token), ("oauth_verifier", &verifier)],
    ))
}

/// `POST /oauth/access_token`, signed with the request token, carrying `oauth_verifier`.
pub(super) fn access_token(inner: &mut Inner, ctx: &Ctx) -> Reply {
    let form = ctx.form();
    let Some(v) = inner
        .auth
        .verify_oauth1(&ctx.facts(&form), TokenKind::Request)
    else {
        return could_not_authenticate();
    };
    let token = v.token.unwrap_or_default();
    let expected = inner
        .auth
        .request_tokens
        .get(&token)
        .and_then(|r| r.verifier.clone());
    let given = param(&v.params, "oauth_verifier");
    match (expected, given) {
        (Some(e), Some(g)) if e == g => {}
        _ => {
            return Reply::json(
                StatusCode::UNAUTHORIZED,
                json!({"errors": [{"code": 89, "message": "Invalid or expired token."}]}),
            );
        }
    }
    inner.auth.request_tokens.remove(&token);
    let user = &inner.world.users[APPROVER as usize];
    let (uid, name) = (user.id, user.username.clone());
    let (t, s) = inner.auth.issue_oauth1(APPROVER, uid);
    Reply::form(
        StatusCode::OK,
        format!(
            "oauth_token={t}&oauth_token_secret={s}&user_id={uid}&screen_name={}",
            enc(&name)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::oauth1::parse_pairs;

    #[test]
    fn query_building_and_escaping() {
        assert_eq!(
            with_query("http://a/cb", &[("s", "a b")]),
            "http://a/cb?s=a%20b"
        );
        assert_eq!(
            with_query("http://a/cb?x=1", &[("c", "d")]),
            "http://a/cb?x=1&c=d"
        );
        assert_eq!(
            html_escape("<a href=\"x\">&"),
            "&lt;a href=&quot;x&quot;&gt;&amp;"
        );
        assert_eq!(parse_pairs("a=1")[0].1, "1");
    }
}
