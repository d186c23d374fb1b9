//! Logs (tracing, text or JSON) and metrics (Prometheus text at `/metrics`).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Installs the log subscriber for the process. Called once, by the CLI.
pub fn init_logging(config: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: a log file or collector gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let result = match config.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    if let Err(error) = result {
        eprintln!("logging was already initialised: {error}");
    }
}

/// What each metric family is (its `# HELP` line at `/metrics`).
const COUNTERS: &[(&str, &str)] = &[
    (
        "ucplus_http_requests_total",
        "HTTP requests answered, by route, method and status",
    ),
    (
        "ucplus_logins_total",
        "Login attempts by result (ok, invalid_credentials, rate_limited, pool_exhausted, ...)",
    ),
    (
        "ucplus_connections_refused_total",
        "Connections refused at a limit, by listener",
    ),
    (
        "ucplus_password_hash_busy_total",
        "Logins and password changes refused because every hashing slot was busy",
    ),
    (
        "ucplus_ws_messages_total",
        "Event messages sent to WebSocket clients",
    ),
    (
        "ucplus_ws_slow_disconnects_total",
        "WebSocket clients closed for reading too slowly",
    ),
    (
        "ucplus_pbx_events_total",
        "Reports received from PBX links, by kind",
    ),
    (
        "ucplus_pbx_requests_total",
        "Requests sent to PBXs, by result",
    ),
    (
        "ucplus_uacsta_refreshes_total",
        "Re-INVITEs refreshing uaCSTA sessions, by result",
    ),
    (
        "ucplus_sip_requests_total",
        "SIP requests received by the registrar, by method",
    ),
    (
        "ucplus_sip_replays_total",
        "SIP credentials used again (challenged anew)",
    ),
    (
        "ucplus_sip_rate_limited_total",
        "SIP registrations refused after too many failures",
    ),
    (
        "ucplus_sip_malformed_total",
        "SIP datagrams that did not parse",
    ),
    (
        "ucplus_audit_write_failures_total",
        "Audit log entries that could not be written",
    ),
    (
        "ucplus_call_log_write_failures_total",
        "Call log entries that could not be written",
    ),
];

const GAUGES: &[(&str, &str)] = &[
    ("ucplus_sessions", "Signed-in sessions"),
    ("ucplus_ws_clients", "Open WebSocket event streams"),
    ("ucplus_connections", "Open connections, by listener"),
    ("ucplus_pbx_link_up", "1 while a PBX link is up, by PBX"),
    (
        "ucplus_licenses_total",
        "Client licenses in the pool, by type",
    ),
    ("ucplus_licenses_in_use", "Client licenses taken, by type"),
];

const HISTOGRAMS: &[(&str, &str)] = &[(
    "ucplus_http_request_duration_seconds",
    "Time to answer an HTTP request, by route",
)];

/// Gives every metric family its help text.
fn describe() {
    for (name, help) in COUNTERS {
        metrics::describe_counter!(*name, *help);
    }
    for (name, help) in GAUGES {
        metrics::describe_gauge!(*name, *help);
    }
    for (name, help) in HISTOGRAMS {
        metrics::describe_histogram!(*name, *help);
    }
}

/// The process-wide Prometheus recorder (metrics has one global recorder per process,
/// however many servers a test starts in it).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            describe();
            handle
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every metric the workspace's code records is described: a new one without a help
    /// text fails here, not first on an operator's dashboard.
    #[test]
    fn every_recorded_metric_is_described() {
        let described: Vec<&str> = COUNTERS
            .iter()
            .chain(GAUGES)
            .chain(HISTOGRAMS)
            .map(|(name, _)| *name)
            .collect();
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut pending = vec![crates];
        let mut recorded = Vec::new();
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).expect("readable").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("readable");
                    for kind in ["counter!(", "gauge!(", "histogram!("] {
                        for piece in text.split(&format!("metrics::{kind}")).skip(1) {
                            let name = piece.trim_start().trim_start_matches('"');
                            let name: String = name
                                .chars()
                                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                                .collect();
                            recorded.push((name, path.display().to_string()));
                        }
                    }
                }
            }
        }
        assert!(
            recorded.len() >= 20,
            "the scan found the metrics: {recorded:?}"
        );
        for (name, file) in recorded {
            assert!(
                described.contains(&name.as_str()),
                "{name} (in {file}) has no help text in telemetry.rs"
            );
        }
    }
}
