//! Header fields in message order, with case-insensitive names and compact forms.
//!
//! A header line that holds a comma-separated list (`Via: a, b` or `Allow: INVITE, ACK`)
//! is stored as one [`Header`] per element, which RFC 3261 §7.3.1 makes equivalent; so
//! `headers.get_all("Via")` gives every Via whether the sender wrote one per line or not.
//! Known names are stored in their canonical spelling (`v`, `VIA` and `via` become `Via`),
//! others as written. `Content-Length` is not kept here: it describes the body, and the
//! printer writes it from the body itself.

use std::borrow::Cow;

use crate::text;

/// What this crate knows about a header name (RFC 3261 §20 and common extensions).
struct Known {
    name: &'static str,
    compact: Option<&'static str>,
    /// The grammar is a comma-separated list, so a line may be split into elements.
    list: bool,
}

const fn known(name: &'static str, compact: Option<&'static str>, list: bool) -> Known {
    Known {
        name,
        compact,
        list,
    }
}

const KNOWN: &[Known] = &[
    known("Via", Some("v"), true),
    known("From", Some("f"), false),
    known("To", Some("t"), false),
    known("Call-ID", Some("i"), false),
    known("CSeq", None, false),
    known("Contact", Some("m"), true),
    known("Max-Forwards", None, false),
    known("Expires", None, false),
    known("Min-Expires", None, false),
    known("Content-Length", Some("l"), false),
    known("Content-Type", Some("c"), false),
    known("Content-Disposition", None, false),
    known("Content-Encoding", Some("e"), true),
    known("Content-Language", None, true),
    known("Authorization", None, false),
    known("WWW-Authenticate", None, false),
    known("Proxy-Authorization", None, false),
    known("Proxy-Authenticate", None, false),
    known("Authentication-Info", None, false),
    known("User-Agent", None, false),
    known("Server", None, false),
    known("Route", None, true),
    known("Record-Route", None, true),
    known("Path", None, true),
    known("Service-Route", None, true),
    known("Allow", None, true),
    known("Allow-Events", Some("u"), true),
    known("Supported", Some("k"), true),
    known("Require", None, true),
    known("Proxy-Require", None, true),
    known("Unsupported", None, true),
    known("Accept", None, true),
    known("Accept-Encoding", None, true),
    known("Accept-Language", None, true),
    known("Accept-Contact", Some("a"), true),
    known("Reject-Contact", Some("j"), true),
    known("Request-Disposition", Some("d"), true),
    known("Alert-Info", None, true),
    known("Call-Info", None, true),
    known("Error-Info", None, true),
    known("In-Reply-To", None, true),
    known("Warning", None, true),
    known("Subject", Some("s"), false),
    known("Event", Some("o"), false),
    known("Refer-To", Some("r"), false),
    known("Referred-By", Some("b"), false),
    known("Session-Expires", Some("x"), false),
    known("Date", None, false),
    known("Timestamp", None, false),
    known("Retry-After", None, false),
    known("Organization", None, false),
    known("Priority", None, false),
    known("Reply-To", None, false),
    known("MIME-Version", None, false),
    known("Subscription-State", None, false),
];

fn lookup(name: &str) -> Option<&'static Known> {
    KNOWN.iter().find(|known| {
        known.name.eq_ignore_ascii_case(name)
            || known.compact.is_some_and(|c| c.eq_ignore_ascii_case(name))
    })
}

/// A header name; equality ignores case, and compact forms equal their long form.
#[derive(Debug, Clone, Eq)]
pub struct HeaderName(Cow<'static, str>);

impl HeaderName {
    /// The canonical spelling for a known name or compact form, else `name` as given.
    pub fn new(name: &str) -> HeaderName {
        match lookup(name) {
            Some(known) => HeaderName(Cow::Borrowed(known.name)),
            None => HeaderName(Cow::Owned(name.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `name` (any case, or a compact form) names this header.
    pub fn is(&self, name: &str) -> bool {
        let name = lookup(name).map_or(name, |known| known.name);
        self.0.eq_ignore_ascii_case(name)
    }

    fn is_list(&self) -> bool {
        lookup(&self.0).is_some_and(|known| known.list)
    }
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &HeaderName) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

/// One header field: a name and one value (one list element for list headers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: HeaderName,
    pub value: String,
}

/// The header fields of a message, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Headers(Vec<Header>);

impl Headers {
    pub fn new() -> Headers {
        Headers::default()
    }

    /// The first value of `name` (any case or compact form).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).next()
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + use<'a> {
        let name = HeaderName::new(name);
        self.0
            .iter()
            .filter(move |header| header.name == name)
            .map(|header| header.value.as_str())
    }

    /// Appends a header. `name` must be a token; line breaks in `value` become spaces so
    /// that no value can inject a header.
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        debug_assert!(text::is_token(name), "header name {name:?}");
        let mut value = value.into();
        if value.contains(['\r', '\n']) {
            value = value.replace(['\r', '\n'], " ");
        }
        self.0.push(Header {
            name: HeaderName::new(name),
            value,
        });
    }

    /// Replaces every `name` header with one, at the place of the first (or at the end).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let name = HeaderName::new(name);
        match self.0.iter().position(|header| header.name == name) {
            Some(first) => {
                let mut value = value.into();
                if value.contains(['\r', '\n']) {
                    value = value.replace(['\r', '\n'], " ");
                }
                if let Some(header) = self.0.get_mut(first) {
                    header.value = value;
                }
                let mut index = 0;
                self.0.retain(|header| {
                    index += 1;
                    index - 1 == first || header.name != name
                });
            }
            None => self.push(name.as_str(), value),
        }
    }

    /// Removes every `name` header.
    pub fn remove(&mut self, name: &str) {
        let name = HeaderName::new(name);
        self.0.retain(|header| header.name != name);
    }

    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds a parsed header line, split into its elements when the grammar is a list.
    /// Refuses (returning `false`) to grow past `max_headers` fields.
    pub(crate) fn push_line(&mut self, name: HeaderName, value: &str, max_headers: usize) -> bool {
        if name.is_list() && value.contains(',') {
            let before = self.0.len();
            for element in text::split_outside(value, b',') {
                let element = element.trim();
                if element.is_empty() {
                    continue;
                }
                if self.0.len() >= max_headers {
                    return false;
                }
                self.0.push(Header {
                    name: name.clone(),
                    value: element.to_owned(),
                });
            }
            if self.0.len() > before {
                return true;
            }
        }
        if self.0.len() >= max_headers {
            return false;
        }
        self.0.push(Header {
            name,
            value: value.to_owned(),
        });
        true
    }

    /// The first header named `name`, to change in place.
    pub(crate) fn first_mut(&mut self, name: &str) -> Option<&mut String> {
        let name = HeaderName::new(name);
        self.0
            .iter_mut()
            .find(|header| header.name == name)
            .map(|header| &mut header.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ignore_case_and_compact_forms() {
        assert_eq!(HeaderName::new("v").as_str(), "Via");
        assert_eq!(HeaderName::new("CALL-id").as_str(), "Call-ID");
        assert_eq!(HeaderName::new("X-Custom").as_str(), "X-Custom");
        assert_eq!(HeaderName::new("x-custom"), HeaderName::new("X-CUSTOM"));
        assert!(HeaderName::new("Contact").is("m"));
        assert!(!HeaderName::new("Contact").is("Content-Type"));
    }

    #[test]
    fn list_lines_split_outside_quotes() {
        let mut headers = Headers::new();
        assert!(headers.push_line(
            HeaderName::new("m"),
            r#""Doe, John" <sip:j@a>;q=0.5, <sip:j@b>"#,
            10,
        ));
        assert_eq!(
            headers.get_all("contact").collect::<Vec<_>>(),
            [r#""Doe, John" <sip:j@a>;q=0.5"#, "<sip:j@b>"]
        );
        assert!(headers.push_line(HeaderName::new("User-Agent"), "Phone, v1", 10));
        assert_eq!(headers.get("user-agent"), Some("Phone, v1"));
        assert!(headers.push_line(HeaderName::new("Supported"), "", 10));
        assert_eq!(headers.get("k"), Some(""));
        assert!(!headers.push_line(HeaderName::new("Allow"), "A, B", 5));
        assert_eq!(headers.len(), 5);
    }

    #[test]
    fn set_replaces_all_at_the_first_place_and_values_cannot_inject() {
        let mut headers = Headers::new();
        headers.push("Via", "a");
        headers.push("To", "t");
        headers.push("v", "b");
        headers.set("VIA", "c");
        headers.push("Subject", "x\r\nInjected: 1");
        let pairs: Vec<_> = headers
            .iter()
            .map(|h| (h.name.as_str(), h.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [("Via", "c"), ("To", "t"), ("Subject", "x  Injected: 1")]
        );
        headers.remove("s");
        headers.set("Expires", "60");
        assert_eq!(headers.len(), 3);
        assert_eq!(headers.get("expires"), Some("60"));
    }
}
