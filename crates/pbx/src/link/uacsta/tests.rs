//! The `uacsta` settings, and the controller on its own: a simulated handset on loopback
//! UDP, a stand-in registrar that hands the controller what arrives on its socket.

use serde_json::json;
use ucplus_core::ValidationErrors;

use super::*;
use crate::link::kinds::PbxSettings;

fn parse(settings: Value) -> Result<UacstaSettings, Vec<(String, String)>> {
    let mut errors = ValidationErrors::new();
    match PbxSettings::parse(PbxKind::Uacsta, &settings, &mut errors) {
        Some(PbxSettings::Uacsta(settings)) if errors.0.is_empty() => Ok(settings),
        _ => Err(errors.0.into_iter().map(|e| (e.field, e.message)).collect()),
    }
}

#[test]
fn the_sip_domain_is_read_and_written_back() {
    let stored = json!({"sip_domain": "acme.example"});
    let settings = parse(stored.clone()).unwrap();
    assert_eq!(settings.sip_domain, "acme.example");
    assert_eq!(Value::Object(settings.to_json()), stored);
    assert_eq!(
        PbxSettings::Uacsta(settings).sip_domain(),
        Some("acme.example")
    );
}

#[test]
fn each_bad_value_is_named() {
    for (settings, message) in [
        (
            json!({}),
            "a uaCSTA connection needs the tenant's SIP domain",
        ),
        (
            json!({"sip_domain": "localhost"}),
            "must be a DNS domain, e.g. acme.example.com",
        ),
        (
            json!({"sip_domain": "acme example.com"}),
            "must be a DNS domain, e.g. acme.example.com",
        ),
        (
            json!({"sip_domain": 7}),
            "must be a DNS domain, e.g. acme.example.com",
        ),
    ] {
        assert_eq!(
            parse(settings.clone()).unwrap_err(),
            [("sip_domain".to_string(), message.to_string())],
            "{settings}"
        );
    }
}

mod controller {
    use std::collections::BTreeSet;
    use std::sync::Arc;
    use std::time::Duration;

    use sip::{Contacts, Message, Method, Response, StatusCode};
    use tokio::net::UdpSocket;
    use tokio::sync::{mpsc, oneshot};
    use ucplus_core::cti::{LinkEvent, LinkState, PbxRequest};
    use ucplus_core::{DeviceRecordId, PbxId};

    use super::super::{Controller, Flow, Handset};
    use crate::handset::{HandsetConfig, SimHandset};
    use crate::link::{Lease, LinkRequest, channels};

    const WAIT: Duration = Duration::from_secs(5);

    /// The server registrar's part, reduced: answers every REGISTER with 200 and opens the
    /// handset's session; hands the handset's other requests and its responses to the
    /// controller, as the registrar's socket readers do.
    async fn registrar(
        socket: Arc<UdpSocket>,
        controller: Arc<Controller>,
        device: DeviceRecordId,
        pbx: PbxId,
    ) {
        serve(socket, controller, device, pbx, false).await;
    }

    /// The stand-in registrar; with `reorder`, the handset's first snapshot answer is held
    /// back until the next request from the handset has been handled: two datagrams taken
    /// by two socket readers in the other order.
    async fn serve(
        socket: Arc<UdpSocket>,
        controller: Arc<Controller>,
        device: DeviceRecordId,
        pbx: PbxId,
        mut reorder: bool,
    ) {
        let mut held: Option<Response> = None;
        let mut buffer = vec![0u8; 65_535];
        loop {
            let Ok((length, source)) = socket.recv_from(&mut buffer).await else {
                return;
            };
            let message = sip::parse_datagram(&buffer[..length], &sip::Limits::default());
            match message {
                Ok(Some(Message::Request(request))) if request.method == Method::Register => {
                    let ok = Response::for_request(&request, StatusCode::OK);
                    socket.send_to(&ok.to_bytes(), source).await.unwrap();
                    let Ok(Contacts::List(contacts)) = request.headers.contacts() else {
                        panic!("a REGISTER without a contact");
                    };
                    controller.open(Handset {
                        device,
                        pbx,
                        number: "201",
                        aor: "201@localhost",
                        contact: &contacts[0].uri,
                        flow: Flow::Udp(source),
                        registration: request.headers.call_id().unwrap(),
                    });
                }
                Ok(Some(Message::Request(request))) if request.method == Method::Ack => {}
                Ok(Some(Message::Request(request))) => {
                    let answer = controller.on_request(&request).unwrap_or_else(|| {
                        Response::for_request(&request, StatusCode::CALL_DOES_NOT_EXIST)
                    });
                    socket.send_to(&answer.to_bytes(), source).await.unwrap();
                    if let Some(response) = held.take() {
                        controller.on_response(&response);
                    }
                }
                Ok(Some(Message::Response(response)))
                    if reorder
                        && String::from_utf8_lossy(&response.body)
                            .contains("SnapshotDeviceResponse") =>
                {
                    reorder = false;
                    held = Some(response);
                }
                Ok(Some(Message::Response(response))) => controller.on_response(&response),
                other => panic!("not SIP: {other:?}"),
            }
        }
    }

    async fn next(events: &mut mpsc::Receiver<LinkEvent>) -> LinkEvent {
        tokio::time::timeout(WAIT, events.recv())
            .await
            .expect("a link event in time")
            .expect("the link is open")
    }

    /// A controller on a loopback UDP socket serving one `uacsta` connection (device 201)
    /// whose link has reported itself up.
    async fn attached() -> (
        Arc<UdpSocket>,
        std::net::SocketAddr,
        Arc<Controller>,
        PbxId,
        crate::link::EngineChannels,
    ) {
        attached_under(Lease::always()).await
    }

    /// The same, the link talking only while `lease` allows.
    async fn attached_under(
        lease: Lease,
    ) -> (
        Arc<UdpSocket>,
        std::net::SocketAddr,
        Arc<Controller>,
        PbxId,
        crate::link::EngineChannels,
    ) {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let bound = socket.local_addr().unwrap();
        let controller = Arc::new(Controller::default());
        controller.set_socket(socket.clone(), bound);
        controller.set_request_timeout(Duration::from_secs(2));
        let pbx = PbxId::new();
        let (mut engine, link) = channels(BTreeSet::from(["201".to_string()]));
        controller.attach(pbx, lease, link);
        assert!(matches!(
            next(&mut engine.events).await,
            LinkEvent::State {
                state: LinkState::Up,
                error: None
            }
        ));
        (socket, bound, controller, pbx, engine)
    }

    #[tokio::test]
    async fn a_registered_handset_gets_a_session_and_is_controlled_over_it() {
        let (socket, bound, controller, pbx, mut engine) = attached().await;
        let serving = tokio::spawn(registrar(
            socket,
            controller.clone(),
            DeviceRecordId::new(),
            pbx,
        ));

        // Registered: INVITE, MonitorStart and SnapshotDevice; the snapshot reaches the link.
        let handset = SimHandset::start(HandsetConfig::new(bound, "201"))
            .await
            .unwrap();
        assert!(handset.wait_snapshots(WAIT, 1).await, "a session opened");
        match next(&mut engine.events).await {
            LinkEvent::Snapshot { device, calls } => {
                assert_eq!(device, "201");
                assert!(calls.is_empty());
            }
            other => panic!("expected the handset's snapshot, got {other:?}"),
        }

        // An engine request goes to the phone in INFO; its answer comes back.
        let (reply, answer) = oneshot::channel();
        engine
            .requests
            .send(LinkRequest {
                request: PbxRequest::MakeCall {
                    device: "201".into(),
                    to: "300".into(),
                },
                reply,
            })
            .await
            .unwrap();
        let made = tokio::time::timeout(WAIT, answer)
            .await
            .unwrap()
            .unwrap()
            .expect("the phone places the call");
        assert!(made.call_id.is_some());

        // The phone's events (INFO) become the link's call events.
        match next(&mut engine.events).await {
            LinkEvent::Call(event) => {
                assert_eq!(event.device, "201");
                assert_eq!(Some(event.call_id), made.call_id);
            }
            other => panic!("expected a call event, got {other:?}"),
        }
        handset.shutdown().await;
        serving.abort();
    }

    /// Over UDP a snapshot answer can be handled after an event the phone sent later: the
    /// out-of-date answer is not applied (it would end the ringing call); the snapshot is
    /// asked again and the fresh answer holds the call.
    #[tokio::test]
    async fn a_snapshot_answer_older_than_an_event_is_asked_again() {
        let (socket, bound, controller, pbx, mut engine) = attached().await;
        let serving = tokio::spawn(serve(
            socket,
            controller.clone(),
            DeviceRecordId::new(),
            pbx,
            true,
        ));
        let handset = SimHandset::start(HandsetConfig::new(bound, "201"))
            .await
            .unwrap();
        assert!(handset.wait_snapshots(WAIT, 1).await, "a session opened");
        // The phone rings: its event is handled before its (held) snapshot answer.
        handset.ring_from("+4930777").await.unwrap();
        match next(&mut engine.events).await {
            LinkEvent::Call(event) => assert_eq!(event.device, "201"),
            other => panic!("expected the ringing event first, got {other:?}"),
        }
        match next(&mut engine.events).await {
            LinkEvent::Snapshot { device, calls } => {
                assert_eq!(device, "201");
                assert_eq!(calls.len(), 1, "the fresh snapshot holds the ringing call");
            }
            other => panic!("expected a fresh snapshot, got {other:?}"),
        }
        assert!(
            handset.snapshots_answered() >= 2,
            "the snapshot was asked again"
        );
        handset.shutdown().await;
        serving.abort();
    }

    /// Once this node's lease lapsed nothing goes to the handsets (a request to the phone
    /// is not sent and times out); when the link stops, its sessions are forgotten.
    #[tokio::test]
    async fn nothing_is_sent_to_a_handset_once_the_lease_lapsed() {
        let lease = Lease::until_renewed();
        lease.extend_to(std::time::Instant::now() + Duration::from_secs(60));
        let (socket, bound, controller, pbx, engine) = attached_under(lease.clone()).await;
        let device = DeviceRecordId::new();
        let serving = tokio::spawn(registrar(socket, controller.clone(), device, pbx));
        let handset = SimHandset::start(HandsetConfig::new(bound, "201"))
            .await
            .unwrap();
        assert!(handset.wait_snapshots(WAIT, 1).await, "a session opened");
        assert!(controller.may_talk());
        assert!(controller.session_registration(device).is_some());

        lease.revoke();
        assert!(!controller.may_talk());
        let (reply, answer) = oneshot::channel();
        engine
            .requests
            .send(LinkRequest {
                request: PbxRequest::MakeCall {
                    device: "201".into(),
                    to: "300".into(),
                },
                reply,
            })
            .await
            .unwrap();
        let refused = tokio::time::timeout(WAIT, answer).await.unwrap().unwrap();
        assert!(
            matches!(refused, Err(ucplus_core::cti::PbxError::Timeout)),
            "{refused:?}"
        );
        assert!(
            handset.hang_up().await.is_err(),
            "the phone never got the MakeCall: it has no call to hang up"
        );

        // The link stops: its sessions are gone.
        engine.shutdown.send_replace(true);
        let deadline = tokio::time::Instant::now() + WAIT;
        while controller.session_registration(device).is_some() || !controller.links().is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "the session stayed");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        handset.shutdown().await;
        serving.abort();
    }

    #[tokio::test]
    async fn without_the_sip_listener_the_link_is_down_and_says_why() {
        let controller = Arc::new(Controller::default());
        let (mut engine, link) = channels(BTreeSet::new());
        controller.attach(PbxId::new(), Lease::always(), link);
        match next(&mut engine.events).await {
            LinkEvent::State {
                state: LinkState::Down,
                error: Some(error),
            } => assert_eq!(error, "the SIP listener is off (set sip.listen)"),
            other => panic!("expected the link down, got {other:?}"),
        }
    }
}
