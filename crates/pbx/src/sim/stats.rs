//! Counters a simulator keeps for tests, demos and benchmarks: lock-free, read as one
//! [`SimStats`] snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a simulator's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SimStats {
    /// Client connections accepted since start.
    pub connections_accepted: u64,
    /// Client connections open now.
    pub connections_open: u64,
    /// Documents received from clients and answered (or deliberately ignored).
    pub requests_handled: u64,
    /// Negative answers sent (`CSTAErrorCode`, session `NegResponse`s).
    pub errors_sent: u64,
    /// Events written to clients.
    pub events_sent: u64,
    /// Events not delivered: the client's queue was full or the switch was silent.
    pub events_dropped: u64,
    /// Malformed documents written to clients (fault injection, see
    /// `Simulator::send_malformed`).
    pub malformed_sent: u64,
    /// Links dropped because the client did not keep up.
    pub slow_links_dropped: u64,
    /// Calls created since start.
    pub calls_started: u64,
    /// Calls in progress now.
    pub calls_active: u64,
    /// Monitors active now.
    pub monitors_active: u64,
}

/// The live counters behind [`SimStats`] (the gauges of calls and monitors come from the
/// switch state when a snapshot is taken).
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) connections_accepted: AtomicU64,
    pub(crate) connections_open: AtomicU64,
    pub(crate) requests_handled: AtomicU64,
    pub(crate) errors_sent: AtomicU64,
    pub(crate) events_sent: AtomicU64,
    pub(crate) events_dropped: AtomicU64,
    pub(crate) malformed_sent: AtomicU64,
    pub(crate) slow_links_dropped: AtomicU64,
    pub(crate) calls_started: AtomicU64,
}

impl Stats {
    /// Adds one to `counter`.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, calls_active: u64, monitors_active: u64) -> SimStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        SimStats {
            connections_accepted: read(&self.connections_accepted),
            connections_open: read(&self.connections_open),
            requests_handled: read(&self.requests_handled),
            errors_sent: read(&self.errors_sent),
            events_sent: read(&self.events_sent),
            events_dropped: read(&self.events_dropped),
            malformed_sent: read(&self.malformed_sent),
            slow_links_dropped: read(&self.slow_links_dropped),
            calls_started: read(&self.calls_started),
            calls_active,
            monitors_active,
        }
    }
}
