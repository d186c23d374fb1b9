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
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env("UCPLUS_ADMIN_PASSWORD", password)
        .env("UCPLUS_LOG_LEVEL", "debug")
        .env("UCPLUS_LOG_FORMAT", "json")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut printed = String::new();
    let address = loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).expect("read") > 0,
            "server exited: {printed}"
        );
        printed.push_str(&line);
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.trim().to_string();
        }
    };
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
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "graceful exit");
    stdout.read_to_string(&mut printed).unwrap();
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    assert!(logs.contains("\"message\":\"login\""), "JSON logs: {logs}");
    assert!(logs.contains("failed login"), "{logs}");
    assert!(logs.contains("shutting down"), "{logs}");
    for secret in [password, token.as_str(), "Wrong-Pw-Tried"] {
        assert!(
            !logs.contains(secret) && !printed.contains(secret),
            "a secret reached the output"
        );
    }
}
