//! [`Message`] → bytes: the start line, one line per header field in order, the
//! `Content-Length` of the body, the empty line and the body.
//!
//! ```text
//! SIP/2.0 200 OK\r\n
//! Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK1;rport=5060;received=192.0.2.7\r\n
//! …\r\n
//! Content-Length: 0\r\n
//! \r\n
//! ```
//! Headers print in their long form. Line breaks are never written inside a line, so the
//! output always parses back into the same message.

use std::fmt::Write as _;

use bytes::{BufMut, Bytes, BytesMut};

use crate::header::Headers;
use crate::message::{Message, Request, Response};

impl Request {
    /// Appends the wire form of this request to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let mut head = String::with_capacity(256);
        // Writing to a String cannot fail.
        let _ = write!(head, "{} {} SIP/2.0", self.method, self.uri);
        write_message(dst, &head, &self.headers, &self.body);
    }

    /// The wire form of this request.
    pub fn to_bytes(&self) -> Bytes {
        let mut dst = BytesMut::new();
        self.encode(&mut dst);
        dst.freeze()
    }
}

impl Response {
    /// Appends the wire form of this response to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let mut head = String::with_capacity(64);
        let _ = write!(head, "SIP/2.0 {} {}", self.status, self.reason);
        write_message(dst, &head, &self.headers, &self.body);
    }

    /// The wire form of this response.
    pub fn to_bytes(&self) -> Bytes {
        let mut dst = BytesMut::new();
        self.encode(&mut dst);
        dst.freeze()
    }
}

impl Message {
    /// Appends the wire form of this message to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        match self {
            Message::Request(request) => request.encode(dst),
            Message::Response(response) => response.encode(dst),
        }
    }

    /// The wire form of this message.
    pub fn to_bytes(&self) -> Bytes {
        let mut dst = BytesMut::new();
        self.encode(&mut dst);
        dst.freeze()
    }
}

fn write_message(dst: &mut BytesMut, start_line: &str, headers: &Headers, body: &[u8]) {
    let size = start_line.len()
        + headers
            .iter()
            .map(|h| h.name.as_str().len() + h.value.len() + 4)
            .sum::<usize>()
        + 32
        + body.len();
    dst.reserve(size);
    put_line_text(dst, start_line);
    dst.put_slice(b"\r\n");
    for header in headers.iter() {
        if header.name.is("Content-Length") {
            continue;
        }
        put_line_text(dst, header.name.as_str());
        dst.put_slice(b": ");
        put_line_text(dst, &header.value);
        dst.put_slice(b"\r\n");
    }
    dst.put_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    dst.put_slice(body);
}

/// Writes `text` without CR or LF, which would end the line early.
fn put_line_text(dst: &mut BytesMut, text: &str) {
    if text.contains(['\r', '\n']) {
        for piece in text.split(['\r', '\n']) {
            dst.put_slice(piece.as_bytes());
        }
    } else {
        dst.put_slice(text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use crate::message::{Method, Request, Response, StatusCode};
    use crate::uri::Uri;

    #[test]
    fn prints_start_line_headers_length_and_body() {
        let mut request = Request::new(Method::Info, Uri::parse("sip:200@192.0.2.5:5062").unwrap());
        request.headers.push("Call-ID", "abc");
        request.headers.push("Content-Length", "99");
        request.set_body("application/csta+xml", "<x/>");
        assert_eq!(
            request.to_bytes(),
            "INFO sip:200@192.0.2.5:5062 SIP/2.0\r\nCall-ID: abc\r\n\
             Content-Type: application/csta+xml\r\nContent-Length: 4\r\n\r\n<x/>"
        );
        let mut response = Response::new(StatusCode::OK);
        response.reason = "OK\r\nEvil: 1".into();
        assert_eq!(
            response.to_bytes(),
            "SIP/2.0 200 OKEvil: 1\r\nContent-Length: 0\r\n\r\n"
        );
    }
}
