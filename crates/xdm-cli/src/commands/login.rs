//! `xdm login` and `xdm logout`: OAuth 2.0 with PKCE through a browser, and forgetting it.
//!
//! The browser comes back to the app's registered callback. When that is a loopback address
//! (by default `http://127.0.0.1:PORT/callback`), login listens there for the redirect, so
//! the code never passes through anything but the user's own machine; requests to other
//! paths, or with a `state` that is not ours, are answered and ignored, so a stray or forged
//! request cannot end the login. Any other callback (`--redirect-uri https://www.example.com`)
//! is a page xdm cannot listen on: the user pastes the address the browser was sent to, and
//! lines that are not our redirect are refused with the reason and asked for again.
//!
//! The URL to open is printed on standard error, and the system's browser is started on it
//! (failing that is fine: the URL is enough).

use std::time::{Duration, SystemTime};

use serde_json::json;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use xdm_auth::error::CallbackError;
use xdm_auth::oauth2::{PendingAuthorization, RevocableToken, X_AUTHORIZE_URL};
use xdm_auth::secret::AuthorizationCode;
use xdm_client::TokenStore;
use xdm_core::{BaseUrl, InvalidInput, Scope};
use xdm_hyper::FileTokenStore;

use crate::cli::{Global, LoginArgs};
use crate::config::{self, SavedClient};
use crate::connect::{base_url, transport};
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
    let callback = Callback::open(args.redirect_uri.as_deref(), args.port).await?;
    let redirect = callback.redirect().to_owned();
    let saved = SavedClient::new(
        args.client_id.trim(),
        args.client_secret.clone().filter(|s| !s.is_empty()),
    );
    let client = saved
        .oauth_client(&redirect, &base)
        .with_authorize_url(authorize_url(&base)?);
    let pending = client
        .authorize(&scopes)
        .map_err(|e| Failure::new(Kind::Local, format!("no randomness for PKCE: {e}")))?;
    eprintln!(
        "Open this URL in a browser to authorize xdm:\n\n  {}\n",
        pending.url()
    );
    match &callback {
        Callback::Listen { .. } => eprintln!("Waiting for the redirect to {redirect} ..."),
        Callback::Paste { .. } => eprintln!(
            "After you approve, the browser goes to {redirect} (the page itself may not load).\n\
             Paste the whole address from the browser's address bar here, then press Enter:"
        ),
    }
    if !args.no_browser {
        open_browser(pending.url());
    }
    let wait = Duration::from_secs(args.timeout);
    let code = tokio::time::timeout(wait, callback.code(&pending))
        .await
        .map_err(|_| {
            Failure::new(
                Kind::Auth,
                format!("no authorization arrived within {}s", args.timeout),
            )
        })??;
    drop(callback);
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

/// Where X sends the browser back to, and how the redirect reaches xdm from there.
enum Callback {
    /// A loopback callback: xdm listens on it.
    Listen {
        listener: TcpListener,
        redirect: String,
        path: String,
    },
    /// Any other callback: the user pastes the address the browser was sent to.
    Paste { redirect: String },
}

impl Callback {
    /// `http://127.0.0.1:PORT/callback` when no redirect URI is given (`port` 0: any free
    /// one); else the given one, refused before any request when it cannot be a callback.
    async fn open(redirect_uri: Option<&str>, port: u16) -> Result<Callback, Failure> {
        let (host, port, path, redirect) = match redirect_uri {
            None => ("127.0.0.1".to_owned(), port, CALLBACK_PATH.to_owned(), None),
            Some(uri) => match parse_redirect_uri(uri)? {
                RedirectUri::Loopback { host, port, path } => {
                    (host, port, path, Some(uri.trim().to_owned()))
                }
                RedirectUri::Elsewhere => {
                    return Ok(Callback::Paste {
                        redirect: uri.trim().to_owned(),
                    });
                }
            },
        };
        let listener = TcpListener::bind((host.as_str(), port))
            .await
            .map_err(|e| Failure::io(format!("could not listen on {host}:{port}"), &e))?;
        let bound = listener
            .local_addr()
            .map_err(|e| Failure::io("the redirect listener", &e))?
            .port();
        let redirect = redirect.unwrap_or_else(|| format!("http://127.0.0.1:{bound}{path}"));
        Ok(Callback::Listen {
            listener,
            redirect,
            path,
        })
    }

    /// The redirect URI to register the authorization with.
    fn redirect(&self) -> &str {
        match self {
            Callback::Listen { redirect, .. } | Callback::Paste { redirect } => redirect,
        }
    }

    /// Waits for the redirect that carries our authorization.
    async fn code(&self, pending: &PendingAuthorization) -> Result<AuthorizationCode, Failure> {
        match self {
            Callback::Listen { listener, path, .. } => wait_for_code(listener, path, pending).await,
            Callback::Paste { .. } => {
                read_pasted_code(&mut BufReader::new(tokio::io::stdin()), pending).await
            }
        }
    }
}

/// What a `--redirect-uri` says about where the redirect can be received.
#[derive(Debug, PartialEq, Eq)]
enum RedirectUri {
    /// `http://` on this machine: listen on `host:port` for `path`.
    Loopback {
        host: String,
        port: u16,
        path: String,
    },
    /// Somewhere xdm cannot listen.
    Elsewhere,
}

/// Checks a `--redirect-uri`: an absolute `http` or `https` URL without a fragment, as OAuth
/// 2.0 requires of a redirect URI.
fn parse_redirect_uri(uri: &str) -> Result<RedirectUri, InvalidInput> {
    const ALLOWED: &str = "the callback URL registered for your app, such as \
                           https://www.example.com or http://127.0.0.1:8765/callback";
    let invalid = |problem: &'static str| InvalidInput::new("redirect_uri", problem, ALLOWED);
    let uri = uri.trim();
    if uri.contains('#') {
        return Err(invalid("a redirect URI has no fragment (#...)"));
    }
    let parsed: http::Uri = uri.parse().map_err(|_| invalid("it is not a URL"))?;
    let (Some(scheme), Some(authority)) = (parsed.scheme_str(), parsed.authority()) else {
        return Err(invalid("it is not an absolute URL"));
    };
    if !matches!(scheme, "http" | "https") {
        return Err(invalid(
            "only http and https callbacks can receive the redirect",
        ));
    }
    if authority.as_str().contains('@') {
        return Err(invalid("a redirect URI carries no user name or password"));
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if scheme != "http" || !loopback {
        return Ok(RedirectUri::Elsewhere);
    }
    let host = if host.eq_ignore_ascii_case("localhost") {
        "127.0.0.1".to_owned()
    } else {
        host.to_owned()
    };
    let port = authority.port_u16().unwrap_or(80);
    if port == 0 {
        return Err(invalid(
            "a registered callback names its port, and 0 is none",
        ));
    }
    Ok(RedirectUri::Loopback {
        host,
        port,
        path: parsed.path().to_owned(),
    })
}

/// Reads pasted lines until one is our redirect. Lines that are not (blank lines, another
/// address, a forged `state`) are refused with the reason, without echoing them, since they
/// may hold a code.
async fn read_pasted_code(
    input: &mut (impl AsyncBufRead + Unpin),
    pending: &PendingAuthorization,
) -> Result<AuthorizationCode, Failure> {
    let mut line = String::new();
    loop {
        line.clear();
        let n = input
            .read_line(&mut line)
            .await
            .map_err(|e| Failure::io("could not read standard input", &e))?;
        if n == 0 {
            return Err(Failure::new(
                Kind::Auth,
                "standard input ended before the redirected address was pasted",
            ));
        }
        let pasted = line.trim();
        if pasted.is_empty() {
            continue;
        }
        match pending.handle_callback(pasted) {
            Ok(code) => return Ok(code),
            Err(e @ CallbackError::Denied { .. }) => {
                return Err(Failure::new(Kind::Auth, e.to_string()));
            }
            Err(e) => eprintln!(
                "That is not the address the browser was sent back to ({e}). Paste the whole \
                 address from the address bar after approving:"
            ),
        }
    }
}

/// Accepts connections until one carries our redirect to `path`.
async fn wait_for_code(
    listener: &TcpListener,
    path: &str,
    pending: &PendingAuthorization,
) -> Result<AuthorizationCode, Failure> {
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|e| Failure::io("the redirect listener", &e))?;
        let Some(target) = read_target(&mut stream).await else {
            continue;
        };
        if target.split('?').next() != Some(path) {
            respond(&mut stream, "404 Not Found", "Nothing here.").await;
            continue;
        }
        match pending.handle_callback(&target) {
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

/// Starts the system's browser on `url` (Linux, macOS, Windows, or `$BROWSER`), on a thread
/// of its own so that a slow launcher never holds up the login; the printed URL covers every
/// failure.
fn open_browser(url: &str) {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let _ = opener::open_browser(url);
    });
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
    let oauth = client.oauth_client("", &base);
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
    fn loopback_http_callbacks_are_listened_on_and_others_pasted() {
        assert_eq!(
            parse_redirect_uri("http://127.0.0.1:8765/callback").unwrap(),
            RedirectUri::Loopback {
                host: "127.0.0.1".into(),
                port: 8765,
                path: "/callback".into()
            }
        );
        assert_eq!(
            parse_redirect_uri(" http://localhost/ ").unwrap(),
            RedirectUri::Loopback {
                host: "127.0.0.1".into(),
                port: 80,
                path: "/".into()
            }
        );
        assert_eq!(
            parse_redirect_uri("http://[::1]:9000/cb").unwrap(),
            RedirectUri::Loopback {
                host: "::1".into(),
                port: 9000,
                path: "/cb".into()
            }
        );
        for elsewhere in [
            "https://www.example.com",
            "https://127.0.0.1:8765/callback",
            "http://example.com/callback",
        ] {
            assert_eq!(
                parse_redirect_uri(elsewhere).unwrap(),
                RedirectUri::Elsewhere,
                "{elsewhere}"
            );
        }
    }

    #[test]
    fn what_cannot_be_a_callback_is_refused_before_any_request() {
        for (bad, problem) in [
            ("www.example.com", "not an absolute URL"),
            ("/callback", "not an absolute URL"),
            ("ftp://example.com/cb", "only http and https"),
            ("https://www.example.com/#top", "no fragment"),
            ("https://user:pw@example.com/", "no user name"),
            ("http://exa mple.com/", "not a URL"),
            ("http://127.0.0.1:0/callback", "names its port"),
        ] {
            let err = parse_redirect_uri(bad).unwrap_err();
            assert_eq!(err.parameter, "redirect_uri");
            assert!(err.to_string().contains(problem), "{bad}: {err}");
        }
    }

    fn pending() -> PendingAuthorization {
        xdm_auth::oauth2::OAuth2Client::public("id", "https://www.example.com")
            .authorize(&[Scope::DmRead])
            .unwrap()
    }

    fn paste(
        pending: &PendingAuthorization,
        input: impl AsRef<[u8]>,
    ) -> Result<AuthorizationCode, Failure> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(read_pasted_code(&mut input.as_ref(), pending))
    }

    #[test]
    fn unreadable_standard_input_is_a_local_failure() {
        let failed = paste(&pending(), b"\xff\xfe\n").unwrap_err();
        assert_eq!(failed.kind, Kind::Local);
        assert!(
            failed.message.contains("standard input"),
            "{}",
            failed.message
        );
    }

    #[test]
    fn a_pasted_redirect_gives_the_code_after_refusing_other_lines() {
        let pending = pending();
        let state = pending.state().to_owned();
        let input = format!(
            "\n{}\nhttps://www.example.com/?state=forged&code=nope\n\
             https://www.example.com/?state={state}&code=the-code\n",
            pending.url()
        );
        let code = paste(&pending, &input).unwrap();
        assert_eq!(code.expose_secret(), "the-code");
    }

    #[test]
    fn a_paste_that_never_comes_or_a_refusal_ends_the_login() {
        let pending = pending();
        let ended = paste(&pending, "https://www.example.com/?state=forged&code=x\n").unwrap_err();
        assert_eq!(ended.kind, Kind::Auth);
        assert!(
            ended.message.contains("standard input ended"),
            "{}",
            ended.message
        );

        let denied = format!(
            "https://www.example.com/?error=access_denied&state={}\n",
            pending.state()
        );
        let refused = paste(&pending, &denied).unwrap_err();
        assert_eq!(refused.kind, Kind::Auth);
        assert!(refused.message.contains("refused"), "{}", refused.message);
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
