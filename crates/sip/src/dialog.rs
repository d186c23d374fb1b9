//! The uaCSTA dialog (ECMA TR/87): CSTA XML carried in SIP between the controller (this
//! side, the UAC) and a registered handset.
//!
//! ```text
//! controller                                   handset
//!   INVITE  (body: <RequestSystemStatus/>) ──▶
//!           ◀── 200 OK (body: <RequestSystemStatusResponse>…normal…)
//!   ACK ──▶
//!   INFO    (body: <MonitorStart>…)       ──▶
//!           ◀── 200 OK (body: <MonitorStartResponse>…)
//!           ◀── INFO (body: <DeliveredEvent>…)       answer 200 OK
//!   INVITE  (re-INVITE every ~10 min to refresh) ──▶ …
//!   BYE ──▶
//! ```
//! Bodies are `Content-Type: application/csta+xml` with `Content-Disposition:
//! signal;handling=required`. [`Dialog`] builds the requests (CSeq, tags, Call-ID, Via
//! branch) and checks what comes back; retransmissions and timeouts are the caller's (see
//! [`crate::timers`]). No Route set: the controller talks to the handset directly.

use bytes::Bytes;

use crate::error::HeaderError;
use crate::message::{Method, Request, Response, StatusCode};
use crate::name_addr::{Contacts, NameAddr};
use crate::random::{new_branch, new_call_id, new_tag};
use crate::uri::Uri;
use crate::via::Via;

/// The media type of CSTA XML bodies.
pub const CSTA_CONTENT_TYPE: &str = "application/csta+xml";
/// The Content-Disposition TR/87 gives CSTA bodies.
pub const CSTA_DISPOSITION: &str = "signal;handling=required";

/// Why a message does not fit a dialog. Each variant has a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    #[error("the message belongs to another dialog")]
    OtherDialog,
    /// The request's CSeq is not above the last one (answer 500, RFC 3261 §12.2.2).
    #[error("CSeq {got} is not above the last one from the peer ({last})")]
    OutOfOrder { got: u32, last: u32 },
    #[error(transparent)]
    Header(#[from] HeaderError),
}

impl DialogError {
    pub fn code(&self) -> &'static str {
        match self {
            DialogError::OtherDialog => "sip_dialog_mismatch",
            DialogError::OutOfOrder { .. } => "sip_dialog_cseq_out_of_order",
            DialogError::Header(error) => error.code(),
        }
    }
}

/// What the controller needs to open a dialog with a handset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogSetup {
    /// The controller's address in From (e.g. `sip:ucplus@pbx.example`).
    pub local_uri: Uri,
    /// Where the handset reaches the controller (Contact of requests).
    pub local_contact: Uri,
    /// The handset's address-of-record, in To (e.g. `sip:200@pbx.example`).
    pub remote_uri: Uri,
    /// The handset's registered contact: the Request-URI until the handset names another.
    pub remote_target: Uri,
    /// The transport and sent-by address for Via (`UDP`, `192.0.2.1`, `5060`).
    pub transport: String,
    pub host: String,
    pub port: Option<u16>,
}

/// One uaCSTA dialog, from the controller's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    setup: DialogSetup,
    call_id: String,
    local_tag: String,
    /// The handset's tag, known from the first 2xx to the INVITE.
    remote_tag: Option<String>,
    /// The last CSeq this side used, and that of the last INVITE (ACK repeats it).
    local_cseq: u32,
    invite_cseq: u32,
    /// The last CSeq of a request from the handset.
    remote_cseq: Option<u32>,
}

impl Dialog {
    /// A dialog not yet established, with a fresh Call-ID and tag.
    pub fn new(setup: DialogSetup) -> Dialog {
        Dialog {
            call_id: new_call_id(&setup.host),
            local_tag: new_tag(),
            remote_tag: None,
            local_cseq: 0,
            invite_cseq: 0,
            remote_cseq: None,
            setup,
        }
    }

    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    pub fn local_tag(&self) -> &str {
        &self.local_tag
    }

    pub fn remote_tag(&self) -> Option<&str> {
        self.remote_tag.as_deref()
    }

    /// Where in-dialog requests go.
    pub fn remote_target(&self) -> &Uri {
        &self.setup.remote_target
    }

    /// Whether a 2xx to the INVITE has arrived.
    pub fn is_established(&self) -> bool {
        self.remote_tag.is_some()
    }

    /// The INVITE that opens the dialog or, once established, refreshes it (re-INVITE),
    /// carrying a CSTA request such as `RequestSystemStatus`.
    pub fn invite(&mut self, csta_xml: impl Into<Bytes>) -> Request {
        let mut request = self.request(Method::Invite);
        self.invite_cseq = self.local_cseq;
        request.headers.push(
            "Contact",
            NameAddr::new(self.setup.local_contact.clone()).to_string(),
        );
        set_csta_body(&mut request.headers, &mut request.body, csta_xml.into());
        request
    }

    /// An INFO carrying a CSTA request; its response's body carries the CSTA response.
    pub fn info(&mut self, csta_xml: impl Into<Bytes>) -> Request {
        let mut request = self.request(Method::Info);
        set_csta_body(&mut request.headers, &mut request.body, csta_xml.into());
        request
    }

    /// The BYE that ends the dialog.
    pub fn bye(&mut self) -> Request {
        self.request(Method::Bye)
    }

    /// Takes a response to an INVITE of this dialog. For a 2xx, learns the handset's tag
    /// and target and returns the ACK to send (again for each retransmitted 2xx);
    /// otherwise `None` (a failure is ACKed by the transaction, see [`ack_failure`]).
    pub fn on_invite_response(
        &mut self,
        response: &Response,
    ) -> Result<Option<Request>, DialogError> {
        let cseq = response.headers.cseq()?;
        if !self.sent_this(response)?
            || cseq.method != Method::Invite
            || cseq.seq != self.invite_cseq
        {
            return Err(DialogError::OtherDialog);
        }
        if !response.status.is_success() {
            return Ok(None);
        }
        let to = response.headers.to()?;
        let tag = to.tag().ok_or(HeaderError::invalid(
            "To",
            &to.to_string(),
            "a 2xx to an INVITE needs a To tag",
        ))?;
        match &self.remote_tag {
            Some(known) if known != tag => return Err(DialogError::OtherDialog),
            Some(_) => {}
            None => self.remote_tag = Some(tag.to_owned()),
        }
        if let Contacts::List(contacts) = response.headers.contacts()? {
            if let Some(contact) = contacts.into_iter().next() {
                self.setup.remote_target = contact.uri;
            }
        }
        Ok(Some(self.ack()))
    }

    /// Whether `response` answers a request of this dialog (Call-ID, our From tag, and the
    /// handset's To tag once known).
    pub fn matches_response(&self, response: &Response) -> bool {
        self.sent_this(response).unwrap_or(false)
    }

    /// Takes a request from the handset (an INFO with a CSTA event, a BYE): checks that it
    /// is of this dialog and in order. Answer it with [`csta_ok`] or a plain 200.
    pub fn on_request(&mut self, request: &Request) -> Result<(), DialogError> {
        if !self.matches_request(request) {
            return Err(DialogError::OtherDialog);
        }
        let cseq = request.headers.cseq()?;
        if request.method == Method::Ack || request.method == Method::Cancel {
            return Ok(());
        }
        if let Some(last) = self.remote_cseq {
            if cseq.seq <= last {
                return Err(DialogError::OutOfOrder {
                    got: cseq.seq,
                    last,
                });
            }
        }
        self.remote_cseq = Some(cseq.seq);
        Ok(())
    }

    /// Whether `request` came from the handset within this dialog: same Call-ID, To tag
    /// ours, From tag the handset's.
    pub fn matches_request(&self, request: &Request) -> bool {
        let tags = request.headers.to().ok().zip(request.headers.from().ok());
        request.headers.call_id().ok() == Some(self.call_id.as_str())
            && tags.is_some_and(|(to, from)| {
                to.tag() == Some(self.local_tag.as_str())
                    && from.tag().is_some()
                    && from.tag() == self.remote_tag.as_deref()
            })
    }

    fn sent_this(&self, response: &Response) -> Result<bool, HeaderError> {
        let headers = &response.headers;
        let from = headers.from()?;
        let to = headers.to()?;
        let remote_ok = match (&self.remote_tag, to.tag()) {
            (Some(known), Some(tag)) => known == tag,
            (Some(_), None) => false,
            (None, _) => true,
        };
        Ok(headers.call_id()? == self.call_id
            && from.tag() == Some(self.local_tag.as_str())
            && remote_ok)
    }

    /// The ACK for the 2xx to the last INVITE: same CSeq number, a new branch.
    fn ack(&self) -> Request {
        self.build(Method::Ack, self.invite_cseq)
    }

    /// A new in-dialog request with the next CSeq.
    fn request(&mut self, method: Method) -> Request {
        self.local_cseq += 1;
        self.build(method, self.local_cseq)
    }

    fn build(&self, method: Method, cseq: u32) -> Request {
        let setup = &self.setup;
        let mut request = Request::new(method.clone(), setup.remote_target.clone());
        let via = Via::new(&setup.transport, &setup.host, setup.port, &new_branch());
        let mut from = NameAddr::new(setup.local_uri.clone());
        from.set_tag(&self.local_tag);
        let mut to = NameAddr::new(setup.remote_uri.clone());
        if let Some(tag) = &self.remote_tag {
            to.set_tag(tag);
        }
        let headers = &mut request.headers;
        headers.push("Via", via.to_string());
        headers.push("Max-Forwards", "70");
        headers.push("From", from.to_string());
        headers.push("To", to.to_string());
        headers.push("Call-ID", self.call_id.as_str());
        headers.push("CSeq", format!("{cseq} {method}"));
        request
    }
}

/// The 200 OK answering a CSTA request (INVITE or INFO) with a CSTA response body.
pub fn csta_ok(request: &Request, csta_xml: impl Into<Bytes>) -> Response {
    let mut response = Response::for_request(request, StatusCode::OK);
    set_csta_body(&mut response.headers, &mut response.body, csta_xml.into());
    response
}

/// The ACK an INVITE client transaction sends for a failure response (RFC 3261
/// §17.1.1.3): the INVITE's Request-URI, top Via (same branch), From, Call-ID and CSeq
/// number, and the response's To (with its tag).
pub fn ack_failure(invite: &Request, response: &Response) -> Result<Request, HeaderError> {
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    let cseq = invite.headers.cseq()?;
    let headers = &mut ack.headers;
    headers.push("Via", invite.headers.top_via()?.to_string());
    headers.push("Max-Forwards", "70");
    headers.push("From", invite.headers.from()?.to_string());
    headers.push("To", response.headers.to()?.to_string());
    headers.push("Call-ID", invite.headers.call_id()?);
    headers.push("CSeq", format!("{} ACK", cseq.seq));
    Ok(ack)
}

fn set_csta_body(headers: &mut crate::header::Headers, body: &mut Bytes, xml: Bytes) {
    headers.set("Content-Type", CSTA_CONTENT_TYPE);
    headers.set("Content-Disposition", CSTA_DISPOSITION);
    *body = xml;
}

#[cfg(test)]
mod tests;
