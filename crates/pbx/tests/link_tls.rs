//! The CSTA link client over TLS, against the simulator behind a TLS-terminating proxy.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use pbx::link::csta::{CstaLinkConfig, SessionPattern, TlsSettings};
use pbx::sim::{SimConfig, Simulator};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use ucplus_core::cti::{LinkEvent, LinkState};

/// A TLS front for `backend` with a self-signed certificate for `name`; returns its port
/// and the certificate (PEM).
async fn tls_front(backend: std::net::SocketAddr, name: &str) -> (u16, String) {
    let certified = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
    let pem = certified.cert.pem();
    let chain = vec![CertificateDer::from(certified.cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut secured) = acceptor.accept(client).await else {
                    return;
                };
                let Ok(mut plain) = TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut secured, &mut plain).await;
            });
        }
    });
    (port, pem)
}

/// Runs a link and returns the first state it settles in (up or down) with its error.
async fn first_state(config: CstaLinkConfig) -> (LinkState, Option<String>, Vec<LinkEvent>) {
    let devices: BTreeSet<String> = ["200".to_string(), "201".to_string()].into();
    let devices_count = devices.len();
    let (mut engine, link) = pbx::link::channels(devices);
    let task = tokio::spawn(pbx::link::csta::run(config, link));
    let mut seen = Vec::new();
    let result = loop {
        let event = tokio::time::timeout(Duration::from_secs(10), engine.events.recv())
            .await
            .expect("the link reports")
            .expect("the link runs");
        seen.push(event.clone());
        if let LinkEvent::State { state, error } = event {
            if state != LinkState::Connecting {
                break (state, error);
            }
        }
    };
    // Collect the snapshots that follow an up link: one per device is awaited (at most
    // 10 s), then whatever else comes within 300 ms.
    if result.0 == LinkState::Up {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let snapshots = |seen: &[LinkEvent]| {
            seen.iter()
                .filter(|e| matches!(e, LinkEvent::Snapshot { .. }))
                .count()
        };
        while snapshots(&seen) < devices_count {
            match tokio::time::timeout_at(deadline, engine.events.recv()).await {
                Ok(Some(event)) => seen.push(event),
                _ => break,
            }
        }
        while let Ok(Some(event)) =
            tokio::time::timeout(Duration::from_millis(300), engine.events.recv()).await
        {
            seen.push(event);
        }
    }
    engine.shutdown.send_replace(true);
    let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    (result.0, result.1, seen)
}

async fn simulator() -> Simulator {
    let mut config = SimConfig::new("200-209".parse().unwrap());
    config.listen = "127.0.0.1:0".parse().unwrap();
    Simulator::start(config).await.unwrap()
}

fn link(port: u16, tls: Option<TlsSettings>) -> CstaLinkConfig {
    let mut config = CstaLinkConfig::new("127.0.0.1", port);
    config.session = SessionPattern::None;
    config.backoff_min = Duration::from_secs(5);
    config.tls = tls;
    config
}

#[tokio::test]
async fn a_link_over_tls_comes_up_with_the_pbx_certificate_trusted() {
    let sim = simulator().await;
    let (port, pem) = tls_front(sim.local_addr(), "pbx.test").await;
    let tls = TlsSettings {
        trusted_pem: Some(pem.into_bytes()),
        verify: true,
        server_name: Some("pbx.test".into()),
    };
    let (state, error, seen) = first_state(link(port, Some(tls))).await;
    assert_eq!((state, error), (LinkState::Up, None));
    let snapshots = seen
        .iter()
        .filter(|e| matches!(e, LinkEvent::Snapshot { .. }))
        .count();
    assert_eq!(
        snapshots, 2,
        "both devices monitored and resynchronised: {seen:?}"
    );
}

#[tokio::test]
async fn a_certificate_that_is_not_trusted_is_refused() {
    let sim = simulator().await;
    let (port, _) = tls_front(sim.local_addr(), "pbx.test").await;
    let other = rcgen::generate_simple_self_signed(vec!["pbx.test".to_string()]).unwrap();
    let tls = TlsSettings {
        trusted_pem: Some(other.cert.pem().into_bytes()),
        verify: true,
        server_name: Some("pbx.test".into()),
    };
    let (state, error, _) = first_state(link(port, Some(tls))).await;
    assert_eq!(state, LinkState::Down);
    assert!(
        error.unwrap_or_default().contains("TLS handshake"),
        "the reason names TLS"
    );
    // The wrong name is refused as well.
    let (port, pem) = tls_front(sim.local_addr(), "pbx.test").await;
    let tls = TlsSettings {
        trusted_pem: Some(pem.into_bytes()),
        verify: true,
        server_name: Some("other.test".into()),
    };
    let (state, _, _) = first_state(link(port, Some(tls))).await;
    assert_eq!(state, LinkState::Down);
}

#[tokio::test]
async fn verification_can_be_turned_off_for_a_lab_and_plain_tcp_still_works() {
    let sim = simulator().await;
    let (port, _) = tls_front(sim.local_addr(), "pbx.test").await;
    let tls = TlsSettings {
        trusted_pem: None,
        verify: false,
        server_name: None,
    };
    let (state, _, _) = first_state(link(port, Some(tls))).await;
    assert_eq!(state, LinkState::Up);
    let (state, _, _) = first_state(link(sim.local_addr().port(), None)).await;
    assert_eq!(state, LinkState::Up);
}
