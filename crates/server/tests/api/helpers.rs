//! `TestServer`: a ucplus server on its own runtime and thread, so a test can stop it
//! gracefully or kill it as if the process died.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use license::file::Issue;
use license::{ItemType, SigningKey};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use ucplus_server::{Application, Config};

pub const ADMIN_PASSWORD: &str = "admin-password-1";

pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
    pub data_dir: PathBuf,
    pub system_id: String,
    /// The SIP registrar's address when `sip.listen` was set.
    pub sip: Option<std::net::SocketAddr>,
    pub vendor: Arc<SigningKey>,
    graceful: Option<oneshot::Sender<()>>,
    kill: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _temp: Option<Arc<tempfile::TempDir>>,
}

/// The vendor key of a test run: any seed works, the server trusts its public key.
pub fn vendor_key() -> Arc<SigningKey> {
    Arc::new(SigningKey::from_seed([42; 32]))
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let temp = Arc::new(tempfile::tempdir().expect("temp dir"));
        let dir = temp.path().to_path_buf();
        Self::start_in(&dir, vendor_key(), Some(temp), tweak).await
    }

    pub async fn start_in(
        dir: &Path,
        vendor: Arc<SigningKey>,
        temp: Option<Arc<tempfile::TempDir>>,
        tweak: impl FnOnce(&mut Config),
    ) -> TestServer {
        Self::try_start_in(dir, vendor, temp, tweak)
            .await
            .expect("server started")
    }

    /// Like [`TestServer::start_in`], returning why the server refused to start.
    pub async fn try_start_in(
        dir: &Path,
        vendor: Arc<SigningKey>,
        temp: Option<Arc<tempfile::TempDir>>,
        tweak: impl FnOnce(&mut Config),
    ) -> Result<TestServer, String> {
        let mut config = Config {
            listen: "127.0.0.1:0".parse().expect("address"),
            data_dir: dir.to_path_buf(),
            initial_admin_password: Some(ucplus_server::config::Secret(ADMIN_PASSWORD.into())),
            ..Config::default()
        };
        config.license.trusted_keys = vec![vendor.public_key().to_string()];
        tweak(&mut config);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (graceful_tx, graceful_rx) = oneshot::channel::<()>();
        let (kill_tx, kill_rx) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let app = match Application::build(config).await {
                    Ok(app) => app,
                    Err(error) => {
                        let _ = ready_tx.send(Err(format!("{error:#}")));
                        return;
                    }
                };
                let address = app.local_addr().expect("address");
                let system_id = app.state().system_id.clone();
                let sip = app.state().sip_address;
                let _ = ready_tx.send(Ok((address, system_id, sip)));
                let graceful = async {
                    let _ = graceful_rx.await;
                };
                tokio::select! {
                    result = app.run_until_stopped(graceful) => result.expect("server ran"),
                    _ = kill_rx => {}
                }
            });
            // Dropping the runtime drops every task: like a process that died.
            drop(runtime);
        });
        let (address, system_id, sip) = tokio::task::spawn_blocking(move || ready_rx.recv())
            .await
            .expect("join")
            .expect("server thread answered")?;
        Ok(TestServer {
            base: format!("http://{address}"),
            http: reqwest::Client::new(),
            data_dir: dir.to_path_buf(),
            system_id,
            sip,
            vendor,
            graceful: Some(graceful_tx),
            kill: Some(kill_tx),
            thread: Some(thread),
            _temp: temp,
        })
    }

    /// Stops like SIGTERM: drains and flushes.
    pub async fn stop(mut self) {
        if let Some(tx) = self.graceful.take() {
            let _ = tx.send(());
        }
        self.join().await;
    }

    /// Stops like a crash: nothing is flushed, no session logs out.
    pub async fn kill(mut self) {
        if let Some(tx) = self.kill.take() {
            let _ = tx.send(());
        }
        self.join().await;
    }

    async fn join(&mut self) {
        if let Some(thread) = self.thread.take() {
            tokio::task::spawn_blocking(move || thread.join())
                .await
                .expect("join")
                .expect("server thread");
        }
    }

    /// Keeps the data directory alive for a restart in the same place.
    pub fn temp(&self) -> Option<Arc<tempfile::TempDir>> {
        self._temp.clone()
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_with(method, path, token, body, &[]).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn put(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Logs in; `Ok(token)` or `Err((status, code))`.
    pub async fn login(
        &self,
        tenant: Option<&str>,
        username: &str,
        password: &str,
        client: &str,
    ) -> Result<String, (StatusCode, String)> {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"tenant": tenant, "username": username, "password": password, "client": client})),
            )
            .await;
        if status == StatusCode::OK {
            Ok(body["token"].as_str().expect("token").to_string())
        } else {
            Err((status, error_code(&body)))
        }
    }

    pub async fn admin(&self) -> String {
        self.login(None, "admin", ADMIN_PASSWORD, "admin")
            .await
            .expect("system admin login")
    }

    /// A license for this server, signed by the trusted vendor key.
    pub fn license(&self, items: &[(&str, u32)]) -> String {
        self.license_for(&self.system_id, items, None, &self.vendor)
    }

    pub fn license_for(
        &self,
        system_id: &str,
        items: &[(&str, u32)],
        expires: Option<time::Date>,
        key: &SigningKey,
    ) -> String {
        let items: BTreeMap<ItemType, u32> = items
            .iter()
            .map(|(name, quantity)| (name.parse().expect("item type"), *quantity))
            .collect();
        Issue {
            id: ucplus_core::ids::new_uuid().to_string(),
            system_id: system_id.to_string(),
            customer: Some("Test Hosting".into()),
            issued: time::macros::date!(2026 - 01 - 01),
            expires,
            items,
        }
        .sign(key)
    }

    /// Loads a license file, returning the status and body.
    /// The system admin's token, with multi-tenant mode licensed (a starter pack for five
    /// tenants and five desktop licenses).
    pub async fn multi_tenant_admin(&self) -> String {
        let admin = self.admin().await;
        let (status, body) = self
            .load_license(
                &admin,
                &self.license(&[("mt-starter-5", 1), ("desktop", 5)]),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        admin
    }

    pub async fn load_license(&self, admin: &str, text: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/api/v1/licenses", self.base))
            .bearer_auth(admin)
            .header("content-type", "text/plain")
            .body(text.to_string())
            .send()
            .await
            .expect("request sent");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Imports shared contacts from a CSV body (bytes as given, `text/csv`).
    pub async fn import_csv(&self, token: &str, csv: impl Into<Vec<u8>>) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/api/v1/contacts/import", self.base))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(csv.into())
            .send()
            .await
            .expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// The pool entry of one license type: (total, in_use).
    pub async fn pool(&self, admin: &str, license_type: &str) -> (u64, u64) {
        let (status, body) = self.get(admin, "/api/v1/licenses").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let entry = &body["pool"][license_type];
        (
            entry["total"].as_u64().expect("total"),
            entry["in_use"].as_u64().expect("in_use"),
        )
    }

    /// Creates a tenant with admin `boss` / `boss-password` and returns (id, admin token).
    pub async fn tenant(&self, admin: &str, slug: &str) -> (String, String) {
        let (status, body) = self
            .post(
                admin,
                "/api/v1/tenants",
                json!({"name": format!("Tenant {slug}"), "slug": slug,
                       "admin": {"username": "boss", "password": "boss-password"}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_str().expect("id").to_string();
        let token = self
            .login(Some(slug), "boss", "boss-password", "admin")
            .await
            .expect("tenant admin login");
        (id, token)
    }

    /// The value of a metric at `/metrics`: the sum over the series named `name` whose
    /// labels include every pair of `labels` (0 when there is none yet).
    ///
    /// Metrics have one recorder per process: every server of the test binary adds to
    /// the same series. A test reads its own part as a difference, and only of series
    /// that no test running at the same time can move (a label unique to the test, or
    /// something only its server does).
    pub async fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let (status, text) = self.call(Method::GET, "/metrics", None, None).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        metric_value(text.as_str().unwrap_or_default(), name, labels)
    }

    /// Waits (up to 10 s) until [`TestServer::metric`] is above `value`; returns it.
    pub async fn wait_metric_above(&self, name: &str, labels: &[(&str, &str)], value: f64) -> f64 {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let now = self.metric(name, labels).await;
            if now > value {
                return now;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name}{labels:?} stayed at {now} (want more than {value})"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Creates a user with password `user-password` and the given license types.
    pub async fn user(&self, tenant_admin: &str, username: &str, licenses: &[&str]) -> String {
        let (status, body) = self
            .post(
                tenant_admin,
                "/api/v1/users",
                json!({"username": username, "password": "user-password",
                       "display_name": username.to_uppercase(), "licenses": licenses}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().expect("id").to_string()
    }
}

pub fn error_code(body: &Value) -> String {
    body["error"]["code"].as_str().unwrap_or("").to_string()
}

/// The sum of the series `name` whose labels include all of `labels` in a Prometheus
/// text exposition.
pub fn metric_value(exposition: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (series_name, series_labels) = match series.split_once('{') {
                Some((series_name, rest)) => (series_name, parse_labels(rest.strip_suffix('}')?)),
                None => (series, Vec::new()),
            };
            let matches = series_name == name
                && labels.iter().all(|(key, wanted)| {
                    series_labels.iter().any(|(k, v)| k == key && v == wanted)
                });
            if matches {
                value.parse::<f64>().ok()
            } else {
                None
            }
        })
        // (A fold from 0: an empty sum of floats is -0.)
        .fold(0.0, |sum, value| sum + value)
}

/// `a="x",b="y\"z"` as pairs (values unescaped).
fn parse_labels(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => value.push(other),
                    None => {}
                },
                '"' => {
                    end = at + 1;
                    break;
                }
                other => value.push(other),
            }
        }
        pairs.push((key.trim_start_matches(',').trim().to_string(), value));
        rest = &after[end..];
    }
    pairs
}

#[test]
fn metric_values_are_read_by_name_and_labels() {
    let text = "# TYPE x counter\nx{route=\"/a/{id}\",status=\"200\"} 3\nx{route=\"/a/{id}\",status=\"404\"} 2\nx_total 7\ny{q=\"a\\\"b\"} 1\n";
    assert_eq!(metric_value(text, "x", &[("route", "/a/{id}")]), 5.0);
    assert_eq!(metric_value(text, "x", &[("status", "404")]), 2.0);
    assert_eq!(metric_value(text, "x_total", &[]), 7.0);
    assert_eq!(metric_value(text, "y", &[("q", "a\"b")]), 1.0);
    assert_eq!(metric_value(text, "z", &[]), 0.0);
}
