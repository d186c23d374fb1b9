//! The event documents the switch sends, built as templates: everything but the
//! `monitorCrossRefID` and the recipient's `localConnectionInfo`, which [`address`] fills
//! in for each monitor the event goes to.
//!
//! ```text
//! <DeliveredEvent xmlns="…/ed3">
//!   <monitorCrossRefID>7</monitorCrossRefID>                 (address)
//!   <connection><callID>12</callID><deviceID>201</deviceID></connection>
//!   <alertingDevice><deviceIdentifier>201</deviceIdentifier></alertingDevice>
//!   <callingDevice>…200…</callingDevice><calledDevice>…201…</calledDevice>
//!   <lastRedirectionDevice><notRequired/></lastRedirectionDevice>
//!   <localConnectionInfo>connected</localConnectionInfo>     (address: 200's own state)
//!   <cause>newCall</cause>
//! </DeliveredEvent>
//! ```

use csta::{
    ConferencedEvent, ConnectionClearedEvent, ConnectionId, ConnectionList, ConnectionListItem,
    DeliveredEvent, DeviceId, DivertedEvent, DoNotDisturbEvent, EstablishedEvent, EventCause,
    EventDevice, FailedEvent, ForwardingEvent, ForwardingType, HeldEvent, LocalConnectionState,
    Message, OriginatedEvent, RetrievedEvent, ServiceInitiatedEvent, TransferredEvent,
};

/// Runs `$body` with `$event` bound to the event struct inside `$message`, for every
/// call event the switch sends; `None` for other messages.
macro_rules! with_call_event {
    ($message:expr, |$event:ident| $body:expr) => {
        match $message {
            Message::ServiceInitiatedEvent($event) => Some($body),
            Message::OriginatedEvent($event) => Some($body),
            Message::DeliveredEvent($event) => Some($body),
            Message::EstablishedEvent($event) => Some($body),
            Message::HeldEvent($event) => Some($body),
            Message::RetrievedEvent($event) => Some($body),
            Message::ConnectionClearedEvent($event) => Some($body),
            Message::FailedEvent($event) => Some($body),
            Message::DivertedEvent($event) => Some($body),
            Message::TransferredEvent($event) => Some($body),
            Message::ConferencedEvent($event) => Some($body),
            _ => None,
        }
    };
}

/// Fills in the recipient's part of an event template.
pub(crate) fn address(
    message: &mut Message,
    cross_ref: &str,
    local_connection_info: Option<LocalConnectionState>,
) {
    // Feature events carry the cross reference as an option (it may be absent on the wire).
    match message {
        Message::DoNotDisturbEvent(event) => {
            event.monitor_cross_ref_id = Some(cross_ref.to_string());
            event.local_connection_info = local_connection_info;
        }
        Message::ForwardingEvent(event) => {
            event.monitor_cross_ref_id = Some(cross_ref.to_string());
            event.local_connection_info = local_connection_info;
        }
        other => {
            with_call_event!(other, |event| {
                event.monitor_cross_ref_id.clear();
                event.monitor_cross_ref_id.push_str(cross_ref);
                event.local_connection_info = local_connection_info;
            });
        }
    }
}

/// Adds the send time for latency measurements:
/// `<extensions><privateData><private><ucplusSentAt>1700000000123456789</ucplusSentAt>…`.
pub(crate) fn stamp(message: &mut Message, unix_nanos: u128) {
    let extensions = format!(
        "<extensions><privateData><private><ucplusSentAt>{unix_nanos}</ucplusSentAt>\
         </private></privateData></extensions>"
    );
    match message {
        Message::DoNotDisturbEvent(event) => event.extra.extensions = Some(extensions),
        Message::ForwardingEvent(event) => event.extra.extensions = Some(extensions),
        other => {
            with_call_event!(other, |event| event.extra.extensions = Some(extensions));
        }
    }
}

/// Who a call is from and to, as events report it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parties<'a> {
    pub(crate) calling: &'a str,
    pub(crate) called: &'a str,
    pub(crate) last_redirection: Option<&'a str>,
}

impl Parties<'_> {
    fn calling(&self) -> Option<EventDevice> {
        known(self.calling)
    }

    fn called(&self) -> Option<EventDevice> {
        known(self.called)
    }

    fn last_redirection(&self) -> Option<EventDevice> {
        Some(match self.last_redirection {
            Some(device) => EventDevice::known(device),
            None => EventDevice::NotRequired,
        })
    }
}

/// A connection renamed by a transfer or conference: `device` moved from `old_call`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Moved {
    pub(crate) device: String,
    pub(crate) old_call: u64,
}

fn known(device: &str) -> Option<EventDevice> {
    Some(EventDevice::known(device))
}

pub(crate) fn connection(call: u64, device: &str) -> ConnectionId {
    ConnectionId::new(call.to_string(), device)
}

fn connection_list(call: u64, moved: &[Moved]) -> Option<ConnectionList> {
    Some(ConnectionList {
        items: moved
            .iter()
            .map(|moved| ConnectionListItem {
                new_connection: Some(connection(call, &moved.device)),
                old_connection: Some(connection(moved.old_call, &moved.device)),
                endpoint: Some(DeviceId::new(moved.device.as_str())),
                extra: Default::default(),
            })
            .collect(),
        extra: Default::default(),
    })
}

pub(crate) fn service_initiated(call: u64, device: &str, cause: EventCause) -> Message {
    ServiceInitiatedEvent {
        monitor_cross_ref_id: String::new(),
        initiated_connection: connection(call, device),
        initiating_device: known(device),
        local_connection_info: None,
        cause: Some(cause),
        network_calling_device: None,
        network_called_device: None,
        call_linkage_data: None,
        extra: Default::default(),
    }
    .into()
}

pub(crate) fn originated(call: u64, device: &str, called: &str, cause: EventCause) -> Message {
    OriginatedEvent {
        monitor_cross_ref_id: String::new(),
        originated_connection: connection(call, device),
        calling_device: known(device),
        called_device: known(called),
        local_connection_info: None,
        cause: Some(cause),
        network_calling_device: None,
        network_called_device: None,
        call_linkage_data: None,
        extra: Default::default(),
    }
    .into()
}

pub(crate) fn delivered(
    call: u64,
    alerting: &str,
    parties: Parties<'_>,
    cause: EventCause,
) -> Message {
    DeliveredEvent {
        monitor_cross_ref_id: String::new(),
        connection: connection(call, alerting),
        alerting_device: known(alerting),
        calling_device: parties.calling(),
        called_device: parties.called(),
        last_redirection_device: parties.last_redirection(),
        local_connection_info: None,
        cause: Some(cause),
        network_calling_device: None,
        network_called_device: None,
        call_linkage_data: None,
        extra: Default::default(),
    }
    .into()
}

pub(crate) fn established(
    call: u64,
    answering: &str,
    parties: Parties<'_>,
    cause: EventCause,
) -> Message {
    EstablishedEvent {
        monitor_cross_ref_id: String::new(),
        established_connection: connection(call, answering),
        answering_device: known(answering),
        calling_device: parties.calling(),
        called_device: parties.called(),
        last_redirection_device: parties.last_redirection(),
        local_connection_info: None,
        cause: Some(cause),
        network_calling_device: None,
        network_called_device: None,
        call_linkage_data: None,
        extra: Default::default(),
    }
    .into()
}

pub(crate) fn held(call: u64, device: &str, cause: EventCause) -> Message {
    HeldEvent {
        monitor_cross_ref_id: String::new(),
        held_connection: connection(call, device),
        holding_device: known(device),
        local_connection_info: None,
        cause: Some(cause),
        network_calling_device: None,
        network_called_device: None,
        call_linkage_data: None,
        extra: Default::default(),
    }
    .into()
}

pub(crate) fn retrieved(call: u64, device: &str, cause: EventCause) -> Message {
    RetrievedEvent {
        monitor_cross_ref_id: String::new(),
        retrieved_connection: connection(call, device),
        retrieving_device: known(device),
        local_connection_info: None,
        cause: Some(cause),
        network_calling_device: None,
        network_called_device: None,
        call_linkage_data: None,
        extra: Default::default(),
    }
    .into()
}

pub(crate) fn connection_cleared(call: u64, device: &str, cause: EventCause) -> Message {
    ConnectionClearedEvent {
        monitor_cross_ref_id: String::new(),
        dropped_connection: connection(call, device),
        releasing_device: known(device),
        local_connection_info: None,
        cause: Some(cause),
        network_calling_device: None,
        network_called_device: None,
        call_linkage_data: None,
        extra: Default::default(),
    }
    .into()
}

pub(crate) fn failed(call: u64, failing: &str, parties: Parties<'_>, cause: EventCause) -> Message {
    FailedEvent {
        monitor_cross_ref_id: String::new(),
        failed_connection: connection(call, failing),
        failing_device: known(failing),
        calling_device: parties.calling(),
        called_device: parties.called(),
        local_connection_info: None,
        cause: Some(cause),
        network_calling_device: None,
        network_called_device: None,
        call_linkage_data: None,
        extra: Default::default(),
    }
    .into()
}

pub(crate) fn diverted(
    call: u64,
    from: &str,
    to: &str,
    parties: Parties<'_>,
    cause: EventCause,
) -> Message {
    DivertedEvent {
        monitor_cross_ref_id: String::new(),
        connection: connection(call, from),
        diverting_device: known(from),
        new_destination: known(to),
        calling_device: parties.calling(),
        called_device: parties.called(),
        last_redirection_device: parties.last_redirection(),
        local_connection_info: None,
        cause: Some(cause),
        network_calling_device: None,
        network_called_device: None,
        call_linkage_data: None,
        extra: Default::default(),
    }
    .into()
}

/// A transfer by `transferring` out of `primary_call` (and `secondary_call` unless it
/// was a single-step transfer); the remaining connections are all in `primary_call`.
pub(crate) fn transferred(
    primary_call: u64,
    secondary_call: Option<u64>,
    transferring: &str,
    transferred_to: &str,
    moved: &[Moved],
    cause: EventCause,
) -> Message {
    TransferredEvent {
        monitor_cross_ref_id: String::new(),
        primary_old_call: connection(primary_call, transferring),
        secondary_old_call: secondary_call.map(|call| connection(call, transferring)),
        transferring_device: known(transferring),
        transferred_to_device: known(transferred_to),
        transferred_connections: connection_list(primary_call, moved),
        local_connection_info: None,
        cause: Some(cause),
        network_calling_device: None,
        network_called_device: None,
        call_linkage_data: None,
        extra: Default::default(),
    }
    .into()
}

/// `conferencing` joined `secondary_call` into `primary_call`.
pub(crate) fn conferenced(
    primary_call: u64,
    secondary_call: u64,
    conferencing: &str,
    added_party: &str,
    moved: &[Moved],
) -> Message {
    ConferencedEvent {
        monitor_cross_ref_id: String::new(),
        primary_old_call: connection(primary_call, conferencing),
        secondary_old_call: Some(connection(secondary_call, conferencing)),
        conferencing_device: known(conferencing),
        added_party: known(added_party),
        conference_connections: connection_list(primary_call, moved),
        local_connection_info: None,
        cause: Some(EventCause::Conference),
        network_calling_device: None,
        network_called_device: None,
        call_linkage_data: None,
        extra: Default::default(),
    }
    .into()
}

pub(crate) fn do_not_disturb(device: &str, on: bool) -> Message {
    DoNotDisturbEvent {
        monitor_cross_ref_id: None,
        device: EventDevice::known(device),
        do_not_disturb_on: on,
        local_connection_info: None,
        cause: None,
        network_calling_device: None,
        network_called_device: None,
        extra: Default::default(),
    }
    .into()
}

pub(crate) fn forwarding(
    device: &str,
    forwarding_type: ForwardingType,
    on: bool,
    to: Option<&str>,
) -> Message {
    ForwardingEvent {
        monitor_cross_ref_id: None,
        device: EventDevice::known(device),
        forwarding_type: Some(forwarding_type),
        forward_status: on,
        forward_to: to.map(DeviceId::new),
        ring_count: None,
        local_connection_info: None,
        cause: None,
        network_calling_device: None,
        network_called_device: None,
        extra: Default::default(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use csta::{Edition, decode, encode};

    #[test]
    fn addressed_and_stamped_events_round_trip() {
        let parties = Parties {
            calling: "200",
            called: "201",
            last_redirection: None,
        };
        let mut message = delivered(12, "201", parties, EventCause::NewCall);
        address(&mut message, "7", Some(LocalConnectionState::Connected));
        stamp(&mut message, 1_700_000_000_123_456_789);
        let xml = encode(&message, Edition::Ed3);
        assert!(xml.contains("<monitorCrossRefID>7</monitorCrossRefID>"));
        assert!(xml.contains("<ucplusSentAt>1700000000123456789</ucplusSentAt>"));
        assert!(xml.contains("<lastRedirectionDevice><notRequired/></lastRedirectionDevice>"));
        assert_eq!(decode(xml.as_bytes()).unwrap(), message);
    }

    #[test]
    fn non_events_are_left_alone() {
        let mut message = Message::from(csta::SystemStatusResponse {
            extra: Default::default(),
        });
        let before = message.clone();
        address(&mut message, "1", None);
        stamp(&mut message, 1);
        assert_eq!(message, before);
    }
}
