use super::*;

fn sip(text: &str) -> SipUri {
    SipUri::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn parses_every_part() {
    let uri =
        sip("sips:alice:secret@Atlanta.example.com:5061;transport=tcp;lr?subject=x&to=sip:b%40c");
    assert_eq!(uri.scheme, Scheme::Sips);
    assert_eq!(uri.user.as_deref(), Some("alice"));
    assert_eq!(uri.password.as_deref(), Some("secret"));
    assert_eq!(uri.host, "Atlanta.example.com");
    assert_eq!(uri.port, Some(5061));
    assert_eq!(uri.transport(), Some("tcp"));
    assert_eq!(uri.params.get("lr"), Some(None));
    assert_eq!(uri.headers[1], ("to".into(), "sip:b%40c".into()));
    assert_eq!(
        uri.to_string(),
        "sips:alice:secret@Atlanta.example.com:5061;transport=tcp;lr?subject=x&to=sip:b%40c"
    );
    assert_eq!(
        uri.address_of_record().as_deref(),
        Some("alice@atlanta.example.com")
    );
}

#[test]
fn parses_ipv6_telephone_users_and_other_schemes() {
    let uri = sip("sip:[2001:db8::10]:5070;transport=udp");
    assert_eq!(
        (uri.host.as_str(), uri.port),
        ("[2001:db8::10]", Some(5070))
    );
    assert_eq!(uri.address_of_record(), None);
    let uri = sip("sip:+49-30-123;phone-context=example.com@gw.example.com;user=phone");
    assert_eq!(
        uri.user.as_deref(),
        Some("+49-30-123;phone-context=example.com")
    );
    assert_eq!(uri.params.value("user"), Some("phone"));
    assert_eq!(Uri::parse("SIP:a@b").unwrap().to_string(), "sip:a@b");
    assert_eq!(
        Uri::parse("tel:+4930123").unwrap(),
        Uri::Other("tel:+4930123".into())
    );
    assert_eq!(sip("sip:a@b").port_or_default(), 5060);
}

#[test]
fn refuses_malformed_uris() {
    for bad in [
        "alice@example.com",
        "sip:",
        "sip:@host",
        "sip:alice@",
        "sip:alice@host:",
        "sip:alice@host:70000",
        "sip:alice@host:12a",
        "sip:[::1",
        "sip:[nonsense]",
        "sip:[::1]x",
        "sip:al ice@host",
        "sip:host?novalue",
        "sip:host;=x",
        "1tel:123",
        "tel:",
        "tel:a b",
    ] {
        assert!(Uri::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(Uri::parse("x").unwrap_err().code(), "sip_invalid_uri");
}

#[test]
fn equivalent_uris_per_rfc_3261_19_1_4() {
    let pairs = [
        (
            "sip:%61lice@atlanta.com;transport=TCP",
            "sip:alice@AtLanTa.CoM;Transport=tcp",
        ),
        ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
        ("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"),
        (
            "sip:carol@chicago.com;newparam=5",
            "sip:carol@chicago.com;security=on",
        ),
        (
            "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
            "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
        ),
        (
            "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
            "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
        ),
        ("sip:bob@[2001:db8::1]", "sip:bob@[2001:DB8:0::1]"),
    ];
    for (a, b) in pairs {
        assert!(sip(a).matches(&sip(b)), "{a} == {b}");
        assert!(sip(b).matches(&sip(a)), "{b} == {a}");
    }
}

#[test]
fn different_uris_per_rfc_3261_19_1_4() {
    let pairs = [
        (
            "SIP:ALICE@AtLanTa.CoM;Transport=udp",
            "sip:alice@AtLanTa.CoM;Transport=UDP",
        ),
        ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),
        ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"),
        (
            "sip:bob@biloxi.com",
            "sip:bob@biloxi.com:6000;transport=tcp",
        ),
        (
            "sip:carol@chicago.com",
            "sip:carol@chicago.com?Subject=next%20meeting",
        ),
        ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),
        (
            "sip:carol@chicago.com;security=on",
            "sip:carol@chicago.com;security=off",
        ),
        ("sip:a@b", "sips:a@b"),
        ("sip:a:x@b", "sip:a@b"),
    ];
    for (a, b) in pairs {
        assert!(!sip(a).matches(&sip(b)), "{a} != {b}");
        assert!(!sip(b).matches(&sip(a)), "{b} != {a}");
    }
    let tel = Uri::parse("tel:+1").unwrap();
    assert!(tel.matches(&Uri::parse("TEL:+1").unwrap()));
    assert!(!tel.matches(&Uri::parse("sip:+1@b").unwrap()));
}
