//! Decoding a capture message by message, for `ucplus csta decode [FILE|-]`.
//!
//! The input may be header frames, NUL-delimited documents or bare concatenated XML
//! documents; [`decode_stream`] detects which. Each message yields a [`DecodedItem`] or a
//! [`StreamError`], both with the byte offset where the message starts; decoding goes on
//! after a bad message wherever the framing allows (a bad header is skipped up to the
//! next plausible header, a broken bare document up to the next `<?xml`).
//!
//! Bare documents may each start with a UTF-8 BOM and be in any encoding [`decode`]
//! reads; comments and processing instructions after a root belong to its document. A
//! capture that starts with a UTF-16 BOM is one document.
//!
//! ```text
//! for item in csta::decode_stream(&bytes) {
//!     println!("{}", match item { Ok(item) => item.to_json(), Err(error) => error.to_json() });
//! }
//! ```

use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::{Value, json};

use crate::charset::{UTF8_BOM, UTF16_BE_BOM, UTF16_LE_BOM};
use crate::error::DecodeError;
use crate::frame::{DEFAULT_MAX_FRAME, FrameError, HEADER_LEN, parse_header};
use crate::invoke::InvokeId;
use crate::message::{MAX_DOCUMENT, Message, decode};

/// How the messages in a capture are delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum StreamFormat {
    /// 8-byte ECMA-323 headers.
    Header,
    /// Documents each ended by a NUL byte.
    Nul,
    /// XML documents one after another, nothing between them but whitespace.
    Bare,
}

/// A message decoded from a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedItem {
    /// Where the message (its header, in the header framing) starts in the input.
    pub offset: usize,
    /// Only the header framing carries invoke ids.
    pub invoke_id: Option<InvokeId>,
    pub message: Message,
}

/// A message of a capture that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamError {
    pub offset: usize,
    pub invoke_id: Option<InvokeId>,
    pub reason: String,
    /// The stable code of the underlying [`FrameError`] or [`DecodeError`].
    pub code: &'static str,
}

impl DecodedItem {
    /// The message as JSON (see [`message_json`]) with `offset` added.
    pub fn to_json(&self) -> Value {
        let mut value = message_json(&self.message, self.invoke_id);
        if let Value::Object(map) = &mut value {
            map.insert("offset".into(), json!(self.offset));
        }
        value
    }
}

impl StreamError {
    /// `{"offset": …, "invokeId": …, "error": code, "reason": …}`
    pub fn to_json(&self) -> Value {
        let mut value = json!({ "offset": self.offset, "error": self.code, "reason": self.reason });
        if let (Value::Object(map), Some(id)) = (&mut value, self.invoke_id) {
            map.insert("invokeId".into(), json!(id.get()));
        }
        value
    }
}

/// A message as JSON: `type` (variant name), `kind` (request, response, event, error,
/// unknown), `invokeId` when known, and its fields in camelCase. Devices appear as
/// `{"number": "302118840100", "raw": "N<302118840100>;noa=nk"}`, connections as
/// `{"callId": …, "deviceId": {…}}`; unknown children stay raw XML under `unknown` and
/// `extensions`.
pub fn message_json(message: &Message, invoke_id: Option<InvokeId>) -> Value {
    // Every key the model serializes is a string, so this cannot fail.
    let mut value = serde_json::to_value(message).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("kind".into(), json!(message.kind()));
        if let Some(id) = invoke_id {
            map.insert("invokeId".into(), json!(id.get()));
        }
    }
    value
}

/// Guesses the format from the first bytes: a valid header, else any NUL, else bare. A
/// UTF-16 BOM (whose text is full of NUL bytes) means one bare document.
pub fn detect_format(bytes: &[u8]) -> StreamFormat {
    if bytes.starts_with(UTF16_LE_BOM) || bytes.starts_with(UTF16_BE_BOM) {
        return StreamFormat::Bare;
    }
    let header = bytes
        .first_chunk::<HEADER_LEN>()
        .is_some_and(|header| parse_header(*header, DEFAULT_MAX_FRAME).is_ok());
    if header {
        StreamFormat::Header
    } else if memchr::memchr(0, bytes).is_some() {
        StreamFormat::Nul
    } else {
        StreamFormat::Bare
    }
}

/// Decodes every message in `bytes`, detecting the format.
pub fn decode_stream(bytes: &[u8]) -> StreamDecoder<'_> {
    StreamDecoder::new(bytes, detect_format(bytes))
}

/// An iterator over the messages of a capture; see the module docs.
#[derive(Debug, Clone)]
pub struct StreamDecoder<'a> {
    bytes: &'a [u8],
    position: usize,
    format: StreamFormat,
}

impl<'a> StreamDecoder<'a> {
    pub fn new(bytes: &'a [u8], format: StreamFormat) -> StreamDecoder<'a> {
        StreamDecoder {
            bytes,
            position: 0,
            format,
        }
    }

    pub fn format(&self) -> StreamFormat {
        self.format
    }

    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.position..).unwrap_or_default()
    }

    fn skip_separators(&mut self) {
        let skip = self
            .rest()
            .iter()
            .take_while(|b| b.is_ascii_whitespace() || **b == 0)
            .count();
        self.position += skip;
    }

    fn next_header_frame(&mut self) -> Option<Result<DecodedItem, StreamError>> {
        let offset = self.position;
        let rest = self.rest();
        let header = match rest.first_chunk::<HEADER_LEN>() {
            Some(header) => *header,
            None if rest.iter().all(u8::is_ascii_whitespace) => return None,
            None => {
                self.position = self.bytes.len();
                let error = FrameError::Truncated {
                    buffered: rest.len(),
                };
                return Some(Err(frame_error(offset, None, &error)));
            }
        };
        let header = match parse_header(header, DEFAULT_MAX_FRAME) {
            Ok(header) => header,
            Err(error) => {
                self.position = self.next_plausible_header(offset + 1);
                return Some(Err(frame_error(offset, None, &error)));
            }
        };
        let Some(xml) = rest.get(HEADER_LEN..header.length) else {
            self.position = self.bytes.len();
            let error = FrameError::Truncated {
                buffered: rest.len(),
            };
            return Some(Err(frame_error(offset, Some(header.invoke_id), &error)));
        };
        self.position += header.length;
        Some(decoded(offset, Some(header.invoke_id), xml))
    }

    /// The next offset from `from` that starts a valid header followed by `<`.
    fn next_plausible_header(&self, from: usize) -> usize {
        (from..self.bytes.len())
            .find(|&start| {
                let bytes = self.bytes.get(start..).unwrap_or_default();
                bytes.get(HEADER_LEN) == Some(&b'<')
                    && bytes
                        .first_chunk::<HEADER_LEN>()
                        .is_some_and(|h| parse_header(*h, DEFAULT_MAX_FRAME).is_ok())
            })
            .unwrap_or(self.bytes.len())
    }

    fn next_nul_document(&mut self) -> Option<Result<DecodedItem, StreamError>> {
        self.skip_separators();
        let offset = self.position;
        let rest = self.rest();
        if rest.is_empty() {
            return None;
        }
        let end = memchr::memchr(0, rest).unwrap_or(rest.len());
        self.position += (end + 1).min(rest.len());
        let document = rest.get(..end).unwrap_or_default();
        if document.len() > DEFAULT_MAX_FRAME {
            let error = FrameError::TooLarge {
                length: document.len(),
                max: DEFAULT_MAX_FRAME,
            };
            return Some(Err(frame_error(offset, None, &error)));
        }
        Some(decoded(offset, None, document))
    }

    fn next_bare_document(&mut self) -> Option<Result<DecodedItem, StreamError>> {
        self.skip_separators();
        let offset = self.position;
        let rest = self.rest();
        if rest.is_empty() {
            return None;
        }
        if rest.starts_with(UTF16_LE_BOM) || rest.starts_with(UTF16_BE_BOM) {
            // Documents cannot be told apart without transcoding: the rest is one.
            self.position = self.bytes.len();
            return Some(decoded(offset, None, rest));
        }
        let bom = if rest.starts_with(UTF8_BOM) {
            UTF8_BOM.len()
        } else {
            0
        };
        // No document may be longer than MAX_DOCUMENT: looking further is pointless.
        let window = rest
            .get(bom..MAX_DOCUMENT.min(rest.len()))
            .unwrap_or_default();
        match document_end(window) {
            Ok(end) => {
                self.position += bom + end;
                Some(decoded(
                    offset,
                    None,
                    rest.get(..bom + end).unwrap_or_default(),
                ))
            }
            Err((mut code, mut reason)) => {
                if bom + window.len() < rest.len() && code == "csta_truncated_xml" {
                    let error = DecodeError::TooLarge {
                        length: rest.len(),
                        max: MAX_DOCUMENT,
                    };
                    code = error.code();
                    reason = format!("no document end within {MAX_DOCUMENT} bytes");
                }
                self.position = memchr::memmem::find(rest.get(1..).unwrap_or_default(), b"<?xml")
                    .map_or(self.bytes.len(), |next| offset + 1 + next);
                Some(Err(StreamError {
                    offset,
                    invoke_id: None,
                    reason,
                    code,
                }))
            }
        }
    }
}

impl Iterator for StreamDecoder<'_> {
    type Item = Result<DecodedItem, StreamError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.format {
            StreamFormat::Header => self.next_header_frame(),
            StreamFormat::Nul => self.next_nul_document(),
            StreamFormat::Bare => self.next_bare_document(),
        }
    }
}

fn decoded(
    offset: usize,
    invoke_id: Option<InvokeId>,
    xml: &[u8],
) -> Result<DecodedItem, StreamError> {
    decode(xml)
        .map(|message| DecodedItem {
            offset,
            invoke_id,
            message,
        })
        .map_err(|error| StreamError {
            offset,
            invoke_id,
            reason: error.to_string(),
            code: error.code(),
        })
}

fn frame_error(offset: usize, invoke_id: Option<InvokeId>, error: &FrameError) -> StreamError {
    StreamError {
        offset,
        invoke_id,
        reason: error.to_string(),
        code: error.code(),
    }
}

/// [`bare_document_end`] for bytes. Only the markup matters, and it is ASCII in UTF-8 and
/// in the single-byte encodings alike: when the bytes are not UTF-8, a copy with the
/// other bytes masked is searched ([`decode`] judges the encoding), in growing pieces so
/// that a long capture is not copied once per document.
fn document_end(window: &[u8]) -> Result<usize, (&'static str, String)> {
    let valid = match std::str::from_utf8(window) {
        Ok(text) => return bare_document_end(text),
        Err(error) => error.valid_up_to(),
    };
    let mut size = (2 * valid).max(4096);
    loop {
        let piece = window.get(..size).unwrap_or(window);
        let masked: String = piece
            .iter()
            .map(|&b| if b.is_ascii() { char::from(b) } else { '?' })
            .collect();
        match bare_document_end(&masked) {
            Err(("csta_truncated_xml", _)) if piece.len() < window.len() => size *= 2,
            result => return result,
        }
    }
}

/// The length of the first XML document in `text`: through the end of its root element
/// and the comments and processing instructions after it (they belong to it, whereas a
/// `<?xml` declaration starts the next document).
fn bare_document_end(text: &str) -> Result<usize, (&'static str, String)> {
    let mut reader = Reader::from_str(text);
    let mut depth = 0usize;
    // Where the document ends so far, once its root element has ended.
    let mut end: Option<usize> = None;
    let position =
        |reader: &Reader<&[u8]>| usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
    loop {
        let event = reader.read_event();
        if let Some(end) = end.as_mut() {
            match event {
                Ok(Event::Comment(_) | Event::PI(_)) => *end = position(&reader),
                Ok(Event::Text(t)) if t.bytes().all(|b| b.is_ascii_whitespace()) => {}
                _ => return Ok(*end),
            }
            continue;
        }
        match event {
            Ok(Event::Start(_)) => depth += 1,
            Ok(Event::End(_)) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    end = Some(position(&reader));
                }
            }
            Ok(Event::Empty(_)) if depth == 0 => end = Some(position(&reader)),
            Ok(Event::Text(t)) if depth == 0 && !t.bytes().all(|b| b.is_ascii_whitespace()) => {
                return Err(("csta_malformed_xml", "text outside of an element".into()));
            }
            Ok(Event::Eof) => {
                return Err((
                    "csta_truncated_xml",
                    "the input ends inside a document".into(),
                ));
            }
            Ok(_) => {}
            // The input ends inside a tag, comment, CDATA section, …
            Err(error @ quick_xml::Error::Syntax(_)) => {
                return Err(("csta_truncated_xml", error.to_string()));
            }
            Err(error) => return Err(("csta_malformed_xml", error.to_string())),
        }
    }
}

#[cfg(test)]
mod tests;
