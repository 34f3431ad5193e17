//! HTTPS with the generated certificate (only with the `tls` feature).

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use xdm_emulator::Emulator;

use crate::common::oauth1_header;

#[tokio::test]
async fn https_with_the_self_signed_certificate() {
    let emu = Emulator::builder()
        .seed_events(10)
        .tls(true)
        .start()
        .await
        .unwrap();
    assert!(emu.base_url().starts_with("https://127.0.0.1:"));
    let mut tls = connect(&emu, "127.0.0.1").await.unwrap();
    // OAuth 1.0a over https signs the https URL.
    let c = &emu.credentials().oauth1;
    let url = format!("{}/2/dm_events", emu.base_url());
    let auth = oauth1_header(
        "GET",
        &url,
        &[],
        &c.consumer_key,
        &c.consumer_secret,
        Some((&c.access_token, &c.access_token_secret)),
    );
    let req = format!(
        "GET /2/dm_events HTTP/1.1\r\nHost: {}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n",
        emu.local_addr()
    );
    tls.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}

/// Connects to the emulator over TLS as `name`, trusting its certificate and nothing else.
async fn connect(
    emu: &Emulator,
    name: &str,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, std::io::Error> {
    let cert = CertificateDer::from_pem_slice(emu.certificate_pem().unwrap().as_bytes()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let tcp = tokio::net::TcpStream::connect(emu.local_addr()).await?;
    let name = ServerName::try_from(name.to_owned()).unwrap();
    connector.connect(name, tcp).await
}

/// Completes a TLS handshake with the emulator as `name`, trusting its certificate.
async fn handshake(emu: &Emulator, name: &str) -> Result<(), std::io::Error> {
    connect(emu, name).await.map(drop)
}

#[tokio::test]
async fn tls_names_replace_the_default_names() {
    let emu = Emulator::builder()
        .seed_events(1)
        .tls(true)
        .tls_names(["api.emulator.test", "127.0.0.3"])
        .start()
        .await
        .unwrap();
    handshake(&emu, "api.emulator.test")
        .await
        .expect("a listed DNS name is in the certificate");
    handshake(&emu, "127.0.0.3")
        .await
        .expect("a listed address is in the certificate");
    for absent in ["localhost", "127.0.0.1", "other.emulator.test"] {
        let e = handshake(&emu, absent)
            .await
            .expect_err("only the listed names are in the certificate");
        assert!(
            e.to_string().contains("not valid for name"),
            "{absent}: {e}"
        );
    }
    assert!(emu.handle().requests().is_empty());
}

#[tokio::test]
async fn no_tls_names_keep_localhost_and_127_0_0_1() {
    let emu = Emulator::builder()
        .seed_events(1)
        .tls(true)
        .tls_names(Vec::<String>::new())
        .start()
        .await
        .unwrap();
    for name in ["localhost", "127.0.0.1"] {
        handshake(&emu, name).await.expect(name);
    }
}
