use super::*;
use crate::message::Message;
use crate::parse::{Limits, parse_datagram};

fn setup() -> DialogSetup {
    DialogSetup {
        local_uri: Uri::parse("sip:ucplus@pbx.example").unwrap(),
        local_contact: Uri::parse("sip:ucplus@192.0.2.1:5060").unwrap(),
        remote_uri: Uri::parse("sip:200@pbx.example").unwrap(),
        remote_target: Uri::parse("sip:200@192.0.2.7:5062;transport=udp").unwrap(),
        transport: "UDP".into(),
        host: "192.0.2.1".into(),
        port: Some(5060),
    }
}

/// Through the wire and back, as the handset would see it.
fn wire<M: Into<Message>>(message: M) -> Message {
    let bytes = match message.into() {
        Message::Request(r) => r.to_bytes(),
        Message::Response(r) => r.to_bytes(),
    };
    parse_datagram(&bytes, &Limits::default()).unwrap().unwrap()
}

fn request(message: Message) -> Request {
    match message {
        Message::Request(request) => request,
        Message::Response(response) => panic!("{response:?}"),
    }
}

fn response(message: Message) -> Response {
    match message {
        Message::Response(response) => response,
        Message::Request(request) => panic!("{request:?}"),
    }
}

/// The handset's 200 OK to the INVITE, with its own Contact.
fn answer_invite(invite: &Request) -> Response {
    let mut ok = csta_ok(
        invite,
        "<RequestSystemStatusResponse><systemStatus>normal</systemStatus></RequestSystemStatusResponse>",
    );
    ok.headers
        .push("Contact", "<sip:200@192.0.2.7:5062;transport=udp;line=x>");
    response(wire(ok))
}

#[test]
fn invite_ack_info_bye_follow_tr87() {
    let mut dialog = Dialog::new(setup());
    let invite = request(wire(dialog.invite("<RequestSystemStatus/>")));
    assert_eq!(invite.method, Method::Invite);
    assert_eq!(
        invite.uri.to_string(),
        "sip:200@192.0.2.7:5062;transport=udp"
    );
    assert_eq!(invite.headers.cseq().unwrap().to_string(), "1 INVITE");
    assert_eq!(invite.headers.content_type(), Some(CSTA_CONTENT_TYPE));
    assert_eq!(invite.headers.content_disposition(), Some(CSTA_DISPOSITION));
    assert_eq!(invite.headers.max_forwards(), Ok(Some(70)));
    assert_eq!(invite.headers.to().unwrap().tag(), None);
    assert!(
        invite
            .headers
            .top_via()
            .unwrap()
            .branch()
            .unwrap()
            .starts_with("z9hG4bK")
    );
    assert_eq!(invite.headers.call_id(), Ok(dialog.call_id()));
    assert_eq!(invite.body, "<RequestSystemStatus/>");
    assert!(!dialog.is_established());

    let ok = answer_invite(&invite);
    let ack = dialog.on_invite_response(&ok).unwrap().unwrap();
    assert!(dialog.is_established());
    let phone_tag = ok.headers.to().unwrap().tag().unwrap().to_owned();
    assert_eq!(dialog.remote_tag(), Some(phone_tag.as_str()));
    assert_eq!(ack.headers.cseq().unwrap().to_string(), "1 ACK");
    assert_eq!(
        ack.uri.to_string(),
        "sip:200@192.0.2.7:5062;transport=udp;line=x"
    );
    assert!(ack.body.is_empty());
    // A retransmitted 2xx is ACKed again.
    assert!(dialog.on_invite_response(&ok).unwrap().is_some());

    let info = request(wire(dialog.info("<MonitorStart/>")));
    assert_eq!(info.headers.cseq().unwrap().to_string(), "2 INFO");
    assert_eq!(info.headers.to().unwrap().tag(), Some(phone_tag.as_str()));
    assert_eq!(info.headers.from().unwrap().tag(), Some(dialog.local_tag()));
    assert_ne!(
        info.headers.top_via().unwrap().branch(),
        ack.headers.top_via().unwrap().branch()
    );
    let info_ok = response(wire(csta_ok(&info, "<MonitorStartResponse/>")));
    assert!(dialog.matches_response(&info_ok));
    assert_eq!(
        info_ok.headers.to().unwrap().tag(),
        Some(phone_tag.as_str())
    );
    assert_eq!(info_ok.body, "<MonitorStartResponse/>");

    let reinvite = request(wire(dialog.invite("<RequestSystemStatus/>")));
    assert_eq!(reinvite.headers.cseq().unwrap().to_string(), "3 INVITE");
    assert_eq!(
        reinvite.headers.to().unwrap().tag(),
        Some(phone_tag.as_str())
    );
    let reinvite_ok = response(wire(csta_ok(&reinvite, "")));
    let ack = dialog.on_invite_response(&reinvite_ok).unwrap().unwrap();
    assert_eq!(ack.headers.cseq().unwrap().to_string(), "3 ACK");
    let bye = dialog.bye();
    assert_eq!(bye.headers.cseq().unwrap().to_string(), "4 BYE");
    assert!(bye.body.is_empty());
}

/// An INFO from the handset carrying a CSTA event.
fn event(dialog: &Dialog, phone_tag: &str, cseq: u32) -> Request {
    let text = format!(
        "INFO sip:ucplus@192.0.2.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bKev{cseq}\r\n\
         From: <sip:200@pbx.example>;tag={phone_tag}\r\n\
         To: <sip:ucplus@pbx.example>;tag={}\r\n\
         Call-ID: {}\r\nCSeq: {cseq} INFO\r\n\
         Content-Type: application/csta+xml\r\nContent-Length: 17\r\n\r\n<DeliveredEvent/>",
        dialog.local_tag(),
        dialog.call_id()
    );
    request(
        parse_datagram(text.as_bytes(), &Limits::default())
            .unwrap()
            .unwrap(),
    )
}

#[test]
fn requests_from_the_handset_are_matched_and_ordered() {
    let mut dialog = Dialog::new(setup());
    let invite = dialog.invite("<RequestSystemStatus/>");
    let ok = answer_invite(&invite);
    let phone_tag = ok.headers.to().unwrap().tag().unwrap().to_owned();
    let early = event(&dialog, &phone_tag, 1);
    assert_eq!(
        dialog.on_request(&early),
        Err(DialogError::OtherDialog),
        "not yet established"
    );
    dialog.on_invite_response(&ok).unwrap();

    assert_eq!(dialog.on_request(&event(&dialog, &phone_tag, 7)), Ok(()));
    let again = dialog
        .on_request(&event(&dialog, &phone_tag, 7))
        .unwrap_err();
    assert_eq!(again.code(), "sip_dialog_cseq_out_of_order");
    assert_eq!(dialog.on_request(&event(&dialog, &phone_tag, 8)), Ok(()));
    let stranger = event(&dialog, "someone-else", 9);
    assert!(!dialog.matches_request(&stranger));
    assert_eq!(
        dialog.on_request(&stranger).unwrap_err().code(),
        "sip_dialog_mismatch"
    );

    let answer = Response::for_request(&event(&dialog, &phone_tag, 9), StatusCode::OK);
    assert_eq!(answer.headers.to().unwrap().tag(), Some(dialog.local_tag()));
}

#[test]
fn foreign_and_failed_responses() {
    let mut dialog = Dialog::new(setup());
    let invite = dialog.invite("<RequestSystemStatus/>");
    let mut other = answer_invite(&invite);
    other.headers.set("Call-ID", "other@x");
    assert_eq!(
        dialog.on_invite_response(&other),
        Err(DialogError::OtherDialog)
    );
    assert!(!dialog.matches_response(&other));

    let busy = Response::for_request(&invite, StatusCode::BUSY_HERE);
    assert_eq!(dialog.on_invite_response(&busy), Ok(None));
    assert!(!dialog.is_established());
    let ack = ack_failure(&invite, &busy).unwrap();
    assert_eq!(ack.headers.cseq().unwrap().to_string(), "1 ACK");
    assert_eq!(ack.headers.top_via(), invite.headers.top_via());
    assert_eq!(ack.headers.to(), busy.headers.to());
    assert_eq!(ack.uri, invite.uri);

    let mut untagged = answer_invite(&invite);
    untagged.headers.set("To", "<sip:200@pbx.example>");
    assert_eq!(
        dialog.on_invite_response(&untagged).unwrap_err().code(),
        "sip_invalid_header"
    );
}
