//! The SIP registrar for uaCSTA handsets (RFC 3261 §10), over real UDP and TCP.
//! One file (a little over 600 lines): every test drives the hand-written phone below
//! (`Phone`, its digest answers and raw messages), which belongs with them.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use sip::{Credentials, Message, Method, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::helpers::TestServer;
use crate::ws::Events;

/// A SIP phone as far as registering goes.
struct Phone {
    socket: UdpSocket,
    registrar: SocketAddr,
    user: String,
    domain: String,
    call_id: String,
    cseq: u32,
    /// The Authorization header of the last authenticated REGISTER.
    authorization: Option<String>,
}

impl Phone {
    async fn new(registrar: SocketAddr, user: &str, domain: &str) -> Phone {
        Phone::at("127.0.0.1", registrar, user, domain).await
    }

    /// A phone on another loopback address (another host, as far as the registrar knows).
    async fn at(ip: &str, registrar: SocketAddr, user: &str, domain: &str) -> Phone {
        Phone {
            socket: UdpSocket::bind((ip, 0)).await.unwrap(),
            authorization: None,
            registrar,
            user: user.into(),
            domain: domain.into(),
            call_id: sip::new_call_id("127.0.0.1"),
            cseq: 0,
        }
    }

    fn register_text(
        &mut self,
        contact: &str,
        expires: u32,
        authorization: Option<&str>,
    ) -> String {
        self.cseq += 1;
        let local = self.socket.local_addr().unwrap();
        let mut text = format!(
            "REGISTER sip:{domain} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\nMax-Forwards: 70\r\n\
             From: <sip:{user}@{domain}>;tag=a1b2\r\nTo: <sip:{user}@{domain}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n\
             Contact: {contact}\r\nExpires: {expires}\r\nUser-Agent: ucplus-test\r\n",
            domain = self.domain,
            branch = sip::new_branch(),
            user = self.user,
            call_id = self.call_id,
            cseq = self.cseq,
        );
        if let Some(authorization) = authorization {
            text.push_str(&format!("Authorization: {authorization}\r\n"));
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        text
    }

    /// Sends `text` and returns the next response. Requests that arrive meanwhile (the
    /// controller's INVITE opening a uaCSTA session once registered) are ignored: this
    /// phone only registers.
    async fn exchange(&self, text: &str) -> Response {
        self.socket
            .send_to(text.as_bytes(), self.registrar)
            .await
            .unwrap();
        let mut buffer = vec![0u8; 65_535];
        loop {
            let (length, _) =
                tokio::time::timeout(Duration::from_secs(5), self.socket.recv_from(&mut buffer))
                    .await
                    .expect("the registrar answers")
                    .unwrap();
            match sip::parse_datagram(&buffer[..length], &sip::Limits::default()) {
                Ok(Some(Message::Response(response))) => return response,
                Ok(Some(Message::Request(_))) => continue,
                other => panic!("not SIP: {other:?}"),
            }
        }
    }

    /// REGISTER, answering the digest challenge with `password`.
    async fn register(&mut self, password: &str, contact: &str, expires: u32) -> Response {
        let uri = format!("sip:{}", self.domain);
        self.register_naming(&uri, password, contact, expires).await
    }

    /// REGISTER, answering the digest challenge for the digest `uri` given.
    async fn register_naming(
        &mut self,
        uri: &str,
        password: &str,
        contact: &str,
        expires: u32,
    ) -> Response {
        let first = self.register_text(contact, expires, None);
        let challenge = self.exchange(&first).await;
        if challenge.status.as_u16() != 401 {
            return challenge;
        }
        let challenge = challenge
            .headers
            .www_authenticate()
            .unwrap()
            .expect("a challenge");
        let credentials = Credentials::answer(
            &challenge,
            &self.user,
            password,
            &Method::Register,
            uri,
            "c0ffee",
            1,
        );
        let authorization = credentials.to_string();
        let second = self.register_text(contact, expires, Some(&authorization));
        self.authorization = Some(authorization);
        self.exchange(&second).await
    }

    /// Sends a REGISTER with a given Authorization (captured from someone else).
    async fn register_with(&mut self, authorization: &str, contact: &str) -> Response {
        let text = self.register_text(contact, 120, Some(authorization));
        self.exchange(&text).await
    }
}

async fn handset_setup(server: &TestServer) -> (String, String, String, String) {
    let admin = server.multi_tenant_admin().await;
    let (tenant_a, admin_a) = server.tenant(&admin, "acme").await;
    let (tenant_b, admin_b) = server.tenant(&admin, "globex").await;
    let mut devices = Vec::new();
    for (tenant, tenant_admin, domain, number) in [
        (&tenant_a, &admin_a, "acme.example", "100"),
        (&tenant_b, &admin_b, "globex.example", "200"),
    ] {
        let (status, pbx) = server
            .post(&admin, "/api/v1/pbxs", json!({"name": "handsets", "kind": "uacsta", "tenant_id": tenant, "sip_domain": domain}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{pbx}");
        let (status, device) = server
            .post(
                tenant_admin,
                "/api/v1/devices",
                json!({"pbx_id": pbx["id"], "device_id": number}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{device}");
        let id = device["id"].as_str().unwrap().to_string();
        let (status, body) = server
            .patch(
                tenant_admin,
                &format!("/api/v1/devices/{id}"),
                json!({"sip_username": number, "sip_password": format!("secret-{number}")}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            body.get("sip_password").is_none() && body.get("sip_ha1").is_none(),
            "secrets are write-only: {body}"
        );
        assert_eq!(body["registration"]["state"], "unregistered");
        devices.push(id);
    }
    // The same SIP domain cannot name two connections.
    let (status, body) = server
        .post(
            &admin,
            "/api/v1/pbxs",
            json!({"name": "copy", "kind": "uacsta", "sip_domain": "acme.example"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["fields"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("sip_domain"))
    );
    (admin_a, devices[0].clone(), admin_b, devices[1].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handsets_register_with_digest_auth_per_rfc_3261() {
    let server =
        TestServer::start_with(|config| config.sip.listen = Some("127.0.0.1:0".parse().unwrap()))
            .await;
    let registrar = server.sip.expect("the registrar listens");
    let (admin_a, device_a, admin_b, _) = handset_setup(&server).await;
    let mut events = Events::connect(&server, &admin_a).await;

    let mut phone = Phone::new(registrar, "100", "acme.example").await;
    let contact = format!("<sip:100@{}>", phone.socket.local_addr().unwrap());
    let ok = phone.register("secret-100", &contact, 120).await;
    assert_eq!(ok.status.as_u16(), 200, "{ok:?}");
    let contacts = ok.headers.get_all("Contact").count();
    assert_eq!(contacts, 1);
    events
        .wait_for("registration", |r| {
            r["device_id"] == device_a.as_str() && r["state"] == "registered"
        })
        .await;
    let (_, device) = server
        .get(&admin_a, &format!("/api/v1/devices/{device_a}"))
        .await;
    assert_eq!(device["registration"]["state"], "registered");
    assert!(
        device["registration"]["contact"]
            .as_str()
            .unwrap()
            .contains("sip:100@127.0.0.1")
    );
    assert!(device["registration"]["expires"].as_u64().unwrap() <= 120);

    // A second contact of the same handset (another line or app).
    let second = "<sip:100@127.0.0.2:5099>".to_string();
    let ok = phone.register("secret-100", &second, 120).await;
    assert_eq!(ok.headers.get_all("Contact").count(), 2, "{ok:?}");
    // Refreshing keeps two bindings.
    let ok = phone.register("secret-100", &second, 300).await;
    assert_eq!(ok.headers.get_all("Contact").count(), 2);
    // Too brief: 423 with Min-Expires.
    let brief = phone.register("secret-100", &contact, 10).await;
    assert_eq!(brief.status.as_u16(), 423);
    assert!(brief.headers.get("Min-Expires").is_some());
    // Wildcard unregister.
    let gone = phone.register("secret-100", "*", 0).await;
    assert_eq!(gone.status.as_u16(), 200, "{gone:?}");
    events
        .wait_for("registration", |r| {
            r["device_id"] == device_a.as_str() && r["state"] == "unregistered"
        })
        .await;

    // Wrong password, unknown user, unknown domain: all challenged first, then refused
    // alike, so the answers do not tell which accounts exist.
    let mut wrong = Phone::new(registrar, "100", "acme.example").await;
    assert_eq!(
        wrong
            .register("not-the-password", &contact, 120)
            .await
            .status
            .as_u16(),
        403
    );
    let mut nobody = Phone::new(registrar, "999", "acme.example").await;
    assert_eq!(
        nobody.register("x", &contact, 120).await.status.as_u16(),
        403
    );
    let mut elsewhere = Phone::new(registrar, "100", "unknown.example").await;
    assert_eq!(
        elsewhere
            .register("secret-100", &contact, 120)
            .await
            .status
            .as_u16(),
        403
    );
    // Tenant isolation: B's handset cannot register in A's domain, nor A's in B's.
    let mut b_in_a = Phone::new(registrar, "200", "acme.example").await;
    assert_eq!(
        b_in_a
            .register("secret-200", &contact, 120)
            .await
            .status
            .as_u16(),
        403
    );
    let mut a_in_b = Phone::new(registrar, "100", "globex.example").await;
    assert_eq!(
        a_in_b
            .register("secret-100", &contact, 120)
            .await
            .status
            .as_u16(),
        403
    );
    // A's registration events never reach B.
    let mut b_events = Events::connect(&server, &admin_b).await;
    let mut again = Phone::new(registrar, "100", "acme.example").await;
    assert_eq!(
        again
            .register("secret-100", &contact, 120)
            .await
            .status
            .as_u16(),
        200
    );
    b_events.drain(Duration::from_millis(300)).await;
    assert!(
        b_events.seen.iter().all(|e| e["type"] != "registration"),
        "{:?}",
        b_events.seen
    );

    // Garbage is ignored; the registrar keeps answering.
    phone
        .socket
        .send_to(b"\x00\x01garbage\r\n\r\n", registrar)
        .await
        .unwrap();
    let options = "OPTIONS sip:acme.example SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(phone.exchange(options).await.status.as_u16(), 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handsets_register_over_tcp_too() {
    let server =
        TestServer::start_with(|config| config.sip.listen = Some("127.0.0.1:0".parse().unwrap()))
            .await;
    let registrar = server.sip.expect("the registrar listens");
    handset_setup(&server).await;
    let mut phone = Phone::new(registrar, "100", "acme.example").await;
    let mut stream = TcpStream::connect(registrar).await.unwrap();
    let contact = "<sip:100@127.0.0.1:5070;transport=tcp>";
    let mut exchange = async |text: String| -> Response {
        stream.write_all(text.as_bytes()).await.unwrap();
        let mut framer = sip::StreamFramer::new(sip::Limits::default());
        let mut buffer = bytes::BytesMut::new();
        loop {
            if let Ok(Some(sip::StreamItem::Message(message))) = framer.decode(&mut buffer)
                && let Message::Response(response) = *message
            {
                return response;
            }
            let read = tokio::time::timeout(Duration::from_secs(5), stream.read_buf(&mut buffer))
                .await
                .expect("an answer")
                .unwrap();
            assert!(read > 0, "the registrar closed the connection");
        }
    };
    let challenge = exchange(phone.register_text(contact, 120, None)).await;
    assert_eq!(challenge.status.as_u16(), 401);
    let challenge = challenge.headers.www_authenticate().unwrap().unwrap();
    let credentials = Credentials::answer(
        &challenge,
        "100",
        "secret-100",
        &Method::Register,
        "sip:acme.example",
        "beef",
        1,
    );
    stream
        .write_all(
            phone
                .register_text(contact, 120, Some(&credentials.to_string()))
                .as_bytes(),
        )
        .await
        .unwrap();
    // The 200 comes first; then ucplus opens the uaCSTA session on this same connection
    // (the contact's own port is never tried: nothing listens there).
    let mut framer = sip::StreamFramer::new(sip::Limits::default());
    let mut buffer = bytes::BytesMut::new();
    let mut messages = Vec::new();
    while messages.len() < 2 {
        if let Ok(Some(sip::StreamItem::Message(message))) = framer.decode(&mut buffer) {
            messages.push(*message);
            continue;
        }
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_buf(&mut buffer))
            .await
            .expect("the 200 and the session's INVITE")
            .unwrap();
        assert!(read > 0, "the registrar closed the connection");
    }
    let Message::Response(ok) = &messages[0] else {
        panic!("the 200 first: {:?}", messages[0]);
    };
    assert_eq!(ok.status.as_u16(), 200, "{ok:?}");
    let Message::Request(invite) = &messages[1] else {
        panic!("then the session's INVITE: {:?}", messages[1]);
    };
    assert_eq!(invite.method, Method::Invite);
    let via = invite.headers.top_via().unwrap();
    assert_eq!(via.transport, "TCP", "{invite:?}");
    assert!(
        String::from_utf8_lossy(&invite.body).contains("RequestSystemStatus"),
        "{invite:?}"
    );
    server.stop().await;
}

async fn registration_of(server: &TestServer, admin: &str, device: &str) -> serde_json::Value {
    let (_, body) = server
        .get(admin, &format!("/api/v1/devices/{device}"))
        .await;
    body["registration"].clone()
}

/// Interop: baresip, a SIP user agent written elsewhere, registers with ucplus using
/// digest auth; ucplus shows the binding; baresip unregisters when it quits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_registers_and_unregisters() {
    let Some(baresip) = ["/usr/bin/baresip", "/usr/local/bin/baresip"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        assert!(
            std::env::var("CI").is_err(),
            "baresip is missing: .ci/run installs it (apt-get install baresip)"
        );
        eprintln!("SKIPPED outside CI: baresip is not installed");
        return;
    };
    let server =
        TestServer::start_with(|config| config.sip.listen = Some("127.0.0.1:0".parse().unwrap()))
            .await;
    let registrar = server.sip.expect("the registrar listens");
    let (admin_a, device_a, _, _) = handset_setup(&server).await;
    let dir = tempfile::tempdir().unwrap();
    // baresip binds a port of its own choosing (0): a port picked here and released
    // could be taken by someone else before baresip binds it.
    std::fs::write(
        dir.path().join("config"),
        "poll_method\t\tpoll\nsip_listen\t\t127.0.0.1:0\nmodule_path\t\t/usr/lib/baresip/modules\nmodule\t\t\tg711.so\nmodule_app\t\taccount.so\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("accounts"),
        format!("<sip:100@acme.example;transport=udp>;auth_pass=secret-100;outbound=\"sip:{registrar};transport=udp\";regint=60\n"),
    )
    .unwrap();
    let mut child = tokio::process::Command::new(baresip)
        .args(["-f"])
        .arg(dir.path())
        .args(["-t", "30"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("baresip starts");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let registered = loop {
        let registration = registration_of(&server, &admin_a, &device_a).await;
        if registration["state"] == "registered" {
            break registration;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "baresip did not register: {registration}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The binding is baresip's own socket: the port it bound, read from /proc.
    let pid = child.id().expect("baresip runs");
    let ports = udp_ports_of(pid);
    assert!(
        ports.iter().any(|port| registered["contact"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{port}"))),
        "{registered}, baresip's UDP ports: {ports:?}"
    );
    // Told to quit (Ctrl-C), baresip unregisters.
    let pid = pid.to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("baresip quits")
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let registration = registration_of(&server, &admin_a, &device_a).await;
        if registration["state"] == "unregistered" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "baresip did not unregister: {registration}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop().await;
}

/// The local ports of the UDP sockets process `pid` has open (Linux: its descriptors in
/// /proc, matched by inode to /proc/net/udp).
fn udp_ports_of(pid: u32) -> Vec<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the process's descriptors")
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_string(),
            )
        })
        .collect();
    let mut ports = Vec::new();
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(inode)) = (fields.get(1), fields.get(9)) else {
                continue;
            };
            if inodes.iter().any(|i| i == inode)
                && let Some(port) = local
                    .rsplit_once(':')
                    .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok())
            {
                ports.push(port);
            }
        }
    }
    ports
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captured_authorization_cannot_be_replayed_from_anywhere() {
    let server =
        TestServer::start_with(|config| config.sip.listen = Some("127.0.0.1:0".parse().unwrap()))
            .await;
    let registrar = server.sip.expect("the registrar listens");
    let (admin_a, device_a, _, _) = handset_setup(&server).await;
    let mut phone = Phone::new(registrar, "100", "acme.example").await;
    let contact = format!("<sip:100@{}>", phone.socket.local_addr().unwrap());
    let ok = phone.register("secret-100", &contact, 120).await;
    assert_eq!(ok.status.as_u16(), 200, "{ok:?}");
    let captured = phone
        .authorization
        .clone()
        .expect("an Authorization was sent");

    // An eavesdropper on another host sends the same Authorization with a new Call-ID,
    // CSeq and Contact: the nonce was not issued to its address.
    let mut attacker = Phone::at("127.0.0.2", registrar, "100", "acme.example").await;
    let stolen = format!("<sip:100@{}>", attacker.socket.local_addr().unwrap());
    let replayed = attacker.register_with(&captured, &stolen).await;
    assert_eq!(replayed.status.as_u16(), 401, "{replayed:?}");
    // The same Authorization again from the phone's own address: the count was used.
    let again = phone.register_with(&captured, &contact).await;
    assert_eq!(again.status.as_u16(), 401, "{again:?}");

    // The handset stays registered where it was, and the attacker's address is sent
    // nothing but the challenge (no session INVITE reflected at it).
    let (_, device) = server
        .get(&admin_a, &format!("/api/v1/devices/{device_a}"))
        .await;
    let bound = device["registration"]["contact"]
        .as_str()
        .unwrap_or_default();
    assert!(bound.contains("127.0.0.1"), "{device}");
    assert!(!bound.contains("127.0.0.2"), "{device}");
    let mut buffer = vec![0u8; 65_535];
    let more = tokio::time::timeout(
        Duration::from_secs(2),
        attacker.socket.recv_from(&mut buffer),
    )
    .await;
    assert!(more.is_err(), "the attacker's address got another datagram");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sip_over_tcp_is_bounded_per_address_and_slow_messages_are_cut_off() {
    let server = TestServer::start_with(|config| {
        config.sip.listen = Some("127.0.0.1:0".parse().unwrap());
        config.sip.tcp_max_connections_per_address = 3;
        config.sip.tcp_message_timeout = 1;
    })
    .await;
    let registrar = server.sip.expect("the registrar listens");
    let closed_within = |mut stream: TcpStream, wait: Duration| async move {
        let mut buffer = [0u8; 256];
        matches!(
            tokio::time::timeout(wait, stream.read(&mut buffer)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    };
    // Three idle connections from one address are kept; a fourth is closed at once.
    let mut kept = Vec::new();
    for _ in 0..3 {
        kept.push(TcpStream::connect(registrar).await.unwrap());
    }
    let fourth = TcpStream::connect(registrar).await.unwrap();
    assert!(closed_within(fourth, Duration::from_secs(2)).await);
    // Another address is not affected by that one's connections.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut other = socket.connect(registrar).await.unwrap();
    other.write_all(b"\r\n\r\n").await.unwrap();
    let mut pong = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(2), other.read_exact(&mut pong))
        .await
        .expect("a keep-alive answer")
        .unwrap();
    assert_eq!(&pong, b"\r\n");
    // A message trickled in a byte at a time is cut off after the message timeout, however
    // steadily the bytes come.
    drop(kept.pop());
    let mut slow = TcpStream::connect(registrar).await.unwrap();
    let started = tokio::time::Instant::now();
    let text =
        b"REGISTER sip:acme.example SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK1\r\n";
    let mut cut_off = false;
    for byte in text {
        if slow.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        let mut buffer = [0u8; 64];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(100), slow.read(&mut buffer)).await
        {
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "the trickled message was never cut off");
    assert!(started.elapsed() < Duration::from_secs(5));
    server.stop().await;
}

/// A rate-limited handset gets the same 403 as a wrong password: the answer does not tell
/// an attacker that the limiter, rather than the password, refused it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_registration_looks_like_a_wrong_password() {
    let server =
        TestServer::start_with(|config| config.sip.listen = Some("127.0.0.1:0".parse().unwrap()))
            .await;
    let registrar = server.sip.expect("the registrar listens");
    handset_setup(&server).await;
    let mut phone = Phone::new(registrar, "100", "acme.example").await;
    let contact = format!("<sip:100@{}>", phone.socket.local_addr().unwrap());
    let wrong = phone.register("not-the-password", &contact, 120).await;
    assert_eq!(wrong.status.as_u16(), 403);
    // Past the limit (10 failures per user and address in a minute) even the right
    // password is refused — in exactly the same words.
    let mut limited = None;
    for _ in 0..12 {
        let answer = phone.register("not-the-password", &contact, 120).await;
        assert_eq!(answer.status.as_u16(), 403);
        limited = Some(answer);
    }
    let right = phone.register("secret-100", &contact, 120).await;
    assert_eq!(right.status.as_u16(), 403, "the limiter refuses: {right:?}");
    assert_eq!(right.reason, wrong.reason, "the same reason phrase");
    assert_eq!(
        limited.map(|answer| answer.reason),
        Some(wrong.reason.clone())
    );
    server.stop().await;
}

/// Phones behind proxies and load tools put the registrar's own address in the digest
/// `uri`: accepted when it is where the REGISTER was sent (IP and port), refused for any
/// other host or port — for a registrar on one address and for one on all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_uri_may_name_the_registrars_own_address() {
    for listen in ["127.0.0.1:0", "0.0.0.0:0"] {
        let server =
            TestServer::start_with(|config| config.sip.listen = Some(listen.parse().unwrap()))
                .await;
        let port = server.sip.expect("the registrar listens").port();
        let registrar: SocketAddr = ([127, 0, 0, 1], port).into();
        handset_setup(&server).await;
        let mut phone = Phone::new(registrar, "100", "acme.example").await;
        let contact = format!("<sip:100@{}>", phone.socket.local_addr().unwrap());
        for own in [
            format!("sip:127.0.0.1:{port}"),
            format!("sip:100@127.0.0.1:{port};transport=udp"),
        ] {
            let ok = phone
                .register_naming(&own, "secret-100", &contact, 120)
                .await;
            assert_eq!(ok.status.as_u16(), 200, "{listen}, {own}: {ok:?}");
        }
        for other in [
            format!("sip:192.0.2.1:{port}"),
            format!("sip:127.0.0.1:{}", port.wrapping_add(1)),
            "sip:registrar.example.net".to_string(),
        ] {
            let refused = phone
                .register_naming(&other, "secret-100", &contact, 120)
                .await;
            assert_eq!(refused.status.as_u16(), 403, "{listen}, {other}");
        }
        server.stop().await;
    }
}
