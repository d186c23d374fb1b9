//! The simulated uaCSTA handset against a small registrar + controller written here with
//! the sip crate, over UDP and TCP.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use csta::{Edition, Message as Csta};
use pbx::handset::{HandsetConfig, RegistrationState, SimHandset, Transport};
use sip::{
    Dialog, DialogSetup, Limits, Message, Method, Request, Response, StatusCode, StreamFramer,
    StreamItem, Uri, parse_datagram,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

const WAIT: Duration = Duration::from_secs(3);

enum Wire {
    Udp(UdpSocket, Option<SocketAddr>),
    Tcp(TcpListener, Option<TcpStream>, BytesMut, Box<StreamFramer>),
}

/// The registrar and controller in one socket, as ucplus is.
struct Controller {
    wire: Wire,
    addr: SocketAddr,
}

impl Controller {
    async fn bind(transport: Transport) -> Controller {
        let wire = match transport {
            Transport::Udp => Wire::Udp(UdpSocket::bind("127.0.0.1:0").await.unwrap(), None),
            Transport::Tcp => Wire::Tcp(
                TcpListener::bind("127.0.0.1:0").await.unwrap(),
                None,
                BytesMut::new(),
                Box::new(StreamFramer::new(Limits::default())),
            ),
        };
        let addr = match &wire {
            Wire::Udp(socket, _) => socket.local_addr().unwrap(),
            Wire::Tcp(listener, ..) => listener.local_addr().unwrap(),
        };
        Controller { wire, addr }
    }

    async fn recv(&mut self) -> Message {
        tokio::time::timeout(WAIT, self.recv_any())
            .await
            .expect("a message from the handset")
    }

    async fn recv_any(&mut self) -> Message {
        match &mut self.wire {
            Wire::Udp(socket, peer) => {
                let mut buffer = vec![0u8; 65536];
                let (length, from) = socket.recv_from(&mut buffer).await.unwrap();
                *peer = Some(from);
                parse_datagram(&buffer[..length], &Limits::default())
                    .unwrap()
                    .unwrap()
            }
            Wire::Tcp(listener, stream, buffer, framer) => loop {
                if stream.is_none() {
                    *stream = Some(listener.accept().await.unwrap().0);
                }
                if let Some(StreamItem::Message(message)) = framer.decode(buffer).unwrap() {
                    return *message;
                }
                let read = stream.as_mut().unwrap().read_buf(buffer).await.unwrap();
                assert!(read > 0, "the handset closed the connection");
            },
        }
    }

    async fn send(&mut self, message: impl Into<Message>) {
        let bytes = message.into().to_bytes();
        match &mut self.wire {
            Wire::Udp(socket, peer) => {
                socket.send_to(&bytes, peer.unwrap()).await.unwrap();
            }
            Wire::Tcp(_, stream, ..) => stream.as_mut().unwrap().write_all(&bytes).await.unwrap(),
        }
    }

    async fn recv_request(&mut self, method: Method) -> Request {
        match self.recv().await {
            Message::Request(request) if request.method == method => request,
            other => panic!("expected {method}, got {other:?}"),
        }
    }

    async fn recv_response(&mut self) -> Response {
        match self.recv().await {
            Message::Response(response) => response,
            other => panic!("expected a response, got {other:?}"),
        }
    }

    /// Sends a CSTA request in an INFO of `dialog`; the decoded CSTA response.
    async fn info(&mut self, dialog: &mut Dialog, xml: &str) -> Csta {
        self.send(dialog.info(xml.to_owned())).await;
        let response = self.recv_response().await;
        assert_eq!(response.status, StatusCode::OK);
        csta::decode(&response.body).unwrap()
    }

    /// The next event INFO, answered 200: the event and its raw XML.
    async fn event(&mut self) -> (Csta, String) {
        let info = self.recv_request(Method::Info).await;
        self.send(Response::for_request(&info, StatusCode::OK))
            .await;
        let xml = String::from_utf8(info.body.to_vec()).unwrap();
        (csta::decode(&info.body).unwrap(), xml)
    }
}

fn ed3(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>{}",
        body.replacen(
            '>',
            " xmlns=\"http://www.ecma-international.org/standards/ecma-323/csta/ed3\">",
            1
        )
    )
}

async fn register(controller: &mut Controller, handset: &SimHandset) -> Request {
    let first = controller.recv_request(Method::Register).await;
    assert!(first.headers.get("Authorization").is_none());
    let mut challenge = Response::for_request(&first, StatusCode::UNAUTHORIZED);
    challenge.headers.set(
        "WWW-Authenticate",
        "Digest realm=\"test.local\", nonce=\"abc123\", qop=\"auth\", algorithm=MD5",
    );
    controller.send(challenge).await;
    let second = controller.recv_request(Method::Register).await;
    let credentials = second.headers.authorization().unwrap().unwrap();
    assert_eq!(credentials.username, "201");
    assert_eq!(credentials.nonce, "abc123");
    assert_eq!(
        second.headers.call_id().unwrap(),
        first.headers.call_id().unwrap()
    );
    let mut ok = Response::for_request(&second, StatusCode::OK);
    ok.headers.set(
        "Contact",
        format!("{};expires=60", second.headers.get("Contact").unwrap()),
    );
    controller.send(ok).await;
    assert!(
        handset
            .wait_registration(WAIT, |s| *s
                == RegistrationState::Registered { expires: 60 })
            .await
    );
    second
}

fn open_dialog(controller: &Controller, handset: &SimHandset, transport: Transport) -> Dialog {
    let handset_addr = handset.local_addr();
    Dialog::new(DialogSetup {
        local_uri: Uri::parse("sip:ucplus@test.local").unwrap(),
        local_contact: Uri::parse(&format!("sip:ucplus@{}", controller.addr)).unwrap(),
        remote_uri: Uri::parse("sip:201@test.local").unwrap(),
        remote_target: Uri::parse(&format!("sip:201@{handset_addr}")).unwrap(),
        transport: format!("{transport:?}").to_uppercase(),
        host: controller.addr.ip().to_string(),
        port: Some(controller.addr.port()),
    })
}

fn names(events: &[(Csta, String)]) -> Vec<&str> {
    events.iter().map(|(event, _)| event.name()).collect()
}

async fn handset_session(transport: Transport) {
    let mut controller = Controller::bind(transport).await;
    let mut config = HandsetConfig::new(controller.addr, "201");
    config.transport = transport;
    config.password = "secret".into();
    config.domain = "test.local".into();
    config.answer_delay = Duration::from_millis(200);
    config.reboot_delay = Duration::from_millis(100);
    let handset = SimHandset::start(config).await.unwrap();
    let registered = register(&mut controller, &handset).await;

    // An INVITE without a CSTA body is refused.
    let mut plain = open_dialog(&controller, &handset, transport);
    let mut invite = plain.invite("v=0");
    invite.set_body("application/sdp", "v=0");
    controller.send(invite).await;
    assert_eq!(controller.recv_response().await.status.as_u16(), 415);

    // INVITE with RequestSystemStatus, answered in ed5; ACK.
    let mut dialog = open_dialog(&controller, &handset, transport);
    controller
        .send(dialog.invite(ed3("<RequestSystemStatus></RequestSystemStatus>")))
        .await;
    let ok = controller.recv_response().await;
    assert_eq!(ok.status, StatusCode::OK);
    let body = String::from_utf8(ok.body.to_vec()).unwrap();
    assert!(
        body.contains("<systemStatus>normal</systemStatus>"),
        "{body}"
    );
    assert_eq!(csta::detect_edition(&ok.body), Some(Edition::Ed5));
    let ack = dialog.on_invite_response(&ok).unwrap().unwrap();
    controller.send(ack).await;

    // MonitorStart.
    let start = ed3(
        "<MonitorStart><monitorObject><deviceObject>201</deviceObject></monitorObject></MonitorStart>",
    );
    let Csta::MonitorStartResponse(started) = controller.info(&mut dialog, &start).await else {
        panic!("no MonitorStartResponse");
    };
    let cross_ref = started.monitor_cross_ref_id.clone();

    // AnswerCall with nothing ringing.
    let answer = ed3(
        "<AnswerCall><callToBeAnswered><callID>9</callID><deviceID>201</deviceID></callToBeAnswered></AnswerCall>",
    );
    let Csta::CstaErrorCode(error) = controller.info(&mut dialog, &answer).await else {
        panic!("AnswerCall without a call must fail");
    };
    assert_eq!(error.value, "invalidCallID");
    let answer_any = ed3(
        "<AnswerCall><callToBeAnswered><deviceID>201</deviceID></callToBeAnswered></AnswerCall>",
    );
    let Csta::CstaErrorCode(error) = controller.info(&mut dialog, &answer_any).await else {
        panic!("AnswerCall without a call must fail");
    };
    assert_eq!(error.value, "noCallToAnswer");

    // An incoming call rings, is answered over CSTA, and hung up at the phone.
    handset.ring_from("300").await.unwrap();
    let (delivered, xml) = controller.event().await;
    assert_eq!(delivered.name(), "DeliveredEvent");
    assert!(xml.contains(&format!(
        "<monitorCrossRefID>{cross_ref}</monitorCrossRefID>"
    )));
    assert!(
        xml.contains("<localConnectionInfo>alerting</localConnectionInfo>"),
        "{xml}"
    );
    assert!(xml.contains("<cause>newCall</cause>"));
    assert!(matches!(
        controller.info(&mut dialog, &answer_any).await,
        Csta::AnswerCallResponse(_)
    ));
    let (established, xml) = controller.event().await;
    assert_eq!(established.name(), "EstablishedEvent");
    assert!(xml.contains("<localConnectionInfo>connected</localConnectionInfo>"));
    handset.hang_up().await.unwrap();
    let (cleared, xml) = controller.event().await;
    assert_eq!(cleared.name(), "ConnectionClearedEvent");
    assert!(xml.contains("<localConnectionInfo>null</localConnectionInfo>"));

    // MakeCall: the response, then the outgoing call's events in order.
    let make = ed3(
        "<MakeCall><callingDevice>201</callingDevice><calledDirectoryNumber>300</calledDirectoryNumber></MakeCall>",
    );
    let Csta::MakeCallResponse(made) = controller.info(&mut dialog, &make).await else {
        panic!("no MakeCallResponse");
    };
    assert!(made.calling_device.call_id.is_some());
    let mut events = Vec::new();
    for _ in 0..4 {
        events.push(controller.event().await);
    }
    assert_eq!(
        names(&events),
        [
            "ServiceInitiatedEvent",
            "OriginatedEvent",
            "DeliveredEvent",
            "EstablishedEvent"
        ]
    );
    assert!(events.iter().all(|(_, xml)| xml.contains("<cause>")
        && xml.contains("<localConnectionInfo>")
        && xml.contains("/csta/ed5")));

    // Reboot: no BYE, a new registration with a new Call-ID; the old dialog is gone.
    handset.reboot().await;
    let again = controller.recv_request(Method::Register).await;
    assert_ne!(
        again.headers.call_id().unwrap(),
        registered.headers.call_id().unwrap()
    );
    controller
        .send(Response::for_request(&again, StatusCode::OK))
        .await;
    assert!(
        handset
            .wait_registration(WAIT, |s| matches!(s, RegistrationState::Registered { .. }))
            .await
    );
    controller.send(dialog.info(start.clone())).await;
    assert_eq!(controller.recv_response().await.status.as_u16(), 481);

    // Unregister: Expires 0.
    handset.unregister().await;
    let removal = controller.recv_request(Method::Register).await;
    assert_eq!(removal.headers.expires().unwrap(), Some(0));
    controller
        .send(Response::for_request(&removal, StatusCode::OK))
        .await;
    assert!(
        handset
            .wait_registration(WAIT, |s| *s == RegistrationState::Unregistered)
            .await
    );
    handset.shutdown().await;
}

#[tokio::test]
async fn udp_handset_registers_and_is_driven_over_tr87() {
    handset_session(Transport::Udp).await;
}

#[tokio::test]
async fn tcp_handset_registers_and_is_driven_over_tr87() {
    handset_session(Transport::Tcp).await;
}

#[tokio::test]
async fn malformed_input_is_answered_or_dropped() {
    let mut controller = Controller::bind(Transport::Udp).await;
    let handset = SimHandset::start(HandsetConfig::new(controller.addr, "201"))
        .await
        .unwrap();
    let first = controller.recv_request(Method::Register).await;
    controller
        .send(Response::for_request(&first, StatusCode::OK))
        .await;
    let Wire::Udp(socket, _) = &controller.wire else {
        unreachable!()
    };
    let junk: [&[u8]; 3] = [
        b"garbage\r\n\r\n",
        b"INFO sip:x SIP/2.0\r\n\r\n",
        &[0xff; 300],
    ];
    for junk in junk {
        socket.send_to(junk, handset.local_addr()).await.unwrap();
    }
    // INFO outside a dialog with a broken CSTA body: 481, and the handset still answers.
    let mut dialog = open_dialog(&controller, &handset, Transport::Udp);
    controller.send(dialog.info("<MonitorStart")).await;
    assert_eq!(controller.recv_response().await.status.as_u16(), 481);
    controller.send(dialog.invite("<notcsta")).await;
    assert_eq!(controller.recv_response().await.status.as_u16(), 488);
    assert_eq!(
        handset.answer().await,
        Err(pbx::sim::SimError::NoCallToAnswer)
    );
}
