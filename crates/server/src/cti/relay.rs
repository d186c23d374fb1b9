//! Live events between nodes over NATS core subjects: [`RelayBus`] is the [`Bus`] of a node
//! among several. What happens on this node is delivered here at once and published to
//! `<prefix>.ev.<tenant>` (or `<prefix>.ev.system`); what other nodes publish is delivered
//! here as it came (its WebSocket message made once, by the node where it happened).
//!
//! Each message carries its node and a sequence number. A gap in a node's sequence (a
//! message dropped on the way), a subscription that fell behind, or a reconnect to NATS
//! means events may have been lost: every local stream is told to resynchronize (its
//! client reconnects and reads a fresh snapshot). Nothing is lost silently.
//!
//! The envelope: one JSON line `{"o": node, "s": seq, "t": tenant | null, "a": audience}`,
//! a newline, then the event's WebSocket message.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use ucplus_core::event::{Audience, Event, Payload, Scope};
use ucplus_core::{TenantId, UserId};

use super::bus::{Bus, LocalBus, Published, Subscription};

/// Events waiting to go out to NATS; beyond this they are dropped (a gap the other nodes
/// see and resynchronize on).
const OUTBOX: usize = 16_384;

#[derive(Serialize, Deserialize)]
struct Envelope {
    /// The node the event happened on.
    o: String,
    /// That node's sequence number.
    s: u64,
    /// The tenant (None: the system admins).
    t: Option<TenantId>,
    /// `everyone`, `admins`, `members` or `user:<id>`.
    a: String,
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

/// The bus of a node among several: local delivery plus NATS.
pub struct RelayBus {
    local: LocalBus,
    node: String,
    prefix: String,
    /// The next sequence number and the outbox, together so numbers go out in order.
    out: Mutex<(u64, mpsc::Sender<(String, Bytes)>)>,
    /// The last sequence number seen of each other node.
    seen: Mutex<HashMap<String, u64>>,
    /// Events are being dropped (the outbox is full): said once, not per event.
    dropping: std::sync::atomic::AtomicBool,
    /// The NATS connection, once made.
    client: std::sync::OnceLock<ucplus_nats::Client>,
    /// Answers other nodes' questions about this node's links (a client's snapshot).
    answer: std::sync::OnceLock<Answer>,
}

/// What this node answers another node that asks about the links it runs.
pub type Answer = Box<dyn Fn(&[u8]) -> Option<Vec<u8>> + Send + Sync>;

/// Answers each question with what [`RelayBus::answer`] says (nothing: no reply, and the
/// asking node does without this node's part).
async fn answer_questions(
    bus: std::sync::Weak<RelayBus>,
    client: ucplus_nats::Client,
    mut questions: ucplus_nats::Subscription,
) {
    while let Some(event) = questions.next().await {
        let ucplus_nats::Event::Message(question) = event else {
            continue;
        };
        let Some(bus) = bus.upgrade() else { break };
        let (Some(reply), Some(answer)) = (question.reply, bus.answer.get()) else {
            continue;
        };
        if let Some(body) = answer(&question.payload)
            && let Err(error) = client.publish(&reply, Bytes::from(body)).await
        {
            tracing::warn!(%error, "an answer to another node was not sent");
        }
    }
}

/// Connects (retrying until NATS answers), then sends the outbox and delivers what other
/// nodes publish, until the bus is dropped.
async fn relay(
    bus: std::sync::Weak<RelayBus>,
    url: String,
    name: String,
    subject: String,
    mut queued: mpsc::Receiver<(String, Bytes)>,
) {
    let (client, mut events) = loop {
        let connected = match ucplus_nats::Client::connect(&url, &name).await {
            Ok(client) => match client.subscribe(&subject).await {
                Ok(events) => Ok((client, events)),
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        };
        match connected {
            Ok(connected) => break connected,
            Err(error) => {
                tracing::warn!(%error, %url, "NATS does not answer: events of other nodes wait; retrying");
                if bus.strong_count() == 0 {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
        }
    };
    let Some(me) = bus.upgrade() else { return };
    // Questions about this node's links, answered by what the server set with `answer`.
    match client.subscribe(&me.question_subject(&me.node)).await {
        Ok(questions) => {
            tokio::spawn(answer_questions(bus.clone(), client.clone(), questions));
        }
        Err(error) => tracing::warn!(%error, "cannot answer other nodes' questions"),
    }
    let _ = me.client.set(client.clone());
    // Other nodes' events before this moment were not seen here.
    me.resync();
    drop(me);
    let sender = client.clone();
    tokio::spawn(async move {
        while let Some((subject, payload)) = queued.recv().await {
            if let Err(error) = sender.publish(&subject, payload).await {
                // The others see the gap in this node's numbers and resynchronize.
                tracing::warn!(%error, "an event could not be sent to the other nodes");
            }
        }
    });
    while let Some(event) = events.next().await {
        let Some(bus) = bus.upgrade() else { break };
        match event {
            ucplus_nats::Event::Message(message) => bus.receive(&message.payload),
            ucplus_nats::Event::Lagged(missed) => {
                tracing::warn!(
                    missed,
                    "events from other nodes were missed: clients resynchronize"
                );
                bus.resync();
            }
            ucplus_nats::Event::Reconnected => {
                tracing::warn!("reconnected to NATS: clients resynchronize");
                bus.resync();
            }
        }
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
        let (outbox, queued) = mpsc::channel::<(String, Bytes)>(OUTBOX);
        let bus = Arc::new(RelayBus {
            local: LocalBus::new(ring),
            node: node.to_string(),
            prefix: prefix.to_string(),
            out: Mutex::new((0, outbox)),
            seen: Mutex::new(HashMap::new()),
            dropping: std::sync::atomic::AtomicBool::new(false),
            client: std::sync::OnceLock::new(),
            answer: std::sync::OnceLock::new(),
        });
        tokio::spawn(relay(
            Arc::downgrade(&bus),
            nats_url.to_string(),
            format!("ucplus {node}"),
            format!("{prefix}.ev.>"),
            queued,
        ));
        bus
    }

    /// Sets how this node answers other nodes' questions about its links.
    pub fn answer(&self, answer: Answer) {
        let _ = self.answer.set(answer);
    }

    fn question_subject(&self, node: &str) -> String {
        format!("{}.node.{node}.ask", self.prefix)
    }

    /// Asks each of `nodes` the same question at once; the answers that came within
    /// `timeout` (a node that is not connected, silent or slow is left out).
    pub async fn ask(
        &self,
        nodes: &[String],
        question: Bytes,
        timeout: std::time::Duration,
    ) -> Vec<Bytes> {
        let Some(client) = self.client.get() else {
            return Vec::new();
        };
        let asks = nodes.iter().filter(|node| **node != self.node).map(|node| {
            let subject = self.question_subject(node);
            let question = question.clone();
            async move { client.request(&subject, question, timeout).await }
        });
        futures_util::future::join_all(asks)
            .await
            .into_iter()
            .filter_map(|answer| answer.ok().map(|message| message.payload))
            .collect()
    }

    /// Every local stream resynchronizes, and the sequence numbers start over.
    fn resync(&self) {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.local.resync_all();
    }

    /// A message from NATS: another node's event, delivered here; a gap resynchronizes.
    fn receive(&self, payload: &[u8]) {
        let Some(newline) = payload.iter().position(|b| *b == b'\n') else {
            tracing::warn!("a malformed event from another node was ignored");
            return;
        };
        let (head, json) = (&payload[..newline], &payload[newline + 1..]);
        let (Ok(envelope), Ok(json)) = (
            serde_json::from_slice::<Envelope>(head),
            std::str::from_utf8(json),
        ) else {
            tracing::warn!("a malformed event from another node was ignored");
            return;
        };
        if envelope.o == self.node {
            return;
        }
        let Some(audience) = parse_audience(&envelope.a) else {
            tracing::warn!("an event from another node named an unknown audience");
            return;
        };
        let gap = {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            let last = seen.insert(envelope.o.clone(), envelope.s);
            last.is_some_and(|last| envelope.s != last + 1)
        };
        if gap {
            tracing::warn!(node = %envelope.o, "events from another node were lost: clients resynchronize");
            self.local.resync_all();
        }
        let scope = match envelope.t {
            Some(tenant) => Scope::Tenant(tenant),
            None => Scope::System,
        };
        self.local.deliver(Arc::new(Published::new(Event {
            scope,
            audience,
            payload: Payload::Relayed(json.into()),
            pbx_sent_at_ns: None,
        })));
    }
}

impl Bus for RelayBus {
    fn publish(&self, event: Event) {
        let tenant = match event.scope {
            Scope::Tenant(tenant) => Some(tenant),
            Scope::System => None,
        };
        let audience = audience_name(event.audience);
        let published = Arc::new(Published::new(event));
        self.local.deliver(published.clone());
        let subject = match tenant {
            Some(tenant) => format!("{}.ev.{tenant}", self.prefix),
            None => format!("{}.ev.system", self.prefix),
        };
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let envelope = Envelope {
            o: self.node.clone(),
            s: out.0,
            t: tenant,
            a: audience,
        };
        out.0 += 1;
        let Ok(mut payload) = serde_json::to_vec(&envelope) else {
            return;
        };
        payload.push(b'\n');
        payload.extend_from_slice(published.json().as_bytes());
        let full = out.1.try_send((subject, Bytes::from(payload))).is_err();
        if full
            != self
                .dropping
                .swap(full, std::sync::atomic::Ordering::Relaxed)
        {
            if full {
                tracing::warn!(
                    "the outbox to the other nodes is full: events are dropped (the other nodes resynchronize)"
                );
            } else {
                tracing::info!("events go to the other nodes again");
            }
        }
    }

    fn subscribe(&self, scope: Scope) -> Subscription {
        self.local.subscribe(scope)
    }

    fn remove_tenant(&self, tenant: TenantId) {
        self.local.remove_tenant(tenant);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bus() -> RelayBus {
        let (outbox, _) = mpsc::channel(1);
        RelayBus {
            local: LocalBus::new(16),
            node: "me".into(),
            prefix: "p".into(),
            out: Mutex::new((0, outbox)),
            seen: Mutex::new(HashMap::new()),
            dropping: std::sync::atomic::AtomicBool::new(false),
            client: std::sync::OnceLock::new(),
            answer: std::sync::OnceLock::new(),
        }
    }

    fn message(node: &str, seq: u64, tenant: TenantId, audience: &str) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(&Envelope {
            o: node.into(),
            s: seq,
            t: Some(tenant),
            a: audience.into(),
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
        let mut reader_a = bus.subscribe(Scope::Tenant(a));
        let mut reader_b = bus.subscribe(Scope::Tenant(b));
        let user = UserId::new();
        bus.receive(&message("n2", 7, a, &format!("user:{user}")));
        let got = reader_a.recv().await.unwrap();
        assert_eq!(got.json().as_str(), r#"{"type":"presence","data":{}}"#);
        assert_eq!(got.event.audience, Audience::User(user));
        assert!(reader_b.try_recv().is_err(), "another tenant's stream");
        // Its own events echoed back are not delivered twice.
        bus.receive(&message("me", 0, a, "everyone"));
        assert!(reader_a.try_recv().is_err());
        // 8 follows 7; 10 does not: every stream resynchronizes, then gets the event.
        bus.receive(&message("n2", 8, a, "everyone"));
        assert!(matches!(
            reader_a.recv().await.unwrap().event.payload,
            Payload::Relayed(_)
        ));
        bus.receive(&message("n2", 10, a, "everyone"));
        for reader in [&mut reader_a, &mut reader_b] {
            assert!(matches!(
                reader.recv().await.unwrap().event.payload,
                Payload::Resync
            ));
        }
        assert!(matches!(
            reader_a.recv().await.unwrap().event.payload,
            Payload::Relayed(_)
        ));
        // Garbage is ignored, never delivered.
        bus.receive(b"not an envelope");
        bus.receive(b"{\"o\":1}\n{}");
        assert!(reader_a.try_recv().is_err() && reader_b.try_recv().is_err());
    }
}
