//! REGISTER requests in the styles real phones and softphones send (baresip, Linphone,
//! Snom, Yealink, Zoiper-style folded compact headers, a request that crossed a proxy):
//! each must parse into the expected facts, print back to an equal message, and register.

use sip::{
    ChangeKind, Contacts, Limits, Message, Method, Registrar, RegistrarConfig, Request, StatusCode,
    parse_datagram,
};

/// Written with LF line ends for readability; sent with CRLF like the phones do.
fn crlf(text: &str) -> Vec<u8> {
    text.replace('\n', "\r\n").into_bytes()
}

fn parse_request(bytes: &[u8]) -> Request {
    match parse_datagram(bytes, &Limits::default()) {
        Ok(Some(Message::Request(request))) => request,
        other => panic!("{other:?}"),
    }
}

const BARESIP: &str = "REGISTER sip:pbx.example.com SIP/2.0
Via: SIP/2.0/UDP 192.168.1.23:5060;branch=z9hG4bK3a7c5e1f0b2d4e6f;rport
Contact: <sip:200-0x55d1c3b2a0@192.168.1.23:5060>;expires=3600;+sip.instance=\"<urn:uuid:1c7e4d2a-0b3f-4e5a-9c8d-7f6e5d4c3b2a>\";reg-id=1
Max-Forwards: 70
To: <sip:200@pbx.example.com>
From: <sip:200@pbx.example.com>;tag=3c8d1a2b7e9f0a1c
Call-ID: 6b3f1f0a2c4d5e6f
CSeq: 40321 REGISTER
User-Agent: baresip v2.9.0 (x86_64/linux)
Allow: INVITE,ACK,BYE,CANCEL,OPTIONS,NOTIFY,SUBSCRIBE,INFO,MESSAGE,UPDATE
Supported: gruu,outbound,path,replaces
Content-Length: 0

";

const LINPHONE: &str = "REGISTER sip:sip.example.org SIP/2.0
Via: SIP/2.0/TCP 10.0.0.12:48731;alias;branch=z9hG4bK.YqRv2Zk6P;rport
From: <sip:alice@sip.example.org>;tag=1N~yzxW4p
To: sip:alice@sip.example.org
CSeq: 20 REGISTER
Call-ID: aZ2rF5sW~c
Max-Forwards: 70
Supported: replaces, outbound, gruu, path
Accept: application/sdp
Accept: text/plain
Contact: <sip:alice@10.0.0.12:48731;transport=tcp>;+sip.instance=\"<urn:uuid:5b4b3bb5-6a0b-0057-a9f5-4a4ec7e8ac1d>\";+org.linphone.specs=\"lime,groupchat/1.1,ephemeral\"
Expires: 600
User-Agent: LinphoneAndroid/4.6.0 (Pixel 5) LinphoneSDK/5.0.0
Content-Length: 0

";

const SNOM: &str = "REGISTER sip:pbx.example.com SIP/2.0
Via: SIP/2.0/UDP 192.168.10.55:2048;branch=z9hG4bK-2zp7y2dpbvgw;rport
From: \"Reception \\\"Front\\\" Desk\" <sip:201@pbx.example.com>;tag=pq8ls2nf4t
To: \"Reception \\\"Front\\\" Desk\" <sip:201@pbx.example.com>
Call-ID: 3c26700a9d13-3fqg6x2hyrcb
CSeq: 1 REGISTER
Max-Forwards: 70
User-Agent: snomD785/10.1.141.13
Supported: path, gruu
Contact: <sip:201@192.168.10.55:2048;line=ahk2sx0b>;reg-id=1;q=1.0;+sip.instance=\"<urn:uuid:b9d6a0c2-1f62-4d0c-8e3d-000413a1b2c3>\";audio;mobility=\"fixed\";duplex=\"full\";description=\"snom D785\";actor=\"principal\";events=\"dialog\";methods=\"INVITE,ACK,CANCEL,BYE,REFER,OPTIONS,NOTIFY,SUBSCRIBE,PRACK,MESSAGE,INFO,UPDATE\"
Allow-Events: dialog
Expires: 3600
Content-Length: 0

";

const YEALINK: &str = "REGISTER sip:pbx.example.com:5060 SIP/2.0
Via: SIP/2.0/UDP 192.168.0.101:5062;branch=z9hG4bK1869402436
From: \"Yealink 202\" <sip:202@pbx.example.com:5060>;tag=2129839571
To: \"Yealink 202\" <sip:202@pbx.example.com:5060>
Call-ID: 1474305538@192.168.0.101
CSeq: 2 REGISTER
Contact: <sip:202@192.168.0.101:5062>
Authorization: Digest username=\"202\", realm=\"pbx.example.com\", nonce=\"00000000661e5c4b7d3f9a1b2c4e6f80a1b2c3d4e5f60718293a4b5c6d7e8f90\", uri=\"sip:pbx.example.com:5060\", response=\"0c7a8b3b7c5e4f1d2a9b8c7d6e5f4a3b\", algorithm=MD5, cnonce=\"9b2c\", qop=auth, nc=00000001
Max-Forwards: 70
User-Agent: Yealink SIP-T46U 108.86.0.20
Expires: 3600
Allow: INVITE, INFO, PRACK, ACK, BYE, CANCEL, OPTIONS, NOTIFY, REGISTER, SUBSCRIBE, REFER, PUBLISH, UPDATE, MESSAGE
Allow-Events: talk,hold,conference,refer,check-sync
Content-Length: 0

";

/// Compact header names and a Contact folded over two lines, Zoiper's `rinstance`.
const FOLDED_COMPACT: &str = "REGISTER sip:pbx.example.com;transport=UDP SIP/2.0
v: SIP/2.0/UDP 10.0.0.3:52414;branch=z9hG4bK-524287-1---a5c1e3b7f9d2e4c6;rport
Max-Forwards: 70
m: <sip:203@10.0.0.3:52414;rinstance=3c0e0e5c2f5a1b7d;transport=UDP>
 ;expires=1800
t: <sip:203@pbx.example.com;transport=UDP>
f: \"Zoiper\" <sip:203@pbx.example.com;transport=UDP>;tag=d8a2f1c4
i: ZjA1YTk4NzE0MmQ1ZTI5ZDg0NzA3YjQ2MjBhNGU1NDg
CSeq: 1 REGISTER
Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE
User-Agent: Z 5.6.1 v2.10.19.9
Allow-Events: presence, kpml, talk
l: 0

";

/// A REGISTER that crossed a proxy (two Vias), with two contacts on one line.
const VIA_PROXY: &str = "REGISTER sip:pbx.example.com SIP/2.0
Via: SIP/2.0/TCP proxy.example.com:5060;branch=z9hG4bK.proxy.1;received=198.51.100.2
Via: SIP/2.0/UDP 172.16.0.9:5060;branch=z9hG4bK.phone.1;rport=5060;received=203.0.113.50
Max-Forwards: 69
From: Desk Phone <sip:204@pbx.example.com>;tag=77aa
To: Desk Phone <sip:204@pbx.example.com>
Call-ID: 00aa11bb22cc@172.16.0.9
CSeq: 9 REGISTER
Contact: <sip:204@172.16.0.9:5060>;q=0.8, \"Desk, second line\" <sip:204@172.16.0.9:5061>;q=0.2;expires=120
Expires: 300
Content-Length: 0

";

struct Expected {
    aor: &'static str,
    contacts: usize,
    first_contact: &'static str,
    expires: [u64; 2],
}

#[test]
fn phones_registers_parse_print_back_and_register() {
    let cases = [
        (
            BARESIP,
            Expected {
                aor: "200@pbx.example.com",
                contacts: 1,
                first_contact: "sip:200-0x55d1c3b2a0@192.168.1.23:5060",
                expires: [3600, 0],
            },
        ),
        (
            LINPHONE,
            Expected {
                aor: "alice@sip.example.org",
                contacts: 1,
                first_contact: "sip:alice@10.0.0.12:48731;transport=tcp",
                expires: [600, 0],
            },
        ),
        (
            SNOM,
            Expected {
                aor: "201@pbx.example.com",
                contacts: 1,
                first_contact: "sip:201@192.168.10.55:2048;line=ahk2sx0b",
                expires: [3600, 0],
            },
        ),
        (
            YEALINK,
            Expected {
                aor: "202@pbx.example.com",
                contacts: 1,
                first_contact: "sip:202@192.168.0.101:5062",
                expires: [3600, 0],
            },
        ),
        (
            FOLDED_COMPACT,
            Expected {
                aor: "203@pbx.example.com",
                contacts: 1,
                first_contact: "sip:203@10.0.0.3:52414;rinstance=3c0e0e5c2f5a1b7d;transport=UDP",
                expires: [1800, 0],
            },
        ),
        (
            VIA_PROXY,
            Expected {
                aor: "204@pbx.example.com",
                contacts: 2,
                first_contact: "sip:204@172.16.0.9:5060",
                expires: [300, 120],
            },
        ),
    ];
    for (text, expected) in cases {
        let request = parse_request(&crlf(text));
        let aor = expected.aor;
        assert_eq!(request.method, Method::Register, "{aor}");
        let to = request.headers.to().unwrap();
        let to_uri = to.uri.as_sip().unwrap();
        assert_eq!(to_uri.address_of_record().as_deref(), Some(aor));
        assert!(request.headers.from().unwrap().tag().is_some(), "{aor}");
        assert!(
            request.headers.top_via().unwrap().branch().is_some(),
            "{aor}"
        );
        assert!(request.headers.cseq().is_ok(), "{aor}");
        let Contacts::List(contacts) = request.headers.contacts().unwrap() else {
            panic!("{aor}: no wildcard here")
        };
        assert_eq!(contacts.len(), expected.contacts, "{aor}");
        assert_eq!(contacts[0].uri.to_string(), expected.first_contact);

        // Printing and parsing again gives the same message.
        let printed = request.to_bytes();
        assert_eq!(parse_request(&printed), request, "{aor}");
        assert_eq!(parse_request(&printed).to_bytes(), printed, "{aor}");

        let mut registrar = Registrar::new(RegistrarConfig::default());
        let done = registrar.register(&request, None, 10_000);
        assert_eq!(
            done.response.status,
            StatusCode::OK,
            "{aor}: {}",
            done.response.reason
        );
        assert!(
            done.changes
                .iter()
                .all(|c| c.kind == ChangeKind::Added && c.aor == aor)
        );
        let bindings = registrar.bindings(aor);
        assert_eq!(bindings.len(), expected.contacts, "{aor}");
        for (binding, expires) in bindings.iter().zip(expected.expires) {
            assert_eq!(binding.remaining(10_000), expires, "{aor}");
        }
    }
}

#[test]
fn phone_specific_details_survive() {
    let baresip = parse_request(&crlf(BARESIP));
    assert_eq!(baresip.headers.get_all("Allow").count(), 10);
    assert_eq!(
        baresip.headers.user_agent(),
        Some("baresip v2.9.0 (x86_64/linux)")
    );
    assert_eq!(baresip.headers.top_via().unwrap().rport(), Some(None));

    let linphone = parse_request(&crlf(LINPHONE));
    let Contacts::List(contacts) = linphone.headers.contacts().unwrap() else {
        panic!()
    };
    // The comma inside the quoted parameter does not split the Contact.
    assert_eq!(
        contacts[0]
            .params
            .unquoted("+org.linphone.specs")
            .as_deref(),
        Some("lime,groupchat/1.1,ephemeral")
    );
    assert_eq!(linphone.headers.top_via().unwrap().transport, "TCP");
    assert_eq!(linphone.headers.get_all("Supported").count(), 4);
    assert_eq!(linphone.headers.get_all("Accept").count(), 2);
    assert_eq!(linphone.headers.expires(), Ok(Some(600)));

    let snom = parse_request(&crlf(SNOM));
    let from = snom.headers.from().unwrap();
    assert_eq!(
        from.display_name.as_deref(),
        Some("Reception \"Front\" Desk")
    );
    let Contacts::List(contacts) = snom.headers.contacts().unwrap() else {
        panic!()
    };
    assert_eq!(contacts[0].params.get("audio"), Some(None));
    assert_eq!(contacts[0].params.value("q"), Some("1.0"));
    let mut registrar = Registrar::new(RegistrarConfig::default());
    registrar.register(&snom, None, 0);
    assert_eq!(
        registrar.bindings("201@pbx.example.com")[0]
            .instance
            .as_deref(),
        Some("<urn:uuid:b9d6a0c2-1f62-4d0c-8e3d-000413a1b2c3>")
    );

    let yealink = parse_request(&crlf(YEALINK));
    let credentials = yealink.headers.authorization().unwrap().unwrap();
    assert_eq!(credentials.username, "202");
    assert_eq!(credentials.uri, "sip:pbx.example.com:5060");
    assert_eq!(credentials.qop.as_deref(), Some("auth"));
    assert_eq!(credentials.nc.as_deref(), Some("00000001"));
    assert_eq!(yealink.uri.to_string(), "sip:pbx.example.com:5060");

    let zoiper = parse_request(&crlf(FOLDED_COMPACT));
    let contact = zoiper.headers.get("Contact").unwrap();
    assert_eq!(
        contact,
        "<sip:203@10.0.0.3:52414;rinstance=3c0e0e5c2f5a1b7d;transport=UDP> ;expires=1800"
    );
    assert_eq!(
        zoiper.headers.call_id(),
        Ok("ZjA1YTk4NzE0MmQ1ZTI5ZDg0NzA3YjQ2MjBhNGU1NDg")
    );

    let proxied = parse_request(&crlf(VIA_PROXY));
    let vias = proxied.headers.vias().unwrap();
    assert_eq!(vias.len(), 2);
    assert_eq!(vias[1].response_target(), ("203.0.113.50".to_owned(), 5060));
    let Contacts::List(contacts) = proxied.headers.contacts().unwrap() else {
        panic!()
    };
    assert_eq!(
        contacts[1].display_name.as_deref(),
        Some("Desk, second line")
    );
    assert_eq!(proxied.headers.max_forwards(), Ok(Some(69)));
}

#[test]
fn the_registrar_answers_with_every_binding_and_the_request_headers() {
    let request = parse_request(&crlf(VIA_PROXY));
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let done = registrar.register(&request, None, 0);
    let printed = String::from_utf8(done.response.to_bytes().to_vec()).unwrap();
    let lines: Vec<&str> = printed.split("\r\n").collect();
    assert_eq!(lines[0], "SIP/2.0 200 OK");
    assert_eq!(
        lines[1],
        "Via: SIP/2.0/TCP proxy.example.com:5060;branch=z9hG4bK.proxy.1;received=198.51.100.2"
    );
    assert!(lines[2].starts_with("Via: SIP/2.0/UDP 172.16.0.9:5060;branch=z9hG4bK.phone.1"));
    assert_eq!(
        lines[3],
        "From: Desk Phone <sip:204@pbx.example.com>;tag=77aa"
    );
    assert!(lines[4].starts_with("To: \"Desk Phone\" <sip:204@pbx.example.com>;tag="));
    assert_eq!(lines[5], "Call-ID: 00aa11bb22cc@172.16.0.9");
    assert_eq!(lines[6], "CSeq: 9 REGISTER");
    assert_eq!(
        lines[7],
        "Contact: <sip:204@172.16.0.9:5060>;q=0.8;expires=300"
    );
    assert_eq!(
        lines[8],
        "Contact: \"Desk, second line\" <sip:204@172.16.0.9:5061>;q=0.2;expires=120"
    );
    assert_eq!(&lines[9..], ["Content-Length: 0", "", ""]);
}
