//! The handset's registration (RFC 3261 §10.2) as a UAC: REGISTER, answer a 401 Digest
//! challenge, raise Expires to a 423's Min-Expires, refresh at half the granted time,
//! retransmit over UDP per Timer E, retry after a failure.
//!
//! ```text
//! REGISTER sip:domain (Call-ID fixed for this boot, CSeq +1 each) ──▶
//!   ◀── 401 WWW-Authenticate: Digest realm, nonce   → again with Authorization
//!   ◀── 423 Min-Expires: 60                          → again with Expires: 60
//!   ◀── 200 OK (Contact …;expires=N)                 → refresh after N/2
//! ```

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sip::{
    Challenge, Contacts, Credentials, Method, Request, Response, StatusCode, Uri, Via, new_branch,
    new_call_id, new_tag,
};

use super::agent::{Transaction, retransmit};
use super::transport::Peer;
use super::{HandsetConfig, RegistrationState, Transport};

/// Wait before trying again after a failed registration.
const RETRY_AFTER: Duration = Duration::from_secs(10);
/// Challenges and 423s answered in a row before the attempt counts as failed.
const MAX_ROUNDS: u32 = 3;

/// What the registration wants next.
pub(crate) enum RegisterStep {
    Send(Request),
    State(RegistrationState),
}

pub(crate) struct Registration {
    username: String,
    password: String,
    address_of_record: String,
    request_uri: String,
    contact: String,
    via_transport: &'static str,
    local: SocketAddr,
    peer: Peer,
    call_id: String,
    from_tag: String,
    cseq: u32,
    expires: u32,
    challenge: Option<Challenge>,
    nonce_count: u32,
    rounds: u32,
    transaction: Option<Transaction>,
    refresh_at: Option<Instant>,
    unregistering: bool,
}

impl Registration {
    /// A registration with a new Call-ID (a boot of the phone).
    pub(crate) fn new(config: &HandsetConfig, local: SocketAddr, peer: Peer) -> Registration {
        let (via_transport, contact_param) = match config.transport {
            Transport::Udp => ("UDP", ""),
            Transport::Tcp => ("TCP", ";transport=tcp"),
        };
        Registration {
            username: config.username.clone(),
            password: config.password.clone(),
            address_of_record: format!("sip:{}@{}", config.username, config.domain),
            request_uri: format!("sip:{}", config.domain),
            contact: format!("<sip:{}@{}{contact_param}>", config.username, local),
            via_transport,
            local,
            peer,
            call_id: new_call_id(&local.ip().to_string()),
            from_tag: new_tag(),
            cseq: 0,
            expires: config.expires,
            challenge: None,
            nonce_count: 0,
            rounds: 0,
            transaction: None,
            refresh_at: None,
            unregistering: false,
        }
    }

    /// The Contact header value the handset registers (and answers INVITEs with).
    pub(crate) fn contact(&self) -> &str {
        &self.contact
    }

    /// Starts a registration (or refresh).
    pub(crate) fn register(&mut self, now: Instant) -> Request {
        self.unregistering = false;
        self.rounds = 0;
        self.send(now)
    }

    /// Removes the binding (`Expires: 0`); no refresh follows.
    pub(crate) fn unregister(&mut self, now: Instant) -> Request {
        self.unregistering = true;
        self.rounds = 0;
        self.refresh_at = None;
        self.send(now)
    }

    /// Forgets the transaction and refresh (a reboot).
    pub(crate) fn stop(&mut self) {
        self.transaction = None;
        self.refresh_at = None;
    }

    /// What timers want at `now`: a retransmission, a refresh, or a timeout.
    pub(crate) fn due(&mut self, now: Instant) -> Option<RegisterStep> {
        if let Some(transaction) = &mut self.transaction {
            if transaction.give_up_at() <= now {
                self.transaction = None;
                self.refresh_at = (!self.unregistering).then_some(now + RETRY_AFTER);
                return Some(RegisterStep::State(RegistrationState::Failed {
                    status: StatusCode::REQUEST_TIMEOUT.as_u16(),
                }));
            }
            return retransmit(transaction, now).map(RegisterStep::Send);
        }
        if self.refresh_at.is_some_and(|at| at <= now) {
            self.refresh_at = None;
            return Some(RegisterStep::Send(self.register(now)));
        }
        None
    }

    /// Takes a final response; `None` when it is not for this registration.
    pub(crate) fn on_response(
        &mut self,
        response: &Response,
        now: Instant,
    ) -> Option<RegisterStep> {
        if !self
            .transaction
            .as_ref()
            .is_some_and(|t| t.answered_by(response))
        {
            return None;
        }
        self.transaction = None;
        let status = response.status;
        let retry = self.rounds < MAX_ROUNDS;
        if status == StatusCode::UNAUTHORIZED && retry {
            if let Ok(Some(challenge)) = response.headers.www_authenticate() {
                self.rounds += 1;
                self.challenge = Some(challenge);
                self.nonce_count = 0;
                return Some(RegisterStep::Send(self.send(now)));
            }
        }
        if status == StatusCode::INTERVAL_TOO_BRIEF && retry && !self.unregistering {
            if let Ok(Some(minimum)) = response.headers.min_expires() {
                self.rounds += 1;
                self.expires = self.expires.max(minimum);
                return Some(RegisterStep::Send(self.send(now)));
            }
        }
        if status.is_success() {
            if self.unregistering {
                return Some(RegisterStep::State(RegistrationState::Unregistered));
            }
            let expires = granted(response).unwrap_or(self.expires);
            let refresh = Duration::from_secs(u64::from(expires / 2).max(1));
            self.refresh_at = Some(now + refresh);
            return Some(RegisterStep::State(RegistrationState::Registered {
                expires,
            }));
        }
        self.refresh_at = (!self.unregistering).then_some(now + RETRY_AFTER);
        Some(RegisterStep::State(RegistrationState::Failed {
            status: status.as_u16(),
        }))
    }

    fn send(&mut self, now: Instant) -> Request {
        self.cseq += 1;
        let request = self.build();
        self.transaction = Some(Transaction::new(request.clone(), self.peer.clone(), now));
        request
    }

    fn build(&mut self) -> Request {
        let uri = Uri::parse(&self.request_uri).unwrap_or_else(|_| {
            Uri::Sip(sip::SipUri::new(
                sip::Scheme::Sip,
                None,
                &self.local.ip().to_string(),
            ))
        });
        let mut request = Request::new(Method::Register, uri);
        let host = self.local.ip().to_string();
        let via = Via::new(
            self.via_transport,
            &host,
            Some(self.local.port()),
            &new_branch(),
        );
        let expires = if self.unregistering { 0 } else { self.expires };
        let headers = &mut request.headers;
        headers.push("Via", format!("{via};rport"));
        headers.push("Max-Forwards", "70");
        headers.push(
            "From",
            format!("<{}>;tag={}", self.address_of_record, self.from_tag),
        );
        headers.push("To", format!("<{}>", self.address_of_record));
        headers.push("Call-ID", self.call_id.as_str());
        headers.push("CSeq", format!("{} REGISTER", self.cseq));
        headers.push("Contact", self.contact.as_str());
        headers.push("Expires", expires.to_string());
        headers.push("User-Agent", "ucplus-sim-handset");
        if let Some(challenge) = &self.challenge {
            self.nonce_count += 1;
            let credentials = Credentials::answer(
                challenge,
                &self.username,
                &self.password,
                &Method::Register,
                &self.request_uri,
                &new_tag(),
                self.nonce_count,
            );
            headers.push("Authorization", credentials.to_string());
        }
        request
    }
}

/// The lifetime the registrar granted: our contact's `expires`, else the Expires header.
fn granted(response: &Response) -> Option<u32> {
    let from_contact = match response.headers.contacts() {
        Ok(Contacts::List(contacts)) => contacts
            .iter()
            .find_map(|contact| contact.params.value("expires")?.parse().ok()),
        _ => None,
    };
    from_contact.or(response.headers.expires().ok().flatten())
}
