//! `xdm login` and `xdm logout`: OAuth 2.0 with PKCE through a browser, and forgetting it.
//!
//! Login listens once on `127.0.0.1` for the browser's redirect, so the code never passes
//! through anything but the user's own machine. The URL to open is printed on standard
//! error, and a browser is started when the system has a way to (failing that is fine: the
//! URL is enough). Requests to other paths, or with a `state` that is not ours, are answered
//! and ignored, so a stray or forged request cannot end the login.

use std::time::{Duration, SystemTime};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use xdm_auth::error::CallbackError;
use xdm_auth::oauth2::{PendingAuthorization, RevocableToken, X_AUTHORIZE_URL};
use xdm_auth::secret::AuthorizationCode;
use xdm_client::TokenStore;
use xdm_core::{BaseUrl, InvalidInput, Scope};
use xdm_hyper::FileTokenStore;

use crate::cli::{Global, LoginArgs};
use crate::config::{self, SavedClient};
use crate::connect::{base_url, oauth_client, transport};
use crate::exit::{Failure, Kind};
use crate::output::json_line;

/// Where the browser is sent back to, on the listener's port.
const CALLBACK_PATH: &str = "/callback";

/// The largest request head read from the browser.
const MAX_HEAD: usize = 16 * 1024;

/// The authorization page: X's for X's API, else the same host's (an emulator or a proxy).
pub fn authorize_url(base: &BaseUrl) -> Result<BaseUrl, InvalidInput> {
    if base.as_str() == BaseUrl::X_API {
        BaseUrl::parse(X_AUTHORIZE_URL)
    } else {
        BaseUrl::parse(&format!("{}/i/oauth2/authorize", base.origin()))
    }
}

/// Runs the whole login.
pub async fn login(args: LoginArgs, global: &Global) -> Result<(), Failure> {
    if global.emulator {
        return Err(Failure::new(
            Kind::Input,
            "`xdm --emulator` needs no login: the emulator's credentials are used automatically",
        ));
    }
    if args.client_id.trim().is_empty() {
        return Err(InvalidInput::new(
            "client_id",
            "it is empty",
            "your app's OAuth 2.0 client id",
        )
        .into());
    }
    let scopes: Vec<Scope> = args
        .scopes
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(Scope::parse)
        .collect();
    if scopes.is_empty() {
        return Err(InvalidInput::new(
            "scopes",
            "no scope given",
            "e.g. dm.read,dm.write,tweet.read,users.read,offline.access",
        )
        .into());
    }
    let base = base_url(global)?;
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| Failure::io(format!("could not listen on 127.0.0.1:{}", args.port), &e))?;
    let port = listener
        .local_addr()
        .map_err(|e| Failure::io("the redirect listener", &e))?
        .port();
    let redirect = format!("http://127.0.0.1:{port}{CALLBACK_PATH}");
    let saved = SavedClient {
        client_id: args.client_id.trim().to_owned(),
        client_secret: args.client_secret.clone().filter(|s| !s.is_empty()),
    };
    let client = oauth_client(&saved, &redirect, &base).with_authorize_url(authorize_url(&base)?);
    let pending = client
        .authorize(&scopes)
        .map_err(|e| Failure::new(Kind::Local, format!("no randomness for PKCE: {e}")))?;
    eprintln!(
        "Open this URL in a browser to authorize xdm:\n\n  {}\n",
        pending.url()
    );
    eprintln!("Waiting for the redirect to {redirect} ...");
    if !args.no_browser {
        open_browser(pending.url());
    }
    let wait = Duration::from_secs(args.timeout);
    let code = tokio::time::timeout(wait, wait_for_code(&listener, &pending, port))
        .await
        .map_err(|_| {
            Failure::new(
                Kind::Auth,
                format!("no authorization arrived within {}s", args.timeout),
            )
        })??;
    drop(listener);
    let response = transport()?
        .send(client.exchange_code_request(&code, pending.verifier()))
        .await
        .map_err(|e| Failure::new(Kind::Network, format!("the token request failed: {e}")))?;
    let token = client
        .parse_token_response(&response, SystemTime::now())
        .map_err(|e| Failure::new(Kind::Auth, format!("X refused the authorization code: {e}")))?;
    let dir = config::config_dir()?;
    config::ensure_dir(&dir)?;
    let store = FileTokenStore::new(config::token_path(&dir));
    store
        .save(&token)
        .await
        .map_err(|e| Failure::new(Kind::Local, e.to_string()))?;
    config::save_client(&dir, &saved)?;
    let granted: Vec<String> = token
        .scopes()
        .unwrap_or(&[])
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    if global.json {
        json_line(&json!({
            "token_file": store.path().display().to_string(),
            "scopes": granted,
        }));
    } else {
        println!(
            "Logged in. The token is saved in {} (scopes: {}).",
            store.path().display(),
            if granted.is_empty() {
                "as asked".to_owned()
            } else {
                granted.join(" ")
            }
        );
    }
    Ok(())
}

/// Accepts connections until one carries our redirect.
async fn wait_for_code(
    listener: &TcpListener,
    pending: &PendingAuthorization,
    port: u16,
) -> Result<AuthorizationCode, Failure> {
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|e| Failure::io("the redirect listener", &e))?;
        let Some(target) = read_target(&mut stream).await else {
            continue;
        };
        if target.split('?').next() != Some(CALLBACK_PATH) {
            respond(&mut stream, "404 Not Found", "Nothing here.").await;
            continue;
        }
        match pending.handle_callback(&format!("http://127.0.0.1:{port}{target}")) {
            Ok(code) => {
                respond(
                    &mut stream,
                    "200 OK",
                    "xdm is authorized. You can close this tab and return to the terminal.",
                )
                .await;
                return Ok(code);
            }
            Err(e @ CallbackError::Denied { .. }) => {
                respond(&mut stream, "200 OK", "The authorization was refused.").await;
                return Err(Failure::new(Kind::Auth, e.to_string()));
            }
            Err(e) => {
                respond(&mut stream, "400 Bad Request", &e.to_string()).await;
            }
        }
    }
}

/// The request target of a `GET`, or `None` for anything else.
async fn read_target(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    parse_request_line(&head)
}

/// The target of `GET <target> HTTP/1.x` on the first line.
fn parse_request_line(head: &[u8]) -> Option<String> {
    let line = head.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let mut parts = line.split(' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("GET"), Some(target), Some(v))
            if v.starts_with("HTTP/1.") && target.starts_with('/') =>
        {
            Some(target.to_owned())
        }
        _ => None,
    }
}

async fn respond(stream: &mut TcpStream, status: &str, text: &str) {
    let body = format!(
        "<!doctype html><meta charset=\"utf-8\"><title>xdm</title><p>{}</p>",
        text.replace('&', "&amp;").replace('<', "&lt;")
    );
    let reply = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Starts the system's browser on `url`, quietly; the printed URL covers every failure.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let _ = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// Revokes the saved token at X and deletes it. The local copy is deleted even when X
/// cannot be reached, and the failure is reported after.
pub async fn logout(global: &Global) -> Result<(), Failure> {
    if global.emulator {
        return Err(Failure::new(
            Kind::Input,
            "`xdm --emulator` keeps no login to forget",
        ));
    }
    let dir = config::config_dir()?;
    let store = FileTokenStore::new(config::token_path(&dir));
    let token = store
        .load()
        .await
        .map_err(|e| Failure::new(Kind::Local, e.to_string()))?;
    let client = config::load_client(&dir)?;
    let (Some(token), Some(client)) = (token, client) else {
        config::remove_if_present(&config::token_path(&dir))?;
        config::remove_if_present(&config::client_path(&dir))?;
        if global.json {
            json_line(&json!({ "logged_out": false }));
        } else {
            println!("Not logged in.");
        }
        return Ok(());
    };
    let base = base_url(global)?;
    let oauth = oauth_client(&client, "", &base);
    let transport = transport()?;
    let mut failure = None;
    let mut revocations = vec![RevocableToken::Access(token.access_token())];
    if let Some(refresh) = token.refresh_token() {
        revocations.insert(0, RevocableToken::Refresh(refresh));
    }
    for revocable in revocations {
        let result = match transport.send(oauth.revoke_request(revocable)).await {
            Ok(response) => oauth.parse_revoke_response(&response).map_err(|e| {
                Failure::new(Kind::Auth, format!("X refused to revoke the token: {e}"))
            }),
            Err(e) => Err(Failure::new(
                Kind::Network,
                format!("could not reach X to revoke the token: {e}"),
            )),
        };
        if let Err(f) = result {
            failure.get_or_insert(f);
        }
    }
    config::remove_if_present(&config::token_path(&dir))?;
    config::remove_if_present(&config::client_path(&dir))?;
    let mut lock = config::token_path(&dir).into_os_string();
    lock.push(".lock");
    config::remove_if_present(std::path::Path::new(&lock))?;
    match failure {
        None => {
            if global.json {
                json_line(&json!({ "logged_out": true }));
            } else {
                println!("Logged out: the token is revoked and forgotten.");
            }
            Ok(())
        }
        Some(mut f) => {
            f.message
                .push_str(" (the saved token is forgotten all the same)");
            Err(f)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_line_gives_the_target_of_a_get_only() {
        assert_eq!(
            parse_request_line(b"GET /callback?code=a&state=b HTTP/1.1\r\nHost: x\r\n\r\n")
                .as_deref(),
            Some("/callback?code=a&state=b")
        );
        assert_eq!(parse_request_line(b"POST /callback HTTP/1.1\r\n\r\n"), None);
        assert_eq!(
            parse_request_line(b"GET http://evil/ HTTP/1.1\r\n\r\n"),
            None
        );
        assert_eq!(parse_request_line(b"\xff\xfe"), None);
    }

    #[test]
    fn the_authorize_page_follows_the_base_url() {
        assert_eq!(
            authorize_url(&BaseUrl::x_api()).unwrap().as_str(),
            X_AUTHORIZE_URL
        );
        let local = BaseUrl::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            authorize_url(&local).unwrap().as_str(),
            "http://127.0.0.1:8080/i/oauth2/authorize"
        );
    }
}
