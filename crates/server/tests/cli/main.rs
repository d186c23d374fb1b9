//! The `ucplus` binary as an operator uses it: license tooling, system id, CSTA decoding,
//! and a served server that logs no secrets, keeps its memory flat under logins and stops
//! cleanly on SIGTERM. The simulated switch and the demo as processes are in `sim`, the
//! load run on several nodes in `bench`; the harness that runs a child process and reads
//! its output is `running`.

mod backup;
mod bench;
mod cluster;
mod running;
#[path = "../../../store/tests/support/scratch.rs"]
mod scratch;
mod sim;
mod store;

use std::process::Command;

use crate::running::{Running, peak_rss_kib};

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
