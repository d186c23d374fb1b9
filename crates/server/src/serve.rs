//! The HTTP listener: HTTP/1.1 with WebSocket upgrades, with the limits that keep one
//! client from taking the server down for everyone.
//!
//! - A request's head must arrive within `http.header_timeout` seconds. The timer also runs
//!   while a keep-alive connection waits for its next request, so idle connections and
//!   half-sent headers are closed alike.
//! - At most `http.max_connections` connections (WebSockets included) and at most
//!   `http.max_connections_per_address` from one client address. The last
//!   `http.reserved_connections` slots below the total are kept for addresses that hold
//!   almost none (fewer than [`RESERVE_USERS_BELOW`]): a flood from a few addresses cannot
//!   take them, so health checks and an administrator still get in.
//! - A connection over a limit is answered `503` with `Retry-After` and closed at once.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower_service::Service;

/// An address holding fewer connections than this may use the reserved slots.
pub const RESERVE_USERS_BELOW: u32 = 4;

/// The connection limits of one listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: u32,
    pub max_per_address: u32,
    pub reserved: u32,
}

/// Counts open connections, in total and per client address.
#[derive(Debug)]
pub struct Connections {
    /// The listener's name in metrics (`http`, `sip_tcp`).
    listener: &'static str,
    limits: Limits,
    open: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: u32,
    by_address: HashMap<IpAddr, u32>,
}

/// Why a connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The server holds `max_connections` (or all but the reserve, for a busy address).
    Full,
    /// This address holds `max_connections_per_address`.
    AddressFull,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Full => "server_full",
            Refusal::AddressFull => "address_full",
        }
    }
}

impl Connections {
    pub fn new(listener: &'static str, limits: Limits) -> Arc<Connections> {
        Arc::new(Connections {
            listener,
            limits,
            open: Mutex::new(Counts::default()),
        })
    }

    /// Takes a slot for a connection from `address`; the slot is given back on drop.
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Result<Slot, Refusal> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let held = open.by_address.get(&address).copied().unwrap_or(0);
        if held >= self.limits.max_per_address {
            metrics::counter!("ucplus_connections_refused_total", "listener" => self.listener, "reason" => Refusal::AddressFull.as_str()).increment(1);
            return Err(Refusal::AddressFull);
        }
        let unreserved = self
            .limits
            .max_connections
            .saturating_sub(self.limits.reserved);
        let full = open.total >= self.limits.max_connections
            || (open.total >= unreserved && held >= RESERVE_USERS_BELOW);
        if full {
            metrics::counter!("ucplus_connections_refused_total", "listener" => self.listener, "reason" => Refusal::Full.as_str()).increment(1);
            return Err(Refusal::Full);
        }
        open.total += 1;
        *open.by_address.entry(address).or_default() += 1;
        metrics::gauge!("ucplus_connections", "listener" => self.listener)
            .set(f64::from(open.total));
        Ok(Slot {
            connections: self.clone(),
            address,
        })
    }

    /// Open connections in total.
    pub fn open(&self) -> u32 {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).total
    }

    fn release(&self, address: IpAddr) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(held) = open.by_address.get_mut(&address) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                open.by_address.remove(&address);
            }
        }
        metrics::gauge!("ucplus_connections", "listener" => self.listener)
            .set(f64::from(open.total));
    }
}

/// One admitted connection's place; dropping it frees the place.
#[derive(Debug)]
pub struct Slot {
    connections: Arc<Connections>,
    address: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.connections.release(self.address);
    }
}

/// A TCP stream that holds its slot for as long as it lives, also after an upgrade to a
/// WebSocket (the upgraded connection owns this stream).
pub struct Admitted {
    stream: TcpStream,
    _slot: Slot,
}

impl AsyncRead for Admitted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Admitted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// How the listener treats each connection.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub limits: Limits,
    pub header_timeout: Duration,
    /// Kernel send buffer per connection (bytes).
    pub send_buffer: usize,
}

/// The body of the answer to a connection over a limit.
const BUSY_BODY: &str = r#"{"error":{"code":"too_many_connections","message":"too many connections; try again shortly"}}"#;

/// Serves `router` on `listener` until `shutdown` completes, then lets open requests
/// finish (at most `drain` long).
pub async fn run(
    listener: TcpListener,
    router: Router,
    settings: Settings,
    connections: Arc<Connections>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    // Every connection task holds a receiver; all gone means all finished.
    let (done_tx, done_rx) = watch::channel(());
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(%error, "accepting an HTTP connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = match connections.admit(remote.ip()) {
            Ok(slot) => slot,
            Err(_) => {
                tokio::spawn(refuse(stream));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        if let Err(error) =
            socket2::SockRef::from(&stream).set_send_buffer_size(settings.send_buffer)
        {
            tracing::debug!(%error, "could not size a connection's send buffer");
        }
        let io = TokioIo::new(Admitted {
            stream,
            _slot: slot,
        });
        let router = router.clone();
        let mut stop = stop_rx.clone();
        let done = done_rx.clone();
        let header_timeout = settings.header_timeout;
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let mut request = request.map(Body::new);
                request.extensions_mut().insert(ConnectInfo(remote));
                router.clone().call(request)
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true);
            let connection = builder.serve_connection(io, service).with_upgrades();
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                // The flag is only ever set (after the last connection was accepted):
                // the connection finishes what it has and ends.
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.as_mut().await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%error, %remote, "HTTP connection ended");
            }
            drop(done);
        });
    }
    drop(listener);
    stop_tx.send_replace(true);
    drop(done_rx);
    if tokio::time::timeout(drain, done_tx.closed()).await.is_err() {
        tracing::warn!("some HTTP requests were still running at shutdown");
    }
}

/// Tells a client over the limits to come back later, without reading its request.
async fn refuse(mut stream: TcpStream) {
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{BUSY_BODY}",
        BUSY_BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(answer.as_bytes())).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn caps_per_address_and_in_total_with_a_reserve_for_newcomers() {
        let connections = Connections::new(
            "test",
            Limits {
                max_connections: 10,
                max_per_address: 6,
                reserved: 4,
            },
        );
        let mut held = Vec::new();
        for _ in 0..6 {
            held.push(connections.admit(ip("10.0.0.1")).unwrap());
        }
        assert_eq!(
            connections.admit(ip("10.0.0.1")).unwrap_err(),
            Refusal::AddressFull
        );
        // Six of ten are taken; the last four are the reserve: a busy address (4 or more
        // connections) gets none of them, newcomers do.
        for _ in 0..4 {
            held.push(connections.admit(ip("10.0.0.2")).unwrap());
        }
        assert_eq!(connections.open(), 10);
        assert_eq!(
            connections.admit(ip("10.0.0.3")).unwrap_err(),
            Refusal::Full
        );
        held.truncate(5);
        let newcomer = connections.admit(ip("10.0.0.3")).unwrap();
        assert_eq!(
            connections.admit(ip("10.0.0.1")).unwrap_err(),
            Refusal::Full
        );
        drop(newcomer);
        drop(held);
        assert_eq!(connections.open(), 0);
        assert!(
            connections.open.lock().unwrap().by_address.is_empty(),
            "nothing left behind per address"
        );
    }
}
