//! PBX links as configured through the API: a request the switch never answers times out
//! after `cti.request_timeout`, and a TLS link trusts exactly the CA file it is given.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pbx::sim::{DeviceSet, SimConfig, Simulator};
use reqwest::StatusCode;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::cti::link_is;
use crate::helpers::{TestServer, error_code};

async fn simulator(devices: &str) -> Simulator {
    let mut config = SimConfig::new(devices.parse::<DeviceSet>().unwrap());
    config.listen = "127.0.0.1:0".parse().unwrap();
    Simulator::start(config).await.expect("simulator")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_the_switch_never_answers_times_out_after_the_request_timeout() {
    let server = TestServer::start_with(|config| config.cti.request_timeout = 400).await;
    let admin = server.admin().await;
    server
        .load_license(&admin, &server.license(&[("desktop", 5)]))
        .await;
    let sim = simulator("200-209").await;
    // A long heartbeat, so the link stays up while the switch is silent.
    let (status, pbx) = server
        .post(&admin, "/api/v1/pbxs", json!({"name": "pbx", "kind": "csta", "host": "127.0.0.1", "port": sim.local_addr().port(), "session": "none", "heartbeat_interval": 30}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pbx}");
    let pbx = pbx["id"].as_str().unwrap().to_string();
    link_is(&server, &admin, &pbx, "up").await;
    let (status, body) = server
        .post(
            &admin,
            &format!("/api/v1/pbxs/{pbx}/devices"),
            json!({"tenant_id": tenant_of(&server, &admin).await, "device_ids": ["200-201"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let anna = server.user(&admin, "anna", &["desktop"]).await;
    let (_, devices) = server.get(&admin, "/api/v1/devices").await;
    let device = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device_id"] == "200")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    server
        .patch(
            &admin,
            &format!("/api/v1/devices/{device}"),
            json!({"user_id": anna}),
        )
        .await;
    let token = server
        .login(None, "anna", "user-password", "desktop")
        .await
        .unwrap();
    // Monitored: a call works while the switch answers.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, made) = server
            .post(&token, "/api/v1/calls", json!({"to": "201"}))
            .await;
        if status == StatusCode::CREATED {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never monitored: {made}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sim.go_silent(Duration::from_secs(10));
    let started = Instant::now();
    let (status, body) = server
        .post(&token, "/api/v1/calls", json!({"to": "202"}))
        .await;
    let waited = started.elapsed();
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "pbx_unavailable"),
        "{body}"
    );
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(8),
        "answered after {waited:?}, the request timeout is 400 ms"
    );
    // An end user is told plainly, without the switch's or the link's internals.
    assert_eq!(
        body["error"]["message"],
        "the telephone system cannot be reached at the moment"
    );
    server.stop().await;
}

async fn tenant_of(server: &TestServer, admin: &str) -> String {
    let (_, tenants) = server.get(admin, "/api/v1/tenants").await;
    tenants[0]["id"].as_str().unwrap().to_string()
}

/// A TLS front for `backend` with a self-signed certificate for `name`: its port and the
/// certificate (PEM).
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_link_trusts_the_ca_file_named_in_its_settings() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let sim = simulator("200-209").await;
    let (port, pem) = tls_front(sim.local_addr(), "pbx.test").await;
    let dir = tempfile::tempdir().unwrap();
    let trusted = dir.path().join("pbx-ca.pem");
    std::fs::write(&trusted, &pem).unwrap();
    let stranger = dir.path().join("other-ca.pem");
    let other = rcgen::generate_simple_self_signed(vec!["pbx.test".to_string()]).unwrap();
    std::fs::write(&stranger, other.cert.pem()).unwrap();
    let add = |name: &str, ca: &std::path::Path| {
        json!({"name": name, "kind": "csta", "host": "127.0.0.1", "port": port, "session": "none",
               "tls": true, "tls_ca_file": ca, "tls_server_name": "pbx.test"})
    };
    let (status, good) = server
        .post(&admin, "/api/v1/pbxs", add("trusted", &trusted))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{good}");
    link_is(&server, &admin, good["id"].as_str().unwrap(), "up").await;
    let (status, bad) = server
        .post(&admin, "/api/v1/pbxs", add("stranger", &stranger))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bad}");
    let down = link_is(&server, &admin, bad["id"].as_str().unwrap(), "down").await;
    assert!(
        down["error"].as_str().unwrap_or_default().contains("TLS"),
        "{down}"
    );
    // A CA file that cannot be read is refused when written, not first when connecting.
    let (status, body) = server
        .post(
            &admin,
            "/api/v1/pbxs",
            add("missing", &dir.path().join("nope.pem")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "tls_ca_file");
    server.stop().await;
}
