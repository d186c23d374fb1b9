//! `ucplus sim-pbx` and `ucplus demo` as processes: the simulated switch answering CSTA over
//! TCP, the product's own parts working together with their defaults, and the demo's
//! tenants, phones and traffic.

use std::time::Duration;

use crate::running::Running;
use crate::ucplus;

/// `ucplus demo` starts a filled server with live traffic, every printed login works, and
/// the demo data directory is gone after SIGTERM.
#[test]
fn demo_runs_with_tenants_phones_and_traffic() {
    let mut child = Running::start(
        &["demo", "--listen", "127.0.0.1:0"],
        &[("UCPLUS_ADMIN_PASSWORD", "demo-test-admin")],
    );
    let first = child.line_with("(data: ");
    let address = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the URL is printed")
        .to_string();
    let data_dir = first
        .split("(data: ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .expect("the data directory is printed")
        .to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let login = |tenant: Option<&str>, user: &str, password: &str, client: &str| {
            http.post(format!("http://{address}/api/v1/auth/login"))
                .json(&serde_json::json!({"tenant": tenant, "username": user, "password": password, "client": client}))
                .send()
        };
        let admin: serde_json::Value = login(None, "admin", "demo-test-admin", "admin").await.unwrap().json().await.unwrap();
        let admin = admin["token"].as_str().expect("system admin login").to_string();
        for (tenant, users) in ucplus_server::demo::accounts() {
            for user in users {
                let answer = login(Some(tenant), &user, ucplus_server::demo::DEMO_PASSWORD, "desktop").await.unwrap();
                assert_eq!(answer.status(), 200, "{tenant}/{user}");
            }
            let answer = login(Some(tenant), "boss", ucplus_server::demo::DEMO_PASSWORD, "admin").await.unwrap();
            assert_eq!(answer.status(), 200, "{tenant} admin");
        }
        // Both simulated PBXs come up, and the generated traffic makes calls.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let pbxs: serde_json::Value = http
                .get(format!("http://{address}/api/v1/pbxs"))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let all_up = pbxs.as_array().is_some_and(|list| list.len() == 3 && list.iter().all(|p| p["link"]["state"] == "up"));
            let metrics = http.get(format!("http://{address}/metrics")).send().await.unwrap().text().await.unwrap();
            let events = metrics
                .lines()
                .find(|l| l.starts_with("ucplus_pbx_events_total{kind=\"call\"}"))
                .and_then(|l| l.split_whitespace().last())
                .and_then(|n| n.parse::<f64>().ok())
                .unwrap_or(0.0);
            if all_up && events > 0.0 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no live traffic: {pbxs}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // The handset tenant's phones registered with the demo's SIP registrar.
        let boss: serde_json::Value = login(Some("umbrella"), "boss", ucplus_server::demo::DEMO_PASSWORD, "admin").await.unwrap().json().await.unwrap();
        let boss = boss["token"].as_str().expect("umbrella admin").to_string();
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let devices: serde_json::Value = http
                .get(format!("http://{address}/api/v1/devices"))
                .bearer_auth(&boss)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let registered = devices.as_array().is_some_and(|list| {
                list.len() == 3 && list.iter().all(|d| d["registration"]["state"] == "registered")
            });
            if registered {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "handsets not registered: {devices}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let status = child.terminate();
    assert!(status.success(), "{status}");
    assert!(
        !std::path::Path::new(&data_dir).exists(),
        "the demo data directory is removed"
    );
}

/// `ucplus sim-pbx` is a switch a CSTA client can talk to.
#[test]
fn sim_pbx_answers_csta_over_tcp() {
    use std::io::{Read as _, Write as _};
    let mut child = Running::start(
        &[
            "sim-pbx",
            "--listen",
            "127.0.0.1:0",
            "--devices",
            "200-209",
            "--edition",
            "ed5",
        ],
        &[],
    );
    let address = child.after("listening on ");
    let mut stream = std::net::TcpStream::connect(&address).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let request = r#"<MonitorStart xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><monitorObject><deviceObject>201</deviceObject></monitorObject></MonitorStart>"#;
    let mut frame = vec![0u8, 0];
    frame.extend_from_slice(&u16::try_from(8 + request.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(b"0001");
    frame.extend_from_slice(request.as_bytes());
    stream.write_all(&frame).unwrap();
    let mut header = [0u8; 8];
    stream.read_exact(&mut header).unwrap();
    assert_eq!(
        &header[4..8],
        b"0001",
        "the answer carries the request's invoke id"
    );
    let length = usize::from(u16::from_be_bytes([header[2], header[3]])) - 8;
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    let answer = csta::decode(&body).expect("a CSTA document");
    assert_eq!(answer.name(), "MonitorStartResponse");
    assert_eq!(
        csta::detect_edition(&body),
        Some(csta::Edition::Ed5),
        "the switch answers in its edition"
    );
    let status = child.terminate();
    assert!(status.success(), "{status}");
}

/// The product's own parts with their defaults work together: `ucplus sim-pbx` as a
/// switch without sessions, another with an ECMA-354 login, and a `csta` PBX connection
/// left at its default session (`auto`) reaches both — and says what it negotiated.
#[test]
fn sim_pbx_and_a_default_csta_link_work_together() {
    let plain = Running::start(
        &["sim-pbx", "--listen", "127.0.0.1:0", "--devices", "200-209"],
        &[],
    );
    let plain_address = plain.after("listening on ");
    let guarded = Running::start(
        &[
            "sim-pbx",
            "--listen",
            "127.0.0.1:0",
            "--devices",
            "300-309",
            "--session",
            "ecma354",
            "--login",
            "ucplus:s3cret",
        ],
        &[],
    );
    let guarded_address = guarded.after("listening on ");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let server = Running::start(
        &["serve", "--listen", "127.0.0.1:0", "--data", data],
        &[("UCPLUS_ADMIN_PASSWORD", "admin-password-1")],
    );
    let address = server.after("listening on http://");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let base = format!("http://{address}");
        let login: serde_json::Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"tenant": null, "username": "admin", "password": "admin-password-1", "client": "admin"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["token"].as_str().expect("admin token").to_string();
        let add = |name: &str, switch: &str, extra: serde_json::Value| {
            let (host, port) = switch.rsplit_once(':').expect("host:port");
            let mut body = serde_json::json!({"name": name, "kind": "csta", "host": host, "port": port.parse::<u16>().unwrap()});
            if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
                body.extend(extra.clone());
            }
            let request = http
                .post(format!("{base}/api/v1/pbxs"))
                .bearer_auth(&token)
                .json(&body);
            async move {
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), 201);
                let pbx: serde_json::Value = response.json().await.unwrap();
                pbx["id"].as_str().unwrap().to_string()
            }
        };
        let link_of = |id: String| {
            let request = http
                .get(format!("{base}/api/v1/pbxs/{id}"))
                .bearer_auth(&token);
            async move {
                let pbx: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
                pbx["link"].clone()
            }
        };
        let wait_for = |id: String, state: &'static str| {
            let link_of = &link_of;
            async move {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
                loop {
                    let link = link_of(id.clone()).await;
                    if link["state"] == state {
                        return link;
                    }
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "the link never became {state}: {link}"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        let defaults = add("defaults", &plain_address, serde_json::json!({})).await;
        let with_login = add(
            "with login",
            &guarded_address,
            serde_json::json!({"login": "ucplus", "password": "s3cret"}),
        )
        .await;
        let wrong = add(
            "wrong password",
            &guarded_address,
            serde_json::json!({"login": "ucplus", "password": "guess"}),
        )
        .await;
        assert_eq!(wait_for(defaults, "up").await["session"], "none");
        assert_eq!(wait_for(with_login, "up").await["session"], "ecma354");
        let refused = wait_for(wrong, "down").await;
        assert!(
            refused["error"].as_str().unwrap_or_default().contains("refused"),
            "{refused}"
        );
    });
    // A login for a switch without sessions is refused, not ignored.
    let (ok, _, stderr) = ucplus(&[
        "sim-pbx",
        "--listen",
        "127.0.0.1:0",
        "--devices",
        "200",
        "--login",
        "a:b",
    ]);
    assert!(!ok && stderr.contains("--session ecma354"), "{stderr}");
}
