//! SIP (RFC 3261) as far as a registrar and a uaCSTA controller (ECMA TR/87) need it:
//! parsing and printing messages, digest authentication, registration bindings, and the
//! dialog that carries CSTA XML in INVITE/INFO bodies. Pure: no sockets, no async, no
//! clock (callers pass the time in, as Unix seconds).
//!
//! - Messages: [`parse_datagram`] (UDP) and [`StreamFramer`] (TCP) turn bytes into a
//!   [`Message`], bounded by [`Limits`]; `encode`/`to_bytes` turn it back
//!   ([`mod@print`]). Headers keep their order ([`Headers`]); typed accessors
//!   ([`typed`]) read Via, From/To, Call-ID, CSeq, Contact, Expires, Authorization…
//! - Addresses: [`Uri`]/[`SipUri`] with RFC 3261 §19.1.4 comparison, [`NameAddr`], [`Via`].
//! - [`auth`]: Digest challenges and verification with stateless nonces; the client side.
//! - [`registrar`]: bindings per address-of-record, RFC 3261 §10.3.
//! - [`dialog`]: the uaCSTA dialog (INVITE/ACK/INFO/BYE with `application/csta+xml`);
//!   [`timers`]: the RFC 3261 timer values for the caller's transactions.

pub mod auth;
pub mod dialog;
pub mod error;
pub mod header;
pub mod message;
pub mod name_addr;
pub mod params;
pub mod parse;
pub mod print;
pub mod random;
pub mod registrar;
pub mod stream;
mod text;
pub mod timers;
pub mod typed;
pub mod uri;
pub mod via;

pub use auth::{
    Addressing, Algorithm, AuthError, Challenge, Credentials, DigestServer, NonceUses, Replay,
    Secret,
};
pub use dialog::{
    CSTA_CONTENT_TYPE, CSTA_DISPOSITION, Dialog, DialogError, DialogSetup, ack_failure, csta_ok,
};
pub use error::{HeaderError, ParseError, UriError};
pub use header::{Header, HeaderName, Headers};
pub use message::{Message, Method, Request, Response, StatusCode};
pub use name_addr::{Contacts, NameAddr};
pub use params::{Param, Params};
pub use parse::{Limits, parse_datagram};
pub use random::{new_branch, new_call_id, new_tag};
pub use registrar::{Binding, BindingChange, ChangeKind, Registrar, RegistrarConfig, Registration};
pub use stream::{StreamFramer, StreamItem};
pub use typed::CSeq;
pub use uri::{Scheme, SipUri, Uri};
pub use via::Via;
