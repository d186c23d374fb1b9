//! The `csta` link kind's settings (besides the connection's `host` and `port`):
//! `session` (`auto` | `ecma354` | `system_status` | `none`, default `auto`: ECMA-354 unless
//! the switch refuses it), `login` + `password` (ECMA-354 vendor login), `edition`
//! (`ed2`..`ed5`, default `ed3`), `framing` (`header` | `nul`), `heartbeat_interval`
//! (seconds, default 30), `application_id`, `tls` (true: TLS to the PBX) with
//! `tls_ca_file` (PEM of the PBX's CA or certificate), `tls_server_name` (default: the
//! host) and `tls_verify` (default true; false only in a lab), `request_window` (requests
//! in flight at most, 1-1000, default 64: more wait in order; monitors start in batches).

use std::time::Duration;

use csta::{Edition, Framing};
use serde_json::{Map, Value};
use ucplus_core::{Pbx, PbxKind, ValidationErrors};

use super::{CstaLinkConfig, SessionPattern, TlsSettings};
use crate::link::LinkChannels;
use crate::link::kinds::{Fields, LinkContext, LinkError, LinkKind, refuse};

/// A `csta` connection's settings as stored; an absent one takes the link's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CstaSettings {
    pub session: Option<SessionPattern>,
    pub login: Option<String>,
    /// As stored: sealed by the server (it opens it before the link starts).
    pub password: Option<String>,
    pub edition: Option<Edition>,
    pub framing: Option<Framing>,
    /// Seconds, 1-3600.
    pub heartbeat_interval: Option<u64>,
    pub application_id: Option<String>,
    pub tls: Option<bool>,
    /// Path of a PEM file with the PBX's CA or certificate.
    pub tls_ca_file: Option<String>,
    pub tls_server_name: Option<String>,
    pub tls_verify: Option<bool>,
    /// Requests in flight at most, 1-1000.
    pub request_window: Option<u64>,
}

const EDITIONS: &[(&str, Edition)] = &[
    ("ed2", Edition::Ed2),
    ("ed3", Edition::Ed3),
    ("ed4", Edition::Ed4),
    ("ed5", Edition::Ed5),
];

const FRAMINGS: &[(&str, Framing)] = &[("header", Framing::Header), ("nul", Framing::Nul)];

/// The value of a stored name.
fn named<T: Copy>(choices: &[(&'static str, T)], text: &str) -> Option<T> {
    choices
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, value)| *value)
}

/// The stored name of a value.
fn name_of<T: PartialEq>(choices: &[(&'static str, T)], value: &T) -> &'static str {
    choices
        .iter()
        .find(|(_, choice)| choice == value)
        .map_or("", |(name, _)| name)
}

/// A CA file larger than this is not a CA file (and must not fill the memory).
const MAX_CA_FILE: u64 = 1024 * 1024;

/// Reads at most `limit` bytes of `path`; a longer file is an error.
fn read_bounded(path: &str, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "larger than {} KiB",
            limit / 1024
        )));
    }
    Ok(bytes)
}

impl CstaSettings {
    fn tls_on(&self) -> bool {
        self.tls == Some(true)
    }

    /// The link configuration for `host:port`; reads the TLS CA file, naming it when it
    /// cannot.
    pub fn link_config(&self, host: &str, port: u16) -> Result<CstaLinkConfig, ValidationErrors> {
        let mut config = CstaLinkConfig::new(host, port);
        if let Some(session) = self.session {
            config.session = session;
        }
        if let Some(edition) = self.edition {
            config.edition = edition;
        }
        if let Some(framing) = self.framing {
            config.framing = framing;
        }
        if let Some(window) = self.request_window {
            config.window = usize::try_from(window).unwrap_or(usize::MAX);
        }
        if let Some(seconds) = self.heartbeat_interval {
            config.heartbeat_interval = Duration::from_secs(seconds);
            config.heartbeat_timeout = Duration::from_secs(seconds * 3);
        }
        if let Some(login) = &self.login {
            let password = self.password.clone().unwrap_or_default();
            config.login = Some((login.clone(), password));
        }
        if let Some(id) = &self.application_id {
            config.application_id = id.clone();
        }
        if self.tls_on() {
            let trusted_pem = match &self.tls_ca_file {
                Some(path) => match read_bounded(path, MAX_CA_FILE) {
                    Ok(pem) => Some(pem),
                    Err(error) => {
                        let mut errors = ValidationErrors::new();
                        errors.add("tls_ca_file", format!("cannot read {path}: {error}"));
                        return Err(errors);
                    }
                },
                None => None,
            };
            config.tls = Some(TlsSettings {
                trusted_pem,
                verify: self.tls_verify.unwrap_or(true),
                server_name: self.tls_server_name.clone(),
            });
        }
        Ok(config)
    }
}

impl LinkKind for CstaSettings {
    const KIND: PbxKind = PbxKind::Csta;
    const FIELDS: &'static [&'static str] = &[
        "session",
        "login",
        "password",
        "edition",
        "framing",
        "heartbeat_interval",
        "application_id",
        "tls",
        "tls_ca_file",
        "tls_server_name",
        "tls_verify",
        "request_window",
    ];

    fn parse(fields: &mut Fields<'_>) -> Option<Self> {
        let before = fields.errors.0.len();
        let session = fields.choice(
            "session",
            SessionPattern::parse,
            "must be auto, ecma354, system_status or none",
        );
        let edition = fields.choice(
            "edition",
            |t| named(EDITIONS, t),
            "must be ed2, ed3, ed4 or ed5",
        );
        let framing = fields.choice("framing", |t| named(FRAMINGS, t), "must be header or nul");
        let heartbeat_interval =
            fields.whole("heartbeat_interval", 1..=3600, "must be 1-3600 seconds");
        let request_window = fields.whole("request_window", 1..=1000, "must be 1-1000 requests");
        let settings = CstaSettings {
            session,
            login: fields.text("login"),
            password: fields.text("password"),
            edition,
            framing,
            heartbeat_interval,
            application_id: fields.text("application_id"),
            tls: fields.flag("tls"),
            tls_ca_file: fields.text("tls_ca_file"),
            tls_server_name: fields.text("tls_server_name"),
            tls_verify: fields.flag("tls_verify"),
            request_window,
        };
        if settings.tls_on() && settings.tls_verify != Some(false) && settings.tls_ca_file.is_none()
        {
            fields.errors.add(
                "tls_ca_file",
                "a TLS link needs the PBX's CA or certificate (PEM file), or tls_verify false",
            );
        }
        (fields.errors.0.len() == before).then_some(settings)
    }

    fn to_json(&self) -> Map<String, Value> {
        let mut map = Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                map.insert(key.to_string(), value);
            }
        };
        put("session", self.session.map(|s| Value::from(s.as_str())));
        put("login", self.login.clone().map(Value::from));
        put("password", self.password.clone().map(Value::from));
        put(
            "edition",
            self.edition.map(|e| Value::from(name_of(EDITIONS, &e))),
        );
        put(
            "framing",
            self.framing.map(|f| Value::from(name_of(FRAMINGS, &f))),
        );
        put(
            "heartbeat_interval",
            self.heartbeat_interval.map(Value::from),
        );
        put(
            "application_id",
            self.application_id.clone().map(Value::from),
        );
        put("tls", self.tls.map(Value::from));
        put("tls_ca_file", self.tls_ca_file.clone().map(Value::from));
        put(
            "tls_server_name",
            self.tls_server_name.clone().map(Value::from),
        );
        put("tls_verify", self.tls_verify.map(Value::from));
        put("request_window", self.request_window.map(Value::from));
        map
    }

    fn check(&self, pbx: &Pbx, errors: &mut ValidationErrors) {
        // Building the link's configuration reads the CA file: the only part that can fail.
        if let Err(unreadable) = self.link_config("", 0) {
            errors.0.extend(unreadable.0);
        }
        if pbx.host.is_none() {
            errors.add("host", "a CSTA link needs the PBX's host");
        }
        if pbx.port.is_none_or(|p| p == 0) {
            errors.add("port", "a CSTA link needs the PBX's CSTA port");
        }
    }

    fn launch(self, pbx: &Pbx, context: &LinkContext, channels: LinkChannels) {
        let host = pbx.host.clone().unwrap_or_default();
        match self.link_config(&host, pbx.port.unwrap_or(0)) {
            Ok(mut config) => {
                config.request_timeout = context.request_timeout;
                config.lease = context.lease.clone();
                tokio::spawn(super::run(config, channels));
            }
            Err(errors) => refuse(channels, LinkError::InvalidSettings(errors)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::link::kinds::PbxSettings;

    fn parse(settings: Value) -> Result<CstaSettings, Vec<(String, String)>> {
        let mut errors = ValidationErrors::new();
        match PbxSettings::parse(PbxKind::Csta, &settings, &mut errors) {
            Some(PbxSettings::Csta(settings)) if errors.0.is_empty() => Ok(settings),
            _ => Err(errors.0.into_iter().map(|e| (e.field, e.message)).collect()),
        }
    }

    #[test]
    fn every_setting_is_read_and_written_back() {
        let stored = json!({
            "session": "system_status", "login": "ucplus", "password": "enc:v1:AAAA",
            "edition": "ed5", "framing": "nul", "heartbeat_interval": 45,
            "application_id": "desk", "tls": true, "tls_ca_file": "/etc/pbx.pem",
            "tls_server_name": "pbx.lab", "tls_verify": true,
        });
        let settings = parse(stored.clone()).unwrap();
        assert_eq!(settings.session, Some(SessionPattern::SystemStatus));
        assert_eq!(settings.edition, Some(Edition::Ed5));
        assert_eq!(settings.framing, Some(Framing::Nul));
        assert_eq!(settings.heartbeat_interval, Some(45));
        assert_eq!(settings.password.as_deref(), Some("enc:v1:AAAA"));
        assert_eq!(Value::Object(settings.to_json()), stored);
        assert_eq!(parse(stored).unwrap(), settings);
    }

    #[test]
    fn defaults_come_from_the_link() {
        let settings = parse(json!({})).unwrap();
        assert_eq!(settings, CstaSettings::default());
        assert_eq!(settings.to_json(), Map::new());
        let config = settings.link_config("pbx", 4711).unwrap();
        assert_eq!(config.session, SessionPattern::Auto);
        assert_eq!(config.edition, Edition::Ed3);
        assert_eq!(config.heartbeat_interval, Duration::from_secs(30));
        assert!(config.tls.is_none() && config.login.is_none());
        let config = parse(json!({"heartbeat_interval": 10, "login": "u"}))
            .unwrap()
            .link_config("pbx", 4711)
            .unwrap();
        assert_eq!(config.heartbeat_timeout, Duration::from_secs(30));
        assert_eq!(config.login, Some(("u".into(), String::new())));
    }

    #[test]
    fn each_bad_value_is_named() {
        let named = |settings: Value| parse(settings).unwrap_err();
        for (settings, field, message) in [
            (
                json!({"session": "sometimes"}),
                "session",
                "must be auto, ecma354, system_status or none",
            ),
            (
                json!({"edition": "ed9"}),
                "edition",
                "must be ed2, ed3, ed4 or ed5",
            ),
            (
                json!({"framing": "xml"}),
                "framing",
                "must be header or nul",
            ),
            (
                json!({"heartbeat_interval": 0}),
                "heartbeat_interval",
                "must be 1-3600 seconds",
            ),
            (
                json!({"heartbeat_interval": "30"}),
                "heartbeat_interval",
                "must be 1-3600 seconds",
            ),
            (json!({"login": 7}), "login", "must be a string"),
            (json!({"tls": "yes"}), "tls", "must be true or false"),
            (
                json!({"tls_verify": 1}),
                "tls_verify",
                "must be true or false",
            ),
            (
                json!({"tls": true}),
                "tls_ca_file",
                "a TLS link needs the PBX's CA or certificate (PEM file), or tls_verify false",
            ),
            (
                json!({"session": "none", "pasword": "x"}),
                "pasword",
                "unknown field for a csta connection (known: host, port, session, login, password, edition, framing, heartbeat_interval, application_id, tls, tls_ca_file, tls_server_name, tls_verify, request_window)",
            ),
        ] {
            assert_eq!(
                named(settings.clone()),
                [(field.to_string(), message.to_string())],
                "{settings}"
            );
        }
        // Several at once: every one is named.
        assert_eq!(
            named(json!({"edition": 3, "framing": "xml"})).len(),
            2,
            "all bad values"
        );
        // A lab link may go without verification, and so without a CA file.
        assert!(parse(json!({"tls": true, "tls_verify": false})).is_ok());
    }

    #[test]
    fn the_check_needs_an_address_and_a_readable_ca_file() {
        let pbx = |host: Option<&str>, port: Option<u16>, settings: Value| Pbx {
            id: ucplus_core::PbxId::new(),
            name: "pbx".into(),
            kind: PbxKind::Csta,
            tenant_id: None,
            host: host.map(str::to_string),
            port,
            settings,
            created_at: ucplus_core::Timestamp(0),
        };
        let fields = |pbx: &Pbx| {
            let mut errors = ValidationErrors::new();
            PbxSettings::validate(pbx, &mut errors);
            errors.0.into_iter().map(|e| e.field).collect::<Vec<_>>()
        };
        assert_eq!(fields(&pbx(None, None, json!({}))), ["host", "port"]);
        assert!(fields(&pbx(Some("pbx"), Some(4711), json!({}))).is_empty());
        let missing = json!({"tls": true, "tls_ca_file": "/nonexistent/ca.pem"});
        assert_eq!(
            fields(&pbx(Some("pbx"), Some(4711), missing)),
            ["tls_ca_file"]
        );
    }
}
