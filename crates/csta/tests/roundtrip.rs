//! Property tests: decode(encode(m)) == m for every message type in every edition, and
//! arbitrary input never panics the decoders. One file (a little over 600 lines): the
//! strategies (generators) for every message type and the properties over them belong
//! together.

use csta::*;
use proptest::prelude::*;
use proptest::strategy::Union;

type Boxed<T> = BoxedStrategy<T>;

/// Text with markup characters and non-ASCII, no whitespace at either end (the reader
/// trims values, as switches pad them).
fn text() -> Boxed<String> {
    "[A-Za-z0-9+*#<>&;:@'\"é]([A-Za-z0-9 +*#<>&;:@'\"é\t\n\r]{0,10}[A-Za-z0-9<>&é])?".boxed()
}

fn device_id() -> Boxed<DeviceId> {
    let raw = prop_oneof![
        text(),
        "[0-9]{3,12}".prop_map(|n| format!("N<{n}>;noa=nk")),
        "[0-9]{3,12}".prop_map(|n| format!("tel:+{n}")),
        "[0-9]{3}".prop_map(|n| format!("sip:{n}@pbx.example")),
    ];
    (raw, proptest::option::of("[a-zA-Z]{1,12}"))
        .prop_map(|(raw, type_of_number)| match type_of_number {
            Some(t) => DeviceId::new(raw).with_type_of_number(t),
            None => DeviceId::new(raw),
        })
        .boxed()
}

fn event_device() -> Boxed<EventDevice> {
    prop_oneof![
        4 => device_id().prop_map(EventDevice::Known),
        1 => Just(EventDevice::NotKnown),
        1 => Just(EventDevice::Restricted),
        1 => Just(EventDevice::NotRequired),
    ]
    .boxed()
}

fn connection() -> Boxed<ConnectionId> {
    (
        proptest::option::of(text()),
        proptest::option::of(device_id()),
    )
        .prop_map(|(call_id, device_id)| ConnectionId {
            call_id,
            device_id,
            extra: Extra::default(),
        })
        .boxed()
}

/// A known value or an unknown one (never spelled like a known one).
fn value<T: Clone + std::fmt::Debug + 'static>(
    known: &'static [T],
    other: fn(String) -> T,
) -> Boxed<T> {
    prop_oneof![
        3 => proptest::sample::select(known),
        1 => "zz[a-zA-Z]{1,8}".prop_map(other),
    ]
    .boxed()
}

fn raw_element() -> Boxed<String> {
    prop_oneof![
        "[a-z0-9]{0,6}".prop_map(|t| format!("<zzVendor>{t}</zzVendor>")),
        Just("<zz:flag xmlns:zz=\"urn:zz\" on=\"1\"/>".to_string()),
        "[a-z0-9]{0,6}".prop_map(|t| format!("<zzList><item>{t}</item><item/></zzList>")),
    ]
    .boxed()
}

fn extra() -> Boxed<Extra> {
    let extensions = "[a-z0-9]{0,6}".prop_map(|t| {
        format!("<extensions><privateData><private><scx:a xmlns:scx=\"urn:s\">{t}</scx:a></private></privateData></extensions>")
    });
    (
        proptest::option::of(extensions),
        proptest::collection::vec(raw_element(), 0..3),
    )
        .prop_map(|(extensions, unknown)| Extra {
            extensions,
            unknown,
        })
        .boxed()
}

fn raw_xml() -> Boxed<RawXml> {
    prop_oneof![
        "[a-z0-9]{0,6}".prop_map(RawXml),
        raw_element().prop_map(RawXml),
    ]
    .boxed()
}

fn opt<T: std::fmt::Debug + 'static>(strategy: Boxed<T>) -> Boxed<Option<T>> {
    proptest::option::of(strategy).boxed()
}

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

/// An event: monitorCrossRefID, the given fields, and the common extras.
macro_rules! event {
    ($ty:ident { $($field:ident : $strategy:expr),* $(,)? }) => {
        (
            (text(), opt(value(LocalConnectionState::KNOWN, LocalConnectionState::Other)),
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

fn session_messages() -> Boxed<Message> {
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

fn monitoring_messages() -> Boxed<Message> {
    let snapshot_call = nested!(SnapshotCall {
        connection_identifier: connection(),
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

fn call_control_messages() -> Boxed<Message> {
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

fn event_messages() -> Boxed<Message> {
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
        event!(DoNotDisturbEvent {
            device: event_device(),
            do_not_disturb_on: any::<bool>()
        }),
        event!(ForwardingEvent {
            device: event_device(),
            forwarding_type: opt(value(ForwardingType::KNOWN, ForwardingType::Other)),
            forward_status: any::<bool>(),
            forward_to: opt(device_id()),
        }),
        event!(AgentLoggedOnEvent {
            agent_device: event_device(),
            agent_id: opt(text()),
            acd_group: opt(device_id())
        }),
        event!(AgentLoggedOffEvent {
            agent_device: event_device(),
            agent_id: opt(text()),
            acd_group: opt(device_id())
        }),
        event!(AgentReadyEvent {
            agent_device: event_device(),
            agent_id: opt(text()),
            acd_group: opt(device_id())
        }),
        event!(AgentNotReadyEvent {
            agent_device: event_device(),
            agent_id: opt(text()),
            acd_group: opt(device_id())
        }),
    ])
    .boxed()
}

fn assert_round_trips(message: &Message) -> Result<(), TestCaseError> {
    for edition in Edition::ALL {
        let xml = encode(message, edition);
        let decoded =
            decode(xml.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}: {xml}")))?;
        prop_assert_eq!(&decoded, message, "{}", xml);
    }
    Ok(())
}

/// Random well-formed documents built from CSTA element names, so that decoding gets far
/// (unexpected nesting, duplicates, missing children, text where elements belong).
fn csta_shaped_xml() -> Boxed<String> {
    const NAMES: &[&str] = &[
        "DeliveredEvent",
        "MakeCall",
        "CSTAErrorCode",
        "SnapshotDeviceResponse",
        "HeldEvent",
        "TransferedEvent",
        "StartApplicationSession",
        "monitorCrossRefID",
        "connection",
        "callID",
        "deviceID",
        "callingDevice",
        "calledDirectoryNumber",
        "deviceIdentifier",
        "notKnown",
        "restricted",
        "extensions",
        "privateData",
        "operation",
        "cause",
        "localConnectionInfo",
        "heldConnection",
        "crossRefIDorSnapshotData",
        "snapshotData",
        "snapshotDeviceResponseInfo",
        "connectionIdentifier",
        "applicationInfo",
        "applicationID",
        "applicationSpecificInfo",
        "ns1:callID",
        "zz",
    ];
    let leaf = prop_oneof![
        "[a-z0-9 ]{0,6}".prop_map(|t| t.to_string()),
        Just("&lt;1&gt;".to_string()),
        Just("&#x41;&amp;".to_string()),
        Just("<![CDATA[<x>]]>".to_string()),
    ];
    let element = leaf.prop_recursive(4, 48, 6, |inner| {
        (
            proptest::sample::select(NAMES),
            proptest::option::of("[a-z]{1,4}"),
            proptest::collection::vec(inner, 0..6),
        )
            .prop_map(|(name, attribute, children)| {
                let attribute = attribute
                    .map(|value| format!(" typeOfNumber=\"{value}\""))
                    .unwrap_or_default();
                format!("<{name}{attribute}>{}</{name}>", children.concat())
            })
    });
    (
        proptest::sample::select(&NAMES[..7]),
        proptest::collection::vec(element, 0..8),
    )
        .prop_map(|(root, children)| {
            format!("<{root} xmlns:ns1=\"urn:x\">{}</{root}>", children.concat())
        })
        .boxed()
}

/// Whatever decodes encodes to a fixed point: encode(decode(encode(m))) == encode(m).
fn assert_encoding_is_stable(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(message) = decode(bytes) {
        let once = encode(&message, Edition::Ed3);
        let twice = decode(once.as_bytes()).map(|m| encode(&m, Edition::Ed3));
        prop_assert_eq!(twice.as_deref(), Ok(once.as_str()));
    }
    Ok(())
}

/// Starts of documents that select another way of reading the bytes than plain UTF-8.
const ENCODED_PREFIXES: &[&[u8]] = &[
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfe\xff",
    b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
    b"<?xml version='1.0' encoding='windows-1252'?><DeliveredEvent>",
    b"<?xml version=\"1.0\" encoding=\"UTF-16\"?>",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn session_and_system_messages_round_trip(message in session_messages()) {
        assert_round_trips(&message)?;
    }

    #[test]
    fn monitoring_messages_round_trip(message in monitoring_messages()) {
        assert_round_trips(&message)?;
    }

    #[test]
    fn call_control_features_and_errors_round_trip(message in call_control_messages()) {
        assert_round_trips(&message)?;
    }

    #[test]
    fn events_round_trip(message in event_messages()) {
        assert_round_trips(&message)?;
        // Re-encoding is stable: encode(decode(encode(m))) == encode(m).
        let xml = encode(&message, Edition::Ed3);
        let again = decode(xml.as_bytes()).map(|m| encode(&m, Edition::Ed3));
        prop_assert_eq!(again, Ok(xml));
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        assert_encoding_is_stable(&bytes)?;
        let _ = detect_edition(&bytes);
        let items: Vec<_> = decode_stream(&bytes).take(2048).collect();
        prop_assert!(items.len() <= bytes.len() + 1);
    }

    #[test]
    fn arbitrary_bytes_behind_a_bom_or_a_declared_encoding_never_panic(
        prefix in proptest::sample::select(ENCODED_PREFIXES),
        bytes in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        let mut document = prefix.to_vec();
        document.extend_from_slice(&bytes);
        assert_encoding_is_stable(&document)?;
        let _ = detect_edition(&document);
        let items: Vec<_> = decode_stream(&document).take(2048).collect();
        prop_assert!(items.len() <= document.len() + 1);
    }

    #[test]
    fn csta_shaped_documents_decode_or_fail_cleanly(xml in csta_shaped_xml()) {
        assert_encoding_is_stable(xml.as_bytes())?;
    }

    #[test]
    fn mutated_documents_never_panic_the_decoder(
        message in event_messages(),
        cut in any::<proptest::sample::Index>(),
        flip in any::<proptest::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut xml = encode(&message, Edition::Ed4).into_bytes();
        let at = flip.index(xml.len());
        xml[at] = byte;
        assert_encoding_is_stable(&xml)?;
        xml.truncate(cut.index(xml.len()));
        assert_encoding_is_stable(&xml)?;
        let _ = decode_stream(&xml).count();
    }
}
