//! The Via header (RFC 3261 §20.42, RFC 3581): where the response to a request goes.
//!
//! ```text
//! Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport
//! ```
//! A server answering over UDP adds `received` (the packet's source address) and fills
//! `rport` (its source port) in the top Via, then sends the response there: see
//! [`Request::record_source`](crate::Request::record_source).

use std::fmt;
use std::net::SocketAddr;

use crate::params::Params;
use crate::uri::split_hostport;

/// The magic cookie that starts every RFC 3261 branch.
pub const BRANCH_COOKIE: &str = "z9hG4bK";

/// One Via element: transport, sent-by address and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// In upper case: `UDP`, `TCP`, `TLS`, `WS`, `WSS`, `SCTP`.
    pub transport: String,
    /// The sent-by host (IPv6 in brackets).
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
}

impl Via {
    /// A Via for a request this side sends, with its transaction's `branch`.
    pub fn new(transport: &str, host: &str, port: Option<u16>, branch: &str) -> Via {
        let mut params = Params::new();
        params.set("branch", Some(branch));
        Via {
            transport: transport.to_ascii_uppercase(),
            host: host.to_owned(),
            port,
            params,
        }
    }

    /// Parses one element: `SIP / 2.0 / UDP host[:port][;params]` (spaces allowed
    /// around the slashes).
    pub fn parse(value: &str) -> Result<Via, &'static str> {
        let mut rest = value.trim_start();
        let mut parts = [""; 3];
        for (index, part) in parts.iter_mut().enumerate() {
            if index > 0 {
                rest = rest
                    .trim_start()
                    .strip_prefix('/')
                    .ok_or("the sent-protocol needs three parts separated by `/`")?
                    .trim_start();
            }
            let end = rest
                .find(|c: char| c == '/' || c.is_ascii_whitespace())
                .unwrap_or(rest.len());
            let (token, after) = rest.split_at(end);
            *part = token;
            rest = after;
        }
        let [protocol, version, transport] = parts;
        if !protocol.eq_ignore_ascii_case("SIP") || version != "2.0" {
            return Err("the sent-protocol is not SIP/2.0");
        }
        if transport.is_empty() || !transport.bytes().all(crate::text::is_token_char) {
            return Err("the transport is not a token");
        }
        if !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
            return Err("the sent-by address must follow the protocol after a space");
        }
        let (sent_by, params) = match rest.split_once(';') {
            Some((sent_by, params)) => (sent_by, Params::parse_header(params)?),
            None => (rest, Params::new()),
        };
        let (host, port) = split_hostport(sent_by.trim())?;
        Ok(Via {
            transport: transport.to_ascii_uppercase(),
            host: host.to_owned(),
            port,
            params,
        })
    }

    /// The transaction id this Via carries.
    pub fn branch(&self) -> Option<&str> {
        self.params.value("branch")
    }

    /// The `received` address a server recorded.
    pub fn received(&self) -> Option<&str> {
        self.params.value("received")
    }

    /// `None` without `rport`; `Some(None)` when the client asked for it (`;rport`);
    /// `Some(Some(port))` once a server filled it in. A bad number counts as asked.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .get("rport")
            .map(|value| value.and_then(|port| port.parse().ok()))
    }

    /// Records where the request came from (RFC 3261 §18.2.1, RFC 3581 §4): `received`
    /// when the sent-by host differs from the source address, and `rport` if asked for.
    pub fn record_source(&mut self, source: SocketAddr) {
        let ip = source.ip();
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        let asked_for_rport = self.params.contains("rport");
        if host.parse::<std::net::IpAddr>().ok() != Some(ip) || asked_for_rport {
            self.params.set("received", Some(&ip.to_string()));
        }
        if asked_for_rport {
            self.params.set("rport", Some(&source.port().to_string()));
        }
    }

    /// Where a response to this Via goes over a connectionless transport (RFC 3581 §4,
    /// RFC 3261 §18.2.2): `received` (else the sent-by host) and `rport` (else the sent-by
    /// port, else 5060). The host may still be a name to resolve.
    pub fn response_target(&self) -> (String, u16) {
        let host = self.received().unwrap_or(&self.host).to_owned();
        let port = self
            .rport()
            .flatten()
            .or(self.port)
            .unwrap_or(crate::uri::Scheme::Sip.default_port());
        (host, port)
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        let mut params = String::new();
        self.params.write(&mut params);
        f.write_str(&params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spaced_protocols_and_ipv6() {
        let via =
            Via::parse("SIP / 2.0 / udp [2001:db8::9]:5070 ; branch=z9hG4bK-1;rport").unwrap();
        assert_eq!(via.transport, "UDP");
        assert_eq!((via.host.as_str(), via.port), ("[2001:db8::9]", Some(5070)));
        assert_eq!(via.branch(), Some("z9hG4bK-1"));
        assert_eq!(via.rport(), Some(None));
        assert_eq!(
            via.to_string(),
            "SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bK-1;rport"
        );
    }

    #[test]
    fn refuses_bad_vias() {
        for bad in [
            "",
            "SIP/2.0 host",
            "SIP/3.0/UDP host",
            "HTTP/2.0/UDP host",
            "SIP/2.0/UDP",
            "SIP/2.0/UDPhost",
            "SIP/2.0/UDP host:port",
            "SIP/2.0/UDP host;=x",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn records_the_source_for_nat() {
        let mut via = Via::parse("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa;rport").unwrap();
        via.record_source("203.0.113.7:40123".parse().unwrap());
        assert_eq!(
            via.to_string(),
            "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa;rport=40123;received=203.0.113.7"
        );
        assert_eq!(via.response_target(), ("203.0.113.7".into(), 40123));

        let mut direct = Via::parse("SIP/2.0/TCP 192.0.2.1;branch=z9hG4bKb").unwrap();
        direct.record_source("192.0.2.1:33000".parse().unwrap());
        assert_eq!(direct.received(), None);
        assert_eq!(direct.response_target(), ("192.0.2.1".into(), 5060));
        let mut named = Via::new("udp", "phone.example", Some(5062), "z9hG4bKc");
        named.record_source("192.0.2.2:5062".parse().unwrap());
        assert_eq!(named.response_target(), ("192.0.2.2".into(), 5062));
    }
}
