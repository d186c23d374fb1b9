//! Why an XML document could not be turned into a [`Message`](crate::Message).
//!
//! Unknown roots, unknown children and unknown enumeration values are *not* errors (the
//! reader keeps them); a `DecodeError` means the bytes are not a usable CSTA document.

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
