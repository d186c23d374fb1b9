//! Devices and connections: how CSTA names a phone and a phone's part in a call.
//!
//! ```text
//! request:    <callingDevice typeOfNumber="dialingNumber">201</callingDevice>
//! event:      <callingDevice><deviceIdentifier>N&lt;302118840100&gt;;noa=nk</deviceIdentifier></callingDevice>
//!             <callingDevice><notKnown/></callingDevice>
//! connection: <connection><callID>4711</callID><deviceID>201</deviceID></connection>
//! ```

use std::borrow::Cow;

use serde::Serialize;
use serde::ser::SerializeStruct;

use crate::error::DecodeError;
use crate::xml::reader::{Child, Cursor};
use crate::xml::writer::XmlWriter;
use crate::xml::{Absent, XmlValue};

/// A device identifier as the switch wrote it, with the plain number derived from it.
///
/// Switches decorate numbers: `N<302118840100>;noa=nk` (OpenScape), `tel:+3222220220`,
/// `sip:201@pbx.example`, `302118840101;displayNumber=Alice`, `N<sip:+14155550101>Alice`
/// (SIP gateways, some with a slash: `N</sip:…>`), `5001:CM1:192.0.2.10:0` (Avaya
/// DMCC). [`DeviceId::number`] strips the
/// decoration ([`normalize_number`]); [`DeviceId::raw`] is what must be sent back to the
/// same switch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DeviceId {
    raw: String,
    type_of_number: Option<String>,
}

impl DeviceId {
    pub fn new(raw: impl Into<String>) -> DeviceId {
        DeviceId {
            raw: raw.into(),
            type_of_number: None,
        }
    }

    /// With the `typeOfNumber` attribute (e.g. `dialingNumber`, `deviceNumber`).
    pub fn with_type_of_number(mut self, type_of_number: impl Into<String>) -> DeviceId {
        self.type_of_number = Some(type_of_number.into());
        self
    }

    /// The identifier exactly as on the wire.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    pub fn type_of_number(&self) -> Option<&str> {
        self.type_of_number.as_deref()
    }

    /// The number without scheme, brackets, host or parameters (may be empty).
    pub fn number(&self) -> &str {
        normalize_number(&self.raw)
    }
}

/// Strips the decorations switches put around a number; always a slice of `raw`.
///
/// ```text
/// N<302118840100>;noa=nk           -> 302118840100
/// N<sip:+14155550101>Alice         -> +14155550101
/// N</sip:+14155550101>Alice        -> +14155550101   (a slash some gateways write)
/// "Alice" <sip:201@pbx.example>    -> 201
/// tel:+3222220220;phone-context=x  -> +3222220220
/// sip:201@pbx.example              -> 201
/// 302118840101;displayNumber=Alice -> 302118840101
/// 5001:CM1:192.0.2.10:0            -> 5001           (Avaya DMCC)
/// ```
pub fn normalize_number(raw: &str) -> &str {
    let mut number = raw.trim();
    // Whatever is in angle brackets is the address; a display name may stand before
    // (`"Alice" <sip:…>`, `N<…>`) or after (`N<…>Alice`) them.
    if let Some((_, bracketed)) = number.split_once('<') {
        let address = bracketed.split('>').next().unwrap_or(bracketed);
        number = address.strip_prefix('/').unwrap_or(address).trim();
    }
    for scheme in ["tel:", "sips:", "sip:"] {
        let has_scheme = number
            .get(..scheme.len())
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(scheme));
        if has_scheme {
            number = number.get(scheme.len()..).unwrap_or_default();
            break;
        }
    }
    let number = number.split([';', '@']).next().unwrap_or_default().trim();
    avaya_extension(number).unwrap_or(number)
}

/// The extension of an Avaya DMCC device id, `extension:switch name:switch IP:instance`
/// (e.g. `5001:CM1:192.0.2.10:0`).
fn avaya_extension(device: &str) -> Option<&str> {
    let mut parts = device.split(':');
    let extension = parts.next()?;
    let (_switch, _address, instance) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    (parts.next().is_none() && digits(extension) && digits(instance)).then_some(extension)
}

impl Serialize for DeviceId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = if self.type_of_number.is_some() { 3 } else { 2 };
        let mut state = serializer.serialize_struct("DeviceId", fields)?;
        state.serialize_field("number", self.number())?;
        state.serialize_field("raw", &self.raw)?;
        if let Some(type_of_number) = &self.type_of_number {
            state.serialize_field("typeOfNumber", type_of_number)?;
        }
        state.end()
    }
}

/// Plain text; a wrapped `<deviceIdentifier>` is read too (tolerance), its text kept.
impl XmlValue for DeviceId {
    fn read(cursor: &mut Cursor<'_>, element: &Child<'_>) -> Result<Self, DecodeError> {
        let type_of_number = element.attribute("typeOfNumber")?;
        let raw = cursor.text(element)?.into_owned();
        Ok(DeviceId {
            raw,
            type_of_number,
        })
    }

    fn write_children(&self, writer: &mut XmlWriter<'_>) {
        writer.text(&self.raw);
    }

    fn write(&self, writer: &mut XmlWriter<'_>, tag: &str) {
        match &self.type_of_number {
            Some(type_of_number) => {
                writer.start_with_attribute(tag, "typeOfNumber", type_of_number)
            }
            None => writer.start(tag),
        }
        writer.text(&self.raw);
        writer.end(tag);
    }
}

impl Absent for DeviceId {}

/// A device as events report it: an identifier, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum EventDevice {
    #[serde(rename = "deviceIdentifier")]
    Known(DeviceId),
    /// `<notKnown/>`: the switch does not know the device (e.g. an anonymous trunk call).
    NotKnown,
    /// `<restricted/>`: the number is withheld.
    Restricted,
    /// `<notRequired/>`
    NotRequired,
}

impl EventDevice {
    pub fn known(raw: impl Into<String>) -> EventDevice {
        EventDevice::Known(DeviceId::new(raw))
    }

    /// The identifier, when the switch gave one.
    pub fn device_id(&self) -> Option<&DeviceId> {
        match self {
            EventDevice::Known(device) => Some(device),
            _ => None,
        }
    }
}

/// Wrapped (`<deviceIdentifier>`, `<notKnown/>`, ...) as the schema says; plain text is
/// read too, as some switches send it.
impl XmlValue for EventDevice {
    fn read(cursor: &mut Cursor<'_>, element: &Child<'_>) -> Result<Self, DecodeError> {
        let mut text = Cow::Borrowed("");
        let mut device = None;
        while let Some(child) = cursor.next_child_or_text(element, &mut text)? {
            let found = match child.local_name() {
                "deviceIdentifier" => EventDevice::Known(DeviceId::read(cursor, &child)?),
                "notKnown" => EventDevice::NotKnown,
                "restricted" => EventDevice::Restricted,
                "notRequired" => EventDevice::NotRequired,
                _ => {
                    cursor.skip(&child)?;
                    continue;
                }
            };
            if !matches!(found, EventDevice::Known(_)) {
                cursor.skip(&child)?;
            }
            device = Some(found);
        }
        match device {
            Some(device) => Ok(device),
            None => Ok(EventDevice::Known(DeviceId {
                raw: text.trim_matches([' ', '\t', '\r', '\n']).to_string(),
                type_of_number: element.attribute("typeOfNumber")?,
            })),
        }
    }

    fn write_children(&self, writer: &mut XmlWriter<'_>) {
        match self {
            EventDevice::Known(device) => device.write(writer, "deviceIdentifier"),
            EventDevice::NotKnown => writer.empty("notKnown"),
            EventDevice::Restricted => writer.empty("restricted"),
            EventDevice::NotRequired => writer.empty("notRequired"),
        }
    }
}

impl Absent for EventDevice {}

csta_struct! {
    /// A device's part in a call: `callID` plus `deviceID`, in either order on the wire.
    pub struct ConnectionId {
        call_id: opt String = "callID",
        device_id: opt DeviceId = "deviceID",
    }
}

impl ConnectionId {
    pub fn new(call_id: impl Into<String>, device_id: impl Into<String>) -> ConnectionId {
        ConnectionId {
            call_id: Some(call_id.into()),
            device_id: Some(DeviceId::new(device_id)),
            extra: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_real_world_identifiers() {
        for (raw, number) in [
            ("N<302118840100>;noa=nk", "302118840100"),
            ("tel:+3222220220", "+3222220220"),
            ("TEL:+3222220220;phone-context=example.com", "+3222220220"),
            ("sip:201@pbx.example", "201"),
            ("sips:alice@example.com;transport=tls", "alice"),
            ("302118840101;displayNumber=Alice", "302118840101"),
            (" 201 ", "201"),
            ("<201>", "201"),
            ("N<sip:+14155550101>Alice Example", "+14155550101"),
            ("N</sip:+14155550101>Alice Example", "+14155550101"),
            ("N<tel:+14155550101;phone-context=+1>", "+14155550101"),
            ("\"Alice\" <sip:201@pbx.example;user=phone>", "201"),
            (
                "Alice <sips:+14155550101@example.com>;tag=1",
                "+14155550101",
            ),
            ("N</>", ""),
            ("5001:CM1:192.0.2.10:0", "5001"),
            ("5001:CM1:192.0.2.10", "5001:CM1:192.0.2.10"),
            ("alice:CM1:192.0.2.10:0", "alice:CM1:192.0.2.10:0"),
            ("N<", ""),
            ("", ""),
            ("sip:", ""),
            ("é:x", "é:x"),
        ] {
            assert_eq!(normalize_number(raw), number, "{raw}");
        }
    }

    #[test]
    fn json_shows_number_and_raw() {
        let device = DeviceId::new("sip:201@pbx").with_type_of_number("dialingNumber");
        assert_eq!(
            serde_json::to_value(EventDevice::Known(device)).unwrap(),
            serde_json::json!({
                "kind": "deviceIdentifier",
                "number": "201",
                "raw": "sip:201@pbx",
                "typeOfNumber": "dialingNumber"
            })
        );
        assert_eq!(
            serde_json::to_value(EventDevice::Restricted).unwrap(),
            serde_json::json!({"kind": "restricted"})
        );
    }
}
