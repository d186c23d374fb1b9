//! The handset's one task: owns the sockets' inbound queue, the registration, the uaCSTA
//! dialog (UAS side), the event queue and the phone; wakes every [`TICK`] for timers.
//! Nothing here trusts the network: a message missing what it needs is answered 400 or
//! dropped, never unwrapped.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use csta::{CstaErrorCode, ErrorCategory, EventCause};
use sip::{
    CSTA_CONTENT_TYPE, Message, Method, Request, Response, StatusCode, csta_ok, new_tag, timers,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use super::dialog::{UasDialog, in_dialog, info_request, transaction_key};
use super::exchange::Signal;
use super::phone::{Phone, PhoneEvent};
use super::register::{RegisterStep, Registration};
use super::requests::{Monitor, serve};
use super::transport::{Inbound, Peer, Sockets};
use super::{HandsetConfig, RegistrationState};
use crate::sim::SimError;
use crate::sim::events::address;

/// How often timers are checked.
const TICK: Duration = Duration::from_millis(50);
/// Events waiting for the INFO in flight; the oldest are dropped beyond this.
const MAX_QUEUED_EVENTS: usize = 256;
/// Answers kept to repeat for retransmitted requests.
const MAX_CACHED_RESPONSES: usize = 32;
/// Inbound messages queued from the socket readers.
const INBOUND_QUEUE: usize = 256;

/// A manual action on the phone.
#[derive(Debug)]
pub(crate) enum Action {
    Dial(String),
    RingFrom(String),
    Answer,
    HangUp,
    Hold,
    Retrieve,
    DoNotDisturb(bool),
}

#[derive(Debug)]
pub(crate) enum Command {
    Act(Action, oneshot::Sender<Result<(), SimError>>),
    Reboot,
    Unregister,
    Shutdown,
}

/// A request this side sent and awaits a final response to.
pub(crate) struct Transaction {
    pub(crate) request: Request,
    pub(crate) peer: Peer,
    sent: u32,
    /// The next retransmission (UDP only).
    next: Option<Instant>,
    give_up: Instant,
}

impl Transaction {
    pub(crate) fn new(request: Request, peer: Peer, now: Instant) -> Transaction {
        let next = matches!(peer, Peer::Udp(_)).then(|| now + timers::retransmit_after(1, false));
        Transaction {
            request,
            peer,
            sent: 1,
            next,
            give_up: now + timers::TIMER_F,
        }
    }

    /// Whether `response` answers this request (Call-ID and CSeq).
    pub(crate) fn give_up_at(&self) -> Instant {
        self.give_up
    }

    pub(crate) fn answered_by(&self, response: &Response) -> bool {
        let (Ok(cseq), Ok(call_id)) = (response.headers.cseq(), response.headers.call_id()) else {
            return false;
        };
        self.request.headers.call_id().ok() == Some(call_id)
            && self.request.headers.cseq().ok() == Some(cseq)
    }
}

pub(crate) struct Agent {
    config: HandsetConfig,
    sockets: Sockets,
    inbound: mpsc::Receiver<Inbound>,
    tasks: JoinSet<()>,
    state: watch::Sender<RegistrationState>,
    /// `SnapshotDevice` requests answered so far: the last step of opening a session.
    snapshots: watch::Sender<u64>,
    registration: Registration,
    phone: Phone,
    monitor: Monitor,
    dialog: Option<UasDialog>,
    info: Option<Transaction>,
    events: VecDeque<csta::Message>,
    responses: VecDeque<(String, Response)>,
    reboot_at: Option<Instant>,
    /// This handset's line on its exchange, if it has one.
    line: Option<mpsc::UnboundedReceiver<Signal>>,
    /// The calls as last told to the exchange: id → (far end, state).
    told: HashMap<u64, (String, csta::LocalConnectionState)>,
}

impl Agent {
    pub(crate) async fn open(
        config: HandsetConfig,
        state: watch::Sender<RegistrationState>,
        snapshots: watch::Sender<u64>,
    ) -> io::Result<Agent> {
        let (sender, inbound) = mpsc::channel(INBOUND_QUEUE);
        let mut tasks = JoinSet::new();
        let sockets = Sockets::open(
            config.transport,
            config.listen,
            config.registrar,
            sender,
            &mut tasks,
        )
        .await?;
        let registration = Registration::new(&config, sockets.local, sockets.registrar.clone());
        let line = config
            .exchange
            .as_ref()
            .map(|exchange| exchange.join(&config.number));
        Ok(Agent {
            line,
            told: HashMap::new(),
            phone: Phone::new(&config.number, config.answer_delay),
            config,
            sockets,
            inbound,
            tasks,
            state,
            snapshots,
            registration,
            monitor: Monitor::default(),
            dialog: None,
            info: None,
            events: VecDeque::new(),
            responses: VecDeque::new(),
            reboot_at: None,
        })
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.sockets.local
    }

    pub(crate) async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        self.register(Instant::now()).await;
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                inbound = self.inbound.recv() => match inbound {
                    Some(Inbound { message: Message::Request(request), peer }) => {
                        self.on_request(request, peer).await;
                    }
                    Some(Inbound { message: Message::Response(response), .. }) => {
                        self.on_response(response).await;
                    }
                    None => break,
                },
                command = commands.recv() => match command {
                    Some(Command::Act(action, reply)) => {
                        let result = self.act(action);
                        let _ = reply.send(result);
                        self.pump().await;
                    }
                    Some(Command::Reboot) => self.reboot(),
                    Some(Command::Unregister) => {
                        let request = self.registration.unregister(Instant::now());
                        self.send_register(request).await;
                    }
                    Some(Command::Shutdown) | None => break,
                },
                _ = tick.tick() => self.on_tick().await,
                Some(signal) = next_signal(&mut self.line) => {
                    self.on_signal(signal);
                    self.pump().await;
                }
            }
        }
        if let Some(exchange) = &self.config.exchange {
            exchange.leave(&self.config.number);
        }
        self.tasks.abort_all();
    }

    /// Another handset of the exchange tells what happened on its side of a call.
    fn on_signal(&mut self, signal: Signal) {
        let events = match signal {
            Signal::Ring { from } => match self.phone.ring_from(&from) {
                Ok(events) => events,
                Err(_) => {
                    // Busy or do-not-disturb: the caller's call ends.
                    if let Some(exchange) = &self.config.exchange {
                        exchange.signal(
                            &from,
                            Signal::Cleared {
                                by: self.config.number.clone(),
                            },
                        );
                    }
                    Vec::new()
                }
            },
            Signal::Answered { by } => {
                self.phone.far_answered(&by, Instant::now());
                Vec::new()
            }
            Signal::Cleared { by } => self.phone.far_cleared(&by),
        };
        self.emit(events);
    }

    /// Tells the exchange what changed in this phone's calls with other handsets: a new
    /// outgoing call rings the far handset, an answered one connects it, an ended one
    /// ends it there too.
    fn tell_exchange(&mut self) {
        let Some(exchange) = self.config.exchange.clone() else {
            return;
        };
        let me = self.config.number.clone();
        let lines = self.phone.lines();
        for (id, far, state, far_to_answer) in &lines {
            match self.told.get(id) {
                None if *far_to_answer
                    && exchange.has(far)
                    && exchange.signal(far, Signal::Ring { from: me.clone() }) =>
                {
                    self.phone.far_is_a_handset(*id);
                }
                Some((_, before))
                    if *before == csta::LocalConnectionState::Alerting
                        && *state == csta::LocalConnectionState::Connected =>
                {
                    exchange.signal(far, Signal::Answered { by: me.clone() });
                }
                _ => {}
            }
        }
        for (id, (far, _)) in &self.told {
            if !lines.iter().any(|(line, ..)| line == id) {
                exchange.signal(far, Signal::Cleared { by: me.clone() });
            }
        }
        self.told = lines
            .into_iter()
            .map(|(id, far, state, _)| (id, (far, state)))
            .collect();
    }

    fn act(&mut self, action: Action) -> Result<(), SimError> {
        let now = Instant::now();
        let phone = &mut self.phone;
        let events = match action {
            Action::Dial(number) => phone.dial(&number, EventCause::NewCall, now)?.1,
            Action::RingFrom(number) => phone.ring_from(&number)?,
            Action::Answer => phone.answer(None)?,
            Action::HangUp => phone.clear(None)?,
            Action::Hold => phone.hold(None, EventCause::Normal)?,
            Action::Retrieve => phone.retrieve(None)?,
            Action::DoNotDisturb(on) => phone.set_do_not_disturb(on),
        };
        self.emit(events);
        Ok(())
    }

    fn reboot(&mut self) {
        self.drop_session();
        self.phone.reset();
        self.registration.stop();
        self.state.send_replace(RegistrationState::Unregistered);
        self.reboot_at = Some(Instant::now() + self.config.reboot_delay);
    }

    /// Forgets the dialog, its monitor and the events for it.
    fn drop_session(&mut self) {
        self.dialog = None;
        self.monitor.cross_ref = None;
        self.info = None;
        self.events.clear();
    }

    async fn register(&mut self, now: Instant) {
        let request = self.registration.register(now);
        self.send_register(request).await;
    }

    async fn send_register(&mut self, request: Request) {
        let message = Message::Request(request);
        self.sockets.send(&self.sockets.registrar, &message).await;
    }

    async fn on_register_step(&mut self, step: RegisterStep) {
        match step {
            RegisterStep::Send(request) => self.send_register(request).await,
            RegisterStep::State(state) => {
                self.state.send_replace(state);
            }
        }
    }

    async fn on_tick(&mut self) {
        let now = Instant::now();
        if self.reboot_at.is_some_and(|at| at <= now) {
            self.reboot_at = None;
            let peer = self.sockets.registrar.clone();
            self.registration = Registration::new(&self.config, self.sockets.local, peer);
            self.register(now).await;
        }
        if let Some(step) = self.registration.due(now) {
            self.on_register_step(step).await;
        }
        if let Some(info) = &mut self.info {
            if info.give_up <= now {
                tracing::debug!("handset: an INFO timed out, dropping the dialog");
                self.drop_session();
            } else if let Some(request) = retransmit(info, now) {
                let peer = info.peer.clone();
                self.sockets.send(&peer, &Message::Request(request)).await;
            }
        }
        let events = self.phone.tick(now);
        self.emit(events);
        self.pump().await;
    }

    async fn on_response(&mut self, response: Response) {
        if response.status.is_provisional() {
            return;
        }
        if let Some(step) = self.registration.on_response(&response, Instant::now()) {
            self.on_register_step(step).await;
            return;
        }
        if self.info.as_ref().is_some_and(|t| t.answered_by(&response)) {
            self.info = None;
            let status = response.status;
            if status == StatusCode::CALL_DOES_NOT_EXIST || status == StatusCode::REQUEST_TIMEOUT {
                self.drop_session();
            }
            self.pump().await;
        }
    }

    async fn on_request(&mut self, request: Request, peer: Peer) {
        let Some(key) = transaction_key(&request) else {
            return;
        };
        if request.method == Method::Ack {
            return;
        }
        if let Some((_, cached)) = self.responses.iter().find(|(k, _)| *k == key) {
            let message = Message::Response(cached.clone());
            self.sockets.send(&peer, &message).await;
            return;
        }
        let response = match request.method {
            Method::Invite => self.on_invite(&request, &peer),
            Method::Info => self.on_info(&request),
            Method::Bye => self.on_bye(&request),
            Method::Options => Response::for_request(&request, StatusCode::OK),
            Method::Cancel => Response::for_request(&request, StatusCode::CALL_DOES_NOT_EXIST),
            _ => {
                let mut response = Response::for_request(&request, StatusCode::METHOD_NOT_ALLOWED);
                response
                    .headers
                    .set("Allow", "INVITE, ACK, INFO, BYE, OPTIONS");
                response
            }
        };
        if self.responses.len() >= MAX_CACHED_RESPONSES {
            self.responses.pop_front();
        }
        self.responses.push_back((key, response.clone()));
        self.sockets.send(&peer, &Message::Response(response)).await;
        self.pump().await;
    }

    fn on_invite(&mut self, request: &Request, peer: &Peer) -> Response {
        if !request.headers.has_content_type(CSTA_CONTENT_TYPE) {
            let mut response = Response::for_request(request, StatusCode::UNSUPPORTED_MEDIA_TYPE);
            response.headers.set("Accept", CSTA_CONTENT_TYPE);
            return response;
        }
        let Ok(csta_request) = csta::decode(&request.body) else {
            return Response::for_request(request, not_acceptable());
        };
        let (Ok(to), Ok(from), Ok(cseq)) = (
            request.headers.to(),
            request.headers.from(),
            request.headers.cseq(),
        ) else {
            return Response::for_request(request, StatusCode::BAD_REQUEST);
        };
        match to.tag() {
            Some(_) => match self.dialog.as_mut() {
                Some(dialog) if in_dialog(dialog, request) => {
                    if cseq.seq <= dialog.remote_cseq {
                        return Response::for_request(request, StatusCode::SERVER_INTERNAL_ERROR);
                    }
                    dialog.remote_cseq = cseq.seq;
                }
                _ => return Response::for_request(request, StatusCode::CALL_DOES_NOT_EXIST),
            },
            None => {
                if from.tag().is_none() {
                    return Response::for_request(request, StatusCode::BAD_REQUEST);
                }
                self.drop_session();
                let mut local = to.clone();
                local.set_tag(&new_tag());
                let remote_target = match request.headers.contacts() {
                    Ok(sip::Contacts::List(contacts)) => contacts.into_iter().next(),
                    _ => None,
                }
                .map_or_else(|| from.uri.clone(), |contact| contact.uri);
                self.dialog = Some(UasDialog {
                    call_id: request.headers.call_id().unwrap_or_default().to_owned(),
                    local,
                    remote: from,
                    remote_target,
                    local_cseq: 0,
                    remote_cseq: cseq.seq,
                    peer: peer.clone(),
                });
            }
        }
        let mut response = self.serve_csta(request, csta_request);
        if let Some(dialog) = &self.dialog {
            response.headers.set("To", dialog.local.to_string());
        }
        response.headers.set("Contact", self.registration.contact());
        response
    }

    fn on_info(&mut self, request: &Request) -> Response {
        let Some(dialog) = self.dialog.as_mut().filter(|d| in_dialog(d, request)) else {
            return Response::for_request(request, StatusCode::CALL_DOES_NOT_EXIST);
        };
        let Ok(cseq) = request.headers.cseq() else {
            return Response::for_request(request, StatusCode::BAD_REQUEST);
        };
        if cseq.seq <= dialog.remote_cseq {
            return Response::for_request(request, StatusCode::SERVER_INTERNAL_ERROR);
        }
        dialog.remote_cseq = cseq.seq;
        if !request.headers.has_content_type(CSTA_CONTENT_TYPE) {
            let mut response = Response::for_request(request, StatusCode::UNSUPPORTED_MEDIA_TYPE);
            response.headers.set("Accept", CSTA_CONTENT_TYPE);
            return response;
        }
        match csta::decode(&request.body) {
            Ok(csta_request) => self.serve_csta(request, csta_request),
            Err(_) => {
                let error = CstaErrorCode::new(ErrorCategory::Operation, "generic");
                csta_ok(request, csta::encode(&error.into(), self.config.edition))
            }
        }
    }

    fn on_bye(&mut self, request: &Request) -> Response {
        if self.dialog.as_ref().is_some_and(|d| in_dialog(d, request)) {
            self.drop_session();
            Response::for_request(request, StatusCode::OK)
        } else {
            Response::for_request(request, StatusCode::CALL_DOES_NOT_EXIST)
        }
    }

    fn serve_csta(&mut self, request: &Request, csta_request: csta::Message) -> Response {
        let now = Instant::now();
        let snapshot = matches!(csta_request, csta::Message::SnapshotDevice(_));
        let served = serve(&mut self.phone, &mut self.monitor, csta_request, now);
        self.emit(served.events);
        if snapshot {
            // Counted before the answer goes out; the task sends it before it takes the
            // next command, so whoever waited on the count acts after the answer left.
            self.snapshots.send_modify(|count| *count += 1);
        }
        csta_ok(request, csta::encode(&served.response, self.config.edition))
    }

    /// Queues events for the monitor, if there is one.
    fn emit(&mut self, events: Vec<PhoneEvent>) {
        // Every change of the phone's calls passes here: tell the other handsets first.
        self.tell_exchange();
        let Some(cross_ref) = self.monitor.cross_ref.as_deref() else {
            return;
        };
        for (mut event, local_connection_info) in events {
            address(&mut event, cross_ref, local_connection_info);
            if self.events.len() >= MAX_QUEUED_EVENTS {
                self.events.pop_front();
            }
            self.events.push_back(event);
        }
    }

    /// Sends the next queued event when no INFO is in flight.
    async fn pump(&mut self) {
        if self.info.is_some() {
            return;
        }
        let (Some(dialog), Some(event)) = (self.dialog.as_mut(), self.events.pop_front()) else {
            return;
        };
        let xml = csta::encode(&event, self.config.edition);
        let request = info_request(dialog, &self.config, self.sockets.local, xml);
        let peer = dialog.peer.clone();
        self.sockets
            .send(&peer, &Message::Request(request.clone()))
            .await;
        self.info = Some(Transaction::new(request, peer, Instant::now()));
    }
}

/// The next signal on a handset's exchange line; never, without a line.
async fn next_signal(line: &mut Option<mpsc::UnboundedReceiver<Signal>>) -> Option<Signal> {
    match line {
        Some(line) => line.recv().await,
        None => std::future::pending().await,
    }
}

/// The request again if its retransmission is due (Timer E), scheduling the next one.
pub(crate) fn retransmit(transaction: &mut Transaction, now: Instant) -> Option<Request> {
    let next = transaction.next?;
    if next > now {
        return None;
    }
    transaction.sent = transaction.sent.saturating_add(1);
    transaction.next = Some(now + timers::retransmit_after(transaction.sent, false));
    Some(transaction.request.clone())
}

/// 488 Not Acceptable Here: a CSTA body that does not decode.
fn not_acceptable() -> StatusCode {
    StatusCode::new(488).unwrap_or(StatusCode::UNSUPPORTED_MEDIA_TYPE)
}
