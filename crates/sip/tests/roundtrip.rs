//! Property tests: printing a message and parsing it gives the message back (and the
//! same bytes again); header names parse the same in any case or compact form; URIs
//! round-trip; arbitrary or corrupted bytes never panic the datagram parser or the framer.

use bytes::BytesMut;
use proptest::prelude::*;
use sip::{
    Limits, Message, Method, NameAddr, Param, Params, Request, Response, Scheme, SipUri,
    StatusCode, StreamFramer, StreamItem, Uri, Via, parse_datagram,
};

type Boxed<T> = BoxedStrategy<T>;

fn host() -> Boxed<String> {
    prop_oneof![
        "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z]{2,5}){0,2}",
        any::<std::net::Ipv4Addr>().prop_map(|ip| ip.to_string()),
        any::<std::net::Ipv6Addr>().prop_map(|ip| format!("[{ip}]")),
    ]
    .boxed()
}

fn uri_params() -> Boxed<Params> {
    prop::collection::vec(
        (
            "[a-z][a-z0-9-]{0,6}",
            prop::option::of("[a-zA-Z0-9.!~*'()-]{1,8}"),
        ),
        0..3,
    )
    .prop_map(|params| {
        params
            .into_iter()
            .map(|(name, value)| Param { name, value })
            .collect()
    })
    .boxed()
}

fn sip_uri() -> Boxed<SipUri> {
    let user = "[a-zA-Z0-9_.!~*'()&=+$,;/#-]{1,10}";
    (
        prop_oneof![Just(Scheme::Sip), Just(Scheme::Sips)],
        prop::option::of((user, prop::option::of("[a-zA-Z0-9_.!~*'()&=+$,]{0,6}"))),
        host(),
        prop::option::of(any::<u16>()),
        uri_params(),
        prop::collection::vec(("[a-z]{1,5}", "[a-zA-Z0-9%:@]{0,6}"), 0..2),
    )
        .prop_map(|(scheme, userinfo, host, port, params, headers)| {
            let (user, password) = userinfo.map_or((None, None), |(u, p)| (Some(u), p));
            SipUri {
                scheme,
                user,
                password,
                host,
                port,
                params,
                headers,
            }
        })
        .boxed()
}

fn uri() -> Boxed<Uri> {
    prop_oneof![
        4 => sip_uri().prop_map(Uri::Sip),
        1 => "tel:\\+[0-9]{3,12}".prop_map(Uri::Other),
    ]
    .boxed()
}

fn header_params() -> Boxed<Params> {
    let value = prop_oneof![
        "[a-zA-Z0-9.!%*_+`'~-]{1,8}",
        "\"[a-zA-Z0-9 ,;:<>@=/é]{0,10}\"",
    ];
    prop::collection::vec(("[a-z+][a-z0-9.-]{0,8}", prop::option::of(value)), 0..3)
        .prop_map(|params| {
            params
                .into_iter()
                .map(|(name, value)| Param { name, value })
                .collect()
        })
        .boxed()
}

fn name_addr() -> Boxed<NameAddr> {
    (prop::option::of("[ -~é]{0,12}"), uri(), header_params())
        .prop_map(|(display_name, uri, params)| NameAddr {
            display_name,
            uri,
            params,
        })
        .boxed()
}

fn via() -> Boxed<Via> {
    (
        prop::sample::select(&["UDP", "TCP", "TLS", "WS"][..]),
        host(),
        prop::option::of(any::<u16>()),
        "z9hG4bK[a-zA-Z0-9.-]{1,12}",
        header_params(),
    )
        .prop_map(|(transport, host, port, branch, mut params)| {
            params.set("branch", Some(&branch));
            Via {
                transport: transport.to_owned(),
                host,
                port,
                params,
            }
        })
        .boxed()
}

/// Free text a header may hold: printable, no surrounding spaces.
fn text() -> Boxed<String> {
    "([!-~é]([ -~é]{0,20}[!-~é])?)?".boxed()
}

fn headers() -> Boxed<Vec<(&'static str, String)>> {
    let header = prop_oneof![
        via().prop_map(|v| ("Via", v.to_string())),
        name_addr().prop_map(|a| ("From", a.to_string())),
        name_addr().prop_map(|a| ("To", a.to_string())),
        name_addr().prop_map(|a| ("Contact", a.to_string())),
        "[a-zA-Z0-9.@-]{1,20}".prop_map(|id| ("Call-ID", id)),
        (0u32..1 << 31, method()).prop_map(|(n, m)| ("CSeq", format!("{n} {m}"))),
        any::<u32>().prop_map(|n| ("Expires", n.to_string())),
        "[A-Z]{3,9}".prop_map(|m| ("Allow", m)),
        text().prop_map(|t| ("User-Agent", t)),
        text().prop_map(|t| ("Subject", t)),
        text().prop_map(|t| ("X-Custom", t)),
        Just(("Content-Disposition", "signal;handling=required".to_owned())),
    ];
    prop::collection::vec(header, 0..12).boxed()
}

fn method() -> Boxed<Method> {
    "[A-Za-z]{1,10}"
        .prop_map(|name| Method::parse(&name).unwrap())
        .boxed()
}

fn body() -> Boxed<Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..64).boxed()
}

fn message() -> Boxed<Message> {
    let request = (method(), uri(), headers(), body()).prop_map(|(method, uri, headers, body)| {
        let mut request = Request::new(method, uri);
        for (name, value) in headers {
            request.headers.push(name, value);
        }
        request.body = body.into();
        Message::Request(request)
    });
    let response = (
        100u16..700,
        "([A-Za-z]([A-Za-z ]{0,12}[a-z])?)?",
        headers(),
        body(),
    )
        .prop_map(|(code, reason, headers, body)| {
            let mut response = Response::new(StatusCode::new(code).unwrap());
            response.reason = reason;
            for (name, value) in headers {
                response.headers.push(name, value);
            }
            response.body = body.into();
            Message::Response(response)
        });
    prop_oneof![request, response].boxed()
}

fn parse(bytes: &[u8]) -> Message {
    parse_datagram(bytes, &Limits::default()).unwrap().unwrap()
}

/// Rewrites each header name of `wire` the way `styles` says: lower case, upper case,
/// compact form, or with spaces before the colon.
fn restyle(wire: &[u8], styles: &[u8]) -> Vec<u8> {
    const COMPACT: [(&str, &str); 8] = [
        ("Via", "v"),
        ("From", "f"),
        ("To", "t"),
        ("Call-ID", "i"),
        ("Contact", "m"),
        ("Content-Length", "l"),
        ("Content-Type", "c"),
        ("Subject", "s"),
    ];
    let head_end = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = std::str::from_utf8(&wire[..head_end]).unwrap();
    let mut lines = head.split("\r\n");
    let mut out = lines.next().unwrap().to_owned();
    for (index, line) in lines.enumerate() {
        let (name, value) = line.split_once(": ").unwrap();
        let name = match styles.get(index).copied().unwrap_or(0) % 4 {
            0 => name.to_ascii_lowercase(),
            1 => name.to_ascii_uppercase(),
            2 => COMPACT
                .iter()
                .find(|(long, _)| *long == name)
                .map_or(name.to_owned(), |(_, short)| short.to_string()),
            _ => format!("{name} \t"),
        };
        out.push_str(&format!("\r\n{name}:{value}"));
    }
    out.push_str("\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&wire[head_end + 4..]);
    bytes
}

proptest! {
    #[test]
    fn printed_messages_parse_back(message in message()) {
        let wire = message.to_bytes();
        let parsed = parse(&wire);
        prop_assert_eq!(&parsed, &message);
        prop_assert_eq!(parsed.to_bytes(), wire.clone());

        let mut framer = StreamFramer::new(Limits::default());
        let mut src = BytesMut::from(&wire[..]);
        let framed = framer.decode(&mut src).unwrap();
        prop_assert_eq!(framed, Some(StreamItem::Message(Box::new(message))));
        prop_assert!(src.is_empty());
    }

    #[test]
    fn header_names_parse_the_same_in_any_style(
        message in message(),
        styles in prop::collection::vec(any::<u8>(), 16),
    ) {
        let wire = message.to_bytes();
        prop_assert_eq!(parse(&restyle(&wire, &styles)), message);
    }

    #[test]
    fn uris_round_trip(uri in uri()) {
        let text = uri.to_string();
        let parsed = Uri::parse(&text).unwrap();
        prop_assert!(parsed.matches(&uri));
        prop_assert_eq!(parsed, uri);
    }

    #[test]
    fn name_addrs_and_vias_round_trip(address in name_addr(), via in via()) {
        prop_assert_eq!(NameAddr::parse(&address.to_string()), Ok(address));
        prop_assert_eq!(Via::parse(&via.to_string()), Ok(via));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let limits = Limits { max_message: 1024, max_headers: 16, max_line: 256 };
        if let Ok(Some(message)) = parse_datagram(&bytes, &limits) {
            exercise(&message);
        }
        frame_in_pieces(&bytes, &limits);
    }

    #[test]
    fn corrupted_messages_never_panic(
        message in message(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = message.to_bytes().to_vec();
        for (at, byte) in edits {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        let limits = Limits::default();
        if let Ok(Some(message)) = parse_datagram(&bytes, &limits) {
            exercise(&message);
        }
        frame_in_pieces(&bytes, &limits);
    }
}

/// Calls every typed accessor; errors are fine, panics are not.
fn exercise(message: &Message) {
    let headers = message.headers();
    let _ = (
        headers.vias(),
        headers.from(),
        headers.to(),
        headers.call_id(),
    );
    let _ = (headers.cseq(), headers.contacts(), headers.expires());
    let _ = (headers.authorization(), headers.www_authenticate());
    // Whatever parses prints stably: print(parse(print(m))) == print(m).
    let once = message.to_bytes();
    let twice = parse_datagram(&once, &Limits::default()).map(|m| m.map(|m| m.to_bytes()));
    assert_eq!(twice, Ok(Some(once)));
}

/// Feeds `bytes` to a framer in two pieces until it errs or runs dry.
fn frame_in_pieces(bytes: &[u8], limits: &Limits) {
    let mut framer = StreamFramer::new(*limits);
    let (first, second) = bytes.split_at(bytes.len() / 2);
    let mut src = BytesMut::from(first);
    let mut rest = Some(second);
    loop {
        match framer.decode(&mut src) {
            Ok(Some(StreamItem::Message(message))) => {
                assert!(message.body().len() <= limits.max_message);
                exercise(&message);
            }
            Ok(Some(StreamItem::KeepAlive)) => {}
            Ok(None) => match rest.take() {
                Some(piece) => src.extend_from_slice(piece),
                None => break,
            },
            Err(_) => break,
        }
    }
}
