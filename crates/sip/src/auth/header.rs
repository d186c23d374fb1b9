//! The WWW-Authenticate ([`Challenge`]) and Authorization ([`Credentials`]) headers:
//! `Digest` followed by comma-separated `name=value` pairs, values tokens or quoted.

use std::fmt;

use super::Algorithm;
use crate::text::{self, write_quoted};

/// A Digest challenge from a 401 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub algorithm: Algorithm,
    /// The offered qop values (`auth`, `auth-int`); empty for an RFC 2069 challenge.
    pub qop: Vec<String>,
    pub opaque: Option<String>,
    /// The previous request's digest was right but its nonce had expired: retry with this
    /// nonce without asking the user again.
    pub stale: bool,
}

/// Digest credentials from an Authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    /// The Request-URI as the client wrote it; the digest covers it.
    pub uri: String,
    pub response: String,
    pub algorithm: Algorithm,
    pub qop: Option<String>,
    /// The nonce count, 8 hex digits (`00000001`).
    pub nc: Option<String>,
    pub cnonce: Option<String>,
    pub opaque: Option<String>,
}

impl Challenge {
    pub fn parse(value: &str) -> Result<Challenge, &'static str> {
        let params = AuthParams::parse(value)?;
        Ok(Challenge {
            realm: params.required("realm")?,
            nonce: params.required("nonce")?,
            algorithm: params.algorithm()?,
            qop: params
                .get("qop")
                .map(|qop| {
                    qop.split(',')
                        .map(str::trim)
                        .filter(|q| !q.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            opaque: params.get("opaque").map(str::to_owned),
            stale: params
                .get("stale")
                .is_some_and(|stale| stale.eq_ignore_ascii_case("true")),
        })
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::from("Digest realm=");
        write_quoted(&mut out, &self.realm);
        out.push_str(", nonce=");
        write_quoted(&mut out, &self.nonce);
        out.push_str(", algorithm=");
        out.push_str(self.algorithm.as_str());
        if !self.qop.is_empty() {
            out.push_str(", qop=");
            write_quoted(&mut out, &self.qop.join(","));
        }
        if let Some(opaque) = &self.opaque {
            out.push_str(", opaque=");
            write_quoted(&mut out, opaque);
        }
        if self.stale {
            out.push_str(", stale=true");
        }
        f.write_str(&out)
    }
}

impl Credentials {
    pub fn parse(value: &str) -> Result<Credentials, &'static str> {
        let params = AuthParams::parse(value)?;
        let optional = |name| params.get(name).map(str::to_owned);
        Ok(Credentials {
            username: params.required("username")?,
            realm: params.required("realm")?,
            nonce: params.required("nonce")?,
            uri: params.required("uri")?,
            response: params.required("response")?,
            algorithm: params.algorithm()?,
            qop: optional("qop"),
            nc: optional("nc"),
            cnonce: optional("cnonce"),
            opaque: optional("opaque"),
        })
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::from("Digest");
        let quoted = [
            ("username", Some(&self.username)),
            ("realm", Some(&self.realm)),
            ("nonce", Some(&self.nonce)),
            ("uri", Some(&self.uri)),
            ("response", Some(&self.response)),
            ("cnonce", self.cnonce.as_ref()),
            ("opaque", self.opaque.as_ref()),
        ];
        for (index, (name, value)) in quoted.into_iter().enumerate() {
            if let Some(value) = value {
                out.push_str(if index == 0 { " " } else { ", " });
                out.push_str(name);
                out.push('=');
                write_quoted(&mut out, value);
            }
        }
        out.push_str(", algorithm=");
        out.push_str(self.algorithm.as_str());
        // qop and nc are tokens: RFC 7616 §3.4 asks that they are not quoted.
        for (name, value) in [("qop", &self.qop), ("nc", &self.nc)] {
            if let Some(value) = value {
                out.push_str(", ");
                out.push_str(name);
                out.push('=');
                out.push_str(value);
            }
        }
        f.write_str(&out)
    }
}

/// The parameters of one Digest header, names in lower case, values unquoted.
struct AuthParams(Vec<(String, String)>);

impl AuthParams {
    fn parse(value: &str) -> Result<AuthParams, &'static str> {
        let value = value.trim_start();
        let (scheme, rest) = value
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err("the scheme is not Digest");
        }
        let mut params = Vec::new();
        for piece in text::split_outside(rest, b',') {
            let piece = piece.trim();
            if piece.is_empty() {
                continue;
            }
            let (name, value) = piece
                .split_once('=')
                .ok_or("a Digest parameter lacks `=`")?;
            let (name, value) = (name.trim(), value.trim());
            if !text::is_token(name) {
                return Err("a Digest parameter name is not a token");
            }
            let value = if value.starts_with('"') {
                text::unquote(value).ok_or("a Digest parameter has a broken quoted string")?
            } else if !value.is_empty() && !value.contains(char::is_whitespace) {
                value.to_owned()
            } else {
                return Err("a Digest parameter value is empty or has spaces");
            };
            params.push((name.to_ascii_lowercase(), value));
        }
        Ok(AuthParams(params))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn required(&self, name: &'static str) -> Result<String, &'static str> {
        self.get(name).map(str::to_owned).ok_or(match name {
            "realm" => "the realm is missing",
            "nonce" => "the nonce is missing",
            "username" => "the username is missing",
            "uri" => "the uri is missing",
            _ => "the response is missing",
        })
    }

    fn algorithm(&self) -> Result<Algorithm, &'static str> {
        match self.get("algorithm") {
            None => Ok(Algorithm::Md5),
            Some(name) => Algorithm::parse(name).ok_or("the algorithm is not supported"),
        }
    }
}
