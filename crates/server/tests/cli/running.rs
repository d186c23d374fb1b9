//! A `ucplus` child process for the tests: its output read line by line as it comes, SIGTERM
//! and the exit, killed if a test fails first; and its peak memory.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::BIN;

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
pub struct Running {
    child: KillOnDrop,
    lines: std::sync::mpsc::Receiver<String>,
    /// Every line taken from `lines` so far, in the order they came.
    seen: std::cell::RefCell<Vec<String>>,
}

impl Running {
    pub fn start(args: &[&str], environment: &[(&str, &str)]) -> Running {
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
    pub fn line_with(&self, marker: &str) -> String {
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
    pub fn after(&self, marker: &str) -> String {
        let line = self.line_with(marker);
        line.split(marker)
            .nth(1)
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// Sends SIGTERM and waits (up to 20 s) for the exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        self.wait(Duration::from_secs(20))
    }

    /// Waits (up to `within`) for the exit.
    pub fn wait(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(exit) = self.child.0.try_wait().expect("wait") {
                return exit;
            }
            if std::time::Instant::now() >= deadline {
                self.seen.borrow_mut().extend(self.lines.try_iter());
                panic!("no exit within {within:?}: {:#?}", self.seen.borrow());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything the process wrote, once it has exited and its pipes are closed
    /// (waiting up to 20 s for the last lines).
    pub fn output(&self) -> String {
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

    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }
}

/// The peak resident memory of a process, in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// The system admin's token from a running server.
pub async fn admin_token(http: &reqwest::Client, address: &str, password: &str) -> String {
    let login: serde_json::Value = http
        .post(format!("http://{address}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": password, "client": "admin"}))
        .send()
        .await
        .expect("a login answer")
        .json()
        .await
        .expect("JSON");
    login["token"]
        .as_str()
        .expect("the admin logs in")
        .to_string()
}

/// Asserts that the server at `address` serves user `username` (asked as the system
/// admin with `password`).
pub async fn assert_serves_user(address: &str, password: &str, username: &str) {
    let http = reqwest::Client::new();
    let token = admin_token(&http, address, password).await;
    let users: serde_json::Value = http
        .get(format!("http://{address}/api/v1/users"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("an answer")
        .json()
        .await
        .expect("JSON");
    assert!(
        users
            .as_array()
            .expect("a list of users")
            .iter()
            .any(|u| u["username"] == username),
        "{users}"
    );
}
