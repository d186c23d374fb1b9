//! Framing: how XML documents are cut out of a TCP byte stream, and nothing else.
//!
//! ECMA-323 "TCP without SOAP", used by most switches:
//! ```text
//! bytes 0-1  0x00 0x00
//! bytes 2-3  u16 big-endian: total frame length = 8 + XML length
//! bytes 4-7  four ASCII digits: invoke id ("9999" for events)
//! bytes 8..  the XML document
//! ```
//! Some switches (e.g. uni-tel) send no header and end each document with a NUL byte:
//! ```text
//! <?xml version="1.0"?><DeliveredEvent …>…</DeliveredEvent>\0
//! ```
//! [`FrameCodec`] has the shape of `tokio_util::codec::{Decoder, Encoder}` so a link can
//! wrap it in a real codec; it is bounded by [`FrameCodec::max_frame`] in both framings.
//! After a decode error the stream is out of step: the caller should close the link.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::invoke::InvokeId;

/// The default (and, for the header framing, largest possible) frame: 64 KiB.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024;
/// Bytes in the ECMA-323 header.
pub const HEADER_LEN: usize = 8;

/// How documents are delimited on a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Framing {
    /// The 8-byte ECMA-323 header with length and invoke id.
    #[default]
    Header,
    /// No header; each document ends with a NUL byte. No invoke ids.
    Nul,
}

/// One XML document and, in the header framing, its invoke id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub invoke_id: Option<InvokeId>,
    pub xml: Bytes,
}

impl Frame {
    pub fn new(invoke_id: Option<InvokeId>, xml: impl Into<Bytes>) -> Frame {
        Frame {
            invoke_id,
            xml: xml.into(),
        }
    }
}

/// Why bytes cannot be framed. Each variant has a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("bad CSTA frame header {header:02x?}: {reason}")]
    BadHeader {
        header: [u8; HEADER_LEN],
        reason: &'static str,
    },
    #[error("CSTA frame of {length} bytes exceeds the limit of {max} bytes")]
    TooLarge { length: usize, max: usize },
    #[error("the header framing needs an invoke id to send a frame")]
    MissingInvokeId,
    #[error("a NUL-delimited document cannot contain a NUL byte")]
    NulInDocument,
    #[error("the stream ended inside a frame ({buffered} bytes left over)")]
    Truncated { buffered: usize },
}

impl FrameError {
    pub fn code(&self) -> &'static str {
        match self {
            FrameError::BadHeader { .. } => "csta_bad_frame_header",
            FrameError::TooLarge { .. } => "csta_frame_too_large",
            FrameError::MissingInvokeId => "csta_missing_invoke_id",
            FrameError::NulInDocument => "csta_nul_in_document",
            FrameError::Truncated { .. } => "csta_truncated_frame",
        }
    }
}

/// A checked ECMA-323 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Total frame length, header included.
    pub length: usize,
    pub invoke_id: InvokeId,
}

/// Checks an 8-byte header: zero first bytes, length ≥ 8 and ≤ `max_frame`, four digits.
pub fn parse_header(header: [u8; HEADER_LEN], max_frame: usize) -> Result<Header, FrameError> {
    let bad = |reason| FrameError::BadHeader { header, reason };
    let [b0, b1, l0, l1, d0, d1, d2, d3] = header;
    if b0 != 0 || b1 != 0 {
        return Err(bad("the first two bytes must be zero"));
    }
    let length = usize::from(u16::from_be_bytes([l0, l1]));
    if length < HEADER_LEN {
        return Err(bad("the length is shorter than the header"));
    }
    let invoke_id = InvokeId::from_ascii([d0, d1, d2, d3])
        .ok_or_else(|| bad("the invoke id is not four digits"))?;
    if length > max_frame {
        return Err(FrameError::TooLarge {
            length,
            max: max_frame,
        });
    }
    Ok(Header { length, invoke_id })
}

/// Splits a byte stream into [`Frame`]s and writes frames back; see the module docs.
#[derive(Debug, Clone)]
pub struct FrameCodec {
    framing: Framing,
    max_frame: usize,
    /// NUL framing: bytes already searched for a NUL, so a slow document is scanned once.
    scanned: usize,
}

impl FrameCodec {
    pub fn new(framing: Framing) -> FrameCodec {
        FrameCodec {
            framing,
            max_frame: DEFAULT_MAX_FRAME,
            scanned: 0,
        }
    }

    /// Sets the largest frame accepted or sent: header included in the header framing,
    /// the document without its NUL in the NUL framing.
    pub fn with_max_frame(mut self, max_frame: usize) -> FrameCodec {
        self.max_frame = max_frame;
        self
    }

    pub fn framing(&self) -> Framing {
        self.framing
    }

    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// The next whole frame in `src`, consuming it; `Ok(None)` when more bytes are needed.
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        match self.framing {
            Framing::Header => self.decode_header(src),
            Framing::Nul => self.decode_nul(src),
        }
    }

    /// Like [`FrameCodec::decode`] once the peer has closed: a NUL-less last document is
    /// still a document; any other leftover is [`FrameError::Truncated`].
    pub fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        if src.iter().all(u8::is_ascii_whitespace) {
            src.clear();
            self.scanned = 0;
            return Ok(None);
        }
        match self.framing {
            Framing::Nul => {
                self.scanned = 0;
                Ok(Some(Frame::new(None, src.split().freeze())))
            }
            Framing::Header => Err(FrameError::Truncated {
                buffered: src.len(),
            }),
        }
    }

    fn decode_header(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        let Some(header) = src.get(..HEADER_LEN) else {
            return Ok(None);
        };
        let mut bytes = [0u8; HEADER_LEN];
        bytes.copy_from_slice(header);
        let header = parse_header(bytes, self.max_frame)?;
        if src.len() < header.length {
            src.reserve(header.length - src.len());
            return Ok(None);
        }
        let mut frame = src.split_to(header.length);
        frame.advance(HEADER_LEN);
        Ok(Some(Frame::new(Some(header.invoke_id), frame.freeze())))
    }

    fn decode_nul(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        loop {
            let unscanned = src.get(self.scanned..).unwrap_or_default();
            let Some(position) = memchr::memchr(0, unscanned) else {
                self.scanned = src.len();
                if src.len() > self.max_frame {
                    return Err(FrameError::TooLarge {
                        length: src.len(),
                        max: self.max_frame,
                    });
                }
                return Ok(None);
            };
            let end = self.scanned + position;
            self.scanned = 0;
            let mut document = src.split_to(end + 1);
            document.truncate(end);
            if document.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if document.len() > self.max_frame {
                return Err(FrameError::TooLarge {
                    length: document.len(),
                    max: self.max_frame,
                });
            }
            return Ok(Some(Frame::new(None, document.freeze())));
        }
    }

    /// Appends `frame` to `dst` in this codec's framing.
    pub fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), FrameError> {
        match self.framing {
            Framing::Header => {
                let invoke_id = frame.invoke_id.ok_or(FrameError::MissingInvokeId)?;
                let length = HEADER_LEN + frame.xml.len();
                let wire_length = u16::try_from(length)
                    .ok()
                    .filter(|_| length <= self.max_frame)
                    .ok_or(FrameError::TooLarge {
                        length,
                        max: self.max_frame.min(usize::from(u16::MAX)),
                    })?;
                dst.reserve(length);
                dst.put_u16(0);
                dst.put_u16(wire_length);
                dst.put_slice(&invoke_id.to_ascii());
                dst.put_slice(&frame.xml);
            }
            Framing::Nul => {
                if frame.xml.len() > self.max_frame {
                    return Err(FrameError::TooLarge {
                        length: frame.xml.len(),
                        max: self.max_frame,
                    });
                }
                if memchr::memchr(0, &frame.xml).is_some() {
                    return Err(FrameError::NulInDocument);
                }
                dst.reserve(frame.xml.len() + 1);
                dst.put_slice(&frame.xml);
                dst.put_u8(0);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
