use bytes::BufMut;

use super::*;

const OPTIONS: &[u8] =
    b"OPTIONS sip:ucplus.example SIP/2.0\r\nCall-ID: a\r\nContent-Length: 0\r\n\r\n";
const INFO: &[u8] = b"INFO sip:200@192.0.2.1 SIP/2.0\r\nCall-ID: b\r\nl: 4\r\n\r\n<x/>";

fn items(framer: &mut StreamFramer, src: &mut BytesMut) -> Vec<StreamItem> {
    let mut items = Vec::new();
    while let Some(item) = framer.decode(src).unwrap() {
        items.push(item);
    }
    items
}

#[test]
fn frames_messages_and_pings_fed_byte_by_byte() {
    let mut wire = b"\r\n\r\n".to_vec();
    wire.extend_from_slice(OPTIONS);
    wire.extend_from_slice(b"\r\n");
    wire.extend_from_slice(INFO);
    let mut framer = StreamFramer::new(Limits::default());
    let mut src = BytesMut::new();
    let mut all = Vec::new();
    for byte in &wire {
        src.put_u8(*byte);
        all.extend(items(&mut framer, &mut src));
    }
    assert!(src.is_empty());
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], StreamItem::KeepAlive);
    let StreamItem::Message(message) = &all[2] else {
        panic!("a message")
    };
    let Message::Request(info) = message.as_ref() else {
        panic!("a request")
    };
    assert_eq!(info.body, "<x/>");
    assert_eq!(info.headers.call_id(), Ok("b"));
}

#[test]
fn frames_pipelined_messages_in_one_read() {
    let mut src = BytesMut::from(&[OPTIONS, INFO, OPTIONS].concat()[..]);
    let mut framer = StreamFramer::new(Limits::default());
    assert_eq!(items(&mut framer, &mut src).len(), 3);
    assert!(src.is_empty());
}

#[test]
fn refuses_oversized_and_unframable_messages() {
    let limits = Limits {
        max_message: 64,
        ..Limits::default()
    };
    let mut framer = StreamFramer::new(limits);
    let mut endless_head = BytesMut::from(&b"OPTIONS sip:a SIP/2.0\r\nSubject: "[..]);
    assert_eq!(framer.decode(&mut endless_head), Ok(None));
    endless_head.put_slice(&[b'x'; 64]);
    assert_eq!(
        framer.decode(&mut endless_head).unwrap_err().code(),
        "sip_message_too_large"
    );

    let mut huge_body = BytesMut::from(&b"SIP/2.0 200 OK\r\nl: 4000000000\r\n\r\n"[..]);
    let error = StreamFramer::new(limits)
        .decode(&mut huge_body)
        .unwrap_err();
    assert_eq!(error.code(), "sip_message_too_large");
    assert!(
        huge_body.capacity() < 1024,
        "nothing reserved for a refused body"
    );

    let mut no_length = BytesMut::from(&b"SIP/2.0 200 OK\r\nTo: x\r\n\r\n"[..]);
    let error = StreamFramer::new(limits)
        .decode(&mut no_length)
        .unwrap_err();
    assert_eq!(error, ParseError::MissingContentLength);
}

#[test]
fn waits_for_a_split_ping() {
    let mut framer = StreamFramer::new(Limits::default());
    let mut src = BytesMut::from(&b"\r\n\r"[..]);
    assert_eq!(framer.decode(&mut src), Ok(None));
    src.put_u8(b'\n');
    assert_eq!(framer.decode(&mut src), Ok(Some(StreamItem::KeepAlive)));
    // A lone CRLF (a pong) before a message is skipped.
    src.put_slice(b"\r\n");
    src.put_slice(OPTIONS);
    assert!(matches!(
        framer.decode(&mut src),
        Ok(Some(StreamItem::Message(_)))
    ));
}
