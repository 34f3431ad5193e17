use super::*;

fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_vars(|name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
}

const OAUTH1: [(&str, &str); 4] = [
    ("X_CONSUMER_KEY", "ck"),
    ("X_CONSUMER_SECRET", "cs-secret-value"),
    ("X_ACCESS_TOKEN", "123-at-secret-value"),
    ("X_ACCESS_TOKEN_SECRET", "ats-secret-value"),
];

#[test]
fn nothing_set_names_every_variable() {
    let error = from(&[]).unwrap_err();
    assert_eq!(error, ConfigError::NoCredentials);
    let text = error.to_string();
    for name in vars::OAUTH1.iter().chain([&vars::OAUTH2_ACCESS_TOKEN]) {
        assert!(text.contains(name), "{text}");
    }
}

#[test]
fn a_partial_oauth1_set_names_the_missing_variable() {
    for missing in 0..4 {
        let pairs: Vec<_> = OAUTH1
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != missing)
            .map(|(_, p)| *p)
            .collect();
        let error = from(&pairs).unwrap_err();
        assert_eq!(
            error,
            ConfigError::Missing {
                variable: vars::OAUTH1[missing],
                scheme: "OAuth 1.0a"
            }
        );
        assert!(error.to_string().contains(vars::OAUTH1[missing]));
        assert!(!error.to_string().contains("secret-value"));
    }
}

#[test]
fn oauth1_wins_and_implies_the_user_id() {
    let mut pairs = OAUTH1.to_vec();
    pairs.push(("X_OAUTH2_ACCESS_TOKEN", "o2"));
    let config = from(&pairs).unwrap();
    assert!(matches!(config.credentials, Credentials::OAuth1 { .. }));
    assert_eq!(config.user_id.as_ref().unwrap().as_str(), "123");
    assert_eq!(config.base_url.as_str(), "https://api.x.com");
    let shown = format!("{config:?}");
    assert!(!shown.contains("secret-value"), "{shown}");
}

#[test]
fn oauth2_with_refresh_needs_the_client_id() {
    let error = from(&[
        ("X_OAUTH2_ACCESS_TOKEN", "o2"),
        ("X_OAUTH2_REFRESH_TOKEN", "r"),
    ])
    .unwrap_err();
    assert!(error.to_string().contains("X_CLIENT_ID"), "{error}");
    let config = from(&[
        ("X_OAUTH2_ACCESS_TOKEN", "o2"),
        ("X_OAUTH2_REFRESH_TOKEN", "r"),
        ("X_CLIENT_ID", "cid"),
        ("X_USER_ID", "42"),
        ("X_API_BASE_URL", "http://127.0.0.1:8080"),
    ])
    .unwrap();
    let Credentials::OAuth2(manager) = &config.credentials else {
        panic!()
    };
    assert_eq!(manager.client().client_id(), "cid");
    assert!(manager.token().refresh_token().is_some());
    assert_eq!(config.user_id.unwrap().as_str(), "42");
}

#[test]
fn a_refresh_token_without_an_access_token_is_named() {
    let error = from(&[("X_OAUTH2_REFRESH_TOKEN", "r")]).unwrap_err();
    assert!(
        error.to_string().contains("X_OAUTH2_ACCESS_TOKEN"),
        "{error}"
    );
}

#[test]
fn bad_values_are_refused_by_name() {
    let error = from(&[
        ("X_OAUTH2_ACCESS_TOKEN", "o2"),
        ("X_API_BASE_URL", "http://example.com"),
    ])
    .unwrap_err();
    assert!(error.to_string().starts_with("X_API_BASE_URL"), "{error}");
    let error = from(&[("X_OAUTH2_ACCESS_TOKEN", "o2"), ("X_USER_ID", "@me")]).unwrap_err();
    assert!(error.to_string().starts_with("X_USER_ID"), "{error}");
}

#[test]
fn empty_variables_count_as_unset() {
    let error = from(&[("X_CONSUMER_KEY", " "), ("X_OAUTH2_ACCESS_TOKEN", "")]).unwrap_err();
    assert_eq!(error, ConfigError::NoCredentials);
}
