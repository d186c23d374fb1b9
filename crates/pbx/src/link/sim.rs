//! The `sim` link kind: the built-in simulator ([`crate::sim`]) run in-process, and a real
//! CSTA link to it over loopback TCP, so the demo exercises exactly the path a real PBX
//! takes. Settings: `devices` (required, e.g. `"200-299"`), `traffic` (generated calls per
//! second, default 0: none).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use ucplus_core::{Pbx, PbxKind};

use super::csta::{CstaLinkConfig, SessionPattern};
use super::kinds::{Fields, LinkContext, LinkError, LinkKind, refuse};
use super::{Lease, LinkChannels};
use crate::sim::{DeviceSet, SimConfig, Simulator, TrafficConfig};

/// What a `sim` connection runs: the simulator's devices and generated traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSettings {
    pub devices: DeviceSet,
    /// Generated calls per second, 0-10000; absent: none.
    pub traffic: Option<f64>,
}

impl LinkKind for SimSettings {
    const KIND: PbxKind = PbxKind::Sim;
    const FIELDS: &'static [&'static str] = &["devices", "traffic"];

    fn parse(fields: &mut Fields<'_>) -> Option<Self> {
        let devices = match fields.text("devices").map(|d| d.parse::<DeviceSet>()) {
            Some(Ok(devices)) => Some(devices),
            Some(Err(error)) => {
                fields.errors.add("devices", error.to_string());
                None
            }
            None if fields.get("devices").is_some() => None,
            None => {
                fields.errors.add(
                    "devices",
                    "a simulated PBX needs its device ranges, e.g. \"200-299\"",
                );
                None
            }
        };
        let traffic = match fields.get("traffic") {
            None => Some(None),
            Some(value) => match value.as_f64().filter(|r| (0.0..=10_000.0).contains(r)) {
                Some(rate) => Some(Some(rate)),
                None => {
                    fields
                        .errors
                        .add("traffic", "must be 0-10000 calls per second");
                    None
                }
            },
        };
        Some(SimSettings {
            devices: devices?,
            traffic: traffic?,
        })
    }

    fn to_json(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("devices".into(), Value::from(self.devices.to_string()));
        if let Some(rate) = self.traffic {
            map.insert("traffic".into(), Value::from(rate));
        }
        map
    }

    fn launch(self, _pbx: &Pbx, context: &LinkContext, channels: LinkChannels) {
        tokio::spawn(run(
            self,
            context.request_timeout,
            context.lease.clone(),
            channels,
        ));
    }
}

/// Runs the simulator and a CSTA link to it until the link stops; the link talks to it only
/// while `lease` allows, as to a real switch.
async fn run(
    settings: SimSettings,
    request_timeout: Duration,
    lease: Lease,
    channels: LinkChannels,
) {
    let mut config = SimConfig::new(settings.devices);
    config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let simulator = match Simulator::start(config).await {
        Ok(simulator) => Arc::new(simulator),
        Err(error) => {
            refuse(channels, LinkError::Simulator(error));
            return;
        }
    };
    let address = simulator.local_addr();
    let mut link = CstaLinkConfig::new(address.ip().to_string(), address.port());
    link.session = SessionPattern::None;
    link.request_timeout = request_timeout;
    link.lease = lease;
    let traffic = settings.traffic.filter(|rate| *rate > 0.0).map(|rate| {
        let simulator = simulator.clone();
        tokio::spawn(async move {
            // Each run is bounded; the demo keeps starting new ones until it stops.
            for round in 0u64.. {
                let run = simulator.start_traffic(TrafficConfig {
                    calls_per_second: rate,
                    seed: round + 1,
                    max_calls: 100_000,
                    max_duration: Duration::from_secs(600),
                    ..TrafficConfig::default()
                });
                run.finished().await;
            }
        })
    });
    super::csta::run(link, channels).await;
    if let Some(traffic) = traffic {
        traffic.abort();
        let _ = traffic.await;
    }
    // The last handle going away stops the simulator.
    drop(simulator);
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use ucplus_core::ValidationErrors;

    use super::*;
    use crate::link::kinds::PbxSettings;

    fn parse(settings: Value) -> Result<SimSettings, Vec<(String, String)>> {
        let mut errors = ValidationErrors::new();
        match PbxSettings::parse(PbxKind::Sim, &settings, &mut errors) {
            Some(PbxSettings::Sim(settings)) if errors.0.is_empty() => Ok(settings),
            _ => Err(errors.0.into_iter().map(|e| (e.field, e.message)).collect()),
        }
    }

    #[test]
    fn devices_and_traffic_are_read_and_written_back() {
        let stored = json!({"devices": "200-209,300", "traffic": 2.5});
        let settings = parse(stored.clone()).unwrap();
        assert_eq!(settings.devices.len(), 11);
        assert_eq!(settings.traffic, Some(2.5));
        assert_eq!(Value::Object(settings.to_json()), stored);
        let quiet = parse(json!({"devices": "200"})).unwrap();
        assert_eq!(quiet.traffic, None);
        assert_eq!(Value::Object(quiet.to_json()), json!({"devices": "200"}));
    }

    #[test]
    fn each_bad_value_is_named() {
        for (settings, field, message) in [
            (
                json!({}),
                "devices",
                "a simulated PBX needs its device ranges, e.g. \"200-299\"",
            ),
            (json!({"devices": 200}), "devices", "must be a string"),
            (json!({"devices": ""}), "devices", "the device set is empty"),
            (
                json!({"devices": "200", "traffic": -1}),
                "traffic",
                "must be 0-10000 calls per second",
            ),
            (
                json!({"devices": "200", "traffic": "fast"}),
                "traffic",
                "must be 0-10000 calls per second",
            ),
            (
                json!({"devices": "200", "session": "none"}),
                "session",
                "unknown field for a sim connection (known: host, port, devices, traffic)",
            ),
        ] {
            assert_eq!(
                parse(settings.clone()).unwrap_err(),
                [(field.to_string(), message.to_string())],
                "{settings}"
            );
        }
    }
}
