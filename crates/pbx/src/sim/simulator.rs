//! [`Simulator`]: a running switch — the listener, one task per client link, the timer
//! driver — and its handle for control, fault injection, statistics and shutdown.
//! [`run`] is the entry point for `ucplus sim-pbx`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, sleep, sleep_until};
use tracing::{info, warn};

use super::config::SimConfig;
use super::link;
use super::shared::{Shared, stopped};
use super::stats::{SimStats, Stats};

/// Timers fired per wake-up of the driver before it yields.
const TIMER_BATCH: usize = 1024;

/// A running CSTA switch simulator. Dropping it stops it (without waiting); prefer
/// [`Simulator::shutdown`].
pub struct Simulator {
    pub(crate) shared: Arc<Shared>,
    pub(crate) runtime: Handle,
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Runs a simulator until `shutdown` completes (the `ucplus sim-pbx` command).
pub async fn run(config: SimConfig, shutdown: impl Future<Output = ()>) -> io::Result<()> {
    let simulator = Simulator::start(config).await?;
    info!(
        address = %simulator.local_addr(),
        devices = %simulator.shared.config.devices,
        "CSTA PBX simulator listening"
    );
    shutdown.await;
    simulator.shutdown().await;
    Ok(())
}

impl Simulator {
    /// Binds the listener (port 0 picks a free port) and starts serving.
    pub async fn start(config: SimConfig) -> io::Result<Simulator> {
        let listener = TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config));
        let (shutdown, stop) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(accept_links(listener, shared.clone(), stop.clone())),
            tokio::spawn(drive_timers(shared.clone(), stop)),
        ];
        Ok(Simulator {
            shared,
            runtime: Handle::current(),
            local_addr,
            shutdown,
            tasks,
        })
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The counters and gauges now.
    pub fn stats(&self) -> SimStats {
        let (calls, monitors) = {
            let switch = self.shared.switch();
            (switch.call_count(), switch.monitor_count())
        };
        self.shared.stats.snapshot(calls as u64, monitors as u64)
    }

    /// Switches the send-time stamp in every event on or off (see `SimConfig`).
    pub fn set_stamp_events(&self, on: bool) {
        self.shared.set_stamp_events(on);
    }

    /// Fault injection: closes every client connection now.
    pub fn drop_links(&self) {
        self.shared.switch().close_links();
    }

    /// Fault injection: sends nothing for `duration` — no responses, events or
    /// heartbeats (requests are still carried out; their answers and events are lost).
    pub fn go_silent(&self, duration: Duration) {
        self.shared.go_silent(duration);
    }

    /// Whether the switch is silent now (see [`Simulator::go_silent`]).
    pub fn is_silent(&self) -> bool {
        self.shared.is_silent()
    }

    /// Fault injection: sends every client a well-framed document that is not
    /// well-formed XML (a `DeliveredEvent` with mismatched tags, invoke id 9999).
    pub fn send_malformed(&self) {
        self.shared.switch().send_malformed();
    }

    /// Fault injection: a switch restart — every link is dropped, every call and monitor
    /// is lost. Device features (do-not-disturb, forwarding) survive; call ids keep
    /// counting up, so no id is reused.
    pub fn restart(&self) {
        self.shared.switch().restart();
    }

    /// Stops listening, closes every link and waits for the tasks to end.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        for task in self.tasks.drain(..) {
            if let Err(error) = task.await {
                warn!(%error, "a CSTA simulator task failed");
            }
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

/// Accepts client connections until shutdown; one task per link.
async fn accept_links(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut links = JoinSet::new();
    let link_stop = stop.clone();
    // One turn per accepted connection or finished link; ends at shutdown.
    loop {
        tokio::select! {
            _ = stopped(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    Stats::bump(&shared.stats.connections_accepted);
                    let limits = shared.config.limits;
                    let (outbound, queue) = mpsc::channel(limits.client_queue.max(1));
                    let close = Arc::new(Notify::new());
                    let id = shared.next_link_id();
                    {
                        let mut switch = shared.switch();
                        if switch.link_count() >= limits.max_links {
                            warn!(limit = limits.max_links, "CSTA simulator link refused: too many links");
                            continue;
                        }
                        switch.add_link(id, outbound, close.clone());
                    }
                    // Small documents both ways: do not let Nagle delay them.
                    let _ = stream.set_nodelay(true);
                    links.spawn(link::serve(stream, shared.clone(), id, queue, close, link_stop.clone()));
                }
                Err(error) => {
                    // e.g. out of file descriptors: back off instead of spinning.
                    warn!(%error, "CSTA simulator accept failed");
                    sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = links.join_next() => {}
        }
    }
    // The links see the same stop signal; one stuck writing to a client is not waited for.
    links.shutdown().await;
}

/// Fires the switch's timers when they are due; ends at shutdown.
async fn drive_timers(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    // One turn per wake-up (a due timer, a new earliest timer); ends at shutdown.
    loop {
        let now = Instant::now();
        let next = shared.switch().fire_due(now, TIMER_BATCH);
        let next = next.unwrap_or(now + Duration::from_secs(3600));
        tokio::select! {
            _ = stopped(&mut stop) => break,
            _ = shared.timer_wakeup.notified() => {}
            _ = sleep_until(next) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{DeviceSet, TrafficHandle};

    /// The server shares these between tasks.
    #[test]
    fn handles_are_send_and_sync() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Simulator>();
        shareable::<TrafficHandle>();
    }

    #[tokio::test]
    async fn run_serves_until_shutdown() {
        let mut config = SimConfig::new(DeviceSet::parse("200-201").unwrap());
        config.listen = "127.0.0.1:0".parse().unwrap();
        run(config, async {}).await.unwrap();
    }
}
