//! Arbitrary bytes through both framings, the XML decoder and the capture decoder.
//! Nothing may panic; frames never exceed the codec's bound; whatever decodes must
//! encode stably: encode(decode(encode(m))) == encode(m).

#![no_main]

use bytes::BytesMut;
use csta::{Edition, FrameCodec, Framing, decode, decode_stream, encode};
use libfuzzer_sys::fuzz_target;

const MAX_FRAME: usize = 4096;

fuzz_target!(|data: &[u8]| {
    for framing in [Framing::Header, Framing::Nul] {
        let mut codec = FrameCodec::new(framing).with_max_frame(MAX_FRAME);
        // Feed in two pieces so that partial frames are exercised too.
        let (first, second) = data.split_at(data.len() / 2);
        let mut src = BytesMut::from(first);
        let mut pieces = [second].into_iter();
        loop {
            match codec.decode(&mut src) {
                Ok(Some(frame)) => {
                    assert!(frame.xml.len() <= MAX_FRAME);
                    check_xml(&frame.xml);
                }
                Ok(None) => match pieces.next() {
                    Some(piece) => src.extend_from_slice(piece),
                    None => break,
                },
                Err(_) => break,
            }
        }
    }
    check_xml(data);
    for item in decode_stream(data) {
        let _ = item.map(|item| item.to_json());
    }
});

fn check_xml(xml: &[u8]) {
    if let Ok(message) = decode(xml) {
        let once = encode(&message, Edition::Ed3);
        let twice = decode(once.as_bytes()).map(|m| encode(&m, Edition::Ed3));
        assert_eq!(twice.as_deref(), Ok(once.as_str()));
    }
}
