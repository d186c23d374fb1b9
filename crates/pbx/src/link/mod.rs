//! The boundary between a PBX's engine and its link: channels, nothing else. A link kind
//! (CSTA over TCP, the simulator, uaCSTA over SIP, a future Asterisk AMI) is a task that
//! owns the link's ends: it reports [`LinkEvent`]s and answers [`PbxRequest`]s. Each kind
//! is a module here whose settings type implements [`kinds::LinkKind`] (parse its stored
//! settings, start its task), registered in [`kinds`]: adding a kind is adding such a
//! module and one line there.

pub mod csta;
pub mod kinds;
mod lease;
pub mod sim;
pub mod uacsta;

use std::collections::BTreeSet;

pub use lease::Lease;

use tokio::sync::{mpsc, oneshot, watch};
use ucplus_core::cti::{LinkEvent, PbxError, PbxRequest, PbxResponse};

/// One request to the PBX and where its answer goes.
pub struct LinkRequest {
    pub request: PbxRequest,
    pub reply: oneshot::Sender<Result<PbxResponse, PbxError>>,
}

/// The link's ends of the channels.
pub struct LinkChannels {
    /// The devices to monitor; changes at run time as devices are added or removed.
    pub devices: watch::Receiver<BTreeSet<String>>,
    pub requests: mpsc::Receiver<LinkRequest>,
    pub events: mpsc::Sender<LinkEvent>,
    /// Becomes true when the link must close.
    pub shutdown: watch::Receiver<bool>,
}

/// The engine's ends of the channels.
pub struct EngineChannels {
    pub devices: watch::Sender<BTreeSet<String>>,
    pub requests: mpsc::Sender<LinkRequest>,
    pub events: mpsc::Receiver<LinkEvent>,
    pub shutdown: watch::Sender<bool>,
}

/// Requests queued for a link before callers see `pbx_unavailable`.
const REQUEST_QUEUE: usize = 256;
/// Events queued from a link before it waits for the engine.
const EVENT_QUEUE: usize = 8192;

/// A connected pair of ends, the link monitoring `devices` from the start.
pub fn channels(devices: BTreeSet<String>) -> (EngineChannels, LinkChannels) {
    let (devices_tx, devices_rx) = watch::channel(devices);
    let (requests_tx, requests_rx) = mpsc::channel(REQUEST_QUEUE);
    let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    (
        EngineChannels {
            devices: devices_tx,
            requests: requests_tx,
            events: events_rx,
            shutdown: shutdown_tx,
        },
        LinkChannels {
            devices: devices_rx,
            requests: requests_rx,
            events: events_tx,
            shutdown: shutdown_rx,
        },
    )
}
