//! How the controller reaches a handset: over the flow its registration came on.

use std::net::SocketAddr;

use bytes::Bytes;
use tokio::sync::mpsc;

/// How a handset is reached: the flow its registration came on.
#[derive(Debug, Clone)]
pub enum Flow {
    /// From the registrar's UDP socket to this address.
    Udp(SocketAddr),
    /// On a TCP connection of the registrar: its number (unique per process) and its writer.
    Stream {
        connection: u64,
        writer: mpsc::Sender<Bytes>,
    },
}

impl Flow {
    /// The same flow (the same address, or the same connection).
    pub(super) fn same(&self, other: &Flow) -> bool {
        match (self, other) {
            (Flow::Udp(a), Flow::Udp(b)) => a == b,
            (Flow::Stream { connection: a, .. }, Flow::Stream { connection: b, .. }) => a == b,
            _ => false,
        }
    }

    pub(super) fn reliable(&self) -> bool {
        matches!(self, Flow::Stream { .. })
    }
}
