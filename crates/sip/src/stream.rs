//! Cutting SIP messages out of a TCP (or TLS) byte stream (RFC 3261 §18.3):
//!
//! ```text
//! \r\n\r\n                         keepalive ping (RFC 5626 §3.5.1): answer "\r\n"
//! REGISTER … \r\n … \r\n\r\n       head, up to the empty line
//! <Content-Length bytes>           body; Content-Length is mandatory on streams
//! ```
//! [`StreamFramer`] has the shape of `tokio_util::codec::Decoder`: give it the buffer
//! the socket reads into, and it takes whole messages off the front. It never lets a
//! message (head or body) grow past [`Limits::max_message`]. After an error the stream is
//! out of step: close the connection.

use bytes::{Buf, BytesMut};

use crate::error::ParseError;
use crate::message::Message;
use crate::parse::{Head, Limits, find_head_end, parse_head, skip_line_breaks};

/// What the framer took off the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamItem {
    /// Boxed: a message is large next to a keepalive.
    Message(Box<Message>),
    /// A CRLFCRLF keepalive ping; the server answers with a single CRLF (pong).
    KeepAlive,
}

/// Splits a byte stream into [`StreamItem`]s; see the module docs.
#[derive(Debug)]
pub struct StreamFramer {
    limits: Limits,
    /// Bytes already searched for the end of the head.
    scanned: usize,
    /// A parsed head waiting for its body: the head and where the body starts.
    pending: Option<(Head, usize)>,
}

const PING: &[u8] = b"\r\n\r\n";

impl StreamFramer {
    pub fn new(limits: Limits) -> StreamFramer {
        StreamFramer {
            limits,
            scanned: 0,
            pending: None,
        }
    }

    /// The next item in `src`, consumed from it; `Ok(None)` when more bytes are needed.
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<StreamItem>, ParseError> {
        if self.pending.is_none() && self.scanned == 0 {
            if src.starts_with(PING) {
                src.advance(PING.len());
                return Ok(Some(StreamItem::KeepAlive));
            }
            let breaks = skip_line_breaks(src);
            if breaks == src.len() && breaks < PING.len() {
                // Perhaps the start of a ping: wait for the rest.
                return Ok(None);
            }
            src.advance(breaks);
            if src.is_empty() {
                return Ok(None);
            }
        }
        let (head, body_start) = match self.pending.take() {
            Some(pending) => pending,
            None => {
                // Resume a little before the end of the last search: the empty line may
                // have been split between reads.
                let from = self.scanned.saturating_sub(2);
                let Some((head_end, body_start)) = find_head_end(src, from) else {
                    self.scanned = src.len();
                    return match src.len() > self.limits.max_message {
                        true => Err(self.too_large(src.len())),
                        false => Ok(None),
                    };
                };
                self.scanned = 0;
                if body_start > self.limits.max_message {
                    return Err(self.too_large(body_start));
                }
                let head = parse_head(src.get(..head_end).unwrap_or_default(), &self.limits)?;
                (head, body_start)
            }
        };
        let length = head
            .content_length
            .ok_or(ParseError::MissingContentLength)?;
        let total = body_start.saturating_add(length);
        if total > self.limits.max_message {
            return Err(self.too_large(total));
        }
        if src.len() < total {
            src.reserve(total - src.len());
            self.pending = Some((head, body_start));
            return Ok(None);
        }
        let mut message = src.split_to(total);
        message.advance(body_start);
        let message = head.into_message(message.freeze());
        Ok(Some(StreamItem::Message(Box::new(message))))
    }

    fn too_large(&self, size: usize) -> ParseError {
        ParseError::TooLarge {
            size,
            max: self.limits.max_message,
        }
    }
}

#[cfg(test)]
mod tests;
