//! Why an XML document could not be turned into a [`Message`](crate::Message).
//!
//! Unknown roots, unknown children and unknown enumeration values are *not* errors (the
//! reader keeps them); a `DecodeError` means the bytes are not a usable CSTA document,
//! or one the reader refuses on principle (see "Leniency policy" in the crate docs).

/// A document that cannot be decoded. Each variant has a stable code for logs and APIs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the document is not valid UTF-8 (first bad byte at {offset})")]
    InvalidUtf8 { offset: usize },
    #[error("the document holds no XML element")]
    Empty,
    #[error("the XML is not well-formed at byte {offset}: {reason}")]
    Malformed { offset: usize, reason: String },
    #[error("the document ends inside <{element}>")]
    UnexpectedEof { element: String },
    #[error("<{parent}> lacks its required <{element}>")]
    MissingElement {
        parent: String,
        element: &'static str,
    },
    #[error("<{element}> holds `{value}`, which is not a valid {expected}")]
    InvalidValue {
        element: String,
        value: String,
        expected: &'static str,
    },
    #[error("unknown entity `&{0};`")]
    UnknownEntity(String),
    #[error("text after the root element at byte {offset}")]
    TrailingContent { offset: usize },
    #[error("the document is not valid UTF-16 (at byte {offset})")]
    InvalidUtf16 { offset: usize },
    #[error("the document declares the unsupported encoding `{encoding}`")]
    UnsupportedEncoding { encoding: String },
    #[error(
        "the root <{root}> is not a CSTA message (namespace: {})",
        .namespace.as_deref().unwrap_or("none")
    )]
    NotCsta {
        root: String,
        namespace: Option<String>,
    },
    #[error("elements nest deeper than {max} levels (the start tag ending at byte {offset})")]
    TooDeep { offset: usize, max: usize },
    #[error("the document of {length} bytes exceeds the limit of {max} bytes")]
    TooLarge { length: usize, max: usize },
    #[error("SOAP fault without a CSTA message: {reason}")]
    SoapFault { reason: String },
}

impl DecodeError {
    /// The stable code of this error, e.g. `csta_malformed_xml`.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::InvalidUtf8 { .. } => "csta_invalid_utf8",
            DecodeError::Empty => "csta_empty_document",
            DecodeError::Malformed { .. } => "csta_malformed_xml",
            DecodeError::UnexpectedEof { .. } => "csta_truncated_xml",
            DecodeError::MissingElement { .. } => "csta_missing_element",
            DecodeError::InvalidValue { .. } => "csta_invalid_value",
            DecodeError::UnknownEntity(_) => "csta_unknown_entity",
            DecodeError::TrailingContent { .. } => "csta_trailing_content",
            DecodeError::InvalidUtf16 { .. } => "csta_invalid_utf16",
            DecodeError::UnsupportedEncoding { .. } => "csta_unsupported_encoding",
            DecodeError::NotCsta { .. } => "csta_not_csta",
            DecodeError::TooDeep { .. } => "csta_too_deep",
            DecodeError::TooLarge { .. } => "csta_document_too_large",
            DecodeError::SoapFault { .. } => "csta_soap_fault",
        }
    }

    pub(crate) fn malformed(offset: u64, error: impl std::fmt::Display) -> DecodeError {
        DecodeError::Malformed {
            offset: usize::try_from(offset).unwrap_or(usize::MAX),
            reason: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_distinct() {
        let errors = [
            DecodeError::InvalidUtf8 { offset: 0 },
            DecodeError::Empty,
            DecodeError::malformed(3, "x"),
            DecodeError::UnexpectedEof {
                element: "a".into(),
            },
            DecodeError::MissingElement {
                parent: "MakeCall".into(),
                element: "callingDevice",
            },
            DecodeError::InvalidValue {
                element: "doNotDisturbOn".into(),
                value: "maybe".into(),
                expected: "boolean",
            },
            DecodeError::UnknownEntity("nbsp".into()),
            DecodeError::TrailingContent { offset: 9 },
            DecodeError::InvalidUtf16 { offset: 3 },
            DecodeError::UnsupportedEncoding {
                encoding: "EBCDIC".into(),
            },
            DecodeError::NotCsta {
                root: "dialog-info".into(),
                namespace: None,
            },
            DecodeError::TooDeep { offset: 0, max: 64 },
            DecodeError::TooLarge { length: 1, max: 0 },
            DecodeError::SoapFault { reason: "x".into() },
        ];
        let mut codes: Vec<_> = errors.iter().map(DecodeError::code).collect();
        assert!(codes.iter().all(|c| c.starts_with("csta_")));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), errors.len());
        assert_eq!(
            errors[4].to_string(),
            "<MakeCall> lacks its required <callingDevice>"
        );
    }
}
