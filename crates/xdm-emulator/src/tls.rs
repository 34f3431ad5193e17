//! HTTPS with a self-signed certificate generated at start.

use std::sync::Arc;

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// The names the certificate carries unless told otherwise.
const DEFAULT_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// A TLS acceptor for `localhost` and `127.0.0.1`, and the certificate as PEM for clients
/// to trust.
pub(crate) fn acceptor() -> std::io::Result<(tokio_rustls::TlsAcceptor, String)> {
    acceptor_for(&DEFAULT_NAMES.map(str::to_owned))
}

/// A TLS acceptor whose self-signed certificate names exactly `names` (DNS names, or IP
/// addresses written out), and the certificate as PEM. A certificate that lacks the name a
/// client connects by is how a test checks that the client refuses it. The ring provider is
/// passed explicitly: a library must not install a default.
pub(crate) fn acceptor_for(
    names: &[String],
) -> std::io::Result<(tokio_rustls::TlsAcceptor, String)> {
    let ck = rcgen::generate_simple_self_signed(names.to_vec()).map_err(io_err)?;
    let pem = ck.cert.pem();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(io_err)?
    .with_no_client_auth()
    .with_single_cert(vec![ck.cert.der().clone()], key)
    .map_err(io_err)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((tokio_rustls::TlsAcceptor::from(Arc::new(cfg)), pem))
}
