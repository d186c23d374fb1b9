//! The address form of From, To and Contact (RFC 3261 §20.10, §25.1):
//!
//! ```text
//! "Alice Smith" <sip:alice@example.com;transport=tcp>;tag=1928301774
//! Alice Smith <sip:alice@example.com>;expires=3600
//! sip:alice@example.com;tag=88sja8x          (addr-spec: every ;param is the header's)
//! ```

use std::fmt;

use crate::params::Params;
use crate::text;
use crate::uri::Uri;

/// A URI with an optional display name and header parameters (`tag`, `expires`, `q`…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    pub display_name: Option<String>,
    pub uri: Uri,
    pub params: Params,
}

impl NameAddr {
    /// An address without display name or parameters.
    pub fn new(uri: impl Into<Uri>) -> NameAddr {
        NameAddr {
            display_name: None,
            uri: uri.into(),
            params: Params::new(),
        }
    }

    /// Parses one element (a list line is split before this).
    pub fn parse(value: &str) -> Result<NameAddr, &'static str> {
        let value = value.trim();
        let (display_name, rest) = if value.starts_with('"') {
            let (display, rest) = text::take_quoted(value).ok_or("unterminated display name")?;
            let rest = rest.trim_start();
            if !rest.starts_with('<') {
                return Err("a quoted display name must be followed by <URI>");
            }
            (Some(display), rest)
        } else {
            match value.find('<') {
                Some(at) => {
                    let display = value.get(..at).unwrap_or_default().trim();
                    if display.contains('"') {
                        return Err("stray quote in the display name");
                    }
                    let display = (!display.is_empty()).then(|| display.to_owned());
                    (display, value.get(at..).unwrap_or_default())
                }
                None => (None, value),
            }
        };
        let (uri, params) = match rest.strip_prefix('<') {
            Some(inner) => {
                let (uri, after) = inner.split_once('>').ok_or("a <URI> lacks its `>`")?;
                (uri.trim(), after.trim_start())
            }
            // addr-spec: the URI ends at the first `;`, which starts the header parameters.
            None => match rest.find(';') {
                Some(at) => (
                    rest.get(..at).unwrap_or_default().trim_end(),
                    rest.get(at..).unwrap_or_default(),
                ),
                None => (rest, ""),
            },
        };
        let uri = Uri::parse(uri).map_err(|error| error.reason)?;
        let params = match params {
            "" => Params::new(),
            params => Params::parse_header(
                params
                    .strip_prefix(';')
                    .ok_or("junk after the address; parameters start with `;`")?,
            )?,
        };
        Ok(NameAddr {
            display_name,
            uri,
            params,
        })
    }

    /// The `tag` parameter that identifies a dialog's side (From and To).
    pub fn tag(&self) -> Option<&str> {
        self.params.value("tag")
    }

    /// Sets (or replaces) the `tag` parameter.
    pub fn set_tag(&mut self, tag: &str) {
        self.params.set("tag", Some(tag));
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        if let Some(display) = &self.display_name {
            text::write_quoted(&mut out, display);
            out.push(' ');
        }
        out.push('<');
        out.push_str(&self.uri.to_string());
        out.push('>');
        self.params.write(&mut out);
        f.write_str(&out)
    }
}

/// The Contact headers of a request: a list of addresses, or `*` (remove all bindings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contacts {
    Wildcard,
    List(Vec<NameAddr>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> NameAddr {
        NameAddr::parse(value).unwrap_or_else(|e| panic!("{value}: {e}"))
    }

    #[test]
    fn parses_the_three_forms() {
        let quoted = parse(r#""Alice \"Al\" Smith" <sip:alice@example.com;transport=tcp>;tag=19"#);
        assert_eq!(quoted.display_name.as_deref(), Some(r#"Alice "Al" Smith"#));
        assert_eq!(
            quoted.uri.to_string(),
            "sip:alice@example.com;transport=tcp"
        );
        assert_eq!(quoted.tag(), Some("19"));
        let tokens = parse("Alice Smith <sip:alice@example.com> ; expires=60");
        assert_eq!(tokens.display_name.as_deref(), Some("Alice Smith"));
        assert_eq!(tokens.params.value("expires"), Some("60"));
        let spec = parse("sip:alice@example.com;tag=88sja8x");
        assert_eq!(spec.uri.to_string(), "sip:alice@example.com");
        assert_eq!(spec.tag(), Some("88sja8x"));
        let tel = parse("<tel:+4930123>");
        assert_eq!(tel.uri, Uri::Other("tel:+4930123".into()));
    }

    #[test]
    fn prints_canonically() {
        let mut addr = parse("Bob <sip:bob@b.example>");
        addr.set_tag("a6c85cf");
        assert_eq!(addr.to_string(), r#""Bob" <sip:bob@b.example>;tag=a6c85cf"#);
        assert_eq!(parse(&addr.to_string()), addr);
        assert_eq!(parse(r#""" <sip:x@y>"#).display_name.as_deref(), Some(""));
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "",
            r#""open <sip:a@b>"#,
            r#""Bob" sip:bob@b"#,
            "<sip:a@b",
            "<sip:a@b> junk",
            "Bo\"b <sip:a@b>",
            "<nonsense>",
            "<sip:a@b>;=1",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad:?}");
        }
    }
}
