//! The client: one TCP connection at a time, a supervisor task that reconnects it, one
//! writer and one reader per connection.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::codec::{
    self, ClientOp, CodecError, ConnectInfo, DEFAULT_MAX_LINE, DEFAULT_MAX_PAYLOAD, Parser,
    ServerOp,
};

/// Why an operation of the client failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid NATS URL {0:?} (expected nats://[user:pass@]host[:port])")]
    InvalidUrl(String),
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server did not complete the handshake in time")]
    ConnectTimeout,
    #[error("handshake: {0}")]
    Handshake(&'static str),
    #[error("protocol: {0}")]
    Protocol(#[from] CodecError),
    #[error("server error: {0}")]
    Server(String),
    #[error("payload of {size} bytes exceeds the server's max_payload of {max} bytes")]
    PayloadTooLarge { size: usize, max: usize },
    #[error("no responders for the request")]
    NoResponders,
    #[error("the request timed out")]
    Timeout,
    #[error("not connected, and the queue of writes is full")]
    Disconnected,
    #[error("the client is closed")]
    Closed,
}

/// A message received on a subscription (or as the reply to a request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    pub reply: Option<String>,
    pub payload: Bytes,
}

/// What a subscription yields. `Lagged` and `Reconnected` both mean messages may have been
/// lost in between: whoever mirrors state from the subject must resynchronize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Message(Message),
    /// The subscriber fell behind and this many of the oldest queued messages were dropped.
    Lagged(u64),
    /// The connection was lost and is back with the subscription active again; messages
    /// published while it was down were not received.
    Reconnected,
}

/// Tunables of a client; [`Options::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct Options {
    /// The connection's name, shown by the server's monitoring.
    pub name: String,
    /// How often we PING the server.
    pub ping_interval: Duration,
    /// A connection with this many of our PINGs unanswered at the next PING is dead.
    pub max_pings_outstanding: usize,
    /// Messages queued per subscription before the oldest are dropped (and `Lagged` told).
    pub subscription_capacity: usize,
    /// Writes queued for the writer before callers wait (or fail while disconnected).
    pub write_queue: usize,
    /// The time to connect and complete the handshake.
    pub connect_timeout: Duration,
    /// The first delay before reconnecting; it doubles up to `reconnect_delay_max`.
    pub reconnect_delay: Duration,
    pub reconnect_delay_max: Duration,
}

impl Options {
    pub fn new(name: &str) -> Options {
        Options {
            name: name.to_owned(),
            ping_interval: Duration::from_secs(10),
            max_pings_outstanding: 2,
            subscription_capacity: 1024,
            write_queue: 8192,
            connect_timeout: Duration::from_secs(5),
            reconnect_delay: Duration::from_millis(50),
            reconnect_delay_max: Duration::from_secs(2),
        }
    }
}

/// A NATS connection that reconnects by itself. Cloning gives another handle on the same
/// connection; the connection ends with [`Client::close`] or when the last handle is dropped.
#[derive(Clone)]
pub struct Client {
    handle: Arc<Handle>,
}

struct Handle {
    shared: Arc<Shared>,
    closed: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.closed.send_replace(true);
    }
}

/// A subscription; dropping it unsubscribes.
pub struct Subscription {
    sid: u64,
    subject: String,
    events: broadcast::Receiver<Event>,
    shared: Arc<Shared>,
}

/// What the writer is asked to do.
enum Command {
    Write(Bytes),
    /// Send a PING and answer the sender at its PONG.
    Flush(oneshot::Sender<()>),
}

enum Reply {
    Message(Message),
    NoResponders,
}

enum Sink {
    Subscriber(broadcast::Sender<Event>),
    /// The shared inbox of requests: replies go to the pending request named by the last
    /// token of the subject.
    Inbox,
}

struct SubEntry {
    subject: String,
    queue: Option<String>,
    sink: Sink,
}

struct Server {
    host: String,
    port: u16,
    user: Option<String>,
    pass: Option<String>,
}

struct Shared {
    options: Options,
    server: Server,
    commands: mpsc::Sender<Command>,
    subs: Mutex<HashMap<u64, SubEntry>>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Reply>>>,
    next_sid: AtomicU64,
    next_token: AtomicU64,
    /// `_INBOX.<random>`; requests reply to `<inbox>.<token>`.
    inbox: String,
    max_payload: AtomicUsize,
    connected: AtomicBool,
}

/// The state of one connection shared by its reader and its writer.
#[derive(Default)]
struct Link {
    /// One entry per PING we sent, in order: a flush waiting for its PONG, or our own ping.
    pongs: Mutex<VecDeque<Option<oneshot::Sender<()>>>>,
    /// PONGs owed to the server's PINGs.
    pongs_owed: AtomicUsize,
    wake: Notify,
}

struct Connection {
    stream: TcpStream,
    buf: BytesMut,
    parser: Parser,
    link: Link,
}

/// Why a connection's service ended.
#[derive(PartialEq, Eq)]
enum Outcome {
    Lost,
    Closed,
}

/// The largest batch the writer gathers before writing.
const WRITE_BATCH: usize = 64 * 1024;
/// The room made in the read buffer before each read.
const READ_CHUNK: usize = 16 * 1024;
/// How long `close` waits to write what was queued.
const CLOSE_FLUSH: Duration = Duration::from_secs(2);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Client {
    /// Connects to `nats://[user:pass@]host[:port]` with the default [`Options`].
    pub async fn connect(url: &str, name: &str) -> Result<Client, Error> {
        Client::connect_with(url, Options::new(name)).await
    }

    /// Connects once (an error if that fails); later losses of the connection are repaired
    /// in the background.
    pub async fn connect_with(url: &str, options: Options) -> Result<Client, Error> {
        let server = parse_url(url)?;
        let mut random = [0u8; 12];
        getrandom::getrandom(&mut random)
            .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
        let inbox = format!("_INBOX.{}", hex(&random));
        let (commands, queue) = mpsc::channel(options.write_queue.max(1));
        let shared = Arc::new(Shared {
            options,
            server,
            commands,
            subs: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            next_sid: AtomicU64::new(2),
            next_token: AtomicU64::new(1),
            inbox,
            max_payload: AtomicUsize::new(DEFAULT_MAX_PAYLOAD),
            connected: AtomicBool::new(false),
        });
        lock(&shared.subs).insert(
            1,
            SubEntry {
                subject: format!("{}.*", shared.inbox),
                queue: None,
                sink: Sink::Inbox,
            },
        );
        let connection = handshake(&shared).await?;
        shared.connected.store(true, Ordering::SeqCst);
        let (closed, closed_rx) = watch::channel(false);
        let task = tokio::spawn(supervise(shared.clone(), connection, queue, closed_rx));
        Ok(Client {
            handle: Arc::new(Handle {
                shared,
                closed,
                task: Mutex::new(Some(task)),
            }),
        })
    }

    /// Publishes `payload` on `subject`.
    pub async fn publish(&self, subject: &str, payload: Bytes) -> Result<(), Error> {
        self.handle.shared.publish(subject, None, &payload).await
    }

    /// Publishes with a reply-to subject (for instance to answer a request: publish to the
    /// request's `reply`).
    pub async fn publish_with_reply(
        &self,
        subject: &str,
        reply: &str,
        payload: Bytes,
    ) -> Result<(), Error> {
        self.handle
            .shared
            .publish(subject, Some(reply), &payload)
            .await
    }

    /// Subscribes to `subject` (wildcards allowed).
    pub async fn subscribe(&self, subject: &str) -> Result<Subscription, Error> {
        self.handle.shared.subscribe(subject, None).await
    }

    /// Subscribes as a member of a queue group: each message goes to one member.
    pub async fn queue_subscribe(&self, subject: &str, queue: &str) -> Result<Subscription, Error> {
        self.handle.shared.subscribe(subject, Some(queue)).await
    }

    /// Publishes a request and waits for the first reply. Without any subscriber on
    /// `subject` the server says so at once: [`Error::NoResponders`]; a responder that does
    /// not answer in `timeout` gives [`Error::Timeout`].
    pub async fn request(
        &self,
        subject: &str,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Message, Error> {
        let shared = &self.handle.shared;
        let token = shared.next_token.fetch_add(1, Ordering::Relaxed);
        let reply = format!("{}.{token}", shared.inbox);
        let (tx, rx) = oneshot::channel();
        lock(&shared.pending).insert(token, tx);
        let _pending = PendingGuard { shared, token };
        let exchange = async {
            shared.publish(subject, Some(&reply), &payload).await?;
            match rx.await {
                Ok(Reply::Message(message)) => Ok(message),
                Ok(Reply::NoResponders) => Err(Error::NoResponders),
                Err(_) => Err(Error::Closed),
            }
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(Error::Timeout))
    }

    /// Waits until everything queued before was written and processed by the server (a
    /// PING answered by its PONG). Fails with [`Error::Disconnected`] if the connection is
    /// lost after the PING was written; queued while disconnected, it waits for the
    /// reconnect (bound it with a timeout where that matters).
    pub async fn flush(&self) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        self.handle.shared.send(Command::Flush(tx)).await?;
        rx.await.map_err(|_| Error::Disconnected)
    }

    /// Whether a connection is up right now.
    pub fn is_connected(&self) -> bool {
        self.handle.shared.connected.load(Ordering::SeqCst)
    }

    /// The server's `max_payload`: the largest payload one can publish.
    pub fn max_payload(&self) -> usize {
        self.handle.shared.max_payload.load(Ordering::Relaxed)
    }

    /// Writes what is queued (for up to two seconds), closes the connection and ends every
    /// subscription (their `next` returns `None`) and pending request ([`Error::Closed`]).
    pub async fn close(&self) {
        self.handle.closed.send_replace(true);
        let task = lock(&self.handle.task).take();
        if let Some(task) = task {
            // A supervisor that panicked has nothing left to close.
            let _ = task.await;
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("name", &self.handle.shared.options.name)
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// Removes a request's entry from the pending map however the request ends.
struct PendingGuard<'a> {
    shared: &'a Shared,
    token: u64,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        lock(&self.shared.pending).remove(&self.token);
    }
}

impl Subscription {
    /// The next event; `None` once the client is closed. Cancel-safe (usable in `select!`).
    pub async fn next(&mut self) -> Option<Event> {
        match self.events.recv().await {
            Ok(event) => Some(event),
            Err(broadcast::error::RecvError::Lagged(missed)) => Some(Event::Lagged(missed)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    pub fn subject(&self) -> &str {
        &self.subject
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("sid", &self.sid)
            .field("subject", &self.subject)
            .finish()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if lock(&self.shared.subs).remove(&self.sid).is_none() {
            return;
        }
        let mut out = BytesMut::new();
        let unsub = ClientOp::Unsub {
            sid: self.sid,
            max: None,
        };
        if unsub.encode(&mut out).is_ok() {
            // Best effort: if the queue is full or the client closed, the server may go on
            // sending for this sid until the next reconnect; such messages are ignored.
            let _ = self.shared.commands.try_send(Command::Write(out.freeze()));
        }
    }
}

impl Shared {
    /// Queues a command: waits for room while connected; fails at once when disconnected
    /// with the queue full, so that callers never block for the length of an outage.
    async fn send(&self, command: Command) -> Result<(), Error> {
        match self.commands.try_send(command) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Error::Closed),
            Err(mpsc::error::TrySendError::Full(command)) => {
                if self.connected.load(Ordering::SeqCst) {
                    self.commands.send(command).await.map_err(|_| Error::Closed)
                } else {
                    Err(Error::Disconnected)
                }
            }
        }
    }

    async fn publish(
        &self,
        subject: &str,
        reply: Option<&str>,
        payload: &[u8],
    ) -> Result<(), Error> {
        let max = self.max_payload.load(Ordering::Relaxed);
        if payload.len() > max {
            return Err(Error::PayloadTooLarge {
                size: payload.len(),
                max,
            });
        }
        let mut out = BytesMut::with_capacity(subject.len() + payload.len() + 64);
        ClientOp::Pub {
            subject,
            reply,
            payload,
        }
        .encode(&mut out)?;
        self.send(Command::Write(out.freeze())).await
    }

    async fn subscribe(
        self: &Arc<Self>,
        subject: &str,
        queue: Option<&str>,
    ) -> Result<Subscription, Error> {
        let sid = self.next_sid.fetch_add(1, Ordering::Relaxed);
        let mut out = BytesMut::new();
        ClientOp::Sub {
            subject,
            queue,
            sid,
        }
        .encode(&mut out)?;
        let (events_tx, events) = broadcast::channel(self.options.subscription_capacity.max(1));
        lock(&self.subs).insert(
            sid,
            SubEntry {
                subject: subject.to_owned(),
                queue: queue.map(str::to_owned),
                sink: Sink::Subscriber(events_tx),
            },
        );
        let subscription = Subscription {
            sid,
            subject: subject.to_owned(),
            events,
            shared: self.clone(),
        };
        // A reconnect between the insert and this write re-sends the SUB from the map
        // first; the server ignores a second SUB with the same sid.
        self.send(Command::Write(out.freeze())).await?;
        Ok(subscription)
    }

    fn deliver(
        &self,
        sid: u64,
        subject: String,
        reply: Option<String>,
        payload: Bytes,
        status: Option<u16>,
    ) {
        let subs = lock(&self.subs);
        match subs.get(&sid).map(|entry| &entry.sink) {
            Some(Sink::Subscriber(events)) => {
                // No receiver left: the subscription is being dropped.
                let _ = events.send(Event::Message(Message {
                    subject,
                    reply,
                    payload,
                }));
            }
            Some(Sink::Inbox) => {
                drop(subs);
                let token = subject
                    .strip_prefix(self.inbox.as_str())
                    .and_then(|rest| rest.strip_prefix('.'))
                    .and_then(|token| token.parse::<u64>().ok());
                let Some(token) = token else { return };
                let Some(waiter) = lock(&self.pending).remove(&token) else {
                    return;
                };
                let answer = if status == Some(503) {
                    Reply::NoResponders
                } else {
                    Reply::Message(Message {
                        subject,
                        reply,
                        payload,
                    })
                };
                // The requester may have timed out just now.
                let _ = waiter.send(answer);
            }
            None => {}
        }
    }

    /// Tells every subscription that messages may have been missed.
    fn report_gap(&self) {
        for entry in lock(&self.subs).values() {
            if let Sink::Subscriber(events) = &entry.sink {
                let _ = events.send(Event::Reconnected);
            }
        }
    }

    fn connect_info(&self) -> ConnectInfo {
        ConnectInfo {
            verbose: false,
            pedantic: false,
            tls_required: false,
            name: self.options.name.clone(),
            lang: "rust".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            protocol: 1,
            echo: true,
            headers: true,
            no_responders: true,
            user: self.server.user.clone(),
            pass: self.server.pass.clone(),
        }
    }
}

/// Handles one server operation other than the handshake's; `Err` for a server error that
/// ends the connection.
fn handle(shared: &Shared, link: &Link, parser: &mut Parser, op: ServerOp) -> Result<(), Error> {
    match op {
        ServerOp::Msg {
            subject,
            sid,
            reply,
            payload,
        } => shared.deliver(sid, subject, reply, payload, None),
        ServerOp::HMsg {
            subject,
            sid,
            reply,
            headers,
            payload,
        } => {
            let status = codec::header_status(&headers);
            shared.deliver(sid, subject, reply, payload, status);
        }
        ServerOp::Ping => {
            link.pongs_owed.fetch_add(1, Ordering::SeqCst);
            link.wake.notify_one();
        }
        ServerOp::Pong => {
            if let Some(Some(waiter)) = lock(&link.pongs).pop_front() {
                let _ = waiter.send(());
            }
        }
        ServerOp::Info(info) => {
            parser.set_max_payload(info.max_payload);
            shared
                .max_payload
                .store(info.max_payload, Ordering::Relaxed);
        }
        ServerOp::Ok => {}
        ServerOp::Err(message) => {
            // These leave the connection open; every other -ERR closes it.
            let lower = message.to_ascii_lowercase();
            if !(lower.starts_with("permissions violation") || lower.starts_with("invalid subject"))
            {
                return Err(Error::Server(message));
            }
        }
    }
    Ok(())
}

async fn read_op(connection: &mut Connection) -> Result<ServerOp, Error> {
    loop {
        if let Some(op) = connection.parser.parse(&mut connection.buf)? {
            return Ok(op);
        }
        connection.buf.reserve(READ_CHUNK);
        if connection.stream.read_buf(&mut connection.buf).await? == 0 {
            return Err(Error::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
    }
}

/// Connects, reads INFO, sends CONNECT, every subscription and a PING, and waits for the
/// PONG (messages arriving meanwhile are delivered).
async fn handshake(shared: &Shared) -> Result<Connection, Error> {
    let exchange = async {
        let server = &shared.server;
        let stream = TcpStream::connect((server.host.as_str(), server.port)).await?;
        stream.set_nodelay(true)?;
        let mut connection = Connection {
            stream,
            buf: BytesMut::with_capacity(READ_CHUNK),
            parser: Parser::new(DEFAULT_MAX_LINE, DEFAULT_MAX_PAYLOAD),
            link: Link::default(),
        };
        let ServerOp::Info(info) = read_op(&mut connection).await? else {
            return Err(Error::Handshake(
                "the server's first operation was not INFO",
            ));
        };
        if info.tls_required {
            return Err(Error::Handshake(
                "the server requires TLS, which is not supported",
            ));
        }
        connection.parser.set_max_payload(info.max_payload);
        shared
            .max_payload
            .store(info.max_payload, Ordering::Relaxed);

        let mut out = BytesMut::new();
        ClientOp::Connect(&shared.connect_info()).encode(&mut out)?;
        for (sid, entry) in lock(&shared.subs).iter() {
            ClientOp::Sub {
                subject: &entry.subject,
                queue: entry.queue.as_deref(),
                sid: *sid,
            }
            .encode(&mut out)?;
        }
        ClientOp::Ping.encode(&mut out)?;
        connection.stream.write_all(&out).await?;
        loop {
            match read_op(&mut connection).await? {
                ServerOp::Pong => return Ok(connection),
                ServerOp::Err(message) => return Err(Error::Server(message)),
                op => handle(shared, &connection.link, &mut connection.parser, op)?,
            }
        }
    };
    tokio::time::timeout(shared.options.connect_timeout, exchange)
        .await
        .unwrap_or(Err(Error::ConnectTimeout))
}

/// Serves connections until the client is closed: each lost one is replaced, after which
/// every subscription hears of the gap.
async fn supervise(
    shared: Arc<Shared>,
    mut connection: Connection,
    mut queue: mpsc::Receiver<Command>,
    mut closed: watch::Receiver<bool>,
) {
    loop {
        // The connection is dropped (closed) when served, before any reconnect.
        let outcome = serve(&shared, connection, &mut queue, &mut closed).await;
        shared.connected.store(false, Ordering::SeqCst);
        if outcome == Outcome::Closed {
            break;
        }
        match reconnect(&shared, &mut closed).await {
            Some(next) => {
                connection = next;
                shared.connected.store(true, Ordering::SeqCst);
                shared.report_gap();
            }
            None => break,
        }
    }
    // Ends every subscription's stream and every pending request.
    lock(&shared.subs).clear();
    lock(&shared.pending).clear();
}

/// Tries to connect again with growing delays; `None` when closed meanwhile.
async fn reconnect(shared: &Shared, closed: &mut watch::Receiver<bool>) -> Option<Connection> {
    let options = &shared.options;
    let mut delay = options.reconnect_delay;
    loop {
        let jitter = delay.mul_f64(f64::from(random_byte()) / 512.0);
        tokio::select! {
            _ = until_closed(closed) => return None,
            _ = tokio::time::sleep(delay + jitter) => {}
        }
        tokio::select! {
            _ = until_closed(closed) => return None,
            attempt = handshake(shared) => {
                if let Ok(connection) = attempt {
                    return Some(connection);
                }
            }
        }
        delay = (delay * 2).min(options.reconnect_delay_max);
    }
}

/// Returns once the client is closed (or its last handle dropped).
async fn until_closed(closed: &mut watch::Receiver<bool>) {
    // An error means the sender is gone, which closes the client as well.
    let _ = closed.wait_for(|closed| *closed).await;
}

fn random_byte() -> u8 {
    let mut byte = [0u8; 1];
    // Jitter only: without randomness there is none.
    match getrandom::getrandom(&mut byte) {
        Ok(()) => byte[0],
        Err(_) => 0,
    }
}

/// Runs the reader and the writer of one connection until either ends.
async fn serve(
    shared: &Shared,
    connection: Connection,
    queue: &mut mpsc::Receiver<Command>,
    closed: &mut watch::Receiver<bool>,
) -> Outcome {
    let Connection {
        mut stream,
        mut buf,
        mut parser,
        link,
    } = connection;
    let (mut reader, mut writer) = stream.split();
    let outcome = tokio::select! {
        outcome = read_loop(shared, &link, &mut reader, &mut buf, &mut parser) => outcome,
        outcome = write_loop(shared, &link, &mut writer, queue, closed) => outcome,
    };
    if outcome == Outcome::Closed {
        // The peer may be gone already.
        let _ = stream.shutdown().await;
    }
    outcome
}

async fn read_loop(
    shared: &Shared,
    link: &Link,
    reader: &mut tokio::net::tcp::ReadHalf<'_>,
    buf: &mut BytesMut,
    parser: &mut Parser,
) -> Outcome {
    loop {
        loop {
            match parser.parse(buf) {
                Ok(Some(op)) => {
                    if handle(shared, link, parser, op).is_err() {
                        return Outcome::Lost;
                    }
                }
                Ok(None) => break,
                Err(_) => return Outcome::Lost,
            }
        }
        buf.reserve(READ_CHUNK);
        match reader.read_buf(buf).await {
            Ok(0) | Err(_) => return Outcome::Lost,
            Ok(_) => {}
        }
    }
}

/// The one writer: waits for work, gathers everything queued (up to a batch), writes once.
async fn write_loop(
    shared: &Shared,
    link: &Link,
    writer: &mut tokio::net::tcp::WriteHalf<'_>,
    queue: &mut mpsc::Receiver<Command>,
    closed: &mut watch::Receiver<bool>,
) -> Outcome {
    let options = &shared.options;
    let period = options.ping_interval;
    let write_timeout =
        period * u32::try_from(options.max_pings_outstanding.max(1)).unwrap_or(u32::MAX);
    let mut ticker = tokio::time::interval_at(Instant::now() + period, period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut out = BytesMut::with_capacity(WRITE_BATCH);
    loop {
        tokio::select! {
            _ = until_closed(closed) => {
                while let Ok(command) = queue.try_recv() {
                    push(command, &mut out, link);
                }
                let _ = tokio::time::timeout(CLOSE_FLUSH, writer.write_all(&out)).await;
                return Outcome::Closed;
            }
            _ = ticker.tick() => {
                let mut pongs = lock(&link.pongs);
                if pongs.len() >= options.max_pings_outstanding {
                    return Outcome::Lost;
                }
                pongs.push_back(None);
                out.extend_from_slice(b"PING\r\n");
            }
            _ = link.wake.notified() => {}
            command = queue.recv() => match command {
                Some(command) => push(command, &mut out, link),
                None => return Outcome::Closed,
            },
        }
        for _ in 0..link.pongs_owed.swap(0, Ordering::SeqCst) {
            out.extend_from_slice(b"PONG\r\n");
        }
        while out.len() < WRITE_BATCH {
            match queue.try_recv() {
                Ok(command) => push(command, &mut out, link),
                Err(_) => break,
            }
        }
        if !out.is_empty() {
            match tokio::time::timeout(write_timeout, writer.write_all(&out)).await {
                Ok(Ok(())) => out.clear(),
                Ok(Err(_)) | Err(_) => return Outcome::Lost,
            }
        }
    }
}

fn push(command: Command, out: &mut BytesMut, link: &Link) {
    match command {
        Command::Write(bytes) => out.extend_from_slice(&bytes),
        Command::Flush(waiter) => {
            lock(&link.pongs).push_back(Some(waiter));
            out.extend_from_slice(b"PING\r\n");
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `nats://[user:pass@]host[:port]` (the scheme may be left out; the port defaults to 4222).
fn parse_url(url: &str) -> Result<Server, Error> {
    let invalid = || Error::InvalidUrl(url.to_owned());
    let rest = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("nats") => rest,
        Some(_) => return Err(invalid()),
        None => url,
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((userinfo, hostport)) => (Some(userinfo), hostport),
        None => (None, authority),
    };
    let (user, pass) = match userinfo {
        Some(info) => match info.split_once(':') {
            Some((user, pass)) => (Some(user.to_owned()), Some(pass.to_owned())),
            None => (Some(info.to_owned()), None),
        },
        None => (None, None),
    };
    let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or_else(invalid)?;
        match after {
            "" => (host, None),
            port => (host, Some(port.strip_prefix(':').ok_or_else(invalid)?)),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    let port = match port {
        Some(port) => port.parse().map_err(|_| invalid())?,
        None => 4222,
    };
    if host.is_empty() || host.contains(['/', '?', '#', ' ']) {
        return Err(invalid());
    }
    Ok(Server {
        host: host.to_owned(),
        port,
        user,
        pass,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> Option<(String, u16, Option<String>, Option<String>)> {
        parse_url(url)
            .ok()
            .map(|s| (s.host, s.port, s.user, s.pass))
    }

    #[test]
    fn urls() {
        assert_eq!(
            parsed("nats://127.0.0.1:4222"),
            Some(("127.0.0.1".into(), 4222, None, None))
        );
        assert_eq!(
            parsed("nats://nats.local"),
            Some(("nats.local".into(), 4222, None, None))
        );
        assert_eq!(
            parsed("localhost:5000/"),
            Some(("localhost".into(), 5000, None, None))
        );
        assert_eq!(
            parsed("NATS://bob:s3cret@[::1]:4333"),
            Some((
                "::1".into(),
                4333,
                Some("bob".into()),
                Some("s3cret".into())
            ))
        );
        for bad in [
            "tls://h:4222",
            "nats://",
            "nats://h:port",
            "nats://h:70000",
            "nats://[::1",
            "nats://h/x",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
