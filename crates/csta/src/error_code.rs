//! `CSTAErrorCode`: a switch's negative answer to a request, under that request's
//! invoke id. Exactly one child names the category; its text is the value.
//!
//! ```text
//! <CSTAErrorCode xmlns="…/ed3"><operation>invalidDeviceID</operation></CSTAErrorCode>
//! <CSTAErrorCode><systemResourceAvailibility>resourceBusy</systemResourceAvailibility></CSTAErrorCode>
//! <CSTAErrorCode><privateErrorCode>URM Denied</privateErrorCode></CSTAErrorCode>
//! ```

use serde::Serialize;

use crate::error::DecodeError;
use crate::xml::reader::{Child, Cursor};
use crate::xml::writer::XmlWriter;
use crate::xml::{Extra, XmlValue};

string_enum! {
    /// The family of a CSTA error.
    pub enum ErrorCategory {
        Operation = "operation",
        Security = "security",
        StateIncompatibility = "stateIncompatibility",
        /// Misspelt in the schema; the correct spelling is read too.
        SystemResourceAvailability = "systemResourceAvailibility" | "systemResourceAvailability",
        SubscribedResourceAvailability = "subscribedResourceAvailability",
        PerformanceManagement = "performanceManagement",
        PrivateData = "privateData",
        PrivateErrorCode = "privateErrorCode",
        Unspecified = "unspecified",
    }
}

/// A CSTA error: category and value, e.g. `operation` / `invalidDeviceID`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CstaErrorCode {
    pub category: ErrorCategory,
    /// The error's text, e.g. `noCallToAnswer`; for `privateData` the text inside.
    pub value: String,
    /// Further children (beyond the first) and extensions, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl CstaErrorCode {
    pub fn new(category: ErrorCategory, value: impl Into<String>) -> CstaErrorCode {
        CstaErrorCode {
            category,
            value: value.into(),
            extra: Extra::default(),
        }
    }
}

impl XmlValue for CstaErrorCode {
    fn read(cursor: &mut Cursor<'_>, element: &Child<'_>) -> Result<Self, DecodeError> {
        let mut error: Option<(ErrorCategory, String)> = None;
        let mut extra = Extra::default();
        while let Some(child) = cursor.next_child(element)? {
            if error.is_none() && child.local_name() != "extensions" {
                let category = ErrorCategory::from_wire(child.local_name());
                error = Some((category, cursor.text(&child)?.into_owned()));
            } else {
                extra.keep(cursor, &child)?;
            }
        }
        let (category, value) =
            error.ok_or_else(|| crate::xml::missing(element, "error category"))?;
        Ok(CstaErrorCode {
            category,
            value,
            extra,
        })
    }

    fn write_children(&self, writer: &mut XmlWriter<'_>) {
        // The category is an element name: one from input that is not a plain name
        // (only possible for hand-built values) would break the document.
        let category = match self.category.as_str() {
            name if is_plain_name(name) => name,
            _ => ErrorCategory::Unspecified.as_str(),
        };
        writer.text_element(category, &self.value);
        self.extra.write(writer);
    }
}

/// `[A-Za-z_][A-Za-z0-9._-]*`: safe to write as an element name.
fn is_plain_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}
