//! The `ucplus` binary as an operator uses it: license tooling, system id, and a served
//! server that logs no secrets and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_ucplus");

fn ucplus(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(BIN)
        .args(args)
        .env_remove("UCPLUS_LICENSE_PUBLIC_KEYS")
        .output()
        .expect("ucplus runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn license_keygen_issue_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let data = path("data");

    let (ok, system_id, _) = ucplus(&["system-id", "--data", &data]);
    assert!(ok);
    let system_id = system_id.trim().to_string();
    let (_, again, _) = ucplus(&["system-id", "--data", &data]);
    assert_eq!(again.trim(), system_id, "the system id is stable");

    let (ok, public_key, _) = ucplus(&["license", "keygen", "--out", &path("vendor.key")]);
    assert!(ok);
    let public_key = public_key.trim().to_string();
    assert!(public_key.starts_with("ed25519:"));
    let (ok, _, stderr) = ucplus(&["license", "keygen", "--out", &path("vendor.key")]);
    assert!(!ok, "an existing key is never overwritten");
    assert!(stderr.contains("must not exist"), "{stderr}");

    let (ok, _, stderr) = ucplus(&[
        "license",
        "issue",
        "--key",
        &path("vendor.key"),
        "--system-id",
        &system_id,
        "--item",
        "mt-starter-5=1",
        "--item",
        "desktop=100",
        "--expires",
        "2099-12-31",
        "--customer",
        "ACME Hosting",
        "--out",
        &path("acme.lic"),
    ]);
    assert!(ok, "{stderr}");
    let (ok, stdout, _) = ucplus(&[
        "license",
        "verify",
        &path("acme.lic"),
        "--public-key",
        &public_key,
        "--system-id",
        &system_id,
    ]);
    assert!(ok, "{stdout}");
    assert!(
        stdout.contains("desktop = 100") && stdout.contains("mt-starter-5 = 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2099-12-31") && stdout.contains("ACME Hosting"),
        "{stdout}"
    );

    let (ok, stdout, _) = ucplus(&[
        "license",
        "verify",
        &path("acme.lic"),
        "--public-key",
        &public_key,
        "--system-id",
        "other",
    ]);
    assert!(!ok);
    assert!(stdout.contains("wrong_system"), "{stdout}");
    let (_, other_key, _) = ucplus(&["license", "keygen", "--out", &path("other.key")]);
    let (ok, stdout, _) = ucplus(&[
        "license",
        "verify",
        &path("acme.lic"),
        "--public-key",
        other_key.trim(),
    ]);
    assert!(!ok);
    assert!(stdout.contains("invalid_signature"), "{stdout}");
    let (ok, _, stderr) = ucplus(&[
        "license",
        "issue",
        "--key",
        &path("vendor.key"),
        "--system-id",
        "x",
        "--item",
        "phones=3",
        "--out",
        &path("bad.lic"),
    ]);
    assert!(!ok);
    assert!(stderr.contains("unknown license type"), "{stderr}");
}

#[test]
fn serve_logs_no_secrets_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let password = "Sup3r-Secret-Admin-Pw";
    // Its output is read while it runs (a full pipe cannot stall it), and it is killed if
    // the test fails before it stops.
    let mut child = Running::start(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            data.to_str().unwrap(),
        ],
        &[
            ("UCPLUS_ADMIN_PASSWORD", password),
            ("UCPLUS_LOG_LEVEL", "debug"),
            ("UCPLUS_LOG_FORMAT", "json"),
        ],
    );
    let address = child.after("listening on http://");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let token = runtime.block_on(async {
        let http = reqwest::Client::new();
        let response = http
            .post(format!("http://{address}/api/v1/auth/login"))
            .json(&serde_json::json!({"tenant": null, "username": "admin", "password": password, "client": "admin"}))
            .send()
            .await
            .expect("login");
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        let token = body["token"].as_str().unwrap().to_string();
        let me = http.get(format!("http://{address}/api/v1/me")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(me.status(), 200);
        // A failed login is logged, without the password tried.
        http.post(format!("http://{address}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": "admin", "password": "Wrong-Pw-Tried", "client": "admin"}))
            .send()
            .await
            .unwrap();
        token
    });
    let exit = child.terminate();
    assert!(exit.success(), "graceful exit: {exit}");
    // Everything it wrote, standard output and the logs, up to its end.
    let output = child.output();
    assert!(
        output.contains("\"message\":\"login\""),
        "JSON logs: {output}"
    );
    assert!(output.contains("failed login"), "{output}");
    assert!(output.contains("shutting down"), "{output}");
    for secret in [password, token.as_str(), "Wrong-Pw-Tried"] {
        assert!(!output.contains(secret), "a secret reached the output");
    }
}

/// A capture with framed messages, one of them broken: every good one is printed as JSON,
/// the bad one is reported with its offset, and the exit status says something was bad.
#[test]
fn csta_decode_reports_bad_frames_and_continues() {
    fn frame(invoke: &str, xml: &str) -> Vec<u8> {
        let length = u16::try_from(8 + xml.len()).unwrap();
        let mut bytes = vec![0, 0];
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.extend_from_slice(invoke.as_bytes());
        bytes.extend_from_slice(xml.as_bytes());
        bytes
    }
    let delivered = r#"<?xml version="1.0" encoding="UTF-8"?><DeliveredEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4"><monitorCrossRefID>7</monitorCrossRefID><connection><callID>42</callID><deviceID>N&lt;302118840100&gt;;noa=nk</deviceID></connection><alertingDevice><deviceIdentifier>N&lt;302118840100&gt;;noa=nk</deviceIdentifier></alertingDevice><callingDevice><deviceIdentifier>tel:+3222220220</deviceIdentifier></callingDevice><calledDevice><deviceIdentifier>302118840100</deviceIdentifier></calledDevice><lastRedirectionDevice><notKnown/></lastRedirectionDevice><localConnectionInfo>alerting</localConnectionInfo><cause>newCall</cause></DeliveredEvent>"#;
    let answer = r#"<AnswerCall xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><callToBeAnswered><callID>42</callID><deviceID>201</deviceID></callToBeAnswered></AnswerCall>"#;
    let mut capture = frame("9999", delivered);
    capture.extend(frame("0001", "<AnswerCall><callToBeAnswered>"));
    capture.extend(frame("0002", answer));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.bin");
    std::fs::write(&path, &capture).unwrap();

    let output = Command::new(BIN)
        .args(["csta", "decode"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!output.status.success(), "a bad message makes the run fail");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0]["type"], "DeliveredEvent");
    assert_eq!(lines[0]["offset"], 0);
    let text = lines[0].to_string();
    assert!(
        text.contains("302118840100") && text.contains("+3222220220"),
        "{text}"
    );
    assert_eq!(lines[1]["type"], "AnswerCall");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let bad_offset = frame("9999", delivered).len();
    assert!(
        stderr.contains(&format!("error at byte {bad_offset}")),
        "{stderr}"
    );

    // The same capture from standard input, as bare XML documents (from a file, so the
    // child is never left waiting on a pipe the test failed to write or read).
    let input = dir.path().join("capture.xml");
    std::fs::write(&input, format!("{delivered}\n{answer}\n")).unwrap();
    let output = Command::new(BIN)
        .args(["csta", "decode", "-"])
        .stdin(std::fs::File::open(&input).unwrap())
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 2);
}

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

/// A child process that is killed if the test fails before stopping it.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A child process whose output lines (standard output and error) are read as they
/// come, so a full pipe can never stall it; killed when dropped.
struct Running {
    child: KillOnDrop,
    lines: std::sync::mpsc::Receiver<String>,
    /// Every line taken from `lines` so far, in the order they came.
    seen: std::cell::RefCell<Vec<String>>,
}

impl Running {
    fn start(args: &[&str], environment: &[(&str, &str)]) -> Running {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env_remove("UCPLUS_LICENSE_PUBLIC_KEYS")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in environment {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("ucplus starts");
        let (sender, lines) = std::sync::mpsc::channel();
        for output in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(output).lines().map_while(Result::ok) {
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Running {
            child: KillOnDrop(child),
            lines,
            seen: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// The next line that contains `marker` (waiting up to 20 s).
    fn line_with(&self, marker: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "no line with {marker:?} within 20 s: {:#?}",
                    self.seen.borrow()
                )
            });
            self.seen.borrow_mut().push(line.clone());
            if line.contains(marker) {
                return line;
            }
        }
    }

    /// The text after `marker` on the next line that has it (waiting up to 20 s).
    fn after(&self, marker: &str) -> String {
        let line = self.line_with(marker);
        line.split(marker)
            .nth(1)
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// Sends SIGTERM and waits (up to 20 s) for the exit.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(exit) = self.child.0.try_wait().expect("wait") {
                return exit;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no exit within 20 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything the process wrote, once it has exited and its pipes are closed
    /// (waiting up to 20 s for the last lines).
    fn output(&self) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.borrow_mut().push(line),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    panic!("the output did not end within 20 s")
                }
            }
        }
        self.seen.borrow().join("\n")
    }

    fn pid(&self) -> u32 {
        self.child.0.id()
    }
}

/// The peak resident memory of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
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

/// A hundred logins at once (Argon2 takes 19 MiB each) leave the server's memory flat:
/// hashing runs a few at a time.
#[test]
fn concurrent_logins_keep_memory_flat() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Running::start(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            data.to_str().unwrap(),
        ],
        &[("UCPLUS_ADMIN_PASSWORD", "admin-password-1")],
    );
    let address = server.after("listening on http://");
    let before = peak_rss_kib(server.pid());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let statuses = runtime.block_on(async {
        let http = reqwest::Client::new();
        let logins = (0..100).map(|i| {
            let request = http
                .post(format!("http://{address}/api/v1/auth/login"))
                .json(&serde_json::json!({"tenant": null, "username": "admin",
                    "password": if i % 2 == 0 { "admin-password-1" } else { "wrong-password" },
                    "client": "admin"}));
            async move {
                request
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            }
        });
        futures_util::future::join_all(logins).await
    });
    let after = peak_rss_kib(server.pid());
    assert!(
        statuses.iter().all(|s| [200, 401, 429, 503].contains(s)),
        "{statuses:?}"
    );
    // Unbounded, 100 concurrent Argon2 runs need about 1.9 GiB; a few at a time, tens of MiB.
    assert!(
        after.saturating_sub(before) < 200 * 1024,
        "peak memory grew from {before} KiB to {after} KiB"
    );
}

/// Text logs cannot be forged through login fields: a user name with a newline and an
/// escape sequence is logged escaped, on its own line.
#[test]
fn login_fields_cannot_forge_log_lines() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = Running::start(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            data.to_str().unwrap(),
        ],
        &[
            ("UCPLUS_ADMIN_PASSWORD", "admin-password-1"),
            ("UCPLUS_LOG_FORMAT", "text"),
        ],
    );
    let address = child.after("listening on http://");
    let forged = "INFO ucplus_server: login username=admin client=admin";
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(format!("http://{address}/api/v1/auth/login"))
            .json(&serde_json::json!({"tenant": "x\u{1b}[2J", "username": format!("mallory\n{forged}\u{1b}[31m"), "password": "wrong-password", "client": "admin"}))
            .send()
            .await
            .expect("login");
        assert_eq!(response.status(), 401);
    });
    assert!(child.terminate().success());
    let output = child.output();
    assert!(output.contains("failed login"), "{output}");
    assert!(
        !output.contains('\u{1b}'),
        "an escape sequence reached the log: {output:?}"
    );
    assert!(
        !output
            .lines()
            .any(|line| line.trim_start().starts_with(forged)),
        "a forged line reached the log: {output}"
    );
}
