//! CSTA Phase III XML (ECMA-323, sessions per ECMA-354): a typed model of the messages
//! ucplus exchanges with telephone systems, a tolerant reader, a strict writer, and the
//! TCP framing. Pure: no sockets, no async, no clock (callers pass time in).
//!
//! - [`frame`]: bytes ↔ XML documents (8-byte header or NUL-delimited), bounded.
//! - [`decode`] / [`encode`]: XML ↔ [`Message`]; one module per service family:
//!   [`session`], [`system`], [`monitoring`], [`call_control`], [`features`], [`events`],
//!   [`routing`], [`error_code`]; shared value types in [`device`], [`call_linkage`] and
//!   [`values`].
//! - [`invoke`]: invoke id allocation and the pending-request table.
//! - [`decode_stream`]: decode a capture (any framing) message by message, and JSON.
//!
//! # Leniency policy
//!
//! [`decode`] reads CSTA as switches really write it, and refuses, with a stable
//! [`DecodeError::code`], what is not CSTA or could exhaust a link.
//!
//! Accepted:
//! - **Byte-order marks.** A UTF-8 BOM, or a UTF-16 LE/BE BOM (the document is then
//!   UTF-16, whatever it declares). A BOM wins over the declared encoding.
//! - **Declared encodings.** Without a BOM, `encoding="…"` in the XML declaration decides:
//!   UTF-8 (also `US-ASCII`, or `UTF-16` on a document that evidently is not), ISO-8859-1
//!   (`latin1` and the other IANA aliases) and Windows-1252 (`cp1252`); labels in any case.
//!   No declaration means UTF-8. Plain UTF-8 is read in place, never copied.
//!   [`decode_str`] takes text that is already decoded and ignores the declaration.
//! - **Comments and processing instructions** wherever XML allows them: before the root
//!   (after the declaration), between elements, after the root.
//! - **SOAP envelopes** (ECMA-348; SOAP 1.1 or 1.2, any prefix): the CSTA message in the
//!   `Body` is decoded; the `Header` is skipped. A `Fault` carrying a CSTA message in its
//!   `detail` (such as `CSTAErrorCode`) decodes to that message.
//! - **Namespace variants.** Messages are recognised by the root's local name, whatever
//!   the namespace: every ECMA-323 edition on either ECMA host, later editions
//!   (`http://www.ecma.ch/standards/ecma-323/csta/ed6` as some switches write it),
//!   misspellings seen in the field (`http://www.ecmainternational.org/…`), vendor
//!   namespaces, a prefix or none. [`detect_edition`] names ed2–ed5 on any host; for an
//!   edition this crate does not write (ed6) it answers `None`, so a link keeps its own.
//! - **A missing `monitorCrossRefID` on a device's own feature events**
//!   ([`DoNotDisturbEvent`], [`ForwardingEvent`] and the agent state events): the schema
//!   requires it, but BroadWorks-style feature-event bodies in SIP belong to a
//!   subscription, not a monitor, and leave it out; there the field is `None`. Call events
//!   still require it (`csta_missing_element`): without it they cannot be attributed.
//! - **Device identifiers in any decoration** (`N<302118840100>;noa=nk`, `tel:`, `sip:`,
//!   `N<sip:+14155550101>Name`, `N</sip:+14155550101>Name`, `"Name" <sip:…>`): kept as
//!   sent in [`DeviceId::raw`], one plain number or user part in [`DeviceId::number`].
//! - **Alternative spellings** of a few names: `TransferredEvent` for the schema's
//!   `TransferedEvent`, `systemResourceAvailability`, `forwardStatus` in `SetForwarding`,
//!   `routingCrossRefID` / `routingDevice` / `crossRefIdentifier` in the routing services.
//! - **Unknown CSTA messages.** A root this crate does not model decodes to
//!   [`Message::Unknown`] as long as it may be CSTA: see the rule below. Unknown children
//!   of a known message are kept, verbatim, in its `extra`.
//!
//! Refused:
//!
//! | input | code |
//! |---|---|
//! | a root that is not CSTA | `csta_not_csta` |
//! | elements nested deeper than [`MAX_DEPTH`] (64) levels | `csta_too_deep` |
//! | a document over [`MAX_DOCUMENT`] (256 KiB) of input | `csta_document_too_large` |
//! | an encoding other than those above | `csta_unsupported_encoding` |
//! | bytes that are not UTF-16 after a UTF-16 BOM | `csta_invalid_utf16` |
//! | a SOAP fault without a CSTA message | `csta_soap_fault` |
//! | a known message without an element it cannot do without (an event's connection, a call event's `monitorCrossRefID`) | `csta_missing_element` |
//!
//! **What counts as CSTA.** CSTA is recognised by the root's local name, not its
//! namespace: switches use every ECMA-323 edition's namespace, vendor namespaces or none.
//! A root named like a message this crate models is always decoded. Any other root is
//! kept as [`Message::Unknown`] unless it is in a namespace of a family that is known not
//! to be CSTA (`urn:ietf:params:xml:ns:…` such as RFC 4235 `dialog-info` or PIDF,
//! `http://www.w3.org/…`, `http://schemas.xmlsoap.org/…`), or its local name is not shaped
//! like an ECMA-323 message name (ASCII letters and digits, starting with a letter:
//! `dialog-info` is not). The namespace is the one bound to the root's prefix, on the root
//! or on the SOAP elements around it.
//!
//! The limits are consistent with the framing: a header frame holds at most
//! [`frame::DEFAULT_MAX_FRAME`] (64 KiB), so framed documents never reach
//! [`MAX_DOCUMENT`]; it bounds documents from other sources, such as a bare capture.
//! Error offsets count bytes of the text as UTF-8 after any BOM, except the encoding errors, which
//! count bytes of the input.

#[macro_use]
mod xml;

pub mod call_control;
pub mod call_linkage;
mod charset;
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
pub mod routing;
pub mod session;
pub mod system;
pub mod values;

// Message structs and values are used everywhere: reachable from the crate root too.
pub use call_control::*;
pub use call_linkage::*;
pub use events::*;
pub use features::*;
pub use monitoring::*;
pub use routing::*;
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
    Edition, MAX_DEPTH, MAX_DOCUMENT, Message, MessageKind, SESSION_NAMESPACE, decode, decode_str,
    detect_edition, encode, encode_into,
};
pub use xml::{Extra, RawXml};
