//! SIP and SIPS URIs (RFC 3261 §19.1), the addresses of everything in SIP:
//!
//! ```text
//! sip:alice:secret@atlanta.example.com:5060;transport=tcp;lr?subject=project%20x
//! └┬┘ └─┬─┘ └─┬──┘ └───────┬─────────┘ └┬─┘ └──────┬────────┘ └───────┬───────┘
//! scheme user password     host         port    parameters           headers
//! ```
//! Parts are kept as written (escapes included) so a URI prints back unchanged;
//! [`SipUri::matches`] compares them the way §19.1.4 says (escapes resolved, host and
//! parameters case-insensitive, user and password case-sensitive). Other schemes (`tel:`,
//! `urn:`) are kept as text in [`Uri::Other`].

use std::fmt;
use std::net::IpAddr;

use crate::error::UriError;
use crate::params::{Params, is_uri_param_byte};
use crate::text::unescape;

/// `sip:` or `sips:` (always printed in lower case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Sip,
    Sips,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
        }
    }

    /// 5060 for `sip`, 5061 for `sips` (RFC 3261 §19.1.2).
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Sip => 5060,
            Scheme::Sips => 5061,
        }
    }
}

/// A parsed `sip:` or `sips:` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    pub scheme: Scheme,
    pub user: Option<String>,
    pub password: Option<String>,
    /// A host name, an IPv4 address, or an IPv6 reference in brackets (`[2001:db8::1]`).
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
    /// `?name=value&…` headers to put into a request made from this URI.
    pub headers: Vec<(String, String)>,
}

/// Any URI that may stand in a Request-URI or a name-addr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uri {
    Sip(SipUri),
    /// Another scheme (`tel:+4930123`, `urn:service:sos`), kept as written.
    Other(String),
}

impl Uri {
    /// Parses a SIP URI, or keeps a well-formed URI of another scheme as text.
    pub fn parse(text: &str) -> Result<Uri, UriError> {
        let (scheme, rest) = text
            .split_once(':')
            .ok_or_else(|| UriError::new(text, "no scheme"))?;
        if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
            return SipUri::parse(text).map(Uri::Sip);
        }
        let scheme_ok = scheme
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
        if !scheme_ok {
            return Err(UriError::new(text, "the scheme is not valid"));
        }
        if rest.is_empty() || rest.bytes().any(|b| b <= b' ' || b"<>\"".contains(&b)) {
            return Err(UriError::new(
                text,
                "a URI cannot be empty or hold spaces, quotes or <>",
            ));
        }
        Ok(Uri::Other(text.to_owned()))
    }

    /// The SIP URI, if this is one.
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(uri) => Some(uri),
            Uri::Other(_) => None,
        }
    }

    /// RFC 3261 §19.1.4 equality for SIP URIs; other schemes compare as text, ignoring case.
    pub fn matches(&self, other: &Uri) -> bool {
        match (self, other) {
            (Uri::Sip(a), Uri::Sip(b)) => a.matches(b),
            (Uri::Other(a), Uri::Other(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        }
    }
}

impl std::str::FromStr for Uri {
    type Err = UriError;

    fn from_str(text: &str) -> Result<Uri, UriError> {
        Uri::parse(text)
    }
}

impl std::str::FromStr for SipUri {
    type Err = UriError;

    fn from_str(text: &str) -> Result<SipUri, UriError> {
        SipUri::parse(text)
    }
}

impl From<SipUri> for Uri {
    fn from(uri: SipUri) -> Uri {
        Uri::Sip(uri)
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(uri) => uri.fmt(f),
            Uri::Other(text) => f.write_str(text),
        }
    }
}

impl SipUri {
    /// A URI with just a scheme, an optional user and a host: `sip:alice@example.com`.
    pub fn new(scheme: Scheme, user: Option<&str>, host: &str) -> SipUri {
        SipUri {
            scheme,
            user: user.map(str::to_owned),
            password: None,
            host: host.to_owned(),
            port: None,
            params: Params::new(),
            headers: Vec::new(),
        }
    }

    pub fn parse(text: &str) -> Result<SipUri, UriError> {
        let error = |reason| UriError::new(text, reason);
        let (scheme, rest) = text.split_once(':').ok_or_else(|| error("no scheme"))?;
        let scheme = if scheme.eq_ignore_ascii_case("sip") {
            Scheme::Sip
        } else if scheme.eq_ignore_ascii_case("sips") {
            Scheme::Sips
        } else {
            return Err(error("the scheme is not sip or sips"));
        };
        // Userinfo ends at the first `@` (it cannot hold one unescaped); headers may.
        let before_headers = rest.split_once('?').map_or(rest, |(head, _)| head);
        let (userinfo, rest) = match before_headers.find('@') {
            Some(at) => (rest.get(..at), rest.get(at + 1..).unwrap_or_default()),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            Some(userinfo) => {
                let (user, password) = match userinfo.split_once(':') {
                    Some((user, password)) => (user, Some(password)),
                    None => (userinfo, None),
                };
                if user.is_empty() || !user.bytes().all(is_user_byte) {
                    return Err(error("the user part is empty or has a bad character"));
                }
                if password.is_some_and(|p| !p.bytes().all(is_user_byte)) {
                    return Err(error("the password has a bad character"));
                }
                (Some(user.to_owned()), password.map(str::to_owned))
            }
            None => (None, None),
        };
        let (rest, headers) = match rest.split_once('?') {
            Some((rest, headers)) => (rest, parse_headers(headers).map_err(error)?),
            None => (rest, Vec::new()),
        };
        let (hostport, params) = match rest.split_once(';') {
            Some((hostport, params)) => (hostport, Params::parse_uri(params).map_err(error)?),
            None => (rest, Params::new()),
        };
        let (host, port) = split_hostport(hostport).map_err(error)?;
        Ok(SipUri {
            scheme,
            user,
            password,
            host: host.to_owned(),
            port,
            params,
            headers,
        })
    }

    /// The port to use: the explicit one or the scheme's default.
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(self.scheme.default_port())
    }

    /// The `transport` parameter (`udp`, `tcp`, `tls`, `ws`…), if present.
    pub fn transport(&self) -> Option<&str> {
        self.params.value("transport")
    }

    /// The address-of-record key `user@host`: escapes resolved, host in lower case, port
    /// and parameters dropped. `None` without a user part.
    pub fn address_of_record(&self) -> Option<String> {
        let user = unescape(self.user.as_deref()?);
        Some(format!("{user}@{}", self.host.to_ascii_lowercase()))
    }

    /// RFC 3261 §19.1.4 URI equality, as a registrar compares Contact bindings:
    /// - scheme, user and password must be equal (user and password case-sensitively,
    ///   escapes resolved); hosts equal ignoring case (IP addresses by value);
    /// - a port, `transport`, `user`, `ttl`, `method` or `maddr` parameter present in one
    ///   URI must be present and equal in the other (no defaults are assumed);
    /// - other parameters must be equal only when both URIs have them;
    /// - headers must be present in both and equal.
    pub fn matches(&self, other: &SipUri) -> bool {
        const STRICT_PARAMS: [&str; 5] = ["transport", "user", "ttl", "method", "maddr"];
        let same_text = |a: &Option<String>, b: &Option<String>| {
            a.as_deref().map(unescape) == b.as_deref().map(unescape)
        };
        let same_value = |a: Option<&str>, b: Option<&str>| {
            a.map(unescape).map(|s| s.to_ascii_lowercase())
                == b.map(unescape).map(|s| s.to_ascii_lowercase())
        };
        if self.scheme != other.scheme
            || !same_text(&self.user, &other.user)
            || !same_text(&self.password, &other.password)
            || !same_host(&self.host, &other.host)
            || self.port != other.port
        {
            return false;
        }
        let params_agree = self.params.iter().chain(other.params.iter()).all(|param| {
            let mine = self.params.get(&param.name);
            let theirs = other.params.get(&param.name);
            match (mine, theirs) {
                (Some(a), Some(b)) => same_value(a, b),
                _ => !STRICT_PARAMS
                    .iter()
                    .any(|name| param.name.eq_ignore_ascii_case(name)),
            }
        });
        let headers_agree = self.headers.len() == other.headers.len()
            && self.headers.iter().all(|(name, value)| {
                other.headers.iter().any(|(other_name, other_value)| {
                    name.eq_ignore_ascii_case(other_name)
                        && same_value(Some(value), Some(other_value))
                })
            });
        params_agree && headers_agree
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme.as_str())?;
        f.write_str(":")?;
        if let Some(user) = &self.user {
            f.write_str(user)?;
            if let Some(password) = &self.password {
                write!(f, ":{password}")?;
            }
            f.write_str("@")?;
        }
        f.write_str(&self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        let mut params = String::new();
        self.params.write(&mut params);
        f.write_str(&params)?;
        for (index, (name, value)) in self.headers.iter().enumerate() {
            let separator = if index == 0 { '?' } else { '&' };
            write!(f, "{separator}{name}={value}")?;
        }
        Ok(())
    }
}

/// Characters a user or password may hold: unreserved, escaped, `&=+$,;?/` and, leniently,
/// `#` and `!` that dialled strings carry in the wild.
fn is_user_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-_.!~*'()%&=+$,;?/#".contains(&byte)
}

fn is_host_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.' || byte == b'_'
}

pub(crate) fn split_hostport(hostport: &str) -> Result<(&str, Option<u16>), &'static str> {
    let (host, port) = if hostport.starts_with('[') {
        let end = hostport
            .find(']')
            .ok_or("an IPv6 reference lacks its `]`")?;
        let (host, rest) = hostport.split_at(end + 1);
        let inner = host.get(1..end).unwrap_or_default();
        if inner.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("the IPv6 reference is not an IPv6 address");
        }
        match rest {
            "" => (host, None),
            _ => (
                host,
                Some(
                    rest.strip_prefix(':')
                        .ok_or("junk after the IPv6 reference")?,
                ),
            ),
        }
    } else {
        match hostport.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    if !host.starts_with('[') && (host.is_empty() || !host.bytes().all(is_host_byte)) {
        return Err("the host is empty or has a bad character");
    }
    let port = match port {
        Some(port)
            if !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(port.parse::<u16>().map_err(|_| "the port is above 65535")?)
        }
        Some(_) => return Err("the port is not a number"),
        None => None,
    };
    Ok((host, port))
}

fn parse_headers(text: &str) -> Result<Vec<(String, String)>, &'static str> {
    text.split('&')
        .map(|header| {
            let (name, value) = header.split_once('=').ok_or("a URI header lacks `=`")?;
            let ok = |s: &str| {
                s.bytes()
                    .all(|b| is_uri_param_byte(b) || b == b'?' || b == b'@')
            };
            if name.is_empty() || !ok(name) || !ok(value) {
                return Err("a URI header has a bad character");
            }
            Ok((name.to_owned(), value.to_owned()))
        })
        .collect()
}

fn same_host(a: &str, b: &str) -> bool {
    let ip = |host: &str| {
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok()
    };
    match (ip(a), ip(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a.eq_ignore_ascii_case(b),
    }
}

#[cfg(test)]
mod tests;
