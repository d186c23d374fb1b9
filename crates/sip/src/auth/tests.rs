use super::*;
use crate::message::{Method, Request};
use crate::uri::Uri;

fn get() -> Method {
    Method::Other("GET".into())
}

#[test]
fn rfc_2617_section_3_5_example() {
    let challenge = Challenge::parse(
        r#"Digest realm="testrealm@host.com", qop="auth,auth-int",
           nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#
            .replace('\n', " ")
            .as_str(),
    )
    .unwrap();
    assert_eq!(challenge.qop, ["auth", "auth-int"]);
    let credentials = Credentials::answer(
        &challenge,
        "Mufasa",
        "Circle Of Life",
        &get(),
        "/dir/index.html",
        "0a4f113b",
        1,
    );
    assert_eq!(credentials.response, "6629fae49393a05397450978507c4ef1");
    assert_eq!(credentials.nc.as_deref(), Some("00000001"));
    assert_eq!(
        credentials.to_string(),
        "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", \
         nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", \
         response=\"6629fae49393a05397450978507c4ef1\", cnonce=\"0a4f113b\", \
         opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", algorithm=MD5, qop=auth, nc=00000001"
    );
}

#[test]
fn rfc_7616_section_3_9_1_examples_md5_and_sha_256() {
    for (algorithm, expected) in [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        (
            "SHA-256",
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        ),
    ] {
        let challenge = Challenge::parse(&format!(
            "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", \
             algorithm={algorithm}, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
             opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
        ))
        .unwrap();
        let credentials = Credentials::answer(
            &challenge,
            "Mufasa",
            "Circle of Life",
            &get(),
            "/dir/index.html",
            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            1,
        );
        assert_eq!(credentials.response, expected, "{algorithm}");
        assert_eq!(
            Credentials::parse(&credentials.to_string()),
            Ok(credentials)
        );
    }
}

#[test]
fn headers_parse_and_print_back() {
    let challenge = Challenge {
        realm: "pbx \"one\"".into(),
        nonce: "abc".into(),
        algorithm: Algorithm::Sha256Sess,
        qop: vec!["auth".into()],
        opaque: Some("o".into()),
        stale: true,
    };
    let text = challenge.to_string();
    assert_eq!(
        text,
        r#"Digest realm="pbx \"one\"", nonce="abc", algorithm=SHA-256-sess, qop="auth", opaque="o", stale=true"#
    );
    assert_eq!(Challenge::parse(&text), Ok(challenge));
    // Tolerant of case, spacing, unquoted tokens and RFC 2069 challenges.
    let old = Challenge::parse("digest  REALM = x ,nonce=y,stale=TRUE,,").unwrap();
    assert_eq!(
        (old.algorithm, old.qop.len(), old.stale),
        (Algorithm::Md5, 0, true)
    );
    for bad in [
        "Basic realm=\"x\"",
        "Digest nonce=\"y\"",
        "Digest realm=\"x\", nonce=\"y\", algorithm=SHA-512",
        "Digest realm=\"x, nonce=\"y\"",
        "Digest realm",
        "Digest realm=, nonce=y",
        "Digest re alm=x, nonce=y",
    ] {
        assert!(Challenge::parse(bad).is_err(), "{bad}");
    }
    let missing = Credentials::parse("Digest username=\"a\", realm=\"b\", nonce=\"c\", uri=\"d\"");
    assert_eq!(missing, Err("the response is missing"));
}

fn register(uri: &str) -> Request {
    Request::new(Method::Register, Uri::parse(uri).unwrap())
}

const SECRET: &[u8] = b"a server secret of thirty-two by";

#[test]
fn server_verifies_its_own_challenges() {
    let server = DigestServer::new(SECRET).with_nonce_lifetime(60);
    let request = register("sip:example.com");
    let challenge = server.challenge("example.com", Algorithm::Md5, 1_000, false);
    let answer = |password: &str, uri: &str| {
        Credentials::answer(&challenge, "200", password, &Method::Register, uri, "c1", 1)
    };
    let good = answer("secret", "sip:example.com");
    let password = Secret::Password("secret");
    assert_eq!(
        server.verify(&request, &good, "example.com", password, 1_030),
        Ok(())
    );
    let stored = ha1(Algorithm::Md5, "200", "example.com", "secret");
    assert_eq!(
        server.verify(&request, &good, "example.com", Secret::Ha1(&stored), 1_030),
        Ok(())
    );
    // An equivalent spelling of the Request-URI is accepted.
    let spelled = answer("secret", "SIP:EXAMPLE.com");
    assert_eq!(
        server.verify(&request, &spelled, "example.com", password, 1_000),
        Ok(())
    );

    let refusals = [
        (
            answer("wrong", "sip:example.com"),
            1_030,
            "sip_auth_wrong_response",
        ),
        (good.clone(), 1_061, "sip_auth_stale_nonce"),
        (
            answer("wrong", "sip:example.com"),
            1_061,
            "sip_auth_wrong_response",
        ),
        (
            answer("secret", "sip:other.com"),
            1_000,
            "sip_auth_uri_mismatch",
        ),
        (
            Credentials {
                realm: "other.com".into(),
                ..good.clone()
            },
            1_000,
            "sip_auth_wrong_realm",
        ),
        (
            Credentials {
                nonce: format!(
                    "{}{}",
                    &good.nonce[..63],
                    if good.nonce.ends_with('0') { '1' } else { '0' }
                ),
                ..good.clone()
            },
            1_000,
            "sip_auth_unknown_nonce",
        ),
        (
            Credentials {
                qop: Some("auth-int".into()),
                ..good.clone()
            },
            1_000,
            "sip_auth_unsupported_qop",
        ),
        (
            Credentials {
                nc: None,
                ..good.clone()
            },
            1_000,
            "sip_auth_missing_parameter",
        ),
    ];
    for (credentials, now, code) in refusals {
        let error = server
            .verify(&request, &credentials, "example.com", password, now)
            .unwrap_err();
        assert_eq!(error.code(), code, "{error}");
    }
}

#[test]
fn a_digest_uri_may_name_the_servers_own_address_but_no_other() {
    let server = DigestServer::new(SECRET);
    let request = register("sip:example.com");
    let peer = "192.0.2.7";
    let challenge = server.challenge_for("example.com", peer, Algorithm::Md5, 1_000, false);
    let own_ips: [std::net::IpAddr; 2] = [
        "203.0.113.5".parse().unwrap(),
        "2001:db8::5".parse().unwrap(),
    ];
    let own = |ip: std::net::IpAddr, port: u16| port == 5060 && own_ips.contains(&ip);
    let addressing = Addressing {
        peer,
        own_address: &own,
    };
    let verify = |uri: &str, password: &str| {
        let credentials =
            Credentials::answer(&challenge, "200", password, &Method::Register, uri, "c1", 1);
        server.verify_addressed(
            &request,
            &credentials,
            "example.com",
            addressing,
            Secret::Password("secret"),
            1_000,
        )
    };
    for accepted in [
        "sip:example.com",
        "sip:203.0.113.5",
        "sip:203.0.113.5:5060",
        "sip:200@203.0.113.5;transport=udp",
        "sip:[2001:db8::5]:5060",
    ] {
        assert_eq!(verify(accepted, "secret"), Ok(()), "{accepted}");
    }
    // The answer still has to be right for the uri it names.
    assert_eq!(
        verify("sip:203.0.113.5", "wrong"),
        Err(AuthError::WrongResponse)
    );
    for refused in [
        "sip:203.0.113.6",
        "sip:203.0.113.5:5070",
        "sips:203.0.113.5",
        "sip:registrar.example.net",
        "tel:+203.0.113.5",
        "sip:[2001:db8::6]",
    ] {
        assert_eq!(
            verify(refused, "secret").map_err(|error| error.code()),
            Err("sip_auth_uri_mismatch"),
            "{refused}"
        );
    }
    // Without the addressing (plain `verify`), only the Request-URI counts.
    let credentials = Credentials::answer(
        &server.challenge("example.com", Algorithm::Md5, 1_000, false),
        "200",
        "secret",
        &Method::Register,
        "sip:203.0.113.5",
        "c1",
        1,
    );
    assert_eq!(
        server
            .verify(
                &request,
                &credentials,
                "example.com",
                Secret::Password("secret"),
                1_000
            )
            .map_err(|error| error.code()),
        Err("sip_auth_uri_mismatch")
    );
}

#[test]
fn every_algorithm_and_the_rfc_2069_form_verify() {
    let server = DigestServer::new(SECRET);
    let request = register("sip:pbx.example.com;transport=tcp");
    for algorithm in [
        Algorithm::Md5,
        Algorithm::Md5Sess,
        Algorithm::Sha256,
        Algorithm::Sha256Sess,
    ] {
        for qop in [vec!["auth".to_owned()], vec![]] {
            let challenge = Challenge {
                qop,
                ..server.challenge("pbx.example.com", algorithm, 5, false)
            };
            let credentials = Credentials::answer(
                &challenge,
                "alice",
                "pw",
                &Method::Register,
                "sip:pbx.example.com;transport=tcp",
                "xyz",
                7,
            );
            let upper = Credentials {
                response: credentials.response.to_ascii_uppercase(),
                ..credentials
            };
            assert_eq!(
                server.verify(
                    &request,
                    &upper,
                    "pbx.example.com",
                    Secret::Password("pw"),
                    6
                ),
                Ok(()),
                "{algorithm:?} {:?}",
                challenge.qop
            );
        }
    }
}

#[test]
fn unauthorized_offers_each_algorithm() {
    let server = DigestServer::new(SECRET).with_algorithms(&[Algorithm::Sha256, Algorithm::Md5]);
    let mut request = register("sip:example.com");
    request.headers.push("To", "<sip:200@example.com>");
    let response = server.unauthorized(&request, "example.com", 10, true);
    assert_eq!(response.status.as_u16(), 401);
    let challenges: Vec<_> = response
        .headers
        .get_all("WWW-Authenticate")
        .map(|value| Challenge::parse(value).unwrap())
        .collect();
    assert_eq!(challenges.len(), 2);
    assert_eq!(challenges[0].algorithm, Algorithm::Sha256);
    assert!(challenges.iter().all(|c| c.stale && c.qop == ["auth"]));
    assert_eq!(
        response.headers.www_authenticate().unwrap(),
        Some(challenges[0].clone())
    );
    assert_eq!(Algorithm::parse("md5-SESS"), Some(Algorithm::Md5Sess));
    assert_eq!(Algorithm::parse("SHA-512-256"), None);
}
