//! The XML layer shared by every message: a value trait, the raw-XML carriers, and the
//! two macros that describe messages once and derive reader, writer and JSON from it.
//!
//! A message is declared as its fields with the wire tag of each:
//! ```text
//! csta_struct! {
//!     pub struct MakeCall {
//!         calling_device: req DeviceId = "callingDevice",
//!         auto_originate: opt AutoOriginate = "autoOriginate",
//!     }
//! }
//! ```
//! `req` fields must be present, `opt` fields may be, `list` fields repeat. The reader
//! matches children by local name in any order; children it does not know go to
//! [`Extra`] verbatim; the writer emits fields in declaration (schema) order.

pub(crate) mod reader;
pub(crate) mod writer;

use serde::Serialize;

use crate::error::DecodeError;
use reader::{Child, Cursor};
use writer::XmlWriter;

/// A value that is one XML element on the wire.
pub(crate) trait XmlValue: Sized {
    /// Reads `element`, whose start tag was just read, through its end tag.
    fn read(cursor: &mut Cursor<'_>, element: &Child<'_>) -> Result<Self, DecodeError>;

    /// Writes what goes between the start and end tag.
    fn write_children(&self, writer: &mut XmlWriter<'_>);

    /// Writes `<tag>…</tag>`.
    fn write(&self, writer: &mut XmlWriter<'_>, tag: &str) {
        writer.start(tag);
        self.write_children(writer);
        writer.end(tag);
    }
}

/// Children a message carries that this crate does not model, kept as raw XML so that
/// nothing a switch sends is lost (and so that it can be logged or forwarded).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Extra {
    /// The whole `<extensions>…</extensions>` element (vendor `privateData`), as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extensions: Option<String>,
    /// Other unknown child elements, each as sent, in document order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
}

impl Extra {
    /// Takes `child` as an unknown or extension element.
    pub(crate) fn keep(
        &mut self,
        cursor: &mut Cursor<'_>,
        child: &Child<'_>,
    ) -> Result<(), DecodeError> {
        let raw = cursor.raw(child)?.to_string();
        if child.local_name() == "extensions" {
            self.extensions = Some(raw);
        } else {
            self.unknown.push(raw);
        }
        Ok(())
    }

    /// Writes unknown children, then the extensions (which the schemas put last).
    pub(crate) fn write(&self, writer: &mut XmlWriter<'_>) {
        for raw in &self.unknown {
            writer.raw(raw);
        }
        if let Some(raw) = &self.extensions {
            writer.raw(raw);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.extensions.is_none() && self.unknown.is_empty()
    }
}

/// The content of an element kept verbatim, e.g. vendor login data inside
/// `<applicationSpecificInfo>` or a `<requestedMonitorFilter>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RawXml(pub String);

impl XmlValue for RawXml {
    fn read(cursor: &mut Cursor<'_>, element: &Child<'_>) -> Result<Self, DecodeError> {
        Ok(RawXml(cursor.inner_raw(element)?.to_string()))
    }

    fn write_children(&self, writer: &mut XmlWriter<'_>) {
        writer.raw(&self.0);
    }
}

impl XmlValue for String {
    fn read(cursor: &mut Cursor<'_>, element: &Child<'_>) -> Result<Self, DecodeError> {
        Ok(cursor.text(element)?.into_owned())
    }

    fn write_children(&self, writer: &mut XmlWriter<'_>) {
        writer.text(self);
    }
}

/// A value kept behind a pointer: for large, rarely sent parts (`callLinkageData`), so
/// that they do not grow every message that may carry them.
impl<T: XmlValue> XmlValue for Box<T> {
    fn read(cursor: &mut Cursor<'_>, element: &Child<'_>) -> Result<Self, DecodeError> {
        T::read(cursor, element).map(Box::new)
    }

    fn write_children(&self, writer: &mut XmlWriter<'_>) {
        T::write_children(self, writer);
    }

    fn write(&self, writer: &mut XmlWriter<'_>, tag: &str) {
        T::write(self, writer, tag);
    }
}

/// `true`/`false` (also `1`/`0`, as some switches send).
impl XmlValue for bool {
    fn read(cursor: &mut Cursor<'_>, element: &Child<'_>) -> Result<Self, DecodeError> {
        let text = cursor.text(element)?;
        match &*text {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(invalid(element, &text, "boolean")),
        }
    }

    fn write_children(&self, writer: &mut XmlWriter<'_>) {
        writer.text(if *self { "true" } else { "false" });
    }
}

/// Durations in seconds.
impl XmlValue for u32 {
    fn read(cursor: &mut Cursor<'_>, element: &Child<'_>) -> Result<Self, DecodeError> {
        let text = cursor.text(element)?;
        text.parse()
            .map_err(|_| invalid(element, &text, "non-negative integer"))
    }

    fn write_children(&self, writer: &mut XmlWriter<'_>) {
        writer.text(&self.to_string());
    }
}

pub(crate) fn invalid(element: &Child<'_>, value: &str, expected: &'static str) -> DecodeError {
    DecodeError::InvalidValue {
        element: element.local_name().to_string(),
        value: value.chars().take(64).collect(),
        expected,
    }
}

pub(crate) fn missing(parent: &Child<'_>, element: &'static str) -> DecodeError {
    DecodeError::MissingElement {
        parent: parent.local_name().to_string(),
        element,
    }
}

/// Whether a field is left out of the JSON form: absent options and empty lists.
pub(crate) trait Absent {
    fn is_absent(&self) -> bool {
        false
    }
}

impl<T> Absent for Option<T> {
    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

impl<T> Absent for Vec<T> {
    fn is_absent(&self) -> bool {
        self.is_empty()
    }
}

impl Absent for String {}
impl Absent for bool {}
impl Absent for u32 {}

pub(crate) fn is_absent<T: Absent>(value: &T) -> bool {
    value.is_absent()
}

/// The Rust type of a field of the given kind.
macro_rules! field_type {
    (req $ty:ty) => { $ty };
    (opt $ty:ty) => { Option<$ty> };
    (list $ty:ty) => { Vec<$ty> };
}

/// What the reader collects a field into while children arrive in any order.
macro_rules! slot_type {
    (list $ty:ty) => { Vec<$ty> };
    ($kind:ident $ty:ty) => { Option<$ty> };
}

macro_rules! store_field {
    (list $slot:ident, $value:expr) => {
        $slot.push($value)
    };
    ($kind:ident $slot:ident, $value:expr) => {
        $slot = Some($value)
    };
}

macro_rules! finish_field {
    (req $slot:ident, $element:expr, $tag:literal) => {
        $slot.ok_or_else(|| $crate::xml::missing($element, $tag))?
    };
    ($kind:ident $slot:ident, $element:expr, $tag:literal) => {
        $slot
    };
}

macro_rules! write_field {
    (req $value:expr, $writer:expr, $tag:literal) => {
        $crate::xml::XmlValue::write($value, $writer, $tag)
    };
    (opt $value:expr, $writer:expr, $tag:literal) => {
        if let Some(value) = $value {
            $crate::xml::XmlValue::write(value, $writer, $tag)
        }
    };
    (list $value:expr, $writer:expr, $tag:literal) => {
        for value in $value {
            $crate::xml::XmlValue::write(value, $writer, $tag)
        }
    };
}

/// Declares a struct that is one XML element with child elements (see the module docs).
/// `"tag" | "alias"` accepts an alternative tag when reading.
macro_rules! csta_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                $field:ident : $kind:ident $ty:ty = $tag:literal $(| $alias:literal)*
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $(
                $(#[$field_meta])*
                #[serde(skip_serializing_if = "crate::xml::is_absent")]
                pub $field: field_type!($kind $ty),
            )*
            /// Unknown children and vendor extensions, kept verbatim.
            #[serde(flatten)]
            pub extra: $crate::xml::Extra,
        }

        impl $crate::xml::XmlValue for $name {
            fn read(
                cursor: &mut $crate::xml::reader::Cursor<'_>,
                element: &$crate::xml::reader::Child<'_>,
            ) -> Result<Self, $crate::error::DecodeError> {
                $( let mut $field: slot_type!($kind $ty) = Default::default(); )*
                let mut extra = $crate::xml::Extra::default();
                while let Some(child) = cursor.next_child(element)? {
                    match child.local_name() {
                        $(
                            $tag $(| $alias)* => store_field!(
                                $kind $field,
                                <$ty as $crate::xml::XmlValue>::read(cursor, &child)?
                            ),
                        )*
                        _ => extra.keep(cursor, &child)?,
                    }
                }
                Ok($name {
                    $( $field: finish_field!($kind $field, element, $tag), )*
                    extra,
                })
            }

            fn write_children(&self, writer: &mut $crate::xml::writer::XmlWriter<'_>) {
                $( write_field!($kind &self.$field, writer, $tag); )*
                self.extra.write(writer);
            }
        }

        impl $crate::xml::Absent for $name {}
    };
}

/// Declares an enumerated value carried as element text, with an `Other` variant that
/// keeps values this crate does not know (switches add their own). `Variant = "wire" |
/// "alias"` also reads an alternative spelling and writes the first.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $wire:literal $(| $alias:literal)* ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )*
            /// A value this crate does not know, as sent.
            Other(String),
        }

        impl $name {
            /// Every known value, in schema order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),*];

            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )*
                    $name::Other(value) => value,
                }
            }

            /// The value for a wire spelling; unknown spellings become `Other`.
            pub fn from_wire(value: &str) -> $name {
                match value {
                    $( $wire $(| $alias)* => $name::$variant, )*
                    other => $name::Other(other.to_string()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl $crate::xml::XmlValue for $name {
            fn read(
                cursor: &mut $crate::xml::reader::Cursor<'_>,
                element: &$crate::xml::reader::Child<'_>,
            ) -> Result<Self, $crate::error::DecodeError> {
                Ok($name::from_wire(&cursor.text(element)?))
            }

            fn write_children(&self, writer: &mut $crate::xml::writer::XmlWriter<'_>) {
                writer.text(self.as_str());
            }
        }

        impl $crate::xml::Absent for $name {}
    };
}
