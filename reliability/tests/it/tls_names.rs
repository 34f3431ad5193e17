//! Matrix 5c: a certificate that does not carry the name the client connects by.
//!
//! The emulator's certificate is trusted in every case and names exactly the names the case
//! gives it (`EmulatorBuilder::tls_names`), so the only thing that can be wrong is the name.
//! Every case connects to the loopback address, by `localhost` or `127.0.0.1`, which every
//! machine resolves: no host alias of the machine is needed. The controls, with the name in the
//! certificate, show that the refusals are about the name and nothing else.

use std::net::{IpAddr, SocketAddr};

use xdm_client::Error;
use xdm_core::endpoints::ListEvents;
use xdm_core::retry::{ReachedServer, TransportErrorKind};
use xdm_emulator::Emulator;

use crate::support::Tally;
use crate::world::{generous_limits, oauth1_credentials, retry_policy};

/// One case: the names in the certificate, the host of the base URL, and whether the
/// certificate names that host.
struct Case {
    certificate: &'static [&'static str],
    host: &'static str,
    named: bool,
}

const CASES: [Case; 6] = [
    // Controls: the host is in the certificate.
    Case {
        certificate: &["localhost", "127.0.0.1"],
        host: "localhost",
        named: true,
    },
    Case {
        certificate: &["127.0.0.1"],
        host: "127.0.0.1",
        named: true,
    },
    // The main case: the certificate is for another host altogether.
    Case {
        certificate: &["api.xdm-emulator.test"],
        host: "localhost",
        named: false,
    },
    Case {
        certificate: &["api.xdm-emulator.test"],
        host: "127.0.0.1",
        named: false,
    },
    // The address of a DNS name is not the name, nor the other way round.
    Case {
        certificate: &["127.0.0.1"],
        host: "localhost",
        named: false,
    },
    Case {
        certificate: &["localhost"],
        host: "127.0.0.1",
        named: false,
    },
];

/// What one connection came to.
enum Outcome {
    Served,
    /// Refused before any request, classified as the refusal of a certificate's name.
    RefusedForTheName,
    /// Anything else, said in words.
    Other(String),
}

/// Connects, with the certificate trusted, to an emulator on 127.0.0.1 whose certificate
/// names `names`, by `host`.
async fn connect(names: &[&str], host: &str) -> Outcome {
    let emu = Emulator::builder()
        .addr(SocketAddr::new(IpAddr::from([127, 0, 0, 1]), 0))
        .tls(true)
        .tls_names(names.iter().copied())
        .seed_events(5)
        .rate_limits(generous_limits())
        .start()
        .await
        .expect("the emulator starts with TLS on 127.0.0.1");
    let base = format!("https://{host}:{}", emu.local_addr().port());
    let client = match xdm_hyper::builder().base_url(&base) {
        Ok(b) => b,
        Err(e) => return Outcome::Other(format!("{base} refused by the builder: {e}")),
    }
    .credentials(oauth1_credentials(&emu))
    .retry_policy(retry_policy())
    .add_root_certificates_pem(emu.certificate_pem().expect("tls").to_owned())
    .build()
    .expect("the client builds");
    let result = client.list_page(&ListEvents::new()).await;
    let served = emu.handle().requests().len();
    emu.shutdown().await;
    match result {
        Ok(_) if served > 0 => Outcome::Served,
        Ok(_) => Outcome::Other("succeeded, yet the emulator served nothing".into()),
        Err(Error::Transport(t)) if served == 0 => {
            let f = t.failure();
            let line = t.to_string();
            if f.kind != TransportErrorKind::Connect || f.reached_server != ReachedServer::No {
                Outcome::Other(format!("refused, but classified {f:?}: {line}"))
            } else if !line.contains("certificate not valid for name") {
                Outcome::Other(format!(
                    "refused, but the error does not say the certificate lacks the name: {line}"
                ))
            } else {
                Outcome::RefusedForTheName
            }
        }
        Err(e) => Outcome::Other(format!("{e} with {served} requests served")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_without_the_host_name_is_refused() {
    let mut tally = Tally::new("tls_wrong_name");
    for case in &CASES {
        let outcome = connect(case.certificate, case.host).await;
        let (name, verdict) = if case.named {
            (
                format!(
                    "{} with a certificate for {:?} works",
                    case.host, case.certificate
                ),
                match outcome {
                    Outcome::Served => Ok(()),
                    Outcome::RefusedForTheName => Err("refused for its name".to_owned()),
                    Outcome::Other(why) => Err(why),
                },
            )
        } else {
            (
                format!(
                    "{} with a certificate for {:?} is refused",
                    case.host, case.certificate
                ),
                match outcome {
                    Outcome::RefusedForTheName => Ok(()),
                    Outcome::Served => {
                        Err("accepted a certificate that does not name the host".to_owned())
                    }
                    Outcome::Other(why) => Err(why),
                },
            )
        };
        tally.record(name, verdict);
    }
    tally.finish();
}
