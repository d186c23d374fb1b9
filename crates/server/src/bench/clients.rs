//! The bench's load clients: WebSocket clients that read every message as a real client
//! must (parse it, check it belongs to their tenant and user), counting what they get, and
//! the traffic window they are measured over.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::TcpStream;

/// CPU time the process has used so far (user + system), from `/proc/PID/stat`; None
/// where there is no procfs.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which may hold spaces) in its parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel's USER_HZ is 100 on every Linux this runs on.
    Some(ticks as f64 / 100.0)
}

/// What one tenant's clients may see.
pub struct TenantView {
    pub devices: HashSet<String>,
    pub users: HashSet<String>,
    /// Its users' ids and session tokens.
    pub tokens: Vec<(String, String)>,
}

#[derive(Default)]
pub struct Totals {
    pub delivered: AtomicU64,
    pub misdelivered: AtomicU64,
    /// Clients whose stream the server closed during the run (too slow, 4008, or gone):
    /// the events after that were lost to them.
    pub dropped: AtomicU64,
    /// Bytes of the messages delivered.
    pub bytes: AtomicU64,
}

/// The load clients, connected and reading.
pub struct Fleet {
    pub totals: Arc<Totals>,
    stop: tokio::sync::watch::Sender<bool>,
    clients: Vec<tokio::task::JoinHandle<Vec<u64>>>,
}

impl Fleet {
    /// Connects a client to each URL, reading as a user of a tenant.
    pub async fn connect(
        clients: impl IntoIterator<Item = (String, Arc<TenantView>, String)>,
    ) -> anyhow::Result<Fleet> {
        let totals = Arc::new(Totals::default());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        for (url, view, user) in clients {
            let (socket, _) = tokio_tungstenite::connect_async(url)
                .await
                .context("a WebSocket client")?;
            tasks.push(tokio::spawn(client(
                socket,
                view,
                user,
                totals.clone(),
                stopped.clone(),
            )));
        }
        Ok(Fleet {
            totals,
            stop,
            clients: tasks,
        })
    }

    /// Starts counting from zero: a traffic window on the server process `pid`.
    pub fn begin(&self, pid: u32) -> WindowStart {
        self.totals.delivered.store(0, Ordering::Relaxed);
        self.totals.bytes.store(0, Ordering::Relaxed);
        WindowStart {
            started: Instant::now(),
            cpu: cpu_seconds(pid),
            pid,
        }
    }

    /// Stops the clients; the latencies they sampled (µs), sorted.
    pub async fn stop(self) -> Vec<u64> {
        self.stop.send_replace(true);
        let mut latencies: Vec<u64> = Vec::new();
        for client in self.clients {
            if let Ok(samples) = client.await {
                latencies.extend(samples);
            }
        }
        latencies.sort_unstable();
        latencies
    }
}

pub struct WindowStart {
    started: Instant,
    cpu: Option<f64>,
    pid: u32,
}

/// What the clients received in a traffic window, and what it cost the server.
pub struct Window {
    pub seconds: f64,
    pub delivered: u64,
    pub bytes: u64,
    /// User + system CPU seconds of the server process (None without procfs).
    pub server_cpu: Option<f64>,
}

impl WindowStart {
    pub fn end(self, fleet: &Fleet) -> Window {
        Window {
            seconds: self.started.elapsed().as_secs_f64(),
            delivered: fleet.totals.delivered.load(Ordering::Relaxed),
            bytes: fleet.totals.bytes.load(Ordering::Relaxed),
            server_cpu: self
                .cpu
                .zip(cpu_seconds(self.pid))
                .map(|(before, after)| after - before),
        }
    }
}

impl Window {
    /// Several windows (one per server) as one: messages, bytes and server CPU summed
    /// (no CPU figure if one lacks it), over the longest of them.
    pub fn sum<'a>(windows: impl IntoIterator<Item = &'a Window>) -> Window {
        windows.into_iter().fold(
            Window {
                seconds: 0.0,
                delivered: 0,
                bytes: 0,
                server_cpu: Some(0.0),
            },
            |total, window| Window {
                seconds: total.seconds.max(window.seconds),
                delivered: total.delivered + window.delivered,
                bytes: total.bytes + window.bytes,
                server_cpu: total
                    .server_cpu
                    .zip(window.server_cpu)
                    .map(|(total, more)| total + more),
            },
        )
    }

    pub fn per_second(&self) -> f64 {
        self.delivered as f64 / self.seconds
    }

    /// Server CPU per delivered message, µs.
    pub fn cpu_per_message(&self) -> Option<f64> {
        self.server_cpu
            .map(|cpu| cpu * 1e6 / self.delivered.max(1) as f64)
    }

    /// Prints the server CPU per delivered message, as `label`.
    pub fn print_cpu(&self, label: &str) {
        if let (Some(cpu), Some(per_message)) = (self.server_cpu, self.cpu_per_message()) {
            println!(
                "{:<28} {:>9.2} µs per delivered message ({:.1} s of CPU in {:.1} s)",
                label, per_message, cpu, self.seconds
            );
        }
    }
}

/// One WebSocket client: counts what it receives, checks it may see it, and samples the
/// latency of stamped events (µs).
async fn client(
    mut socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
    view: Arc<TenantView>,
    user: String,
    totals: Arc<Totals>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<u64> {
    let mut latencies = Vec::new();
    loop {
        let message = tokio::select! {
            message = socket.next() => message,
            _ = stop.wait_for(|stopped| *stopped) => break,
        };
        let text = match message {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) => text,
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) | Some(Err(_)) | None => {
                totals.dropped.fetch_add(1, Ordering::Relaxed);
                break;
            }
            Some(Ok(_)) => continue,
        };
        let received_ns = ucplus_core::Timestamp::now().0 as i128 * 1_000_000;
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        totals.delivered.fetch_add(1, Ordering::Relaxed);
        totals.bytes.fetch_add(text.len() as u64, Ordering::Relaxed);
        let data = &value["data"];
        let allowed = match value["type"].as_str() {
            Some("device_state") => data["device_id"]
                .as_str()
                .is_some_and(|d| view.devices.contains(d)),
            Some("presence") => data["user_id"]
                .as_str()
                .is_some_and(|u| view.users.contains(u)),
            Some("call") | Some("call_ended") => {
                data["user_id"].as_str().is_none_or(|u| u == user)
                    && data["device_id"]
                        .as_str()
                        .is_some_and(|d| view.devices.contains(d))
            }
            _ => true,
        };
        if !allowed {
            totals.misdelivered.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(sent) = value["pbx_sent_at_ns"].as_i64() {
            let micros = (received_ns.max(i128::from(sent)) - i128::from(sent)) / 1000;
            latencies.push(u64::try_from(micros).unwrap_or(u64::MAX));
        }
    }
    latencies
}
