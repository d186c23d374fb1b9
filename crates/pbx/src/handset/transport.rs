//! The handset's SIP sockets: one UDP socket, or a TCP connection to the registrar plus a
//! listener for controllers that connect to the registered contact. Reader tasks turn
//! bytes into [`Inbound`] messages for the agent; a message that does not parse is
//! dropped (UDP) or closes its connection (TCP, the stream is out of step).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use sip::{Limits, Message, StreamFramer, StreamItem, parse_datagram};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::Transport;

/// Messages a TCP connection may have queued for writing before it is dropped.
const WRITE_QUEUE: usize = 256;
/// Read buffer per TCP connection; the framer bounds one message to [`Limits`].
const READ_CHUNK: usize = 16 * 1024;
/// Connections accepted at once on the listener.
const MAX_CONNECTIONS: usize = 16;

/// Where a message came from, and where its answers go.
#[derive(Debug, Clone)]
pub(crate) enum Peer {
    Udp(SocketAddr),
    Tcp(mpsc::Sender<Bytes>),
}

/// A message from the network.
#[derive(Debug)]
pub(crate) struct Inbound {
    pub(crate) message: Message,
    pub(crate) peer: Peer,
}

/// The bound sockets: the local address for Via and Contact, and how to reach the
/// registrar.
pub(crate) struct Sockets {
    pub(crate) local: SocketAddr,
    pub(crate) registrar: Peer,
    udp: Option<Arc<UdpSocket>>,
}

impl Sockets {
    /// Binds and connects, and spawns the readers into `tasks`; messages go to `inbound`.
    pub(crate) async fn open(
        transport: Transport,
        listen: SocketAddr,
        registrar: SocketAddr,
        inbound: mpsc::Sender<Inbound>,
        tasks: &mut JoinSet<()>,
    ) -> io::Result<Sockets> {
        match transport {
            Transport::Udp => {
                let socket = Arc::new(UdpSocket::bind(listen).await?);
                tasks.spawn(read_datagrams(socket.clone(), inbound));
                Ok(Sockets {
                    local: socket.local_addr()?,
                    registrar: Peer::Udp(registrar),
                    udp: Some(socket),
                })
            }
            Transport::Tcp => {
                let listener = TcpListener::bind(listen).await?;
                let local = listener.local_addr()?;
                let stream = TcpStream::connect(registrar).await?;
                let registrar = spawn_connection(stream, inbound.clone(), tasks);
                tasks.spawn(accept(listener, inbound));
                Ok(Sockets {
                    local,
                    registrar,
                    udp: None,
                })
            }
        }
    }

    /// Sends a message; a full or closed connection loses it (the transaction times out).
    pub(crate) async fn send(&self, peer: &Peer, message: &Message) {
        let bytes = message.to_bytes();
        match (peer, &self.udp) {
            (Peer::Udp(address), Some(socket)) => {
                if let Err(error) = socket.send_to(&bytes, address).await {
                    tracing::debug!(%error, %address, "handset: UDP send failed");
                }
            }
            (Peer::Tcp(writer), _) => {
                if writer.try_send(bytes).is_err() {
                    tracing::debug!("handset: TCP connection full or closed");
                }
            }
            (Peer::Udp(_), None) => {}
        }
    }
}

async fn read_datagrams(socket: Arc<UdpSocket>, inbound: mpsc::Sender<Inbound>) {
    let limits = Limits::default();
    let mut buffer = vec![0u8; limits.max_message];
    loop {
        let Ok((length, source)) = socket.recv_from(&mut buffer).await else {
            continue;
        };
        let Some(datagram) = buffer.get(..length) else {
            continue;
        };
        match parse_datagram(datagram, &limits) {
            Ok(Some(message)) => {
                let item = Inbound {
                    message,
                    peer: Peer::Udp(source),
                };
                if inbound.send(item).await.is_err() {
                    return;
                }
            }
            Ok(None) => {}
            Err(error) => tracing::debug!(%error, %source, "handset: dropped a datagram"),
        }
    }
}

async fn accept(listener: TcpListener, inbound: mpsc::Sender<Inbound>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        if connections.len() >= MAX_CONNECTIONS {
            continue;
        }
        spawn_connection(stream, inbound.clone(), &mut connections);
    }
}

/// Spawns the reader and writer of one TCP connection; the returned peer writes to it.
fn spawn_connection(
    stream: TcpStream,
    inbound: mpsc::Sender<Inbound>,
    tasks: &mut JoinSet<()>,
) -> Peer {
    let (mut reader, mut writer) = stream.into_split();
    let (sender, mut outgoing) = mpsc::channel::<Bytes>(WRITE_QUEUE);
    let peer = Peer::Tcp(sender);
    let reply_to = peer.clone();
    tasks.spawn(async move {
        while let Some(bytes) = outgoing.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                return;
            }
        }
    });
    tasks.spawn(async move {
        let mut framer = StreamFramer::new(Limits::default());
        let mut buffer = BytesMut::with_capacity(READ_CHUNK);
        loop {
            match framer.decode(&mut buffer) {
                Ok(Some(StreamItem::Message(message))) => {
                    let item = Inbound {
                        message: *message,
                        peer: reply_to.clone(),
                    };
                    if inbound.send(item).await.is_err() {
                        return;
                    }
                }
                Ok(Some(StreamItem::KeepAlive)) => {}
                Ok(None) => match reader.read_buf(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                },
                Err(error) => {
                    tracing::debug!(%error, "handset: closing a TCP connection");
                    return;
                }
            }
        }
    });
    peer
}
