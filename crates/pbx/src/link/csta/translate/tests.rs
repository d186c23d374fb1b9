use csta::{ConnectionList, ConnectionListItem, DeliveredEvent, EventDevice, Message};
use ucplus_core::cti::{CallEventKind, LinkEvent, LocalState};

use super::*;

fn decode(xml: &str) -> Message {
    csta::decode_str(xml).expect("valid CSTA")
}

fn call(event: Option<LinkEvent>) -> ucplus_core::cti::CallEvent {
    match event {
        Some(LinkEvent::Call(call)) => call,
        other => panic!("not a call event: {other:?}"),
    }
}

#[test]
fn delivered_rings_here_or_there() {
    let xml = r#"<DeliveredEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><monitorCrossRefID>1</monitorCrossRefID><connection><callID>7</callID><deviceID>202</deviceID></connection><alertingDevice><deviceIdentifier>202</deviceIdentifier></alertingDevice><callingDevice><deviceIdentifier>N&lt;201&gt;;noa=nk</deviceIdentifier></callingDevice><calledDevice><deviceIdentifier>202</deviceIdentifier></calledDevice><localConnectionInfo>alerting</localConnectionInfo><cause>newCall</cause><extensions><privateData><private><ucplusSentAt>123456</ucplusSentAt></private></privateData></extensions></DeliveredEvent>"#;
    let at_callee = call(link_event("202", &decode(xml)));
    assert_eq!(
        (at_callee.kind, at_callee.local),
        (CallEventKind::Delivered, LocalState::Alerting)
    );
    assert_eq!(at_callee.other.as_deref(), Some("201"));
    assert_eq!(at_callee.sent_at_ns, Some(123_456));
    assert_eq!(at_callee.cause.as_deref(), Some("newCall"));
    // The caller's monitor gets the same event shape without localConnectionInfo.
    let without_local = xml.replace("<localConnectionInfo>alerting</localConnectionInfo>", "");
    let at_caller = call(link_event("201", &decode(&without_local)));
    assert_eq!(at_caller.local, LocalState::Connected);
    assert_eq!(at_caller.other.as_deref(), Some("202"));
}

#[test]
fn a_transfer_names_the_new_call_the_merged_ones_and_the_new_far_party() {
    let event = csta::TransferredEvent {
        monitor_cross_ref_id: "1".into(),
        primary_old_call: csta::ConnectionId::new("1", "300"),
        secondary_old_call: Some(csta::ConnectionId::new("2", "300")),
        transferring_device: Some(EventDevice::known("300")),
        transferred_to_device: Some(EventDevice::known("400")),
        transferred_connections: Some(ConnectionList {
            items: vec![
                ConnectionListItem {
                    new_connection: Some(csta::ConnectionId::new("9", "201")),
                    old_connection: None,
                    endpoint: None,
                    extra: Default::default(),
                },
                ConnectionListItem {
                    new_connection: Some(csta::ConnectionId::new("9", "400")),
                    old_connection: None,
                    endpoint: None,
                    extra: Default::default(),
                },
            ],
            extra: Default::default(),
        }),
        local_connection_info: None,
        cause: None,
        network_calling_device: None,
        network_called_device: None,
        call_linkage_data: None,
        extra: Default::default(),
    };
    let message: Message = event.into();
    let remaining = call(link_event("201", &message));
    assert_eq!(remaining.call_id, "9");
    assert_eq!(remaining.merged_from, ["1", "2"]);
    assert_eq!(remaining.other.as_deref(), Some("400"));
    assert_eq!(remaining.local, LocalState::Connected);
    let transferring = call(link_event("300", &message));
    assert_eq!(transferring.local, LocalState::Null);
    assert_eq!(transferring.other.as_deref(), Some("400"));
}

#[test]
fn requests_and_answers_translate() {
    let message = request_message(&ucplus_core::cti::PbxRequest::MakeCall {
        device: "201".into(),
        to: "202".into(),
    });
    let xml = csta::encode(&message, csta::Edition::Ed3);
    assert!(
        xml.contains("<callingDevice>201</callingDevice>")
            && xml.contains("<calledDirectoryNumber>202</calledDirectoryNumber>"),
        "{xml}"
    );
    let answer = decode(
        r#"<MakeCallResponse xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed5"><callingDevice><callID>77</callID><deviceID>201</deviceID></callingDevice></MakeCallResponse>"#,
    );
    assert_eq!(response(&answer).unwrap().call_id.as_deref(), Some("77"));
    let refused = decode(
        "<CSTAErrorCode><stateIncompatibility>noCallToAnswer</stateIncompatibility></CSTAErrorCode>",
    );
    assert_eq!(
        response(&refused).unwrap_err(),
        PbxError::Rejected("stateIncompatibility noCallToAnswer".into())
    );
}

#[test]
fn events_without_a_call_id_or_of_no_interest_are_dropped() {
    let delivered: Message = DeliveredEvent {
        monitor_cross_ref_id: "1".into(),
        connection: csta::ConnectionId {
            call_id: None,
            device_id: None,
            extra: Default::default(),
        },
        alerting_device: None,
        calling_device: None,
        called_device: None,
        last_redirection_device: None,
        local_connection_info: None,
        cause: None,
        network_calling_device: None,
        network_called_device: None,
        call_linkage_data: None,
        extra: Default::default(),
    }
    .into();
    assert!(link_event("201", &delivered).is_none());
    let agent = decode(
        "<AgentReadyEvent><monitorCrossRefID>1</monitorCrossRefID><agentDevice><deviceIdentifier>201</deviceIdentifier></agentDevice></AgentReadyEvent>",
    );
    assert!(link_event("201", &agent).is_none());
}
