//! Strategies for every message type, one function per service family.

use csta::*;
use proptest::prelude::*;
use proptest::strategy::Union;

use crate::values::*;

/// A struct with the given field strategies and random unknown children.
macro_rules! message {
    ($ty:ident {}) => {
        extra().prop_map(|extra| Message::from($ty { extra })).boxed()
    };
    ($ty:ident { $($field:ident : $strategy:expr),* $(,)? }) => {
        (extra(), ($($strategy,)*))
            .prop_map(|(extra, ($($field,)*))| Message::from($ty { $($field,)* extra }))
            .boxed()
    };
}

/// A nested struct (no unknown children).
macro_rules! nested {
    ($ty:ident { $($field:ident : $strategy:expr),* $(,)? }) => {
        ($($strategy,)*)
            .prop_map(|($($field,)*)| $ty { $($field,)* extra: Extra::default() })
            .boxed()
    };
}

/// A call event: monitorCrossRefID, the given fields, the common extras and
/// callLinkageData.
macro_rules! event {
    ($ty:ident { $($field:ident : $strategy:expr),* $(,)? }) => {
        (
            (text(), opt(value(LocalConnectionState::KNOWN, LocalConnectionState::Other)),
             opt(value(EventCause::KNOWN, EventCause::Other)), opt(event_device()),
             opt(event_device()), opt(call_linkage()), extra()),
            ($($strategy,)*),
        )
            .prop_map(|((monitor_cross_ref_id, local_connection_info, cause,
                         network_calling_device, network_called_device, call_linkage_data,
                         extra), ($($field,)*))| {
                Message::from($ty {
                    monitor_cross_ref_id, $($field,)* local_connection_info, cause,
                    network_calling_device, network_called_device, call_linkage_data, extra,
                })
            })
            .boxed()
    };
}

/// A device feature event: an optional monitorCrossRefID, the given fields, and the
/// common extras.
macro_rules! feature_event {
    ($ty:ident { $($field:ident : $strategy:expr),* $(,)? }) => {
        (
            (opt(text()), opt(value(LocalConnectionState::KNOWN, LocalConnectionState::Other)),
             opt(value(EventCause::KNOWN, EventCause::Other)), opt(event_device()),
             opt(event_device()), extra()),
            ($($strategy,)*),
        )
            .prop_map(|((monitor_cross_ref_id, local_connection_info, cause,
                         network_calling_device, network_called_device, extra), ($($field,)*))| {
                Message::from($ty {
                    monitor_cross_ref_id, $($field,)* local_connection_info, cause,
                    network_calling_device, network_called_device, extra,
                })
            })
            .boxed()
    };
}

pub fn session_messages() -> Boxed<Message> {
    let error_code = || {
        opt(nested!(SessionErrorCode {
            defined_error: opt(text())
        }))
    };
    Union::new(vec![
        message!(StartApplicationSession {
            application_info: nested!(ApplicationInfo {
                application_id: text(),
                application_specific_info: opt(raw_xml()),
            }),
            requested_protocol_versions: opt(nested!(ProtocolVersions {
                versions: proptest::collection::vec(text(), 0..3),
            })),
            requested_session_duration: opt(any::<u32>().boxed()),
        }),
        message!(StartApplicationSessionPosResponse {
            session_id: text(),
            actual_protocol_version: opt(text()),
            actual_session_duration: opt(any::<u32>().boxed()),
        }),
        message!(StartApplicationSessionNegResponse {
            error_code: error_code()
        }),
        message!(ResetApplicationSessionTimer {
            session_id: text(),
            requested_session_duration: opt(any::<u32>().boxed()),
        }),
        message!(ResetApplicationSessionTimerPosResponse {
            actual_session_duration: opt(any::<u32>().boxed()),
        }),
        message!(ResetApplicationSessionTimerNegResponse {
            error_code: error_code()
        }),
        message!(StopApplicationSession {
            session_id: text(),
            session_end_reason: opt(nested!(SessionEndReason {
                app_end_reason: opt(text())
            })),
        }),
        message!(StopApplicationSessionPosResponse {}),
        message!(SystemStatus {
            system_status: value(SystemStatusValue::KNOWN, SystemStatusValue::Other),
        }),
        message!(SystemStatusResponse {}),
        message!(SystemRegister {
            request_types: opt(nested!(RequestTypes {
                system_status: opt(any::<bool>().boxed())
            })),
        }),
        message!(SystemRegisterResponse {
            sys_stat_register_id: text()
        }),
        message!(RequestSystemStatus {}),
        message!(RequestSystemStatusResponse {
            system_status: value(SystemStatusValue::KNOWN, SystemStatusValue::Other),
        }),
    ])
    .boxed()
}

pub fn monitoring_messages() -> Boxed<Message> {
    let snapshot_call = nested!(SnapshotCall {
        connection_identifier: connection(),
        endpoint_device: opt(event_device()),
        local_call_state: opt(nested!(LocalCallState {
            compound_call_state: opt(nested!(CompoundCallState {
                local_connection_states: proptest::collection::vec(
                    value(LocalConnectionState::KNOWN, LocalConnectionState::Other),
                    0..3
                ),
            })),
            simple_call_state: opt(text()),
        })),
    });
    Union::new(vec![
        message!(MonitorStart {
            monitor_object: nested!(MonitorObject {
                device_object: opt(device_id()),
                call_object: opt(connection()),
            }),
            requested_monitor_filter: opt(raw_xml()),
            monitor_type: opt(value(MonitorType::KNOWN, MonitorType::Other)),
        }),
        message!(MonitorStartResponse {
            monitor_cross_ref_id: text(),
            actual_monitor_filter: opt(raw_xml()),
            monitor_existing_calls: opt(any::<bool>().boxed()),
        }),
        message!(MonitorStop {
            monitor_cross_ref_id: text()
        }),
        message!(MonitorStopResponse {}),
        message!(SnapshotDevice {
            snapshot_object: device_id()
        }),
        message!(SnapshotDeviceResponse {
            cross_ref_id_or_snapshot_data: nested!(SnapshotResult {
                service_cross_ref_id: opt(text()),
                snapshot_data: opt(nested!(SnapshotData {
                    calls: proptest::collection::vec(snapshot_call, 0..3),
                })),
            }),
        }),
    ])
    .boxed()
}

pub fn call_control_messages() -> Boxed<Message> {
    Union::new(vec![
        message!(MakeCall {
            calling_device: device_id(),
            called_directory_number: device_id(),
            auto_originate: opt(value(AutoOriginate::KNOWN, AutoOriginate::Other)),
        }),
        message!(MakeCallResponse {
            calling_device: connection()
        }),
        message!(AnswerCall {
            call_to_be_answered: connection()
        }),
        message!(AnswerCallResponse {}),
        message!(ClearConnection {
            connection_to_be_cleared: connection(),
            reason: opt(text()),
        }),
        message!(ClearConnectionResponse {}),
        message!(ClearCall {
            call_to_be_cleared: connection()
        }),
        message!(ClearCallResponse {}),
        message!(HoldCall {
            call_to_be_held: connection()
        }),
        message!(HoldCallResponse {}),
        message!(RetrieveCall {
            call_to_be_retrieved: connection()
        }),
        message!(RetrieveCallResponse {}),
        message!(ConsultationCall {
            existing_call: connection(),
            consulted_device: device_id(),
        }),
        message!(ConsultationCallResponse {
            initiated_call: connection()
        }),
        message!(TransferCall {
            held_call: connection(),
            active_call: connection()
        }),
        message!(TransferCallResponse {
            transferred_call: connection()
        }),
        message!(ConferenceCall {
            held_call: connection(),
            active_call: connection()
        }),
        message!(ConferenceCallResponse {
            conferenced_call: connection()
        }),
        message!(SingleStepTransferCall {
            active_call: connection(),
            transferred_to: device_id(),
        }),
        message!(SingleStepTransferCallResponse {
            transferred_call: connection()
        }),
        message!(DeflectCall {
            call_to_be_diverted: connection(),
            new_destination: device_id(),
        }),
        message!(DeflectCallResponse {}),
        message!(GenerateDigits {
            connection_to_send_digits: connection(),
            characters_to_send: text(),
        }),
        message!(GenerateDigitsResponse {}),
        message!(SetDoNotDisturb {
            device: device_id(),
            do_not_disturb_on: any::<bool>(),
        }),
        message!(SetDoNotDisturbResponse {}),
        message!(SetForwarding {
            device: device_id(),
            forwarding_type: opt(value(ForwardingType::KNOWN, ForwardingType::Other)),
            activate_forward: any::<bool>(),
            forward_dn: opt(device_id()),
        }),
        message!(SetForwardingResponse {}),
        message!(GetForwarding {
            device: device_id()
        }),
        message!(GetForwardingResponse {
            forwarding_list: opt(nested!(ForwardingList {
                items: proptest::collection::vec(
                    nested!(ForwardListItem {
                        forwarding_type: opt(value(ForwardingType::KNOWN, ForwardingType::Other)),
                        forward_status: any::<bool>(),
                        forward_dn: opt(device_id()),
                        ring_count: opt(any::<u32>().boxed()),
                    }),
                    0..3
                ),
            })),
            ring_count: opt(any::<u32>().boxed()),
        }),
        (
            value(ErrorCategory::KNOWN, ErrorCategory::Other),
            text(),
            extra(),
        )
            .prop_map(|(category, value, extra)| {
                Message::from(CstaErrorCode {
                    category,
                    value,
                    extra,
                })
            })
            .boxed(),
        ("zz[A-Za-z]{1,10}", "[a-z0-9]{0,6}")
            .prop_map(|(name, body)| Message::Unknown {
                raw: format!("<{name} xmlns=\"urn:x\"><a>{body}</a></{name}>"),
                name,
            })
            .boxed(),
    ])
    .boxed()
}

pub fn event_messages() -> Boxed<Message> {
    let d = || opt(event_device());
    let connection_list = || {
        opt(nested!(ConnectionList {
            items: proptest::collection::vec(
                nested!(ConnectionListItem {
                    new_connection: opt(connection()),
                    old_connection: opt(connection()),
                    endpoint: opt(device_id()),
                }),
                0..3
            ),
        }))
    };
    Union::new(vec![
        event!(ServiceInitiatedEvent {
            initiated_connection: connection(),
            initiating_device: d()
        }),
        event!(OriginatedEvent {
            originated_connection: connection(),
            calling_device: d(),
            called_device: d(),
        }),
        event!(DeliveredEvent {
            connection: connection(),
            alerting_device: d(),
            calling_device: d(),
            called_device: d(),
            last_redirection_device: d(),
        }),
        event!(EstablishedEvent {
            established_connection: connection(),
            answering_device: d(),
            calling_device: d(),
            called_device: d(),
            last_redirection_device: d(),
        }),
        event!(HeldEvent {
            held_connection: connection(),
            holding_device: d()
        }),
        event!(RetrievedEvent {
            retrieved_connection: connection(),
            retrieving_device: d()
        }),
        event!(ConnectionClearedEvent {
            dropped_connection: connection(),
            releasing_device: d()
        }),
        event!(FailedEvent {
            failed_connection: connection(),
            failing_device: d(),
            calling_device: d(),
            called_device: d(),
        }),
        event!(DivertedEvent {
            connection: connection(),
            diverting_device: d(),
            new_destination: d(),
            calling_device: d(),
            called_device: d(),
            last_redirection_device: d(),
        }),
        event!(TransferredEvent {
            primary_old_call: connection(),
            secondary_old_call: opt(connection()),
            transferring_device: d(),
            transferred_to_device: d(),
            transferred_connections: connection_list(),
        }),
        event!(ConferencedEvent {
            primary_old_call: connection(),
            secondary_old_call: opt(connection()),
            conferencing_device: d(),
            added_party: d(),
            conference_connections: connection_list(),
        }),
        feature_event!(DoNotDisturbEvent {
            device: event_device(),
            do_not_disturb_on: any::<bool>()
        }),
        feature_event!(ForwardingEvent {
            device: event_device(),
            forwarding_type: opt(value(ForwardingType::KNOWN, ForwardingType::Other)),
            forward_status: any::<bool>(),
            forward_to: opt(device_id()),
            ring_count: opt(any::<u32>().boxed()),
        }),
        feature_event!(AgentLoggedOnEvent {
            agent_device: event_device(),
            agent_id: opt(text()),
            acd_group: opt(device_id())
        }),
        feature_event!(AgentLoggedOffEvent {
            agent_device: event_device(),
            agent_id: opt(text()),
            acd_group: opt(device_id())
        }),
        feature_event!(AgentReadyEvent {
            agent_device: event_device(),
            agent_id: opt(text()),
            acd_group: opt(device_id())
        }),
        feature_event!(AgentNotReadyEvent {
            agent_device: event_device(),
            agent_id: opt(text()),
            acd_group: opt(device_id())
        }),
        feature_event!(AgentWorkingAfterCallEvent {
            agent_device: event_device(),
            agent_id: opt(text()),
            acd_group: opt(device_id())
        }),
        feature_event!(AgentBusyEvent {
            agent_device: event_device(),
            agent_id: opt(text()),
            acd_group: opt(device_id()),
            pending_flag: opt(any::<bool>().boxed()),
        }),
        event!(QueuedEvent {
            queued_connection: connection(),
            queue: d(),
            calling_device: d(),
            called_device: d(),
            last_redirection_device: d(),
            number_queued: opt(any::<u32>().boxed()),
            calls_in_front: opt(any::<u32>().boxed()),
        }),
        event!(DigitsGeneratedEvent {
            connection: connection(),
            digit_generated_list: opt(text()),
            digit_duration_list: opt(text()),
            pause_duration_list: opt(text()),
        }),
        event!(NetworkReachedEvent {
            outbound_connection: connection(),
            network_interface_used: d(),
            calling_device: d(),
            called_device: d(),
            last_redirection_device: d(),
        }),
    ])
    .boxed()
}

pub fn routing_messages() -> Boxed<Message> {
    let error_value = (value(ErrorCategory::KNOWN, ErrorCategory::Other), text())
        .prop_map(|(category, value)| CstaErrorCode::new(category, value))
        .boxed();
    Union::new(vec![
        message!(RouteRegister {
            routeing_device: opt(device_id())
        }),
        message!(RouteRegisterResponse {
            route_register_req_id: text()
        }),
        message!(RouteRequest {
            route_register_req_id: opt(text()),
            routeing_cross_ref_id: text(),
            current_route: event_device(),
            calling_device: opt(event_device()),
            routed_call: opt(connection()),
            routed_sel_algorithm: opt(text()),
            priority: opt(any::<bool>().boxed()),
            reply_timeout: opt(any::<u32>().boxed()),
            correlator_data: opt(text()),
            call_linkage_data: opt(call_linkage()),
        }),
        message!(RouteSelect {
            route_register_req_id: opt(text()),
            routeing_cross_ref_id: text(),
            route_selected: device_id(),
            remain_retry: opt(raw_xml()),
            route_used_req: opt(any::<bool>().boxed()),
            correlator_data: opt(text()),
        }),
        message!(RouteUsed {
            route_register_req_id: opt(text()),
            routeing_cross_ref_id: text(),
            route_used: event_device(),
            calling_device: opt(event_device()),
            domain: opt(any::<bool>().boxed()),
            call_linkage_data: opt(call_linkage()),
        }),
        message!(RouteEnd {
            route_register_req_id: opt(text()),
            routeing_cross_ref_id: text(),
            error_value: opt(error_value),
        }),
    ])
    .boxed()
}
