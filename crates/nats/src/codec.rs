//! The NATS core text protocol: server operations parsed incrementally from a byte buffer,
//! client operations encoded into one.
//!
//! The parser never panics on any input: a buffer holding only part of an operation yields
//! `Ok(None)` ("need more") and leaves the buffer untouched; a complete operation is removed
//! from the front of the buffer and returned; anything malformed or over a limit is a typed
//! [`CodecError`], after which the connection is not to be trusted any more.

use bytes::{Buf, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

/// The default limit on a control line (the text before CRLF, without it). The server's own
/// default for lines it accepts is 4 KiB; its INFO can be longer in a large cluster.
pub const DEFAULT_MAX_LINE: usize = 32 * 1024;

/// The server's default `max_payload`, used until its INFO says otherwise.
pub const DEFAULT_MAX_PAYLOAD: usize = 1024 * 1024;

/// What is wrong with bytes received or with an operation to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("control line longer than {limit} bytes")]
    LineTooLong { limit: usize },
    #[error("payload of {size} bytes exceeds max_payload of {max} bytes")]
    PayloadTooLarge { size: usize, max: usize },
    #[error("unknown protocol operation {0:?}")]
    UnknownOperation(String),
    #[error("malformed {op}: {reason}")]
    Malformed {
        op: &'static str,
        reason: &'static str,
    },
    #[error("JSON of {op}: {reason}")]
    Json { op: &'static str, reason: String },
    #[error("invalid subject {0:?}")]
    InvalidSubject(String),
    #[error("invalid queue group {0:?}")]
    InvalidQueue(String),
}

/// The server's INFO: only the fields this client reads or reports; others are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ServerInfo {
    pub server_id: String,
    pub server_name: String,
    pub version: String,
    pub proto: i64,
    pub max_payload: usize,
    pub headers: bool,
    pub auth_required: bool,
    pub tls_required: bool,
    pub client_id: u64,
}

impl Default for ServerInfo {
    fn default() -> Self {
        ServerInfo {
            server_id: String::new(),
            server_name: String::new(),
            version: String::new(),
            proto: 0,
            max_payload: DEFAULT_MAX_PAYLOAD,
            headers: false,
            auth_required: false,
            tls_required: false,
            client_id: 0,
        }
    }
}

/// The CONNECT options this client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectInfo {
    pub verbose: bool,
    pub pedantic: bool,
    pub tls_required: bool,
    pub name: String,
    pub lang: String,
    pub version: String,
    pub protocol: u8,
    pub echo: bool,
    /// Needed for `no_responders`: the server reports "no responders" as a header status.
    pub headers: bool,
    pub no_responders: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<String>,
}

/// An operation sent by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerOp {
    Info(Box<ServerInfo>),
    Msg {
        subject: String,
        sid: u64,
        reply: Option<String>,
        payload: Bytes,
    },
    /// A message with a header block (`NATS/1.0[ status[ description]]` and header lines).
    HMsg {
        subject: String,
        sid: u64,
        reply: Option<String>,
        headers: Bytes,
        payload: Bytes,
    },
    Ping,
    Pong,
    Ok,
    Err(String),
}

/// The status code on the first line of a header block (`NATS/1.0 503` gives 503), if any.
pub fn header_status(headers: &[u8]) -> Option<u16> {
    let line_end = memchr::memchr(b'\r', headers).unwrap_or(headers.len());
    let line = headers[..line_end].strip_prefix(b"NATS/1.0")?;
    let mut fields = line
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|f| !f.is_empty());
    let code = fields.next()?;
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(code).ok()?.parse().ok()
}

/// Parses server operations under two limits: the longest control line and the largest
/// message payload (the server's `max_payload`).
#[derive(Debug, Clone)]
pub struct Parser {
    max_line: usize,
    max_payload: usize,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new(DEFAULT_MAX_LINE, DEFAULT_MAX_PAYLOAD)
    }
}

/// At most this many fields follow an operation's name (HMSG with a reply-to has five).
const MAX_FIELDS: usize = 5;

impl Parser {
    pub fn new(max_line: usize, max_payload: usize) -> Parser {
        Parser {
            max_line,
            max_payload,
        }
    }

    /// Applies the `max_payload` of the server's (latest) INFO.
    pub fn set_max_payload(&mut self, max_payload: usize) {
        self.max_payload = max_payload;
    }

    /// Takes one complete operation off the front of `buf`; `Ok(None)` when `buf` holds only
    /// part of one (nothing is consumed then).
    pub fn parse(&self, buf: &mut BytesMut) -> Result<Option<ServerOp>, CodecError> {
        let window = buf.len().min(self.max_line.saturating_add(2));
        let Some(nl) = memchr::memchr(b'\n', &buf[..window]) else {
            if buf.len() >= self.max_line.saturating_add(2) {
                return Err(CodecError::LineTooLong {
                    limit: self.max_line,
                });
            }
            return Ok(None);
        };
        if nl == 0 || buf[nl - 1] != b'\r' {
            return Err(CodecError::Malformed {
                op: "control line",
                reason: "not terminated by CRLF",
            });
        }
        let head = nl + 1;
        let line = &buf[..nl - 1];
        let name_end = line.iter().position(|b| is_blank(*b)).unwrap_or(line.len());
        let (name, rest) = line.split_at(name_end);

        if name.eq_ignore_ascii_case(b"MSG") || name.eq_ignore_ascii_case(b"HMSG") {
            let with_headers = name.len() == 4;
            let op = if with_headers { "HMSG" } else { "MSG" };
            let mut fields: [&[u8]; MAX_FIELDS] = [&[]; MAX_FIELDS];
            let mut count = 0;
            for field in rest.split(|b| is_blank(*b)).filter(|f| !f.is_empty()) {
                if count == MAX_FIELDS {
                    return Err(CodecError::Malformed {
                        op,
                        reason: "too many fields",
                    });
                }
                fields[count] = field;
                count += 1;
            }
            let sizes = if with_headers { 2 } else { 1 };
            let reply = match count - sizes.min(count) {
                2 => None,
                3 => Some(fields[2]),
                _ => {
                    return Err(CodecError::Malformed {
                        op,
                        reason: "wrong number of fields",
                    });
                }
            };
            let total = parse_number(fields[count - 1], op)?;
            let header_len = if with_headers {
                parse_number(fields[count - 2], op)?
            } else {
                0
            };
            if header_len > total {
                return Err(CodecError::Malformed {
                    op,
                    reason: "header size larger than total size",
                });
            }
            if total > self.max_payload {
                return Err(CodecError::PayloadTooLarge {
                    size: total,
                    max: self.max_payload,
                });
            }
            let end = head + total + 2;
            if buf.len() < end {
                return Ok(None);
            }
            if &buf[head + total..end] != b"\r\n" {
                return Err(CodecError::Malformed {
                    op,
                    reason: "payload not followed by CRLF",
                });
            }
            let subject = text(fields[0], op)?;
            let sid = parse_number(fields[1], op)?;
            let reply = reply.map(|r| text(r, op)).transpose()?;
            if with_headers && !buf[head..head + header_len].starts_with(b"NATS/1.0") {
                return Err(CodecError::Malformed {
                    op,
                    reason: "header block does not start with NATS/1.0",
                });
            }
            buf.advance(head);
            let headers = buf.split_to(header_len).freeze();
            let payload = buf.split_to(total - header_len).freeze();
            buf.advance(2);
            return Ok(Some(if with_headers {
                ServerOp::HMsg {
                    subject,
                    sid,
                    reply,
                    headers,
                    payload,
                }
            } else {
                ServerOp::Msg {
                    subject,
                    sid,
                    reply,
                    payload,
                }
            }));
        }

        let op = if name.eq_ignore_ascii_case(b"PING") {
            ServerOp::Ping
        } else if name.eq_ignore_ascii_case(b"PONG") {
            ServerOp::Pong
        } else if name.eq_ignore_ascii_case(b"+OK") {
            ServerOp::Ok
        } else if name.eq_ignore_ascii_case(b"-ERR") {
            let message = trim(rest);
            let message = message
                .strip_prefix(b"'")
                .and_then(|m| m.strip_suffix(b"'"))
                .unwrap_or(message);
            ServerOp::Err(String::from_utf8_lossy(message).into_owned())
        } else if name.eq_ignore_ascii_case(b"INFO") {
            let info: ServerInfo =
                serde_json::from_slice(trim(rest)).map_err(|e| CodecError::Json {
                    op: "INFO",
                    reason: e.to_string(),
                })?;
            ServerOp::Info(Box::new(info))
        } else {
            let shown = &name[..name.len().min(32)];
            return Err(CodecError::UnknownOperation(
                String::from_utf8_lossy(shown).into_owned(),
            ));
        };
        buf.advance(head);
        Ok(Some(op))
    }
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_blank(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_blank(*last) {
            break;
        }
        s = rest;
    }
    s
}

fn text(field: &[u8], op: &'static str) -> Result<String, CodecError> {
    std::str::from_utf8(field)
        .map(str::to_owned)
        .map_err(|_| CodecError::Malformed {
            op,
            reason: "subject is not UTF-8",
        })
}

fn parse_number<T: std::str::FromStr>(field: &[u8], op: &'static str) -> Result<T, CodecError> {
    let malformed = CodecError::Malformed {
        op,
        reason: "not a decimal number",
    };
    if field.is_empty() || !field.iter().all(u8::is_ascii_digit) {
        return Err(malformed);
    }
    std::str::from_utf8(field)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(malformed)
}

/// An operation sent by the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientOp<'a> {
    Connect(&'a ConnectInfo),
    Pub {
        subject: &'a str,
        reply: Option<&'a str>,
        payload: &'a [u8],
    },
    Sub {
        subject: &'a str,
        queue: Option<&'a str>,
        sid: u64,
    },
    Unsub {
        sid: u64,
        max: Option<u64>,
    },
    Ping,
    Pong,
}

impl ClientOp<'_> {
    /// Appends the operation to `out`; an invalid subject, reply-to or queue group is refused
    /// and `out` is left as it was.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), CodecError> {
        match *self {
            ClientOp::Connect(info) => {
                let json = serde_json::to_vec(info).map_err(|e| CodecError::Json {
                    op: "CONNECT",
                    reason: e.to_string(),
                })?;
                out.extend_from_slice(b"CONNECT ");
                out.extend_from_slice(&json);
                out.extend_from_slice(b"\r\n");
            }
            ClientOp::Pub {
                subject,
                reply,
                payload,
            } => {
                check_publish_subject(subject)?;
                if let Some(reply) = reply {
                    check_publish_subject(reply)?;
                }
                out.extend_from_slice(b"PUB ");
                out.extend_from_slice(subject.as_bytes());
                if let Some(reply) = reply {
                    out.extend_from_slice(b" ");
                    out.extend_from_slice(reply.as_bytes());
                }
                out.extend_from_slice(b" ");
                put_decimal(out, payload.len() as u64);
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(payload);
                out.extend_from_slice(b"\r\n");
            }
            ClientOp::Sub {
                subject,
                queue,
                sid,
            } => {
                check_subscribe_subject(subject)?;
                if let Some(queue) = queue {
                    check_queue(queue)?;
                }
                out.extend_from_slice(b"SUB ");
                out.extend_from_slice(subject.as_bytes());
                if let Some(queue) = queue {
                    out.extend_from_slice(b" ");
                    out.extend_from_slice(queue.as_bytes());
                }
                out.extend_from_slice(b" ");
                put_decimal(out, sid);
                out.extend_from_slice(b"\r\n");
            }
            ClientOp::Unsub { sid, max } => {
                out.extend_from_slice(b"UNSUB ");
                put_decimal(out, sid);
                if let Some(max) = max {
                    out.extend_from_slice(b" ");
                    put_decimal(out, max);
                }
                out.extend_from_slice(b"\r\n");
            }
            ClientOp::Ping => out.extend_from_slice(b"PING\r\n"),
            ClientOp::Pong => out.extend_from_slice(b"PONG\r\n"),
        }
        Ok(())
    }
}

fn put_decimal(out: &mut BytesMut, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// A subject one can publish to (or name as reply-to): non-empty dot-separated tokens, no
/// whitespace or control characters, no wildcard tokens.
pub fn check_publish_subject(subject: &str) -> Result<(), CodecError> {
    check_subject(subject, false)
}

/// A subject one can subscribe to: as for publishing, plus the wildcard tokens `*` and a
/// final `>`.
pub fn check_subscribe_subject(subject: &str) -> Result<(), CodecError> {
    check_subject(subject, true)
}

fn check_subject(subject: &str, wildcards: bool) -> Result<(), CodecError> {
    let invalid = || CodecError::InvalidSubject(subject.to_owned());
    if subject.is_empty() || subject.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let mut tokens = subject.split('.').peekable();
    while let Some(token) = tokens.next() {
        let last = tokens.peek().is_none();
        match token {
            "" => return Err(invalid()),
            "*" if !wildcards => return Err(invalid()),
            ">" if !wildcards || !last => return Err(invalid()),
            _ => {}
        }
    }
    Ok(())
}

fn check_queue(queue: &str) -> Result<(), CodecError> {
    if queue.is_empty() || queue.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CodecError::InvalidQueue(queue.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Encodes a server operation the way the NATS server writes it.
    fn server_encode(op: &ServerOp, out: &mut Vec<u8>) {
        match op {
            ServerOp::Info(info) => {
                out.extend_from_slice(
                    format!(
                        "INFO {{\"server_id\":\"{}\",\"version\":\"{}\",\"max_payload\":{},\"headers\":{}}} \r\n",
                        info.server_id, info.version, info.max_payload, info.headers
                    )
                    .as_bytes(),
                );
            }
            ServerOp::Msg {
                subject,
                sid,
                reply,
                payload,
            } => {
                let reply = reply.as_ref().map(|r| format!("{r} ")).unwrap_or_default();
                out.extend_from_slice(
                    format!("MSG {subject} {sid} {reply}{}\r\n", payload.len()).as_bytes(),
                );
                out.extend_from_slice(payload);
                out.extend_from_slice(b"\r\n");
            }
            ServerOp::HMsg {
                subject,
                sid,
                reply,
                headers,
                payload,
            } => {
                let reply = reply.as_ref().map(|r| format!("{r} ")).unwrap_or_default();
                out.extend_from_slice(
                    format!(
                        "HMSG {subject} {sid} {reply}{} {}\r\n",
                        headers.len(),
                        headers.len() + payload.len()
                    )
                    .as_bytes(),
                );
                out.extend_from_slice(headers);
                out.extend_from_slice(payload);
                out.extend_from_slice(b"\r\n");
            }
            ServerOp::Ping => out.extend_from_slice(b"PING\r\n"),
            ServerOp::Pong => out.extend_from_slice(b"PONG\r\n"),
            ServerOp::Ok => out.extend_from_slice(b"+OK\r\n"),
            ServerOp::Err(m) => out.extend_from_slice(format!("-ERR '{m}'\r\n").as_bytes()),
        }
    }

    fn parse_all(parser: &Parser, buf: &mut BytesMut) -> Result<Vec<ServerOp>, CodecError> {
        let mut ops = Vec::new();
        while let Some(op) = parser.parse(buf)? {
            ops.push(op);
        }
        Ok(ops)
    }

    fn subject() -> impl Strategy<Value = String> {
        prop::collection::vec("[A-Za-z0-9_$-]{1,8}", 1..5).prop_map(|t| t.join("."))
    }

    fn server_op() -> impl Strategy<Value = ServerOp> {
        let msg = (
            subject(),
            any::<u64>(),
            prop::option::of(subject()),
            prop::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(|(subject, sid, reply, payload)| ServerOp::Msg {
                subject,
                sid,
                reply,
                payload: Bytes::from(payload),
            });
        let hmsg = (
            subject(),
            any::<u64>(),
            prop::option::of(subject()),
            prop::option::of(100u16..600),
            prop::collection::vec(any::<u8>(), 0..100),
        )
            .prop_map(|(subject, sid, reply, status, payload)| {
                let status = status.map(|s| format!(" {s}")).unwrap_or_default();
                ServerOp::HMsg {
                    subject,
                    sid,
                    reply,
                    headers: Bytes::from(format!("NATS/1.0{status}\r\nX-A: b\r\n\r\n")),
                    payload: Bytes::from(payload),
                }
            });
        let info = (
            "[A-Z0-9]{1,20}",
            "[0-9.]{1,8}",
            1usize..10_000_000,
            any::<bool>(),
        )
            .prop_map(|(server_id, version, max_payload, headers)| {
                ServerOp::Info(Box::new(ServerInfo {
                    server_id,
                    version,
                    max_payload,
                    headers,
                    ..ServerInfo::default()
                }))
            });
        prop_oneof![
            4 => msg,
            2 => hmsg,
            1 => info,
            1 => Just(ServerOp::Ping),
            1 => Just(ServerOp::Pong),
            1 => Just(ServerOp::Ok),
            1 => "[a-zA-Z ]{0,30}".prop_map(ServerOp::Err),
        ]
    }

    fn big_parser() -> Parser {
        Parser::new(DEFAULT_MAX_LINE, usize::MAX / 4)
    }

    proptest! {
        #[test]
        fn a_message_round_trips(op in server_op()) {
            let mut wire = Vec::new();
            server_encode(&op, &mut wire);
            let mut buf = BytesMut::from(&wire[..]);
            let parsed = big_parser().parse(&mut buf);
            prop_assert_eq!(parsed, Ok(Some(op)));
            prop_assert!(buf.is_empty());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000),
                                       max_line in 0usize..64, max_payload in 0usize..512) {
            let parser = Parser::new(max_line, max_payload);
            let mut buf = BytesMut::from(&bytes[..]);
            // Each successful parse consumes at least one byte, so this ends.
            for _ in 0..=bytes.len() {
                match parser.parse(&mut buf) {
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
        }

        #[test]
        fn protocol_like_fragments_never_panic(
            pieces in prop::collection::vec(prop_oneof![
                Just(b"MSG ".to_vec()), Just(b"HMSG ".to_vec()), Just(b"INFO ".to_vec()),
                Just(b"-ERR ".to_vec()), Just(b"PING".to_vec()), Just(b"NATS/1.0 503".to_vec()),
                Just(b"\r\n".to_vec()), Just(b" ".to_vec()), Just(b"{}".to_vec()),
                "[0-9]{1,22}".prop_map(String::into_bytes),
                prop::collection::vec(any::<u8>(), 0..8),
            ], 0..40),
            max_payload in 0usize..64,
        ) {
            let bytes = pieces.concat();
            let parser = Parser::new(64, max_payload);
            let mut buf = BytesMut::from(&bytes[..]);
            for _ in 0..=bytes.len() {
                match parser.parse(&mut buf) {
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
        }

        #[test]
        fn any_split_of_a_stream_parses_the_same(
            ops in prop::collection::vec(server_op(), 1..12),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
        ) {
            let mut wire = Vec::new();
            for op in &ops {
                server_encode(op, &mut wire);
            }
            let parser = big_parser();
            let whole = parse_all(&parser, &mut BytesMut::from(&wire[..]));
            prop_assert_eq!(whole.as_ref(), Ok(&ops));

            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
            points.push(wire.len());
            points.sort_unstable();
            let mut buf = BytesMut::new();
            let mut parsed = Vec::new();
            let mut from = 0;
            for to in points {
                buf.extend_from_slice(&wire[from..to]);
                from = to;
                parsed.extend(parse_all(&parser, &mut buf).map_err(|e| TestCaseError::fail(e.to_string()))?);
            }
            prop_assert_eq!(parsed, ops);
            prop_assert!(buf.is_empty());
        }

        #[test]
        fn a_published_message_encodes_as_the_protocol_says(
            subject in subject(), reply in prop::option::of(subject()),
            payload in prop::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut out = BytesMut::new();
            ClientOp::Pub { subject: &subject, reply: reply.as_deref(), payload: &payload }
                .encode(&mut out).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let reply = reply.map(|r| format!("{r} ")).unwrap_or_default();
            let mut expected = format!("PUB {subject} {reply}{}\r\n", payload.len()).into_bytes();
            expected.extend_from_slice(&payload);
            expected.extend_from_slice(b"\r\n");
            prop_assert_eq!(&out[..], &expected[..]);
        }
    }

    #[test]
    fn partial_input_needs_more_and_consumes_nothing() {
        let parser = Parser::default();
        for wire in [
            &b"PIN"[..],
            b"PING\r",
            b"MSG a 1 5\r\nhel",
            b"MSG a 1 5\r\nhello\r",
        ] {
            let mut buf = BytesMut::from(wire);
            assert_eq!(parser.parse(&mut buf), Ok(None), "{wire:?}");
            assert_eq!(&buf[..], wire);
        }
    }

    #[test]
    fn operation_names_are_case_insensitive_and_fields_may_be_tabs() {
        let mut buf = BytesMut::from(&b"ping\r\nmsg\tfoo.bar  7\t_INBOX.x 2\r\nhi\r\n"[..]);
        let ops = parse_all(&Parser::default(), &mut buf);
        assert_eq!(
            ops,
            Ok(vec![
                ServerOp::Ping,
                ServerOp::Msg {
                    subject: "foo.bar".into(),
                    sid: 7,
                    reply: Some("_INBOX.x".into()),
                    payload: Bytes::from_static(b"hi"),
                }
            ])
        );
    }

    #[test]
    fn a_payload_over_max_payload_is_refused_before_it_arrives() {
        let parser = Parser::new(DEFAULT_MAX_LINE, 10);
        let mut buf = BytesMut::from(&b"MSG a 1 11\r\n"[..]);
        assert_eq!(
            parser.parse(&mut buf),
            Err(CodecError::PayloadTooLarge { size: 11, max: 10 })
        );
        let mut ok = BytesMut::from(&b"MSG a 1 10\r\n0123456789\r\n"[..]);
        assert!(matches!(
            parser.parse(&mut ok),
            Ok(Some(ServerOp::Msg { .. }))
        ));
    }

    #[test]
    fn a_line_over_the_limit_is_refused_even_without_its_end() {
        let parser = Parser::new(8, DEFAULT_MAX_PAYLOAD);
        let mut fits = BytesMut::from(&b"-ERR 'ab'\r\n"[..]);
        assert_eq!(
            parser.parse(&mut fits),
            Err(CodecError::LineTooLong { limit: 8 })
        );
        let mut exact = BytesMut::from(&b"-ERR 'a'\r\n"[..]);
        assert_eq!(
            parser.parse(&mut exact),
            Ok(Some(ServerOp::Err("a".into())))
        );
        let mut endless = BytesMut::from(&b"MSG aaaaaaaaaaaaa"[..]);
        assert_eq!(
            parser.parse(&mut endless),
            Err(CodecError::LineTooLong { limit: 8 })
        );
    }

    #[test]
    fn malformed_operations_are_typed_errors() {
        let parser = Parser::default();
        for wire in [
            &b"MSG a 1\r\n"[..],
            b"MSG a x 1\r\nx\r\n",
            b"MSG a 1 +1\r\nx\r\n",
            b"MSG a 1 1\r\nxy\r\n",
            b"MSG a b c d e f\r\n",
            b"HMSG a 1 5 4\r\nNATS/\r\n",
            b"HMSG a 1 4 4\r\nXXXX\r\n",
            b"PING\n",
            b"INFO {nope\r\n",
        ] {
            let result = parser.parse(&mut BytesMut::from(wire));
            assert!(
                matches!(
                    result,
                    Err(CodecError::Malformed { .. } | CodecError::Json { .. })
                ),
                "{wire:?}: {result:?}"
            );
        }
        assert_eq!(
            parser.parse(&mut BytesMut::from(&b"HELLO\r\n"[..])),
            Err(CodecError::UnknownOperation("HELLO".into()))
        );
    }

    #[test]
    fn subjects_are_checked() {
        for good in ["a", "a.b", "_INBOX.x1.y", "foo-bar.$SYS"] {
            assert_eq!(check_publish_subject(good), Ok(()), "{good}");
        }
        for bad in ["", "a b", "a\tb", "a..b", ".a", "a.", "a.*", "a.>", "a\r\n"] {
            assert!(check_publish_subject(bad).is_err(), "{bad:?}");
        }
        for good in ["a.*", "a.>", "*.b", ">", "a.*.c"] {
            assert_eq!(check_subscribe_subject(good), Ok(()), "{good}");
        }
        for bad in ["a.>.c", "> ", "a..*"] {
            assert!(check_subscribe_subject(bad).is_err(), "{bad:?}");
        }
        let mut out = BytesMut::new();
        let refused = ClientOp::Sub {
            subject: "a b",
            queue: None,
            sid: 1,
        }
        .encode(&mut out);
        assert_eq!(refused, Err(CodecError::InvalidSubject("a b".into())));
        assert!(out.is_empty());
        let refused = ClientOp::Sub {
            subject: "a",
            queue: Some("q 1"),
            sid: 1,
        }
        .encode(&mut out);
        assert_eq!(refused, Err(CodecError::InvalidQueue("q 1".into())));
    }

    #[test]
    fn client_operations_encode() {
        let mut out = BytesMut::new();
        let ops = [
            ClientOp::Sub {
                subject: "a.*",
                queue: Some("workers"),
                sid: 12,
            },
            ClientOp::Sub {
                subject: "b",
                queue: None,
                sid: 0,
            },
            ClientOp::Unsub { sid: 12, max: None },
            ClientOp::Unsub {
                sid: 3,
                max: Some(u64::MAX),
            },
            ClientOp::Ping,
            ClientOp::Pong,
        ];
        for op in ops {
            assert_eq!(op.encode(&mut out), Ok(()));
        }
        assert_eq!(
            &out[..],
            b"SUB a.* workers 12\r\nSUB b 0\r\nUNSUB 12\r\nUNSUB 3 18446744073709551615\r\nPING\r\nPONG\r\n"
        );
        let info = ConnectInfo {
            verbose: false,
            pedantic: false,
            tls_required: false,
            name: "n".into(),
            lang: "rust".into(),
            version: "0".into(),
            protocol: 1,
            echo: true,
            headers: true,
            no_responders: true,
            user: None,
            pass: None,
        };
        out.clear();
        assert_eq!(ClientOp::Connect(&info).encode(&mut out), Ok(()));
        assert!(out.starts_with(b"CONNECT {\"verbose\":false,"));
        assert!(out.ends_with(b"\"no_responders\":true}\r\n"));
    }

    #[test]
    fn header_status_is_read() {
        assert_eq!(header_status(b"NATS/1.0 503\r\n\r\n"), Some(503));
        assert_eq!(
            header_status(b"NATS/1.0 408 Request Timeout\r\n\r\n"),
            Some(408)
        );
        assert_eq!(header_status(b"NATS/1.0\r\nA: b\r\n\r\n"), None);
        assert_eq!(header_status(b"NATS/1.0 50x\r\n"), None);
        assert_eq!(header_status(b"HTTP/1.1 503\r\n"), None);
    }
}
