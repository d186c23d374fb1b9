//! The server side of Digest: challenge with a 401, verify the Authorization of the retry.

use std::net::IpAddr;

use super::nonce::constant_time_eq;
use super::{Algorithm, Challenge, Credentials, NonceCheck, NonceKey, ResponseInput, ha1};
use crate::message::{Request, Response, StatusCode};
use crate::uri::{Scheme, Uri};

/// Why credentials were refused. Every variant but [`AuthError::StaleNonce`] means "ask
/// again" (a fresh 401); a stale nonce means "the password was right, retry with a new
/// nonce" (a 401 with `stale=true`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the credentials are for realm `{got}`, not `{expected}`")]
    WrongRealm { expected: String, got: String },
    #[error("the nonce was not issued by this server")]
    UnknownNonce,
    #[error("the nonce has expired")]
    StaleNonce,
    #[error(
        "the credentials are for `{credentials}`, neither the Request-URI `{request}` nor this server's address"
    )]
    UriMismatch {
        credentials: String,
        request: String,
    },
    #[error("qop `{0}` is not supported (only `auth`)")]
    UnsupportedQop(String),
    #[error("qop=auth needs the {0} parameter")]
    MissingParameter(&'static str),
    #[error("the digest response is wrong (wrong password?)")]
    WrongResponse,
}

impl AuthError {
    /// The stable code, e.g. `sip_auth_wrong_response`.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::WrongRealm { .. } => "sip_auth_wrong_realm",
            AuthError::UnknownNonce => "sip_auth_unknown_nonce",
            AuthError::StaleNonce => "sip_auth_stale_nonce",
            AuthError::UriMismatch { .. } => "sip_auth_uri_mismatch",
            AuthError::UnsupportedQop(_) => "sip_auth_unsupported_qop",
            AuthError::MissingParameter(_) => "sip_auth_missing_parameter",
            AuthError::WrongResponse => "sip_auth_wrong_response",
        }
    }
}

/// How a request reached the server, as its transport saw it.
#[derive(Clone, Copy)]
pub struct Addressing<'a> {
    /// The client's address, which nonces are bound to (`""`: nonces bound to none).
    pub peer: &'a str,
    /// Whether an IP address and port are where this server received the request: a
    /// digest `uri` naming them is accepted as well as the Request-URI (phones behind
    /// proxies and load tools put the registrar's address there).
    pub own_address: &'a dyn Fn(IpAddr, u16) -> bool,
}

impl std::fmt::Debug for Addressing<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Addressing")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

/// What the server knows about a user's secret.
#[derive(Debug, Clone, Copy)]
pub enum Secret<'a> {
    Password(&'a str),
    /// `H(username:realm:password)` in hex, made with the credentials' algorithm family
    /// (see [`ha1`](super::ha1)).
    Ha1(&'a str),
}

/// Issues challenges and verifies credentials; holds no per-client state.
#[derive(Debug, Clone)]
pub struct DigestServer {
    key: NonceKey,
    lifetime: u64,
    algorithms: Vec<Algorithm>,
}

impl DigestServer {
    /// A server with nonces keyed by `secret`, living 300 s, challenging with MD5 (what
    /// every handset supports).
    pub fn new(secret: &[u8]) -> DigestServer {
        DigestServer {
            key: NonceKey::new(secret),
            lifetime: 300,
            algorithms: vec![Algorithm::Md5],
        }
    }

    /// How many seconds a nonce is accepted.
    pub fn nonce_lifetime(&self) -> u64 {
        self.lifetime
    }

    pub fn with_nonce_lifetime(mut self, seconds: u64) -> DigestServer {
        self.lifetime = seconds;
        self
    }

    /// The algorithms to offer, most preferred first; one challenge each (RFC 8760). An
    /// empty list keeps MD5.
    pub fn with_algorithms(mut self, algorithms: &[Algorithm]) -> DigestServer {
        if !algorithms.is_empty() {
            self.algorithms = algorithms.to_vec();
        }
        self
    }

    /// A challenge for `realm` with a nonce issued at `now` (Unix seconds).
    pub fn challenge(&self, realm: &str, algorithm: Algorithm, now: u64, stale: bool) -> Challenge {
        self.challenge_for(realm, "", algorithm, now, stale)
    }

    /// A challenge whose nonce only `peer` (the client's address) can answer.
    pub fn challenge_for(
        &self,
        realm: &str,
        peer: &str,
        algorithm: Algorithm,
        now: u64,
        stale: bool,
    ) -> Challenge {
        Challenge {
            realm: realm.to_owned(),
            nonce: self.key.issue_for(realm, peer, now),
            algorithm,
            qop: vec!["auth".to_owned()],
            opaque: None,
            stale,
        }
    }

    /// The 401 response to `request`, with one WWW-Authenticate per offered algorithm.
    pub fn unauthorized(&self, request: &Request, realm: &str, now: u64, stale: bool) -> Response {
        self.unauthorized_for(request, realm, "", now, stale)
    }

    /// The 401 response to `request` from `peer`, whose nonces only `peer` can use.
    pub fn unauthorized_for(
        &self,
        request: &Request,
        realm: &str,
        peer: &str,
        now: u64,
        stale: bool,
    ) -> Response {
        let mut response = Response::for_request(request, StatusCode::UNAUTHORIZED);
        for algorithm in &self.algorithms {
            let challenge = self.challenge_for(realm, peer, *algorithm, now, stale);
            response
                .headers
                .push("WWW-Authenticate", challenge.to_string());
        }
        response
    }

    /// Checks `credentials` (from `request`'s Authorization) against the user's secret.
    /// The caller has looked the user up by `credentials.username` within `realm`.
    pub fn verify(
        &self,
        request: &Request,
        credentials: &Credentials,
        realm: &str,
        secret: Secret<'_>,
        now: u64,
    ) -> Result<(), AuthError> {
        let addressing = Addressing {
            peer: "",
            own_address: &|_, _| false,
        };
        self.verify_addressed(request, credentials, realm, addressing, secret, now)
    }

    /// [`DigestServer::verify`] for credentials whose nonce was issued to `addressing.peer`
    /// (a nonce of another peer is [`AuthError::UnknownNonce`]), accepting a digest `uri`
    /// that names the server's own address as well as one that names the Request-URI.
    /// The answer still hashes the `uri` it names, and the nonce still binds it.
    pub fn verify_addressed(
        &self,
        request: &Request,
        credentials: &Credentials,
        realm: &str,
        addressing: Addressing<'_>,
        secret: Secret<'_>,
        now: u64,
    ) -> Result<(), AuthError> {
        if credentials.realm != realm {
            return Err(AuthError::WrongRealm {
                expected: realm.to_owned(),
                got: credentials.realm.clone(),
            });
        }
        let nonce = self.key.check_for(
            realm,
            addressing.peer,
            &credentials.nonce,
            now,
            self.lifetime,
        );
        if nonce == NonceCheck::Unknown {
            return Err(AuthError::UnknownNonce);
        }
        if !same_uri(&credentials.uri, &request.uri)
            && !names_own_address(&credentials.uri, addressing.own_address)
        {
            return Err(AuthError::UriMismatch {
                credentials: credentials.uri.clone(),
                request: request.uri.to_string(),
            });
        }
        let qop = match credentials.qop.as_deref() {
            None => None,
            Some("auth") => Some((
                "auth",
                credentials
                    .nc
                    .as_deref()
                    .ok_or(AuthError::MissingParameter("nc"))?,
                credentials
                    .cnonce
                    .as_deref()
                    .ok_or(AuthError::MissingParameter("cnonce"))?,
            )),
            Some(other) => return Err(AuthError::UnsupportedQop(other.to_owned())),
        };
        let algorithm = credentials.algorithm;
        let computed_ha1;
        let ha1 = match secret {
            Secret::Password(password) => {
                computed_ha1 = ha1(algorithm, &credentials.username, realm, password);
                computed_ha1.as_str()
            }
            Secret::Ha1(ha1) => ha1,
        };
        let expected = ResponseInput {
            algorithm,
            ha1,
            nonce: &credentials.nonce,
            qop,
            cnonce: credentials.cnonce.as_deref(),
            method: request.method.as_str(),
            uri: &credentials.uri,
        }
        .response();
        let given = credentials.response.to_ascii_lowercase();
        if !constant_time_eq(expected.as_bytes(), given.as_bytes()) {
            return Err(AuthError::WrongResponse);
        }
        match nonce {
            NonceCheck::Expired => Err(AuthError::StaleNonce),
            _ => Ok(()),
        }
    }
}

/// Whether the digest's `uri` names the Request-URI: the same text, or an equivalent URI
/// (a client may print it differently, e.g. `SIP:` or reordered parameters).
fn same_uri(credentials: &str, request: &Uri) -> bool {
    credentials == request.to_string()
        || Uri::parse(credentials).is_ok_and(|uri| uri.matches(request))
}

/// Whether the digest's `uri` is a SIP URI naming this server by IP address and port (the
/// scheme's port, 5060 or 5061, when none is written). Host names are not resolved: a
/// `uri` naming the server by name must be the Request-URI.
fn names_own_address(credentials: &str, own_address: &dyn Fn(IpAddr, u16) -> bool) -> bool {
    let Ok(Uri::Sip(uri)) = Uri::parse(credentials) else {
        return false;
    };
    let host = uri
        .host
        .strip_prefix('[')
        .and_then(|host| host.strip_suffix(']'))
        .unwrap_or(&uri.host);
    let Ok(ip) = host.parse::<IpAddr>() else {
        return false;
    };
    let port = uri.port.unwrap_or(match uri.scheme {
        Scheme::Sip => 5060,
        Scheme::Sips => 5061,
    });
    own_address(ip, port)
}
