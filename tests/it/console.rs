//! The emulator's console in a real browser: headless Chromium driven through chromedriver.
//! A DM sent as alice from the page's composer reaches a client under test over the activity
//! stream; the client's reply shows up in the open thread without a reload; the request log
//! shows the client's calls and never a secret; a 429 armed from the page's fault form makes the
//! client's next call wait, and the limits view shows the spent window.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Writes
//! screenshots of the three views to `$XDM_CONSOLE_SCREENSHOTS` (relative to the workspace
//! root), else to `<target dir>/console-screenshots/`; the README's images are regenerated with
//! `XDM_CONSOLE_SCREENSHOTS=docs/console cargo test -p xdm-tests --test it console`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use fantoccini::error::NewSessionError;
use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use xdm_auth::oauth2::{OAuth2Client, TokenManager, UserToken};
use xdm_client::activity::{
    ActivityItem, ActivitySetup, ActivityStream, StreamNotice, StreamOptions,
};
use xdm_client::{Config, Credentials};
use xdm_core::Scope;
use xdm_core::activity::DmMessage;
use xdm_core::activity::session::SessionConfig;
use xdm_core::endpoints::{ListEvents, Message};
use xdm_emulator::Emulator;
use xdm_hyper::{HyperTransport, TokioClock};

use crate::support::{Scheme, client, config, user};

type Api = xdm_client::Client<HyperTransport, TokioClock>;
type Browser = fantoccini::Client;

/// How long the page may take to show something the server already has.
const PAGE: Duration = Duration::from_secs(10);

// -------------------------------------------------------------------------------------------
// The browser: chromedriver on a free loopback port, Chromium headless with a fresh profile.

/// Finds a program on the PATH, or at the path an environment variable names.
fn program(names: &[&str], variable: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|candidate| candidate.is_file())
}

fn missing(what: &str) -> ! {
    panic!(
        "{what} not found. The console's browser test needs Chromium and its WebDriver: install \
         Debian's packages (apt-get install -y chromium chromium-driver), as .ci/run does, or \
         name the programs in XDM_CHROMIUM and XDM_CHROMEDRIVER"
    )
}

/// A running chromedriver, killed when dropped.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    fn start() -> Self {
        let binary = program(&["chromedriver"], "XDM_CHROMEDRIVER")
            .unwrap_or_else(|| missing("chromedriver"));
        // The port is free now; chromedriver takes it a moment later, and a lost race fails
        // the session's connection below with a clear error.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                missing(&format!("{} could not start ({e}); it", binary.display()))
            });
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Opens a headless Chromium session, retrying while chromedriver starts up.
async fn open_browser(driver: &ChromeDriver, profile: &Path) -> Browser {
    let chromium = program(&["chromium", "chromium-browser"], "XDM_CHROMIUM")
        .unwrap_or_else(|| missing("chromium"));
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                format!("--user-data-dir={}", profile.display()),
                "--window-size=1280,900",
            ],
        },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!("a JSON object literal")
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let attempt = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&driver.url)
            .await;
        match attempt {
            Ok(browser) => return browser,
            // chromedriver is not listening yet.
            Err(
                NewSessionError::Failed(_) | NewSessionError::FailedC(_) | NewSessionError::Lost(_),
            ) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!(
                "chromedriver at {} opened no session with {}: {e}. Debian's chromium and \
                 chromium-driver packages must both be installed, at the same version",
                driver.url,
                chromium.display()
            ),
        }
    }
}

/// Runs JavaScript in the page and returns its result.
async fn js(browser: &Browser, script: &str, args: Vec<Value>) -> Value {
    browser
        .execute(script, args)
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

/// Waits until `script` returns something truthy (not null, false, 0 or "") and returns it.
async fn wait_for(browser: &Browser, what: &str, script: &str, args: Vec<Value>) -> Value {
    let deadline = Instant::now() + PAGE;
    loop {
        let value = js(browser, script, args.clone()).await;
        let truthy = match &value {
            Value::Null | Value::Bool(false) => false,
            Value::Number(n) => n.as_f64() != Some(0.0),
            Value::String(s) => !s.is_empty(),
            _ => true,
        };
        if truthy {
            return value;
        }
        if Instant::now() >= deadline {
            let text = page_text(browser).await;
            panic!("the page did not show {what} within {PAGE:?}; its text:\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn page_text(browser: &Browser) -> String {
    js(browser, "return document.body.innerText;", vec![])
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn testid(browser: &Browser, id: &str) -> fantoccini::elements::Element {
    browser
        .find(Locator::Css(&format!("[data-testid=\"{id}\"]")))
        .await
        .unwrap_or_else(|e| panic!("no element with data-testid {id}: {e}"))
}

async fn select(browser: &Browser, id: &str, value: &str) {
    testid(browser, id)
        .await
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("{id} has no option {value}: {e}"));
}

async fn fill(browser: &Browser, id: &str, text: &str) {
    let field = testid(browser, id).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn click(browser: &Browser, id: &str) {
    testid(browser, id).await.click().await.unwrap();
}

// -------------------------------------------------------------------------------------------
// Screenshots.

/// Where the screenshots go: `$XDM_CONSOLE_SCREENSHOTS` (a relative path is taken from the
/// workspace root), else `console-screenshots/` in the build directory.
fn screenshot_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace");
    if let Some(dir) = std::env::var_os("XDM_CONSOLE_SCREENSHOTS") {
        return workspace.join(dir);
    }
    target_dir(workspace).join("console-screenshots")
}

/// The build directory: `$CARGO_TARGET_DIR`, else the ancestor of this test binary that cargo
/// marked with its `CACHEDIR.TAG`.
fn target_dir(workspace: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return workspace.join(dir);
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace.join("target"))
}

async fn screenshot(browser: &Browser, name: &str) {
    let png = browser.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let path = dir.join(name);
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

// -------------------------------------------------------------------------------------------
// The app under test: an app client on the activity stream, and a user client for "me".

const DM_SCOPES: &[&str] = &["dm.read", "dm.write", "tweet.read", "users.read"];

fn transport() -> HyperTransport {
    HyperTransport::builder()
        .request_timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn app_client(emu: &Emulator) -> Api {
    let token = emu.credentials().app_bearer_token.clone();
    let base = config(emu, Scheme::OAuth2).base_url;
    let config = Config::new(Credentials::app_bearer(token)).with_base_url(base);
    xdm_client::Client::new(transport(), TokioClock, config)
}

/// A user client for "me" with a freshly issued OAuth 2.0 token; the token is returned too,
/// so that the page can be checked for it.
fn me_client(emu: &Emulator) -> (Api, String) {
    let me = user(emu, 0);
    let token = emu
        .handle()
        .issue_oauth2_token(me.as_str(), DM_SCOPES)
        .expect("me is a user");
    let base = config(emu, Scheme::OAuth2).base_url;
    let user_token = UserToken::new(token.clone(), SystemTime::now())
        .with_scopes(DM_SCOPES.iter().map(|s| Scope::parse(s)));
    let manager = TokenManager::new(
        OAuth2Client::public("", "").with_api_base_url(base.clone()),
        user_token,
    );
    let config = Config::new(Credentials::oauth2(manager))
        .with_base_url(base)
        .with_user_id(me);
    (
        xdm_client::Client::new(transport(), TokioClock, config),
        token,
    )
}

/// Reads the stream until a DM with `text` comes out.
async fn next_dm_with(
    stream: &mut ActivityStream<HyperTransport, TokioClock>,
    text: &str,
) -> DmMessage {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(PAGE, async {
        while let Some(item) = stream.next().await {
            if let Some(dm) = item.message()
                && dm.event.text.as_deref() == Some(text)
            {
                return Some(dm.clone());
            }
            seen.push(item);
        }
        None
    })
    .await;
    match found {
        Ok(Some(dm)) => dm,
        _ => panic!("the stream did not deliver {text:?}; it gave {seen:#?}"),
    }
}

/// Every secret the emulator holds, as `describe()` prints them, plus the tokens issued here.
fn secrets(emu: &Emulator, issued: &[&str]) -> Vec<String> {
    let described = emu.describe();
    let mut secrets: Vec<String> = issued.iter().map(|s| (*s).to_owned()).collect();
    for scheme in ["oauth1", "oauth2"] {
        let fields = described[scheme].as_object().expect("a credentials object");
        for (name, value) in fields {
            if name != "user_id" {
                secrets.push(value.as_str().expect("a string").to_owned());
            }
        }
    }
    secrets.push(described["app_bearer_token"].as_str().unwrap().to_owned());
    assert!(
        secrets.len() >= 10 && secrets.iter().all(|s| s.len() >= 8),
        "{}",
        secrets.len()
    );
    secrets
}

/// Asserts that neither the page's text nor its HTML holds any of `secrets`.
async fn assert_no_secret(browser: &Browser, secrets: &[String], when: &str) {
    let text = page_text(browser).await;
    let html = browser.source().await.expect("the page's source");
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{when}: a secret is in the page's text"
        );
        assert!(
            !html.contains(secret.as_str()),
            "{when}: a secret is in the page's HTML"
        );
    }
}

// -------------------------------------------------------------------------------------------
// The scenario.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_drives_a_client_under_test_in_a_real_browser() {
    let emu = Emulator::builder()
        .console(true)
        .seed_events(60)
        .stream_keep_alive(Duration::from_millis(500))
        .start()
        .await
        .expect("the emulator starts");
    let driver = ChromeDriver::start();
    let profile = tempfile::tempdir().expect("a profile directory");
    let browser = open_browser(&driver, profile.path()).await;
    // The scenario runs as its own task, so that a failed assertion still ends the browser
    // session below instead of leaving Chromium running.
    let outcome = tokio::spawn(scenario(emu, browser.clone())).await;
    let _ = browser.close().await;
    drop(driver);
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

async fn scenario(emu: Emulator, browser: Browser) {
    let me = user(&emu, 0);
    let alice = user(&emu, 1);
    let console = emu.console_url().expect("the console is on");

    // The client under test: subscribed to its DMs on the stream, replying as "me".
    let app = app_client(&emu);
    let (replier, issued_token) = me_client(&emu);
    ActivitySetup::new(&app, &replier)
        .ensure(&me)
        .await
        .expect("the subscriptions are set up");
    let options = StreamOptions::new().with_session(
        SessionConfig::new()
            .with_idle_timeout(Duration::from_secs(5))
            .with_connect_timeout(Duration::from_secs(5)),
    );
    let mut stream = ActivityStream::with_options(app, options);
    let connected = tokio::time::timeout(PAGE, async {
        while let Some(item) = stream.next().await {
            if matches!(item, ActivityItem::Notice(StreamNotice::Connected { .. })) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(connected, Ok(true), "the stream connects");

    // (a) alice writes to me from the page's composer; the client gets it from the stream.
    browser
        .goto(&format!("{console}#/conversations"))
        .await
        .unwrap();
    wait_for(
        &browser,
        "the live status",
        "return document.querySelector('[data-testid=live-status]').textContent === 'live';",
        vec![],
    )
    .await;
    wait_for(
        &browser,
        "the users in the composer",
        "return document.querySelectorAll('[data-testid=composer-from] option').length > 1;",
        vec![],
    )
    .await;
    select(&browser, "composer-from", alice.as_str()).await;
    select(&browser, "composer-to", &format!("user:{me}")).await;
    let hello = "Hello from the console, can you help? This is the view from here.";
    fill(&browser, "composer-text", hello).await;
    // A 360x240 PNG drawn for this test (a sunset over hills, made by a few lines of code).
    let photo = Path::new(env!("CARGO_MANIFEST_DIR")).join("it/console_photo.png");
    testid(&browser, "composer-file")
        .await
        .send_keys(&photo.display().to_string())
        .await
        .unwrap();
    click(&browser, "composer-send").await;
    let received = next_dm_with(&mut stream, hello).await;
    assert_eq!(received.event.sender_id.as_deref(), Some(alice.as_str()));
    assert!(
        received.attachment().is_some(),
        "the photo is attached: {received:?}"
    );
    let conversation = received
        .event
        .dm_conversation_id
        .clone()
        .expect("the DM names its conversation");

    // The send opened the conversation's thread; mark the document to prove there is no reload.
    wait_for(
        &browser,
        "the thread of the new message",
        "return location.hash === '#/conversations/' + arguments[0] \
            && [...document.querySelectorAll('[data-testid=thread-event]')] \
                .some(e => e.textContent.includes(arguments[1]));",
        vec![json!(conversation), json!(hello)],
    )
    .await;
    // The photo went through the page as base64 and comes back from the media route, whole.
    wait_for(
        &browser,
        "the photo in the thread",
        "return [...document.querySelectorAll('[data-testid=thread-event] img')] \
            .some(i => i.complete && i.naturalWidth === 360 && i.naturalHeight === 240);",
        vec![],
    )
    .await;
    js(
        &browser,
        "window.__sameDocument = true; return null;",
        vec![],
    )
    .await;

    // The composer's sender is shown typing, and the open thread says who types.
    js(
        &browser,
        "document.getElementById('show-typing').click(); return null;",
        vec![],
    )
    .await;
    wait_for(
        &browser,
        "the typing line",
        "const l = document.querySelector('[data-testid=typing-line]'); \
         return !l.hidden && l.textContent.includes(arguments[0]);",
        vec![json!("is typing")],
    )
    .await;

    // (b) the client answers through the API; the answer appears in the open thread.
    let answer = "Sure! Here is the guide: https://example.com/guide #help";
    replier
        .send_to_participant(&alice, Message::text(answer).unwrap())
        .await
        .expect("the reply is sent");
    let event_id = wait_for(
        &browser,
        "the client's reply in the open thread",
        "const e = [...document.querySelectorAll('[data-testid=thread-event]')] \
            .find(e => e.textContent.includes('Here is the guide')); \
         return e ? e.dataset.eventId : null;",
        vec![],
    )
    .await;
    assert!(event_id.as_str().is_some_and(|id| !id.is_empty()));
    let same = js(&browser, "return window.__sameDocument === true;", vec![]).await;
    assert_eq!(same, json!(true), "the page was reloaded");
    // A new message in the thread ends the typing indicator.
    wait_for(
        &browser,
        "the typing line to go",
        "return document.querySelector('[data-testid=typing-line]').hidden;",
        vec![],
    )
    .await;
    // Its link entity is a link, its hashtag an entity, both as text.
    let link = js(
        &browser,
        "const a = [...document.querySelectorAll('[data-testid=thread] a[href]')] \
            .find(a => a.href === 'https://example.com/guide'); \
         return a ? a.textContent : null;",
        vec![],
    )
    .await;
    assert_eq!(link, json!("example.com/guide"));
    screenshot(&browser, "conversations.png").await;

    // (c) the request log shows the client's calls, with no secret anywhere on the page.
    let oauth1 = client(&emu, Scheme::OAuth1);
    oauth1.me().await.expect("GET /2/users/me with OAuth 1.0a");
    click(&browser, "nav-requests").await;
    let rows = wait_for(
        &browser,
        "the client's calls in the request log",
        "const rows = [...document.querySelectorAll('[data-testid=request-row]')]; \
         const text = rows.map(r => r.textContent).join('\\n'); \
         const wanted = ['/2/activity/subscriptions', '/2/activity/stream', \
            '/2/dm_conversations/with/' + arguments[0] + '/messages', '/2/users/me', \
            'OAuth 1.0a', 'OAuth 2.0 user', 'App bearer']; \
         return wanted.every(w => text.includes(w)) ? rows.length : 0;",
        vec![json!(alice.as_str())],
    )
    .await;
    assert!(rows.as_u64().unwrap() >= 5, "{rows}");
    let secrets = secrets(&emu, &[&issued_token]);
    assert_no_secret(&browser, &secrets, "the request log").await;
    // Every row's detail, headers and bodies included, is free of secrets too.
    let seqs = js(
        &browser,
        "return [...document.querySelectorAll('[data-testid=request-row]')].map(r => r.dataset.seq);",
        vec![],
    )
    .await;
    let seqs: Vec<String> = serde_json::from_value(seqs).unwrap();
    let reply_seq = js(
        &browser,
        "const r = [...document.querySelectorAll('[data-testid=request-row]')] \
            .find(r => r.textContent.includes('/messages') && r.dataset.status === '201'); \
         return r ? r.dataset.seq : null;",
        vec![],
    )
    .await;
    for seq in seqs
        .iter()
        .chain(reply_seq.as_str().map(str::to_owned).iter())
    {
        let row = browser
            .find(Locator::Css(&format!(
                "[data-testid=request-row][data-seq=\"{seq}\"]"
            )))
            .await
            .unwrap();
        row.click().await.unwrap();
        wait_for(
            &browser,
            "the request's detail",
            "const d = document.querySelector('[data-testid=request-detail]'); \
             return !d.hidden && d.textContent.includes('#' + arguments[0] + ' ') \
                && d.textContent.includes('Response headers');",
            vec![json!(seq)],
        )
        .await;
        assert_no_secret(&browser, &secrets, &format!("request {seq}'s detail")).await;
    }
    // The reply's detail is open: its Authorization header shows only the scheme.
    let detail = testid(&browser, "request-detail")
        .await
        .text()
        .await
        .unwrap();
    assert!(detail.contains("Bearer [redacted]"), "{detail}");
    assert!(detail.contains(answer), "{detail}");

    // (d) a 429 armed from the page: the client's next read waits for the reset, and the
    // gauge shows the spent window meanwhile.
    click(&browser, "nav-limits").await;
    wait_for(
        &browser,
        "me's gauges",
        "return document.querySelector('[data-testid=limit-gauge][data-user-id=\"' + arguments[0] + '\"]');",
        vec![json!(me.as_str())],
    )
    .await;
    let reset = Duration::from_secs(3);
    select(&browser, "fault-method", "GET").await;
    select(&browser, "fault-path", "/2/dm_events").await;
    select(&browser, "fault-kind", "rate_limited").await;
    fill(&browser, "fault-count", "1").await;
    fill(&browser, "fault-reset", &reset.as_secs().to_string()).await;
    click(&browser, "fault-submit").await;
    wait_for(
        &browser,
        "the armed fault",
        "return [...document.querySelectorAll('[data-testid=fault-list] li')] \
            .some(li => li.textContent.includes('GET /2/dm_events') \
                && li.textContent.includes('429'));",
        vec![],
    )
    .await;
    let reader = client(&emu, Scheme::OAuth2);
    let started = Instant::now();
    let read = tokio::spawn(async move { reader.list_page(&ListEvents::new()).await });
    wait_for(
        &browser,
        "me's read window spent",
        "return document.querySelector('[data-testid=limit-gauge][data-user-id=\"' + arguments[0] \
            + '\"][data-group=read][data-remaining=\"0\"]');",
        vec![json!(me.as_str())],
    )
    .await;
    assert!(
        started.elapsed() < reset,
        "the gauge showed the hold only after it ended"
    );
    screenshot(&browser, "limits.png").await;
    let page = read
        .await
        .unwrap()
        .expect("the read succeeds after the reset");
    let waited = started.elapsed();
    assert!(page.data.is_some_and(|events| !events.is_empty()));
    // The reset is announced in whole epoch seconds: at least two of the three seconds pass.
    assert!(
        waited >= Duration::from_secs(2),
        "the read came back after {waited:?}"
    );
    let statuses: Vec<Option<u16>> = emu
        .handle()
        .requests()
        .iter()
        .filter(|r| r.path == "/2/dm_events")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [Some(429), Some(200)], "one 429, then the wait");
    wait_for(
        &browser,
        "the fault list emptied",
        "return !document.querySelector('[data-testid=fault-list] li.fault');",
        vec![],
    )
    .await;
    assert_no_secret(&browser, &secrets, "the limits view").await;

    // The log, with the 429 and its wait, for the README.
    click(&browser, "nav-requests").await;
    let limited = wait_for(
        &browser,
        "the 429 in the request log",
        "const r = document.querySelector('[data-testid=request-row][data-status=\"429\"]'); \
         return r ? r.dataset.seq : null;",
        vec![],
    )
    .await;
    let limited = limited.as_str().unwrap();
    browser
        .find(Locator::Css(&format!(
            "[data-testid=request-row][data-seq=\"{limited}\"]"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        &browser,
        "the 429's detail",
        "const d = document.querySelector('[data-testid=request-detail]'); \
         return !d.hidden && d.textContent.includes('x-rate-limit-reset');",
        vec![],
    )
    .await;
    assert_no_secret(&browser, &secrets, "the 429's detail").await;
    screenshot(&browser, "requests.png").await;

    // Copying the credentials hands them to the clipboard, not to the page.
    click(&browser, "copy-credentials").await;
    wait_for(
        &browser,
        "the copy's outcome",
        "const t = document.getElementById('toast'); return !t.hidden && t.textContent;",
        vec![],
    )
    .await;
    assert_no_secret(&browser, &secrets, "after copying the credentials").await;

    // The theme toggle flips the theme and the choice outlives a reload.
    let before = js(
        &browser,
        "return getComputedStyle(document.body).backgroundColor;",
        vec![],
    )
    .await;
    click(&browser, "theme-toggle").await;
    let chosen = js(
        &browser,
        "return document.documentElement.dataset.theme;",
        vec![],
    )
    .await;
    let after = js(
        &browser,
        "return getComputedStyle(document.body).backgroundColor;",
        vec![],
    )
    .await;
    assert_ne!(before, after, "the toggle changed nothing");
    browser.refresh().await.unwrap();
    wait_for(
        &browser,
        "the remembered theme",
        "return document.documentElement.dataset.theme === arguments[0] \
            && document.querySelector('[data-testid=theme-toggle]').getAttribute('aria-pressed') \
               === String(arguments[0] === 'dark');",
        vec![chosen],
    )
    .await;
}
