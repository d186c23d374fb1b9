//! Starts the link task of each PBX connection kind, from the connection's settings.
//!
//! `csta` settings (besides `host` and `port`): `session` (`auto` | `ecma354` |
//! `system_status` | `none`, default `auto`: ECMA-354 unless the switch refuses it), `login` + `password` (ECMA-354 vendor login), `edition`
//! (`ed2`..`ed5`, default `ed3`), `framing` (`header` | `nul`), `heartbeat_interval`
//! (seconds, default 30), `application_id`, `tls` (true: TLS to the PBX) with
//! `tls_ca_file` (PEM of the PBX's CA or certificate), `tls_server_name` (default: the
//! host) and `tls_verify` (default true; false only in a lab).

use std::time::Duration;

use pbx::link::csta::{CstaLinkConfig, SessionPattern};
use serde_json::Value;
use ucplus_core::cti::{LinkEvent, LinkState};
use ucplus_core::{Pbx, PbxKind, ValidationErrors};

use super::LinkLauncher;
use super::link::LinkChannels;

/// The link kinds of this build.
pub struct Launcher {
    pub request_timeout: Duration,
    /// Opens the link password stored encrypted.
    pub secrets: std::sync::Arc<crate::secrets::SecretBox>,
    /// Serves `uacsta` connections (handsets registered with the SIP registrar).
    pub controller: std::sync::Arc<pbx::link::uacsta::Controller>,
}

fn text<'a>(settings: &'a Value, key: &str) -> Option<&'a str> {
    settings.get(key).and_then(Value::as_str)
}

/// The CSTA link configuration of a PBX connection, naming each bad setting.
pub fn csta_config(pbx: &Pbx, errors: &mut ValidationErrors) -> Option<CstaLinkConfig> {
    let settings = &pbx.settings;
    let host = pbx.host.clone().unwrap_or_default();
    let mut config = CstaLinkConfig::new(host, pbx.port.unwrap_or(0));
    if let Some(session) = text(settings, "session") {
        match SessionPattern::parse(session) {
            Some(pattern) => config.session = pattern,
            None => errors.add("session", "must be auto, ecma354, system_status or none"),
        }
    }
    if let Some(edition) = text(settings, "edition") {
        config.edition = match edition {
            "ed2" => csta::Edition::Ed2,
            "ed3" => csta::Edition::Ed3,
            "ed4" => csta::Edition::Ed4,
            "ed5" => csta::Edition::Ed5,
            _ => {
                errors.add("edition", "must be ed2, ed3, ed4 or ed5");
                csta::Edition::Ed3
            }
        };
    }
    if let Some(framing) = text(settings, "framing") {
        config.framing = match framing {
            "header" => csta::Framing::Header,
            "nul" => csta::Framing::Nul,
            _ => {
                errors.add("framing", "must be header or nul");
                csta::Framing::Header
            }
        };
    }
    if let Some(interval) = settings.get("heartbeat_interval") {
        match interval.as_u64().filter(|s| (1..=3600).contains(s)) {
            Some(seconds) => {
                config.heartbeat_interval = Duration::from_secs(seconds);
                config.heartbeat_timeout = Duration::from_secs(seconds * 3);
            }
            None => errors.add("heartbeat_interval", "must be 1-3600 seconds"),
        }
    }
    if let Some(login) = text(settings, "login") {
        let password = text(settings, "password").unwrap_or_default();
        config.login = Some((login.to_string(), password.to_string()));
    }
    if let Some(id) = text(settings, "application_id") {
        config.application_id = id.to_string();
    }
    if settings.get("tls").and_then(Value::as_bool) == Some(true) {
        let verify = settings
            .get("tls_verify")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let trusted_pem = match text(settings, "tls_ca_file") {
            Some(path) => match read_bounded(path, MAX_CA_FILE) {
                Ok(pem) => Some(pem),
                Err(error) => {
                    errors.add("tls_ca_file", format!("cannot read {path}: {error}"));
                    None
                }
            },
            None if verify => {
                errors.add(
                    "tls_ca_file",
                    "a TLS link needs the PBX's CA or certificate (PEM file), or tls_verify false",
                );
                None
            }
            None => None,
        };
        config.tls = Some(pbx::link::csta::TlsSettings {
            trusted_pem,
            verify,
            server_name: text(settings, "tls_server_name").map(str::to_string),
        });
    }
    Some(config)
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

impl LinkLauncher for Launcher {
    fn launch(&self, pbx: &Pbx, channels: LinkChannels) {
        match pbx.kind {
            PbxKind::Csta => {
                let mut errors = ValidationErrors::new();
                let mut pbx = pbx.clone();
                if let Some(stored) = pbx.settings.get_mut("password") {
                    let opened = stored.as_str().map(|text| self.secrets.open_value(text));
                    match opened {
                        Some(Ok(plain)) => *stored = Value::String(plain),
                        Some(Err(error)) => {
                            refuse(channels, error.to_string());
                            return;
                        }
                        None => {}
                    }
                }
                match csta_config(&pbx, &mut errors) {
                    Some(mut config) if errors.0.is_empty() => {
                        config.request_timeout = self.request_timeout;
                        tokio::spawn(pbx::link::csta::run(config, channels));
                    }
                    _ => {
                        let problems: Vec<String> = errors
                            .0
                            .iter()
                            .map(|e| format!("{} {}", e.field, e.message))
                            .collect();
                        refuse(
                            channels,
                            format!("invalid settings: {}", problems.join("; ")),
                        );
                    }
                }
            }
            PbxKind::Sim => {
                let mut errors = ValidationErrors::new();
                match sim_config(pbx, &mut errors) {
                    Some(sim) if errors.0.is_empty() => {
                        tokio::spawn(run_sim(sim, self.request_timeout, channels));
                    }
                    _ => {
                        let problems: Vec<String> = errors
                            .0
                            .iter()
                            .map(|e| format!("{} {}", e.field, e.message))
                            .collect();
                        refuse(
                            channels,
                            format!("invalid settings: {}", problems.join("; ")),
                        );
                    }
                }
            }
            PbxKind::Uacsta => self.controller.attach(pbx.id, channels),
        }
    }
}

/// What a `sim` connection runs: the simulator's devices and generated traffic.
pub struct SimSettings {
    pub devices: pbx::sim::DeviceSet,
    /// Generated calls per second; 0: none.
    pub traffic: f64,
}

/// `sim` settings: `devices` (required, e.g. `"200-299"`), `traffic` (calls per second).
pub fn sim_config(pbx: &Pbx, errors: &mut ValidationErrors) -> Option<SimSettings> {
    let devices = match text(&pbx.settings, "devices").map(str::parse::<pbx::sim::DeviceSet>) {
        Some(Ok(devices)) => devices,
        Some(Err(error)) => {
            errors.add("devices", error.to_string());
            return None;
        }
        None => {
            errors.add(
                "devices",
                "a simulated PBX needs its device ranges, e.g. \"200-299\"",
            );
            return None;
        }
    };
    let traffic = match pbx.settings.get("traffic") {
        None => 0.0,
        Some(value) => match value.as_f64().filter(|r| (0.0..=10_000.0).contains(r)) {
            Some(rate) => rate,
            None => {
                errors.add("traffic", "must be 0-10000 calls per second");
                0.0
            }
        },
    };
    Some(SimSettings { devices, traffic })
}

/// Runs the simulator in-process and a real CSTA link to it over loopback TCP, so the
/// demo exercises exactly the path a real PBX takes.
async fn run_sim(settings: SimSettings, request_timeout: Duration, channels: LinkChannels) {
    let mut config = pbx::sim::SimConfig::new(settings.devices);
    config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let simulator = match pbx::sim::Simulator::start(config).await {
        Ok(simulator) => std::sync::Arc::new(simulator),
        Err(error) => {
            refuse(channels, format!("the simulator did not start: {error}"));
            return;
        }
    };
    let address = simulator.local_addr();
    let mut link = CstaLinkConfig::new(address.ip().to_string(), address.port());
    link.session = SessionPattern::None;
    link.request_timeout = request_timeout;
    let traffic = (settings.traffic > 0.0).then(|| {
        let simulator = simulator.clone();
        let rate = settings.traffic;
        tokio::spawn(async move {
            // Each run is bounded; the demo keeps starting new ones until it stops.
            for round in 0u64.. {
                let run = simulator.start_traffic(pbx::sim::TrafficConfig {
                    calls_per_second: rate,
                    seed: round + 1,
                    max_calls: 100_000,
                    max_duration: Duration::from_secs(600),
                    ..pbx::sim::TrafficConfig::default()
                });
                run.finished().await;
            }
        })
    });
    pbx::link::csta::run(link, channels).await;
    if let Some(traffic) = traffic {
        traffic.abort();
        let _ = traffic.await;
    }
    // The last handle going away stops the simulator.
    drop(simulator);
}

/// A link that cannot start: says why, then waits to be stopped.
fn refuse(channels: LinkChannels, error: String) {
    tokio::spawn(async move {
        let _ = channels
            .events
            .send(LinkEvent::State {
                state: LinkState::Down,
                error: Some(error),
            })
            .await;
        let mut shutdown = channels.shutdown;
        let _ = shutdown.wait_for(|stop| *stop).await;
    });
}
