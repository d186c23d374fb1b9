//! A small CSTA client for the tests: framed TCP, requests answered by invoke id, events
//! collected per monitor and rendered as one line each, heartbeats answered on request.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use csta::*;
use pbx::sim::{DeviceSet, SimConfig, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

/// How long any expected answer or event may take.
pub const PATIENCE: Duration = Duration::from_secs(3);
/// How long the tests wait to be sure nothing more comes.
pub const QUIET: Duration = Duration::from_millis(150);

/// A simulator on 127.0.0.1 with devices 200-209, short trunk answer delay, and the
/// other timers long enough not to interfere.
pub fn config() -> SimConfig {
    let mut config = SimConfig::new(DeviceSet::parse("200-209").unwrap());
    config.trunk.answer_delay = Duration::from_millis(100);
    config
}

pub async fn start(config: SimConfig) -> Simulator {
    Simulator::start(config).await.expect("simulator starts")
}

/// What the client got that was not the answer it waited for.
#[derive(Debug)]
pub enum Received {
    /// An event, now queued for [`Client::events`].
    Event,
    Message(Option<InvokeId>, Box<Message>),
    Undecodable(DecodeError),
    Closed,
}

pub struct Client {
    stream: TcpStream,
    codec: FrameCodec,
    buffer: BytesMut,
    edition: Edition,
    next_invoke: u16,
    /// Events received and not yet taken.
    events: VecDeque<Message>,
    /// Cross reference id → monitored device.
    monitors: HashMap<String, String>,
    /// Whether `SystemStatus` from the switch is answered at once.
    pub answer_heartbeats: bool,
    /// `SystemStatus` documents received.
    pub heartbeats: usize,
    /// Documents that did not decode.
    pub undecodable: usize,
    /// The namespace edition of the last document received.
    pub last_edition: Option<Edition>,
}

impl Client {
    pub async fn connect(address: SocketAddr) -> Client {
        Client::connect_with(address, Framing::Header, Edition::Ed3).await
    }

    pub async fn connect_with(address: SocketAddr, framing: Framing, edition: Edition) -> Client {
        let stream = TcpStream::connect(address).await.expect("connects");
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            codec: FrameCodec::new(framing),
            buffer: BytesMut::new(),
            edition,
            next_invoke: 0,
            events: VecDeque::new(),
            monitors: HashMap::new(),
            answer_heartbeats: true,
            heartbeats: 0,
            undecodable: 0,
            last_edition: None,
        }
    }

    /// Sends a document; returns the invoke id used (none in the NUL framing).
    pub async fn send(&mut self, message: impl Into<Message>) -> Option<InvokeId> {
        self.next_invoke = self.next_invoke % 9998 + 1;
        let invoke_id = InvokeId::new(self.next_invoke);
        let xml = encode(&message.into(), self.edition);
        self.send_raw(invoke_id, xml.as_bytes()).await;
        invoke_id
    }

    /// Sends any bytes as one frame.
    pub async fn send_raw(&mut self, invoke_id: Option<InvokeId>, xml: &[u8]) {
        let invoke_id = invoke_id.filter(|_| self.codec.framing() == Framing::Header);
        let mut out = BytesMut::new();
        self.codec
            .encode(Frame::new(invoke_id, Bytes::copy_from_slice(xml)), &mut out)
            .unwrap();
        self.write_bytes(&out).await;
    }

    pub async fn write_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("writes");
    }

    /// Sends a request and returns its answer (events arriving meanwhile are kept).
    pub async fn request(&mut self, message: impl Into<Message>) -> Message {
        let invoke_id = self.send(message).await;
        self.answer(invoke_id).await
    }

    /// The answer with `invoke_id` (in the NUL framing: the next non-event).
    pub async fn answer(&mut self, invoke_id: Option<InvokeId>) -> Message {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.receive(deadline).await {
                Some(Received::Event) => {}
                Some(Received::Message(id, message)) if id == invoke_id || id.is_none() => {
                    return *message;
                }
                Some(Received::Message(id, message)) => {
                    panic!("unexpected answer {id:?}: {message:?}")
                }
                Some(other) => panic!("no answer to {invoke_id:?}: {other:?}"),
                None => panic!("no answer to {invoke_id:?} in time"),
            }
        }
    }

    /// Waits for the next document that is not a heartbeat (events are queued).
    pub async fn receive(&mut self, deadline: Instant) -> Option<Received> {
        loop {
            let frame = match self.next_frame(deadline).await {
                Some(Ok(frame)) => frame,
                Some(Err(())) => return Some(Received::Closed),
                None => return None,
            };
            self.last_edition = detect_edition(&frame.xml);
            match decode(&frame.xml) {
                Ok(message) if message.kind() == MessageKind::Event => {
                    self.events.push_back(message);
                    return Some(Received::Event);
                }
                Ok(Message::SystemStatus(_)) => {
                    self.heartbeats += 1;
                    if self.answer_heartbeats {
                        let answer = SystemStatusResponse {
                            extra: Default::default(),
                        };
                        let xml = encode(&answer.into(), self.edition);
                        self.send_raw(frame.invoke_id, xml.as_bytes()).await;
                    }
                }
                Ok(message) => return Some(Received::Message(frame.invoke_id, Box::new(message))),
                Err(error) => {
                    self.undecodable += 1;
                    return Some(Received::Undecodable(error));
                }
            }
        }
    }

    /// The next frame; `Some(Err(()))` when the switch closed the link, `None` on timeout.
    async fn next_frame(&mut self, deadline: Instant) -> Option<Result<Frame, ()>> {
        loop {
            match self.codec.decode(&mut self.buffer) {
                Ok(Some(frame)) => return Some(Ok(frame)),
                Ok(None) => {}
                Err(error) => panic!("the switch sent a bad frame: {error}"),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match timeout(left, self.stream.read_buf(&mut self.buffer)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return Some(Err(())),
                Ok(Ok(_)) => {}
                Err(_) => return None,
            }
        }
    }

    /// Lets heartbeats be answered and events arrive for `duration`.
    /// Returns early with anything but an event; `None` when the time is up.
    pub async fn idle(&mut self, duration: Duration) -> Option<Received> {
        let deadline = Instant::now() + duration;
        loop {
            match self.receive(deadline).await {
                Some(Received::Event) => {}
                other => return other,
            }
        }
    }

    /// Whether the switch closes the link within `within`.
    pub async fn closed_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            match self.receive(deadline).await {
                Some(Received::Closed) => return true,
                Some(_) => {}
                None => return false,
            }
        }
    }

    /// Starts a monitor of `device`; returns its cross reference id.
    pub async fn monitor(&mut self, device: &str) -> String {
        let answer = self.request(monitor_start(device)).await;
        let Message::MonitorStartResponse(response) = answer else {
            panic!("MonitorStart {device} refused: {answer:?}");
        };
        self.monitors
            .insert(response.monitor_cross_ref_id.clone(), device.to_string());
        response.monitor_cross_ref_id
    }

    /// Takes `count` events (waiting for them), each as `@device line` (see [`describe`]).
    pub async fn events(&mut self, count: usize) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        while self.events.len() < count {
            match self.receive(deadline).await {
                Some(Received::Event) => {}
                Some(Received::Closed) | None => {
                    panic!("{} of {count} events: {:?}", self.events.len(), self.events)
                }
                Some(other) => panic!("unexpected while waiting for events: {other:?}"),
            }
        }
        let events: Vec<Message> = self.events.drain(..count).collect();
        events.iter().map(|event| self.line(event)).collect()
    }

    /// Takes `count` events and groups them by monitored device, in arrival order.
    pub async fn events_by_device(&mut self, count: usize) -> HashMap<String, Vec<String>> {
        let mut by_device: HashMap<String, Vec<String>> = HashMap::new();
        for line in self.events(count).await {
            let (device, rest) = line.split_once(' ').unwrap();
            by_device
                .entry(device.trim_start_matches('@').to_string())
                .or_default()
                .push(rest.to_string());
        }
        by_device
    }

    /// Asserts that no further event arrives for a while.
    pub async fn no_more_events(&mut self) {
        if let Some(Received::Message(_, message)) = self.idle(QUIET).await {
            panic!("unexpected {message:?}");
        }
        let pending: Vec<String> = self.events.iter().map(|e| self.line(e)).collect();
        assert!(pending.is_empty(), "unexpected events: {pending:#?}");
    }

    /// Every event until none has come for a while, as decoded.
    pub async fn drain_events(&mut self) -> Vec<Message> {
        loop {
            match self.receive(Instant::now() + QUIET).await {
                Some(Received::Event) => {}
                None => return self.events.drain(..).collect(),
                Some(other) => panic!("unexpected while draining events: {other:?}"),
            }
        }
    }

    /// How an event looks in [`Client::events`].
    pub fn line(&self, event: &Message) -> String {
        let cross_ref = cross_ref(event);
        let device = self
            .monitors
            .get(cross_ref)
            .map_or(format!("?{cross_ref}"), String::clone);
        format!("@{device} {}", describe(event))
    }
}

pub fn monitor_start(device: &str) -> MonitorStart {
    MonitorStart {
        monitor_object: MonitorObject::device(DeviceId::new(device)),
        requested_monitor_filter: None,
        monitor_type: None,
        extra: Default::default(),
    }
}

/// Decodes a request written as XML text (tests read better with the wire format).
pub fn xml(document: &str) -> Message {
    decode_str(document).unwrap_or_else(|error| panic!("{error}: {document}"))
}

pub fn connection_xml(tag: &str, call: &str, device: &str) -> String {
    format!("<{tag}><callID>{call}</callID><deviceID>{device}</deviceID></{tag}>")
}

/// The call id of a `MakeCall`/`ConsultationCall` answer.
pub fn call_id(answer: &Message) -> String {
    let connection = match answer {
        Message::MakeCallResponse(response) => &response.calling_device,
        Message::ConsultationCallResponse(response) => &response.initiated_call,
        other => panic!("not a call: {other:?}"),
    };
    connection.call_id.clone().unwrap()
}

/// `category/value` of a `CSTAErrorCode`, or the message name.
pub fn error_of(answer: &Message) -> String {
    match answer {
        Message::CstaErrorCode(error) => format!("{}/{}", error.category, error.value),
        other => other.name().to_string(),
    }
}

fn cross_ref(event: &Message) -> &str {
    match event {
        Message::ServiceInitiatedEvent(e) => &e.monitor_cross_ref_id,
        Message::OriginatedEvent(e) => &e.monitor_cross_ref_id,
        Message::DeliveredEvent(e) => &e.monitor_cross_ref_id,
        Message::EstablishedEvent(e) => &e.monitor_cross_ref_id,
        Message::HeldEvent(e) => &e.monitor_cross_ref_id,
        Message::RetrievedEvent(e) => &e.monitor_cross_ref_id,
        Message::ConnectionClearedEvent(e) => &e.monitor_cross_ref_id,
        Message::FailedEvent(e) => &e.monitor_cross_ref_id,
        Message::DivertedEvent(e) => &e.monitor_cross_ref_id,
        Message::TransferredEvent(e) => &e.monitor_cross_ref_id,
        Message::ConferencedEvent(e) => &e.monitor_cross_ref_id,
        Message::DoNotDisturbEvent(e) => e.monitor_cross_ref_id.as_deref().unwrap_or_default(),
        Message::ForwardingEvent(e) => e.monitor_cross_ref_id.as_deref().unwrap_or_default(),
        _ => "",
    }
}

fn conn(connection: &ConnectionId) -> String {
    format!(
        "{}/{}",
        connection.call_id.as_deref().unwrap_or("?"),
        connection.device_id.as_ref().map_or("?", DeviceId::raw)
    )
}

fn opt_conn(connection: &Option<ConnectionId>) -> String {
    connection.as_ref().map_or("-".into(), conn)
}

fn dev(device: &Option<EventDevice>) -> String {
    match device {
        Some(EventDevice::Known(id)) => id.raw().to_string(),
        Some(EventDevice::NotRequired) => "-".into(),
        Some(other) => format!("{other:?}"),
        None => "absent".into(),
    }
}

fn state_and_cause(lci: &Option<LocalConnectionState>, cause: &Option<EventCause>) -> String {
    format!(
        "{} {}",
        lci.as_ref().map_or("absent", LocalConnectionState::as_str),
        cause.as_ref().map_or("absent", EventCause::as_str)
    )
}

fn connections(list: &Option<ConnectionList>) -> String {
    let items: Vec<String> = list
        .iter()
        .flat_map(|list| &list.items)
        .map(|item| {
            format!(
                "{}<-{}",
                opt_conn(&item.new_connection),
                opt_conn(&item.old_connection)
            )
        })
        .collect();
    items.join(",")
}

/// One line per event: name, connection, `localConnectionInfo`, cause, key devices.
pub fn describe(event: &Message) -> String {
    match event {
        Message::ServiceInitiatedEvent(e) => format!(
            "ServiceInitiated {} {}",
            conn(&e.initiated_connection),
            state_and_cause(&e.local_connection_info, &e.cause)
        ),
        Message::OriginatedEvent(e) => format!(
            "Originated {} {} calling={} called={}",
            conn(&e.originated_connection),
            state_and_cause(&e.local_connection_info, &e.cause),
            dev(&e.calling_device),
            dev(&e.called_device)
        ),
        Message::DeliveredEvent(e) => format!(
            "Delivered {} {} alerting={} calling={} called={} redirected={}",
            conn(&e.connection),
            state_and_cause(&e.local_connection_info, &e.cause),
            dev(&e.alerting_device),
            dev(&e.calling_device),
            dev(&e.called_device),
            dev(&e.last_redirection_device)
        ),
        Message::EstablishedEvent(e) => format!(
            "Established {} {} answering={} calling={} called={}",
            conn(&e.established_connection),
            state_and_cause(&e.local_connection_info, &e.cause),
            dev(&e.answering_device),
            dev(&e.calling_device),
            dev(&e.called_device)
        ),
        Message::HeldEvent(e) => format!(
            "Held {} {}",
            conn(&e.held_connection),
            state_and_cause(&e.local_connection_info, &e.cause)
        ),
        Message::RetrievedEvent(e) => format!(
            "Retrieved {} {}",
            conn(&e.retrieved_connection),
            state_and_cause(&e.local_connection_info, &e.cause)
        ),
        Message::ConnectionClearedEvent(e) => format!(
            "ConnectionCleared {} {}",
            conn(&e.dropped_connection),
            state_and_cause(&e.local_connection_info, &e.cause)
        ),
        Message::FailedEvent(e) => format!(
            "Failed {} {} calling={} called={}",
            conn(&e.failed_connection),
            state_and_cause(&e.local_connection_info, &e.cause),
            dev(&e.calling_device),
            dev(&e.called_device)
        ),
        Message::DivertedEvent(e) => format!(
            "Diverted {} {} to={} redirected={}",
            conn(&e.connection),
            state_and_cause(&e.local_connection_info, &e.cause),
            dev(&e.new_destination),
            dev(&e.last_redirection_device)
        ),
        Message::TransferredEvent(e) => format!(
            "Transferred {} {} secondary={} to={} connections={}",
            conn(&e.primary_old_call),
            state_and_cause(&e.local_connection_info, &e.cause),
            opt_conn(&e.secondary_old_call),
            dev(&e.transferred_to_device),
            connections(&e.transferred_connections)
        ),
        Message::ConferencedEvent(e) => format!(
            "Conferenced {} {} secondary={} added={} connections={}",
            conn(&e.primary_old_call),
            state_and_cause(&e.local_connection_info, &e.cause),
            opt_conn(&e.secondary_old_call),
            dev(&e.added_party),
            connections(&e.conference_connections)
        ),
        Message::DoNotDisturbEvent(e) => {
            format!(
                "DoNotDisturb {} on={}",
                dev(&Some(e.device.clone())),
                e.do_not_disturb_on
            )
        }
        Message::ForwardingEvent(e) => format!(
            "Forwarding {} {} on={} to={}",
            dev(&Some(e.device.clone())),
            e.forwarding_type
                .as_ref()
                .map_or("absent", ForwardingType::as_str),
            e.forward_status,
            e.forward_to.as_ref().map_or("-", DeviceId::raw)
        ),
        other => other.name().to_string(),
    }
}
