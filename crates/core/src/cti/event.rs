//! What a PBX link reports, normalized.

use serde::Serialize;

/// The state of a PBX link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    Connecting,
    Up,
    Down,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Connecting => "connecting",
            LinkState::Up => "up",
            LinkState::Down => "down",
        }
    }

    /// The state of [`LinkState::as_str`]'s name.
    pub fn parse(name: &str) -> Option<LinkState> {
        [LinkState::Connecting, LinkState::Up, LinkState::Down]
            .into_iter()
            .find(|state| state.as_str() == name)
    }
}

/// A monitored device's own state in one call (CSTA `localConnectionInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LocalState {
    /// No longer in the call.
    Null,
    /// Off hook, dialling.
    Initiated,
    /// Ringing.
    Alerting,
    Connected,
    Held,
    Queued,
    /// The call failed (busy, unreachable).
    Failed,
}

/// What happened, as the PBX named it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallEventKind {
    ServiceInitiated,
    Originated,
    Delivered,
    Established,
    Held,
    Retrieved,
    Cleared,
    Failed,
    Diverted,
    Transferred,
    Conferenced,
}

/// One change of a call as seen from one monitored device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEvent {
    /// The monitored device (its id on the PBX).
    pub device: String,
    /// The PBX's call id after the event.
    pub call_id: String,
    pub kind: CallEventKind,
    /// The monitored device's own state in the call after the event.
    pub local: LocalState,
    /// Normalized numbers of the calling and called parties, when known.
    pub calling: Option<String>,
    pub called: Option<String>,
    /// The far party after the event (who rings, who answered, transferred to ...).
    pub other: Option<String>,
    /// The PBX's cause (`newCall`, `busy`, `transfer`, ...).
    pub cause: Option<String>,
    /// Calls merged into `call_id` by a transfer or conference.
    pub merged_from: Vec<String>,
    /// Conferenced: every party in the conference, as the PBX lists them.
    pub parties: Vec<String>,
    /// When the PBX sent the event (unix ns), if it says; for latency measurement.
    pub sent_at_ns: Option<i64>,
}

/// A call of a device as reported by a snapshot (resynchronisation after a reconnect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotCall {
    pub call_id: String,
    pub local: LocalState,
}

/// Everything a link reports to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    State {
        state: LinkState,
        error: Option<String>,
    },
    /// The session the link opened with the switch (e.g. `ecma354`, `none`).
    Session {
        mode: String,
    },
    /// The complete current calls of a device: anything else the engine holds for the
    /// device is stale and ends.
    Snapshot {
        device: String,
        calls: Vec<SnapshotCall>,
    },
    Call(CallEvent),
    DoNotDisturb {
        device: String,
        on: bool,
    },
    Forwarding {
        device: String,
        on: bool,
        to: Option<String>,
    },
}
