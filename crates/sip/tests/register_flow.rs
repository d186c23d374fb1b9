//! The REGISTER flow end to end, as the server's SIP listener runs it: 401 with a
//! challenge, an authorized retry, a stale nonce on re-registration, a wrong password,
//! and unregistration. Every message crosses the "wire" as bytes.

use sip::{
    AuthError, Challenge, ChangeKind, Credentials, DigestServer, Limits, Message, Method,
    Registrar, RegistrarConfig, Request, Response, Secret, StatusCode, parse_datagram,
};

const REALM: &str = "pbx.example";
const PASSWORD: &str = "s3cret-200";

/// The server side: what the SIP listener does with a REGISTER.
struct Server {
    digest: DigestServer,
    registrar: Registrar,
}

impl Server {
    fn new() -> Server {
        Server {
            digest: DigestServer::new(b"0123456789abcdef0123456789abcdef").with_nonce_lifetime(300),
            registrar: Registrar::new(RegistrarConfig::default()),
        }
    }

    fn handle(&mut self, bytes: &[u8], now: u64) -> (Vec<u8>, Vec<ChangeKind>) {
        let Ok(Some(Message::Request(mut request))) = parse_datagram(bytes, &Limits::default())
        else {
            panic!("not a request")
        };
        request
            .record_source("203.0.113.5:41000".parse().unwrap())
            .unwrap();
        let credentials = match request.headers.authorization() {
            Ok(Some(credentials)) if credentials.username == "200" => credentials,
            _ => {
                return (
                    self.digest
                        .unauthorized(&request, REALM, now, false)
                        .to_bytes()
                        .to_vec(),
                    vec![],
                );
            }
        };
        match self.digest.verify(
            &request,
            &credentials,
            REALM,
            Secret::Password(PASSWORD),
            now,
        ) {
            Ok(()) => {}
            Err(AuthError::StaleNonce) => {
                let response = self.digest.unauthorized(&request, REALM, now, true);
                return (response.to_bytes().to_vec(), vec![]);
            }
            Err(_) => {
                let response = self.digest.unauthorized(&request, REALM, now, false);
                return (response.to_bytes().to_vec(), vec![]);
            }
        }
        let source = "203.0.113.5:41000".parse().ok();
        let done = self.registrar.register(&request, source, now);
        let kinds = done.changes.iter().map(|change| change.kind).collect();
        (done.response.to_bytes().to_vec(), kinds)
    }
}

/// The handset side: builds REGISTERs and answers challenges.
struct Phone {
    password: &'static str,
    cseq: u32,
    challenge: Option<Challenge>,
    nc: u32,
}

impl Phone {
    fn register(&mut self, expires: u32) -> Vec<u8> {
        self.cseq += 1;
        let uri = "sip:pbx.example".parse().unwrap();
        let mut request = Request::new(Method::Register, uri);
        let headers = &mut request.headers;
        headers.push(
            "Via",
            format!(
                "SIP/2.0/UDP 10.0.0.5:5060;branch={};rport",
                sip::new_branch()
            ),
        );
        headers.push("Max-Forwards", "70");
        headers.push("From", "\"Desk 200\" <sip:200@pbx.example>;tag=phone-tag");
        headers.push("To", "\"Desk 200\" <sip:200@pbx.example>");
        headers.push("Call-ID", "reg-call-1@10.0.0.5");
        headers.push("CSeq", format!("{} REGISTER", self.cseq));
        headers.push("Contact", "<sip:200@10.0.0.5:5060>");
        headers.push("Expires", expires.to_string());
        if let Some(challenge) = &self.challenge {
            self.nc += 1;
            let credentials = Credentials::answer(
                challenge,
                "200",
                self.password,
                &Method::Register,
                "sip:pbx.example",
                &sip::new_tag(),
                self.nc,
            );
            request
                .headers
                .push("Authorization", credentials.to_string());
        }
        request.to_bytes().to_vec()
    }

    fn receive(&mut self, bytes: &[u8]) -> Response {
        let Ok(Some(Message::Response(response))) = parse_datagram(bytes, &Limits::default())
        else {
            panic!("not a response")
        };
        if response.status == StatusCode::UNAUTHORIZED {
            self.challenge = response.headers.www_authenticate().unwrap();
            self.nc = 0;
        }
        response
    }
}

#[test]
fn challenge_then_register_then_refresh_with_stale_nonce_then_unregister() {
    let mut server = Server::new();
    let mut phone = Phone {
        password: PASSWORD,
        cseq: 0,
        challenge: None,
        nc: 0,
    };

    // 1. No credentials: 401 with a fresh challenge.
    let (bytes, changes) = server.handle(&phone.register(3600), 1_000);
    let response = phone.receive(&bytes);
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert!(changes.is_empty());
    let via = response.headers.top_via().unwrap();
    assert_eq!(via.response_target(), ("203.0.113.5".to_owned(), 41000));
    let challenge = phone.challenge.clone().unwrap();
    assert_eq!((challenge.realm.as_str(), challenge.stale), (REALM, false));
    assert_eq!(challenge.qop, ["auth"]);

    // 2. Authorized retry: 200 with the binding.
    let (bytes, changes) = server.handle(&phone.register(3600), 1_001);
    let response = phone.receive(&bytes);
    assert_eq!(response.status, StatusCode::OK, "{}", response.reason);
    assert_eq!(changes, [ChangeKind::Added]);
    assert_eq!(
        response.headers.get("Contact"),
        Some("<sip:200@10.0.0.5:5060>;expires=3600")
    );
    let binding = &server.registrar.bindings("200@pbx.example")[0];
    assert_eq!(binding.source, "203.0.113.5:41000".parse().ok());

    // 3. The phone reuses the nonce (nc=2) within its lifetime: accepted, refreshed.
    let (bytes, changes) = server.handle(&phone.register(3600), 1_200);
    assert_eq!(phone.receive(&bytes).status, StatusCode::OK);
    assert_eq!(changes, [ChangeKind::Refreshed]);

    // 4. Much later the nonce is stale: 401 stale=true, and the retry succeeds.
    let (bytes, _) = server.handle(&phone.register(3600), 3_000);
    let response = phone.receive(&bytes);
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert!(phone.challenge.as_ref().unwrap().stale);
    let (bytes, changes) = server.handle(&phone.register(3600), 3_001);
    assert_eq!(phone.receive(&bytes).status, StatusCode::OK);
    assert_eq!(changes, [ChangeKind::Refreshed]);

    // 5. Unregister.
    let (bytes, changes) = server.handle(&phone.register(0), 3_002);
    assert_eq!(phone.receive(&bytes).status, StatusCode::OK);
    assert_eq!(changes, [ChangeKind::Removed]);
    assert!(server.registrar.bindings("200@pbx.example").is_empty());
}

#[test]
fn a_wrong_password_never_registers() {
    let mut server = Server::new();
    let mut phone = Phone {
        password: "guess",
        cseq: 0,
        challenge: None,
        nc: 0,
    };
    for _ in 0..3 {
        let (bytes, changes) = server.handle(&phone.register(3600), 1_000);
        let response = phone.receive(&bytes);
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert!(!phone.challenge.as_ref().unwrap().stale);
        assert!(changes.is_empty());
    }
    assert_eq!(server.registrar.aors().count(), 0);
}
