//! Computer-telephony integration, protocol-independent: what a PBX link reports
//! ([`event`]), what the server asks of a PBX ([`request`]), and the call model that turns
//! reports into calls and phone states ([`calls`], [`presence`]).
//!
//! A link kind (CSTA over TCP, uaCSTA over SIP, a future Asterisk AMI) translates its wire
//! protocol into [`event::LinkEvent`] and serves [`request::PbxRequest`]; everything above
//! that line is shared.

pub mod calls;
pub mod event;
pub mod presence;
pub mod request;
pub mod views;

pub use calls::{CallDirection, CallEnded, CallState, DeviceCall, DeviceCalls};
pub use event::{CallEvent, CallEventKind, LinkEvent, LinkState, LocalState, SnapshotCall};
pub use presence::{PhoneState, PresenceState};
pub use request::{PbxError, PbxRequest, PbxResponse};
