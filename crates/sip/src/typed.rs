//! Typed access to the headers a registrar and a dialog need. Each accessor parses on
//! demand and says which header is missing or malformed ([`HeaderError`]).

use std::fmt;

use crate::auth::{Challenge, Credentials};
use crate::error::HeaderError;
use crate::header::Headers;
use crate::message::Method;
use crate::name_addr::{Contacts, NameAddr};
use crate::via::Via;

/// The CSeq header: a sequence number and the request's method (`CSeq: 4711 INVITE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl CSeq {
    pub fn parse(value: &str) -> Result<CSeq, &'static str> {
        let mut parts = value.split_ascii_whitespace();
        let (Some(seq), Some(method), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err("expected a number and a method");
        };
        // RFC 3261 §8.1.1.5: the number is below 2**31.
        let seq = Some(seq)
            .filter(|seq| seq.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|seq| seq.parse::<u32>().ok())
            .filter(|seq| *seq < 1 << 31)
            .ok_or("the sequence number is not a number below 2^31")?;
        let method = Method::parse(method).ok_or("the method is not a token")?;
        Ok(CSeq { seq, method })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// Parses `delta-seconds`; values above 2^32-1 count as 2^32-1 (RFC 3261 §20.19).
pub(crate) fn parse_seconds(value: &str) -> Option<u32> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(value.parse::<u32>().unwrap_or(u32::MAX))
}

impl Headers {
    /// Every Via, top first.
    pub fn vias(&self) -> Result<Vec<Via>, HeaderError> {
        self.get_all("Via")
            .map(|value| Via::parse(value).map_err(|e| HeaderError::invalid("Via", value, e)))
            .collect()
    }

    /// The top Via: the hop the response goes back to.
    pub fn top_via(&self) -> Result<Via, HeaderError> {
        let value = self.required("Via")?;
        Via::parse(value).map_err(|e| HeaderError::invalid("Via", value, e))
    }

    /// The From address (`tag` identifies the sender's side of a dialog).
    pub fn from(&self) -> Result<NameAddr, HeaderError> {
        self.name_addr("From")
    }

    /// The To address (`tag` identifies the receiver's side once set).
    pub fn to(&self) -> Result<NameAddr, HeaderError> {
        self.name_addr("To")
    }

    pub fn call_id(&self) -> Result<&str, HeaderError> {
        let value = self.required("Call-ID")?;
        if value.is_empty() || value.contains(char::is_whitespace) {
            return Err(HeaderError::invalid(
                "Call-ID",
                value,
                "empty or has spaces",
            ));
        }
        Ok(value)
    }

    pub fn cseq(&self) -> Result<CSeq, HeaderError> {
        let value = self.required("CSeq")?;
        CSeq::parse(value).map_err(|e| HeaderError::invalid("CSeq", value, e))
    }

    /// All Contact addresses, or the `*` wildcard; no Contact is an empty list. A `*`
    /// beside other contacts is invalid.
    pub fn contacts(&self) -> Result<Contacts, HeaderError> {
        let values: Vec<&str> = self.get_all("Contact").collect();
        if values.iter().any(|value| value.trim() == "*") {
            return match values.as_slice() {
                [_] => Ok(Contacts::Wildcard),
                _ => Err(HeaderError::invalid(
                    "Contact",
                    &values.join(", "),
                    "`*` must be the only contact",
                )),
            };
        }
        values
            .into_iter()
            .map(|value| {
                NameAddr::parse(value).map_err(|e| HeaderError::invalid("Contact", value, e))
            })
            .collect::<Result<_, _>>()
            .map(Contacts::List)
    }

    /// The Expires header in seconds.
    pub fn expires(&self) -> Result<Option<u32>, HeaderError> {
        self.seconds("Expires")
    }

    /// The Min-Expires header of a 423 response, in seconds.
    pub fn min_expires(&self) -> Result<Option<u32>, HeaderError> {
        self.seconds("Min-Expires")
    }

    pub fn max_forwards(&self) -> Result<Option<u32>, HeaderError> {
        self.seconds("Max-Forwards")
    }

    /// The Content-Type as written, e.g. `application/csta+xml;charset=utf-8`.
    pub fn content_type(&self) -> Option<&str> {
        self.get("Content-Type")
    }

    /// Whether the Content-Type's media type (parameters ignored) is `media_type`,
    /// ignoring case.
    pub fn has_content_type(&self, media_type: &str) -> bool {
        self.content_type().is_some_and(|value| {
            let essence = value.split(';').next().unwrap_or_default();
            essence.trim().eq_ignore_ascii_case(media_type)
        })
    }

    /// The Content-Disposition as written, e.g. `signal;handling=required`.
    pub fn content_disposition(&self) -> Option<&str> {
        self.get("Content-Disposition")
    }

    pub fn user_agent(&self) -> Option<&str> {
        self.get("User-Agent")
    }

    /// The first Authorization header, parsed as Digest credentials.
    pub fn authorization(&self) -> Result<Option<Credentials>, HeaderError> {
        self.get("Authorization")
            .map(|value| {
                Credentials::parse(value)
                    .map_err(|e| HeaderError::invalid("Authorization", value, e))
            })
            .transpose()
    }

    /// The first WWW-Authenticate header, parsed as a Digest challenge.
    pub fn www_authenticate(&self) -> Result<Option<Challenge>, HeaderError> {
        self.get("WWW-Authenticate")
            .map(|value| {
                Challenge::parse(value)
                    .map_err(|e| HeaderError::invalid("WWW-Authenticate", value, e))
            })
            .transpose()
    }

    fn required(&self, name: &'static str) -> Result<&str, HeaderError> {
        self.get(name).ok_or(HeaderError::Missing { name })
    }

    fn name_addr(&self, name: &'static str) -> Result<NameAddr, HeaderError> {
        let value = self.required(name)?;
        NameAddr::parse(value).map_err(|e| HeaderError::invalid(name, value, e))
    }

    fn seconds(&self, name: &'static str) -> Result<Option<u32>, HeaderError> {
        self.get(name)
            .map(|value| {
                parse_seconds(value)
                    .ok_or_else(|| HeaderError::invalid(name, value, "not a number of seconds"))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::HeaderName;

    fn headers(lines: &[(&str, &str)]) -> Headers {
        let mut headers = Headers::new();
        for (name, value) in lines {
            headers.push_line(HeaderName::new(name), value, 100);
        }
        headers
    }

    #[test]
    fn reads_the_dialog_headers() {
        let h = headers(&[
            (
                "v",
                "SIP/2.0/TCP a:5061;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2",
            ),
            ("f", r#""A" <sip:a@x>;tag=1"#),
            ("t", "sip:b@x"),
            ("i", "abc@x"),
            ("CSeq", "  42   INFO "),
            ("Expires", "99999999999"),
            ("c", "Application/CSTA+XML; charset=UTF-8"),
        ]);
        assert_eq!(h.vias().unwrap().len(), 2);
        assert_eq!(h.top_via().unwrap().branch(), Some("z9hG4bK1"));
        assert_eq!(h.from().unwrap().tag(), Some("1"));
        assert_eq!(h.to().unwrap().tag(), None);
        assert_eq!(h.call_id(), Ok("abc@x"));
        assert_eq!(
            h.cseq().unwrap(),
            CSeq {
                seq: 42,
                method: Method::Info
            }
        );
        assert_eq!(h.expires(), Ok(Some(u32::MAX)));
        assert_eq!(h.min_expires(), Ok(None));
        assert!(h.has_content_type("application/csta+xml"));
        assert!(!h.has_content_type("application/csta"));
        assert_eq!(h.contacts(), Ok(Contacts::List(vec![])));
    }

    #[test]
    fn names_what_is_wrong() {
        let h = headers(&[("CSeq", "1"), ("Expires", "soon"), ("Call-ID", "a b")]);
        assert_eq!(h.to(), Err(HeaderError::Missing { name: "To" }));
        assert_eq!(h.cseq().unwrap_err().code(), "sip_invalid_header");
        assert!(h.expires().is_err());
        assert!(h.call_id().is_err());
        for bad in [
            "2147483648 INVITE",
            "-1 INVITE",
            "+1 INVITE",
            "1 IN VITE X",
            "x INFO",
        ] {
            assert!(CSeq::parse(bad).is_err(), "{bad}");
        }
        let wildcard = headers(&[("Contact", "*")]);
        assert_eq!(wildcard.contacts(), Ok(Contacts::Wildcard));
        let mixed = headers(&[("Contact", "*, <sip:a@b>")]);
        assert!(mixed.contacts().is_err());
    }
}
