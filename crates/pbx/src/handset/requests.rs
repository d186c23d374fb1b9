//! CSTA requests the handset serves (from an INVITE or INFO body): each answers a
//! response or a `CSTAErrorCode`, and may produce events for the monitor.
//!
//! ```text
//! <MonitorStart><monitorObject><deviceObject>201</deviceObject></monitorObject></MonitorStart>
//!   → <MonitorStartResponse><monitorCrossRefID>1</monitorCrossRefID>
//!       <monitorExistingCalls>true</monitorExistingCalls></MonitorStartResponse>
//! <AnswerCall><callToBeAnswered>…</callToBeAnswered></AnswerCall>   (nothing ringing)
//!   → <CSTAErrorCode><stateIncompatibility>noCallToAnswer</stateIncompatibility></CSTAErrorCode>
//! ```

use std::time::Instant;

use csta::{
    AnswerCallResponse, ClearCallResponse, ClearConnectionResponse, CompoundCallState,
    ConnectionId, ConsultationCallResponse, DeviceId, EventCause, ForwardingType,
    GenerateDigitsResponse, HoldCallResponse, LocalCallState, MakeCallResponse, Message,
    MonitorStartResponse, MonitorStopResponse, RequestSystemStatusResponse, RetrieveCallResponse,
    SetDoNotDisturbResponse, SetForwardingResponse, SnapshotCall, SnapshotData,
    SnapshotDeviceResponse, SnapshotResult, SystemStatusResponse, SystemStatusValue,
    TransferCallResponse,
};

use super::phone::{Phone, PhoneEvent};
use crate::sim::SimError;

/// The device monitor the controller holds on the phone (at most one).
#[derive(Debug, Default)]
pub(crate) struct Monitor {
    pub(crate) cross_ref: Option<String>,
    next: u64,
}

/// A served request: the response body and the events it caused.
pub(crate) struct Served {
    pub(crate) response: Message,
    pub(crate) events: Vec<PhoneEvent>,
}

/// Serves one CSTA request.
pub(crate) fn serve(
    phone: &mut Phone,
    monitor: &mut Monitor,
    request: Message,
    now: Instant,
) -> Served {
    match apply(phone, monitor, request, now) {
        Ok((response, events)) => Served { response, events },
        Err(error) => Served {
            response: error.csta().into(),
            events: Vec::new(),
        },
    }
}

type Outcome = Result<(Message, Vec<PhoneEvent>), SimError>;

fn apply(phone: &mut Phone, monitor: &mut Monitor, request: Message, now: Instant) -> Outcome {
    let extra = Default::default;
    let plain = |response: Message| Ok((response, Vec::new()));
    match request {
        Message::RequestSystemStatus(_) => plain(
            RequestSystemStatusResponse {
                system_status: SystemStatusValue::Normal,
                extra: extra(),
            }
            .into(),
        ),
        Message::SystemStatus(_) => plain(SystemStatusResponse { extra: extra() }.into()),
        Message::MonitorStart(start) => {
            if start.monitor_object.call_object.is_some() {
                return Err(SimError::RequestIncompatibleWithObject);
            }
            let device = start.monitor_object.device_object.as_ref();
            if !device.is_some_and(|device| is_me(phone, device)) {
                return Err(SimError::InvalidDevice);
            }
            monitor.next += 1;
            let cross_ref = monitor.next.to_string();
            monitor.cross_ref = Some(cross_ref.clone());
            plain(
                MonitorStartResponse {
                    monitor_cross_ref_id: cross_ref,
                    actual_monitor_filter: None,
                    monitor_existing_calls: Some(true),
                    extra: extra(),
                }
                .into(),
            )
        }
        Message::MonitorStop(stop) => {
            if monitor.cross_ref.as_deref() != Some(stop.monitor_cross_ref_id.as_str()) {
                return Err(SimError::InvalidCrossRef);
            }
            monitor.cross_ref = None;
            plain(MonitorStopResponse { extra: extra() }.into())
        }
        Message::SnapshotDevice(snapshot) => {
            if !is_me(phone, &snapshot.snapshot_object) {
                return Err(SimError::InvalidDevice);
            }
            plain(snapshot_response(phone).into())
        }
        Message::MakeCall(make) => {
            if !is_me(phone, &make.calling_device) {
                return Err(SimError::InvalidCallingDevice);
            }
            let to = make.called_directory_number.number();
            let (id, events) = phone.dial(to, EventCause::MakeCall, now)?;
            let calling_device = ConnectionId::new(id.to_string(), phone.number());
            let response = MakeCallResponse {
                calling_device,
                extra: extra(),
            };
            Ok((response.into(), events))
        }
        Message::AnswerCall(answer) => {
            let call = own_call(phone, &answer.call_to_be_answered)?;
            let events = phone.answer(call)?;
            Ok((AnswerCallResponse { extra: extra() }.into(), events))
        }
        Message::ClearConnection(clear) => {
            let call = own_call(phone, &clear.connection_to_be_cleared)?;
            let events = phone.clear(call)?;
            Ok((ClearConnectionResponse { extra: extra() }.into(), events))
        }
        Message::ClearCall(clear) => {
            let events = phone.clear(call_id(&clear.call_to_be_cleared)?)?;
            Ok((ClearCallResponse { extra: extra() }.into(), events))
        }
        Message::HoldCall(hold) => {
            let call = own_call(phone, &hold.call_to_be_held)?;
            let events = phone.hold(call, EventCause::Normal)?;
            Ok((HoldCallResponse { extra: extra() }.into(), events))
        }
        Message::RetrieveCall(retrieve) => {
            let call = own_call(phone, &retrieve.call_to_be_retrieved)?;
            let events = phone.retrieve(call)?;
            Ok((RetrieveCallResponse { extra: extra() }.into(), events))
        }
        Message::ConsultationCall(consult) => {
            let existing = own_call(phone, &consult.existing_call)?.ok_or(SimError::InvalidCall)?;
            let to = consult.consulted_device.number();
            let (id, events) = phone.consult(existing, to, now)?;
            let response = ConsultationCallResponse {
                initiated_call: ConnectionId::new(id.to_string(), phone.number()),
                extra: extra(),
            };
            Ok((response.into(), events))
        }
        Message::TransferCall(transfer) => {
            let held = own_call(phone, &transfer.held_call)?.ok_or(SimError::InvalidCall)?;
            let active = own_call(phone, &transfer.active_call)?.ok_or(SimError::InvalidCall)?;
            let (transferred_call, events) = phone.transfer(held, active)?;
            let response = TransferCallResponse {
                transferred_call,
                extra: extra(),
            };
            Ok((response.into(), events))
        }
        Message::GenerateDigits(digits) => {
            phone.check_connected(own_call(phone, &digits.connection_to_send_digits)?)?;
            plain(GenerateDigitsResponse { extra: extra() }.into())
        }
        Message::SetDoNotDisturb(dnd) => {
            if !is_me(phone, &dnd.device) {
                return Err(SimError::InvalidDevice);
            }
            let events = phone.set_do_not_disturb(dnd.do_not_disturb_on);
            Ok((SetDoNotDisturbResponse { extra: extra() }.into(), events))
        }
        Message::SetForwarding(forwarding) => {
            if !is_me(phone, &forwarding.device) {
                return Err(SimError::InvalidDevice);
            }
            let to = forwarding.forward_dn.as_ref().map(DeviceId::number);
            if forwarding.activate_forward && to.is_none() {
                return Err(SimError::InvalidForwardingDestination);
            }
            let kind = forwarding
                .forwarding_type
                .unwrap_or(ForwardingType::Immediate);
            let events = phone.set_forwarding(kind, forwarding.activate_forward, to);
            Ok((SetForwardingResponse { extra: extra() }.into(), events))
        }
        _ => Err(SimError::InvalidFeature),
    }
}

fn is_me(phone: &Phone, device: &DeviceId) -> bool {
    device.number() == phone.number()
}

/// The call of a connection that must be the phone's own (a missing device is taken as
/// the phone, as controllers often send only the call id).
fn own_call(phone: &Phone, connection: &ConnectionId) -> Result<Option<u64>, SimError> {
    if connection
        .device_id
        .as_ref()
        .is_some_and(|device| !is_me(phone, device))
    {
        return Err(SimError::InvalidConnection);
    }
    call_id(connection)
}

fn call_id(connection: &ConnectionId) -> Result<Option<u64>, SimError> {
    connection
        .call_id
        .as_deref()
        .map(|id| id.trim().parse().map_err(|_| SimError::InvalidCall))
        .transpose()
}

fn snapshot_response(phone: &Phone) -> SnapshotDeviceResponse {
    let calls = phone
        .connections()
        .into_iter()
        .map(|(connection_identifier, state)| SnapshotCall {
            connection_identifier,
            endpoint_device: None,
            local_call_state: Some(LocalCallState {
                compound_call_state: Some(CompoundCallState {
                    local_connection_states: vec![state],
                    extra: Default::default(),
                }),
                simple_call_state: None,
                extra: Default::default(),
            }),
            extra: Default::default(),
        })
        .collect();
    SnapshotDeviceResponse {
        cross_ref_id_or_snapshot_data: SnapshotResult {
            service_cross_ref_id: None,
            snapshot_data: Some(SnapshotData {
                calls,
                extra: Default::default(),
            }),
            extra: Default::default(),
        },
        extra: Default::default(),
    }
}
