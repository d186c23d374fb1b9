//! What the server asks of a PBX, normalized, and how it can fail.

/// A call-control or feature request for one device. Call ids are the PBX's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PbxRequest {
    MakeCall {
        device: String,
        to: String,
    },
    Answer {
        device: String,
        call_id: String,
    },
    Clear {
        device: String,
        call_id: String,
    },
    Hold {
        device: String,
        call_id: String,
    },
    Retrieve {
        device: String,
        call_id: String,
    },
    /// Holds `call_id` and calls `to`; answers the new call's id.
    Consult {
        device: String,
        call_id: String,
        to: String,
    },
    /// Connects the held and the active call's far parties and drops the device.
    Transfer {
        device: String,
        held_call_id: String,
        active_call_id: String,
    },
    /// Blind transfer of an active call to `to`.
    SingleStepTransfer {
        device: String,
        call_id: String,
        to: String,
    },
    Conference {
        device: String,
        held_call_id: String,
        active_call_id: String,
    },
    /// Sends a ringing call elsewhere.
    Deflect {
        device: String,
        call_id: String,
        to: String,
    },
    Digits {
        device: String,
        call_id: String,
        digits: String,
    },
    SetDoNotDisturb {
        device: String,
        on: bool,
    },
    SetForwarding {
        device: String,
        on: bool,
        to: Option<String>,
    },
}

impl PbxRequest {
    pub fn device(&self) -> &str {
        match self {
            PbxRequest::MakeCall { device, .. }
            | PbxRequest::Answer { device, .. }
            | PbxRequest::Clear { device, .. }
            | PbxRequest::Hold { device, .. }
            | PbxRequest::Retrieve { device, .. }
            | PbxRequest::Consult { device, .. }
            | PbxRequest::Transfer { device, .. }
            | PbxRequest::SingleStepTransfer { device, .. }
            | PbxRequest::Conference { device, .. }
            | PbxRequest::Deflect { device, .. }
            | PbxRequest::Digits { device, .. }
            | PbxRequest::SetDoNotDisturb { device, .. }
            | PbxRequest::SetForwarding { device, .. } => device,
        }
    }
}

/// A successful answer: the call a request created or changed, when it says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PbxResponse {
    pub call_id: Option<String>,
}

/// Why a PBX request did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PbxError {
    /// The link is not up (or went down while waiting).
    #[error("the telephone system is not reachable right now: {0}")]
    Unavailable(String),
    /// The PBX refused, with its reason (e.g. CSTA `noCallToAnswer`).
    #[error("the telephone system refused: {0}")]
    Rejected(String),
    /// No answer within the request timeout.
    #[error("the telephone system did not answer in time")]
    Timeout,
}

impl PbxError {
    pub fn code(&self) -> &'static str {
        match self {
            PbxError::Unavailable(_) | PbxError::Timeout => "pbx_unavailable",
            PbxError::Rejected(_) => "pbx_rejected",
        }
    }
}
