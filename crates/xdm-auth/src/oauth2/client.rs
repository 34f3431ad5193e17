//! The app's OAuth 2.0 client: the authorization URL, token requests and their parsers.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method};
use serde::Deserialize;
use xdm_core::{BaseUrl, Scope};

use super::pkce::{PendingAuthorization, PkceVerifier, generate_state};
use super::token::UserToken;
use crate::error::{OAuthError, OAuthErrorCode, ResponseError};
use crate::form;
use crate::random::RandomError;
use crate::secret::{AccessToken, AuthorizationCode, ClientSecret, RefreshToken};

/// X's authorization page.
pub const X_AUTHORIZE_URL: &str = "https://x.com/i/oauth2/authorize";

/// The longest lifetime a token response is believed for: ten years (of 365 days). A larger
/// `expires_in` is read as this.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// When a token received at `now` with `expires_in` seconds to live expires, the lifetime
/// capped at [`MAX_TOKEN_LIFETIME`]. Should even that pass the end of the platform's clock,
/// the latest representable second stands in for it.
fn expiry(now: SystemTime, expires_in: u64) -> SystemTime {
    let lifetime = Duration::from_secs(expires_in).min(MAX_TOKEN_LIFETIME);
    now.checked_add(lifetime).unwrap_or_else(|| {
        // Each round adds the step or halves it, so this ends within a few hundred rounds,
        // at the latest time the clock can hold.
        let mut at = now;
        let mut step = lifetime;
        while !step.is_zero() {
            match at.checked_add(step) {
                Some(later) => at = later,
                None => step /= 2,
            }
        }
        at
    })
}

/// An OAuth 2.0 client registered with X: public (PKCE only) or confidential (with a secret).
#[derive(Debug, Clone)]
pub struct OAuth2Client {
    client_id: String,
    client_secret: Option<ClientSecret>,
    redirect_uri: String,
    api: BaseUrl,
    authorize_endpoint: BaseUrl,
}

/// A token to revoke.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum RevocableToken<'a> {
    /// An access token.
    Access(&'a AccessToken),
    /// A refresh token.
    Refresh(&'a RefreshToken),
}

impl OAuth2Client {
    /// A public client: `client_id` goes in each token request's body.
    pub fn public(client_id: impl Into<String>, redirect_uri: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: None,
            redirect_uri: redirect_uri.into(),
            api: BaseUrl::x_api(),
            authorize_endpoint: BaseUrl::parse(X_AUTHORIZE_URL)
                .expect("the built-in authorization URL is valid"),
        }
    }

    /// A confidential client: token requests carry HTTP Basic credentials.
    pub fn confidential(
        client_id: impl Into<String>,
        client_secret: impl Into<ClientSecret>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        Self {
            client_secret: Some(client_secret.into()),
            ..Self::public(client_id, redirect_uri)
        }
    }

    /// Sends token requests to another API root (`/2/oauth2/token` is joined to it).
    pub fn with_api_base_url(mut self, api: BaseUrl) -> Self {
        self.api = api;
        self
    }

    /// Sends users to another authorization page than [`X_AUTHORIZE_URL`].
    pub fn with_authorize_url(mut self, url: BaseUrl) -> Self {
        self.authorize_endpoint = url;
        self
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client secret, for a confidential client.
    pub fn client_secret(&self) -> Option<&ClientSecret> {
        self.client_secret.as_ref()
    }

    /// Starts an authorization with a fresh PKCE verifier and `state`.
    pub fn authorize(&self, scopes: &[Scope]) -> Result<PendingAuthorization, RandomError> {
        Ok(self.authorize_with(scopes, PkceVerifier::generate()?, generate_state()?))
    }

    /// Starts an authorization with a given verifier and `state` (for tests, or when they are
    /// made elsewhere).
    pub fn authorize_with(
        &self,
        scopes: &[Scope],
        verifier: PkceVerifier,
        state: String,
    ) -> PendingAuthorization {
        let scope = scopes
            .iter()
            .map(Scope::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        let challenge = verifier.challenge();
        let query = form::serialize([
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("scope", scope.as_str()),
            ("state", state.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]);
        PendingAuthorization {
            url: format!("{}?{query}", self.authorize_endpoint),
            state,
            verifier,
        }
    }

    /// Exchanges an authorization code for a token (`grant_type=authorization_code`).
    pub fn exchange_code_request(
        &self,
        code: &AuthorizationCode,
        verifier: &PkceVerifier,
    ) -> http::Request<Bytes> {
        self.form_post(
            "/2/oauth2/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code.expose_secret()),
                ("redirect_uri", &self.redirect_uri),
                ("code_verifier", verifier.expose_secret()),
            ],
        )
    }

    /// Exchanges a refresh token for a new token (`grant_type=refresh_token`).
    pub fn refresh_request(&self, refresh_token: &RefreshToken) -> http::Request<Bytes> {
        self.form_post(
            "/2/oauth2/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose_secret()),
            ],
        )
    }

    /// Revokes a token.
    pub fn revoke_request(&self, token: RevocableToken<'_>) -> http::Request<Bytes> {
        let (value, hint) = match token {
            RevocableToken::Access(t) => (t.expose_secret(), "access_token"),
            RevocableToken::Refresh(t) => (t.expose_secret(), "refresh_token"),
        };
        self.form_post(
            "/2/oauth2/revoke",
            &[("token", value), ("token_type_hint", hint)],
        )
    }

    /// Reads a token response (to a code exchange or a refresh) received at `now`.
    ///
    /// An `expires_in` longer than [`MAX_TOKEN_LIFETIME`] is read as that long: X's tokens
    /// live two hours, so a larger figure is a fault in whatever answered, and a far but
    /// finite expiry keeps the token usable (a 401 still triggers a refresh) where the exact
    /// figure could not even be represented as a time.
    pub fn parse_token_response(
        &self,
        response: &http::Response<Bytes>,
        now: SystemTime,
    ) -> Result<UserToken, ResponseError> {
        #[derive(Deserialize)]
        struct Wire {
            access_token: String,
            token_type: String,
            expires_in: Option<u64>,
            refresh_token: Option<String>,
            scope: Option<String>,
        }
        check_status(response)?;
        let wire: Wire = serde_json::from_slice(response.body())
            .map_err(|e| json_problem("token response", &e))?;
        if !wire.token_type.eq_ignore_ascii_case("bearer") {
            return Err(ResponseError::malformed("token_type is not `bearer`"));
        }
        if wire.access_token.is_empty() {
            return Err(ResponseError::malformed("access_token is empty"));
        }
        let mut token = UserToken::new(AccessToken::new(wire.access_token), now);
        if let Some(secs) = wire.expires_in {
            token = token.with_expires_at(expiry(now, secs));
        }
        if let Some(r) = wire.refresh_token.filter(|r| !r.is_empty()) {
            token = token.with_refresh_token(RefreshToken::new(r));
        }
        if let Some(scope) = wire.scope {
            token = token.with_scopes(scope.split_ascii_whitespace().map(Scope::parse));
        }
        Ok(token)
    }

    /// Reads a revocation response.
    pub fn parse_revoke_response(
        &self,
        response: &http::Response<Bytes>,
    ) -> Result<(), ResponseError> {
        #[derive(Deserialize)]
        struct Wire {
            revoked: Option<bool>,
        }
        check_status(response)?;
        if response.body().is_empty() {
            return Ok(());
        }
        let wire: Wire = serde_json::from_slice(response.body())
            .map_err(|e| json_problem("revocation response", &e))?;
        match wire.revoked {
            Some(false) => Err(ResponseError::malformed("X answered `revoked: false`")),
            _ => Ok(()),
        }
    }

    fn form_post(&self, path: &str, fields: &[(&str, &str)]) -> http::Request<Bytes> {
        let mut fields = fields.to_vec();
        if self.client_secret.is_none() {
            fields.push(("client_id", &self.client_id));
        }
        let body = form::serialize(fields.iter().copied());
        let mut request = http::Request::new(Bytes::from(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.api.join(path);
        let headers = request.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(secret) = &self.client_secret {
            // RFC 6749 §2.3.1: both parts are form-encoded before joining.
            let pair = format!(
                "{}:{}",
                form::encode(&self.client_id),
                form::encode(secret.expose_secret())
            );
            let mut value = HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(pair)))
                .expect("base64 is a valid header value");
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        request
    }
}

fn check_status(response: &http::Response<Bytes>) -> Result<(), ResponseError> {
    #[derive(Deserialize)]
    struct WireError {
        error: String,
        error_description: Option<String>,
    }
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    match serde_json::from_slice::<WireError>(response.body()) {
        Ok(e) => Err(OAuthError {
            code: OAuthErrorCode::parse(&e.error),
            description: e.error_description,
            status: status.as_u16(),
        }
        .into()),
        Err(_) => Err(ResponseError::Status {
            status: status.as_u16(),
        }),
    }
}

/// Describes a JSON failure without quoting the input: serde's messages can repeat the value
/// they choked on, which may be a token.
fn json_problem(what: &str, e: &serde_json::Error) -> ResponseError {
    use serde_json::error::Category;
    let kind = match e.classify() {
        Category::Io => "could not be read",
        Category::Syntax | Category::Eof => "is not valid JSON",
        Category::Data => "lacks a field or has one of the wrong type",
    };
    ResponseError::malformed(format!(
        "the {what} {kind} (line {}, column {})",
        e.line(),
        e.column()
    ))
}
