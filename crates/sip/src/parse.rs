//! Bytes → [`Message`]: the start line, header lines and body of RFC 3261 §7, bounded.
//!
//! ```text
//! INVITE sip:bob@biloxi.example.com SIP/2.0\r\n     start line
//! v: SIP/2.0/TCP client.atlanta.example.com\r\n      headers: any case, compact forms,
//!  ;branch=z9hG4bK74bf9\r\n                         folded lines, lists split per element
//! l: 5\r\n
//! \r\n                                               empty line
//! hello                                             body (Content-Length bytes)
//! ```
//! [`parse_datagram`] reads one UDP packet; [`crate::stream::StreamFramer`] cuts messages
//! out of a TCP stream with the same head parser. Both honour [`Limits`], so no input can
//! make them allocate more than about the message size limit, and none makes them panic.

use bytes::Bytes;

use crate::error::ParseError;
use crate::header::{HeaderName, Headers};
use crate::message::{Message, Method, Request, Response, StatusCode};
use crate::uri::Uri;

/// Bounds on what the parser accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message, head and body together. Default 64 KiB.
    pub max_message: usize,
    /// Most header fields (list elements count one each). Default 256.
    pub max_headers: usize,
    /// Longest start line or header (after unfolding). Default 8 KiB.
    pub max_line: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_message: 64 * 1024,
            max_headers: 256,
            max_line: 8 * 1024,
        }
    }
}

/// Parses one datagram. `Ok(None)` for a keepalive (only CR and LF bytes). Without a
/// Content-Length the body is the rest of the packet (RFC 3261 §18.3); bytes past the
/// Content-Length are ignored.
pub fn parse_datagram(datagram: &[u8], limits: &Limits) -> Result<Option<Message>, ParseError> {
    if datagram.len() > limits.max_message {
        return Err(ParseError::TooLarge {
            size: datagram.len(),
            max: limits.max_message,
        });
    }
    let start = skip_line_breaks(datagram);
    let Some(datagram) = datagram.get(start..).filter(|rest| !rest.is_empty()) else {
        return Ok(None);
    };
    let (head_end, body_start) = find_head_end(datagram, 0).ok_or(ParseError::UnterminatedHead)?;
    let head = parse_head(datagram.get(..head_end).unwrap_or_default(), limits)?;
    let rest = datagram.get(body_start..).unwrap_or_default();
    let body = match head.content_length {
        Some(declared) => rest.get(..declared).ok_or(ParseError::TruncatedBody {
            declared,
            actual: rest.len(),
        })?,
        None => rest,
    };
    Ok(Some(head.into_message(Bytes::copy_from_slice(body))))
}

/// How many CR and LF bytes start `bytes` (CRLFs before a start line are ignored).
pub(crate) fn skip_line_breaks(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|b| *b != b'\r' && *b != b'\n')
        .unwrap_or(bytes.len())
}

/// Finds the empty line that ends the head, searching from `from`: returns where the head
/// text ends (at the last header's LF) and where the body starts. Accepts CRLF or bare LF.
pub(crate) fn find_head_end(bytes: &[u8], from: usize) -> Option<(usize, usize)> {
    let tail = bytes.get(from..)?;
    memchr::memchr_iter(b'\n', tail).find_map(|offset| {
        let at = from + offset;
        match (bytes.get(at + 1), bytes.get(at + 2)) {
            (Some(b'\n'), _) => Some((at, at + 2)),
            (Some(b'\r'), Some(b'\n')) => Some((at, at + 3)),
            _ => None,
        }
    })
}

/// The parsed head of a message, waiting for its body.
#[derive(Debug)]
pub(crate) struct Head {
    start: StartLine,
    headers: Headers,
    pub(crate) content_length: Option<usize>,
}

#[derive(Debug)]
enum StartLine {
    Request(Method, Uri),
    Response(StatusCode, String),
}

impl Head {
    pub(crate) fn into_message(self, body: Bytes) -> Message {
        let headers = self.headers;
        match self.start {
            StartLine::Request(method, uri) => Message::Request(Request {
                method,
                uri,
                headers,
                body,
            }),
            StartLine::Response(status, reason) => Message::Response(Response {
                status,
                reason,
                headers,
                body,
            }),
        }
    }
}

/// Parses the head: the start line and header lines, without the empty line after them.
pub(crate) fn parse_head(head: &[u8], limits: &Limits) -> Result<Head, ParseError> {
    let text = std::str::from_utf8(head).map_err(|_| ParseError::InvalidUtf8)?;
    let mut lines = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line));
    let start_line = lines.next().unwrap_or_default();
    if start_line.len() > limits.max_line {
        return Err(ParseError::LineTooLong {
            max: limits.max_line,
        });
    }
    if start_line.contains('\r') {
        return Err(ParseError::BadStartLine {
            line: start_line.chars().take(80).collect(),
            reason: "a CR inside the line",
        });
    }
    let start = parse_start_line(start_line)?;

    let mut head = Head {
        start,
        headers: Headers::new(),
        content_length: None,
    };
    // A header may be folded over several lines; it is complete when the next one starts.
    let mut current: Option<(usize, String)> = None;
    for (index, line) in lines.enumerate() {
        if line.len() > limits.max_line {
            return Err(ParseError::LineTooLong {
                max: limits.max_line,
            });
        }
        let number = index + 2;
        if line.contains('\r') {
            return Err(ParseError::BadHeader {
                line: number,
                reason: "a CR inside the line",
            });
        }
        if line.starts_with([' ', '\t']) {
            let (_, header) = current.as_mut().ok_or(ParseError::BadHeader {
                line: number,
                reason: "a continuation line before any header",
            })?;
            let piece = line.trim();
            if header.len() + 1 + piece.len() > limits.max_line {
                return Err(ParseError::LineTooLong {
                    max: limits.max_line,
                });
            }
            if !piece.is_empty() {
                header.push(' ');
                header.push_str(piece);
            }
            continue;
        }
        if let Some((number, header)) = current.replace((number, line.to_owned())) {
            add_header(&mut head, number, &header, limits)?;
        }
    }
    if let Some((number, header)) = current {
        add_header(&mut head, number, &header, limits)?;
    }
    Ok(head)
}

fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    let bad = |reason| ParseError::BadStartLine {
        line: line.chars().take(80).collect(),
        reason,
    };
    if let Some(rest) = strip_version(line) {
        // SIP/2.0 200 OK — the reason phrase may be empty or hold spaces.
        let rest = rest
            .strip_prefix(' ')
            .ok_or_else(|| bad("no status code"))?;
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let status = Some(code)
            .filter(|code| code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|code| code.parse().ok())
            .and_then(StatusCode::new)
            .ok_or_else(|| bad("the status code is not a number from 100 to 699"))?;
        return Ok(StartLine::Response(status, reason.trim().to_owned()));
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("expected `METHOD Request-URI SIP/2.0`"));
    };
    let method = Method::parse(method).ok_or_else(|| bad("the method is not a token"))?;
    if strip_version(version) != Some("") {
        return Err(bad("the version is not SIP/2.0"));
    }
    let uri = Uri::parse(uri).map_err(|error| bad(error.reason))?;
    Ok(StartLine::Request(method, uri))
}

/// `SIP/2.0` at the start of `text` (any case), and what follows.
fn strip_version(text: &str) -> Option<&str> {
    let version = text.get(..7)?;
    version
        .eq_ignore_ascii_case("SIP/2.0")
        .then(|| text.get(7..))
        .flatten()
}

fn add_header(
    head: &mut Head,
    line: usize,
    header: &str,
    limits: &Limits,
) -> Result<(), ParseError> {
    let bad = |reason| ParseError::BadHeader { line, reason };
    let (name, value) = header
        .split_once(':')
        .ok_or_else(|| bad("no `:` after the name"))?;
    let name = name.trim_end_matches([' ', '\t']);
    if !crate::text::is_token(name) {
        return Err(bad("the header name is not a token"));
    }
    let name = HeaderName::new(name);
    let value = value.trim();
    if name.is("Content-Length") {
        let length = crate::typed::parse_seconds(value)
            .and_then(|length| usize::try_from(length).ok())
            .ok_or_else(|| ParseError::BadContentLength(value.chars().take(20).collect()))?;
        if head.content_length.is_some_and(|known| known != length) {
            return Err(ParseError::BadContentLength(value.to_owned()));
        }
        head.content_length = Some(length);
        return Ok(());
    }
    if !head.headers.push_line(name, value, limits.max_headers) {
        return Err(ParseError::TooManyHeaders {
            max: limits.max_headers,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
