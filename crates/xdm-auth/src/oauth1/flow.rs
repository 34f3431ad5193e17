//! The three-legged flow: request token, user authorization, access token.

use std::time::SystemTime;

use bytes::Bytes;
use http::Method;
use xdm_core::BaseUrl;

use super::sign::{Extras, Signer};
use super::{ConsumerCredentials, OAuth1Authorizer, TokenCredentials};
use crate::error::{AuthorizeError, CallbackError, OAuthErrorCode, ResponseError};
use crate::form;
use crate::secret::{AccessToken, TokenSecret, Verifier};

/// Builds the requests of the three-legged flow and parses their responses.
///
/// 1. [`request_token_request`](Self::request_token_request), then
///    [`parse_request_token`](Self::parse_request_token);
/// 2. send the user to [`authorize_url`](Self::authorize_url); X redirects to the callback,
///    which [`parse_callback`](Self::parse_callback) reads;
/// 3. [`access_token_request`](Self::access_token_request), then
///    [`parse_access_token`](Self::parse_access_token), and sign API calls with
///    [`authorizer`](Self::authorizer).
#[derive(Debug, Clone)]
pub struct OAuth1Flow {
    signer: Signer,
    consumer: ConsumerCredentials,
    base: BaseUrl,
}

/// The temporary credentials of the first leg. They only serve to obtain an access token:
/// API calls are signed with [`TokenCredentials`], never with these.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "temporary credentials are a token and its secret (RFC 5849 §2.1); callers that keep \
              them between the legs build them back"
)]
pub struct RequestToken {
    /// The request token; it appears in the authorization URL, so it is not secret.
    pub token: String,
    /// The request token's secret, used only to sign the access-token request.
    pub secret: TokenSecret,
}

/// The outcome of the third leg.
///
/// `#[non_exhaustive]`: [`OAuth1Flow::parse_access_token`] builds it from X's answer, and more
/// of that answer may be kept later.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessTokenResponse {
    /// The user's access token and secret.
    pub credentials: TokenCredentials,
    /// The user's numeric id, if X sent it.
    pub user_id: Option<String>,
    /// The user's handle, if X sent it.
    pub screen_name: Option<String>,
}

impl OAuth1Flow {
    /// A flow against X's production API.
    pub fn new(consumer: ConsumerCredentials) -> Self {
        Self {
            signer: Signer::new(consumer.clone()),
            consumer,
            base: BaseUrl::x_api(),
        }
    }

    /// The same flow against another root, such as an emulator.
    pub fn with_base_url(mut self, base: BaseUrl) -> Self {
        self.base = base;
        self
    }

    /// Every signature of this flow uses this nonce and timestamp. For tests only.
    pub fn with_fixed_nonce(mut self, nonce: impl Into<String>, timestamp: u64) -> Self {
        self.signer.fix(nonce.into(), timestamp);
        self
    }

    /// `POST /oauth/request_token` with `oauth_callback`, signed with the consumer secret alone.
    /// Use `oob` as the callback for the PIN flow.
    pub fn request_token_request(
        &self,
        callback: &str,
        now: SystemTime,
    ) -> Result<http::Request<Bytes>, AuthorizeError> {
        let mut request = self.post("/oauth/request_token");
        let extras = Extras {
            callback: Some(callback),
            ..Extras::default()
        };
        self.signer.sign(&mut request, now, extras)?;
        Ok(request)
    }

    /// Reads the request token; X must confirm the callback.
    pub fn parse_request_token(
        &self,
        response: &http::Response<Bytes>,
    ) -> Result<RequestToken, ResponseError> {
        let fields = form_response(response)?;
        if field(&fields, "oauth_callback_confirmed") != Some("true") {
            return Err(ResponseError::CallbackNotConfirmed);
        }
        Ok(RequestToken {
            token: required(&fields, "oauth_token")?.to_owned(),
            secret: TokenSecret::new(required(&fields, "oauth_token_secret")?),
        })
    }

    /// The page to send the user to: `/oauth/authorize?oauth_token=...`.
    pub fn authorize_url(&self, token: &RequestToken) -> String {
        format!(
            "{}/oauth/authorize?oauth_token={}",
            self.base,
            form::encode(&token.token)
        )
    }

    /// Reads the redirect to the callback URL (or just its query): checks that it is for
    /// `token` and returns the `oauth_verifier`. X sends `denied=...` when the user refuses.
    pub fn parse_callback(
        &self,
        token: &RequestToken,
        redirect_url: &str,
    ) -> Result<Verifier, CallbackError> {
        let fields = form::parse_text_pairs(form::query_of(redirect_url).as_bytes());
        if field(&fields, "denied").is_some() {
            return Err(CallbackError::Denied {
                error: OAuthErrorCode::AccessDenied,
                description: None,
            });
        }
        let sent = field(&fields, "oauth_token").ok_or(CallbackError::MissingParameter {
            name: "oauth_token",
        })?;
        if sent != token.token {
            return Err(CallbackError::TokenMismatch);
        }
        let verifier = field(&fields, "oauth_verifier").ok_or(CallbackError::MissingParameter {
            name: "oauth_verifier",
        })?;
        Ok(Verifier::new(verifier))
    }

    /// `POST /oauth/access_token` with `oauth_verifier`, signed with the request token.
    pub fn access_token_request(
        &self,
        token: &RequestToken,
        verifier: &Verifier,
        now: SystemTime,
    ) -> Result<http::Request<Bytes>, AuthorizeError> {
        let mut request = self.post("/oauth/access_token");
        let extras = Extras {
            token: Some((&token.token, token.secret.expose_secret())),
            verifier: Some(verifier.expose_secret()),
            ..Extras::default()
        };
        self.signer.sign(&mut request, now, extras)?;
        Ok(request)
    }

    /// Reads the user's access token.
    pub fn parse_access_token(
        &self,
        response: &http::Response<Bytes>,
    ) -> Result<AccessTokenResponse, ResponseError> {
        let fields = form_response(response)?;
        Ok(AccessTokenResponse {
            credentials: TokenCredentials {
                token: AccessToken::new(required(&fields, "oauth_token")?),
                secret: TokenSecret::new(required(&fields, "oauth_token_secret")?),
            },
            user_id: field(&fields, "user_id").map(str::to_owned),
            screen_name: field(&fields, "screen_name").map(str::to_owned),
        })
    }

    /// An authorizer for API calls with the user's access token.
    pub fn authorizer(&self, credentials: TokenCredentials) -> OAuth1Authorizer {
        OAuth1Authorizer::new(self.consumer.clone(), credentials)
    }

    fn post(&self, path: &str) -> http::Request<Bytes> {
        let mut request = http::Request::new(Bytes::new());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.base.join(path);
        request
    }
}

fn form_response(response: &http::Response<Bytes>) -> Result<Vec<(String, String)>, ResponseError> {
    if !response.status().is_success() {
        return Err(ResponseError::Status {
            status: response.status().as_u16(),
        });
    }
    Ok(form::parse_text_pairs(response.body()))
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn required<'a>(
    fields: &'a [(String, String)],
    name: &'static str,
) -> Result<&'a str, ResponseError> {
    field(fields, name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ResponseError::malformed(format!("the response has no `{name}`")))
}
