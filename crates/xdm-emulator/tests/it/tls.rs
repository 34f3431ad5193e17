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
    let tcp = tokio::net::TcpStream::connect(emu.local_addr())
        .await
        .unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
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
