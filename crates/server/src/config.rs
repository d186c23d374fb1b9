//! Typed configuration: defaults, then a TOML file, then `UCPLUS_*` environment variables,
//! then command-line flags (each later source wins).
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! data_dir = "./ucplus-data"
//! session_idle_timeout = 120      # seconds without request or WebSocket before a session ends
//! token_ttl = 43200               # seconds a token lives at most
//! socket_send_buffer = 262144     # bytes of kernel send buffer per client connection
//! database_url = "postgres://ucplus@db/ucplus"  # unset: SQLite in data_dir (one node)
//! node_name = "ucplus-1"          # unset: host name and HTTP port, e.g. "web1:8080"
//! [log]
//! format = "text"                 # or "json"
//! level = "info"
//! [license]
//! trusted_keys = ["ed25519:..."]
//! allow_unverified = false        # start although no stored license verifies
//! [login]
//! max_failures_per_user = 5
//! max_failures_per_address = 30
//! failure_window = 300
//! max_concurrent_hashes = 0       # Argon2 hashes at once (19 MiB each); 0: one per core
//! hash_wait = 5000                # ms a login waits for a hashing slot, then 503 busy
//! [usage]
//! flush_interval = 60
//! retention_days = 800
//! [cti]
//! request_timeout = 5000          # ms a PBX request may take
//! call_log_retention_days = 365
//! client_queue = 4096             # events a slow WebSocket client may fall behind
//! [http]
//! max_connections = 10000         # open connections at most (WebSockets included)
//! max_connections_per_address = 256
//! reserved_connections = 64       # kept for addresses holding fewer than 4 connections
//! header_timeout = 15             # s for a request head (and for an idle keep-alive)
//! body_timeout = 30               # s for a request body
//! [quotas]
//! personal_contacts = 1000        # per user
//! shared_contacts = 50000         # per tenant
//! [sip]
//! listen = "127.0.0.1:5060"       # SIP registrar for uaCSTA handsets (UDP + TCP); unset: off
//! session_refresh = 600           # seconds between re-INVITEs of each handset's session
//! tcp_max_connections = 4096      # SIP over TCP: connections at most
//! tcp_max_connections_per_address = 64
//! tcp_idle_timeout = 300          # s of silence between messages before closing
//! tcp_message_timeout = 10        # s from a message's first byte to its last
//! [cluster]
//! nats_url = "nats://127.0.0.1:4222"  # live events between nodes; with PostgreSQL only
//! lease_ttl = 3000                # ms a node's lease lives unless renewed (every ttl / 3)
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;
use ucplus_store::Backend;

use crate::startup::DATABASE_FILE;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Seconds a client session lives without a request or an open WebSocket.
    pub session_idle_timeout: u64,
    /// Seconds an admin-console session lives without a request.
    pub admin_idle_timeout: u64,
    /// Seconds a token lives at most.
    pub token_ttl: u64,
    /// Kernel send buffer per client connection (bytes). Bounds what a client that stops
    /// reading can hold up before its WebSocket is closed as too slow.
    pub socket_send_buffer: usize,
    pub log: LogConfig,
    pub license: LicenseConfig,
    pub login: LoginConfig,
    pub usage: UsageConfig,
    pub cti: CtiConfig,
    pub sip: SipConfig,
    pub http: HttpConfig,
    pub quotas: QuotaConfig,
    /// Where the state lives: unset, the embedded SQLite file in `data_dir` (one node);
    /// `postgres://…`, a PostgreSQL database shared by every node. May hold a password:
    /// never logged.
    pub database_url: Option<Secret>,
    /// This node's name in the cluster; unset: the host name and the HTTP port.
    pub node_name: Option<String>,
    pub cluster: ClusterConfig,
    /// The first system admin's password (`UCPLUS_ADMIN_PASSWORD`); generated when unset.
    /// Environment only: a password does not belong in a config file.
    #[serde(skip)]
    pub initial_admin_password: Option<Secret>,
    /// The key for secrets at rest (`UCPLUS_SECRETS_KEY`, 32 bytes base64); when unset,
    /// `secrets.key` in the data directory. Environment only.
    #[serde(skip)]
    pub secrets_key: Option<Secret>,
    /// The clock license expiry is judged by (the wall clock; tests move it forward).
    #[serde(skip)]
    pub clock: crate::licensing::Clock,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `ucplus_server=debug,info`.
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LicenseConfig {
    /// Vendor public keys (`ed25519:...`) whose license signatures are accepted.
    pub trusted_keys: Vec<String>,
    /// Start even when stored licenses exist and none verifies (they are not counted).
    pub allow_unverified: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoginConfig {
    pub max_failures_per_user: u32,
    pub max_failures_per_address: u32,
    /// Seconds over which failures are counted.
    pub failure_window: u64,
    /// Password hashes computed at once (19 MiB each); 0: one per core.
    pub max_concurrent_hashes: usize,
    /// Milliseconds a login waits for a free hashing slot before `503 busy`.
    pub hash_wait: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UsageConfig {
    /// Seconds between writes of license-use peaks to the database.
    pub flush_interval: u64,
    /// Days of usage history kept for billing.
    pub retention_days: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./ucplus-data"),
            session_idle_timeout: 120,
            admin_idle_timeout: 1800,
            token_ttl: 12 * 3600,
            socket_send_buffer: 256 * 1024,
            log: LogConfig::default(),
            license: LicenseConfig::default(),
            login: LoginConfig::default(),
            usage: UsageConfig::default(),
            cti: CtiConfig::default(),
            sip: SipConfig::default(),
            http: HttpConfig::default(),
            quotas: QuotaConfig::default(),
            database_url: None,
            node_name: None,
            cluster: ClusterConfig::default(),
            initial_admin_password: None,
            secrets_key: None,
            clock: crate::licensing::Clock::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CtiConfig {
    /// Milliseconds a PBX request may take before `pbx_unavailable`.
    pub request_timeout: u64,
    /// Days of call history kept.
    pub call_log_retention_days: u64,
    /// Events a tenant's ring holds; a WebSocket client that falls this far behind is
    /// disconnected (close code 4008).
    pub client_queue: usize,
}

/// Several nodes on one PostgreSQL database.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// NATS server for live events and requests between nodes (`nats://host:4222`).
    pub nats_url: Option<String>,
    /// Milliseconds a node's lease lives unless renewed; renewed every third of it. A node
    /// that cannot renew for two thirds of it stops its PBX links before others may take
    /// them.
    pub lease_ttl: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            nats_url: None,
            lease_ttl: 3_000,
        }
    }
}

/// How much data users and tenants may keep.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaConfig {
    /// Personal contacts per user.
    pub personal_contacts: u64,
    /// Shared directory contacts per tenant.
    pub shared_contacts: u64,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        QuotaConfig {
            personal_contacts: 1_000,
            shared_contacts: 50_000,
        }
    }
}

/// Limits of the HTTP listener (see `serve`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Open connections at most, WebSockets included.
    pub max_connections: u32,
    /// Open connections at most from one client address.
    pub max_connections_per_address: u32,
    /// Slots below `max_connections` kept for addresses that hold almost none.
    pub reserved_connections: u32,
    /// Seconds a request's head may take to arrive, also while a keep-alive connection
    /// waits for its next request.
    pub header_timeout: u64,
    /// Seconds a request's body may take to arrive.
    pub body_timeout: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_connections: 10_000,
            max_connections_per_address: 256,
            reserved_connections: 64,
            header_timeout: 15,
            body_timeout: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipConfig {
    /// The SIP registrar for uaCSTA handsets (UDP and TCP on this address); none: off.
    pub listen: Option<SocketAddr>,
    /// Seconds between re-INVITEs that keep each handset's CSTA-over-SIP session alive.
    pub session_refresh: u64,
    /// SIP over TCP: open connections at most.
    pub tcp_max_connections: u32,
    /// SIP over TCP: open connections at most from one address.
    pub tcp_max_connections_per_address: u32,
    /// SIP over TCP: seconds a connection may stay silent between messages (phones send
    /// CRLF keep-alives more often).
    pub tcp_idle_timeout: u64,
    /// SIP over TCP: seconds a message may take from its first byte to its last.
    pub tcp_message_timeout: u64,
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            listen: None,
            session_refresh: 600,
            tcp_max_connections: 4096,
            tcp_max_connections_per_address: 64,
            tcp_idle_timeout: 300,
            tcp_message_timeout: 10,
        }
    }
}

impl Default for CtiConfig {
    fn default() -> Self {
        CtiConfig {
            request_timeout: 5_000,
            call_log_retention_days: 365,
            client_queue: 4096,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

impl Default for LoginConfig {
    fn default() -> Self {
        LoginConfig {
            max_failures_per_user: 5,
            max_failures_per_address: 30,
            failure_window: 300,
            max_concurrent_hashes: 0,
            hash_wait: 5_000,
        }
    }
}

impl Default for UsageConfig {
    fn default() -> Self {
        UsageConfig {
            flush_interval: 60,
            retention_days: 800,
        }
    }
}

/// A value that must never reach a log: `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Where an environment variable lands in the configuration.
const ENV_VARS: &[&str] = &[
    "UCPLUS_LISTEN",
    "UCPLUS_DATA_DIR",
    "UCPLUS_SESSION_IDLE_TIMEOUT",
    "UCPLUS_ADMIN_IDLE_TIMEOUT",
    "UCPLUS_TOKEN_TTL",
    "UCPLUS_LOG_FORMAT",
    "UCPLUS_LOG_LEVEL",
    "UCPLUS_LICENSE_PUBLIC_KEYS",
    "UCPLUS_ADMIN_PASSWORD",
    "UCPLUS_SECRETS_KEY",
    "UCPLUS_SIP_LISTEN",
    "UCPLUS_LICENSE_ALLOW_UNVERIFIED",
    "UCPLUS_HTTP_MAX_CONNECTIONS",
    "UCPLUS_HTTP_MAX_CONNECTIONS_PER_ADDRESS",
    "UCPLUS_DATABASE_URL",
    "UCPLUS_NODE_NAME",
    "UCPLUS_NATS_URL",
];

impl Config {
    /// Defaults, overlaid with the file (if given), then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("config file {} is invalid", path.display()))?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    /// Applies `UCPLUS_*` variables read through `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        for name in ENV_VARS {
            let Some(value) = get(name) else { continue };
            let value = if *name == "UCPLUS_ADMIN_PASSWORD" {
                value
            } else {
                value.trim().to_string()
            };
            let bad = |e: &dyn std::fmt::Display| anyhow::anyhow!("{name}={value:?}: {e}");
            match *name {
                "UCPLUS_LISTEN" => self.listen = value.parse().map_err(|e| bad(&e))?,
                "UCPLUS_DATA_DIR" => self.data_dir = PathBuf::from(&value),
                "UCPLUS_SESSION_IDLE_TIMEOUT" => {
                    self.session_idle_timeout = value.parse().map_err(|e| bad(&e))?;
                }
                "UCPLUS_ADMIN_IDLE_TIMEOUT" => {
                    self.admin_idle_timeout = value.parse().map_err(|e| bad(&e))?;
                }
                "UCPLUS_TOKEN_TTL" => self.token_ttl = value.parse().map_err(|e| bad(&e))?,
                "UCPLUS_LOG_FORMAT" => {
                    self.log.format = match value.as_str() {
                        "text" => LogFormat::Text,
                        "json" => LogFormat::Json,
                        _ => return Err(bad(&"expected `text` or `json`")),
                    };
                }
                "UCPLUS_LOG_LEVEL" => self.log.level = value,
                "UCPLUS_LICENSE_PUBLIC_KEYS" => self.license.trusted_keys.extend(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|k| !k.is_empty())
                        .map(str::to_string),
                ),
                "UCPLUS_SIP_LISTEN" => self.sip.listen = Some(value.parse().map_err(|e| bad(&e))?),
                "UCPLUS_LICENSE_ALLOW_UNVERIFIED" => {
                    self.license.allow_unverified = match value.as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => return Err(bad(&"expected true or false")),
                    };
                }
                "UCPLUS_HTTP_MAX_CONNECTIONS" => {
                    self.http.max_connections = value.parse().map_err(|e| bad(&e))?;
                }
                "UCPLUS_HTTP_MAX_CONNECTIONS_PER_ADDRESS" => {
                    self.http.max_connections_per_address = value.parse().map_err(|e| bad(&e))?;
                }
                "UCPLUS_DATABASE_URL" => {
                    self.database_url = Some(value).filter(|u| !u.is_empty()).map(Secret);
                }
                "UCPLUS_NODE_NAME" => self.node_name = Some(value).filter(|n| !n.is_empty()),
                "UCPLUS_NATS_URL" => self.cluster.nats_url = Some(value).filter(|u| !u.is_empty()),
                "UCPLUS_SECRETS_KEY" => {
                    self.secrets_key = Some(value).filter(|k| !k.is_empty()).map(Secret);
                }
                "UCPLUS_ADMIN_PASSWORD" => {
                    self.initial_admin_password = Some(value).filter(|p| !p.is_empty()).map(Secret);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.session_idle_timeout > 0,
            "session_idle_timeout must be > 0"
        );
        anyhow::ensure!(
            self.admin_idle_timeout > 0,
            "admin_idle_timeout must be > 0"
        );
        anyhow::ensure!(self.token_ttl > 0, "token_ttl must be > 0");
        anyhow::ensure!(
            self.usage.flush_interval > 0,
            "usage.flush_interval must be > 0"
        );
        anyhow::ensure!(
            self.login.failure_window > 0,
            "login.failure_window must be > 0"
        );
        anyhow::ensure!(
            self.http.max_connections > self.http.reserved_connections,
            "http.max_connections must be above http.reserved_connections"
        );
        anyhow::ensure!(
            self.http.max_connections_per_address > 0,
            "http.max_connections_per_address must be > 0"
        );
        anyhow::ensure!(
            self.http.header_timeout > 0 && self.http.body_timeout > 0,
            "http.header_timeout and http.body_timeout must be > 0"
        );
        anyhow::ensure!(
            self.sip.tcp_max_connections > 0
                && self.sip.tcp_max_connections_per_address > 0
                && self.sip.tcp_idle_timeout > 0
                && self.sip.tcp_message_timeout > 0,
            "the sip.tcp_* limits must be > 0"
        );
        let backend = self.backend()?;
        anyhow::ensure!(
            self.cluster.lease_ttl >= 600,
            "cluster.lease_ttl must be at least 600 ms"
        );
        if let Some(url) = &self.cluster.nats_url {
            anyhow::ensure!(
                matches!(backend, Backend::Postgres(_)),
                "cluster.nats_url is for several nodes on PostgreSQL: set database_url too"
            );
            anyhow::ensure!(
                url.starts_with("nats://"),
                "cluster.nats_url must start with nats://"
            );
        }
        if matches!(backend, Backend::Postgres(_)) {
            anyhow::ensure!(
                self.secrets_key.is_some(),
                "with PostgreSQL every node must use the same secrets key: set UCPLUS_SECRETS_KEY \
                 (32 random bytes, base64, e.g. `openssl rand -base64 32`)"
            );
        }
        if let Some(name) = &self.node_name {
            anyhow::ensure!(
                !name.trim().is_empty()
                    && name.len() <= 64
                    && name
                        .chars()
                        .all(|c| c.is_ascii_graphic() && !matches!(c, '*' | '>')),
                "node_name: 1 to 64 printable characters without spaces, `*` or `>`"
            );
        }
        for key in &self.license.trusted_keys {
            license::PublicKey::parse(key)
                .map_err(|e| anyhow::anyhow!("license.trusted_keys: `{key}`: {e}"))?;
        }
        Ok(())
    }
}

impl Config {
    /// The database this configuration names (SQLite in the data directory when unset).
    pub fn backend(&self) -> anyhow::Result<Backend> {
        match &self.database_url {
            None => Ok(Backend::Sqlite(self.data_dir.join(DATABASE_FILE))),
            Some(url) => Backend::parse(&url.0).map_err(anyhow::Error::msg),
        }
    }

    /// This node's name: configured, else the host name and the HTTP port it listens on.
    pub fn node_name(&self, port: u16) -> String {
        if let Some(name) = &self.node_name {
            return name.clone();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "ucplus".to_string());
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_override_defaults() {
        let mut config: Config = toml::from_str(
            "listen = \"127.0.0.1:9000\"\nsession_idle_timeout = 30\n[log]\nformat = \"json\"\n",
        )
        .unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.log.format, LogFormat::Json);
        assert_eq!(config.token_ttl, 43200);
        config
            .apply_env(|name| match name {
                "UCPLUS_SESSION_IDLE_TIMEOUT" => Some("45".into()),
                "UCPLUS_LICENSE_PUBLIC_KEYS" => Some("ed25519:a, ed25519:b".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(config.session_idle_timeout, 45);
        assert_eq!(config.license.trusted_keys, ["ed25519:a", "ed25519:b"]);
        assert!(config.validate().is_err(), "the keys above are not valid");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        assert!(toml::from_str::<Config>("lissen = \"x\"").is_err());
        let mut config = Config::default();
        let err = config
            .apply_env(|name| (name == "UCPLUS_LISTEN").then(|| "nope".into()))
            .unwrap_err();
        assert!(err.to_string().contains("UCPLUS_LISTEN"));
    }

    #[test]
    fn the_database_url_chooses_the_backend_and_postgres_needs_a_shared_key() {
        let mut config = Config::default();
        assert_eq!(
            config.backend().unwrap(),
            Backend::Sqlite(config.data_dir.join(DATABASE_FILE))
        );
        config
            .apply_env(|name| match name {
                "UCPLUS_DATABASE_URL" => Some("postgres://u:pw@db/ucplus".into()),
                "UCPLUS_NODE_NAME" => Some("node-a".into()),
                "UCPLUS_NATS_URL" => Some("nats://127.0.0.1:4222".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(
            config.backend().unwrap(),
            Backend::Postgres("postgres://u:pw@db/ucplus".into())
        );
        assert_eq!(config.node_name(8080), "node-a");
        assert!(
            !format!("{config:?}").contains("pw@"),
            "the database password never reaches a log"
        );
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("UCPLUS_SECRETS_KEY"), "{err}");
        config.secrets_key = Some(Secret("k".into()));
        config.validate().unwrap();

        config.database_url = Some(Secret("mysql://db/x".into()));
        assert!(config.validate().unwrap_err().to_string().contains("mysql"));
        config.database_url = None;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("nats_url"), "NATS without PostgreSQL: {err}");
        assert!(Config::default().node_name(8081).ends_with(":8081"));
    }
}
