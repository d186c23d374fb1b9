//! HTTP Digest authentication as SIP uses it (RFC 3261 §22.4, RFC 2617, RFC 7616):
//!
//! ```text
//! → REGISTER sip:example.com                     (no credentials)
//! ← 401  WWW-Authenticate: Digest realm="example.com", nonce="…", algorithm=MD5, qop="auth"
//! → REGISTER sip:example.com  Authorization: Digest username="200", realm="example.com",
//!        nonce="…", uri="sip:example.com", response="…", algorithm=MD5, cnonce="…",
//!        nc=00000001, qop=auth
//! ← 200
//! ```
//! - [`DigestServer`]: challenges and verifies, statelessly: nonces carry their issue time
//!   and an HMAC under the server's secret ([`NonceKey`]), so any node of a cluster can
//!   check them, and an expired one is answered with `stale=true`.
//! - [`Credentials::answer`]: the client side, for the simulated handset and tests.
//! - [`Challenge`] and [`Credentials`] parse and print the two headers.
//!
//! Supported: MD5, MD5-sess, SHA-256, SHA-256-sess; qop `auth` or none (RFC 2069
//! clients). Not supported: `auth-int`, `userhash`. Nonces can be bound to the client's
//! address (`*_for`, [`Addressing`]), and [`NonceUses`] refuses a replayed `nc`.

mod client;
mod header;
mod nonce;
mod replay;
mod server;

pub use header::{Challenge, Credentials};
pub use nonce::{NonceCheck, NonceKey};
pub use replay::{NonceUses, Replay};
pub use server::{Addressing, AuthError, DigestServer, Secret};

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::text::hex;

/// A digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
}

impl Algorithm {
    /// By its RFC 7616 name, ignoring case.
    pub fn parse(name: &str) -> Option<Algorithm> {
        [
            Algorithm::Md5,
            Algorithm::Md5Sess,
            Algorithm::Sha256,
            Algorithm::Sha256Sess,
        ]
        .into_iter()
        .find(|algorithm| algorithm.as_str().eq_ignore_ascii_case(name))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    /// The `-sess` variants hash the nonce and cnonce into HA1.
    fn is_session(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// Lower-case hex of the hash of `parts` joined by `:`.
    fn hash(self, parts: &[&str]) -> String {
        fn run<D: Digest>(parts: &[&str]) -> String {
            let mut digest = D::new();
            for (index, part) in parts.iter().enumerate() {
                if index > 0 {
                    digest.update(b":");
                }
                digest.update(part.as_bytes());
            }
            hex(&digest.finalize())
        }
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => run::<Md5>(parts),
            Algorithm::Sha256 | Algorithm::Sha256Sess => run::<Sha256>(parts),
        }
    }
}

/// `H(username:realm:password)`: what a server may store instead of the password (one
/// per algorithm family: MD5 or SHA-256).
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash(&[username, realm, password])
}

/// Everything the `response` value is computed from (RFC 7616 §3.4.1).
struct ResponseInput<'a> {
    algorithm: Algorithm,
    /// `H(username:realm:password)`.
    ha1: &'a str,
    nonce: &'a str,
    /// `(qop, nc, cnonce)` when a qop is used.
    qop: Option<(&'a str, &'a str, &'a str)>,
    cnonce: Option<&'a str>,
    method: &'a str,
    uri: &'a str,
}

impl ResponseInput<'_> {
    fn response(&self) -> String {
        let algorithm = self.algorithm;
        let session_ha1;
        let ha1 = if algorithm.is_session() {
            session_ha1 = algorithm.hash(&[self.ha1, self.nonce, self.cnonce.unwrap_or_default()]);
            session_ha1.as_str()
        } else {
            self.ha1
        };
        let ha2 = algorithm.hash(&[self.method, self.uri]);
        match self.qop {
            Some((qop, nc, cnonce)) => algorithm.hash(&[ha1, self.nonce, nc, cnonce, qop, &ha2]),
            None => algorithm.hash(&[ha1, self.nonce, &ha2]),
        }
    }
}

#[cfg(test)]
mod tests;
