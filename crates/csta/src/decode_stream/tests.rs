use super::*;
use crate::message::{Edition, encode};
use crate::{ConnectionId, HoldCall, SystemStatusResponse};

fn header(invoke: &str, xml: &str) -> Vec<u8> {
    let mut bytes = vec![0, 0];
    bytes.extend_from_slice(&u16::try_from(8 + xml.len()).unwrap().to_be_bytes());
    bytes.extend_from_slice(invoke.as_bytes());
    bytes.extend_from_slice(xml.as_bytes());
    bytes
}

fn hold() -> String {
    let hold = HoldCall {
        call_to_be_held: ConnectionId::new("12", "201"),
        extra: Default::default(),
    };
    encode(&hold.into(), Edition::Ed3)
}

fn summary(bytes: &[u8]) -> Vec<String> {
    decode_stream(bytes)
        .map(|item| match item {
            Ok(item) => format!(
                "{}:{}:{:?}",
                item.offset,
                item.message.name(),
                item.invoke_id.map(InvokeId::get)
            ),
            Err(error) => format!("{}:!{}", error.offset, error.code),
        })
        .collect()
}

#[test]
fn header_frames_continue_after_bad_xml_and_resync_after_a_bad_header() {
    let mut bytes = header("0001", &hold());
    let second = bytes.len();
    bytes.extend(header("0002", "<HoldCall><oops></HoldCall>"));
    let third = bytes.len();
    bytes.extend_from_slice(b"\x07\x07garbage");
    let fourth = bytes.len();
    bytes.extend(header("9999", "<SystemStatusResponse/>"));
    assert_eq!(detect_format(&bytes), StreamFormat::Header);
    assert_eq!(
        summary(&bytes),
        vec![
            "0:HoldCall:Some(1)".to_string(),
            format!("{second}:!csta_malformed_xml"),
            format!("{third}:!csta_bad_frame_header"),
            format!("{fourth}:SystemStatusResponse:Some(9999)"),
        ]
    );
    let truncated = header("0003", &hold());
    let cut = truncated.get(..20).unwrap();
    assert_eq!(summary(cut), vec!["0:!csta_truncated_frame".to_string()]);
}

#[test]
fn nul_delimited_documents() {
    let bytes = format!("{}\0\n<A/>\0<HoldCall>\0\0", hold());
    assert_eq!(detect_format(bytes.as_bytes()), StreamFormat::Nul);
    let second = hold().len() + 1;
    assert_eq!(
        summary(bytes.as_bytes()),
        vec![
            "0:HoldCall:None".to_string(),
            format!("{}:A:None", second + 1),
            format!("{}:!csta_truncated_xml", second + 6),
        ]
    );
}

#[test]
fn bare_documents_with_and_without_prolog() {
    let bytes = format!(
        "{}\n<SystemStatusResponse/>\n<?xml version=\"1.0\"?><Broken><a></Broken>\n{}",
        hold(),
        hold()
    );
    assert_eq!(detect_format(bytes.as_bytes()), StreamFormat::Bare);
    let second = hold().len() + 1;
    let third = second + "<SystemStatusResponse/>\n".len();
    let fourth = bytes.len() - hold().len();
    assert_eq!(
        summary(bytes.as_bytes()),
        vec![
            "0:HoldCall:None".to_string(),
            format!("{second}:SystemStatusResponse:None"),
            format!("{third}:!csta_malformed_xml"),
            format!("{fourth}:HoldCall:None"),
        ]
    );
    let invalid = b"<A>\xff</A>";
    assert_eq!(summary(invalid), vec!["0:!csta_invalid_utf8".to_string()]);
}

#[test]
fn json_has_type_kind_invoke_id_and_normalized_devices() {
    let bytes = header(
        "9999",
        "<ns1:ConnectionClearedEvent xmlns:ns1=\"http://www.ecma-international.org/standards/ecma-323/csta/ed3\">\
         <ns1:monitorCrossRefID>5</ns1:monitorCrossRefID>\
         <ns1:droppedConnection><ns1:callID>7</ns1:callID><ns1:deviceID>N&lt;201&gt;</ns1:deviceID></ns1:droppedConnection>\
         <ns1:releasingDevice><ns1:deviceIdentifier>sip:201@pbx</ns1:deviceIdentifier></ns1:releasingDevice>\
         <ns1:localConnectionInfo>null</ns1:localConnectionInfo><ns1:cause>normalClearing</ns1:cause>\
         </ns1:ConnectionClearedEvent>",
    );
    let item = decode_stream(&bytes).next().unwrap().unwrap();
    assert_eq!(
        item.to_json(),
        json!({
            "type": "ConnectionClearedEvent",
            "kind": "event",
            "invokeId": 9999,
            "offset": 0,
            "monitorCrossRefId": "5",
            "droppedConnection": {"callId": "7", "deviceId": {"number": "201", "raw": "N<201>"}},
            "releasingDevice": {"kind": "deviceIdentifier", "number": "201", "raw": "sip:201@pbx"},
            "localConnectionInfo": "null",
            "cause": "normalClearing",
        })
    );
    let error = StreamError {
        offset: 3,
        invoke_id: InvokeId::new(2),
        reason: "r".into(),
        code: "csta_malformed_xml",
    };
    assert_eq!(
        error.to_json(),
        json!({"offset": 3, "invokeId": 2, "error": "csta_malformed_xml", "reason": "r"})
    );
    let response = Message::from(SystemStatusResponse {
        extra: Default::default(),
    });
    assert_eq!(
        message_json(&response, None),
        json!({"type": "SystemStatusResponse", "kind": "response"})
    );
}
