//! `;name=value` parameters, as they follow URIs (`;transport=tcp`) and header values
//! (`;tag=8321234356`, `;expires=3600`, `;+sip.instance="<urn:uuid:…>"`).
//!
//! Names compare case-insensitively. Values are kept as written (a quoted value keeps its
//! quotes) so that a message prints back the way it came; [`Params::unquoted`] reads one.

use crate::text;

/// One parameter; `value` is `None` for a flag such as `;lr` or `;rport`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub value: Option<String>,
}

/// Parameters in the order they were written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params(Vec<Param>);

impl Params {
    pub fn new() -> Params {
        Params::default()
    }

    /// `Some(value)` when the parameter is present (`Some(None)` for a flag).
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.find(name).map(|param| param.value.as_deref())
    }

    /// The value of the parameter, if present and not a flag.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).flatten()
    }

    /// The value with surrounding quotes removed and escapes resolved.
    pub fn unquoted(&self, name: &str) -> Option<String> {
        let value = self.value(name)?;
        Some(text::unquote(value).unwrap_or_else(|| value.to_owned()))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// Sets a parameter, replacing one of the same name in place or appending it.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let value = value.map(str::to_owned);
        match self
            .0
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(name))
        {
            Some(param) => param.value = value,
            None => self.0.push(Param {
                name: name.to_owned(),
                value,
            }),
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|p| !p.name.eq_ignore_ascii_case(name));
    }

    pub fn iter(&self) -> impl Iterator<Item = &Param> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find(&self, name: &str) -> Option<&Param> {
        self.0.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Parses the text after a header value's first `;` (`tag=x ; lr`): spaces around
    /// `;` and `=` are allowed, values may be quoted strings.
    pub(crate) fn parse_header(text: &str) -> Result<Params, &'static str> {
        let mut params = Params::new();
        for piece in text::split_outside(text, b';') {
            let (name, value) = match piece.split_once('=') {
                Some((name, value)) => (name.trim(), Some(value.trim())),
                None => (piece.trim(), None),
            };
            if !text::is_token(name) {
                return Err("a parameter name is not a token");
            }
            if let Some(value) = value {
                let well_formed = if value.starts_with('"') {
                    text::unquote(value).is_some()
                } else {
                    !value.is_empty() && value.bytes().all(is_plain_value_byte)
                };
                if !well_formed {
                    return Err("a parameter value is neither a token nor a quoted string");
                }
            }
            params.0.push(Param {
                name: name.to_owned(),
                value: value.map(str::to_owned),
            });
        }
        Ok(params)
    }

    /// Parses URI parameters (the text between the host part and `?`, without its first
    /// `;`). No spaces or quotes are allowed in a URI.
    pub(crate) fn parse_uri(text: &str) -> Result<Params, &'static str> {
        let mut params = Params::new();
        for piece in text.split(';') {
            let (name, value) = match piece.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (piece, None),
            };
            if name.is_empty() || !name.bytes().all(is_uri_param_byte) {
                return Err("a URI parameter name is empty or has a bad character");
            }
            if value.is_some_and(|v| !v.bytes().all(is_uri_param_byte)) {
                return Err("a URI parameter value has a bad character");
            }
            params.0.push(Param {
                name: name.to_owned(),
                value: value.map(str::to_owned),
            });
        }
        Ok(params)
    }

    /// Appends `;name=value` for every parameter.
    pub(crate) fn write(&self, out: &mut String) {
        for param in &self.0 {
            out.push(';');
            out.push_str(&param.name);
            if let Some(value) = &param.value {
                out.push('=');
                out.push_str(value);
            }
        }
    }
}

impl FromIterator<Param> for Params {
    fn from_iter<I: IntoIterator<Item = Param>>(iter: I) -> Params {
        Params(iter.into_iter().collect())
    }
}

/// Characters of an unquoted header parameter value: a token, a host (with `:` and `[]`
/// for IPv6), or the `<`/`>`-free URN forms phones put in `+sip.instance` without quotes.
fn is_plain_value_byte(byte: u8) -> bool {
    text::is_token_char(byte) || b":[]/@".contains(&byte)
}

/// `paramchar` of RFC 3261 §25.1: unreserved, escaped, and `[]/:&+$`.
pub(crate) fn is_uri_param_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-_.!~*'()%[]/:&+$".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_header_params_with_spaces_and_quotes() {
        let params =
            Params::parse_header(r#" tag = a73kszlfl ;lr; +sip.instance="<urn:uuid:1;2>""#)
                .unwrap();
        assert_eq!(params.value("TAG"), Some("a73kszlfl"));
        assert_eq!(params.get("lr"), Some(None));
        assert_eq!(params.get("maddr"), None);
        assert_eq!(
            params.unquoted("+sip.instance").as_deref(),
            Some("<urn:uuid:1;2>")
        );
        let mut out = String::new();
        params.write(&mut out);
        assert_eq!(out, r#";tag=a73kszlfl;lr;+sip.instance="<urn:uuid:1;2>""#);
    }

    #[test]
    fn refuses_malformed_params() {
        for bad in ["", "a b=1", "=x", "tag=", r#"x="open"#, "x=a b"] {
            assert!(Params::parse_header(bad).is_err(), "{bad:?}");
        }
        assert!(Params::parse_uri("transport=tcp;lr").is_ok());
        assert!(Params::parse_uri("transport=t cp").is_err());
        assert!(Params::parse_uri("a;;b").is_err());
    }

    #[test]
    fn set_replaces_in_place() {
        let mut params = Params::parse_header("received=1.2.3.4;rport").unwrap();
        params.set("RPORT", Some("5060"));
        params.set("branch", Some("z9hG4bK1"));
        params.remove("received");
        let mut out = String::new();
        params.write(&mut out);
        assert_eq!(out, ";rport=5060;branch=z9hG4bK1");
    }
}
