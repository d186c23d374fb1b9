//! CSTA ⇄ the engine's normalized model: requests out, responses and events in.

use csta::{
    AnswerCall, AutoOriginate, ClearConnection, ConferenceCall, ConnectionId, ConsultationCall,
    DeflectCall, DeviceId, EventCause, EventDevice, Extra, ForwardingType, GenerateDigits,
    HoldCall, LocalConnectionState, MakeCall, Message, RetrieveCall, SetDoNotDisturb,
    SetForwarding, SingleStepTransferCall, TransferCall,
};
use ucplus_core::cti::{
    CallEvent, CallEventKind, LinkEvent, LocalState, PbxError, PbxRequest, PbxResponse,
};

fn connection(call_id: &str, device: &str) -> ConnectionId {
    ConnectionId::new(call_id, device)
}

/// The CSTA request for a normalized one.
pub fn request_message(request: &PbxRequest) -> Message {
    let extra = Extra::default;
    match request {
        PbxRequest::MakeCall { device, to } => MakeCall {
            calling_device: DeviceId::new(device.as_str()),
            called_directory_number: DeviceId::new(to.as_str()),
            auto_originate: Some(AutoOriginate::DoNotPrompt),
            extra: extra(),
        }
        .into(),
        PbxRequest::Answer { device, call_id } => AnswerCall {
            call_to_be_answered: connection(call_id, device),
            extra: extra(),
        }
        .into(),
        PbxRequest::Clear { device, call_id } => ClearConnection {
            connection_to_be_cleared: connection(call_id, device),
            reason: None,
            extra: extra(),
        }
        .into(),
        PbxRequest::Hold { device, call_id } => HoldCall {
            call_to_be_held: connection(call_id, device),
            extra: extra(),
        }
        .into(),
        PbxRequest::Retrieve { device, call_id } => RetrieveCall {
            call_to_be_retrieved: connection(call_id, device),
            extra: extra(),
        }
        .into(),
        PbxRequest::Consult {
            device,
            call_id,
            to,
        } => ConsultationCall {
            existing_call: connection(call_id, device),
            consulted_device: DeviceId::new(to.as_str()),
            extra: extra(),
        }
        .into(),
        PbxRequest::Transfer {
            device,
            held_call_id,
            active_call_id,
        } => TransferCall {
            held_call: connection(held_call_id, device),
            active_call: connection(active_call_id, device),
            extra: extra(),
        }
        .into(),
        PbxRequest::SingleStepTransfer {
            device,
            call_id,
            to,
        } => SingleStepTransferCall {
            active_call: connection(call_id, device),
            transferred_to: DeviceId::new(to.as_str()),
            extra: extra(),
        }
        .into(),
        PbxRequest::Conference {
            device,
            held_call_id,
            active_call_id,
        } => ConferenceCall {
            held_call: connection(held_call_id, device),
            active_call: connection(active_call_id, device),
            extra: extra(),
        }
        .into(),
        PbxRequest::Deflect {
            device,
            call_id,
            to,
        } => DeflectCall {
            call_to_be_diverted: connection(call_id, device),
            new_destination: DeviceId::new(to.as_str()),
            extra: extra(),
        }
        .into(),
        PbxRequest::Digits {
            device,
            call_id,
            digits,
        } => GenerateDigits {
            connection_to_send_digits: connection(call_id, device),
            characters_to_send: digits.clone(),
            extra: extra(),
        }
        .into(),
        PbxRequest::SetDoNotDisturb { device, on } => SetDoNotDisturb {
            device: DeviceId::new(device.as_str()),
            do_not_disturb_on: *on,
            extra: extra(),
        }
        .into(),
        PbxRequest::SetForwarding { device, on, to } => SetForwarding {
            device: DeviceId::new(device.as_str()),
            forwarding_type: Some(ForwardingType::Immediate),
            activate_forward: *on,
            forward_dn: to.as_deref().map(DeviceId::new),
            extra: extra(),
        }
        .into(),
    }
}

/// The answer to a request: its new call id where it has one, or the PBX's refusal.
pub fn response(message: &Message) -> Result<PbxResponse, PbxError> {
    let call = |c: &ConnectionId| PbxResponse {
        call_id: c.call_id.clone(),
    };
    match message {
        Message::CstaErrorCode(error) => Err(PbxError::Rejected(format!(
            "{} {}",
            error.category.as_str(),
            error.value
        ))),
        Message::MakeCallResponse(r) => Ok(call(&r.calling_device)),
        Message::ConsultationCallResponse(r) => Ok(call(&r.initiated_call)),
        Message::TransferCallResponse(r) => Ok(call(&r.transferred_call)),
        Message::ConferenceCallResponse(r) => Ok(call(&r.conferenced_call)),
        Message::SingleStepTransferCallResponse(r) => Ok(call(&r.transferred_call)),
        Message::AnswerCallResponse(_)
        | Message::ClearConnectionResponse(_)
        | Message::ClearCallResponse(_)
        | Message::HoldCallResponse(_)
        | Message::RetrieveCallResponse(_)
        | Message::DeflectCallResponse(_)
        | Message::GenerateDigitsResponse(_)
        | Message::SetDoNotDisturbResponse(_)
        | Message::SetForwardingResponse(_) => Ok(PbxResponse::default()),
        other => Err(PbxError::Rejected(format!(
            "unexpected answer {}",
            other.name()
        ))),
    }
}

fn number(device: &Option<EventDevice>) -> Option<String> {
    device
        .as_ref()
        .and_then(EventDevice::device_id)
        .map(|d| d.number().to_string())
        .filter(|n| !n.is_empty())
}

fn local(state: &Option<LocalConnectionState>) -> Option<LocalState> {
    state.as_ref().map(|s| match s {
        LocalConnectionState::Null => LocalState::Null,
        LocalConnectionState::Initiated => LocalState::Initiated,
        LocalConnectionState::Alerting => LocalState::Alerting,
        LocalConnectionState::Connected => LocalState::Connected,
        LocalConnectionState::Hold => LocalState::Held,
        LocalConnectionState::Queued => LocalState::Queued,
        LocalConnectionState::Fail => LocalState::Failed,
        _ => LocalState::Connected,
    })
}

fn cause(cause: &Option<EventCause>) -> Option<String> {
    cause.as_ref().map(|c| c.as_str().to_string())
}

/// The unix-ns send stamp a simulator (or a test switch) puts into private data.
fn sent_at(extra: &Extra) -> Option<i64> {
    let extensions = extra.extensions.as_deref()?;
    let start = extensions.find("<ucplusSentAt>")? + "<ucplusSentAt>".len();
    let end = extensions[start..].find('<')? + start;
    extensions[start..end].trim().parse().ok()
}

fn event(
    device: &str,
    call: &ConnectionId,
    kind: CallEventKind,
    local_state: LocalState,
) -> CallEvent {
    CallEvent {
        device: device.to_string(),
        call_id: call.call_id.clone().unwrap_or_default(),
        kind,
        local: local_state,
        calling: None,
        called: None,
        other: None,
        cause: None,
        merged_from: Vec::new(),
        parties: Vec::new(),
        sent_at_ns: None,
    }
}

fn is(device: &str, number: &Option<String>) -> bool {
    number.as_deref() == Some(device)
}

/// Translates a CSTA event from the monitor of `device` (its id on the PBX). `None` for
/// events the engine does not model (agent events) and for malformed call events.
pub fn link_event(configured: &str, message: &Message) -> Option<LinkEvent> {
    // Events name devices in the switch's forms (`N<201>;noa=nk`): compare numbers.
    let device = csta::normalize_number(configured);
    let call_event = match message {
        Message::ServiceInitiatedEvent(e) => {
            let mut ev = event(
                device,
                &e.initiated_connection,
                CallEventKind::ServiceInitiated,
                local(&e.local_connection_info).unwrap_or(LocalState::Initiated),
            );
            ev.calling = Some(device.to_string());
            ev.cause = cause(&e.cause);
            (ev, &e.extra)
        }
        Message::OriginatedEvent(e) => {
            let mut ev = event(
                device,
                &e.originated_connection,
                CallEventKind::Originated,
                local(&e.local_connection_info).unwrap_or(LocalState::Connected),
            );
            ev.calling = number(&e.calling_device);
            ev.called = number(&e.called_device);
            ev.other = ev.called.clone();
            ev.cause = cause(&e.cause);
            (ev, &e.extra)
        }
        Message::DeliveredEvent(e) => {
            let alerting = number(&e.alerting_device);
            let ringing_here = is(device, &alerting);
            let default = if ringing_here {
                LocalState::Alerting
            } else {
                LocalState::Connected
            };
            let mut ev = event(
                device,
                &e.connection,
                CallEventKind::Delivered,
                local(&e.local_connection_info).unwrap_or(default),
            );
            ev.calling = number(&e.calling_device);
            ev.called = number(&e.called_device);
            ev.other = if ringing_here {
                ev.calling.clone()
            } else {
                alerting.or(ev.called.clone())
            };
            ev.cause = cause(&e.cause);
            (ev, &e.extra)
        }
        Message::EstablishedEvent(e) => {
            let answering = number(&e.answering_device);
            let mut ev = event(
                device,
                &e.established_connection,
                CallEventKind::Established,
                local(&e.local_connection_info).unwrap_or(LocalState::Connected),
            );
            ev.calling = number(&e.calling_device);
            ev.called = number(&e.called_device);
            ev.other = if is(device, &answering) {
                ev.calling.clone()
            } else {
                answering.or(ev.called.clone())
            };
            ev.cause = cause(&e.cause);
            (ev, &e.extra)
        }
        Message::HeldEvent(e) => {
            let holding = number(&e.holding_device);
            let default = if is(device, &holding) {
                LocalState::Held
            } else {
                LocalState::Connected
            };
            let mut ev = event(
                device,
                &e.held_connection,
                CallEventKind::Held,
                local(&e.local_connection_info).unwrap_or(default),
            );
            ev.cause = cause(&e.cause);
            (ev, &e.extra)
        }
        Message::RetrievedEvent(e) => {
            let mut ev = event(
                device,
                &e.retrieved_connection,
                CallEventKind::Retrieved,
                local(&e.local_connection_info).unwrap_or(LocalState::Connected),
            );
            ev.cause = cause(&e.cause);
            (ev, &e.extra)
        }
        Message::ConnectionClearedEvent(e) => {
            let releasing = number(&e.releasing_device);
            let dropped = e
                .dropped_connection
                .device_id
                .as_ref()
                .map(|d| d.number().to_string());
            let mine = is(device, &releasing) || is(device, &dropped);
            let default = if mine {
                LocalState::Null
            } else {
                LocalState::Connected
            };
            let mut ev = event(
                device,
                &e.dropped_connection,
                CallEventKind::Cleared,
                local(&e.local_connection_info).unwrap_or(default),
            );
            if !mine {
                ev.other = dropped.or(releasing);
            }
            ev.cause = cause(&e.cause);
            (ev, &e.extra)
        }
        Message::FailedEvent(e) => {
            let mut ev = event(
                device,
                &e.failed_connection,
                CallEventKind::Failed,
                local(&e.local_connection_info).unwrap_or(LocalState::Failed),
            );
            ev.calling = number(&e.calling_device);
            ev.called = number(&e.called_device);
            ev.other = number(&e.failing_device)
                .filter(|f| f != device)
                .or(ev.called.clone());
            ev.cause = cause(&e.cause);
            (ev, &e.extra)
        }
        Message::DivertedEvent(e) => {
            let diverting = number(&e.diverting_device);
            let default = if is(device, &diverting) {
                LocalState::Null
            } else {
                LocalState::Connected
            };
            let mut ev = event(
                device,
                &e.connection,
                CallEventKind::Diverted,
                local(&e.local_connection_info).unwrap_or(default),
            );
            ev.calling = number(&e.calling_device);
            ev.called = number(&e.called_device);
            ev.other = number(&e.new_destination);
            ev.cause = cause(&e.cause);
            (ev, &e.extra)
        }
        Message::TransferredEvent(e) => {
            let transferring = number(&e.transferring_device);
            let default = if is(device, &transferring) {
                LocalState::Null
            } else {
                LocalState::Connected
            };
            let new_call = e
                .transferred_connections
                .as_ref()
                .and_then(|list| {
                    list.items
                        .iter()
                        .find_map(|i| i.new_connection.as_ref()?.call_id.clone())
                })
                .or_else(|| e.primary_old_call.call_id.clone());
            let mut ev = event(
                device,
                &e.primary_old_call,
                CallEventKind::Transferred,
                local(&e.local_connection_info).unwrap_or(default),
            );
            ev.call_id = new_call.unwrap_or_default();
            ev.merged_from = [Some(&e.primary_old_call), e.secondary_old_call.as_ref()]
                .into_iter()
                .flatten()
                .filter_map(|c| c.call_id.clone())
                .collect();
            // The far party after the transfer: another endpoint of the new call.
            let endpoints: Vec<String> = e
                .transferred_connections
                .as_ref()
                .map(|list| {
                    list.items
                        .iter()
                        .filter_map(|i| {
                            i.endpoint
                                .as_ref()
                                .map(|d| d.number().to_string())
                                .or_else(|| {
                                    i.new_connection
                                        .as_ref()?
                                        .device_id
                                        .as_ref()
                                        .map(|d| d.number().to_string())
                                })
                        })
                        .collect()
                })
                .unwrap_or_default();
            ev.other = if is(device, &transferring) {
                number(&e.transferred_to_device)
            } else {
                endpoints
                    .into_iter()
                    .find(|n| n != device && Some(n) != transferring.as_ref())
                    .or_else(|| number(&e.transferred_to_device).filter(|n| n != device))
            };
            ev.cause = cause(&e.cause).or(Some("transfer".into()));
            (ev, &e.extra)
        }
        Message::ConferencedEvent(e) => {
            let new_call = e
                .conference_connections
                .as_ref()
                .and_then(|list| {
                    list.items
                        .iter()
                        .find_map(|i| i.new_connection.as_ref()?.call_id.clone())
                })
                .or_else(|| e.primary_old_call.call_id.clone());
            let mut ev = event(
                device,
                &e.primary_old_call,
                CallEventKind::Conferenced,
                local(&e.local_connection_info).unwrap_or(LocalState::Connected),
            );
            ev.call_id = new_call.unwrap_or_default();
            ev.merged_from = [Some(&e.primary_old_call), e.secondary_old_call.as_ref()]
                .into_iter()
                .flatten()
                .filter_map(|c| c.call_id.clone())
                .collect();
            ev.other = number(&e.added_party).filter(|n| n != device);
            ev.parties = e
                .conference_connections
                .iter()
                .flat_map(|list| &list.items)
                .filter_map(|item| {
                    item.endpoint
                        .as_ref()
                        .map(|d| d.number().to_string())
                        .or_else(|| {
                            item.new_connection
                                .as_ref()?
                                .device_id
                                .as_ref()
                                .map(|d| d.number().to_string())
                        })
                })
                .chain(number(&e.conferencing_device))
                .filter(|n| n != device)
                .collect();
            ev.cause = cause(&e.cause).or(Some("conference".into()));
            (ev, &e.extra)
        }
        Message::DoNotDisturbEvent(e) => {
            return Some(LinkEvent::DoNotDisturb {
                device: configured.to_string(),
                on: e.do_not_disturb_on,
            });
        }
        Message::ForwardingEvent(e) => {
            return Some(LinkEvent::Forwarding {
                device: configured.to_string(),
                on: e.forward_status,
                to: e.forward_to.as_ref().map(|d| d.number().to_string()),
            });
        }
        _ => return None,
    };
    let (mut ev, extra) = call_event;
    ev.device = configured.to_string();
    if ev.call_id.is_empty() {
        return None;
    }
    ev.sent_at_ns = sent_at(extra);
    Some(LinkEvent::Call(ev))
}

/// A device's calls from its snapshot.
pub fn snapshot_calls(message: &Message) -> Option<Vec<ucplus_core::cti::SnapshotCall>> {
    let Message::SnapshotDeviceResponse(response) = message else {
        return None;
    };
    Some(
        response
            .calls()
            .iter()
            .filter_map(|call| {
                Some(ucplus_core::cti::SnapshotCall {
                    call_id: call.connection_identifier.call_id.clone()?,
                    local: local(&call.state().cloned()).unwrap_or(LocalState::Connected),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests;
