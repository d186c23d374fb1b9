//! What the nodes of a cluster ask each other over NATS request-reply (see
//! [`crate::cti::relay`]): a client's snapshot part, the phone states of a node's links,
//! the calls and device states a tenant has on them, and call control on a link the asked
//! node runs. A request for a PBX whose link runs on another node goes to that node (its
//! owner by the last lease round); no owner, or an owner that does not answer, is
//! `pbx_unavailable`. The asked node acts exactly as if the request had come to it, with
//! the caller's tenant, user and role, and never forwards it again.

use std::time::Duration;

use axum::http::StatusCode;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use ucplus_core::cti::views::{CallView, DeviceStateView};
use ucplus_core::cti::{PbxError, PhoneState};
use ucplus_core::{FieldError, PbxId, Role, TenantId, UserId};

use crate::cti::relay::Handlers;
use crate::error::{ApiError, ApiResult};
use crate::service::calls::{Action, CallAction, DndSetting, ForwardingSetting, NewCall};
use crate::state::{AppState, WeakState};

/// How long a node waits for the others' parts of a snapshot or a list.
const ASK_TIMEOUT: Duration = Duration::from_millis(500);

/// A question to another node.
#[derive(Serialize, Deserialize)]
#[serde(tag = "q", rename_all = "snake_case")]
pub enum Question {
    /// For a client's snapshot: the calls, phone states and links of the links the node
    /// runs, as this client may see them.
    Snapshot {
        tenant: Option<TenantId>,
        /// Only this user's calls (None: every call of the tenant, for its admins).
        user: Option<UserId>,
        /// Links with the technical detail (admins).
        detail: bool,
    },
    /// Every user's phone state on the node's links.
    Phones,
    /// The tenant's calls on the node's links (`user`: only theirs).
    Calls {
        tenant: TenantId,
        user: Option<UserId>,
    },
    /// The tenant's device states on the node's links.
    Devices { tenant: TenantId },
    /// Call control for a signed-in user, on a link the node runs.
    Control {
        tenant: TenantId,
        user: UserId,
        role: Role,
        op: CallOp,
    },
}

/// A call control request, as [`crate::service::calls::Calls`] takes it.
#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CallOp {
    Make {
        call: NewCall,
    },
    Act {
        id: String,
        action: Action,
        body: CallAction,
    },
    Dnd {
        device: String,
        setting: DndSetting,
    },
    Forwarding {
        device: String,
        setting: ForwardingSetting,
    },
}

/// The outcome of a forwarded request.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Done(Option<CallView>),
    Failed {
        status: u16,
        code: String,
        message: String,
        #[serde(default)]
        fields: Vec<FieldError>,
    },
}

/// The codes call control answers with; a code from another node outside this list (a
/// newer version) reads as `pbx_unavailable`.
const CODES: &[&str] = &[
    "not_found",
    "forbidden",
    "conflict",
    "validation_failed",
    "invalid_json",
    "pbx_rejected",
    "pbx_unavailable",
    "internal",
];

impl From<ApiError> for Outcome {
    fn from(error: ApiError) -> Outcome {
        Outcome::Failed {
            status: error.status.as_u16(),
            code: error.code.to_string(),
            message: error.message,
            fields: error.fields,
        }
    }
}

fn unavailable(why: &str) -> ApiError {
    ApiError::from(PbxError::Unavailable(why.into()))
}

impl Outcome {
    fn into_result(self) -> ApiResult<Option<CallView>> {
        match self {
            Outcome::Done(view) => Ok(view),
            Outcome::Failed {
                status,
                code,
                message,
                fields,
            } => {
                let (Some(code), Ok(status)) = (
                    CODES.iter().find(|known| **known == code),
                    StatusCode::from_u16(status),
                ) else {
                    return Err(unavailable(
                        "the node running the PBX connection gave an answer this node does not know",
                    ));
                };
                let mut error = ApiError::new(status, code, message);
                error.fields = fields;
                Err(error)
            }
        }
    }
}

/// How this node answers the others and takes their notices.
pub fn handlers(state: WeakState) -> Handlers {
    let (answering, noticing, refreshing) = (state.clone(), state.clone(), state);
    Handlers {
        answer: Box::new(move |question| {
            let state = answering.clone();
            Box::pin(async move {
                let state = state.upgrade()?;
                let question = serde_json::from_slice(&question).ok()?;
                answer(&state, question).await
            })
        }),
        notice: Box::new(move |node, body| {
            if let Some(state) = noticing.upgrade() {
                state.cti.take_notice(node, body);
            }
        }),
        refresh: Box::new(move || {
            let Some(state) = refreshing.upgrade() else {
                return;
            };
            tokio::spawn(async move { refresh(&state).await });
        }),
    }
}

/// Learns again what the other nodes' notices said: every chosen presence from the
/// store, every node's phones by asking it.
async fn refresh(state: &AppState) {
    if let Err(error) = state.cti.reload_people().await {
        tracing::warn!(%error, "could not reload presence after lost notices");
    }
    #[derive(Deserialize)]
    struct Phones {
        node: String,
        phones: Vec<(UserId, PhoneState)>,
    }
    for answer in ask_all(state, &Question::Phones).await {
        match serde_json::from_slice::<Phones>(&answer) {
            Ok(phones) => state.cti.phones_of_node(&phones.node, phones.phones),
            Err(error) => tracing::warn!(%error, "an unreadable answer from another node"),
        }
    }
}

async fn answer(state: &AppState, question: Question) -> Option<Vec<u8>> {
    let cti = &state.cti;
    let answer = match question {
        Question::Snapshot {
            tenant: None,
            detail,
            ..
        } => serde_json::json!({"links": cti.links(None, detail)}),
        Question::Snapshot {
            tenant: Some(tenant),
            user,
            detail,
        } => serde_json::json!({
            "calls": cti.calls(tenant, user),
            "devices": cti.device_states(tenant),
            "links": cti.links(Some(tenant), detail),
        }),
        Question::Phones => serde_json::json!({"node": state.node, "phones": cti.phones_here()}),
        Question::Calls { tenant, user } => serde_json::json!(cti.calls(tenant, user)),
        Question::Devices { tenant } => serde_json::json!(cti.device_states(tenant)),
        Question::Control {
            tenant,
            user,
            role,
            op,
        } => {
            let calls = state.forwarded_calls(tenant, user, role);
            let outcome = match op {
                CallOp::Make { call } => calls.make(call).await.map(Some),
                CallOp::Act { id, action, body } => calls.act(&id, action, body).await.map(Some),
                CallOp::Dnd { device, setting } => {
                    calls.set_dnd(&device, setting).await.map(|()| None)
                }
                CallOp::Forwarding { device, setting } => {
                    calls.set_forwarding(&device, setting).await.map(|()| None)
                }
            };
            let outcome = match outcome {
                Ok(view) => Outcome::Done(view),
                Err(error) => Outcome::from(error),
            };
            return serde_json::to_vec(&outcome).ok();
        }
    };
    serde_json::to_vec(&answer).ok()
}

/// Asks every other live node; the answers that came in time.
pub async fn ask_all(state: &AppState, question: &Question) -> Vec<Bytes> {
    let (Some(relay), Some(cluster)) = (&state.relay, &state.cluster) else {
        return Vec::new();
    };
    let Ok(question) = serde_json::to_vec(question) else {
        return Vec::new();
    };
    relay
        .ask(&cluster.live_nodes(), question.into(), ASK_TIMEOUT)
        .await
}

/// Every other live node's answer to `question`, as a list of `T`, appended to `into`.
pub async fn gather<T: for<'de> Deserialize<'de>>(
    state: &AppState,
    question: &Question,
    into: &mut Vec<T>,
) {
    for answer in ask_all(state, question).await {
        match serde_json::from_slice::<Vec<T>>(&answer) {
            Ok(items) => into.extend(items),
            Err(error) => tracing::warn!(%error, "an unreadable answer from another node"),
        }
    }
}

/// The tenant's calls on every node's links.
pub async fn calls(state: &AppState, tenant: TenantId, user: Option<UserId>) -> Vec<CallView> {
    let mut calls = state.cti.calls(tenant, user);
    gather(state, &Question::Calls { tenant, user }, &mut calls).await;
    calls
}

/// The tenant's device states on every node's links, by number.
pub async fn device_states(state: &AppState, tenant: TenantId) -> Vec<DeviceStateView> {
    let mut devices = state.cti.device_states(tenant);
    gather(state, &Question::Devices { tenant }, &mut devices).await;
    devices.sort_by(|a, b| a.number.cmp(&b.number));
    devices
}

/// How long a forwarded call control request may take: the owner's wait for the switch,
/// then for the call it made, and a margin for the way there and back.
fn control_timeout(state: &AppState) -> Duration {
    state.cti.request_timeout * 2 + Duration::from_secs(1)
}

/// A call control request as sent to another node.
fn control(tenant: TenantId, user: UserId, role: Role, op: CallOp) -> ApiResult<Bytes> {
    let question = Question::Control {
        tenant,
        user,
        role,
        op,
    };
    Ok(serde_json::to_vec(&question)
        .map_err(ApiError::internal)?
        .into())
}

/// Sends call control for PBX `pbx`'s link to the node running it.
pub async fn control_on(
    state: &AppState,
    pbx: PbxId,
    tenant: TenantId,
    user: UserId,
    role: Role,
    op: CallOp,
) -> ApiResult<Option<CallView>> {
    let (Some(relay), Some(cluster)) = (&state.relay, &state.cluster) else {
        return Err(unavailable("the PBX connection is not running"));
    };
    let Some(owner) = cluster.owner_of(pbx) else {
        return Err(unavailable("no node runs the PBX connection at the moment"));
    };
    let question = control(tenant, user, role, op)?;
    match relay
        .ask_node(&owner, question, control_timeout(state))
        .await
    {
        Ok(answer) => serde_json::from_slice::<Outcome>(&answer)
            .map_err(|_| unavailable("the node running the PBX connection answered garbage"))?
            .into_result(),
        Err(ucplus_nats::Error::Timeout) => Err(ApiError::from(PbxError::Timeout)),
        Err(_) => Err(unavailable(
            "the node running the PBX connection does not answer",
        )),
    }
}

/// Sends call control on a call this node does not know to every other live node: the
/// one running the call's link acts, the others know no such call. None answering
/// otherwise: `not_found`.
pub async fn control_anywhere(
    state: &AppState,
    tenant: TenantId,
    user: UserId,
    role: Role,
    op: CallOp,
) -> ApiResult<Option<CallView>> {
    let (Some(relay), Some(cluster)) = (&state.relay, &state.cluster) else {
        return Err(ApiError::not_found());
    };
    let question = control(tenant, user, role, op)?;
    let answers = relay
        .ask(&cluster.live_nodes(), question, control_timeout(state))
        .await;
    for answer in answers {
        let Ok(outcome) = serde_json::from_slice::<Outcome>(&answer) else {
            continue;
        };
        match outcome.into_result() {
            Err(error) if error.code == "not_found" => continue,
            result => return result,
        }
    }
    Err(ApiError::not_found())
}
