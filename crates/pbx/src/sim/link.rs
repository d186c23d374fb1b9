//! One client connection, served by one task: frames in, each document through the
//! session and to the switch, the answer out under the request's invoke id; queued
//! events out under invoke id 9999; heartbeats and session expiry on a timer.
//!
//! The task is the only writer of its socket, so a request's response is always written
//! before the events the request caused (those wait in the link's queue). Writes are
//! batched and bounded by a timeout; a client that stops reading is dropped.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use csta::{
    CstaErrorCode, ErrorCategory, Frame, FrameCodec, FrameError, Framing, InvokeId,
    InvokeIdAllocator, Message, MessageKind, SystemStatus, SystemStatusValue,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::{Duration, Instant, sleep_until, timeout};
use tracing::debug;

use super::events;
use super::requests;
use super::session::{Due, Session, Step};
use super::shared::{Shared, stopped};
use super::stats::Stats;
use super::switch::{LinkId, Outbound};

/// Events handled per wake-up before the socket is written (bounds the batch).
const EVENT_BATCH: usize = 256;

/// A well-framed document that is not well-formed XML (see `Simulator::send_malformed`).
const MALFORMED: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DeliveredEvent>\
    <monitorCrossRefID>0</monitorCrossRefID><connection><callID>1</callID></DeliveredEvent>";

/// Why a link ended (for the log).
enum End {
    Shutdown,
    Dropped,
    ClosedByClient,
    SessionExpired,
    BadFrame(FrameError),
    Io(std::io::Error),
    WriteTimeout,
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            End::Shutdown => f.write_str("the simulator shut down"),
            End::Dropped => f.write_str("dropped by the switch"),
            End::ClosedByClient => f.write_str("closed by the client"),
            End::SessionExpired => f.write_str("session expired or heartbeats missed"),
            End::BadFrame(error) => write!(f, "bad frame: {error}"),
            End::Io(error) => write!(f, "I/O error: {error}"),
            End::WriteTimeout => f.write_str("the client did not read in time"),
        }
    }
}

/// Everything one link task owns besides the socket.
struct Link {
    shared: Arc<Shared>,
    id: LinkId,
    codec: FrameCodec,
    read_buffer: BytesMut,
    write_buffer: BytesMut,
    session: Session,
    heartbeat_ids: InvokeIdAllocator,
}

/// Serves one accepted connection until it closes; the link must already be registered
/// with the switch under `id` (its queue is `outbound`, its close signal `close`).
pub(crate) async fn serve(
    stream: TcpStream,
    shared: Arc<Shared>,
    id: LinkId,
    mut outbound: mpsc::Receiver<Outbound>,
    close: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    Stats::bump(&shared.stats.connections_open);
    let config = &shared.config;
    let mut link = Link {
        codec: FrameCodec::new(config.framing),
        read_buffer: BytesMut::with_capacity(8 * 1024),
        write_buffer: BytesMut::with_capacity(8 * 1024),
        session: Session::new(&config.session, config.edition, id),
        heartbeat_ids: InvokeIdAllocator::new(),
        shared: shared.clone(),
        id,
    };
    let end = link.run(stream, &mut outbound, &close, &mut shutdown).await;
    debug!(link = id, %end, "CSTA simulator link closed");
    shared.switch().remove_link(id);
    shared
        .stats
        .connections_open
        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
}

impl Link {
    async fn run(
        &mut self,
        stream: TcpStream,
        outbound: &mut mpsc::Receiver<Outbound>,
        close: &Notify,
        shutdown: &mut watch::Receiver<bool>,
    ) -> End {
        let (mut reader, mut writer) = stream.into_split();
        if self.session.greets() {
            self.heartbeat();
        }
        // Each turn handles one wake-up (a read, a batch of events, a timer): the loop
        // runs as long as the link lives and ends with it.
        loop {
            if let Err(end) = self.flush(&mut writer).await {
                return end;
            }
            let deadline = self.session.deadline();
            let far = Instant::now() + Duration::from_secs(86_400);
            // Unbiased: neither a flood of requests nor of events starves the other or
            // the session timer.
            tokio::select! {
                _ = stopped(shutdown) => return End::Shutdown,
                _ = close.notified() => return End::Dropped,
                read = reader.read_buf(&mut self.read_buffer) => match read {
                    Ok(0) => return End::ClosedByClient,
                    Ok(_) => {
                        if let Err(error) = self.handle_frames() {
                            return End::BadFrame(error);
                        }
                    }
                    Err(error) => return End::Io(error),
                },
                Some(first) = outbound.recv() => {
                    self.write_outbound(first);
                    for _ in 1..EVENT_BATCH {
                        match outbound.try_recv() {
                            Ok(next) => self.write_outbound(next),
                            Err(_) => break,
                        }
                    }
                }
                _ = sleep_until(deadline.unwrap_or(far)), if deadline.is_some() => {
                    match self.session.on_deadline(Instant::now(), self.shared.is_silent()) {
                        Due::Nothing => {}
                        Due::Heartbeat => self.heartbeat(),
                        Due::Expired => return End::SessionExpired,
                    }
                }
            }
        }
    }

    /// Handles every whole frame buffered (each consumes its bytes, so this ends).
    fn handle_frames(&mut self) -> Result<(), FrameError> {
        while let Some(frame) = self.codec.decode(&mut self.read_buffer)? {
            self.handle_frame(frame);
        }
        Ok(())
    }

    fn handle_frame(&mut self, frame: Frame) {
        Stats::bump(&self.shared.stats.requests_handled);
        let invoke_id = frame.invoke_id;
        let message = match csta::decode(&frame.xml) {
            Ok(message) => message,
            Err(error) => {
                debug!(link = self.id, code = error.code(), %error, "undecodable document");
                let answer = CstaErrorCode::new(ErrorCategory::Operation, "generic");
                self.write_answer(invoke_id, &answer.into());
                return;
            }
        };
        match self.session.on_message(&message, invoke_id, Instant::now()) {
            Step::Serve => {
                let answer = requests::serve(&mut self.shared.switch(), self.id, &message);
                if let Some(answer) = answer {
                    self.write_answer(invoke_id, &answer);
                }
            }
            Step::Answer(answer) => self.write_answer(invoke_id, &answer),
            Step::AnswerAndEnd(answer) => {
                self.shared.switch().remove_monitors(self.id);
                self.write_answer(invoke_id, &answer);
            }
            Step::Nothing => {}
        }
    }

    fn write_answer(&mut self, invoke_id: Option<InvokeId>, answer: &Message) {
        if answer.kind() == MessageKind::Error {
            Stats::bump(&self.shared.stats.errors_sent);
        }
        if !self.shared.is_silent() {
            self.write(invoke_id, answer);
        }
    }

    fn write_outbound(&mut self, outbound: Outbound) {
        if self.shared.is_silent() {
            if matches!(outbound, Outbound::Event(_)) {
                Stats::bump(&self.shared.stats.events_dropped);
            }
            return;
        }
        match outbound {
            Outbound::Event(mut event) => {
                if self.shared.stamp_events() {
                    events::stamp(&mut event, unix_nanos());
                }
                self.write(Some(InvokeId::EVENT), &event);
                Stats::bump(&self.shared.stats.events_sent);
            }
            Outbound::Malformed => {
                self.write_frame(
                    Some(InvokeId::EVENT),
                    Bytes::from_static(MALFORMED.as_bytes()),
                );
                Stats::bump(&self.shared.stats.malformed_sent);
            }
        }
    }

    /// Sends a `SystemStatus` heartbeat (unless silent) and tells the session.
    fn heartbeat(&mut self) {
        let invoke_id = match self.codec.framing() {
            Framing::Header => self.heartbeat_ids.allocate(|_| false),
            Framing::Nul => None,
        };
        self.session.heartbeat_sent(invoke_id, Instant::now());
        if !self.shared.is_silent() {
            let status = SystemStatus {
                system_status: SystemStatusValue::Normal,
                extra: Default::default(),
            };
            self.write(invoke_id, &status.into());
        }
    }

    fn write(&mut self, invoke_id: Option<InvokeId>, message: &Message) {
        let xml = csta::encode(message, self.shared.config.edition);
        self.write_frame(invoke_id, Bytes::from(xml));
    }

    /// Frames a document into the write buffer (invoke ids are dropped in NUL framing).
    fn write_frame(&mut self, invoke_id: Option<InvokeId>, xml: Bytes) {
        let invoke_id = match self.codec.framing() {
            Framing::Header => invoke_id.or(Some(InvokeId::EVENT)),
            Framing::Nul => None,
        };
        if let Err(error) = self
            .codec
            .encode(Frame::new(invoke_id, xml), &mut self.write_buffer)
        {
            debug!(link = self.id, code = error.code(), %error, "document not sent");
        }
    }

    async fn flush(&mut self, writer: &mut OwnedWriteHalf) -> Result<(), End> {
        if self.write_buffer.is_empty() {
            return Ok(());
        }
        let limit = self.shared.config.limits.write_timeout;
        match timeout(limit, writer.write_all(&self.write_buffer)).await {
            Ok(Ok(())) => {
                self.write_buffer.clear();
                Ok(())
            }
            Ok(Err(error)) => Err(End::Io(error)),
            Err(_) => {
                Stats::bump(&self.shared.stats.slow_links_dropped);
                Err(End::WriteTimeout)
            }
        }
    }
}

fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos())
}
