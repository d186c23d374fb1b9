//! The uaCSTA controller (ECMA TR/87): for every registered handset of a `uacsta`
//! connection it opens a CSTA-over-SIP session from the registrar's socket, monitors the
//! phone, turns the CSTA events the phone sends in INFO into the engine's link events, and
//! carries the engine's requests to the phone in INFO. To the engine a `uacsta` connection
//! is a link like any other.
//!
//! ```text
//! handset registers ──▶ INVITE <RequestSystemStatus> ──▶ 200 ──▶ ACK
//!                   ──▶ INFO <MonitorStart> ──▶ 200 <MonitorStartResponse>
//!                   ──▶ INFO <SnapshotDevice> ──▶ 200 (calls) → link Snapshot
//! handset           ◀── INFO <DeliveredEvent> …  answered 200 → link Call events
//! engine request    ──▶ INFO <AnswerCall> ──▶ 200 <AnswerCallResponse>
//! unregister/expiry ──▶ INFO <MonitorStop>, BYE;  a new registration (reboot) reopens
//! ```
//! The session runs over the transport the handset registered with: over UDP from the
//! registrar's socket to the address the REGISTER came from, retransmitted (RFC 3261
//! Timer A/E) until a final answer or the request timeout; over TCP on the connection the
//! handset registered on (phones behind NAT or an SBC cannot be reached otherwise), sent
//! once. A closed connection ends the sessions it carried; the phone's next registration,
//! on a new connection, opens them again.
//!
//! Like the CSTA link, the controller talks to handsets only while this node's lease
//! allows ([`Lease`], checked before every message it sends). When a connection's link
//! stops (this node lost or fenced it, or it is reloaded) its sessions are forgotten
//! without a word to the phones: another node may be opening its own.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use csta::{Edition, Message as Csta};
use sip::{Dialog, DialogSetup, Method, Request, Response, StatusCode, Uri};
use tokio::net::UdpSocket;
use tokio::sync::{Notify, mpsc, oneshot};
use ucplus_core::cti::{LinkEvent, PbxError, PbxResponse};
use ucplus_core::{DeviceRecordId, PbxId};

use crate::link::Lease;
use crate::link::csta::{link_event, response as csta_response, snapshot_calls};

pub use super::flow::Flow;

mod links;

/// What a request in flight is for.
enum Purpose {
    Open,
    Monitor,
    /// With how many events the handset had sent when it was asked, and how often the
    /// answer came back older than an event already received.
    Snapshot {
        asked_at: u64,
        stale: u8,
    },
    Engine(oneshot::Sender<Result<PbxResponse, PbxError>>),
    /// A re-INVITE keeping the session alive.
    Refresh,
}

struct Session {
    pbx: PbxId,
    /// The attachment of the connection's link that opened it.
    attachment: u64,
    /// When it was opened.
    opened: Instant,
    /// The device's id on the "PBX" (its number).
    number: String,
    dialog: Dialog,
    target: Flow,
    /// The Call-ID of the registration that opened it (a new one means a reboot).
    registration: String,
    /// In-flight requests by CSeq.
    pending: HashMap<u32, Purpose>,
    /// When the session was opened or last refreshed.
    refreshed: Instant,
    /// Events the handset has sent in this session. Over UDP its snapshot answer and an
    /// event sent just after can be handled in either order: an answer that arrives after
    /// a newer event is out of date and asked again.
    events: u64,
}

/// A snapshot answer older than events already received is asked again this often, then
/// left out (the events keep the picture current).
const STALE_SNAPSHOTS: u8 = 3;

fn snapshot_request(number: &str) -> Csta {
    csta::SnapshotDevice {
        snapshot_object: csta::DeviceId::new(number),
        extra: Default::default(),
    }
    .into()
}

#[derive(Default)]
struct State {
    sessions: HashMap<DeviceRecordId, Session>,
    /// Dialog Call-ID → device.
    by_call_id: HashMap<String, DeviceRecordId>,
    /// uaCSTA connections served here: the attachment of each one's link and where its
    /// events go.
    links: HashMap<PbxId, (u64, mpsc::Sender<LinkEvent>)>,
    /// Numbers the attachments.
    attachments: u64,
}

impl State {
    /// Where the events of `pbx`'s link go, while it is attached.
    fn events(&self, pbx: PbxId) -> Option<mpsc::Sender<LinkEvent>> {
        self.links.get(&pbx).map(|(_, events)| events.clone())
    }
}

/// A registered handset, as the registrar knows it.
pub struct Handset<'a> {
    pub device: DeviceRecordId,
    pub pbx: PbxId,
    /// Its device id on the connection (its number).
    pub number: &'a str,
    pub aor: &'a str,
    pub contact: &'a Uri,
    /// Where its REGISTER came from (where the session is sent).
    pub flow: Flow,
    /// The registration's Call-ID.
    pub registration: &'a str,
}

/// Serves every `uacsta` connection: the sessions of their registered handsets.
#[derive(Default)]
pub struct Controller {
    state: Mutex<State>,
    socket: OnceLock<(Arc<UdpSocket>, SocketAddr)>,
    request_timeout: OnceLock<Duration>,
    refresh: OnceLock<Duration>,
    /// Whether this node may still talk to handsets (its cluster lease).
    lease: std::sync::RwLock<Lease>,
    /// Woken when a connection's link is attached (its handsets' sessions are to be opened).
    attached: Notify,
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

fn body(xml: &Csta) -> Bytes {
    Bytes::from(csta::encode(xml, Edition::Ed3))
}

impl Controller {
    /// Gives the controller the registrar's UDP socket (sessions start from it).
    pub fn set_socket(&self, socket: Arc<UdpSocket>, bound: SocketAddr) {
        let _ = self.socket.set((socket, bound));
    }

    pub fn set_request_timeout(&self, timeout: Duration) {
        let _ = self.request_timeout.set(timeout);
    }

    /// How often established sessions are refreshed with a re-INVITE.
    pub fn set_refresh(&self, every: Duration) {
        let _ = self.refresh.set(every);
    }

    /// Sends a re-INVITE on every established session not refreshed for the refresh
    /// interval. A handset that refuses (481: it forgot the dialog) loses its session
    /// until it registers again.
    pub fn refresh_due(self: &Arc<Self>) {
        let every = self
            .refresh
            .get()
            .copied()
            .unwrap_or(Duration::from_secs(600));
        let mut due = Vec::new();
        {
            let mut state = lock(&self.state);
            for (device, session) in state.sessions.iter_mut() {
                if session.dialog.is_established() && session.refreshed.elapsed() >= every {
                    session.refreshed = Instant::now();
                    let invite = session.dialog.invite(body(
                        &csta::RequestSystemStatus {
                            extra: Default::default(),
                        }
                        .into(),
                    ));
                    if let Ok(seq) = invite.headers.cseq().map(|c| c.seq) {
                        session.pending.insert(seq, Purpose::Refresh);
                        due.push((*device, invite, session.target.clone()));
                    }
                }
            }
        }
        for (device, invite, target) in due {
            self.transmit(device, invite, target);
        }
    }

    fn timeout(&self) -> Duration {
        self.request_timeout
            .get()
            .copied()
            .unwrap_or(Duration::from_secs(5))
    }

    /// Sends one message to a handset, if this node may still talk to handsets.
    fn send(&self, bytes: Bytes, target: &Flow) {
        if !self.may_talk() {
            tracing::debug!("this node's lease lapsed: nothing is sent to handsets");
            return;
        }
        match target {
            Flow::Udp(address) => {
                if let Some((socket, _)) = self.socket.get() {
                    let (socket, address) = (socket.clone(), *address);
                    tokio::spawn(async move {
                        let _ = socket.send_to(&bytes, address).await;
                    });
                }
            }
            // A connection whose queue is full is not keeping up: the message is lost and
            // its transaction times out, as on a lossy network.
            Flow::Stream { writer, .. } => {
                if writer.try_send(bytes).is_err() {
                    tracing::debug!("a handset's SIP connection is full or closed");
                }
            }
        }
    }

    /// Sends an in-dialog request and, over UDP, retransmits it until answered; it times
    /// out after the request timeout either way.
    fn transmit(self: &Arc<Self>, device: DeviceRecordId, request: Request, target: Flow) {
        let Ok(cseq) = request.headers.cseq().map(|c| c.seq) else {
            return;
        };
        let bytes = request.to_bytes();
        self.send(bytes.clone(), &target);
        let controller = self.clone();
        let deadline = tokio::time::Instant::now() + self.timeout();
        tokio::spawn(async move {
            // Over a reliable transport there is nothing to retransmit (RFC 3261 §17.1.1.2).
            let mut wait = if target.reliable() {
                controller.timeout()
            } else {
                sip::timers::T1
            };
            loop {
                tokio::time::sleep(
                    wait.min(deadline.saturating_duration_since(tokio::time::Instant::now())),
                )
                .await;
                let still = lock(&controller.state)
                    .sessions
                    .get(&device)
                    .is_some_and(|s| s.pending.contains_key(&cseq));
                if !still {
                    return;
                }
                if tokio::time::Instant::now() >= deadline {
                    let purpose = lock(&controller.state)
                        .sessions
                        .get_mut(&device)
                        .and_then(|s| s.pending.remove(&cseq));
                    if let Some(Purpose::Engine(reply)) = purpose {
                        let _ = reply.send(Err(PbxError::Timeout));
                    }
                    return;
                }
                controller.send(bytes.clone(), &target);
                wait = (wait * 2).min(sip::timers::T2);
            }
        });
    }

    /// A handset registered (or re-registered after a reboot): open its session.
    pub fn open(self: &Arc<Self>, handset: Handset<'_>) {
        let Handset {
            device,
            pbx,
            number,
            aor,
            contact,
            flow,
            registration,
        } = handset;
        let Some((_, bound)) = self.socket.get() else {
            return;
        };
        if !self.may_talk() {
            return;
        }
        let mut state = lock(&self.state);
        let Some((attachment, _)) = state.links.get(&pbx) else {
            return;
        };
        let attachment = *attachment;
        if state.sessions.get(&device).is_some_and(|s| {
            s.attachment == attachment && s.registration == registration && s.target.same(&flow)
        }) {
            return; // a refresh of the same registration
        }
        if let Some(old) = state.sessions.remove(&device) {
            state.by_call_id.remove(old.dialog.call_id());
        }
        let Ok(local_uri) = format!("sip:ucplus@{}", bound.ip()).parse::<Uri>() else {
            return;
        };
        let Ok(remote_uri) = format!("sip:{aor}").parse::<Uri>() else {
            return;
        };
        let (transport, contact_parameter) = if flow.reliable() {
            ("TCP", ";transport=tcp")
        } else {
            ("UDP", "")
        };
        let local_contact = format!("sip:ucplus@{bound}{contact_parameter}")
            .parse::<Uri>()
            .unwrap_or(local_uri.clone());
        let mut dialog = Dialog::new(DialogSetup {
            local_uri,
            local_contact,
            remote_uri,
            remote_target: contact.clone(),
            transport: transport.into(),
            host: bound.ip().to_string(),
            port: Some(bound.port()),
        });
        let invite = dialog.invite(body(
            &csta::RequestSystemStatus {
                extra: Default::default(),
            }
            .into(),
        ));
        let Ok(cseq) = invite.headers.cseq().map(|c| c.seq) else {
            return;
        };
        let mut session = Session {
            refreshed: Instant::now(),
            opened: Instant::now(),
            attachment,
            pbx,
            number: number.to_string(),
            dialog,
            target: flow.clone(),
            registration: registration.to_string(),
            pending: HashMap::new(),
            events: 0,
        };
        session.pending.insert(cseq, Purpose::Open);
        state
            .by_call_id
            .insert(session.dialog.call_id().to_string(), device);
        state.sessions.insert(device, session);
        drop(state);
        tracing::info!(%device, transport, "opening a uaCSTA session");
        self.transmit(device, invite, flow);
    }

    /// A TCP connection of the registrar closed: the sessions it carried are gone (their
    /// calls with them) until their handsets register again.
    pub fn connection_closed(self: &Arc<Self>, connection: u64) {
        let devices: Vec<DeviceRecordId> = lock(&self.state)
            .sessions
            .iter()
            .filter(
                |(_, s)| matches!(s.target, Flow::Stream { connection: c, .. } if c == connection),
            )
            .map(|(device, _)| *device)
            .collect();
        for device in devices {
            self.close(device);
        }
    }

    /// The handset unregistered or expired: stop monitoring and end the dialog.
    pub fn close(self: &Arc<Self>, device: DeviceRecordId) {
        let mut state = lock(&self.state);
        let Some(mut session) = state.sessions.remove(&device) else {
            return;
        };
        state.by_call_id.remove(session.dialog.call_id());
        let events = state.events(session.pbx);
        drop(state);
        if session.dialog.is_established() {
            let stop = session.dialog.info(body(
                &csta::MonitorStop {
                    monitor_cross_ref_id: "1".into(),
                    extra: Default::default(),
                }
                .into(),
            ));
            self.send(stop.to_bytes(), &session.target);
            self.send(session.dialog.bye().to_bytes(), &session.target);
        }
        for (_, purpose) in session.pending.drain() {
            if let Purpose::Engine(reply) = purpose {
                let _ = reply.send(Err(PbxError::Unavailable("the handset went away".into())));
            }
        }
        if let Some(events) = events {
            // Its calls are gone with it.
            let _ = events.try_send(LinkEvent::Snapshot {
                device: session.number,
                calls: Vec::new(),
            });
        }
    }

    /// A response from a handset.
    pub fn on_response(self: &Arc<Self>, response: &Response) {
        let Ok(call_id) = response.headers.call_id() else {
            return;
        };
        let Ok(cseq) = response.headers.cseq() else {
            return;
        };
        if response.status.is_provisional() {
            return;
        }
        let mut state = lock(&self.state);
        let Some(device) = state.by_call_id.get(call_id).copied() else {
            return;
        };
        let events = state
            .sessions
            .get(&device)
            .and_then(|s| state.events(s.pbx));
        let Some(session) = state.sessions.get_mut(&device) else {
            return;
        };
        if cseq.method == Method::Invite {
            if let Ok(Some(ack)) = session.dialog.on_invite_response(response) {
                self.send(ack.to_bytes(), &session.target);
            }
        }
        let Some(purpose) = session.pending.remove(&cseq.seq) else {
            return;
        };
        let answer = csta::decode(&response.body).ok();
        let number = session.number.clone();
        let target = session.target.clone();
        let mut next: Option<(Request, Purpose)> = None;
        match purpose {
            Purpose::Engine(reply) => {
                let result = match (&answer, response.status.is_success()) {
                    (Some(message), true) => csta_response(message),
                    (_, true) => Ok(PbxResponse::default()),
                    (_, false) => Err(PbxError::Rejected(format!(
                        "SIP {} {}",
                        response.status.as_u16(),
                        response.reason
                    ))),
                };
                let _ = reply.send(result);
            }
            Purpose::Open if response.status.is_success() => {
                let monitor: Csta = csta::MonitorStart::device(&number).into();
                next = Some((session.dialog.info(body(&monitor)), Purpose::Monitor));
            }
            Purpose::Monitor if response.status.is_success() => {
                let asked_at = session.events;
                next = Some((
                    session.dialog.info(body(&snapshot_request(&number))),
                    Purpose::Snapshot { asked_at, stale: 0 },
                ));
            }
            Purpose::Snapshot { asked_at, stale } if session.events != asked_at => {
                // An event came in after this answer was written: it is out of date.
                if stale < STALE_SNAPSHOTS {
                    let asked_at = session.events;
                    next = Some((
                        session.dialog.info(body(&snapshot_request(&number))),
                        Purpose::Snapshot {
                            asked_at,
                            stale: stale + 1,
                        },
                    ));
                }
            }
            Purpose::Snapshot { .. } => {
                if let (Some(events), Some(calls)) =
                    (events, answer.as_ref().and_then(snapshot_calls))
                {
                    let _ = events.try_send(LinkEvent::Snapshot {
                        device: number,
                        calls,
                    });
                }
            }
            Purpose::Open | Purpose::Monitor => {
                tracing::warn!(%device, status = response.status.as_u16(), "a handset refused the uaCSTA session");
            }
            Purpose::Refresh => {
                let result = if response.status.is_success() {
                    "ok"
                } else {
                    "refused"
                };
                metrics::counter!("ucplus_uacsta_refreshes_total", "result" => result).increment(1);
                if !response.status.is_success() {
                    tracing::info!(%device, status = response.status.as_u16(), "a handset refused the session refresh; dropping the session");
                    let call_id = session.dialog.call_id().to_string();
                    state.by_call_id.remove(&call_id);
                    state.sessions.remove(&device);
                    if let Some(events) = events {
                        let _ = events.try_send(LinkEvent::Snapshot {
                            device: number,
                            calls: Vec::new(),
                        });
                    }
                    return;
                }
            }
        }
        if let Some((request, purpose)) = next {
            if let Ok(seq) = request.headers.cseq().map(|c| c.seq) {
                session.pending.insert(seq, purpose);
            }
            drop(state);
            self.transmit(device, request, target);
        }
    }

    /// A request from a handset within a session (INFO with an event, BYE): its answer.
    pub fn on_request(&self, request: &Request) -> Option<Response> {
        let call_id = request.headers.call_id().ok()?;
        let mut state = lock(&self.state);
        let device = state.by_call_id.get(call_id).copied()?;
        let events = state
            .sessions
            .get(&device)
            .and_then(|s| state.events(s.pbx));
        let session = state.sessions.get_mut(&device)?;
        if session.dialog.on_request(request).is_err() {
            return Some(Response::for_request(
                request,
                StatusCode::CALL_DOES_NOT_EXIST,
            ));
        }
        match request.method {
            Method::Info => {
                if let (Ok(message), Some(events)) = (csta::decode(&request.body), events) {
                    if let Some(event) = link_event(&session.number, &message) {
                        session.events += 1;
                        if events.try_send(event).is_err() {
                            tracing::warn!("the engine is not keeping up with a handset's events");
                        }
                    }
                }
                Some(Response::for_request(request, StatusCode::OK))
            }
            Method::Bye => {
                let number = session.number.clone();
                state.by_call_id.remove(call_id);
                state.sessions.remove(&device);
                if let Some(events) = events {
                    let _ = events.try_send(LinkEvent::Snapshot {
                        device: number,
                        calls: Vec::new(),
                    });
                }
                Some(Response::for_request(request, StatusCode::OK))
            }
            _ => Some(Response::for_request(request, StatusCode::OK)),
        }
    }
}
