//! The client side of Digest: answer a challenge (the simulated handset and tests use it).

use super::{Challenge, Credentials, ResponseInput, ha1};
use crate::message::Method;

impl Credentials {
    /// The credentials for a `method` request to `uri` that answer `challenge`. Uses
    /// qop=auth with `cnonce` and nonce count `nc` when the challenge offers it, else the
    /// RFC 2069 form. Put the result in an Authorization header.
    pub fn answer(
        challenge: &Challenge,
        username: &str,
        password: &str,
        method: &Method,
        uri: &str,
        cnonce: &str,
        nc: u32,
    ) -> Credentials {
        let use_qop = challenge
            .qop
            .iter()
            .any(|qop| qop.eq_ignore_ascii_case("auth"));
        let nc = format!("{nc:08x}");
        let ha1 = ha1(challenge.algorithm, username, &challenge.realm, password);
        let response = ResponseInput {
            algorithm: challenge.algorithm,
            ha1: &ha1,
            nonce: &challenge.nonce,
            qop: use_qop.then_some(("auth", nc.as_str(), cnonce)),
            cnonce: Some(cnonce),
            method: method.as_str(),
            uri,
        }
        .response();
        Credentials {
            username: username.to_owned(),
            realm: challenge.realm.clone(),
            nonce: challenge.nonce.clone(),
            uri: uri.to_owned(),
            response,
            algorithm: challenge.algorithm,
            qop: use_qop.then(|| "auth".to_owned()),
            nc: use_qop.then_some(nc),
            cnonce: (use_qop || challenge.algorithm.is_session()).then(|| cnonce.to_owned()),
            opaque: challenge.opaque.clone(),
        }
    }
}
