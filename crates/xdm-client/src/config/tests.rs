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
fn set_but_unusable_variables_are_refused_by_name_without_their_value() {
    let secret = "S3CR3T-value";
    for name in vars::ALL {
        for (value, problem) in [
            ("".to_owned(), "blank"),
            (" \t ".to_owned(), "blank"),
            (format!("{secret}\n{secret}"), "more than one line"),
            (format!("{secret}\r{secret}"), "more than one line"),
            (format!("{secret}\u{7f}x"), "control character"),
        ] {
            // A complete, valid configuration besides the variable under test.
            let mut pairs: Vec<(&str, &str)> = OAUTH1.to_vec();
            pairs.retain(|(k, _)| *k != name);
            pairs.push((name, &value));
            let error = from(&pairs).unwrap_err();
            let text = error.to_string();
            assert!(
                matches!(&error, ConfigError::Invalid { variable, .. } if *variable == name),
                "{name}: {error:?}"
            );
            assert!(text.starts_with(name) && text.contains(problem), "{text}");
            assert!(!text.contains("S3CR3T"), "{text}");
        }
    }
}

#[cfg(unix)]
#[test]
fn non_utf8_variables_are_refused_by_name() {
    use std::os::unix::ffi::OsStringExt;
    for name in vars::ALL {
        let error = Config::from_os_vars(|n| {
            (n == name).then(|| std::ffi::OsString::from_vec(b"ab\xffcd".to_vec()))
        })
        .unwrap_err();
        assert_eq!(
            error,
            ConfigError::Invalid {
                variable: name,
                problem: "is set but is not valid UTF-8".into()
            }
        );
        assert_eq!(
            base_url_from_os_vars(|n| {
                (n == vars::BASE_URL).then(|| std::ffi::OsString::from_vec(vec![0xff]))
            })
            .unwrap_err(),
            ConfigError::Invalid {
                variable: vars::BASE_URL,
                problem: "is set but is not valid UTF-8".into()
            }
        );
    }
    assert_eq!(base_url_from_os_vars(|_| None).unwrap(), BaseUrl::x_api());
}

#[test]
fn the_app_bearer_token_is_read_alone_and_checked() {
    use std::ffi::OsString;
    let vars = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(*v))
        }
    };
    let config = Config::app_bearer_from_os_vars(vars(&[
        ("X_BEARER_TOKEN", " app-secret-token "),
        ("X_API_BASE_URL", "http://127.0.0.1:9"),
        // User credentials are not read.
        ("X_OAUTH2_ACCESS_TOKEN", ""),
    ]))
    .unwrap();
    assert_eq!(config.base_url.as_str(), "http://127.0.0.1:9");
    let Credentials::AppBearer(token) = &config.credentials else {
        panic!("{config:?}")
    };
    assert_eq!(token.expose_secret(), "app-secret-token");
    assert!(!format!("{config:?}").contains("app-secret-token"));

    let blank = Config::app_bearer_from_os_vars(vars(&[("X_BEARER_TOKEN", "  ")])).unwrap_err();
    assert!(
        matches!(
            blank,
            ConfigError::Invalid {
                variable: "X_BEARER_TOKEN",
                ..
            }
        ),
        "{blank:?}"
    );
    let missing = Config::app_bearer_from_os_vars(vars(&[])).unwrap_err();
    assert!(matches!(
        missing,
        ConfigError::Missing {
            variable: "X_BEARER_TOKEN",
            ..
        }
    ));
    let bad_url = Config::app_bearer_from_os_vars(vars(&[
        ("X_BEARER_TOKEN", "t"),
        ("X_API_BASE_URL", "ftp://x"),
    ]))
    .unwrap_err();
    assert!(bad_url.to_string().contains("X_API_BASE_URL"), "{bad_url}");
    assert!(Credentials::app_bearer("t").implied_user_id().is_none());
}
