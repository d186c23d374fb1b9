//! `GET /api/v1/events`: the WebSocket of live events for one session.
//!
//! On connect the client gets a `snapshot` (its calls, the tenant's device states and
//! presence, link states), then every event it may see as `{"type", "data"}`. The server
//! pings every 30 s and closes a connection whose pong is overdue. A client that reads too
//! slowly to keep up with its tenant's ring is closed with code 4008; one whose session
//! ended with 4001. An open WebSocket keeps its session (and license) alive.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use ucplus_core::{Role, TenantId, Timestamp, UserId};

use crate::auth::{Auth, Session};
use crate::cti::bus::Published;
use crate::error::ApiResult;
use crate::state::AppState;
use ucplus_core::cti::views::{CallView, DeviceStateView, LinkView, PresenceView};
use ucplus_core::event::{Audience, Scope, message};

/// Close codes (4000-4999 are the application's).
pub const CLOSE_SESSION_ENDED: u16 = 4001;
pub const CLOSE_TOO_SLOW: u16 = 4008;
const CLOSE_NO_PONG: u16 = 4009;

const PING_EVERY: Duration = Duration::from_secs(30);
const PONG_DEADLINE: Duration = Duration::from_secs(75);
const SEND_DEADLINE: Duration = Duration::from_secs(10);
const SESSION_CHECK: Duration = Duration::from_secs(2);

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
        // Clients send little; small buffers keep an idle client cheap (the defaults are
        // 128 KiB each). Each message is sent as it comes.
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .max_write_buffer_size(256 * 1024)
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

async fn client(
    mut socket: WebSocket,
    state: AppState,
    session: Arc<Session>,
    tenant: Option<TenantId>,
) {
    session.socket_opened();
    metrics::gauge!("ucplus_ws_clients").increment(1.0);
    // Subscribe before the snapshot so nothing between the two is lost.
    let mut events = match tenant {
        Some(tenant) => state.cti.bus.subscribe(Scope::Tenant(tenant)),
        None => state.cti.bus.subscribe(Scope::System),
    };
    let snapshot = build_snapshot(&state, &session, tenant).await;
    let mut open = send(
        &mut socket,
        Utf8Bytes::from(message("snapshot", &snapshot, None)),
    )
    .await;
    // Looked up once, not per message.
    let delivered = metrics::counter!("ucplus_ws_messages_total");
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut check = tokio::time::interval(SESSION_CHECK);
    let mut last_pong = Instant::now();
    // The session only ever turns ended, so any change means it has; one that ended
    // before this point is caught by the check below.
    let mut ended = session.ended.subscribe();
    let ended_already = *ended.borrow_and_update();
    if ended_already {
        close(&mut socket, CLOSE_SESSION_ENDED, "the session ended").await;
        open = false;
    }
    while open {
        tokio::select! {
            _ = ended.changed() => {
                close(&mut socket, CLOSE_SESSION_ENDED, "the session ended").await;
                open = false;
            },
            received = events.recv() => match received {
                Ok(published) => {
                    if visible(&published, &session) {
                        delivered.increment(1);
                        open = send(&mut socket, published.json().clone()).await;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    metrics::counter!("ucplus_ws_slow_disconnects_total").increment(1);
                    tracing::info!(user = %session.username, missed, "closing a WebSocket that reads too slowly");
                    close(&mut socket, CLOSE_TOO_SLOW, "too slow: events were lost; reconnect to resynchronize").await;
                    open = false;
                }
                Err(RecvError::Closed) => {
                    close(&mut socket, CLOSE_SESSION_ENDED, "the tenant was removed").await;
                    open = false;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Pong(_))) => last_pong = Instant::now(),
                Some(Ok(Message::Text(text))) => {
                    session.touch(Timestamp::now());
                    if text.contains("\"ping\"") {
                        open = send(&mut socket, Utf8Bytes::from_static(r#"{"type":"pong","data":null}"#)).await;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => open = false,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if last_pong.elapsed() > PONG_DEADLINE {
                    close(&mut socket, CLOSE_NO_PONG, "no pong").await;
                    open = false;
                } else {
                    open = tokio::time::timeout(SEND_DEADLINE, socket.send(Message::Ping(Default::default())))
                        .await
                        .is_ok_and(|r| r.is_ok());
                }
            },
            _ = check.tick() => {
                if state.sessions.get(&session.token_hash).is_none() {
                    close(&mut socket, CLOSE_SESSION_ENDED, "the session ended").await;
                    open = false;
                }
            },
        }
    }
    session.socket_closed(Timestamp::now());
    metrics::gauge!("ucplus_ws_clients").decrement(1.0);
}

/// Sends one text message; false when the client is gone or too slow to take it.
async fn send(socket: &mut WebSocket, text: Utf8Bytes) -> bool {
    match tokio::time::timeout(SEND_DEADLINE, socket.send(Message::Text(text))).await {
        Ok(result) => result.is_ok(),
        Err(_) => {
            metrics::counter!("ucplus_ws_slow_disconnects_total").increment(1);
            tracing::info!("closing a WebSocket that takes no data");
            false
        }
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
