//! Live events between nodes over NATS core subjects: [`RelayBus`] is the [`Bus`] of a node
//! among several. What happens on this node is delivered here at once and published to
//! `<prefix>.ev.<tenant>` (or `<prefix>.ev.system`); what other nodes publish is delivered
//! here as it came (its WebSocket message made once, by the node where it happened). A
//! node follows a tenant's subject only while it has clients of that tenant
//! ([`RelayBus::follow`], [`RelayBus::sweep`]); the system subject always.
//!
//! Each message carries its node and that node's sequence number on the subject, and an
//! event of a PBX link the link's epoch. A gap in a node's sequence (a message dropped on
//! the way), a subscription that fell behind, or a reconnect to NATS means events may
//! have been lost: the scope's local streams are told to resynchronize (their clients
//! reconnect and read a fresh snapshot). Nothing is lost silently. An event under an
//! older epoch than one already seen for its link comes from a stale holder: dropped.
//!
//! Besides events, nodes tell each other what the others keep in memory about them
//! (notices, on `<prefix>.notice`, numbered the same way: a gap makes the receiver
//! refresh), and ask each other questions by request-reply on
//! `<prefix>.node.<name>.ask` (a client's snapshot part, call control on a link the
//! asked node runs).
//!
//! The envelope: one JSON line `{"o": node, "s": seq, "t": tenant | null, "a": audience,
//! "p"?: pbx, "e"?: epoch}`, a newline, then the event's WebSocket message (or the notice).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use ucplus_core::event::{Audience, Event, Payload, Scope};
use ucplus_core::{PbxId, TenantId, UserId};

use super::bus::{Bus, LocalBus, Published, Subscription};

/// The audience of the notice a node sends when it is back on NATS after a disconnect.
const BACK: &str = "back";

/// Events waiting to go out to NATS; beyond this they are dropped (a gap the other nodes
/// see and resynchronize on).
const OUTBOX: usize = 16_384;

#[derive(Serialize, Deserialize)]
struct Envelope {
    /// The node the event happened on.
    o: String,
    /// That node's sequence number on this subject.
    s: u64,
    /// The tenant (None: the system admins, or a notice).
    t: Option<TenantId>,
    /// `everyone`, `admins`, `members` or `user:<id>` (empty for a notice).
    a: String,
    /// The PBX link the event came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<PbxId>,
    /// That link's epoch.
    #[serde(default, skip_serializing_if = "is_zero")]
    e: i64,
}

fn is_zero(epoch: &i64) -> bool {
    *epoch == 0
}

fn audience_name(audience: Audience) -> String {
    match audience {
        Audience::Everyone => "everyone".into(),
        Audience::Admins => "admins".into(),
        Audience::Members => "members".into(),
        Audience::User(user) => format!("user:{user}"),
    }
}

fn parse_audience(name: &str) -> Option<Audience> {
    match name {
        "everyone" => Some(Audience::Everyone),
        "admins" => Some(Audience::Admins),
        "members" => Some(Audience::Members),
        other => other
            .strip_prefix("user:")?
            .parse::<UserId>()
            .ok()
            .map(Audience::User),
    }
}

/// What a subscription carries: a scope's events, or the other nodes' notices.
#[derive(Clone, Copy)]
enum Feed {
    Events(Scope),
    Notices,
}

/// Answers another node's question; `None` sends no reply.
pub type AnswerFn = Box<dyn Fn(Bytes) -> BoxFuture<'static, Option<Vec<u8>>> + Send + Sync>;

/// Takes another node's notice: (that node, the notice).
pub type NoticeFn = Box<dyn Fn(&str, &[u8]) + Send + Sync>;

/// How this node takes part in the conversation between nodes (set once the server is
/// built: [`RelayBus::handle`]).
pub struct Handlers {
    pub answer: AnswerFn,
    pub notice: NoticeFn,
    /// Notices may have been lost: learn again what they would have said.
    pub refresh: Box<dyn Fn() + Send + Sync>,
}

/// The sequence number of each subject, and the outbox, together so numbers go out in
/// order.
struct Outbox {
    next: HashMap<String, u64>,
    sender: mpsc::Sender<(String, Bytes)>,
}

/// The bus of a node among several: local delivery plus NATS.
pub struct RelayBus {
    local: LocalBus,
    node: String,
    prefix: String,
    out: Mutex<Outbox>,
    /// The last sequence number seen of each (subject, other node).
    seen: Mutex<HashMap<(String, String), u64>>,
    /// The newest epoch seen of each PBX link.
    epochs: Mutex<HashMap<PbxId, i64>>,
    /// Events are being dropped (the outbox is full): said once, not per event.
    dropping: AtomicBool,
    /// The NATS connection, once made.
    client: OnceLock<ucplus_nats::Client>,
    handlers: OnceLock<Handlers>,
    /// The tenants followed, with the task reading each one's subject (None: wanted, not
    /// subscribed yet because NATS is not connected).
    followed: tokio::sync::Mutex<HashMap<TenantId, Option<JoinHandle<()>>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Answers each question with what the handlers say (nothing: no reply, and the asking
/// node does without this node's part). Each is answered in a task of its own, so a slow
/// answer (a PBX request) holds up no other.
async fn answer_questions(
    bus: Weak<RelayBus>,
    client: ucplus_nats::Client,
    mut questions: ucplus_nats::Subscription,
) {
    while let Some(event) = questions.next().await {
        let ucplus_nats::Event::Message(question) = event else {
            continue;
        };
        let Some(bus) = bus.upgrade() else { break };
        let (Some(reply), Some(handlers)) = (question.reply, bus.handlers.get()) else {
            continue;
        };
        let answer = (handlers.answer)(question.payload);
        let client = client.clone();
        tokio::spawn(async move {
            if let Some(body) = answer.await
                && let Err(error) = client.publish(&reply, Bytes::from(body)).await
            {
                tracing::warn!(%error, "an answer to another node was not sent");
            }
        });
    }
}

/// Reads one subject until the bus is dropped or the task aborted (which unsubscribes).
async fn read_feed(bus: Weak<RelayBus>, mut subscription: ucplus_nats::Subscription, feed: Feed) {
    while let Some(event) = subscription.next().await {
        let Some(bus) = bus.upgrade() else { break };
        match event {
            ucplus_nats::Event::Message(message) => {
                bus.receive(feed, &message.subject, &message.payload);
            }
            ucplus_nats::Event::Lagged(missed) => {
                tracing::warn!(
                    missed,
                    subject = subscription.subject(),
                    "messages from other nodes were missed: resynchronizing"
                );
                bus.lost(feed, subscription.subject());
            }
            ucplus_nats::Event::Reconnected => {
                tracing::warn!(
                    subject = subscription.subject(),
                    "reconnected to NATS: resynchronizing"
                );
                bus.lost(feed, subscription.subject());
                if let Feed::Notices = feed {
                    // The others' clients may have read snapshots without this node's
                    // part while it was away: they read them again.
                    bus.send(bus.subject(feed), None, BACK.into(), None, b"");
                }
            }
        }
    }
}

/// Connects (retrying until NATS answers), then sends the outbox and reads the system
/// subject, the notices, the questions and the followed tenants, until the bus is
/// dropped.
async fn relay(
    bus: Weak<RelayBus>,
    url: String,
    name: String,
    mut queued: mpsc::Receiver<(String, Bytes)>,
) {
    let client = loop {
        match ucplus_nats::Client::connect(&url, &name).await {
            Ok(client) => break client,
            Err(error) => {
                tracing::warn!(%error, %url, "NATS does not answer: events of other nodes wait; retrying");
                if bus.strong_count() == 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    };
    let Some(me) = bus.upgrade() else { return };
    // Questions about this node's links, answered by the handlers.
    match client.subscribe(&me.question_subject(&me.node)).await {
        Ok(questions) => {
            tokio::spawn(answer_questions(bus.clone(), client.clone(), questions));
        }
        Err(error) => tracing::warn!(%error, "cannot answer other nodes' questions"),
    }
    let _ = me.client.set(client.clone());
    let mut feeds = Vec::new();
    for feed in [Feed::Events(Scope::System), Feed::Notices] {
        feeds.extend(me.subscribe_feed(&client, feed).await);
    }
    {
        let mut followed = me.followed.lock().await;
        for (tenant, reading) in followed.iter_mut() {
            if reading.is_none() {
                *reading = me
                    .subscribe_feed(&client, Feed::Events(Scope::Tenant(*tenant)))
                    .await;
            }
        }
    }
    // Other nodes' events and notices before this moment were not seen here.
    me.local.resync_all();
    if let Some(handlers) = me.handlers.get() {
        (handlers.refresh)();
    }
    drop(me);
    while let Some((subject, payload)) = queued.recv().await {
        if let Err(error) = client.publish(&subject, payload).await {
            // The others see the gap in this node's numbers and resynchronize.
            tracing::warn!(%error, "an event could not be sent to the other nodes");
        }
    }
    for feed in feeds {
        feed.abort();
    }
    drop(client);
}

impl RelayBus {
    /// Starts relaying through the NATS server at `nats_url`. `prefix` names the
    /// installation (its system id), so installations sharing a NATS server never see each
    /// other's events. A NATS server that does not answer yet does not stop the node: it
    /// connects in the background and keeps trying, and until then its clients see the
    /// events of its own links (what other nodes sent meanwhile is a gap: every stream
    /// resynchronizes once connected).
    pub fn start(nats_url: &str, node: &str, prefix: &str, ring: usize) -> Arc<RelayBus> {
        let (sender, queued) = mpsc::channel::<(String, Bytes)>(OUTBOX);
        let bus = Arc::new(RelayBus::new(node, prefix, ring, sender));
        tokio::spawn(relay(
            Arc::downgrade(&bus),
            nats_url.to_string(),
            format!("ucplus {node}"),
            queued,
        ));
        bus
    }

    fn new(node: &str, prefix: &str, ring: usize, sender: mpsc::Sender<(String, Bytes)>) -> Self {
        RelayBus {
            local: LocalBus::new(ring),
            node: node.to_string(),
            prefix: prefix.to_string(),
            out: Mutex::new(Outbox {
                next: HashMap::new(),
                sender,
            }),
            seen: Mutex::new(HashMap::new()),
            epochs: Mutex::new(HashMap::new()),
            dropping: AtomicBool::new(false),
            client: OnceLock::new(),
            handlers: OnceLock::new(),
            followed: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Sets how this node answers questions and takes notices; what notices said before
    /// is learnt at once.
    pub fn handle(&self, handlers: Handlers) {
        if self.handlers.set(handlers).is_ok()
            && let Some(handlers) = self.handlers.get()
        {
            (handlers.refresh)();
        }
    }

    fn question_subject(&self, node: &str) -> String {
        format!("{}.node.{node}.ask", self.prefix)
    }

    fn subject(&self, feed: Feed) -> String {
        match feed {
            Feed::Events(Scope::Tenant(tenant)) => format!("{}.ev.{tenant}", self.prefix),
            Feed::Events(Scope::System) => format!("{}.ev.system", self.prefix),
            Feed::Notices => format!("{}.notice", self.prefix),
        }
    }

    async fn subscribe_feed(
        self: &Arc<Self>,
        client: &ucplus_nats::Client,
        feed: Feed,
    ) -> Option<JoinHandle<()>> {
        let subject = self.subject(feed);
        match client.subscribe(&subject).await {
            Ok(subscription) => Some(tokio::spawn(read_feed(
                Arc::downgrade(self),
                subscription,
                feed,
            ))),
            Err(error) => {
                tracing::warn!(%error, %subject, "cannot follow the other nodes' messages");
                None
            }
        }
    }

    /// Follows a tenant's events of other nodes (a client of it is connecting). Returns
    /// once the subscription is made, so what the other nodes publish after answering a
    /// question asked next is not missed.
    pub async fn follow(self: &Arc<Self>, tenant: TenantId) {
        let mut followed = self.followed.lock().await;
        if followed.get(&tenant).is_some_and(Option::is_some) {
            return;
        }
        let reading = match self.client.get() {
            Some(client) => {
                self.subscribe_feed(client, Feed::Events(Scope::Tenant(tenant)))
                    .await
            }
            None => None,
        };
        followed.insert(tenant, reading);
    }

    /// Stops following the tenants this node has no client of any more.
    pub fn sweep(&self) {
        let Ok(mut followed) = self.followed.try_lock() else {
            return;
        };
        let mut dropped = Vec::new();
        followed.retain(|tenant, reading| {
            if self.local.readers(Scope::Tenant(*tenant)) > 0 {
                return true;
            }
            if let Some(reading) = reading.take() {
                reading.abort();
            }
            dropped.push(self.subject(Feed::Events(Scope::Tenant(*tenant))));
            false
        });
        drop(followed);
        if !dropped.is_empty() {
            lock(&self.seen).retain(|(subject, _), _| !dropped.contains(subject));
        }
    }

    /// Asks each of `nodes` the same question at once; the answers that came within
    /// `timeout` (a node that is not connected, silent or slow is left out).
    pub async fn ask(&self, nodes: &[String], question: Bytes, timeout: Duration) -> Vec<Bytes> {
        let asks = nodes.iter().filter(|node| **node != self.node).map(|node| {
            let question = question.clone();
            async move { self.ask_node(node, question, timeout).await }
        });
        futures_util::future::join_all(asks)
            .await
            .into_iter()
            .filter_map(Result::ok)
            .collect()
    }

    /// Asks one node; [`ucplus_nats::Error::NoResponders`] when it does not listen (or
    /// NATS is not connected here).
    pub async fn ask_node(
        &self,
        node: &str,
        question: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, ucplus_nats::Error> {
        let Some(client) = self.client.get() else {
            return Err(ucplus_nats::Error::NoResponders);
        };
        let subject = self.question_subject(node);
        Ok(client.request(&subject, question, timeout).await?.payload)
    }

    /// Tells every other node something (see [`Handlers::notice`]).
    pub fn tell(&self, notice: &[u8]) {
        self.send(
            self.subject(Feed::Notices),
            None,
            String::new(),
            None,
            notice,
        );
    }

    /// Messages on a subject may have been lost: its streams resynchronize (notices: the
    /// handlers learn again), and its numbers start over.
    fn lost(&self, feed: Feed, subject: &str) {
        lock(&self.seen).retain(|(seen, _), _| seen != subject);
        match feed {
            Feed::Events(scope) => self.local.resync(scope),
            Feed::Notices => {
                if let Some(handlers) = self.handlers.get() {
                    (handlers.refresh)();
                }
            }
        }
    }

    /// A message from NATS: another node's event, delivered here, or its notice; a gap
    /// resynchronizes, a stale link holder's event is dropped.
    fn receive(&self, feed: Feed, subject: &str, payload: &[u8]) {
        let Some(newline) = payload.iter().position(|b| *b == b'\n') else {
            tracing::warn!("a malformed message from another node was ignored");
            return;
        };
        let (head, body) = (&payload[..newline], &payload[newline + 1..]);
        let Ok(envelope) = serde_json::from_slice::<Envelope>(head) else {
            tracing::warn!("a malformed message from another node was ignored");
            return;
        };
        if envelope.o == self.node {
            return;
        }
        let gap = {
            let mut seen = lock(&self.seen);
            let last = seen.insert((subject.to_string(), envelope.o.clone()), envelope.s);
            last.is_some_and(|last| envelope.s != last + 1)
        };
        if gap {
            tracing::warn!(node = %envelope.o, subject, "messages from another node were lost: resynchronizing");
            self.lost(feed, subject);
            lock(&self.seen).insert((subject.to_string(), envelope.o.clone()), envelope.s);
        }
        if let Some(pbx) = envelope.p {
            let mut epochs = lock(&self.epochs);
            let newest = epochs.entry(pbx).or_insert(envelope.e);
            if envelope.e < *newest {
                tracing::debug!(%pbx, epoch = envelope.e, newest = *newest, "an event of a link's former holder was dropped");
                return;
            }
            *newest = envelope.e;
        }
        let scope = match feed {
            Feed::Notices if envelope.a == BACK => {
                tracing::info!(node = %envelope.o, "another node is back on NATS: clients resynchronize");
                self.local.resync_all();
                return;
            }
            Feed::Notices => {
                if let Some(handlers) = self.handlers.get() {
                    (handlers.notice)(&envelope.o, body);
                }
                return;
            }
            Feed::Events(scope) => scope,
        };
        let named = match envelope.t {
            Some(tenant) => Scope::Tenant(tenant),
            None => Scope::System,
        };
        let (Some(audience), Ok(json), true) = (
            parse_audience(&envelope.a),
            std::str::from_utf8(body),
            named == scope,
        ) else {
            tracing::warn!("a malformed event from another node was ignored");
            return;
        };
        self.local.deliver(Arc::new(Published::new(Event {
            scope,
            audience,
            payload: Payload::Relayed(json.into()),
            pbx_sent_at_ns: None,
            link: envelope.p.map(|pbx| (pbx, envelope.e)),
        })));
    }

    /// Numbers a message on its subject and queues it for NATS.
    fn send(
        &self,
        subject: String,
        tenant: Option<TenantId>,
        audience: String,
        link: Option<(PbxId, i64)>,
        body: &[u8],
    ) {
        let mut out = lock(&self.out);
        // The subject is copied only the first time it is used.
        let seq = match out.next.get_mut(&subject) {
            Some(seq) => seq,
            None => out.next.entry(subject.clone()).or_insert(0),
        };
        let envelope = Envelope {
            o: self.node.clone(),
            s: *seq,
            t: tenant,
            a: audience,
            p: link.map(|(pbx, _)| pbx),
            e: link.map_or(0, |(_, epoch)| epoch),
        };
        *seq += 1;
        let Ok(mut payload) = serde_json::to_vec(&envelope) else {
            return;
        };
        payload.push(b'\n');
        payload.extend_from_slice(body);
        let full = out
            .sender
            .try_send((subject, Bytes::from(payload)))
            .is_err();
        if full != self.dropping.swap(full, Ordering::Relaxed) {
            if full {
                tracing::warn!(
                    "the outbox to the other nodes is full: messages are dropped (the other nodes resynchronize)"
                );
            } else {
                tracing::info!("messages go to the other nodes again");
            }
        }
    }
}

impl Bus for RelayBus {
    fn publish(&self, event: Event) {
        let (tenant, scope) = match event.scope {
            Scope::Tenant(tenant) => (Some(tenant), event.scope),
            Scope::System => (None, Scope::System),
        };
        let audience = audience_name(event.audience);
        let link = event.link;
        let published = Arc::new(Published::new(event));
        self.local.deliver(published.clone());
        self.send(
            self.subject(Feed::Events(scope)),
            tenant,
            audience,
            link,
            published.json().as_bytes(),
        );
    }

    fn subscribe(&self, scope: Scope) -> Subscription {
        self.local.subscribe(scope)
    }

    fn remove_tenant(&self, tenant: TenantId) {
        self.local.remove_tenant(tenant);
        if let Ok(mut followed) = self.followed.try_lock()
            && let Some(Some(reading)) = followed.remove(&tenant)
        {
            reading.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bus() -> RelayBus {
        let (sender, _) = mpsc::channel(1);
        RelayBus::new("me", "p", 16, sender)
    }

    fn message(node: &str, seq: u64, tenant: TenantId, audience: &str) -> Vec<u8> {
        stamped(node, seq, tenant, audience, None)
    }

    fn stamped(
        node: &str,
        seq: u64,
        tenant: TenantId,
        audience: &str,
        link: Option<(PbxId, i64)>,
    ) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(&Envelope {
            o: node.into(),
            s: seq,
            t: Some(tenant),
            a: audience.into(),
            p: link.map(|(pbx, _)| pbx),
            e: link.map_or(0, |(_, epoch)| epoch),
        })
        .unwrap();
        bytes.extend_from_slice(
            br#"
{"type":"presence","data":{}}"#,
        );
        bytes
    }

    #[tokio::test]
    async fn events_of_other_nodes_arrive_in_their_scope_and_a_gap_resynchronizes() {
        let bus = bus();
        let (a, b) = (TenantId::new(), TenantId::new());
        let feed_a = Feed::Events(Scope::Tenant(a));
        let subject_a = bus.subject(feed_a);
        let mut reader_a = bus.subscribe(Scope::Tenant(a));
        let mut reader_b = bus.subscribe(Scope::Tenant(b));
        let user = UserId::new();
        bus.receive(
            feed_a,
            &subject_a,
            &message("n2", 7, a, &format!("user:{user}")),
        );
        let got = reader_a.recv().await.unwrap();
        assert_eq!(got.json().as_str(), r#"{"type":"presence","data":{}}"#);
        assert_eq!(got.event.audience, Audience::User(user));
        assert!(reader_b.try_recv().is_err(), "another tenant's stream");
        // Its own events echoed back are not delivered twice.
        bus.receive(feed_a, &subject_a, &message("me", 0, a, "everyone"));
        assert!(reader_a.try_recv().is_err());
        // An event naming another tenant than its subject's is not delivered.
        bus.receive(feed_a, &subject_a, &message("n3", 0, b, "everyone"));
        assert!(reader_a.try_recv().is_err() && reader_b.try_recv().is_err());
        // 8 follows 7; 10 does not: the tenant's streams resynchronize, then get the event.
        bus.receive(feed_a, &subject_a, &message("n2", 8, a, "everyone"));
        assert!(matches!(
            reader_a.recv().await.unwrap().event.payload,
            Payload::Relayed(_)
        ));
        bus.receive(feed_a, &subject_a, &message("n2", 10, a, "everyone"));
        assert!(matches!(
            reader_a.recv().await.unwrap().event.payload,
            Payload::Resync
        ));
        assert!(matches!(
            reader_a.recv().await.unwrap().event.payload,
            Payload::Relayed(_)
        ));
        assert!(
            reader_b.try_recv().is_err(),
            "another tenant's gap is not b's"
        );
        // Numbers are per subject: b's first message from n2 is no gap.
        let feed_b = Feed::Events(Scope::Tenant(b));
        bus.receive(
            feed_b,
            &bus.subject(feed_b),
            &message("n2", 0, b, "everyone"),
        );
        assert!(matches!(
            reader_b.recv().await.unwrap().event.payload,
            Payload::Relayed(_)
        ));
        // Garbage is ignored, never delivered.
        bus.receive(feed_a, &subject_a, b"not an envelope");
        bus.receive(feed_a, &subject_a, b"{\"o\":1}\n{}");
        assert!(reader_a.try_recv().is_err() && reader_b.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_former_link_holders_events_are_dropped() {
        let bus = bus();
        let tenant = TenantId::new();
        let feed = Feed::Events(Scope::Tenant(tenant));
        let subject = bus.subject(feed);
        let mut reader = bus.subscribe(Scope::Tenant(tenant));
        let pbx = PbxId::new();
        // The new holder (epoch 3) speaks; the old one (epoch 2) still does: dropped.
        bus.receive(
            feed,
            &subject,
            &stamped("new", 0, tenant, "everyone", Some((pbx, 3))),
        );
        bus.receive(
            feed,
            &subject,
            &stamped("old", 5, tenant, "everyone", Some((pbx, 2))),
        );
        bus.receive(
            feed,
            &subject,
            &stamped("new", 1, tenant, "everyone", Some((pbx, 3))),
        );
        for _ in 0..2 {
            let got = reader.recv().await.unwrap();
            assert_eq!(got.event.link, Some((pbx, 3)));
        }
        assert!(reader.try_recv().is_err(), "the stale holder's event");
        // Another link's epochs are its own.
        bus.receive(
            feed,
            &subject,
            &stamped("old", 6, tenant, "everyone", Some((PbxId::new(), 1))),
        );
        assert!(reader.recv().await.is_ok());
    }

    #[tokio::test]
    async fn notices_go_to_the_handler_and_a_gap_refreshes() {
        let bus = bus();
        let told = Arc::new(Mutex::new(Vec::new()));
        let refreshed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (t, r) = (told.clone(), refreshed.clone());
        bus.handle(Handlers {
            answer: Box::new(|_| Box::pin(async { None })),
            notice: Box::new(move |node, body| {
                lock(&t).push((node.to_string(), body.to_vec()));
            }),
            refresh: Box::new(move || {
                r.fetch_add(1, Ordering::SeqCst);
            }),
        });
        assert_eq!(refreshed.load(Ordering::SeqCst), 1, "learnt at once");
        let subject = bus.subject(Feed::Notices);
        let notice = |seq: u64| {
            let mut bytes = serde_json::to_vec(&Envelope {
                o: "n2".into(),
                s: seq,
                t: None,
                a: String::new(),
                p: None,
                e: 0,
            })
            .unwrap();
            bytes.extend_from_slice(b"\nhello");
            bytes
        };
        bus.receive(Feed::Notices, &subject, &notice(0));
        bus.receive(Feed::Notices, &subject, &notice(1));
        assert_eq!(refreshed.load(Ordering::SeqCst), 1);
        bus.receive(Feed::Notices, &subject, &notice(3));
        assert_eq!(refreshed.load(Ordering::SeqCst), 2, "a lost notice");
        assert_eq!(lock(&told).len(), 3);
        assert_eq!(lock(&told)[0], ("n2".to_string(), b"hello".to_vec()));
        // A node back on NATS: every stream here resynchronizes; no notice is taken.
        let mut reader = bus.subscribe(Scope::Tenant(TenantId::new()));
        let mut back = serde_json::to_vec(&Envelope {
            o: "n2".into(),
            s: 4,
            t: None,
            a: BACK.into(),
            p: None,
            e: 0,
        })
        .unwrap();
        back.push(b'\n');
        bus.receive(Feed::Notices, &subject, &back);
        assert!(matches!(
            reader.recv().await.unwrap().event.payload,
            Payload::Resync
        ));
        assert_eq!(lock(&told).len(), 3);
    }
}
