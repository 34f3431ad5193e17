//! The API root as the command line and environment give it, checked before anything else:
//! a variable that is set but unusable is an error naming it, never a silent fall back to
//! X's own address.

use xdm_core::InvalidInput;

use crate::cli::Global;
use crate::exit::{Failure, Kind};

/// Checks the API root a command will use: `--base-url` when given, else `X_API_BASE_URL`
/// when set. A blank or non-UTF-8 variable, and a port out of range in either, are bad
/// input (exit 2); only an unset variable leaves the default.
pub fn check(global: &Global) -> Result<(), Failure> {
    if global.emulator {
        return Ok(());
    }
    // The flag wins; the variable is then not read at all.
    if let Some(flag) = &global.base_url {
        return check_port(flag, "base_url");
    }
    let name = xdm_client::vars::BASE_URL;
    match std::env::var_os(name) {
        None => Ok(()),
        Some(value) => check_port(&from_var(name, value)?, name),
    }
}

/// The value of the variable `name`, refused when it is not UTF-8 or blank.
fn from_var(name: &str, value: std::ffi::OsString) -> Result<String, Failure> {
    let value = value.into_string().map_err(|_| {
        Failure::new(
            Kind::Input,
            format!("{name} is set but is not valid UTF-8; fix it, or unset it to use X's API"),
        )
    })?;
    if value.trim().is_empty() {
        return Err(Failure::new(
            Kind::Input,
            format!("{name} is set but blank; set it to a URL, or unset it to use X's API"),
        ));
    }
    Ok(value)
}

/// Refuses a URL whose port is not a number from 1 to 65535: a URL parser that cannot read
/// it would otherwise fall back to the scheme's default port, and talk to another server.
fn check_port(url: &str, parameter: &'static str) -> Result<(), Failure> {
    let url = url.trim();
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let port = match host_port.strip_prefix('[') {
        // An IPv6 literal: the port follows the closing bracket.
        Some(v6) => v6.split_once(']').and_then(|(_, p)| p.strip_prefix(':')),
        None => host_port.rsplit_once(':').map(|(_, p)| p),
    };
    match port {
        None | Some("") => Ok(()),
        Some(p) if p.parse::<u16>().is_ok_and(|n| n != 0) => Ok(()),
        Some(p) => Err(InvalidInput::new(
            parameter,
            format!("port {p} is out of range"),
            "a port from 1 to 65535",
        )
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_out_of_range_are_refused() {
        for ok in [
            "https://api.x.com",
            "http://127.0.0.1:8080/",
            "http://[::1]:65535/2",
            "https://h:/x",
        ] {
            assert!(check_port(ok, "base_url").is_ok(), "{ok}");
        }
        for bad in [
            "http://127.0.0.1:99999",
            "http://127.0.0.1:0/",
            "http://[::1]:70000",
            "http://localhost:-1",
            "https://u@h:1x",
        ] {
            let e = check_port(bad, "base_url").unwrap_err();
            assert_eq!(e.kind, Kind::Input, "{bad}");
            assert!(e.message.contains("1 to 65535"), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn blank_and_non_utf8_variables_are_refused_by_name() {
        let e = from_var("X_API_BASE_URL", " \t".into()).unwrap_err();
        assert!(e.message.starts_with("X_API_BASE_URL is set but blank"));
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            let e =
                from_var("X_API_BASE_URL", std::ffi::OsString::from_vec(vec![0xff])).unwrap_err();
            assert_eq!(e.kind, Kind::Input);
            assert!(e.message.contains("not valid UTF-8"), "{}", e.message);
        }
        assert_eq!(from_var("X", "http://h".into()).unwrap(), "http://h");
    }
}
