//! `GET /api/v1/events`: the WebSocket of live events for one session.
//!
//! On connect the client gets a `snapshot` (its calls, the tenant's device states and
//! presence, link states), then every event it may see as `{"type", "data"}`. The server
//! pings every 30 s and closes a connection whose pong is overdue. A client that reads too
//! slowly to keep up with its tenant's ring is closed with code 4008; one whose session
//! ended with 4001. An open WebSocket keeps its session (and license) alive.
//!
//! Written for throughput, since every event goes to every client of its audience: a
//! client woken by its tenant's ring takes everything queued there (up to
//! [`BATCH_MESSAGES`]), feeds it to the socket and flushes once — one write for the
//! batch, not one per message. The bytes are the event's one serialization, shared by all
//! clients. No timer is armed while the socket takes the batch at once; only a batch that
//! has to wait for the client gets a deadline ([`SEND_DEADLINE`]). A wake-up for events
//! polls only the tenant's ring (socket, timers and session come after, and get their
//! turn at least every [`EVENTS_IN_A_ROW`] batches). Metric handles are resolved when the
//! client connects; deliveries are counted per client and reported every 2 s.

use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::SinkExt;
use serde::Serialize;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use ucplus_core::{Role, TenantId, Timestamp, UserId};

use crate::auth::{Auth, Session};
use crate::cti::bus::{Published, Subscription};
use crate::error::ApiResult;
use crate::state::AppState;
use ucplus_core::cti::views::{CallView, DeviceStateView, LinkView, PresenceView};
use ucplus_core::event::{Audience, Payload, Scope, message};

/// Close codes (4000-4999 are the application's).
pub const CLOSE_SESSION_ENDED: u16 = 4001;
pub const CLOSE_TOO_SLOW: u16 = 4008;
const CLOSE_NO_PONG: u16 = 4009;

const PING_EVERY: Duration = Duration::from_secs(30);
const PONG_DEADLINE: Duration = Duration::from_secs(75);
/// How long a batch may wait for a client that takes no data before it is dropped.
pub const SEND_DEADLINE: Duration = Duration::from_secs(10);
const SESSION_CHECK: Duration = Duration::from_secs(2);

/// Messages taken from the ring for one flush: enough to make writes large under load,
/// few enough that pings and the client's own messages are not kept waiting.
pub const BATCH_MESSAGES: usize = 64;
/// Clients send little; small buffers keep an idle client cheap (the defaults are
/// 128 KiB each).
pub const READ_BUFFER: usize = 1024;
/// Bytes a batch gathers before they are written: a large batch goes out in writes of
/// about this size, a small one in one write at its flush.
pub const WRITE_BUFFER: usize = 8 * 1024;
/// Bytes that may wait for a client that does not read before sending fails.
pub const WRITE_BUFFER_MAX: usize = 256 * 1024;

#[derive(Serialize)]
struct Snapshot {
    user_id: UserId,
    tenant_id: Option<TenantId>,
    calls: Vec<CallView>,
    devices: Vec<DeviceStateView>,
    presence: Vec<PresenceView>,
    links: Vec<LinkView>,
}

/// Opens the event WebSocket (token as `Authorization: Bearer` or `?token=`).
#[utoipa::path(get, path = "/api/v1/events", operation_id = "open_event_stream", tag = "events",
    params(("token" = Option<String>, Query, description = "the session token, for clients that cannot set headers")),
    responses((status = 101, description = "switching to the WebSocket protocol"), (status = 401, body = crate::error::ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    auth: Auth,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    let tenant = auth.0.tenant_id.or(auth.1);
    let session = auth.0.clone();
    Ok(upgrade
        .max_message_size(64 * 1024)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(WRITE_BUFFER_MAX)
        .on_upgrade(move |socket| client(socket, state, session, tenant)))
}

fn visible(published: &Published, session: &Session) -> bool {
    match published.event.audience {
        Audience::Everyone => true,
        Audience::User(user) => session.user_id == user,
        Audience::Admins => matches!(session.role, Role::Admin | Role::SystemAdmin),
        Audience::Members => session.role == Role::User,
    }
}

/// Event batches a client sends in a row before it looks at its socket and timers even
/// though more events are waiting.
const EVENTS_IN_A_ROW: u32 = 16;

/// The event stream's metric handles, looked up once per client. Deliveries are added up
/// here and reported at each session check (every 2 s) and at the end, so that clients do
/// not all write the one shared counter per batch.
struct StreamMetrics {
    delivered: metrics::Counter,
    unreported: u64,
    slow_disconnects: metrics::Counter,
}

impl StreamMetrics {
    fn resolve() -> StreamMetrics {
        StreamMetrics {
            delivered: metrics::counter!("ucplus_ws_messages_total"),
            unreported: 0,
            slow_disconnects: metrics::counter!("ucplus_ws_slow_disconnects_total"),
        }
    }

    fn report(&mut self) {
        if self.unreported > 0 {
            self.delivered
                .increment(std::mem::take(&mut self.unreported));
        }
    }
}

/// How a batch of events went.
enum Batch {
    /// Events may have been lost between nodes: the client reconnects.
    Resync,
    /// Sent; the ring may have more.
    Sent,
    /// Sent what was taken; the client missed events and must resynchronize.
    Lagged(u64),
    /// The tenant's stream is gone.
    Closed,
    /// The client is gone or took nothing for [`SEND_DEADLINE`].
    Failed,
}

async fn client(
    mut socket: WebSocket,
    state: AppState,
    session: Arc<Session>,
    tenant: Option<TenantId>,
) {
    session.socket_opened();
    let mut metrics = StreamMetrics::resolve();
    metrics::gauge!("ucplus_ws_clients").increment(1.0);
    // Subscribe before the snapshot so nothing between the two is lost (with several
    // nodes: to the tenant's events of the others too, before asking them).
    let mut events = match tenant {
        Some(tenant) => state.cti.bus.subscribe(Scope::Tenant(tenant)),
        None => state.cti.bus.subscribe(Scope::System),
    };
    if let (Some(relay), Some(tenant)) = (&state.relay, tenant) {
        relay.follow(tenant).await;
    }
    let snapshot = with_other_nodes(
        &state,
        &session,
        tenant,
        build_snapshot(&state, &session, tenant).await,
    )
    .await;
    let mut open = send(
        &mut socket,
        Message::Text(Utf8Bytes::from(message("snapshot", &snapshot, None))),
    )
    .await;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut check = tokio::time::interval(SESSION_CHECK);
    let mut last_pong = Instant::now();
    // The session only ever turns ended, so any change means it has; one that ended
    // before this point is caught here. The wait is made once, not once per wake-up.
    let mut ended = session.ended.subscribe();
    if *ended.borrow_and_update() {
        close(&mut socket, CLOSE_SESSION_ENDED, "the session ended").await;
        open = false;
    }
    let mut session_ended = pin!(async move {
        let _ = ended.changed().await;
    });
    // Events first: a wake-up for an event polls nothing else. After EVENTS_IN_A_ROW
    // batches the rest is looked at once, so a busy stream still answers pings.
    let mut in_a_row = 0;
    while open {
        tokio::select! {
            biased;
            received = events.recv(), if in_a_row < EVENTS_IN_A_ROW => {
                in_a_row += 1;
                let outcome = match received {
                    Ok(first) => send_batch(&mut socket, &mut events, first, &session, &mut metrics).await,
                    Err(RecvError::Lagged(missed)) => Batch::Lagged(missed),
                    Err(RecvError::Closed) => Batch::Closed,
                };
                match outcome {
                    Batch::Sent => {}
                    Batch::Lagged(missed) => {
                        metrics.slow_disconnects.increment(1);
                        tracing::info!(user = %session.username, missed, "closing a WebSocket that reads too slowly");
                        close(&mut socket, CLOSE_TOO_SLOW, "too slow: events were lost; reconnect to resynchronize").await;
                        open = false;
                    }
                    Batch::Closed => {
                        close(&mut socket, CLOSE_SESSION_ENDED, "the tenant was removed").await;
                        open = false;
                    }
                    Batch::Resync => {
                        close(&mut socket, CLOSE_TOO_SLOW, "events from another node may have been lost; reconnect to resynchronize").await;
                        open = false;
                    }
                    Batch::Failed => {
                        metrics.slow_disconnects.increment(1);
                        tracing::info!(user = %session.username, "closing a WebSocket that takes no data");
                        open = false;
                    }
                }
            },
            incoming = socket.recv() => {
                in_a_row = 0;
                match incoming {
                    Some(Ok(Message::Pong(_))) => last_pong = Instant::now(),
                    Some(Ok(Message::Text(text))) => {
                        session.touch(Timestamp::now());
                        if text.contains("\"ping\"") {
                            open = send(&mut socket, Message::Text(Utf8Bytes::from_static(r#"{"type":"pong","data":null}"#))).await;
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => open = false,
                    Some(Ok(_)) => {}
                }
            },
            () = &mut session_ended => {
                close(&mut socket, CLOSE_SESSION_ENDED, "the session ended").await;
                open = false;
            },
            _ = ping.tick() => {
                in_a_row = 0;
                if last_pong.elapsed() > PONG_DEADLINE {
                    close(&mut socket, CLOSE_NO_PONG, "no pong").await;
                    open = false;
                } else {
                    open = send(&mut socket, Message::Ping(Default::default())).await;
                }
            },
            _ = check.tick() => {
                in_a_row = 0;
                metrics.report();
                if state.sessions.get(&session.token_hash).is_none() {
                    close(&mut socket, CLOSE_SESSION_ENDED, "the session ended").await;
                    open = false;
                }
            },
            // Nothing else was ready: back to the events.
            () = std::future::ready(()), if in_a_row >= EVENTS_IN_A_ROW => in_a_row = 0,
        }
    }
    metrics.report();
    session.socket_closed(Timestamp::now());
    metrics::gauge!("ucplus_ws_clients").decrement(1.0);
}

/// Sends `first` and whatever else the ring holds (up to [`BATCH_MESSAGES`] in all) that
/// the session may see, flushing once.
async fn send_batch(
    socket: &mut WebSocket,
    events: &mut Subscription,
    first: Arc<Published>,
    session: &Session,
    metrics: &mut StreamMetrics,
) -> Batch {
    let mut outcome = Batch::Sent;
    let mut sent = 0u64;
    let mut next = Some(first);
    let mut taken = 0;
    let writing = async {
        while let Some(published) = next.take() {
            taken += 1;
            // Events were lost between nodes: what was sent is flushed, then the stream
            // closes so the client resynchronizes.
            if matches!(published.event.payload, Payload::Resync) {
                outcome = Batch::Resync;
                break;
            }
            if visible(&published, session) {
                socket.feed(Message::Text(published.json().clone())).await?;
                sent += 1;
            }
            if taken < BATCH_MESSAGES {
                match events.try_recv() {
                    Ok(published) => next = Some(published),
                    Err(TryRecvError::Empty) => {}
                    Err(TryRecvError::Lagged(missed)) => outcome = Batch::Lagged(missed),
                    Err(TryRecvError::Closed) => outcome = Batch::Closed,
                }
            }
        }
        socket.flush().await
    };
    let written = within_deadline(writing).await;
    metrics.unreported += sent;
    if written { outcome } else { Batch::Failed }
}

/// Sends one message; false when the client is gone or too slow to take it.
async fn send(socket: &mut WebSocket, message: Message) -> bool {
    within_deadline(socket.send(message)).await
}

/// Runs a write to completion, or for at most [`SEND_DEADLINE`]: true when it succeeded
/// in time. A write the socket takes at once (the usual case) arms no timer.
async fn within_deadline(
    write: impl std::future::Future<Output = Result<(), axum::Error>>,
) -> bool {
    let mut write = pin!(write);
    let first = std::future::poll_fn(|context| Poll::Ready(write.as_mut().poll(context))).await;
    match first {
        Poll::Ready(result) => result.is_ok(),
        Poll::Pending => tokio::time::timeout(SEND_DEADLINE, write)
            .await
            .is_ok_and(|result| result.is_ok()),
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        socket.send(Message::Close(Some(frame))),
    )
    .await;
}

/// Several nodes: the snapshot completed with the calls, phone states and links of the
/// links other live nodes run (asked over NATS; a node that does not answer in time is
/// left out, and its later events still arrive).
async fn with_other_nodes(
    state: &AppState,
    session: &Session,
    tenant: Option<TenantId>,
    snapshot: Snapshot,
) -> serde_json::Value {
    let mut merged = serde_json::to_value(&snapshot).unwrap_or_default();
    let question = crate::peers::Question::Snapshot {
        tenant,
        user: (session.role == Role::User || session.tenant_id.is_some())
            .then_some(session.user_id),
        detail: session.role != Role::User,
    };
    for answer in crate::peers::ask_all(state, &question).await {
        let Ok(serde_json::Value::Object(part)) = serde_json::from_slice(&answer) else {
            continue;
        };
        for (key, values) in part {
            if let (Some(serde_json::Value::Array(into)), serde_json::Value::Array(values)) =
                (merged.get_mut(&key), values)
            {
                into.extend(values);
            }
        }
    }
    merged
}

async fn build_snapshot(state: &AppState, session: &Session, tenant: Option<TenantId>) -> Snapshot {
    let Some(tenant) = tenant else {
        return Snapshot {
            user_id: session.user_id,
            tenant_id: None,
            calls: Vec::new(),
            devices: Vec::new(),
            presence: Vec::new(),
            links: state.cti.links(None, true),
        };
    };
    let calls = match session.role {
        Role::User => state.cti.calls(tenant, Some(session.user_id)),
        _ if session.tenant_id.is_some() => state.cti.calls(tenant, Some(session.user_id)),
        _ => state.cti.calls(tenant, None),
    };
    let presence = state.cti.presence(tenant).await.unwrap_or_else(|error| {
        tracing::warn!(%error, "presence for a snapshot");
        Vec::new()
    });
    Snapshot {
        user_id: session.user_id,
        tenant_id: Some(tenant),
        calls,
        devices: state.cti.device_states(tenant),
        presence,
        links: state.cti.links(Some(tenant), session.role != Role::User),
    }
}
