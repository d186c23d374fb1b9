//! Property tests: decode(encode(m)) == m for every message type in every edition, and
//! arbitrary input never panics the decoders. The strategies (generators) are in
//! `values.rs` (value types) and `messages.rs` (one function per service family).

mod messages;
mod values;

use csta::*;
use proptest::prelude::*;

use messages::*;
use values::Boxed;

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
        "RouteRequest",
        "GetForwardingResponse",
        "ForwardingEvent",
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
        "callLinkageData",
        "globalCallData",
        "globalCallLinkageID",
        "globallyUniqueCallLinkageID",
        "forwardingList",
        "forwardListItem",
        "ringCount",
        "routeingCrossRefID",
        "currentRoute",
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
        proptest::sample::select(&NAMES[..10]),
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
    fn routing_messages_round_trip(message in routing_messages()) {
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
