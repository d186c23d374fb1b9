//! Negative answers: the CSTA error category and value for each invalid request, under
//! the request's invoke id, with the link staying up; only a broken frame closes it.

use std::time::Duration;

use crate::client::*;

fn make_call(from: &str, to: &str) -> String {
    format!(
        "<MakeCall><callingDevice>{from}</callingDevice>\
         <calledDirectoryNumber>{to}</calledDirectoryNumber></MakeCall>"
    )
}

fn on(request: &str, tag: &str, call: &str, device: &str) -> String {
    format!(
        "<{request}>{}</{request}>",
        connection_xml(tag, call, device)
    )
}

async fn expect(client: &mut Client, request: &str, expected: &str) {
    let answer = client.request(xml(request)).await;
    assert_eq!(error_of(&answer), expected, "{request}");
}

#[tokio::test]
async fn monitor_errors() {
    let simulator = start(config()).await;
    let mut client = Client::connect(simulator.local_addr()).await;
    let mut other = Client::connect(simulator.local_addr()).await;
    expect(
        &mut client,
        "<MonitorStart><monitorObject><deviceObject>999</deviceObject></monitorObject></MonitorStart>",
        "operation/invalidDeviceID",
    )
    .await;
    expect(
        &mut client,
        &format!(
            "<MonitorStart><monitorObject>{}</monitorObject></MonitorStart>",
            connection_xml("callObject", "1", "200")
        ),
        "operation/requestIncompatibleWithObject",
    )
    .await;
    expect(
        &mut client,
        "<MonitorStop><monitorCrossRefID>77</monitorCrossRefID></MonitorStop>",
        "operation/invalidCrossRefID",
    )
    .await;
    let theirs = other.monitor("200").await;
    expect(
        &mut client,
        &format!("<MonitorStop><monitorCrossRefID>{theirs}</monitorCrossRefID></MonitorStop>"),
        "operation/invalidCrossRefID",
    )
    .await;
    // Decorated identifiers are understood.
    let ours = client.monitor("sip:201@pbx").await;
    assert!(!ours.is_empty());
}

#[tokio::test]
async fn call_control_errors() {
    let simulator = start(config()).await;
    let mut client = Client::connect(simulator.local_addr()).await;
    let c = &call_id(&client.request(xml(&make_call("200", "201"))).await);
    let cases = [
        (on("AnswerCall", "callToBeAnswered", "99", "201"), "operation/invalidCallID"),
        (on("AnswerCall", "callToBeAnswered", "abc", "201"), "operation/invalidCallID"),
        (on("AnswerCall", "callToBeAnswered", c, "200"), "stateIncompatibility/noCallToAnswer"),
        (on("AnswerCall", "callToBeAnswered", c, "205"), "operation/invalidConnectionID"),
        (on("HoldCall", "callToBeHeld", c, "201"), "stateIncompatibility/noActiveCall"),
        (on("RetrieveCall", "callToBeRetrieved", c, "200"), "stateIncompatibility/noHeldCall"),
        (on("DeflectCall", "callToBeDiverted", c, "200").replace("</DeflectCall>", "<newDestination>203</newDestination></DeflectCall>"), "stateIncompatibility/invalidObjectState"),
        (on("GenerateDigits", "connectionToSendDigits", c, "201").replace("</GenerateDigits>", "<charactersToSend>1</charactersToSend></GenerateDigits>"), "stateIncompatibility/noActiveCall"),
        (on("GenerateDigits", "connectionToSendDigits", c, "200").replace("</GenerateDigits>", "<charactersToSend>x!</charactersToSend></GenerateDigits>"), "operation/valueOutOfRange"),
        (on("GenerateDigits", "connectionToSendDigits", c, "200").replace("</GenerateDigits>", "<charactersToSend>12#</charactersToSend></GenerateDigits>"), "GenerateDigitsResponse"),
        (format!("<TransferCall>{}{}</TransferCall>", connection_xml("heldCall", c, "200"), connection_xml("activeCall", "99", "200")), "stateIncompatibility/noHeldCall"),
        (format!("<ConsultationCall>{}<consultedDevice>202</consultedDevice></ConsultationCall>", connection_xml("existingCall", c, "201")), "stateIncompatibility/noActiveCall"),
        (make_call("999", "201"), "operation/invalidCallingDevice"),
        (make_call("202", "abc"), "operation/invalidDestination"),
        (make_call("200", "203"), "stateIncompatibility/invalidObjectState"),
        ("<ClearCall><callToBeCleared><callID>99</callID></callToBeCleared></ClearCall>".into(), "operation/invalidCallID"),
        ("<SetDoNotDisturb><device>999</device><doNotDisturbOn>true</doNotDisturbOn></SetDoNotDisturb>".into(), "operation/invalidDeviceID"),
        ("<SetForwarding><device>201</device><forwardingType>forwardBusyInt</forwardingType><activateForward>true</activateForward><forwardDN>202</forwardDN></SetForwarding>".into(), "operation/invalidFeature"),
        ("<SetForwarding><device>201</device><forwardingType>forwardImmediate</forwardingType><activateForward>true</activateForward></SetForwarding>".into(), "operation/invalidForwardingDestination"),
        ("<SnapshotDevice><snapshotObject>999</snapshotObject></SnapshotDevice>".into(), "operation/invalidDeviceID"),
    ];
    for (request, expected) in cases {
        expect(&mut client, &request, expected).await;
    }
    let stats = simulator.stats();
    assert_eq!(stats.errors_sent, 19);
    assert_eq!(stats.calls_active, 1);
    // Only the digits the switch accepted are recorded, on the device that sent them.
    assert_eq!(simulator.digits_sent("200"), "12#");
    assert_eq!(simulator.digits_sent("201"), "");
}

#[tokio::test]
async fn malformed_and_unknown_documents_get_errors_and_the_link_stays() {
    let simulator = start(config()).await;
    let mut client = Client::connect(simulator.local_addr()).await;
    let cases: [(&[u8], &str); 6] = [
        (
            b"<MakeCall><callingDevice>200</callingDevice>",
            "operation/generic",
        ),
        (
            b"<MakeCall><callingDevice>200</callingDevice></MakeCall>",
            "operation/generic",
        ),
        (b"\xff\xfe<MakeCall/>", "operation/generic"),
        (b"", "operation/generic"),
        (
            b"<FooBar xmlns=\"urn:x\"><a/></FooBar>",
            "operation/invalidFeature",
        ),
        (
            b"<ConnectionClearedEvent><monitorCrossRefID>1</monitorCrossRefID>\
              <droppedConnection><callID>1</callID><deviceID>200</deviceID></droppedConnection>\
              </ConnectionClearedEvent>",
            "operation/invalidFeature",
        ),
    ];
    for (index, (document, expected)) in cases.into_iter().enumerate() {
        let invoke_id = csta::InvokeId::new(100 + index as u16);
        client.send_raw(invoke_id, document).await;
        let answer = client.answer(invoke_id).await;
        assert_eq!(
            error_of(&answer),
            expected,
            "{}",
            String::from_utf8_lossy(document)
        );
    }
    // A response the switch did not ask for is not answered.
    client
        .send(xml("<MakeCallResponse><callingDevice><callID>1</callID></callingDevice></MakeCallResponse>"))
        .await;
    assert!(client.idle(Duration::from_millis(150)).await.is_none());
    client.monitor("200").await;
    assert_eq!(simulator.stats().connections_open, 1);
}

#[tokio::test]
async fn a_broken_frame_closes_the_link() {
    let simulator = start(config()).await;
    let mut client = Client::connect(simulator.local_addr()).await;
    client.monitor("200").await;
    client.write_bytes(b"\x01\x00\x00\x10abcdefgh").await;
    assert!(client.closed_within(Duration::from_secs(2)).await);
    let mut again = Client::connect(simulator.local_addr()).await;
    again.monitor("200").await;
}

#[tokio::test]
async fn random_documents_are_answered_and_never_break_the_link() {
    const TOKENS: [&str; 20] = [
        "<",
        ">",
        "</",
        "/>",
        "MakeCall",
        "AnswerCall",
        "MonitorStart",
        "callingDevice",
        "callToBeAnswered",
        "callID",
        "deviceID",
        "monitorObject",
        "deviceObject",
        "200",
        "1",
        "&amp;",
        "&bogus;",
        "é",
        " xmlns=\"urn:x\"",
        "<?xml version=\"1.0\"?>",
    ];
    let simulator = start(config()).await;
    let mut client = Client::connect(simulator.local_addr()).await;
    let mut seed: u64 = 0x5eed;
    let mut next = |bound: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize % bound
    };
    for round in 0..300u16 {
        let length = next(30);
        let document: String = (0..length).map(|_| TOKENS[next(TOKENS.len())]).collect();
        let invoke_id = csta::InvokeId::new(round + 1);
        client.send_raw(invoke_id, document.as_bytes()).await;
        let answer = client.answer(invoke_id).await;
        assert!(
            matches!(
                answer.kind(),
                csta::MessageKind::Error | csta::MessageKind::Response
            ),
            "{document} → {answer:?}"
        );
    }
    client.monitor("200").await;
    assert_eq!(simulator.stats().connections_open, 1);
}
