//! Arbitrary bytes through the SIP datagram parser and the stream framer. Nothing may
//! panic; framed messages stay within the limit; whatever parses must print stably:
//! print(parse(print(m))) == print(m), and every typed accessor must return, not panic.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use sip::{Limits, Message, StreamFramer, StreamItem, Uri, parse_datagram};

const LIMITS: Limits = Limits {
    max_message: 8192,
    max_headers: 64,
    max_line: 1024,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(message)) = parse_datagram(data, &LIMITS) {
        check(&message);
    }
    let mut framer = StreamFramer::new(LIMITS);
    // Feed in two pieces so that partial heads and bodies are exercised too.
    let (first, second) = data.split_at(data.len() / 2);
    let mut src = BytesMut::from(first);
    let mut pieces = [second].into_iter();
    loop {
        match framer.decode(&mut src) {
            Ok(Some(StreamItem::Message(message))) => {
                assert!(message.body().len() <= LIMITS.max_message);
                check(&message);
            }
            Ok(Some(StreamItem::KeepAlive)) => {}
            Ok(None) => match pieces.next() {
                Some(piece) => src.extend_from_slice(piece),
                None => break,
            },
            Err(_) => break,
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(uri) = Uri::parse(text) {
            assert_eq!(Uri::parse(&uri.to_string()).as_ref(), Ok(&uri));
        }
    }
});

fn check(message: &Message) {
    let headers = message.headers();
    let _ = (headers.vias(), headers.from(), headers.to(), headers.call_id());
    let _ = (headers.cseq(), headers.contacts(), headers.expires());
    let _ = (headers.authorization(), headers.www_authenticate());
    let once = message.to_bytes();
    let reparsed = parse_datagram(&once, &Limits::default());
    let twice = reparsed.map(|m| m.map(|m| m.to_bytes()));
    assert_eq!(twice, Ok(Some(once)));
}
