//! A TLS configuration of one's own, built only from what the facade re-exports.

use std::sync::Arc;

use xdm::prelude::*;
use xdm::transport::rustls;
use xdm::transport::rustls::pki_types::CertificateDer;
use xdm::transport::rustls::pki_types::pem::PemObject;
use xdm_emulator::Emulator;

fn config_trusting(pem: Option<&str>) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.unwrap_or_default().as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

fn client(emulator: &Emulator, tls: rustls::ClientConfig) -> Client {
    let token = emulator.credentials().oauth2.access_token.clone();
    let config = Config::new(Credentials::oauth2_token(token))
        .with_base_url(xdm::BaseUrl::parse(emulator.base_url()).unwrap());
    xdm::builder()
        .config(config)
        .transport(|t| t.tls_config(tls))
        .retry_policy(xdm::retry::RetryPolicy::never())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rustls_config_from_the_reexport_is_the_one_used() {
    let emulator = Emulator::builder()
        .seed_events(2)
        .tls(true)
        .start()
        .await
        .unwrap();
    assert!(emulator.base_url().starts_with("https://"));

    // The emulator's self-signed certificate is trusted only through the given configuration.
    let trusting = client(&emulator, config_trusting(emulator.certificate_pem()));
    let page = trusting.list_events().next_page().await.unwrap().unwrap();
    assert_eq!(page.data.map_or(0, |events| events.len()), 2);

    // A configuration with no roots at all refuses the same server before any request.
    let empty = client(&emulator, config_trusting(None));
    let error = empty.list_events().next_page().await.unwrap().unwrap_err();
    assert!(matches!(error, Error::Transport(_)), "{error}");
    assert_eq!(emulator.handle().requests().len(), 1);
    emulator.shutdown().await;
}
