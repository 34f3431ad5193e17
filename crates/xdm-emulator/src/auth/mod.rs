//! Who is calling: OAuth 1.0a signatures, OAuth 2.0 bearer tokens, and the token stores.

pub(crate) mod oauth1;
pub(crate) mod oauth2;

use std::collections::HashMap;

use crate::ids::Rng;

/// How long an OAuth 2.0 access token lives, as at X.
pub(crate) const ACCESS_TOKEN_MS: u64 = 2 * 60 * 60 * 1000;
/// How long an authorization code may wait before it is exchanged.
pub(crate) const CODE_MS: u64 = 30 * 1000;
/// The accepted distance between `oauth_timestamp` and the emulator's clock.
pub(crate) const TIMESTAMP_WINDOW_S: u64 = 300;

/// The credential a request was made with, as recorded in the request log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialUsed {
    /// No `Authorization` header.
    None,
    /// A valid OAuth 1.0a user-context signature.
    OAuth1 {
        /// The access token that signed the request.
        access_token: String,
        /// The user it belongs to.
        user_id: String,
    },
    /// A valid OAuth 2.0 user access token.
    OAuth2User {
        /// The user it belongs to.
        user_id: String,
    },
    /// The app-only bearer token.
    AppOnly,
    /// Credentials were present but refused (bad signature, unknown or expired token...).
    Rejected,
}

/// The authenticated caller of a DM endpoint.
#[derive(Debug, Clone)]
pub(crate) enum Caller {
    OAuth1 { user: u32 },
    OAuth2 { user: u32, scopes: Vec<String> },
    AppOnly,
}

#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub(crate) user: u32,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_ms: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct RefreshToken {
    pub(crate) user: u32,
    pub(crate) scopes: Vec<String>,
    pub(crate) client_id: String,
}

#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) challenge: String,
    pub(crate) method: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) user: u32,
    pub(crate) expires_ms: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct RequestToken {
    pub(crate) secret: String,
    pub(crate) callback: String,
    pub(crate) verifier: Option<String>,
}

/// Every credential the emulator knows.
#[derive(Debug)]
pub(crate) struct AuthState {
    pub(crate) consumer_key: String,
    pub(crate) consumer_secret: String,
    /// access token → (secret, user)
    pub(crate) oauth1_tokens: HashMap<String, (String, u32)>,
    pub(crate) request_tokens: HashMap<String, RequestToken>,
    /// nonce → timestamp (seconds), kept for the timestamp window
    pub(crate) nonces: HashMap<String, u64>,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) access: HashMap<String, AccessToken>,
    pub(crate) refresh: HashMap<String, RefreshToken>,
    pub(crate) codes: HashMap<String, AuthCode>,
    pub(crate) app_bearer: String,
    pub(crate) rng: Rng,
}

/// Everything about a request the verifiers need.
pub(crate) struct RequestFacts<'a> {
    pub(crate) method: &'a str,
    pub(crate) base_url: String,
    pub(crate) query: &'a [(String, String)],
    pub(crate) form: &'a [(String, String)],
    pub(crate) authorization: Option<&'a str>,
    pub(crate) now_ms: u64,
}

/// A verified OAuth 1.0a request: its parameters (decoded) and whose token signed it.
pub(crate) struct OAuth1Verified {
    pub(crate) params: Vec<(String, String)>,
    pub(crate) token: Option<String>,
}

impl AuthState {
    pub(crate) fn new(rng: &mut Rng, me: u32, me_id: u64) -> Self {
        let mut s = Self {
            consumer_key: rng.alnum(25),
            consumer_secret: rng.alnum(50),
            oauth1_tokens: HashMap::new(),
            request_tokens: HashMap::new(),
            nonces: HashMap::new(),
            client_id: rng.alnum(34),
            client_secret: rng.alnum(50),
            access: HashMap::new(),
            refresh: HashMap::new(),
            codes: HashMap::new(),
            app_bearer: format!("AAAAAAAAAAAAAAAAAAAAA{}", rng.alnum(60)),
            rng: Rng::new(rng.next_u64()),
        };
        let t = format!("{me_id}-{}", rng.alnum(30));
        let ts = rng.alnum(45);
        s.oauth1_tokens.insert(t, (ts, me));
        s
    }

    pub(crate) fn new_token(&mut self, len: usize) -> String {
        self.rng.alnum(len)
    }

    /// Issues an access token (and a refresh token when `offline.access` is granted).
    pub(crate) fn issue_oauth2(
        &mut self,
        user: u32,
        scopes: Vec<String>,
        client_id: &str,
        now_ms: u64,
    ) -> (String, Option<String>) {
        let access = self.new_token(80);
        let refresh = scopes
            .iter()
            .any(|s| s == "offline.access")
            .then(|| self.new_token(80));
        self.access.insert(
            access.clone(),
            AccessToken {
                user,
                scopes: scopes.clone(),
                expires_ms: now_ms + ACCESS_TOKEN_MS,
            },
        );
        if let Some(r) = &refresh {
            self.refresh.insert(
                r.clone(),
                RefreshToken {
                    user,
                    scopes,
                    client_id: client_id.to_owned(),
                },
            );
        }
        (access, refresh)
    }

    pub(crate) fn issue_oauth1(&mut self, user: u32, user_id: u64) -> (String, String) {
        let t = format!("{user_id}-{}", self.new_token(30));
        let s = self.new_token(45);
        self.oauth1_tokens.insert(t.clone(), (s.clone(), user));
        (t, s)
    }

    /// Checks an OAuth 1.0a header: consumer, token (access or request, per `token_kind`),
    /// timestamp window, nonce freshness, then the signature.
    pub(crate) fn verify_oauth1(
        &mut self,
        f: &RequestFacts<'_>,
        token_kind: TokenKind,
    ) -> Option<OAuth1Verified> {
        let header = oauth1::parse_header(f.authorization?)?;
        let get = |k: &str| {
            header
                .iter()
                .find(|(hk, _)| hk == k)
                .map(|(_, v)| v.as_str())
        };
        if get("oauth_consumer_key")? != self.consumer_key
            || get("oauth_signature_method")? != "HMAC-SHA1"
            || get("oauth_version").is_some_and(|v| v != "1.0")
        {
            return None;
        }
        let ts: u64 = get("oauth_timestamp")?.parse().ok()?;
        let now_s = f.now_ms / 1000;
        if ts.abs_diff(now_s) > TIMESTAMP_WINDOW_S {
            return None;
        }
        let nonce = get("oauth_nonce")?.to_owned();
        if nonce.is_empty() || self.nonces.contains_key(&nonce) {
            return None;
        }
        let token = get("oauth_token")
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        let token_secret = match (token_kind, &token) {
            (TokenKind::None, _) => String::new(),
            (TokenKind::Access, Some(t)) => self.oauth1_tokens.get(t)?.0.clone(),
            (TokenKind::Request, Some(t)) => self.request_tokens.get(t)?.secret.clone(),
            (_, None) => return None,
        };
        let mut params: Vec<(String, String)> = header
            .iter()
            .filter(|(k, _)| k != "oauth_signature" && k != "realm")
            .cloned()
            .collect();
        params.extend(f.query.iter().cloned());
        params.extend(f.form.iter().cloned());
        let base = oauth1::base_string(f.method, &f.base_url, &params);
        let expected = oauth1::signature(&base, &self.consumer_secret, &token_secret);
        if !oauth1::signatures_match(&expected, get("oauth_signature")?) {
            return None;
        }
        // Only a request that verified may spend its nonce, so a forged one cannot burn it.
        self.nonces
            .retain(|_, t| t.abs_diff(now_s) <= TIMESTAMP_WINDOW_S);
        self.nonces.insert(nonce, ts);
        Some(OAuth1Verified { params, token })
    }

    /// Resolves the `Authorization` header of an API request.
    pub(crate) fn authenticate(
        &mut self,
        f: &RequestFacts<'_>,
    ) -> (Option<Caller>, CredentialUsed) {
        let Some(h) = f.authorization else {
            return (None, CredentialUsed::None);
        };
        if let Some(bearer) = h
            .strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
        {
            let bearer = bearer.trim();
            if bool::from(subtle::ConstantTimeEq::ct_eq(
                bearer.as_bytes(),
                self.app_bearer.as_bytes(),
            )) {
                return (Some(Caller::AppOnly), CredentialUsed::AppOnly);
            }
            return match self.access.get(bearer) {
                Some(t) if t.expires_ms > f.now_ms => (
                    Some(Caller::OAuth2 {
                        user: t.user,
                        scopes: t.scopes.clone(),
                    }),
                    CredentialUsed::OAuth2User {
                        user_id: String::new(),
                    },
                ),
                _ => (None, CredentialUsed::Rejected),
            };
        }
        match self.verify_oauth1(f, TokenKind::Access) {
            Some(v) => {
                let token = v.token.unwrap_or_default();
                let user = self.oauth1_tokens[&token].1;
                (
                    Some(Caller::OAuth1 { user }),
                    CredentialUsed::OAuth1 {
                        access_token: token,
                        user_id: String::new(),
                    },
                )
            }
            None => (None, CredentialUsed::Rejected),
        }
    }
}

/// Which kind of token must sign a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// The request-token step: consumer only.
    None,
    /// The access-token step: a request token.
    Request,
    /// API calls: an access token.
    Access,
}
