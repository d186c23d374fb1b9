//! Real-world document shapes: every edition namespace, default namespace, prefixes, no
//! namespace, swapped child order, vendor private data, escaped identifiers, both
//! transfer spellings, error categories, and what the writer produces.

use csta::*;

const ED2: &str = "http://www.ecma.ch/standards/ecma-323/csta/ed2";
const ED3: &str = "http://www.ecma-international.org/standards/ecma-323/csta/ed3";
const ED4: &str = "http://www.ecma-international.org/standards/ecma-323/csta/ed4";
const ED5: &str = "http://www.ecma-international.org/standards/ecma-323/csta/ed5";

fn decoded(xml: &str) -> Message {
    match decode(xml.as_bytes()) {
        Ok(message) => message,
        Err(error) => panic!("{error} ({}) in {xml}", error.code()),
    }
}

fn monitor_start_device(message: &Message) -> &str {
    match message {
        Message::MonitorStart(start) => start
            .monitor_object
            .device_object
            .as_ref()
            .map(DeviceId::raw)
            .unwrap_or_default(),
        other => panic!("not a MonitorStart: {other:?}"),
    }
}

#[test]
fn every_namespace_style_decodes_to_the_same_message() {
    let body = "<monitorObject><deviceObject>201</deviceObject></monitorObject>";
    let documents = [
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><MonitorStart xmlns=\"{ED2}\">{body}</MonitorStart>"
        ),
        format!("<MonitorStart xmlns=\"{ED3}\">{body}</MonitorStart>"),
        format!("<MonitorStart xmlns=\"{ED4}\">{body}</MonitorStart>"),
        format!("<MonitorStart xmlns=\"{ED5}\">{body}</MonitorStart>"),
        format!(
            "<ns3:MonitorStart xmlns:ns3=\"{ED3}\"><ns3:monitorObject><ns3:deviceObject>201\
             </ns3:deviceObject></ns3:monitorObject></ns3:MonitorStart>"
        ),
        format!("<?xml version=\"1.0\"?>\n<MonitorStart>\n  {body}\n</MonitorStart>\n"),
        format!("\u{feff}<!-- capture --><MonitorStart>{body}</MonitorStart>"),
    ];
    let first = decoded(&documents[0]);
    assert_eq!(monitor_start_device(&first), "201");
    for document in &documents {
        assert_eq!(decoded(document), first, "{document}");
    }
    assert_eq!(detect_edition(documents[0].as_bytes()), Some(Edition::Ed2));
    assert_eq!(detect_edition(documents[4].as_bytes()), Some(Edition::Ed3));
    assert_eq!(detect_edition(documents[5].as_bytes()), None);
}

#[test]
fn connection_children_in_either_order() {
    let a = decoded(
        "<AnswerCall><callToBeAnswered><callID>12</callID><deviceID>201</deviceID>\
         </callToBeAnswered></AnswerCall>",
    );
    let b = decoded(
        "<AnswerCall><callToBeAnswered><deviceID>201</deviceID><callID>12</callID>\
         </callToBeAnswered></AnswerCall>",
    );
    assert_eq!(a, b);
    let Message::AnswerCall(answer) = a else {
        panic!()
    };
    assert_eq!(answer.call_to_be_answered, ConnectionId::new("12", "201"));
}

const OPENSCAPE_DELIVERED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DeliveredEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4" xmlns:scx="http://www.siemens.com/schema/csta">
  <monitorCrossRefID>1004</monitorCrossRefID>
  <connection><deviceID>N&lt;302118840101&gt;</deviceID><callID>FF000100000000002A7E4E5B2100</callID></connection>
  <alertingDevice><deviceIdentifier>N&lt;302118840101&gt;;displayNumber=Alice</deviceIdentifier></alertingDevice>
  <callingDevice><deviceIdentifier>N&lt;302118840100&gt;;noa=nk</deviceIdentifier></callingDevice>
  <calledDevice><deviceIdentifier typeOfNumber="dialingNumber">tel:+3222220220</deviceIdentifier></calledDevice>
  <lastRedirectionDevice><notRequired/></lastRedirectionDevice>
  <localConnectionInfo>alerting</localConnectionInfo>
  <cause>newCall</cause>
  <servicesPermitted><callControlServices><answerCall>true</answerCall></callControlServices></servicesPermitted>
  <networkCallingDevice><restricted/></networkCallingDevice>
  <extensions><privateData><private><scx:callingDeviceName>Bob &amp; Co</scx:callingDeviceName><scx:ringing>true</scx:ringing></private></privateData></extensions>
</DeliveredEvent>"#;

#[test]
fn openscape_delivered_event_with_private_data() {
    let Message::DeliveredEvent(event) = decoded(OPENSCAPE_DELIVERED) else {
        panic!()
    };
    assert_eq!(event.monitor_cross_ref_id, "1004");
    assert_eq!(
        event.connection.call_id.as_deref(),
        Some("FF000100000000002A7E4E5B2100")
    );
    let device = event.connection.device_id.as_ref().unwrap();
    assert_eq!(
        (device.raw(), device.number()),
        ("N<302118840101>", "302118840101")
    );
    let calling = event
        .calling_device
        .as_ref()
        .and_then(EventDevice::device_id)
        .unwrap();
    assert_eq!(calling.raw(), "N<302118840100>;noa=nk");
    assert_eq!(calling.number(), "302118840100");
    let alerting = event
        .alerting_device
        .as_ref()
        .and_then(EventDevice::device_id)
        .unwrap();
    assert_eq!(alerting.number(), "302118840101");
    let called = event
        .called_device
        .as_ref()
        .and_then(EventDevice::device_id)
        .unwrap();
    assert_eq!(
        (called.number(), called.type_of_number()),
        ("+3222220220", Some("dialingNumber"))
    );
    assert_eq!(
        event.last_redirection_device,
        Some(EventDevice::NotRequired)
    );
    assert_eq!(event.network_calling_device, Some(EventDevice::Restricted));
    assert_eq!(
        event.local_connection_info,
        Some(values::LocalConnectionState::Alerting)
    );
    assert_eq!(event.cause, Some(values::EventCause::NewCall));
    assert_eq!(event.extra.unknown.len(), 1);
    assert!(event.extra.unknown[0].starts_with("<servicesPermitted>"));
    assert_eq!(
        event.extra.extensions.as_deref(),
        Some(
            "<extensions><privateData><private><scx:callingDeviceName>Bob &amp; Co\
             </scx:callingDeviceName><scx:ringing>true</scx:ringing></private></privateData>\
             </extensions>"
        )
    );
    // Re-encoding keeps the private data verbatim, and decodes to the same event.
    let again = encode(&Message::DeliveredEvent(event.clone()), Edition::Ed4);
    assert!(again.contains("<scx:callingDeviceName>Bob &amp; Co</scx:callingDeviceName>"));
    assert!(again.contains("<deviceIdentifier>N&lt;302118840100&gt;;noa=nk</deviceIdentifier>"));
    assert_eq!(decoded(&again), Message::DeliveredEvent(event));
}

#[test]
fn both_transfer_spellings() {
    let body = "<monitorCrossRefID>7</monitorCrossRefID>\
        <primaryOldCall><callID>1</callID><deviceID>201</deviceID></primaryOldCall>\
        <secondaryOldCall><callID>2</callID><deviceID>201</deviceID></secondaryOldCall>\
        <transferringDevice><deviceIdentifier>201</deviceIdentifier></transferringDevice>\
        <transferredToDevice><deviceIdentifier>203</deviceIdentifier></transferredToDevice>\
        <transferredConnections><connectionListItem>\
          <newConnection><callID>2</callID><deviceID>202</deviceID></newConnection>\
          <oldConnection><callID>1</callID><deviceID>202</deviceID></oldConnection>\
        </connectionListItem></transferredConnections>\
        <cause>transfer</cause>";
    let one_r = decoded(&format!(
        "<TransferedEvent xmlns=\"{ED3}\">{body}</TransferedEvent>"
    ));
    let two_r = decoded(&format!("<TransferredEvent>{body}</TransferredEvent>"));
    assert_eq!(one_r, two_r);
    assert_eq!(one_r.name(), "TransferedEvent");
    assert_eq!(one_r.kind(), MessageKind::Event);
    let Message::TransferredEvent(event) = &one_r else {
        panic!()
    };
    let item = &event.transferred_connections.as_ref().unwrap().items[0];
    assert_eq!(item.new_connection, Some(ConnectionId::new("2", "202")));
    assert!(encode(&one_r, Edition::Ed3).contains("<TransferedEvent xmlns="));
}

#[test]
fn csta_error_categories() {
    for (xml, category, value) in [
        (
            "<CSTAErrorCode xmlns=\"http://www.ecma-international.org/standards/ecma-323/csta/ed3\"><operation>invalidDeviceID</operation></CSTAErrorCode>",
            ErrorCategory::Operation,
            "invalidDeviceID",
        ),
        (
            "<CSTAErrorCode><stateIncompatibility>noCallToAnswer</stateIncompatibility></CSTAErrorCode>",
            ErrorCategory::StateIncompatibility,
            "noCallToAnswer",
        ),
        (
            "<CSTAErrorCode><systemResourceAvailibility>resourceBusy</systemResourceAvailibility></CSTAErrorCode>",
            ErrorCategory::SystemResourceAvailability,
            "resourceBusy",
        ),
        (
            "<CSTAErrorCode><systemResourceAvailability>resourceBusy</systemResourceAvailability></CSTAErrorCode>",
            ErrorCategory::SystemResourceAvailability,
            "resourceBusy",
        ),
        (
            "<ns1:CSTAErrorCode xmlns:ns1=\"x\"><ns1:privateErrorCode>URM Denied</ns1:privateErrorCode></ns1:CSTAErrorCode>",
            ErrorCategory::PrivateErrorCode,
            "URM Denied",
        ),
        (
            "<CSTAErrorCode><vendorTrouble>x</vendorTrouble></CSTAErrorCode>",
            ErrorCategory::Other("vendorTrouble".into()),
            "x",
        ),
    ] {
        let message = decoded(xml);
        assert_eq!(message.kind(), MessageKind::Error);
        assert_eq!(
            message,
            Message::CstaErrorCode(CstaErrorCode::new(category, value)),
            "{xml}"
        );
    }
    let written = encode(
        &CstaErrorCode::new(ErrorCategory::SystemResourceAvailability, "resourceBusy").into(),
        Edition::Ed3,
    );
    assert!(
        written.contains("<systemResourceAvailibility>resourceBusy</systemResourceAvailibility>")
    );
    let empty = decode(b"<CSTAErrorCode></CSTAErrorCode>").unwrap_err();
    assert_eq!(empty.code(), "csta_missing_element");
}

#[test]
fn snom_ed5_monitor_start_response() {
    let xml = format!(
        "<MonitorStartResponse xmlns=\"{ED5}\"><monitorCrossRefID>43</monitorCrossRefID>\
         <monitorExistingCalls>true</monitorExistingCalls></MonitorStartResponse>"
    );
    assert_eq!(detect_edition(xml.as_bytes()), Some(Edition::Ed5));
    let Message::MonitorStartResponse(response) = decoded(&xml) else {
        panic!()
    };
    assert_eq!(response.monitor_cross_ref_id, "43");
    assert_eq!(response.monitor_existing_calls, Some(true));
}

#[test]
fn snapshot_device_response_lists_calls_with_states() {
    let xml = "<SnapshotDeviceResponse><crossRefIDorSnapshotData><snapshotData>\
        <snapshotDeviceResponseInfo>\
          <connectionIdentifier><callID>12</callID><deviceID>201</deviceID></connectionIdentifier>\
          <localCallState><compoundCallState><localConnectionState>connected</localConnectionState></compoundCallState></localCallState>\
        </snapshotDeviceResponseInfo>\
        <snapshotDeviceResponseInfo>\
          <connectionIdentifier><deviceID>201</deviceID><callID>13</callID></connectionIdentifier>\
          <localCallState><compoundCallState><localConnectionState>hold</localConnectionState></compoundCallState></localCallState>\
        </snapshotDeviceResponseInfo>\
        </snapshotData></crossRefIDorSnapshotData></SnapshotDeviceResponse>";
    let Message::SnapshotDeviceResponse(response) = decoded(xml) else {
        panic!()
    };
    let calls: Vec<_> = response
        .calls()
        .iter()
        .map(|call| {
            (
                call.connection_identifier.call_id.clone().unwrap(),
                call.state().cloned(),
            )
        })
        .collect();
    assert_eq!(
        calls,
        vec![
            (
                "12".to_string(),
                Some(values::LocalConnectionState::Connected)
            ),
            ("13".to_string(), Some(values::LocalConnectionState::Hold)),
        ]
    );
}

#[test]
fn session_start_with_vendor_login() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<StartApplicationSession xmlns="http://www.ecma-international.org/standards/ecma-354/appl_session">
  <applicationInfo>
    <applicationID>ucplus</applicationID>
    <applicationSpecificInfo><ns1:SessionLoginInfo xmlns:ns1="http://www.avaya.com/csta"><ns1:userName>cti</ns1:userName><ns1:password>s&amp;cret</ns1:password></ns1:SessionLoginInfo></applicationSpecificInfo>
  </applicationInfo>
  <requestedProtocolVersions><protocolVersion>http://www.ecma-international.org/standards/ecma-323/csta/ed3</protocolVersion></requestedProtocolVersions>
  <requestedSessionDuration>180</requestedSessionDuration>
</StartApplicationSession>"#;
    let message = decoded(xml);
    let Message::StartApplicationSession(start) = &message else {
        panic!()
    };
    assert_eq!(start.application_info.application_id, "ucplus");
    assert_eq!(
        start.application_info.application_specific_info,
        Some(RawXml(
            "<ns1:SessionLoginInfo xmlns:ns1=\"http://www.avaya.com/csta\"><ns1:userName>cti\
             </ns1:userName><ns1:password>s&amp;cret</ns1:password></ns1:SessionLoginInfo>"
                .into()
        ))
    );
    assert_eq!(start.requested_session_duration, Some(180));
    assert_eq!(
        start.requested_protocol_versions.as_ref().unwrap().versions,
        vec![ED3.to_string()]
    );
    let written = encode(&message, Edition::Ed3);
    assert!(written.starts_with(&format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><StartApplicationSession xmlns=\"{SESSION_NAMESPACE}\">"
    )));
    assert_eq!(decoded(&written), message);
}

#[test]
fn openscape_system_status_handshake() {
    let Message::SystemStatus(status) = decoded(
        "<SystemStatus xmlns=\"http://www.ecma-international.org/standards/ecma-323/csta/ed3\"><systemStatus>normal</systemStatus></SystemStatus>",
    ) else {
        panic!()
    };
    assert_eq!(status.system_status, values::SystemStatusValue::Normal);
    let register = decoded(
        "<SystemRegister><requestTypes><systemStatus>true</systemStatus></requestTypes></SystemRegister>",
    );
    let Message::SystemRegister(register) = register else {
        panic!()
    };
    assert_eq!(register.request_types.unwrap().system_status, Some(true));
}

#[test]
fn writer_output_is_exact() {
    let make_call = MakeCall {
        calling_device: DeviceId::new("201"),
        called_directory_number: DeviceId::new("N<0049 89 & co>"),
        auto_originate: Some(values::AutoOriginate::DoNotPrompt),
        extra: Extra::default(),
    };
    assert_eq!(
        encode(&make_call.into(), Edition::Ed3),
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><MakeCall xmlns=\"{ED3}\">\
             <callingDevice>201</callingDevice>\
             <calledDirectoryNumber>N&lt;0049 89 &amp; co&gt;</calledDirectoryNumber>\
             <autoOriginate>doNotPrompt</autoOriginate></MakeCall>"
        )
    );
    let clear = ClearConnection {
        connection_to_be_cleared: ConnectionId::new("12", "201"),
        reason: None,
        extra: Extra::default(),
    };
    assert_eq!(
        encode(&clear.into(), Edition::Ed2),
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ClearConnection xmlns=\"{ED2}\">\
             <connectionToBeCleared><callID>12</callID><deviceID>201</deviceID>\
             </connectionToBeCleared></ClearConnection>"
        )
    );
}

#[test]
fn unknown_roots_and_values_are_kept() {
    let xml =
        "<?xml version=\"1.0\"?><CallInformationEvent xmlns=\"x\"><a>1</a></CallInformationEvent>";
    let message = decoded(xml);
    assert_eq!(
        message,
        Message::Unknown {
            name: "CallInformationEvent".into(),
            raw: "<CallInformationEvent xmlns=\"x\"><a>1</a></CallInformationEvent>".into()
        }
    );
    assert_eq!(message.kind(), MessageKind::Unknown);
    assert_eq!(decoded(&encode(&message, Edition::Ed3)), message);
    let Message::HeldEvent(held) = decoded(
        "<HeldEvent><monitorCrossRefID>1</monitorCrossRefID>\
         <heldConnection><callID>1</callID><deviceID>2</deviceID></heldConnection>\
         <localConnectionInfo>vendorHold</localConnectionInfo><cause>privateCause</cause></HeldEvent>",
    ) else {
        panic!()
    };
    assert_eq!(
        held.local_connection_info,
        Some(values::LocalConnectionState::Other("vendorHold".into()))
    );
    assert_eq!(
        held.cause,
        Some(values::EventCause::Other("privateCause".into()))
    );
}

#[test]
fn clear_errors_for_unusable_documents() {
    for (bytes, code) in [
        (&b""[..], "csta_empty_document"),
        (b"<?xml version=\"1.0\"?>", "csta_empty_document"),
        (b"<A>\xff</A>", "csta_invalid_utf8"),
        // FF FE is the UTF-16LE BOM: "<A/>" read as UTF-16 is two CJK characters.
        (b"\xff\xfe<A/>", "csta_malformed_xml"),
        (b"hello", "csta_malformed_xml"),
        (b"<MakeCall><callingDevice>201</calledDirectoryNumber></MakeCall>", "csta_malformed_xml"),
        (b"<MakeCall><callingDevice>201</callingDevice>", "csta_truncated_xml"),
        (b"<MakeCall><callingDevice>201</callingDevice></MakeCall>", "csta_missing_element"),
        (b"<SetDoNotDisturb><device>1</device><doNotDisturbOn>maybe</doNotDisturbOn></SetDoNotDisturb>", "csta_invalid_value"),
        (b"<MonitorStop><monitorCrossRefID>&nbsp;</monitorCrossRefID></MonitorStop>", "csta_unknown_entity"),
        (b"<SystemStatusResponse/><SystemStatusResponse/>", "csta_trailing_content"),
    ] {
        let error = decode(bytes).unwrap_err();
        assert_eq!(error.code(), code, "{} -> {error}", String::from_utf8_lossy(bytes));
    }
    let missing = decode(b"<MakeCall><callingDevice>201</callingDevice></MakeCall>").unwrap_err();
    assert_eq!(
        missing.to_string(),
        "<MakeCall> lacks its required <calledDirectoryNumber>"
    );
}

#[test]
fn character_references_and_cdata_in_text() {
    let Message::GenerateDigits(digits) = decoded(
        "<GenerateDigits><connectionToSendDigits><callID>1</callID><deviceID>&#50;01</deviceID>\
         </connectionToSendDigits><charactersToSend><![CDATA[12*]]>&#x23;</charactersToSend></GenerateDigits>",
    ) else {
        panic!()
    };
    assert_eq!(digits.characters_to_send, "12*#");
    assert_eq!(
        digits.connection_to_send_digits,
        ConnectionId::new("1", "201")
    );
}
