//! Domain events: what happened, for which tenant, and who within it may see it. Typed, so
//! anything can subscribe (WebSocket sessions, call log, webhooks, another node);
//! serialized to the WebSocket's JSON once, at the edge.

use serde::Serialize;

use crate::cti::views::{
    CallEndedView, CallView, DeviceStateView, LinkView, PresenceView, RegistrationEvent,
};
use crate::{PbxId, TenantId, UserId};

/// Where an event goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// One tenant's sessions.
    Tenant(TenantId),
    /// The system admins' sessions.
    System,
}

/// Who within the scope may see an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every session of the scope.
    Everyone,
    /// Only this user's sessions (their own calls).
    User(UserId),
    /// The tenant's admins.
    Admins,
    /// The tenant's sessions that are not admins.
    Members,
}

/// What happened.
#[derive(Debug, Clone)]
pub enum Payload {
    /// A call on a device appeared or changed.
    Call(CallView),
    CallEnded(CallEndedView),
    /// A device's phone state changed (busy-lamp field).
    DeviceState(DeviceStateView),
    Presence(PresenceView),
    /// A PBX link went up or down.
    Link(LinkView),
    /// A handset registered or its registration ended.
    Registration(RegistrationEvent),
    /// An event that happened on another node, as its WebSocket message (made there once).
    Relayed(std::sync::Arc<str>),
    /// Events may have been lost on the way from another node: every stream of the scope
    /// closes so its client reconnects and resynchronizes from a fresh snapshot.
    Resync,
}

impl Payload {
    /// The event's `type` on the WebSocket.
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::Call(_) => "call",
            Payload::CallEnded(_) => "call_ended",
            Payload::DeviceState(_) => "device_state",
            Payload::Presence(_) => "presence",
            Payload::Link(_) => "link",
            Payload::Registration(_) => "registration",
            Payload::Relayed(_) => "relayed",
            Payload::Resync => "resync",
        }
    }
}

/// One event with its scope and audience.
#[derive(Debug, Clone)]
pub struct Event {
    pub scope: Scope,
    pub audience: Audience,
    pub payload: Payload,
    /// When the PBX sent what caused it (unix ns), if the PBX said (the simulator does
    /// when asked, for latency measurement).
    pub pbx_sent_at_ns: Option<i64>,
    /// The PBX link it came from and that link's epoch (the lease's fencing token), so
    /// other nodes drop what a link's stale holder still says.
    pub link: Option<(PbxId, i64)>,
}

impl Event {
    /// An event for everyone in one tenant.
    pub fn tenant(tenant: TenantId, payload: Payload) -> Event {
        Event::to(tenant, Audience::Everyone, payload)
    }

    /// An event for part of one tenant.
    pub fn to(tenant: TenantId, audience: Audience, payload: Payload) -> Event {
        Event {
            scope: Scope::Tenant(tenant),
            audience,
            payload,
            pbx_sent_at_ns: None,
            link: None,
        }
    }

    /// An event for the system admins.
    pub fn system(payload: Payload) -> Event {
        Event {
            scope: Scope::System,
            audience: Audience::Everyone,
            payload,
            pbx_sent_at_ns: None,
            link: None,
        }
    }

    /// Stamped with when the PBX sent its cause.
    pub fn sent_at(mut self, pbx_sent_at_ns: Option<i64>) -> Event {
        self.pbx_sent_at_ns = pbx_sent_at_ns;
        self
    }

    /// Said by PBX link `pbx` under `epoch`.
    pub fn from_link(mut self, pbx: PbxId, epoch: i64) -> Event {
        self.link = Some((pbx, epoch));
        self
    }

    /// The WebSocket message: `{"type": …, "data": …}` and the PBX's time stamp if any.
    pub fn to_json(&self) -> String {
        match &self.payload {
            Payload::Call(view) => self.message(view),
            Payload::CallEnded(view) => self.message(view),
            Payload::DeviceState(view) => self.message(view),
            Payload::Presence(view) => self.message(view),
            Payload::Link(view) => self.message(view),
            Payload::Registration(view) => self.message(view),
            Payload::Relayed(json) => json.to_string(),
            Payload::Resync => message("resync", &(), None),
        }
    }

    fn message<T: Serialize>(&self, data: &T) -> String {
        message(self.payload.kind(), data, self.pbx_sent_at_ns)
    }
}

#[derive(Serialize)]
struct Message<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    data: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pbx_sent_at_ns: Option<i64>,
}

/// Serializes `{"type": kind, "data": data}` (and `pbx_sent_at_ns` when given): the shape of
/// every WebSocket message.
pub fn message<T: Serialize>(kind: &str, data: &T, pbx_sent_at_ns: Option<i64>) -> String {
    serde_json::to_string(&Message {
        kind,
        data,
        pbx_sent_at_ns,
    })
    .unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cti::PhoneState;
    use crate::cti::PresenceState;

    #[test]
    fn an_event_is_the_websocket_message_it_always_was() {
        let user = UserId::new();
        let event = Event::tenant(
            TenantId::new(),
            Payload::Presence(PresenceView {
                user_id: user,
                display_name: "Anna".into(),
                state: PresenceState::Busy,
                note: None,
                phone: PhoneState::Idle,
                on_the_phone: false,
            }),
        );
        let json: serde_json::Value = serde_json::from_str(&event.to_json()).unwrap();
        assert_eq!(json["type"], "presence");
        assert_eq!(json["data"]["display_name"], "Anna");
        assert_eq!(json["data"]["user_id"], user.to_string());
        assert!(json.get("pbx_sent_at_ns").is_none());
        let stamped = event.sent_at(Some(42)).to_json();
        assert!(stamped.ends_with(r#","pbx_sent_at_ns":42}"#), "{stamped}");
    }
}
