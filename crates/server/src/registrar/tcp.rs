//! The registrar over TCP: the limits one client may hold, and one connection served — its
//! registrations and, on the same connection, the uaCSTA sessions of the handsets on it —
//! whether the handset opened it or this node did, to reach a handset registered over TCP
//! with another node ([`SipService::dial`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use pbx::link::uacsta::Flow;
use sip::{Message, Method, StreamFramer, StreamItem};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

use super::{SipService, lock, unix_now};
use crate::cti::bus::Bus;

/// Messages a SIP TCP connection may have queued for writing before it is dropped.
const WRITE_QUEUE: usize = 256;
/// After a registration's expiry, how long its connection may stay silent.
const REGISTRATION_GRACE: Duration = Duration::from_secs(32);

/// What one SIP-over-TCP client may hold.
pub struct TcpLimits {
    pub connections: Arc<crate::serve::Connections>,
    /// Silence allowed between messages.
    pub idle_timeout: Duration,
    /// Time allowed from a message's first byte to its last (and for writing an answer).
    pub message_timeout: Duration,
}

impl TcpLimits {
    pub fn from_config(config: &crate::config::SipConfig) -> TcpLimits {
        TcpLimits {
            connections: crate::serve::Connections::new(
                "sip_tcp",
                crate::serve::Limits {
                    max_connections: config.tcp_max_connections,
                    max_per_address: config.tcp_max_connections_per_address,
                    reserved: 0,
                },
            ),
            idle_timeout: Duration::from_secs(config.tcp_idle_timeout),
            message_timeout: Duration::from_secs(config.tcp_message_timeout),
        }
    }
}

/// A connection this node opened to a handset's contact: the registration it serves (its
/// address-of-record and until when it lasts, Unix seconds), and where its flow goes once
/// it is set up.
pub(super) struct Dialed {
    pub(super) carrying: (String, u64),
    pub(super) ready: oneshot::Sender<Flow>,
}

impl SipService {
    /// Opens a TCP connection to `contact` (a handset that registered over TCP with another
    /// node) and serves it like one the handset opened; its flow, or None when it cannot
    /// be reached (or this node may not talk to handsets).
    pub(super) async fn dial(
        self: &Arc<Self>,
        contact: &sip::Uri,
        carrying: (String, u64),
        bus: Arc<dyn Bus>,
    ) -> Option<Flow> {
        let uri = contact.as_sip()?;
        let host = uri.host.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_or_default();
        let deadline = self.tcp.message_timeout;
        let address = tokio::time::timeout(deadline, tokio::net::lookup_host((host, port)))
            .await
            .ok()?
            .ok()?
            .next()?;
        if !self.controller.may_talk() {
            return None;
        }
        let stream = tokio::time::timeout(deadline, tokio::net::TcpStream::connect(address))
            .await
            .ok()?
            .ok()?;
        let (ready, flow) = oneshot::channel();
        let service = self.clone();
        tokio::spawn(async move {
            let dialed = Dialed { carrying, ready };
            service
                .serve_tcp(stream, address, bus.as_ref(), Some(dialed))
                .await;
        });
        flow.await.ok()
    }

    /// Serves one TCP connection: the registration and, on the same connection, the
    /// uaCSTA sessions of the handsets registered on it. A connection that carries a
    /// registration may stay silent until that registration lapses.
    pub(super) async fn serve_tcp(
        &self,
        stream: tokio::net::TcpStream,
        source: SocketAddr,
        bus: &dyn Bus,
        dialed: Option<Dialed>,
    ) {
        let connection = self
            .connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Ok(sent_to) = stream.local_addr() else {
            return;
        };
        let (mut reader, mut writer) = stream.into_split();
        let (sender, mut outgoing) = tokio::sync::mpsc::channel::<bytes::Bytes>(WRITE_QUEUE);
        let write_deadline = self.tcp.message_timeout;
        // A peer that does not read what it is sent is dropped, not waited for.
        let writing = tokio::spawn(async move {
            while let Some(bytes) = outgoing.recv().await {
                let written = tokio::time::timeout(write_deadline, writer.write_all(&bytes)).await;
                if !matches!(written, Ok(Ok(()))) {
                    return;
                }
            }
        });
        let flow = Flow::Stream {
            connection,
            writer: sender.clone(),
        };
        let mut framer = StreamFramer::new(self.limits);
        let mut buffer = BytesMut::with_capacity(4096);
        // When the first byte of the message now being read arrived.
        let mut started: Option<tokio::time::Instant> = None;
        // The registrations made (or served) on this connection and until when each lasts.
        let mut registered: HashMap<String, u64> = HashMap::new();
        if let Some(Dialed { carrying, ready }) = dialed {
            registered.insert(carrying.0, carrying.1);
            let _ = ready.send(flow.clone());
        }
        // Every address-of-record registered on it (their flows end with it).
        let mut carried = std::collections::HashSet::new();
        'connection: loop {
            loop {
                let item = framer.decode(&mut buffer);
                if let Ok(Some(_)) = item {
                    started = None;
                }
                let answer = match item {
                    Ok(Some(StreamItem::Message(message))) => match *message {
                        Message::Request(request) => match request.method {
                            Method::Register | Method::Options => {
                                let answer = self.answer(&request, source, sent_to, &flow, bus);
                                if let Some((aor, until)) = &answer.registered {
                                    carried.insert(aor.clone());
                                    registered.insert(aor.clone(), *until);
                                }
                                if sender.try_send(answer.response.to_bytes()).is_err() {
                                    break 'connection;
                                }
                                self.after(answer);
                                continue;
                            }
                            Method::Ack => continue,
                            _ => match self.in_dialog(&request) {
                                Some(response) => response.to_bytes(),
                                None => continue,
                            },
                        },
                        Message::Response(response) => {
                            self.controller.on_response(&response);
                            continue;
                        }
                    },
                    Ok(Some(StreamItem::KeepAlive)) => bytes::Bytes::from_static(b"\r\n"),
                    Ok(None) => break,
                    Err(error) => {
                        tracing::debug!(%source, code = error.code(), "malformed SIP stream; closing");
                        break 'connection;
                    }
                };
                if sender.try_send(answer).is_err() {
                    break 'connection;
                }
            }
            // Between messages a phone may be quiet for a while (as long as its registration
            // lasts); a message that has begun must be finished soon (no slowloris).
            let wait = if buffer.is_empty() {
                started = None;
                let now = unix_now();
                registered.retain(|_, until| *until > now);
                registered
                    .values()
                    .max()
                    .map(|until| Duration::from_secs(until - now) + REGISTRATION_GRACE)
                    .map_or(self.tcp.idle_timeout, |lasts| {
                        lasts.max(self.tcp.idle_timeout)
                    })
            } else {
                let since = *started.get_or_insert_with(tokio::time::Instant::now);
                self.tcp.message_timeout.saturating_sub(since.elapsed())
            };
            tokio::select! {
                read = tokio::time::timeout(wait, reader.read_buf(&mut buffer)) => match read {
                    Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                    Ok(Ok(_)) => {}
                },
                // The writer gave up on a peer that does not read.
                _ = sender.closed() => break,
            }
        }
        writing.abort();
        {
            let mut flows = lock(&self.flows);
            for aor in &carried {
                if flows
                    .get(aor)
                    .is_some_and(|(_, flow)| matches!(flow, Flow::Stream { connection: c, .. } if *c == connection))
                {
                    flows.remove(aor);
                }
            }
        }
        self.controller.connection_closed(connection);
    }
}
