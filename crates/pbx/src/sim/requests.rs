//! Serving one CSTA request: take its parameters, run the switch operation, build the
//! positive response — or the `CSTAErrorCode` for a [`SimError`].
//!
//! ```text
//! <MakeCall><callingDevice>200</callingDevice><calledDirectoryNumber>201</calledDirectoryNumber></MakeCall>
//! → <MakeCallResponse><callingDevice><callID>1</callID><deviceID>200</deviceID></callingDevice></MakeCallResponse>
//! <AnswerCall><callToBeAnswered><callID>1</callID><deviceID>202</deviceID></callToBeAnswered></AnswerCall>
//! → <CSTAErrorCode><operation>invalidConnectionID</operation></CSTAErrorCode>
//! ```
//! Responses and errors a client sends (e.g. to the switch's `SystemStatus`) are not
//! answered; events and unknown documents are refused with `operation/invalidFeature`.

use csta::*;

use super::error::SimError;
use super::events::connection;
use super::switch::{LinkId, Switch};

/// The answer to `message` from `link`; `None` when nothing is to be sent.
pub(crate) fn serve(switch: &mut Switch, link: LinkId, message: &Message) -> Option<Message> {
    let answer = match message {
        Message::MonitorStart(request) => monitor_start(switch, link, request),
        Message::MonitorStop(request) => switch
            .monitor_stop(link, &request.monitor_cross_ref_id)
            .map(|()| {
                MonitorStopResponse {
                    extra: Extra::default(),
                }
                .into()
            }),
        Message::SnapshotDevice(request) => snapshot(switch, request),
        Message::MakeCall(request) => make_call(switch, request),
        Message::AnswerCall(request) => connection_of(&request.call_to_be_answered)
            .and_then(|(call, device)| switch.answer(call, device))
            .map(|()| {
                AnswerCallResponse {
                    extra: Extra::default(),
                }
                .into()
            }),
        Message::ClearConnection(request) => connection_of(&request.connection_to_be_cleared)
            .and_then(|(call, device)| {
                switch.clear_connection(call, device, EventCause::NormalClearing)
            })
            .map(|()| {
                ClearConnectionResponse {
                    extra: Extra::default(),
                }
                .into()
            }),
        Message::ClearCall(request) => call_of(&request.call_to_be_cleared)
            .and_then(|call| switch.clear_call(call))
            .map(|()| {
                ClearCallResponse {
                    extra: Extra::default(),
                }
                .into()
            }),
        Message::HoldCall(request) => connection_of(&request.call_to_be_held)
            .and_then(|(call, device)| switch.hold(call, device, EventCause::Normal))
            .map(|()| {
                HoldCallResponse {
                    extra: Extra::default(),
                }
                .into()
            }),
        Message::RetrieveCall(request) => connection_of(&request.call_to_be_retrieved)
            .and_then(|(call, device)| switch.retrieve(call, device))
            .map(|()| {
                RetrieveCallResponse {
                    extra: Extra::default(),
                }
                .into()
            }),
        Message::ConsultationCall(request) => consult(switch, request),
        Message::TransferCall(request) => transfer(switch, request),
        Message::ConferenceCall(request) => conference(switch, request),
        Message::SingleStepTransferCall(request) => single_step_transfer(switch, request),
        Message::DeflectCall(request) => connection_of(&request.call_to_be_diverted)
            .and_then(|(call, device)| switch.deflect(call, device, request.new_destination.raw()))
            .map(|()| {
                DeflectCallResponse {
                    extra: Extra::default(),
                }
                .into()
            }),
        Message::GenerateDigits(request) => connection_of(&request.connection_to_send_digits)
            .and_then(|(call, device)| {
                switch.generate_digits(call, device, &request.characters_to_send)
            })
            .map(|()| {
                GenerateDigitsResponse {
                    extra: Extra::default(),
                }
                .into()
            }),
        Message::SetDoNotDisturb(request) => switch
            .set_do_not_disturb(request.device.number(), request.do_not_disturb_on)
            .map(|()| {
                SetDoNotDisturbResponse {
                    extra: Extra::default(),
                }
                .into()
            }),
        Message::SetForwarding(request) => switch
            .set_forwarding(
                request.device.number(),
                request
                    .forwarding_type
                    .clone()
                    .unwrap_or(ForwardingType::Immediate),
                request.activate_forward,
                request.forward_dn.as_ref().map(DeviceId::raw),
            )
            .map(|()| {
                SetForwardingResponse {
                    extra: Extra::default(),
                }
                .into()
            }),
        Message::RequestSystemStatus(_) => Ok(RequestSystemStatusResponse {
            system_status: SystemStatusValue::Normal,
            extra: Extra::default(),
        }
        .into()),
        Message::SystemStatus(_) => Ok(SystemStatusResponse {
            extra: Extra::default(),
        }
        .into()),
        Message::SystemRegister(_) => Ok(SystemRegisterResponse {
            sys_stat_register_id: link.to_string(),
            extra: Extra::default(),
        }
        .into()),
        other if matches!(other.kind(), MessageKind::Response | MessageKind::Error) => return None,
        _ => Err(SimError::InvalidFeature),
    };
    Some(answer.unwrap_or_else(|error| error.csta().into()))
}

/// A connection named in a request: the call id as a number and the plain device.
fn connection_of(id: &ConnectionId) -> Result<(u64, &str), SimError> {
    let call = call_of(id)?;
    let device = id
        .device_id
        .as_ref()
        .map(DeviceId::number)
        .filter(|device| !device.is_empty())
        .ok_or(SimError::InvalidConnection)?;
    Ok((call, device))
}

fn call_of(id: &ConnectionId) -> Result<u64, SimError> {
    id.call_id
        .as_deref()
        .and_then(|call| call.trim().parse().ok())
        .ok_or(SimError::InvalidCall)
}

fn monitor_start(
    switch: &mut Switch,
    link: LinkId,
    request: &MonitorStart,
) -> Result<Message, SimError> {
    let object = &request.monitor_object;
    let device = match (&object.device_object, &object.call_object) {
        (Some(device), _) => device.number(),
        (None, Some(_)) => return Err(SimError::RequestIncompatibleWithObject),
        (None, None) => return Err(SimError::InvalidDevice),
    };
    let cross_ref = switch.monitor_start(link, device)?;
    Ok(MonitorStartResponse {
        monitor_cross_ref_id: cross_ref,
        actual_monitor_filter: None,
        monitor_existing_calls: None,
        extra: Extra::default(),
    }
    .into())
}

fn snapshot(switch: &Switch, request: &SnapshotDevice) -> Result<Message, SimError> {
    let device = request.snapshot_object.number();
    let calls = switch
        .snapshot(device)?
        .into_iter()
        .map(|(call, state)| SnapshotCall {
            connection_identifier: connection(call, device),
            endpoint_device: None,
            local_call_state: Some(LocalCallState {
                compound_call_state: Some(CompoundCallState {
                    local_connection_states: vec![state.csta()],
                    extra: Extra::default(),
                }),
                simple_call_state: None,
                extra: Extra::default(),
            }),
            extra: Extra::default(),
        })
        .collect();
    Ok(SnapshotDeviceResponse {
        cross_ref_id_or_snapshot_data: SnapshotResult {
            service_cross_ref_id: None,
            snapshot_data: Some(SnapshotData {
                calls,
                extra: Extra::default(),
            }),
            extra: Extra::default(),
        },
        extra: Extra::default(),
    }
    .into())
}

fn make_call(switch: &mut Switch, request: &MakeCall) -> Result<Message, SimError> {
    let calling = request.calling_device.number();
    let called = request.called_directory_number.raw();
    let call = switch.make_call(calling, called, EventCause::MakeCall)?;
    Ok(MakeCallResponse {
        calling_device: connection(call, calling),
        extra: Extra::default(),
    }
    .into())
}

fn consult(switch: &mut Switch, request: &ConsultationCall) -> Result<Message, SimError> {
    let (call, device) = connection_of(&request.existing_call)?;
    let consulted = request.consulted_device.raw();
    let initiated = switch.consult(call, device, consulted)?;
    Ok(ConsultationCallResponse {
        initiated_call: connection(initiated, device),
        extra: Extra::default(),
    }
    .into())
}

/// The held and the active call of a transfer or conference, both of the same device.
fn held_and_active<'a>(
    held: &'a ConnectionId,
    active: &ConnectionId,
) -> Result<(u64, u64, &'a str), SimError> {
    let (held_call, device) = connection_of(held)?;
    let (active_call, active_device) = connection_of(active)?;
    if device != active_device {
        return Err(SimError::InvalidConnection);
    }
    Ok((held_call, active_call, device))
}

fn transfer(switch: &mut Switch, request: &TransferCall) -> Result<Message, SimError> {
    let (held, active, device) = held_and_active(&request.held_call, &request.active_call)?;
    let (call, transferred_to) = switch.transfer(held, active, device)?;
    Ok(TransferCallResponse {
        transferred_call: connection(call, &transferred_to),
        extra: Extra::default(),
    }
    .into())
}

fn conference(switch: &mut Switch, request: &ConferenceCall) -> Result<Message, SimError> {
    let (held, active, device) = held_and_active(&request.held_call, &request.active_call)?;
    let call = switch.conference(held, active, device)?;
    Ok(ConferenceCallResponse {
        conferenced_call: connection(call, device),
        extra: Extra::default(),
    }
    .into())
}

fn single_step_transfer(
    switch: &mut Switch,
    request: &SingleStepTransferCall,
) -> Result<Message, SimError> {
    let (call, device) = connection_of(&request.active_call)?;
    let to = switch.single_step_transfer(call, device, request.transferred_to.raw())?;
    Ok(SingleStepTransferCallResponse {
        transferred_call: connection(call, &to),
        extra: Extra::default(),
    }
    .into())
}
