//! SIP requests and responses (RFC 3261 §7): start line, headers, body.
//!
//! ```text
//! REGISTER sip:example.com SIP/2.0          SIP/2.0 200 OK
//! Via: SIP/2.0/UDP 192.0.2.7;branch=…       Via: SIP/2.0/UDP 192.0.2.7;branch=…
//! …                                         …
//! Content-Length: 0                         Content-Length: 0
//! ```
//! Bytes become a [`Message`] in [`crate::parse`] (datagrams) or [`crate::stream`] (TCP);
//! a message becomes bytes with `encode`/`to_bytes` (see [`crate::print`]).

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;

use crate::error::HeaderError;
use crate::header::Headers;
use crate::random;
use crate::uri::Uri;

/// A request method; methods are case-sensitive tokens (RFC 3261 §7.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Register,
    Invite,
    Ack,
    Bye,
    Cancel,
    Options,
    Info,
    Prack,
    Update,
    Subscribe,
    Notify,
    Message,
    Refer,
    Publish,
    /// An extension method, kept as written.
    Other(String),
}

impl Method {
    const KNOWN: [(Method, &'static str); 14] = [
        (Method::Register, "REGISTER"),
        (Method::Invite, "INVITE"),
        (Method::Ack, "ACK"),
        (Method::Bye, "BYE"),
        (Method::Cancel, "CANCEL"),
        (Method::Options, "OPTIONS"),
        (Method::Info, "INFO"),
        (Method::Prack, "PRACK"),
        (Method::Update, "UPDATE"),
        (Method::Subscribe, "SUBSCRIBE"),
        (Method::Notify, "NOTIFY"),
        (Method::Message, "MESSAGE"),
        (Method::Refer, "REFER"),
        (Method::Publish, "PUBLISH"),
    ];

    /// The method named by `token`; `None` if it is not a token.
    pub fn parse(token: &str) -> Option<Method> {
        if !crate::text::is_token(token) {
            return None;
        }
        let known = Method::KNOWN.iter().find(|(_, name)| *name == token);
        Some(known.map_or_else(|| Method::Other(token.to_owned()), |(m, _)| m.clone()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Other(name) => name,
            known => Method::KNOWN
                .iter()
                .find(|(m, _)| m == known)
                .map_or("", |(_, name)| name),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A response status code, 100 to 699.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(u16);

impl StatusCode {
    pub const TRYING: StatusCode = StatusCode(100);
    pub const RINGING: StatusCode = StatusCode(180);
    pub const OK: StatusCode = StatusCode(200);
    pub const BAD_REQUEST: StatusCode = StatusCode(400);
    pub const UNAUTHORIZED: StatusCode = StatusCode(401);
    pub const FORBIDDEN: StatusCode = StatusCode(403);
    pub const NOT_FOUND: StatusCode = StatusCode(404);
    pub const METHOD_NOT_ALLOWED: StatusCode = StatusCode(405);
    pub const REQUEST_TIMEOUT: StatusCode = StatusCode(408);
    pub const UNSUPPORTED_MEDIA_TYPE: StatusCode = StatusCode(415);
    pub const INTERVAL_TOO_BRIEF: StatusCode = StatusCode(423);
    pub const TEMPORARILY_UNAVAILABLE: StatusCode = StatusCode(480);
    pub const CALL_DOES_NOT_EXIST: StatusCode = StatusCode(481);
    pub const BUSY_HERE: StatusCode = StatusCode(486);
    pub const REQUEST_TERMINATED: StatusCode = StatusCode(487);
    pub const SERVER_INTERNAL_ERROR: StatusCode = StatusCode(500);
    pub const NOT_IMPLEMENTED: StatusCode = StatusCode(501);
    pub const SERVICE_UNAVAILABLE: StatusCode = StatusCode(503);
    pub const DECLINE: StatusCode = StatusCode(603);

    /// `None` outside 100..=699.
    pub fn new(code: u16) -> Option<StatusCode> {
        (100..=699).contains(&code).then_some(StatusCode(code))
    }

    pub fn as_u16(self) -> u16 {
        self.0
    }

    /// 1xx: the request is being worked on.
    pub fn is_provisional(self) -> bool {
        self.0 < 200
    }

    /// 2xx.
    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }

    /// The RFC 3261 §21 reason phrase (or the class's for other codes).
    pub fn reason_phrase(self) -> &'static str {
        let exact = match self.0 {
            100 => "Trying",
            180 => "Ringing",
            183 => "Session Progress",
            200 => "OK",
            202 => "Accepted",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            415 => "Unsupported Media Type",
            420 => "Bad Extension",
            423 => "Interval Too Brief",
            480 => "Temporarily Unavailable",
            481 => "Call/Transaction Does Not Exist",
            486 => "Busy Here",
            487 => "Request Terminated",
            488 => "Not Acceptable Here",
            500 => "Server Internal Error",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            603 => "Decline",
            _ => "",
        };
        match (exact, self.0 / 100) {
            ("", 1) => "Provisional",
            ("", 2) => "Success",
            ("", 3) => "Redirection",
            ("", 4) => "Client Error",
            ("", 5) => "Server Error",
            ("", _) => "Global Failure",
            (exact, _) => exact,
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A SIP request. `Content-Length` is not among the headers: it is the body's length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub uri: Uri,
    pub headers: Headers,
    pub body: Bytes,
}

impl Request {
    /// A request without headers or body.
    pub fn new(method: Method, uri: Uri) -> Request {
        Request {
            method,
            uri,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Records the packet's source address in the top Via (`received`, `rport`), as a
    /// server must before it builds responses; see [`Via::record_source`](crate::Via).
    pub fn record_source(&mut self, source: SocketAddr) -> Result<(), HeaderError> {
        let mut via = self.headers.top_via()?;
        via.record_source(source);
        if let Some(value) = self.headers.first_mut("Via") {
            *value = via.to_string();
        }
        Ok(())
    }

    /// Sets the body and its `Content-Type`.
    pub fn set_body(&mut self, content_type: &str, body: impl Into<Bytes>) {
        self.headers.set("Content-Type", content_type);
        self.body = body.into();
    }
}

/// A SIP response. `Content-Length` is not among the headers: it is the body's length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: StatusCode,
    pub reason: String,
    pub headers: Headers,
    pub body: Bytes,
}

impl Response {
    /// A response with the standard reason phrase, no headers and no body.
    pub fn new(status: StatusCode) -> Response {
        Response {
            status,
            reason: status.reason_phrase().to_owned(),
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// The response a UAS sends to `request` (RFC 3261 §8.2.6): Via, From, To, Call-ID
    /// and CSeq copied, and a fresh To tag unless the request had one or this is a 100.
    pub fn for_request(request: &Request, status: StatusCode) -> Response {
        let mut response = Response::new(status);
        for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
            for value in request.headers.get_all(name) {
                response.headers.push(name, value);
            }
        }
        if status != StatusCode::TRYING {
            if let Ok(mut to) = request.headers.to() {
                if to.tag().is_none() {
                    to.set_tag(&random::new_tag());
                    response.headers.set("To", to.to_string());
                }
            }
        }
        response
    }

    /// Sets the body and its `Content-Type`.
    pub fn set_body(&mut self, content_type: &str, body: impl Into<Bytes>) {
        self.headers.set("Content-Type", content_type);
        self.body = body.into();
    }
}

/// Either kind of SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response(Response),
}

impl From<Request> for Message {
    fn from(request: Request) -> Message {
        Message::Request(request)
    }
}

impl From<Response> for Message {
    fn from(response: Response) -> Message {
        Message::Response(response)
    }
}

impl Message {
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(request) => &request.headers,
            Message::Response(response) => &response.headers,
        }
    }

    pub fn body(&self) -> &Bytes {
        match self {
            Message::Request(request) => &request.body,
            Message::Response(response) => &response.body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_case_sensitive_tokens() {
        assert_eq!(Method::parse("INVITE"), Some(Method::Invite));
        assert_eq!(
            Method::parse("invite"),
            Some(Method::Other("invite".into()))
        );
        assert_eq!(Method::parse("IN VITE"), None);
        assert_eq!(Method::Info.to_string(), "INFO");
        for (method, name) in Method::KNOWN {
            assert_eq!(Method::parse(name).as_ref(), Some(&method));
            assert_eq!(method.as_str(), name);
        }
    }

    #[test]
    fn status_codes() {
        assert_eq!(StatusCode::new(99), None);
        assert_eq!(StatusCode::new(700), None);
        let code = StatusCode::new(423).unwrap();
        assert_eq!(code, StatusCode::INTERVAL_TOO_BRIEF);
        assert_eq!(code.reason_phrase(), "Interval Too Brief");
        assert_eq!(
            StatusCode::new(499).unwrap().reason_phrase(),
            "Client Error"
        );
        assert!(StatusCode::OK.is_success() && !StatusCode::RINGING.is_success());
        assert!(StatusCode::TRYING.is_provisional() && !StatusCode::OK.is_provisional());
    }

    #[test]
    fn responses_copy_the_transaction_headers_and_tag_the_to() {
        let mut request = Request::new(Method::Register, Uri::parse("sip:example.com").unwrap());
        for (name, value) in [
            ("Via", "SIP/2.0/UDP a;branch=z9hG4bK1"),
            ("Via", "SIP/2.0/UDP b;branch=z9hG4bK2"),
            ("From", "<sip:alice@example.com>;tag=1"),
            ("To", "<sip:alice@example.com>"),
            ("Call-ID", "x@y"),
            ("CSeq", "1 REGISTER"),
            ("Contact", "<sip:alice@192.0.2.1>"),
        ] {
            request.headers.push(name, value);
        }
        let response = Response::for_request(&request, StatusCode::OK);
        assert_eq!(response.headers.get_all("Via").count(), 2);
        assert_eq!(response.headers.get("Contact"), None);
        let tag = response.headers.to().unwrap().tag().map(str::to_owned);
        assert!(tag.is_some_and(|t| t.len() >= 8));
        let trying = Response::for_request(&request, StatusCode::TRYING);
        assert_eq!(trying.headers.get("To"), Some("<sip:alice@example.com>"));
    }
}
