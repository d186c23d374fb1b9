//! What the API and the WebSocket show of calls, devices, presence, links and handset
//! registrations: the payloads of [`crate::event::Event`].

use super::{CallDirection, CallState, DeviceCall, LinkState, PhoneState, PresenceState};
use crate::{DeviceRecordId, PbxId, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The far party of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Party {
    pub number: Option<String>,
    /// Resolved from the tenant's directory; never a name from another tenant.
    pub name: Option<String>,
    /// The far party is a device of the same tenant.
    pub internal: bool,
}

/// One of the user's calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallView {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    pub state: CallState,
    pub direction: CallDirection,
    /// The device record the call is on.
    pub device_id: DeviceRecordId,
    pub user_id: Option<UserId>,
    pub pbx_id: PbxId,
    pub other: Party,
    pub started_at: Timestamp,
    pub answered_at: Option<Timestamp>,
    pub conference: bool,
}

impl CallView {
    pub fn new(
        call: &DeviceCall,
        device: DeviceRecordId,
        user: Option<UserId>,
        pbx: PbxId,
        other: Party,
    ) -> CallView {
        CallView {
            id: call.id,
            state: call.state,
            direction: call.direction,
            device_id: device,
            user_id: user,
            pbx_id: pbx,
            other,
            started_at: call.started_at,
            answered_at: call.answered_at,
            conference: call.conference,
        }
    }
}

/// A call that ended.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CallEndedView {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    pub device_id: DeviceRecordId,
    pub user_id: Option<UserId>,
    pub ended_at: Timestamp,
    pub cause: Option<String>,
    pub missed: bool,
}

/// A device's phone state (busy-lamp field).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeviceStateView {
    pub device_id: DeviceRecordId,
    /// The number the tenant dials.
    pub number: String,
    pub name: String,
    pub user_id: Option<UserId>,
    pub state: PhoneState,
    pub dnd: bool,
    pub forwarding_to: Option<String>,
}

/// A user's presence: chosen state and note, and what their phones are doing.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PresenceView {
    pub user_id: UserId,
    pub display_name: String,
    pub state: PresenceState,
    pub note: Option<String>,
    pub phone: PhoneState,
    /// Derived from the phones: talking, ringing, dialling or holding.
    pub on_the_phone: bool,
}

/// A PBX link's live state.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LinkView {
    pub pbx_id: PbxId,
    pub state: LinkState,
    pub since: Timestamp,
    /// Why the link is down. Only those who run the PBX (the system admin, a tenant admin
    /// for the tenant's own PBX) get the technical detail; everyone else a plain sentence.
    pub error: Option<String>,
    /// The session opened with the switch: `ecma354`, `system_status` or `none` (what
    /// the `auto` setting settled on).
    pub session: Option<String>,
    /// The node that runs the link (`node_name`); null while no node holds it.
    pub node: Option<String>,
}

impl LinkView {
    /// The view for people who do not run the PBX: no addresses, OS errors or protocol
    /// names, just whether the telephone system can be reached.
    pub fn plain(&self) -> LinkView {
        LinkView {
            error: self
                .error
                .as_ref()
                .map(|_| "the telephone system cannot be reached at the moment".to_string()),
            ..self.clone()
        }
    }
}

/// A device's registration as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RegistrationView {
    /// `registered` or `unregistered`.
    pub state: &'static str,
    /// The contact URI of the newest binding.
    pub contact: Option<String>,
    /// Seconds until it expires.
    pub expires: Option<u64>,
    /// The node whose registrar took it (any node's may; several nodes).
    pub node: Option<String>,
}

/// A handset's registration changed.
#[derive(Debug, Clone, Serialize)]
pub struct RegistrationEvent {
    pub device_id: DeviceRecordId,
    #[serde(flatten)]
    pub registration: RegistrationView,
}
