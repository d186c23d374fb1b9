use super::*;

fn parse(bytes: &[u8]) -> Message {
    parse_datagram(bytes, &Limits::default())
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("a message")
}

fn error(bytes: &[u8], limits: &Limits) -> &'static str {
    parse_datagram(bytes, limits).unwrap_err().code()
}

#[test]
fn parses_a_request_with_compact_folded_and_list_headers() {
    let message = parse(
        b"\r\nINVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
          v: SIP/2.0/TCP client.atlanta.example.com:5060\r\n \
          ;branch=z9hG4bK74b43, SIP/2.0/UDP proxy.example;branch=z9hG4bK1\r\n\
          MAX-FORWARDS : 70\r\n\
          f: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
          t: Bob <sip:bob@biloxi.example.com>\r\n\
          i: 3848276298220188511@atlanta.example.com\r\n\
          CSeq: 1 INVITE\r\n\
          Subject:\r\n\
          c: application/csta+xml\r\n\
          l: 5\r\n\r\nhello+ignored",
    );
    let Message::Request(request) = message else {
        panic!("a request")
    };
    assert_eq!(request.method, Method::Invite);
    assert_eq!(request.uri.to_string(), "sip:bob@biloxi.example.com");
    let vias = request.headers.vias().unwrap();
    assert_eq!(vias.len(), 2);
    assert_eq!(vias[0].branch(), Some("z9hG4bK74b43"));
    assert_eq!(request.headers.max_forwards(), Ok(Some(70)));
    assert_eq!(request.headers.get("Subject"), Some(""));
    assert_eq!(request.headers.get("Content-Length"), None);
    assert_eq!(request.body, "hello");
    let names: Vec<_> = request.headers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Via",
            "Via",
            "Max-Forwards",
            "From",
            "To",
            "Call-ID",
            "CSeq",
            "Subject",
            "Content-Type"
        ]
    );
}

#[test]
fn parses_responses_and_bare_line_feeds() {
    let Message::Response(response) = parse(b"SIP/2.0 180 Ringing\nCall-ID: a\n\n") else {
        panic!("a response")
    };
    assert_eq!(response.status, StatusCode::RINGING);
    assert_eq!(response.reason, "Ringing");
    assert!(response.body.is_empty());
    let Message::Response(response) = parse(b"sip/2.0 499\r\n\r\n") else {
        panic!("a response")
    };
    assert_eq!(
        (response.status.as_u16(), response.reason.as_str()),
        (499, "")
    );
    // Without Content-Length a datagram's body is the rest of the packet.
    assert_eq!(parse(b"SIP/2.0 200 Very OK\r\n\r\nbody").body(), "body");
}

#[test]
fn keepalives_are_not_messages() {
    for keepalive in [&b""[..], b"\r\n", b"\r\n\r\n", b"\n\n\n"] {
        assert_eq!(parse_datagram(keepalive, &Limits::default()), Ok(None));
    }
}

#[test]
fn refuses_malformed_messages_with_a_code() {
    let limits = Limits::default();
    let cases: [(&[u8], &str); 19] = [
        (b"SIP/2.0 200 O\rK\r\n\r\n", "sip_bad_start_line"),
        (b"SIP/2.0 200 OK\r\nTo: a\rb\r\n\r\n", "sip_bad_header"),
        (
            b"INVITE sip:a@b SIP/2.0\r\nTo: x\r\n",
            "sip_unterminated_head",
        ),
        (b"INVITE sip:a@b SIP/3.0\r\n\r\n", "sip_bad_start_line"),
        (b"INVITE  sip:a@b SIP/2.0\r\n\r\n", "sip_bad_start_line"),
        (b"INVITE sip:a@b\r\n\r\n", "sip_bad_start_line"),
        (b"IN(VITE sip:a@b SIP/2.0\r\n\r\n", "sip_bad_start_line"),
        (b"INVITE <sip:a@b> SIP/2.0\r\n\r\n", "sip_bad_start_line"),
        (b"SIP/2.0 20 OK\r\n\r\n", "sip_bad_start_line"),
        (b"SIP/2.0 700 Beyond\r\n\r\n", "sip_bad_start_line"),
        (b"SIP/2.0200 OK\r\n\r\n", "sip_bad_start_line"),
        (b"SIP/2.0 200 OK\r\n folded first\r\n\r\n", "sip_bad_header"),
        (b"SIP/2.0 200 OK\r\nNo colon\r\n\r\n", "sip_bad_header"),
        (b"SIP/2.0 200 OK\r\nBad name: x\r\n\r\n", "sip_bad_header"),
        (
            b"SIP/2.0 200 OK\r\nl: ten\r\n\r\n",
            "sip_bad_content_length",
        ),
        (
            b"SIP/2.0 200 OK\r\nl: 1\r\nl: 2\r\n\r\nab",
            "sip_bad_content_length",
        ),
        (b"SIP/2.0 200 OK\r\nl: 9\r\n\r\nshort", "sip_truncated_body"),
        (b"SIP/2.0 200 OK\r\nTo: \xff\r\n\r\n", "sip_invalid_utf8"),
        (b"SIP/2.0 200 OK\r\nTo: a\r\n\r\n", "ok"),
    ];
    for (bytes, code) in cases {
        match parse_datagram(bytes, &limits) {
            Ok(_) => assert_eq!(code, "ok", "{}", String::from_utf8_lossy(bytes)),
            Err(e) => assert_eq!(e.code(), code, "{}", String::from_utf8_lossy(bytes)),
        }
    }
}

#[test]
fn enforces_the_limits() {
    let small = Limits {
        max_message: 100,
        max_headers: 3,
        max_line: 30,
    };
    let big = format!("SIP/2.0 200 OK\r\n\r\n{}", "x".repeat(100));
    assert_eq!(error(big.as_bytes(), &small), "sip_message_too_large");
    let long = format!("SIP/2.0 200 OK\r\nSubject: {}\r\n\r\n", "y".repeat(30));
    assert_eq!(error(long.as_bytes(), &small), "sip_line_too_long");
    let folded = "SIP/2.0 200 OK\r\nSubject: 0123456789\r\n 0123456789\r\n 0123456789\r\n\r\n";
    assert_eq!(error(folded.as_bytes(), &small), "sip_line_too_long");
    let start = format!("SIP/2.0 200 {}\r\n\r\n", "z".repeat(30));
    assert_eq!(error(start.as_bytes(), &small), "sip_line_too_long");
    let many = "SIP/2.0 200 OK\r\nAllow: A, B\r\nAllow: C, D\r\n\r\n";
    assert_eq!(error(many.as_bytes(), &small), "sip_too_many_headers");
    let three = "SIP/2.0 200 OK\r\nAllow: A, B\r\nAllow: C\r\n\r\n";
    assert!(parse_datagram(three.as_bytes(), &small).is_ok());
}
