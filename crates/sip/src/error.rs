//! Why bytes are not a SIP message, and why a header of a parsed message is unusable.
//!
//! The parser checks the framing and the syntax every message shares (start line, header
//! lines, Content-Length); the typed accessors check one header's grammar when asked. So a
//! message with an odd `User-Agent` still parses, and only a registrar that needs `Contact`
//! learns that its `Contact` is broken. Every error has a stable code for logs and metrics.

/// Bytes that cannot be a SIP message. After one of these a stream is out of step: close it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the SIP message of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge { size: usize, max: usize },
    #[error("the SIP message has more than {max} header fields")]
    TooManyHeaders { max: usize },
    #[error("a line of the SIP message is longer than {max} bytes")]
    LineTooLong { max: usize },
    #[error("the SIP message head is not valid UTF-8")]
    InvalidUtf8,
    #[error("bad start line `{line}`: {reason}")]
    BadStartLine { line: String, reason: &'static str },
    #[error("the SIP message head does not end with an empty line")]
    UnterminatedHead,
    #[error("bad header line {line}: {reason}")]
    BadHeader { line: usize, reason: &'static str },
    #[error("bad Content-Length `{0}`")]
    BadContentLength(String),
    #[error("a SIP message on a stream transport needs a Content-Length")]
    MissingContentLength,
    #[error("the body is {actual} bytes but Content-Length says {declared}")]
    TruncatedBody { declared: usize, actual: usize },
}

impl ParseError {
    /// The stable code of this error, e.g. `sip_message_too_large`.
    pub fn code(&self) -> &'static str {
        match self {
            ParseError::TooLarge { .. } => "sip_message_too_large",
            ParseError::TooManyHeaders { .. } => "sip_too_many_headers",
            ParseError::LineTooLong { .. } => "sip_line_too_long",
            ParseError::InvalidUtf8 => "sip_invalid_utf8",
            ParseError::BadStartLine { .. } => "sip_bad_start_line",
            ParseError::UnterminatedHead => "sip_unterminated_head",
            ParseError::BadHeader { .. } => "sip_bad_header",
            ParseError::BadContentLength(_) => "sip_bad_content_length",
            ParseError::MissingContentLength => "sip_missing_content_length",
            ParseError::TruncatedBody { .. } => "sip_truncated_body",
        }
    }
}

/// A header a caller asked for is missing or does not follow its grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the {name} header is missing")]
    Missing { name: &'static str },
    #[error("the {name} header `{value}` is invalid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

impl HeaderError {
    /// The stable code of this error: `sip_missing_header` or `sip_invalid_header`.
    pub fn code(&self) -> &'static str {
        match self {
            HeaderError::Missing { .. } => "sip_missing_header",
            HeaderError::Invalid { .. } => "sip_invalid_header",
        }
    }

    pub(crate) fn invalid(
        name: &'static str,
        value: &str,
        reason: impl std::fmt::Display,
    ) -> HeaderError {
        HeaderError::Invalid {
            name,
            value: value.to_owned(),
            reason: reason.to_string(),
        }
    }
}

/// Text that is not a URI this crate understands (RFC 3261 §19.1, §25.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid URI `{uri}`: {reason}")]
pub struct UriError {
    pub uri: String,
    pub reason: &'static str,
}

impl UriError {
    /// The stable code: `sip_invalid_uri`.
    pub fn code(&self) -> &'static str {
        "sip_invalid_uri"
    }

    pub(crate) fn new(uri: &str, reason: &'static str) -> UriError {
        UriError {
            uri: uri.to_owned(),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_distinct() {
        let errors = [
            ParseError::TooLarge { size: 2, max: 1 },
            ParseError::TooManyHeaders { max: 1 },
            ParseError::LineTooLong { max: 1 },
            ParseError::InvalidUtf8,
            ParseError::BadStartLine {
                line: "x".into(),
                reason: "y",
            },
            ParseError::UnterminatedHead,
            ParseError::BadHeader {
                line: 2,
                reason: "z",
            },
            ParseError::BadContentLength("a".into()),
            ParseError::MissingContentLength,
            ParseError::TruncatedBody {
                declared: 3,
                actual: 1,
            },
        ];
        let mut codes: Vec<_> = errors.iter().map(ParseError::code).collect();
        codes.extend([
            HeaderError::Missing { name: "To" }.code(),
            HeaderError::invalid("To", "x", "no URI").code(),
            UriError::new("x", "no scheme").code(),
        ]);
        assert!(codes.iter().all(|c| c.starts_with("sip_")));
        let count = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), count);
        assert_eq!(
            HeaderError::invalid("CSeq", "x", "no number").to_string(),
            "the CSeq header `x` is invalid: no number"
        );
    }
}
