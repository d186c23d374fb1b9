//! [`Message`]: every CSTA document this crate knows, and the entry points
//! [`decode`] (tolerant) and [`encode`] (strict).
//!
//! The reader dispatches on the root element's local name and ignores edition and
//! prefix, so all of these decode to the same `MonitorStart`:
//! ```text
//! <MonitorStart xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">…
//! <ns3:MonitorStart xmlns:ns3="http://www.ecma.ch/standards/ecma-323/csta/ed2">…
//! <MonitorStart>…
//! ```
//! The writer always uses one namespace (the link's [`Edition`], or ECMA-354 for the
//! session messages) as the default namespace, after an `<?xml …?>` prolog.

use serde::Serialize;

use crate::call_control::*;
use crate::charset;
use crate::error::DecodeError;
use crate::error_code::CstaErrorCode;
use crate::events::*;
use crate::features::*;
use crate::monitoring::*;
use crate::routing::*;
use crate::session::*;
use crate::system::*;
use crate::xml::XmlValue;
use crate::xml::reader::{Child, Cursor};
use crate::xml::writer::XmlWriter;

/// The ECMA-354 application session namespace.
pub const SESSION_NAMESPACE: &str =
    "http://www.ecma-international.org/standards/ecma-354/appl_session";

/// The ECMA-323 edition a link speaks; it only decides the namespace written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub enum Edition {
    Ed2,
    #[default]
    Ed3,
    Ed4,
    Ed5,
}

impl Edition {
    pub const ALL: [Edition; 4] = [Edition::Ed2, Edition::Ed3, Edition::Ed4, Edition::Ed5];

    /// The namespace URI written on every CSTA (non-session) document.
    pub fn namespace(self) -> &'static str {
        match self {
            Edition::Ed2 => "http://www.ecma.ch/standards/ecma-323/csta/ed2",
            Edition::Ed3 => "http://www.ecma-international.org/standards/ecma-323/csta/ed3",
            Edition::Ed4 => "http://www.ecma-international.org/standards/ecma-323/csta/ed4",
            Edition::Ed5 => "http://www.ecma-international.org/standards/ecma-323/csta/ed5",
        }
    }

    /// The edition of an ECMA-323 namespace URI (either host, trailing slash allowed).
    pub fn from_namespace(uri: &str) -> Option<Edition> {
        let uri = uri.trim().trim_end_matches('/');
        if !uri.contains("ecma-323/csta/") {
            return None;
        }
        Edition::ALL
            .into_iter()
            .find(|edition| uri.ends_with(edition.suffix()))
    }

    fn suffix(self) -> &'static str {
        match self {
            Edition::Ed2 => "/ed2",
            Edition::Ed3 => "/ed3",
            Edition::Ed4 => "/ed4",
            Edition::Ed5 => "/ed5",
        }
    }
}

/// What role a message plays, e.g. to pick invoke id 9999 for events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MessageKind {
    Request,
    Response,
    Event,
    /// `CSTAErrorCode` and the session `NegResponse`s.
    Error,
    Unknown,
}

#[derive(Clone, Copy)]
enum Namespace {
    Session,
    Csta,
}

macro_rules! messages {
    ( $( $variant:ident = $wire:literal $(| $alias:literal)*, $namespace:ident, $kind:ident; )* ) => {
        /// Every CSTA message this crate models, plus [`Message::Unknown`].
        ///
        /// In JSON (`serde`), `type` is the variant name and the fields follow in camelCase.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
        #[serde(tag = "type")]
        pub enum Message {
            $( $variant($variant), )*
            /// A root element this crate does not know, kept verbatim (root element only,
            /// without the prolog). Written back as is.
            Unknown { name: String, raw: String },
        }

        impl Message {
            /// The root element name as written on the wire.
            pub fn name(&self) -> &str {
                match self {
                    $( Message::$variant(_) => $wire, )*
                    Message::Unknown { name, .. } => name,
                }
            }

            pub fn kind(&self) -> MessageKind {
                match self {
                    $( Message::$variant(_) => MessageKind::$kind, )*
                    Message::Unknown { .. } => MessageKind::Unknown,
                }
            }

            fn namespace(&self) -> Namespace {
                match self {
                    $( Message::$variant(_) => Namespace::$namespace, )*
                    Message::Unknown { .. } => Namespace::Csta,
                }
            }
        }

        $(
            impl From<$variant> for Message {
                fn from(message: $variant) -> Message {
                    Message::$variant(message)
                }
            }
        )*

        /// Reads the message `root`; `ancestors` (innermost first) are the SOAP elements
        /// around it, if any, for the namespace of an unknown root.
        fn read_root(
            cursor: &mut Cursor<'_>,
            root: &Child<'_>,
            ancestors: &[&Child<'_>],
        ) -> Result<Message, DecodeError> {
            match root.local_name() {
                $( $wire $(| $alias)* => Ok(Message::$variant(<$variant as XmlValue>::read(cursor, root)?)), )*
                name => {
                    check_unknown_root(root, ancestors)?;
                    let name = name.to_string();
                    let raw = cursor.raw(root)?.to_string();
                    Ok(Message::Unknown { name, raw })
                }
            }
        }

        /// Whether `name` is the root of a message this crate models.
        fn is_known_root(name: &str) -> bool {
            matches!(name, $( $wire $(| $alias)* )|*)
        }

        fn write_root(message: &Message, writer: &mut XmlWriter<'_>, namespace: &'static str) {
            match message {
                $(
                    Message::$variant(inner) => {
                        writer.start_root($wire, namespace);
                        inner.write_children(writer);
                        writer.end($wire);
                    }
                )*
                Message::Unknown { raw, .. } => writer.raw(raw),
            }
        }
    };
}

messages! {
    StartApplicationSession = "StartApplicationSession", Session, Request;
    StartApplicationSessionPosResponse = "StartApplicationSessionPosResponse", Session, Response;
    StartApplicationSessionNegResponse = "StartApplicationSessionNegResponse", Session, Error;
    ResetApplicationSessionTimer = "ResetApplicationSessionTimer", Session, Request;
    ResetApplicationSessionTimerPosResponse = "ResetApplicationSessionTimerPosResponse", Session, Response;
    ResetApplicationSessionTimerNegResponse = "ResetApplicationSessionTimerNegResponse", Session, Error;
    StopApplicationSession = "StopApplicationSession", Session, Request;
    StopApplicationSessionPosResponse = "StopApplicationSessionPosResponse", Session, Response;
    SystemStatus = "SystemStatus", Csta, Request;
    SystemStatusResponse = "SystemStatusResponse", Csta, Response;
    SystemRegister = "SystemRegister", Csta, Request;
    SystemRegisterResponse = "SystemRegisterResponse", Csta, Response;
    RequestSystemStatus = "RequestSystemStatus", Csta, Request;
    RequestSystemStatusResponse = "RequestSystemStatusResponse", Csta, Response;
    MonitorStart = "MonitorStart", Csta, Request;
    MonitorStartResponse = "MonitorStartResponse", Csta, Response;
    MonitorStop = "MonitorStop", Csta, Request;
    MonitorStopResponse = "MonitorStopResponse", Csta, Response;
    SnapshotDevice = "SnapshotDevice", Csta, Request;
    SnapshotDeviceResponse = "SnapshotDeviceResponse", Csta, Response;
    MakeCall = "MakeCall", Csta, Request;
    MakeCallResponse = "MakeCallResponse", Csta, Response;
    AnswerCall = "AnswerCall", Csta, Request;
    AnswerCallResponse = "AnswerCallResponse", Csta, Response;
    ClearConnection = "ClearConnection", Csta, Request;
    ClearConnectionResponse = "ClearConnectionResponse", Csta, Response;
    ClearCall = "ClearCall", Csta, Request;
    ClearCallResponse = "ClearCallResponse", Csta, Response;
    HoldCall = "HoldCall", Csta, Request;
    HoldCallResponse = "HoldCallResponse", Csta, Response;
    RetrieveCall = "RetrieveCall", Csta, Request;
    RetrieveCallResponse = "RetrieveCallResponse", Csta, Response;
    ConsultationCall = "ConsultationCall", Csta, Request;
    ConsultationCallResponse = "ConsultationCallResponse", Csta, Response;
    TransferCall = "TransferCall", Csta, Request;
    TransferCallResponse = "TransferCallResponse", Csta, Response;
    ConferenceCall = "ConferenceCall", Csta, Request;
    ConferenceCallResponse = "ConferenceCallResponse", Csta, Response;
    SingleStepTransferCall = "SingleStepTransferCall", Csta, Request;
    SingleStepTransferCallResponse = "SingleStepTransferCallResponse", Csta, Response;
    DeflectCall = "DeflectCall", Csta, Request;
    DeflectCallResponse = "DeflectCallResponse", Csta, Response;
    GenerateDigits = "GenerateDigits", Csta, Request;
    GenerateDigitsResponse = "GenerateDigitsResponse", Csta, Response;
    SetDoNotDisturb = "SetDoNotDisturb", Csta, Request;
    SetDoNotDisturbResponse = "SetDoNotDisturbResponse", Csta, Response;
    SetForwarding = "SetForwarding", Csta, Request;
    SetForwardingResponse = "SetForwardingResponse", Csta, Response;
    GetForwarding = "GetForwarding", Csta, Request;
    GetForwardingResponse = "GetForwardingResponse", Csta, Response;
    RouteRegister = "RouteRegister", Csta, Request;
    RouteRegisterResponse = "RouteRegisterResponse", Csta, Response;
    RouteRequest = "RouteRequest", Csta, Request;
    RouteSelect = "RouteSelect", Csta, Request;
    RouteUsed = "RouteUsed", Csta, Request;
    RouteEnd = "RouteEnd", Csta, Request;
    ServiceInitiatedEvent = "ServiceInitiatedEvent", Csta, Event;
    OriginatedEvent = "OriginatedEvent", Csta, Event;
    DeliveredEvent = "DeliveredEvent", Csta, Event;
    EstablishedEvent = "EstablishedEvent", Csta, Event;
    HeldEvent = "HeldEvent", Csta, Event;
    RetrievedEvent = "RetrievedEvent", Csta, Event;
    ConnectionClearedEvent = "ConnectionClearedEvent", Csta, Event;
    FailedEvent = "FailedEvent", Csta, Event;
    DivertedEvent = "DivertedEvent", Csta, Event;
    TransferredEvent = "TransferedEvent" | "TransferredEvent", Csta, Event;
    ConferencedEvent = "ConferencedEvent", Csta, Event;
    QueuedEvent = "QueuedEvent", Csta, Event;
    DigitsGeneratedEvent = "DigitsGeneratedEvent", Csta, Event;
    NetworkReachedEvent = "NetworkReachedEvent", Csta, Event;
    DoNotDisturbEvent = "DoNotDisturbEvent", Csta, Event;
    ForwardingEvent = "ForwardingEvent", Csta, Event;
    AgentLoggedOnEvent = "AgentLoggedOnEvent", Csta, Event;
    AgentLoggedOffEvent = "AgentLoggedOffEvent", Csta, Event;
    AgentReadyEvent = "AgentReadyEvent", Csta, Event;
    AgentNotReadyEvent = "AgentNotReadyEvent", Csta, Event;
    AgentWorkingAfterCallEvent = "AgentWorkingAfterCallEvent", Csta, Event;
    AgentBusyEvent = "AgentBusyEvent", Csta, Event;
    CstaErrorCode = "CSTAErrorCode", Csta, Error;
}

/// The largest document [`decode`] and [`decode_str`] accept, in bytes of input: 256 KiB.
/// A framed link never comes near it (a header frame holds at most
/// [`DEFAULT_MAX_FRAME`](crate::frame::DEFAULT_MAX_FRAME), 64 KiB); it bounds documents
/// from other sources, such as a bare capture.
pub const MAX_DOCUMENT: usize = 256 * 1024;
/// The deepest element nesting accepted, the root being level 1. Real CSTA documents stay
/// under 15; a SOAP envelope adds 2.
pub const MAX_DEPTH: usize = 64;

const _: () = assert!(MAX_DOCUMENT >= crate::frame::DEFAULT_MAX_FRAME);

/// SOAP 1.1 and SOAP 1.2 envelope namespaces.
const SOAP_NAMESPACES: [&str; 2] = [
    "http://schemas.xmlsoap.org/soap/envelope/",
    "http://www.w3.org/2003/05/soap-envelope",
];
/// Namespace families that are positively not CSTA: IETF registrations (the SIP event
/// packages: `dialog-info`, `pidf`, `reginfo`, …), W3C (XHTML, SOAP 1.2, XML Schema) and
/// xmlsoap.org (SOAP 1.1, WSDL).
const FOREIGN_NAMESPACES: [&str; 3] = [
    "urn:ietf:params:xml:ns:",
    "http://www.w3.org/",
    "http://schemas.xmlsoap.org/",
];

/// Decodes one XML document (prolog optional) into a [`Message`].
///
/// Tolerant: any edition, prefix or none, any child order; unknown children are kept in
/// each message's `extra`, an unknown CSTA root becomes [`Message::Unknown`]; a BOM, a
/// declared ISO-8859-1 or Windows-1252 encoding, comments and processing instructions and
/// a SOAP envelope are all understood. Errors for bytes that are not a well-formed
/// document, lack a required element, or that the crate's leniency policy refuses (a root
/// that is not CSTA, [`MAX_DEPTH`], [`MAX_DOCUMENT`], an unknown encoding).
pub fn decode(xml: &[u8]) -> Result<Message, DecodeError> {
    check_size(xml.len())?;
    decode_text(&charset::document_text(xml)?)
}

/// [`decode`] for text that is already a `str` (its declared encoding is not looked at).
pub fn decode_str(xml: &str) -> Result<Message, DecodeError> {
    check_size(xml.len())?;
    decode_text(xml.strip_prefix('\u{feff}').unwrap_or(xml))
}

fn check_size(length: usize) -> Result<(), DecodeError> {
    if length > MAX_DOCUMENT {
        return Err(DecodeError::TooLarge {
            length,
            max: MAX_DOCUMENT,
        });
    }
    Ok(())
}

fn decode_text(xml: &str) -> Result<Message, DecodeError> {
    let mut cursor = Cursor::new(xml);
    let root = cursor.root()?;
    let message = if is_soap_envelope(&root)? {
        read_envelope(&mut cursor, &root)?
    } else {
        read_root(&mut cursor, &root, &[])?
    };
    cursor.finish()?;
    Ok(message)
}

/// An `Envelope` root (any prefix) in a SOAP namespace, or in none.
fn is_soap_envelope(root: &Child<'_>) -> Result<bool, DecodeError> {
    if root.local_name() != "Envelope" {
        return Ok(false);
    }
    let namespace = root.declared_namespace()?;
    Ok(namespace.is_none_or(|ns| SOAP_NAMESPACES.contains(&ns.trim())))
}

/// The CSTA message in the envelope's `Body`; `Header` and anything else is skipped.
fn read_envelope(cursor: &mut Cursor<'_>, envelope: &Child<'_>) -> Result<Message, DecodeError> {
    let mut message = None;
    while let Some(child) = cursor.next_child(envelope)? {
        if message.is_none() && child.local_name() == "Body" {
            message = Some(read_body(cursor, &child, &[&child, envelope])?);
        } else {
            cursor.skip(&child)?;
        }
    }
    message.ok_or_else(|| DecodeError::MissingElement {
        parent: envelope.local_name().to_string(),
        element: "Body",
    })
}

/// The first element of a SOAP `Body` (`scopes`: the body and the envelope).
fn read_body(
    cursor: &mut Cursor<'_>,
    body: &Child<'_>,
    scopes: &[&Child<'_>],
) -> Result<Message, DecodeError> {
    let mut message = None;
    while let Some(child) = cursor.next_child(body)? {
        if message.is_some() {
            cursor.skip(&child)?;
        } else if child.local_name() == "Fault" {
            message = Some(read_fault(cursor, &child, scopes)?);
        } else {
            message = Some(read_root(cursor, &child, scopes)?);
        }
    }
    message.ok_or_else(|| DecodeError::MissingElement {
        parent: body.local_name().to_string(),
        element: "CSTA message",
    })
}

/// A SOAP 1.1 or 1.2 fault: the CSTA message in its `detail` (ECMA-348 sends
/// `CSTAErrorCode` there), else [`DecodeError::SoapFault`] with the fault's reason.
fn read_fault(
    cursor: &mut Cursor<'_>,
    fault: &Child<'_>,
    scopes: &[&Child<'_>],
) -> Result<Message, DecodeError> {
    let mut message = None;
    let mut reason = String::new();
    while let Some(child) = cursor.next_child(fault)? {
        match child.local_name() {
            "faultstring" | "Reason" => reason = cursor.text(&child)?.chars().take(200).collect(),
            "detail" | "Detail" => {
                while let Some(detail) = cursor.next_child(&child)? {
                    if message.is_none() && is_known_root(detail.local_name()) {
                        let scopes: Vec<&Child<'_>> = [&child, fault]
                            .into_iter()
                            .chain(scopes.iter().copied())
                            .collect();
                        message = Some(read_root(cursor, &detail, &scopes)?);
                    } else {
                        cursor.skip(&detail)?;
                    }
                }
            }
            _ => cursor.skip(&child)?,
        }
    }
    message.ok_or(DecodeError::SoapFault { reason })
}

/// Refuses an unknown root that is not CSTA: one in a [`FOREIGN_NAMESPACES`] namespace, or
/// whose name is not shaped like an ECMA-323 message name (ASCII letters and digits,
/// starting with a letter), such as `dialog-info`.
fn check_unknown_root(root: &Child<'_>, ancestors: &[&Child<'_>]) -> Result<(), DecodeError> {
    let name = root.local_name();
    let namespace = root.namespace_in(ancestors)?;
    let foreign = namespace.as_deref().is_some_and(|ns| {
        FOREIGN_NAMESPACES
            .iter()
            .any(|family| ns.trim_start().starts_with(family))
    });
    let message_shaped = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric());
    if foreign || !message_shaped {
        return Err(DecodeError::NotCsta {
            root: name.to_string(),
            namespace,
        });
    }
    Ok(())
}

/// The edition named by the root element's namespace, if it declares an ECMA-323 one:
/// lets a link notice that a peer answers in another edition (Snom answers ed3 in ed5).
pub fn detect_edition(xml: &[u8]) -> Option<Edition> {
    let xml = charset::document_text(xml).ok()?;
    let mut cursor = Cursor::new(&xml);
    let root = cursor.root().ok()?;
    Edition::from_namespace(&root.declared_namespace().ok()??)
}

/// Encodes `message` as a complete document in `edition`'s namespace.
pub fn encode(message: &Message, edition: Edition) -> String {
    let mut out = String::with_capacity(384);
    encode_into(message, edition, &mut out);
    out
}

/// [`encode`] appending to `out`, to reuse one buffer.
pub fn encode_into(message: &Message, edition: Edition, out: &mut String) {
    let namespace = match message.namespace() {
        Namespace::Session => SESSION_NAMESPACE,
        Namespace::Csta => edition.namespace(),
    };
    let mut writer = XmlWriter::new(out);
    writer.prolog();
    write_root(message, &mut writer, namespace);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editions_map_to_namespaces_and_back() {
        for edition in Edition::ALL {
            assert_eq!(Edition::from_namespace(edition.namespace()), Some(edition));
        }
        assert_eq!(
            Edition::from_namespace(
                "http://www.ecma-international.org/standards/ecma-323/csta/ed2/"
            ),
            Some(Edition::Ed2)
        );
        assert_eq!(Edition::from_namespace(SESSION_NAMESPACE), None);
        assert_eq!(Edition::from_namespace("urn:ed3"), None);
    }

    #[test]
    fn session_messages_use_the_session_namespace() {
        let message = Message::from(StopApplicationSessionPosResponse {
            extra: Default::default(),
        });
        let xml = encode(&message, Edition::Ed5);
        assert_eq!(
            xml,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                 <StopApplicationSessionPosResponse xmlns=\"{SESSION_NAMESPACE}\">\
                 </StopApplicationSessionPosResponse>"
            )
        );
        assert_eq!(message.kind(), MessageKind::Response);
        assert_eq!(detect_edition(xml.as_bytes()), None);
        let xml = encode(
            &Message::from(SystemStatusResponse {
                extra: Default::default(),
            }),
            Edition::Ed5,
        );
        assert_eq!(detect_edition(xml.as_bytes()), Some(Edition::Ed5));
    }
}
