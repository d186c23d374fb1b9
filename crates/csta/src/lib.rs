//! CSTA Phase III XML (ECMA-323, sessions per ECMA-354): a typed model of the messages
//! ucplus exchanges with telephone systems, a tolerant reader, a strict writer, and the
//! TCP framing. Pure: no sockets, no async, no clock (callers pass time in).
//!
//! - [`frame`]: bytes ↔ XML documents (8-byte header or NUL-delimited), bounded.
//! - [`decode`] / [`encode`]: XML ↔ [`Message`]; one module per service family:
//!   [`session`], [`system`], [`monitoring`], [`call_control`], [`features`], [`events`],
//!   [`error_code`]; shared value types in [`device`] and [`values`].
//! - [`invoke`]: invoke id allocation and the pending-request table.
//! - [`decode_stream`]: decode a capture (any framing) message by message, and JSON.

#[macro_use]
mod xml;

pub mod call_control;
pub mod decode_stream;
pub mod device;
pub mod error;
pub mod error_code;
pub mod events;
pub mod features;
pub mod frame;
pub mod invoke;
pub mod message;
pub mod monitoring;
pub mod session;
pub mod system;
pub mod values;

// Message structs and values are used everywhere: reachable from the crate root too.
pub use call_control::*;
pub use events::*;
pub use features::*;
pub use monitoring::*;
pub use session::*;
pub use system::*;
pub use values::*;

pub use decode_stream::{
    DecodedItem, StreamDecoder, StreamError, StreamFormat, decode_stream, detect_format,
    message_json,
};
pub use device::{ConnectionId, DeviceId, EventDevice, normalize_number};
pub use error::DecodeError;
pub use error_code::{CstaErrorCode, ErrorCategory};
pub use frame::{Frame, FrameCodec, FrameError, Framing};
pub use invoke::{InvokeId, InvokeIdAllocator, Pending, PendingFull};
pub use message::{
    Edition, Message, MessageKind, SESSION_NAMESPACE, decode, decode_str, detect_edition, encode,
    encode_into,
};
pub use xml::{Extra, RawXml};
