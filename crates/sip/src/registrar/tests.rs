use super::*;
use crate::message::Message;
use crate::parse::{Limits, parse_datagram};

const AOR: &str = "200@pbx.example";

/// A REGISTER for 200@pbx.example with the given Call-ID, CSeq and extra header lines.
fn register(call_id: &str, cseq: u32, extra: &str) -> Request {
    let text = format!(
        "REGISTER sip:pbx.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK{call_id}{cseq};rport\r\n\
         From: <sip:200@pbx.example>;tag=f{call_id}\r\n\
         To: <sip:200@PBX.example>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n\
         User-Agent: Test/1.0\r\n\
         {extra}\
         Content-Length: 0\r\n\r\n"
    );
    match parse_datagram(text.as_bytes(), &Limits::default()) {
        Ok(Some(Message::Request(request))) => request,
        other => panic!("{other:?}"),
    }
}

fn contacts(registration: &Registration) -> Vec<&str> {
    registration.response.headers.get_all("Contact").collect()
}

fn kinds(registration: &Registration) -> Vec<ChangeKind> {
    registration.changes.iter().map(|c| c.kind).collect()
}

fn registrar() -> Registrar {
    Registrar::new(RegistrarConfig::default())
}

#[test]
fn first_registration_adds_a_binding_and_lists_it() {
    let mut registrar = registrar();
    let source = "203.0.113.9:40000".parse().ok();
    let done = registrar.register(
        &register("a", 1, "Contact: <sip:200@192.0.2.7:5062>;expires=600\r\n"),
        source,
        1_000,
    );
    assert_eq!(done.response.status, StatusCode::OK);
    assert!(done.response.headers.to().unwrap().tag().is_some());
    assert_eq!(contacts(&done), ["<sip:200@192.0.2.7:5062>;expires=600"]);
    assert_eq!(kinds(&done), [ChangeKind::Added]);
    let binding = &registrar.bindings(AOR)[0];
    assert_eq!((binding.expires_at, binding.source), (1_600, source));
    assert_eq!(binding.user_agent.as_deref(), Some("Test/1.0"));
    assert_eq!(registrar.aors().collect::<Vec<_>>(), [AOR]);
    assert_eq!(registrar.next_expiry(), Some(1_600));
}

#[test]
fn expiry_comes_from_the_contact_the_header_or_the_default_and_is_capped() {
    let mut registrar = Registrar::new(RegistrarConfig {
        max_expires: 7_200,
        ..RegistrarConfig::default()
    });
    let done = registrar.register(
        &register(
            "a",
            1,
            "Expires: 120\r\nContact: <sip:200@192.0.2.7>, <sip:200@192.0.2.8>;expires=300, \
             <sip:200@192.0.2.9>;expires=99999\r\n",
        ),
        None,
        0,
    );
    assert_eq!(
        contacts(&done),
        [
            "<sip:200@192.0.2.7>;expires=120",
            "<sip:200@192.0.2.8>;expires=300",
            "<sip:200@192.0.2.9>;expires=7200"
        ]
    );
    let done = registrar.register(
        &register("b", 1, "Contact: <sip:200@192.0.2.10>\r\n"),
        None,
        0,
    );
    assert_eq!(
        contacts(&done).last(),
        Some(&"<sip:200@192.0.2.10>;expires=3600")
    );
    assert_eq!(registrar.bindings(AOR).len(), 4);
}

#[test]
fn refresh_keeps_one_binding_per_contact() {
    let mut registrar = registrar();
    registrar.register(
        &register("a", 1, "Contact: <sip:200@192.0.2.7:5062>\r\n"),
        None,
        0,
    );
    // The same URI, spelled differently (§19.1.4): a refresh, not a second binding.
    let done = registrar.register(
        &register(
            "a",
            2,
            "Contact: \"Desk\" <sip:200@192.0.2.7:5062>;q=0.5\r\n",
        ),
        None,
        1_800,
    );
    assert_eq!(kinds(&done), [ChangeKind::Refreshed]);
    assert_eq!(
        contacts(&done),
        ["\"Desk\" <sip:200@192.0.2.7:5062>;q=0.5;expires=3600"]
    );
    assert_eq!(registrar.bindings(AOR)[0].expires_at, 5_400);
    // A phone that rebooted uses a new Call-ID, whatever its CSeq.
    let done = registrar.register(
        &register("b", 1, "Contact: <sip:200@192.0.2.7:5062>\r\n"),
        None,
        1_900,
    );
    assert_eq!(kinds(&done), [ChangeKind::Refreshed]);
    assert_eq!(registrar.bindings(AOR)[0].call_id, "b");
}

#[test]
fn out_of_order_requests_change_nothing() {
    let mut registrar = registrar();
    registrar.register(
        &register("a", 5, "Contact: <sip:200@192.0.2.7>\r\n"),
        None,
        0,
    );
    let older = registrar.register(
        &register("a", 4, "Contact: <sip:200@192.0.2.7>;expires=0\r\n"),
        None,
        1,
    );
    assert_eq!(older.response.status, StatusCode::BAD_REQUEST);
    assert_eq!(older.response.reason, "Out of order CSeq");
    assert!(older.changes.is_empty());
    let wildcard = registrar.register(&register("a", 3, "Contact: *\r\nExpires: 0\r\n"), None, 1);
    assert_eq!(wildcard.response.status, StatusCode::BAD_REQUEST);
    // The same CSeq again is a retransmission: answered, not applied twice.
    let again = registrar.register(
        &register("a", 5, "Contact: <sip:200@192.0.2.7>\r\n"),
        None,
        2,
    );
    assert_eq!(again.response.status, StatusCode::OK);
    assert!(again.changes.is_empty());
    assert_eq!(contacts(&again), ["<sip:200@192.0.2.7>;expires=3598"]);
    assert_eq!(registrar.bindings(AOR).len(), 1);
}

#[test]
fn expires_zero_removes_one_contact_and_the_wildcard_removes_all() {
    let mut registrar = registrar();
    registrar.register(
        &register(
            "a",
            1,
            "Contact: <sip:200@192.0.2.7>, <sip:200@192.0.2.8>\r\n",
        ),
        None,
        0,
    );
    registrar.register(
        &register("b", 1, "Contact: <sip:200@198.51.100.1>\r\n"),
        None,
        0,
    );
    let one = registrar.register(
        &register("a", 2, "Contact: <sip:200@192.0.2.8>;expires=0\r\n"),
        None,
        10,
    );
    assert_eq!(kinds(&one), [ChangeKind::Removed]);
    assert_eq!(contacts(&one).len(), 2);
    // Removing a contact that is not bound is fine and changes nothing.
    let none = registrar.register(
        &register("a", 3, "Contact: <sip:200@192.0.2.99>\r\nExpires: 0\r\n"),
        None,
        10,
    );
    assert!(none.changes.is_empty());

    let refused = registrar.register(&register("a", 4, "Contact: *\r\n"), None, 20);
    assert_eq!(refused.response.status, StatusCode::BAD_REQUEST);
    let all = registrar.register(&register("c", 1, "Contact: *\r\nExpires: 0\r\n"), None, 20);
    assert_eq!(all.response.status, StatusCode::OK);
    assert_eq!(kinds(&all), [ChangeKind::Removed, ChangeKind::Removed]);
    assert!(contacts(&all).is_empty());
    assert!(registrar.bindings(AOR).is_empty());
    assert_eq!(registrar.aors().count(), 0);
}

#[test]
fn too_brief_intervals_get_423_with_min_expires() {
    let mut registrar = registrar();
    let done = registrar.register(
        &register(
            "a",
            1,
            "Contact: <sip:200@192.0.2.7>, <sip:200@192.0.2.8>;expires=30\r\n",
        ),
        None,
        0,
    );
    assert_eq!(done.response.status, StatusCode::INTERVAL_TOO_BRIEF);
    assert_eq!(done.response.headers.min_expires(), Ok(Some(60)));
    assert!(done.changes.is_empty());
    assert!(registrar.bindings(AOR).is_empty(), "all or nothing");
    let header = registrar.register(
        &register("a", 2, "Expires: 59\r\nContact: <sip:200@192.0.2.7>\r\n"),
        None,
        0,
    );
    assert_eq!(header.response.status.as_u16(), 423);
}

#[test]
fn an_instance_id_replaces_the_old_address_of_the_same_device() {
    let mut registrar = registrar();
    let instance = "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000413105b2a>\"";
    registrar.register(
        &register(
            "a",
            1,
            &format!("Contact: <sip:200@10.0.0.5>;{instance}\r\n"),
        ),
        None,
        0,
    );
    let moved = registrar.register(
        &register(
            "a",
            2,
            &format!("Contact: <sip:200@10.0.0.77>;{instance}\r\n"),
        ),
        None,
        5,
    );
    assert_eq!(kinds(&moved), [ChangeKind::Refreshed]);
    let bindings = registrar.bindings(AOR);
    assert_eq!(bindings.len(), 1);
    assert_eq!(bindings[0].contact.uri.to_string(), "sip:200@10.0.0.77");
    assert_eq!(
        bindings[0].instance.as_deref(),
        Some("<urn:uuid:00000000-0000-1000-8000-000413105b2a>")
    );
}

#[test]
fn expire_removes_lapsed_bindings_only() {
    let mut registrar = registrar();
    registrar.register(
        &register("a", 1, "Contact: <sip:200@192.0.2.7>;expires=60\r\n"),
        None,
        0,
    );
    registrar.register(
        &register("b", 1, "Contact: <sip:200@192.0.2.8>;expires=120\r\n"),
        None,
        0,
    );
    assert!(registrar.expire(59).is_empty());
    let expired = registrar.expire(60);
    assert_eq!(expired.len(), 1);
    assert_eq!(
        (expired[0].aor.as_str(), expired[0].kind),
        (AOR, ChangeKind::Expired)
    );
    assert_eq!(registrar.next_expiry(), Some(120));
    assert_eq!(registrar.expire(1_000).len(), 1);
    assert_eq!(registrar.next_expiry(), None);
}

#[test]
fn a_query_lists_bindings_without_changing_them() {
    let mut registrar = registrar();
    registrar.register(
        &register("a", 1, "Contact: <sip:200@192.0.2.7>\r\n"),
        None,
        0,
    );
    let query = registrar.register(&register("q", 1, ""), None, 100);
    assert!(query.changes.is_empty());
    assert_eq!(contacts(&query), ["<sip:200@192.0.2.7>;expires=3500"]);
}

#[test]
fn refuses_bad_requests() {
    let mut registrar = Registrar::new(RegistrarConfig {
        max_contacts: 2,
        ..RegistrarConfig::default()
    });
    let three = "Contact: <sip:a@192.0.2.1>, <sip:b@192.0.2.1>, <sip:c@192.0.2.1>\r\n";
    let cases = [
        (register("a", 1, three), 503),
        (
            register("a", 2, "Contact: <sip:a@192.0.2.1>;q=1.5\r\n"),
            400,
        ),
        (
            register("a", 3, "Contact: <sip:a@192.0.2.1>;expires=soon\r\n"),
            400,
        ),
        (
            register("a", 4, "Contact: <sip:a@192.0.2.1>\r\nExpires: x\r\n"),
            400,
        ),
        (register("a", 5, "Contact: sip:a@192.0.2.1>\r\n"), 400),
    ];
    for (request, status) in cases {
        let done = registrar.register(&request, None, 0);
        assert_eq!(
            done.response.status.as_u16(),
            status,
            "{}",
            done.response.reason
        );
        assert!(done.changes.is_empty());
    }
    let mut no_user = register("a", 6, "");
    no_user.headers.set("To", "<sip:pbx.example>");
    assert_eq!(
        registrar
            .register(&no_user, None, 0)
            .response
            .status
            .as_u16(),
        404
    );
    let mut options = register("a", 7, "");
    options.method = Method::Options;
    assert_eq!(
        registrar
            .register(&options, None, 0)
            .response
            .status
            .as_u16(),
        405
    );
    let mut wrong_cseq = register("a", 8, "");
    wrong_cseq.headers.set("CSeq", "8 INVITE");
    assert_eq!(
        registrar
            .register(&wrong_cseq, None, 0)
            .response
            .status
            .as_u16(),
        400
    );
    assert!(registrar.bindings(AOR).is_empty());
    for (q, ok) in [
        ("0", true),
        ("1", true),
        ("0.123", true),
        ("1.000", true),
        ("1.001", false),
        ("0.1234", false),
        (".5", false),
    ] {
        assert_eq!(valid_q(q), ok, "{q}");
    }
}
