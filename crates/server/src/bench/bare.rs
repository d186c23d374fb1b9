//! The bare broadcast server `ucplus bench` measures its own ceiling with: WebSocket
//! clients connect to `/tenant/N` (no auth), and each tenant's messages — made once before
//! the run, shared by every client — are broadcast to all its clients at a fixed rate. No
//! JSON is built, no audience is checked: what is left is what any WebSocket fan-out must
//! pay (wake, frame, write), so ucplus's figures can be read against it.
//!
//! Run by the bench as a child process (`ucplus bench-bare-server`), so its CPU is
//! measured the same way as the ucplus server's. It prints `listening on ws://ADDRESS`,
//! starts broadcasting when a line arrives on stdin and exits when stdin closes.
//!
//! The messages have the shape ucplus sends (`{"type":"device_state","data":{…}}`), name
//! device `bare-T-K` of their tenant T, and are padded to the size asked for.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::BenchArgs;
use super::clients::{Fleet, TenantView, Window};
use crate::api::events::{
    BATCH_MESSAGES, CLOSE_TOO_SLOW, READ_BUFFER, SEND_DEADLINE, WRITE_BUFFER, WRITE_BUFFER_MAX,
};

/// Distinct messages per tenant (one per device it names).
pub const DEVICES: usize = 50;
/// Kernel send buffer per connection, as ucplus's default `socket_send_buffer`.
const SEND_BUFFER: usize = 256 * 1024;

#[derive(Debug, Clone, clap::Args)]
pub struct BareArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// Tenants (broadcast groups).
    #[arg(long)]
    pub tenants: usize,
    /// Messages per second broadcast to each tenant; without it, flat out: as fast as the
    /// slowest client reads (publishing while every client is within half a ring).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Bytes per message.
    #[arg(long)]
    pub size: usize,
    /// Messages a tenant's ring holds before a slow client is dropped.
    #[arg(long, default_value_t = crate::cti::bus::RING)]
    pub ring: usize,
}

/// Message `index` of `tenant`: valid JSON of `size` bytes (or the smallest such message).
pub fn message(tenant: usize, index: usize, size: usize) -> String {
    let head = format!(
        r#"{{"type":"device_state","data":{{"device_id":"{}","state":"idle","padding":""#,
        device(tenant, index)
    );
    let tail = r#""}}"#;
    let padding = size.saturating_sub(head.len() + tail.len());
    format!("{head}{}{tail}", "x".repeat(padding))
}

/// The id of a tenant's device in the bare server's messages.
pub fn device(tenant: usize, index: usize) -> String {
    format!("bare-{tenant}-{index}")
}

pub async fn serve(args: BareArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.tenants >= 1, "--tenants must be at least 1");
    let listener = TcpListener::bind(args.listen).await?;
    let senders: Arc<Vec<broadcast::Sender<Utf8Bytes>>> = Arc::new(
        (0..args.tenants)
            .map(|_| broadcast::channel(args.ring.max(1)).0)
            .collect(),
    );
    println!("listening on ws://{}", listener.local_addr()?);
    let accepting = tokio::spawn(accept(listener, senders.clone()));
    let started = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|read| read > 0)
    });
    if started.await?? {
        let publishing = tokio::spawn(publish(senders, args.rate, args.size, args.ring));
        tokio::task::spawn_blocking(|| std::io::stdin().lines().count()).await?;
        publishing.abort();
    }
    accepting.abort();
    Ok(())
}

async fn accept(listener: TcpListener, senders: Arc<Vec<broadcast::Sender<Utf8Bytes>>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let _ = socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER);
        tokio::spawn(client(stream, senders.clone()));
    }
}

/// Publishes `rate` messages per second to every tenant, evenly over time; without a rate,
/// as fast as every client of the tenant keeps within half a ring.
async fn publish(
    senders: Arc<Vec<broadcast::Sender<Utf8Bytes>>>,
    rate: Option<f64>,
    size: usize,
    ring: usize,
) {
    let messages: Vec<Vec<Utf8Bytes>> = (0..senders.len())
        .map(|tenant| {
            (0..DEVICES)
                .map(|index| Utf8Bytes::from(message(tenant, index, size)))
                .collect()
        })
        .collect();
    let started = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let mut published = vec![0usize; senders.len()];
    loop {
        tick.tick().await;
        let due = rate.map(|rate| (started.elapsed().as_secs_f64() * rate) as usize);
        for ((sender, messages), published) in senders.iter().zip(&messages).zip(&mut published) {
            let count = match due {
                Some(due) => due.saturating_sub(*published),
                None => (ring / 2).saturating_sub(sender.len()),
            };
            for _ in 0..count {
                let _ = sender.send(messages[*published % DEVICES].clone());
                *published += 1;
            }
        }
    }
}

/// One client: its tenant from the path, then every message of the tenant, written in
/// batches as ucplus writes them.
async fn client(stream: TcpStream, senders: Arc<Vec<broadcast::Sender<Utf8Bytes>>>) {
    let mut tenant = None;
    // The error type is the handshake library's, not ours to make smaller.
    #[allow(clippy::result_large_err)]
    let choose = |request: &Request, response: Response| {
        tenant = request
            .uri()
            .path()
            .strip_prefix("/tenant/")
            .and_then(|n| n.parse::<usize>().ok());
        Ok(response)
    };
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(WRITE_BUFFER_MAX)
        .max_message_size(Some(64 * 1024));
    let Ok(mut socket) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, choose, Some(config)).await
    else {
        return;
    };
    let Some(mut events) = tenant
        .and_then(|tenant| senders.get(tenant))
        .map(|sender| sender.subscribe())
    else {
        return;
    };
    loop {
        tokio::select! {
            received = events.recv() => {
                let first = match received {
                    Ok(first) => first,
                    Err(RecvError::Lagged(_)) => {
                        let frame = CloseFrame { code: CLOSE_TOO_SLOW.into(), reason: Utf8Bytes::from_static("too slow") };
                        let _ = tokio::time::timeout(Duration::from_secs(1), socket.send(Message::Close(Some(frame)))).await;
                        return;
                    }
                    Err(RecvError::Closed) => return,
                };
                let batch = async {
                    socket.feed(Message::Text(first)).await?;
                    for _ in 1..BATCH_MESSAGES {
                        match events.try_recv() {
                            Ok(next) => socket.feed(Message::Text(next)).await?,
                            // A lag is seen (and closed on) at the next recv.
                            Err(TryRecvError::Lagged(_)) | Err(TryRecvError::Empty) | Err(TryRecvError::Closed) => break,
                        }
                    }
                    socket.flush().await
                };
                if !matches!(tokio::time::timeout(SEND_DEADLINE, batch).await, Ok(Ok(()))) {
                    return;
                }
            }
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Starts the bare server as a child of this process; returns it and its address.
fn start(tenants: usize, rate: Option<f64>, size: usize) -> anyhow::Result<(Child, String)> {
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command
        .arg("bench-bare-server")
        .args(["--tenants", &tenants.to_string()])
        .args(["--size", &size.to_string()]);
    if let Some(rate) = rate {
        command.args(["--rate", &rate.to_string()]);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the bare broadcast server")?;
    let stdout = child.stdout.take().context("bare server stdout")?;
    let mut lines = std::io::BufReader::new(stdout).lines();
    loop {
        let line = lines.next().context("the bare server exited")??;
        if let Some(address) = line.strip_prefix("listening on ws://") {
            return Ok((child, address.trim().to_string()));
        }
    }
}

/// The same clients against the bare broadcast server, twice: offered what ucplus
/// delivered (the same messages per second per client, of the same average size), then
/// flat out (its ceiling with these clients). Prints the figures of both and the ratios.
pub async fn compare(args: &BenchArgs, ucplus: &Window) -> anyhow::Result<()> {
    let rate = ucplus.per_second() / args.clients as f64;
    let size = (ucplus.bytes / ucplus.delivered.max(1)) as usize;
    println!(
        "bare broadcast, same load: the same {} clients, {:.1} messages/s each of {} bytes",
        args.clients, rate, size
    );
    let same = pass(args, Some(rate), size).await?;
    println!(
        "bare broadcast, flat out: the same {} clients, messages of {} bytes",
        args.clients, size
    );
    let ceiling = pass(args, None, size).await?;
    let ratio = |bare: &Window| ucplus.per_second() / bare.per_second().max(f64::MIN_POSITIVE);
    println!(
        "{:<28} {:>12.2} at the same load, {:.2} of its ceiling (delivered messages/s)",
        "ucplus / bare broadcast",
        ratio(&same),
        ratio(&ceiling)
    );
    if let (Some(ours), Some(same), Some(ceiling)) = (
        ucplus.cpu_per_message(),
        same.cpu_per_message(),
        ceiling.cpu_per_message(),
    ) {
        println!(
            "{:<28} {:>9.2} µs ucplus, {:.2} µs bare at the same load, {:.2} µs bare flat out",
            "server CPU per message", ours, same, ceiling
        );
    }
    Ok(())
}

/// One run of the clients against a fresh bare server; prints and returns its window.
async fn pass(args: &BenchArgs, rate: Option<f64>, size: usize) -> anyhow::Result<Window> {
    let (child, address) = start(args.tenants, rate, size)?;
    let mut server = BareServer(child);
    let pid = server.0.id();
    let views: Vec<Arc<TenantView>> = (0..args.tenants)
        .map(|tenant| {
            Arc::new(TenantView {
                devices: (0..DEVICES).map(|index| device(tenant, index)).collect(),
                users: HashSet::new(),
                tokens: Vec::new(),
            })
        })
        .collect();
    let fleet = Fleet::connect((0..args.clients).map(|i| {
        let tenant = i % args.tenants;
        (
            format!("ws://{address}/tenant/{tenant}"),
            views[tenant].clone(),
            String::new(),
        )
    }))
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let window = fleet.begin(pid);
    {
        let stdin = server.0.stdin.as_mut().context("bare server stdin")?;
        stdin.write_all(b"start\n")?;
        stdin.flush()?;
    }
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    let measured = window.end(&fleet);
    let totals = fleet.totals.clone();
    fleet.stop().await;
    drop(server);
    println!(
        "{:<28} {:>12} ({:.0}/s)",
        "messages delivered",
        measured.delivered,
        measured.per_second()
    );
    println!(
        "{:<28} {:>12}",
        "misdeliveries",
        totals.misdelivered.load(Ordering::Relaxed)
    );
    println!(
        "{:<28} {:>12}",
        "clients dropped (lost)",
        totals.dropped.load(Ordering::Relaxed)
    );
    measured.print_cpu("server CPU");
    Ok(measured)
}

/// The bare server child process; killed when dropped.
struct BareServer(Child);

impl Drop for BareServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_json_of_the_size_asked_for_naming_their_tenants_device() {
        let text = message(3, 7, 400);
        assert_eq!(text.len(), 400);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["type"], "device_state");
        assert_eq!(value["data"]["device_id"], device(3, 7));
        // Smaller than the envelope: the envelope, still valid.
        let small: serde_json::Value = serde_json::from_str(&message(0, 0, 1)).unwrap();
        assert_eq!(small["data"]["device_id"], "bare-0-0");
    }
}
