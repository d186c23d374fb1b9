//! Golden tests for the leniency policy (crate docs): what real switches write that the
//! reader accepts (BOMs, declared encodings, UTF-16, comments and processing instructions,
//! SOAP envelopes) and what it refuses, with which code. Every fixture is written here.

use csta::*;

const ED4: &str = "http://www.ecma-international.org/standards/ecma-323/csta/ed4";

/// A DeliveredEvent whose alerting device shows `name`; `prolog` goes before the root.
fn delivered(prolog: &str, name: &str) -> String {
    format!(
        "{prolog}<DeliveredEvent xmlns=\"{ED4}\"><monitorCrossRefID>7</monitorCrossRefID>\
         <connection><callID>42</callID><deviceID>201</deviceID></connection>\
         <alertingDevice><deviceIdentifier>N&lt;201&gt;;displayNumber={name}</deviceIdentifier>\
         </alertingDevice></DeliveredEvent>"
    )
}

fn alerting(message: &Message) -> String {
    match message {
        Message::DeliveredEvent(event) => event
            .alerting_device
            .as_ref()
            .and_then(EventDevice::device_id)
            .map(|device| device.raw().to_string())
            .unwrap_or_default(),
        other => panic!("not a DeliveredEvent: {other:?}"),
    }
}

fn decoded(bytes: &[u8]) -> Message {
    match decode(bytes) {
        Ok(message) => message,
        Err(error) => panic!(
            "{error} ({}) in {}",
            error.code(),
            String::from_utf8_lossy(bytes)
        ),
    }
}

fn refused(bytes: &[u8]) -> &'static str {
    match decode(bytes) {
        Ok(message) => panic!("decoded {message:?}"),
        Err(error) => error.code(),
    }
}

fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("a Latin-1 fixture"))
        .collect()
}

#[test]
fn utf8_with_and_without_bom_on_every_entry_point() {
    let plain = delivered("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "Müller");
    let expected = decoded(plain.as_bytes());
    assert_eq!(alerting(&expected), "N<201>;displayNumber=Müller");
    let with_bom = format!("\u{feff}{plain}");
    assert_eq!(decoded(with_bom.as_bytes()), expected);
    assert_eq!(decode_str(&with_bom), Ok(expected.clone()));
    assert_eq!(detect_edition(with_bom.as_bytes()), Some(Edition::Ed4));
    // A BOM in front of a framed document and of each bare document of a capture.
    let mut framed = vec![0, 0];
    framed.extend_from_slice(&u16::try_from(8 + with_bom.len()).unwrap().to_be_bytes());
    framed.extend_from_slice(b"9999");
    framed.extend_from_slice(with_bom.as_bytes());
    let mut codec = FrameCodec::new(Framing::Header);
    let frame = codec
        .decode(&mut framed.as_slice().into())
        .unwrap()
        .unwrap();
    assert_eq!(decoded(&frame.xml), expected);
    let capture = format!("{with_bom}\n{with_bom}\n");
    let messages: Vec<_> = decode_stream(capture.as_bytes())
        .map(|item| item.map(|item| (item.offset, item.message)))
        .collect();
    assert_eq!(
        messages,
        vec![
            Ok((0, expected.clone())),
            Ok((with_bom.len() + 1, expected))
        ]
    );
}

#[test]
fn declared_iso_8859_1_and_windows_1252() {
    let iso = latin1(&delivered(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n",
        "Müller",
    ));
    assert!(iso.contains(&0xfc) && std::str::from_utf8(&iso).is_err());
    assert_eq!(alerting(&decoded(&iso)), "N<201>;displayNumber=Müller");
    // Windows-1252: 0x80 is the euro sign and 0x96 the en dash (C1 controls in Latin-1).
    let mut cp1252 = latin1(&delivered(
        "<?xml version='1.0' encoding='windows-1252'?>",
        "Müller X 5 Y",
    ));
    let x = cp1252.iter().position(|&b| b == b'X').unwrap();
    cp1252[x] = 0x96;
    let y = cp1252.iter().position(|&b| b == b'Y').unwrap();
    cp1252[y] = 0x80;
    assert_eq!(
        alerting(&decoded(&cp1252)),
        "N<201>;displayNumber=Müller – 5 €"
    );
    let as_latin1 = String::from_utf8(cp1252.clone()).is_err();
    assert!(as_latin1);
    // The same bytes declared ISO-8859-1 keep 0x96 and 0x80 as C1 controls.
    let mut iso_c1 = latin1(&delivered(
        "<?xml version='1.0' encoding='ISO-8859-1'?>",
        "X",
    ));
    let x = iso_c1.iter().position(|&b| b == b'X').unwrap();
    iso_c1[x] = 0x96;
    assert_eq!(alerting(&decoded(&iso_c1)), "N<201>;displayNumber=\u{96}");
    // Re-encoding writes UTF-8, which decodes to the same message.
    let message = decoded(&iso);
    assert_eq!(decoded(encode(&message, Edition::Ed4).as_bytes()), message);
}

#[test]
fn utf16_little_and_big_endian_with_bom() {
    let text = delivered("<?xml version=\"1.0\" encoding=\"UTF-16\"?>", "Müller 𝄞");
    let expected = decoded(text.as_bytes());
    let le: Vec<u8> = "\u{feff}"
        .encode_utf16()
        .chain(text.encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect();
    let be: Vec<u8> = "\u{feff}"
        .encode_utf16()
        .chain(text.encode_utf16())
        .flat_map(u16::to_be_bytes)
        .collect();
    assert_eq!(&le[..2], b"\xff\xfe");
    assert_eq!(&be[..2], b"\xfe\xff");
    assert_eq!(decoded(&le), expected);
    assert_eq!(decoded(&be), expected);
    assert_eq!(alerting(&expected), "N<201>;displayNumber=Müller 𝄞");
    // A capture file in UTF-16 is one document, not NUL-delimited pieces.
    let items: Vec<_> = decode_stream(&le).collect();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].as_ref().map(|item| &item.message), Ok(&expected));
    // An odd length or an unpaired surrogate is refused.
    assert_eq!(refused(&le[..le.len() - 1]), "csta_invalid_utf16");
    let mut unpaired = be.clone();
    unpaired.splice(2..2, [0xd8, 0x00]);
    assert_eq!(refused(&unpaired), "csta_invalid_utf16");
}

#[test]
fn unknown_encodings_are_refused() {
    for encoding in ["EBCDIC-US", "Shift_JIS", "KOI8-R", ""] {
        let xml = delivered(
            &format!("<?xml version=\"1.0\" encoding=\"{encoding}\"?>"),
            "A",
        );
        let error = decode(xml.as_bytes()).unwrap_err();
        assert_eq!(error.code(), "csta_unsupported_encoding", "{encoding}");
        assert!(error.to_string().contains(encoding), "{error}");
    }
    // Label case does not matter.
    let xml = delivered("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>", "A");
    assert_eq!(alerting(&decoded(xml.as_bytes())), "N<201>;displayNumber=A");
}

#[test]
fn comments_and_processing_instructions_anywhere_xml_allows_them() {
    let expected = decoded(delivered("", "A").as_bytes());
    for document in [
        format!("{}<!-- switch 1 -->", delivered("", "A")),
        format!("{}\n<!-- a -->\n<?trace id=\"9\"?>\n", delivered("", "A")),
        delivered(
            "<?xml version=\"1.0\"?>\n<?xml-stylesheet href=\"csta.xsl\"?>\n<!-- b -->",
            "A",
        ),
        delivered("<?xml version=\"1.0\"?><?vendor trace?>", "A").replace(
            "<connection>",
            "<!-- between --><?pi?><connection><!--in-->",
        ),
    ] {
        assert_eq!(decoded(document.as_bytes()), expected, "{document}");
    }
    // In a bare capture the trailing comment stays with its document.
    let first = format!(
        "<?xml version=\"1.0\"?>{}<!-- end of 1 --><?pi x?>",
        delivered("", "A")
    );
    let capture = format!("{first}\n{}\n<!-- end of capture -->\n", delivered("", "A"));
    let items: Vec<_> = decode_stream(capture.as_bytes())
        .map(|item| item.map(|item| (item.offset, item.message)))
        .collect();
    assert_eq!(
        items,
        vec![Ok((0, expected.clone())), Ok((first.len() + 1, expected))]
    );
}

#[test]
fn soap_envelopes_are_unwrapped() {
    let body = delivered("", "A").replace("DeliveredEvent xmlns", "csta:DeliveredEvent xmlns:csta");
    let body = body.replace("</DeliveredEvent>", "</csta:DeliveredEvent>");
    let expected = decoded(delivered("", "A").as_bytes());
    let soap11 = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\">\n\
         <SOAP-ENV:Header><csta:sessionID xmlns:csta=\"{ED4}\">5</csta:sessionID></SOAP-ENV:Header>\n\
         <SOAP-ENV:Body>{body}</SOAP-ENV:Body>\n</SOAP-ENV:Envelope>\n<!-- done -->"
    );
    assert_eq!(decoded(soap11.as_bytes()), expected);
    // SOAP 1.2, another prefix, the CSTA namespace declared on the envelope.
    let soap12 = format!(
        "<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:csta=\"{ED4}\">\
         <env:Body>{}</env:Body></env:Envelope>",
        body.replace(&format!(" xmlns:csta=\"{ED4}\""), "")
    );
    assert_eq!(decoded(soap12.as_bytes()), expected);
    // A fault carrying a CSTA error decodes to that error; one without is refused.
    let fault = "<S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\"><S:Body><S:Fault>\
        <faultcode>S:Server</faultcode><faultstring>CSTA error</faultstring><detail>\
        <CSTAErrorCode xmlns=\"http://www.ecma-international.org/standards/ecma-323/csta/ed3\">\
        <operation>invalidDeviceID</operation></CSTAErrorCode></detail></S:Fault></S:Body></S:Envelope>";
    assert_eq!(
        decoded(fault.as_bytes()),
        Message::CstaErrorCode(CstaErrorCode::new(
            ErrorCategory::Operation,
            "invalidDeviceID"
        ))
    );
    let bare_fault = "<S:Envelope xmlns:S=\"http://www.w3.org/2003/05/soap-envelope\"><S:Body><S:Fault>\
        <S:Code><S:Value>S:Receiver</S:Value></S:Code><S:Reason><S:Text xml:lang=\"en\">link down\
        </S:Text></S:Reason><S:Detail><v:trace xmlns:v=\"urn:v\">1</v:trace></S:Detail>\
        </S:Fault></S:Body></S:Envelope>";
    let error = decode(bare_fault.as_bytes()).unwrap_err();
    assert_eq!(error.code(), "csta_soap_fault");
    assert!(error.to_string().contains("link down"), "{error}");
    let empty = "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\">\
        <SOAP-ENV:Body/></SOAP-ENV:Envelope>";
    assert_eq!(refused(empty.as_bytes()), "csta_missing_element");
    // Non-CSTA content in a body is refused like a non-CSTA root.
    let dialog = "<S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\" \
        xmlns:d=\"urn:ietf:params:xml:ns:dialog-info\"><S:Body><d:dialogInfo version=\"1\"/>\
        </S:Body></S:Envelope>";
    assert_eq!(refused(dialog.as_bytes()), "csta_not_csta");
}

#[test]
fn roots_that_are_not_csta_are_refused() {
    let dialog_info = r#"<?xml version="1.0"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:201@pbx.example">
  <dialog id="1" direction="recipient"><state>early</state></dialog>
</dialog-info>"#;
    let error = decode(dialog_info.as_bytes()).unwrap_err();
    assert_eq!(error.code(), "csta_not_csta");
    assert_eq!(
        error.to_string(),
        "the root <dialog-info> is not a CSTA message (namespace: urn:ietf:params:xml:ns:dialog-info)"
    );
    for xml in [
        "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\"/>",
        "<html xmlns=\"http://www.w3.org/1999/xhtml\"><body/></html>",
        "<dialog-info/>",
        "<x.y/>",
    ] {
        assert_eq!(refused(xml.as_bytes()), "csta_not_csta", "{xml}");
    }
    // Unknown CSTA-looking roots are kept as before, in a CSTA namespace, a vendor's or none.
    for xml in [
        format!("<CallInformationEvent xmlns=\"{ED4}\"><a/></CallInformationEvent>"),
        "<ns1:CallInformationEvent xmlns:ns1=\"http://www.ecma.ch/standards/ecma-323/csta/ed2\"/>"
            .to_string(),
        "<BackInServiceEvent xmlns=\"urn:x\"/>".to_string(),
        "<Bye/>".to_string(),
    ] {
        assert_eq!(
            decoded(xml.as_bytes()).kind(),
            MessageKind::Unknown,
            "{xml}"
        );
    }
    // A known message name decodes whatever its namespace.
    assert_eq!(
        decoded(b"<SystemStatusResponse xmlns=\"urn:ietf:params:xml:ns:x\"/>").name(),
        "SystemStatusResponse"
    );
}

#[test]
fn nesting_deeper_than_the_limit_is_refused() {
    let nest = |depth: usize| {
        let mut xml = format!("<DeliveredEvent xmlns=\"{ED4}\">");
        for _ in 1..depth {
            xml.push_str("<a>");
        }
        for _ in 1..depth {
            xml.push_str("</a>");
        }
        xml.push_str("</DeliveredEvent>");
        xml
    };
    let error = decode(nest(100).as_bytes()).unwrap_err();
    assert_eq!(error.code(), "csta_too_deep");
    assert!(error.to_string().contains("64 levels"), "{error}");
    // Deep nesting inside an unknown root and in a SOAP body, too.
    let unknown = nest(100).replace("DeliveredEvent", "VendorEvent");
    assert_eq!(refused(unknown.as_bytes()), "csta_too_deep");
    assert_eq!(refused(nest(MAX_DEPTH + 1).as_bytes()), "csta_too_deep");
    let text = nest(MAX_DEPTH + 1)
        .replace("<a>", "<monitorCrossRefID>")
        .replace("</a>", "</monitorCrossRefID>");
    assert_eq!(refused(text.as_bytes()), "csta_too_deep");
    let soap = format!(
        "<S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\"><S:Body>{}</S:Body></S:Envelope>",
        nest(MAX_DEPTH - 1)
    );
    assert_eq!(refused(soap.as_bytes()), "csta_too_deep");
    assert_eq!(
        refused(
            soap.replace(&nest(MAX_DEPTH - 1), &nest(MAX_DEPTH - 2))
                .as_bytes()
        ),
        "csta_missing_element"
    );
    // At the limit, nesting is merely unknown content (here: no required connection).
    assert_eq!(refused(nest(MAX_DEPTH).as_bytes()), "csta_missing_element");
    let unknown = nest(MAX_DEPTH).replace("DeliveredEvent", "VendorEvent");
    assert_eq!(decoded(unknown.as_bytes()).kind(), MessageKind::Unknown);
}

#[test]
fn documents_larger_than_the_limit_are_refused() {
    let filler = "<!-- padding -->".repeat(MAX_DOCUMENT / 16);
    let big = format!("{}{filler}", delivered("", "A"));
    assert!(big.len() > MAX_DOCUMENT);
    let error = decode(big.as_bytes()).unwrap_err();
    assert_eq!(error.code(), "csta_document_too_large");
    assert_eq!(
        decode_str(&big).unwrap_err().code(),
        "csta_document_too_large"
    );
    // The 2 MB deeply nested document of the issue.
    let deep = format!("{}{}", "<a>".repeat(350_000), "</a>".repeat(350_000));
    assert!(deep.len() > 2_000_000);
    assert_eq!(refused(deep.as_bytes()), "csta_document_too_large");
    // In a bare capture: refused, and the next document still decodes.
    let capture = format!(
        "{}\n<?xml version=\"1.0\"?>{}",
        "<a>".repeat(100_000),
        delivered("", "A")
    );
    let codes: Vec<_> = decode_stream(capture.as_bytes())
        .map(|item| {
            item.map(|item| item.message.name().to_string())
                .map_err(|e| e.code)
        })
        .collect();
    assert_eq!(
        codes,
        vec![
            Err("csta_document_too_large"),
            Ok("DeliveredEvent".to_string())
        ]
    );
    // Every framed document is within the limit.
    const { assert!(frame::DEFAULT_MAX_FRAME <= MAX_DOCUMENT) };
}

#[test]
fn feature_events_without_a_monitor_cross_reference_are_accepted() {
    // As BroadWorks-style feature-event bodies arrive in a SIP NOTIFY: no monitor.
    let dnd = format!(
        "<DoNotDisturbEvent xmlns=\"{ED4}\"><device>sip:201@pbx.example</device>\
         <doNotDisturbOn>true</doNotDisturbOn></DoNotDisturbEvent>"
    );
    let Message::DoNotDisturbEvent(event) = decoded(dnd.as_bytes()) else {
        panic!("not a DoNotDisturbEvent")
    };
    assert_eq!(event.monitor_cross_ref_id, None);
    assert_eq!(event.device.device_id().map(DeviceId::number), Some("201"));
    assert!(event.do_not_disturb_on);
    let forwarding = "<ForwardingEvent><device>201</device>\
        <forwardingType>forwardNoAns</forwardingType><forwardStatus>true</forwardStatus>\
        <forwardTo>202</forwardTo><ringCount>3</ringCount></ForwardingEvent>";
    let Message::ForwardingEvent(event) = decoded(forwarding.as_bytes()) else {
        panic!("not a ForwardingEvent")
    };
    assert_eq!(event.monitor_cross_ref_id, None);
    assert_eq!(event.forwarding_type, Some(ForwardingType::NoAnswer));
    assert_eq!(event.ring_count, Some(3));
    // Written back without one, too: the writer invents nothing.
    let xml = encode(&Message::ForwardingEvent(event), Edition::Ed3);
    assert!(!xml.contains("monitorCrossRefID"), "{xml}");
    let ready = "<AgentReadyEvent><agentDevice><deviceIdentifier>201</deviceIdentifier>\
        </agentDevice><agentID>4711</agentID></AgentReadyEvent>";
    assert_eq!(decoded(ready.as_bytes()).name(), "AgentReadyEvent");
    // A call event cannot be attributed without its monitor: refused.
    let held = "<HeldEvent><heldConnection><callID>1</callID><deviceID>201</deviceID>\
        </heldConnection></HeldEvent>";
    let error = decode(held.as_bytes()).unwrap_err();
    assert_eq!(error.code(), "csta_missing_element");
    assert_eq!(
        error.to_string(),
        "<HeldEvent> lacks its required <monitorCrossRefID>"
    );
}

#[test]
fn namespace_variants_seen_in_the_field_are_csta() {
    let body = "<monitorCrossRefID>7</monitorCrossRefID>\
        <connection><callID>42</callID><deviceID>201</deviceID></connection>";
    let reference =
        decoded(format!("<DeliveredEvent xmlns=\"{ED4}\">{body}</DeliveredEvent>").as_bytes());
    for namespace in [
        "http://www.ecma.ch/standards/ecma-323/csta/ed6",
        "http://www.ecmainternational.org/standards/ecma-323/csta/ed3",
        "https://www.ecma-international.org/standards/ecma-323/csta/ed5/",
        "http://www.avaya.com/csta",
    ] {
        let xml =
            format!("<csta:DeliveredEvent xmlns:csta=\"{namespace}\">{body}</csta:DeliveredEvent>")
                .replace("<monitor", "<csta:monitor")
                .replace("</monitor", "</csta:monitor");
        assert_eq!(decoded(xml.as_bytes()), reference, "{xml}");
        // Unknown roots in these namespaces are kept, not refused.
        let unknown = format!("<CallInformationEvent xmlns=\"{namespace}\"/>");
        assert_eq!(decoded(unknown.as_bytes()).kind(), MessageKind::Unknown);
    }
    let edition = |namespace: &str| {
        detect_edition(format!("<SystemStatusResponse xmlns=\"{namespace}\"/>").as_bytes())
    };
    assert_eq!(
        edition("http://www.ecmainternational.org/standards/ecma-323/csta/ed3"),
        Some(Edition::Ed3)
    );
    assert_eq!(
        edition("https://www.ecma-international.org/standards/ecma-323/csta/ed5/"),
        Some(Edition::Ed5)
    );
    // An edition ucplus does not write: recognised as CSTA above, but no edition to adopt.
    assert_eq!(
        edition("http://www.ecma.ch/standards/ecma-323/csta/ed6"),
        None
    );
}
