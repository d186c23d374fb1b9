//! The uaCSTA dialog the handset holds as UAS: its state, whether a request belongs to it,
//! the INFO requests that carry events within it; and the key that identifies a request's
//! transaction, to answer retransmissions.

use std::net::SocketAddr;

use sip::{CSTA_CONTENT_TYPE, Method, NameAddr, Request, Uri, Via, new_branch};

use super::transport::Peer;
use super::{HandsetConfig, Transport};

/// The handset's side of the uaCSTA dialog.
pub(crate) struct UasDialog {
    pub(crate) call_id: String,
    /// Our To tag, and the addresses as the controller wrote them.
    pub(crate) local: NameAddr,
    pub(crate) remote: NameAddr,
    pub(crate) remote_target: Uri,
    pub(crate) local_cseq: u32,
    pub(crate) remote_cseq: u32,
    pub(crate) peer: Peer,
}

/// Identifies a request's transaction, to answer retransmissions from the cache.
pub(crate) fn transaction_key(request: &Request) -> Option<String> {
    let via = request.headers.top_via().ok()?;
    let cseq = request.headers.cseq().ok()?;
    let call_id = request.headers.call_id().ok()?;
    Some(format!(
        "{} {} {} {}",
        via.branch().unwrap_or_default(),
        call_id,
        cseq.seq,
        cseq.method
    ))
}

pub(crate) fn in_dialog(dialog: &UasDialog, request: &Request) -> bool {
    let (Ok(to), Ok(from)) = (request.headers.to(), request.headers.from()) else {
        return false;
    };
    request.headers.call_id().ok() == Some(dialog.call_id.as_str())
        && to.tag().is_some()
        && to.tag() == dialog.local.tag()
        && from.tag() == dialog.remote.tag()
}

/// An INFO carrying an event to the controller within `dialog`.
pub(crate) fn info_request(
    dialog: &mut UasDialog,
    config: &HandsetConfig,
    local: SocketAddr,
    xml: String,
) -> Request {
    dialog.local_cseq += 1;
    let mut request = Request::new(Method::Info, dialog.remote_target.clone());
    let transport = match config.transport {
        Transport::Udp => "UDP",
        Transport::Tcp => "TCP",
    };
    let via = Via::new(
        transport,
        &local.ip().to_string(),
        Some(local.port()),
        &new_branch(),
    );
    let headers = &mut request.headers;
    headers.push("Via", via.to_string());
    headers.push("Max-Forwards", "70");
    headers.push("From", dialog.local.to_string());
    headers.push("To", dialog.remote.to_string());
    headers.push("Call-ID", dialog.call_id.as_str());
    headers.push("CSeq", format!("{} INFO", dialog.local_cseq));
    headers.push("Content-Disposition", sip::CSTA_DISPOSITION);
    request.set_body(CSTA_CONTENT_TYPE, xml);
    request
}
