//! With or without the `hyper` feature: the generic client over a transport of one's own.

use std::time::{Duration, SystemTime};

use xdm::prelude::*;
use xdm::transport::{Timer, TransportError};

struct Clock;
impl Timer for Clock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    async fn sleep(&self, _: Duration) {}
}

fn run<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(future)
}

#[test]
fn a_closure_transport_drives_the_generic_client() {
    let transport = |request: http::Request<bytes::Bytes>| async move {
        assert!(request.headers().contains_key("authorization"));
        let body = r#"{"data":[{"id":"7","event_type":"MessageCreate","text":"hi"}],
                       "meta":{"result_count":1}}"#;
        Ok::<_, TransportError>(http::Response::new(bytes::Bytes::from(body)))
    };
    let config = Config::new(Credentials::oauth2_token("user-access-token"));
    let client = xdm::client::Client::new(transport, Clock, config);
    let texts = run(async {
        let mut events = client.list_events().events();
        let mut texts = Vec::new();
        while let Some(item) = events.next().await {
            texts.push(item?.event.text.unwrap_or_default());
        }
        Ok::<_, Error>(texts)
    })
    .unwrap();
    assert_eq!(texts, ["hi"]);
}
