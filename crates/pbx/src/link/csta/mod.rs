//! The CSTA link: a TCP connection to a telephone system speaking CSTA XML (ECMA-323).
//!
//! One task per PBX connection: connect, open the session (ECMA-354, OpenScape-style
//! SystemStatus + SystemRegister, or none), monitor every configured device (and start or
//! stop monitors as devices change), take a snapshot of each monitored device so that the
//! engine's state matches the switch, answer and send heartbeats, correlate requests with
//! responses by invoke id (with timeouts), and on any failure reconnect with exponential
//! backoff and jitter — after which monitors and snapshots are redone, so no stale call
//! survives a reconnect. Malformed messages are logged and skipped, never fatal. What ends a
//! connection is a [`LinkFailure`]; its text is the down reason the engine sees.

mod config;
mod connection;
mod failure;
mod open;
mod settings;
mod tls;
mod translate;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use csta::{
    Framing, InvokeId, Message, MessageKind, MonitorStart, MonitorStop, Pending,
    RequestSystemStatus, ResetApplicationSessionTimer, SnapshotDevice, StopApplicationSession,
    SystemStatusResponse,
};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use ucplus_core::cti::{LinkEvent, LinkState, PbxError, PbxResponse};

use self::connection::Connection;
use super::LinkChannels;

pub use config::{CstaLinkConfig, SessionPattern};
pub use failure::LinkFailure;
pub use settings::CstaSettings;
pub use tls::TlsSettings;
pub use translate::{link_event, request_message, response, snapshot_calls};

/// Runs the link until shutdown: connects, serves, and reconnects after failures.
pub async fn run(config: CstaLinkConfig, mut channels: LinkChannels) {
    let mut backoff = config.backoff_min;
    loop {
        if *channels.shutdown.borrow() {
            break;
        }
        let _ = channels
            .events
            .send(LinkEvent::State {
                state: LinkState::Connecting,
                error: None,
            })
            .await;
        let started = Instant::now();
        match serve(&config, &mut channels).await {
            Ok(()) => break,
            Err(error) => {
                tracing::warn!(host = %config.host, port = config.port, code = error.code(), %error, "CSTA link down");
                let _ = channels
                    .events
                    .send(LinkEvent::State {
                        state: LinkState::Down,
                        error: Some(error.to_string()),
                    })
                    .await;
            }
        }
        if started.elapsed() > Duration::from_secs(30) {
            backoff = config.backoff_min;
        }
        let wait = jittered(backoff);
        backoff = (backoff * 2).min(config.backoff_max);
        // While down, refuse requests at once rather than letting them time out.
        let sleep = tokio::time::sleep(wait);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => break,
                changed = channels.shutdown.changed() => {
                    if changed.is_err() || *channels.shutdown.borrow() {
                        let _ = channels.events.send(LinkEvent::State { state: LinkState::Down, error: Some("stopped".into()) }).await;
                        return;
                    }
                }
                request = channels.requests.recv() => match request {
                    Some(request) => {
                        let _ = request.reply.send(Err(PbxError::Unavailable("the PBX link is down".into())));
                    }
                    None => return,
                },
            }
        }
    }
    let _ = channels
        .events
        .send(LinkEvent::State {
            state: LinkState::Down,
            error: Some("stopped".into()),
        })
        .await;
}

/// `base` ± 25 %, so that many links do not reconnect in lockstep.
fn jittered(base: Duration) -> Duration {
    let mut byte = [0u8; 1];
    let spread = if getrandom::getrandom(&mut byte).is_ok() {
        f64::from(byte[0]) / 255.0
    } else {
        0.5
    };
    base.mul_f64(0.75 + spread * 0.5)
}

/// What a request in flight was for.
enum Purpose {
    Engine(oneshot::Sender<Result<PbxResponse, PbxError>>),
    MonitorStart(String),
    Snapshot(String),
    Internal,
}

impl Purpose {
    /// Monitors and snapshots (thousands at start-up) wait behind call control and
    /// housekeeping, and leave part of the window to them.
    fn bulk(&self) -> bool {
        matches!(self, Purpose::MonitorStart(_) | Purpose::Snapshot(_))
    }
}

/// Call-control requests that may wait for the window at most; more are refused at once.
const URGENT_QUEUE: usize = 1024;

/// One connected session.
struct Session<'a> {
    config: &'a CstaLinkConfig,
    channels: &'a mut LinkChannels,
    connection: Connection,
    pending: Pending<Purpose, Instant>,
    /// For the NUL framing, which has no invoke ids: answers come in order.
    order: VecDeque<InvokeId>,
    monitors: HashMap<String, String>,
    devices: HashMap<String, String>,
    session_id: Option<String>,
    /// The session pattern in use (what `auto` settled on).
    session: SessionPattern,
    last_heard: Instant,
    last_keepalive: Instant,
    /// Initial monitors not answered yet; the link is reported up when this reaches 0,
    /// so "up" means the engine's picture of the devices is being resynchronised.
    awaiting_monitors: usize,
    announced: bool,
    /// Requests waiting for a place in the window, in order: call control and
    /// housekeeping first, then monitors and snapshots.
    urgent: VecDeque<(Message, Purpose)>,
    bulk: VecDeque<(Message, Purpose)>,
}

async fn serve(config: &CstaLinkConfig, channels: &mut LinkChannels) -> Result<(), LinkFailure> {
    if !config.lease.valid() {
        return Err(LinkFailure::LeaseLapsed);
    }
    let address = (config.host.as_str(), config.port);
    let stream = tokio::time::timeout(config.connect_timeout, TcpStream::connect(address))
        .await
        .map_err(|_| LinkFailure::ConnectTimeout {
            host: config.host.clone(),
            port: config.port,
            timeout: config.connect_timeout,
        })?
        .map_err(|error| LinkFailure::Connect {
            host: config.host.clone(),
            port: config.port,
            error,
        })?;
    let _ = stream.set_nodelay(true);
    let stream: Box<dyn connection::Io> = match &config.tls {
        None => Box::new(stream),
        Some(settings) => {
            let connector = tls::connector(settings)?;
            let name = tls::server_name(settings, &config.host)?;
            let secured =
                tokio::time::timeout(config.connect_timeout, connector.connect(name, stream))
                    .await
                    .map_err(|_| LinkFailure::TlsTimeout)?
                    .map_err(LinkFailure::TlsHandshake)?;
            Box::new(secured)
        }
    };
    let mut session = Session {
        config,
        channels,
        connection: Connection::new(stream, config.framing, config.edition, config.lease.clone()),
        pending: Pending::new(),
        order: VecDeque::new(),
        monitors: HashMap::new(),
        devices: HashMap::new(),
        session_id: None,
        session: config.session,
        last_heard: Instant::now(),
        last_keepalive: Instant::now(),
        awaiting_monitors: 0,
        announced: false,
        urgent: VecDeque::new(),
        bulk: VecDeque::new(),
    };
    session.open().await?;
    session
        .emit(LinkEvent::Session {
            mode: session.session.as_str().to_string(),
        })
        .await?;
    let wanted: BTreeSet<String> = session.channels.devices.borrow_and_update().clone();
    session.awaiting_monitors = wanted.len();
    for device in wanted {
        session.start_monitor(device).await?;
    }
    session.announce_if_ready().await?;
    session.run().await
}

impl Session<'_> {
    /// Reports the link up once the session is open and every initial monitor answered.
    async fn announce_if_ready(&mut self) -> Result<(), LinkFailure> {
        if !self.announced && self.awaiting_monitors == 0 {
            self.announced = true;
            tracing::info!(host = %self.config.host, port = self.config.port, "CSTA link up");
            self.emit(LinkEvent::State {
                state: LinkState::Up,
                error: None,
            })
            .await?;
        }
        Ok(())
    }

    /// Queues a request and sends what the window allows.
    async fn request(&mut self, message: Message, purpose: Purpose) -> Result<(), LinkFailure> {
        if purpose.bulk() {
            self.bulk.push_back((message, purpose));
        } else if self.urgent.len() >= URGENT_QUEUE {
            if let Purpose::Engine(reply) = purpose {
                let _ = reply.send(Err(PbxError::Unavailable("the link is overloaded".into())));
            }
            return Ok(());
        } else {
            self.urgent.push_back((message, purpose));
        }
        self.pump().await
    }

    /// Sends queued requests while the window has room. Bulk requests leave a quarter of
    /// the window to call control; a request whose caller gave up is dropped unsent.
    async fn pump(&mut self) -> Result<(), LinkFailure> {
        let window = self.config.window.max(1);
        let bulk_window = window - window / 4;
        loop {
            let in_flight = self.pending.len();
            let next = if in_flight < window && !self.urgent.is_empty() {
                self.urgent.pop_front()
            } else if in_flight < bulk_window {
                self.bulk.pop_front()
            } else {
                None
            };
            let Some((message, purpose)) = next else {
                return Ok(());
            };
            if let Purpose::Engine(reply) = &purpose {
                if reply.is_closed() {
                    continue;
                }
            }
            self.send_now(message, purpose).await?;
        }
    }

    /// Sends a request and records what it is for.
    async fn send_now(&mut self, message: Message, purpose: Purpose) -> Result<(), LinkFailure> {
        let deadline = Instant::now() + self.config.request_timeout;
        let id = match self.pending.insert(purpose, deadline) {
            Ok(id) => id,
            Err(full) => return Err(LinkFailure::InvokeIdsExhausted(full)),
        };
        if self.connection.framing() == Framing::Nul {
            self.order.push_back(id);
        }
        self.connection
            .send(id, &message)
            .await
            .map_err(LinkFailure::Write)
    }

    async fn answer_system_status(
        &mut self,
        invoke_id: Option<InvokeId>,
    ) -> Result<(), LinkFailure> {
        let response: Message = SystemStatusResponse {
            extra: Default::default(),
        }
        .into();
        self.connection
            .send(invoke_id.unwrap_or(InvokeId::EVENT), &response)
            .await
            .map_err(LinkFailure::HeartbeatAnswer)
    }

    async fn start_monitor(&mut self, device: String) -> Result<(), LinkFailure> {
        let message: Message = MonitorStart::device(&device).into();
        self.request(message, Purpose::MonitorStart(device)).await
    }

    async fn stop_monitor(&mut self, device: &str) -> Result<(), LinkFailure> {
        let Some(cross_ref) = self.devices.remove(device) else {
            return Ok(());
        };
        self.monitors.remove(&cross_ref);
        let message: Message = MonitorStop {
            monitor_cross_ref_id: cross_ref,
            extra: Default::default(),
        }
        .into();
        self.request(message, Purpose::Internal).await
    }

    async fn emit(&mut self, event: LinkEvent) -> Result<(), LinkFailure> {
        self.channels
            .events
            .send(event)
            .await
            .map_err(|_| LinkFailure::EngineStopped)
    }

    async fn run(&mut self) -> Result<(), LinkFailure> {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                frame = self.connection.read_frame() => match frame {
                    Ok(frame) => self.on_frame(frame).await?,
                    Err(LinkFailure::BrokenFrame(error)) => return Err(LinkFailure::OutOfStep(error)),
                    Err(failure) => return Err(failure),
                },
                request = self.channels.requests.recv() => match request {
                    Some(request) => {
                        let message = request_message(&request.request);
                        self.request(message, Purpose::Engine(request.reply)).await?;
                    }
                    None => return Ok(()),
                },
                changed = self.channels.devices.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    let wanted: BTreeSet<String> = self.channels.devices.borrow_and_update().clone();
                    let current: BTreeSet<String> = self.devices.keys().cloned().collect();
                    for device in wanted.difference(&current).cloned().collect::<Vec<_>>() {
                        self.start_monitor(device).await?;
                    }
                    for device in current.difference(&wanted).cloned().collect::<Vec<_>>() {
                        self.stop_monitor(&device).await?;
                    }
                },
                changed = self.channels.shutdown.changed() => {
                    if changed.is_err() || *self.channels.shutdown.borrow() {
                        self.close().await;
                        return Ok(());
                    }
                },
                _ = tick.tick() => self.on_tick().await?,
            }
        }
    }

    async fn on_tick(&mut self) -> Result<(), LinkFailure> {
        let now = Instant::now();
        let expired = self.pending.expire(now);
        if !self.order.is_empty() {
            self.order
                .retain(|id| !expired.iter().any(|(gone, _)| gone == id));
        }
        for (_, purpose) in expired {
            match purpose {
                Purpose::Engine(reply) => {
                    let _ = reply.send(Err(PbxError::Timeout));
                }
                Purpose::MonitorStart(device) => {
                    tracing::warn!(%device, "the PBX did not answer MonitorStart; retrying");
                    self.start_monitor(device).await?;
                }
                Purpose::Snapshot(device) => {
                    tracing::warn!(%device, "the PBX did not answer SnapshotDevice")
                }
                Purpose::Internal => {}
            }
        }
        self.pump().await?;
        if self.last_heard.elapsed() > self.config.heartbeat_timeout {
            return Err(LinkFailure::PbxSilent {
                silent: self.last_heard.elapsed(),
            });
        }
        let keepalive_due = match self.session {
            SessionPattern::Ecma354 => {
                self.last_keepalive.elapsed() >= self.config.heartbeat_interval
            }
            // The switch's SystemStatus is the heartbeat; we only probe when it is late.
            SessionPattern::SystemStatus => {
                self.last_heard.elapsed() >= self.config.heartbeat_interval * 2
                    && self.last_keepalive.elapsed() >= self.config.heartbeat_interval
            }
            SessionPattern::None | SessionPattern::Auto => {
                self.last_keepalive.elapsed() >= self.config.heartbeat_interval
            }
        };
        if keepalive_due {
            self.last_keepalive = Instant::now();
            let message: Message = match (&self.session, &self.session_id) {
                (SessionPattern::Ecma354, Some(id)) => ResetApplicationSessionTimer {
                    session_id: id.clone(),
                    requested_session_duration: Some(self.session_duration()),
                    extra: Default::default(),
                }
                .into(),
                _ => RequestSystemStatus {
                    extra: Default::default(),
                }
                .into(),
            };
            self.request(message, Purpose::Internal).await?;
        }
        Ok(())
    }

    async fn on_frame(&mut self, frame: csta::Frame) -> Result<(), LinkFailure> {
        self.last_heard = Instant::now();
        let message = match csta::decode(&frame.xml) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(code = error.code(), %error, "skipping a malformed message from the PBX");
                return Ok(());
            }
        };
        match message.kind() {
            MessageKind::Event => self.on_event(&message).await,
            MessageKind::Request => {
                if let Message::SystemStatus(_) = message {
                    self.answer_system_status(frame.invoke_id).await?;
                }
                Ok(())
            }
            MessageKind::Response | MessageKind::Error => {
                let id = match frame.invoke_id {
                    Some(id) => Some(id),
                    None => self.order.pop_front(),
                };
                let Some(purpose) = id.and_then(|id| self.pending.complete(id)) else {
                    tracing::debug!(message = message.name(), "an answer to no pending request");
                    return Ok(());
                };
                self.on_answer(purpose, message).await?;
                self.pump().await
            }
            MessageKind::Unknown => {
                tracing::debug!(
                    message = message.name(),
                    "ignoring an unknown message from the PBX"
                );
                Ok(())
            }
        }
    }

    async fn on_answer(&mut self, purpose: Purpose, message: Message) -> Result<(), LinkFailure> {
        match purpose {
            Purpose::Engine(reply) => {
                let _ = reply.send(response(&message));
            }
            Purpose::MonitorStart(device) => {
                self.awaiting_monitors = self.awaiting_monitors.saturating_sub(1);
                self.on_monitor_started(device, message).await?;
                self.announce_if_ready().await?;
            }
            Purpose::Snapshot(device) => {
                if let Some(calls) = snapshot_calls(&message) {
                    self.emit(LinkEvent::Snapshot { device, calls }).await?;
                }
            }
            Purpose::Internal => {
                if let Message::CstaErrorCode(error) = message {
                    tracing::debug!(reason = %format!("{} {}", error.category.as_str(), error.value), "a housekeeping request was refused");
                }
            }
        }
        Ok(())
    }

    /// The answer to a MonitorStart: record the monitor and take the device's snapshot.
    async fn on_monitor_started(
        &mut self,
        device: String,
        message: Message,
    ) -> Result<(), LinkFailure> {
        match message {
            Message::MonitorStartResponse(ok) => {
                if !self.channels.devices.borrow().contains(&device) {
                    // Removed while we waited: undo.
                    let stop: Message = MonitorStop {
                        monitor_cross_ref_id: ok.monitor_cross_ref_id,
                        extra: Default::default(),
                    }
                    .into();
                    return self.request(stop, Purpose::Internal).await;
                }
                self.monitors
                    .insert(ok.monitor_cross_ref_id.clone(), device.clone());
                self.devices.insert(device.clone(), ok.monitor_cross_ref_id);
                let snapshot: Message = SnapshotDevice {
                    snapshot_object: csta::DeviceId::new(device.as_str()),
                    extra: Default::default(),
                }
                .into();
                self.request(snapshot, Purpose::Snapshot(device)).await?;
            }
            Message::CstaErrorCode(error) => {
                tracing::warn!(%device, reason = %format!("{} {}", error.category.as_str(), error.value), "the PBX refused to monitor a device");
            }
            other => {
                tracing::warn!(%device, answer = other.name(), "unexpected answer to MonitorStart")
            }
        }
        Ok(())
    }

    async fn on_event(&mut self, message: &Message) -> Result<(), LinkFailure> {
        let Some(cross_ref) = event_cross_ref(message) else {
            return Ok(());
        };
        let Some(device) = self.monitors.get(cross_ref).cloned() else {
            return Ok(());
        };
        if let Some(event) = link_event(&device, message) {
            self.emit(event).await?;
        }
        Ok(())
    }

    /// Ends the session politely.
    async fn close(&mut self) {
        let devices: Vec<String> = self.devices.keys().cloned().collect();
        for device in devices {
            let _ = self.stop_monitor(&device).await;
        }
        if let (SessionPattern::Ecma354, Some(id)) = (self.session, self.session_id.clone()) {
            let stop: Message = StopApplicationSession {
                session_id: id,
                session_end_reason: None,
                extra: Default::default(),
            }
            .into();
            let _ = tokio::time::timeout(
                Duration::from_secs(1),
                self.send_now(stop, Purpose::Internal),
            )
            .await;
        }
    }
}

/// The `monitorCrossRefID` an event starts with.
fn event_cross_ref(message: &Message) -> Option<&str> {
    Some(match message {
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
        Message::DoNotDisturbEvent(e) => e.monitor_cross_ref_id.as_deref()?,
        Message::ForwardingEvent(e) => e.monitor_cross_ref_id.as_deref()?,
        _ => return None,
    })
}
