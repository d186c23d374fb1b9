//! Call control for the caller: making calls, acting on them (answer, hold, transfer, …)
//! and the phone features (do-not-disturb, forwarding). Users control only their own
//! devices; tenant admins any device of their tenant. A PBX refusal is `pbx_rejected`
//! with the PBX's reason, a link that is down `pbx_unavailable`. With several nodes, a
//! request for a link another node runs goes to that node ([`crate::peers`]).

use serde::{Deserialize, Serialize};
use ucplus_core::cti::views::CallView;
use ucplus_core::cti::{DeviceCall, PbxError, PbxRequest};
use ucplus_core::{Device, DeviceRecordId, Role, TenantId, UserId};
use uuid::Uuid;

use super::contacts::clean_number;
use crate::cti::CallRef;
use crate::cti::runtime::{Created, PbxRuntime};
use crate::error::parse_id;
use crate::error::{ApiError, ApiResult};
use crate::peers::{self, CallOp};
use crate::state::AppState;

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewCall {
    /// The number to call: an extension of the tenant or an outside number.
    pub to: String,
    /// The device to call from; default: the user's first device.
    #[serde(default)]
    pub device_id: Option<String>,
}

#[derive(Serialize, Deserialize, Default, utoipa::ToSchema)]
pub struct CallAction {
    /// For transfer (blind), consult and deflect: where to.
    #[serde(default)]
    pub to: Option<String>,
    /// For transfer (consult-and-complete) and conference: the user's other call.
    #[serde(default)]
    pub call_id: Option<String>,
    /// For digits: DTMF to send (0-9, *, #, A-D).
    #[serde(default)]
    pub digits: Option<String>,
}

/// A dialled number: digits, `+`, `*`, `#`; spaces, dashes and brackets are dropped.
fn dial_string(field: &str, text: &str) -> ApiResult<String> {
    clean_number(text).ok_or_else(|| {
        ApiError::field(
            field,
            "must be a phone number (digits, a leading +, * and #)",
        )
    })
}

/// The PBX device id to dial for `number`: a tenant's extension on the same PBX becomes
/// that device's id; anything else is dialled as given.
fn pbx_number(runtime: &PbxRuntime, tenant: TenantId, number: &str) -> String {
    runtime
        .read()
        .devices
        .values()
        .find(|d| d.record.tenant_id == tenant && d.record.number() == number)
        .map_or_else(|| number.to_string(), |d| d.record.device_id.clone())
}

async fn view(
    state: &AppState,
    runtime: &PbxRuntime,
    device: &Device,
    call: &DeviceCall,
) -> CallView {
    let party = state.cti.resolve_party(runtime, device, call);
    CallView::new(call, device.id, device.user_id, runtime.id, party)
}

/// The call a request just created, as soon as the engine reports it. A call that
/// already failed (busy, unreachable) answers `pbx_rejected` with the PBX's cause.
async fn created_call(
    state: &AppState,
    runtime: &PbxRuntime,
    device: &Device,
    call_id: Option<&str>,
    ends_before: u64,
) -> ApiResult<DeviceCall> {
    let wait = state.cti.request_timeout;
    match runtime
        .created_call(&device.device_id, call_id, ends_before, wait)
        .await
    {
        Created::Call(call) => Ok(call),
        Created::Ended(cause) => Err(ApiError::from(PbxError::Rejected(format!(
            "the call ended at once ({})",
            cause.as_deref().unwrap_or("no cause given")
        )))),
        Created::NotSeen => Err(ApiError::from(PbxError::Timeout)),
    }
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct DndSetting {
    pub on: bool,
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct ForwardingSetting {
    pub on: bool,
    #[serde(default)]
    pub to: Option<String>,
}

/// What can be done to a call (one route each).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Answer,
    Clear,
    Hold,
    Retrieve,
    Consult,
    Deflect,
    Digits,
    Transfer,
    Conference,
}

/// Of two calls on one phone, (the held one, the active one): what Transfer and
/// Conference join.
fn held_and_active(call: &DeviceCall, other: DeviceCall) -> (String, String) {
    if call.state == ucplus_core::cti::CallState::Held {
        (call.call_id.clone(), other.call_id)
    } else {
        (other.call_id, call.call_id.clone())
    }
}

/// What another node answered for a request that makes or acts on a call.
fn expect_call(answer: ApiResult<Option<CallView>>) -> ApiResult<CallView> {
    answer?.ok_or_else(|| {
        ApiError::from(PbxError::Unavailable(
            "the node running the PBX connection answered without the call".into(),
        ))
    })
}

/// The call control of one signed-in user.
pub struct Calls<'a> {
    pub(super) state: &'a AppState,
    pub(super) tenant: TenantId,
    pub(super) user: UserId,
    pub(super) role: Role,
    /// Forwarded here by another node: never forwarded again.
    pub(super) forwarded: bool,
}

impl Calls<'_> {
    /// May the caller control this device? Another tenant's device is unknown.
    fn check_control(&self, device: &Device) -> ApiResult<()> {
        if device.tenant_id != self.tenant {
            return Err(ApiError::not_found());
        }
        if self.role == Role::User && device.user_id != Some(self.user) {
            return Err(ApiError::forbidden("you can only control your own phones"));
        }
        Ok(())
    }

    /// Makes a call from the caller's phone (or a chosen own device) and answers the new
    /// call as soon as the engine reports it.
    pub async fn make(&self, new: NewCall) -> ApiResult<CallView> {
        let (state, tenant) = (self.state, self.tenant);
        let to = dial_string("to", &new.to)?;
        let device = match &new.device_id {
            Some(id) => {
                let id: DeviceRecordId = id
                    .parse()
                    .map_err(|_| ApiError::field("device_id", "no such device"))?;
                let device = state
                    .store
                    .tenant(tenant)
                    .devices()
                    .get(id)
                    .await
                    .map_err(|_| ApiError::field("device_id", "no such device"))?;
                self.check_control(&device)?;
                device
            }
            None => state
                .store
                .tenant(tenant)
                .devices()
                .list()
                .await?
                .into_iter()
                .filter(|d| d.user_id == Some(self.user))
                .min_by(|a, b| a.number().cmp(b.number()))
                .ok_or_else(|| {
                    ApiError::conflict(
                        "you have no phone to call from; ask your admin to assign one",
                    )
                })?,
        };
        let Some(runtime) = state.cti.runtime(device.pbx_id) else {
            let call = NewCall {
                to,
                device_id: Some(device.id.to_string()),
            };
            return expect_call(self.elsewhere(device.pbx_id, CallOp::Make { call }).await);
        };
        let dialled = pbx_number(&runtime, tenant, &to);
        let ends_before = runtime.read().ends_seq;
        let response = state
            .cti
            .request(
                &runtime,
                PbxRequest::MakeCall {
                    device: device.device_id.clone(),
                    to: dialled.clone(),
                },
            )
            .await?;
        let call = match created_call(
            state,
            &runtime,
            &device,
            response.call_id.as_deref(),
            ends_before,
        )
        .await
        {
            // Before the switch reports the far end (Delivered), the number dialled is it.
            Ok(mut call) => {
                call.other_number.get_or_insert(dialled);
                call
            }
            Err(error) => {
                // A call that failed at once leaves the phone on busy tone: hang it up.
                if let Some(call_id) = response.call_id {
                    let clear = PbxRequest::Clear {
                        device: device.device_id.clone(),
                        call_id,
                    };
                    let _ = state.cti.request(&runtime, clear).await;
                }
                return Err(error);
            }
        };
        Ok(view(state, &runtime, &device, &call).await)
    }

    /// Sends a request for PBX `pbx`'s link to the node running it (this node does not).
    async fn elsewhere(&self, pbx: ucplus_core::PbxId, op: CallOp) -> ApiResult<Option<CallView>> {
        if self.forwarded {
            return Err(ApiError::from(PbxError::Unavailable(
                "the PBX connection moved to another node; try again".into(),
            )));
        }
        peers::control_on(self.state, pbx, self.tenant, self.user, self.role, op).await
    }

    /// Runs an action on a call and answers the call as it is afterwards (or the new call).
    /// A call this node does not know may be on another node's link: that node acts.
    pub async fn act(&self, id: &str, action: Action, body: CallAction) -> ApiResult<CallView> {
        let (state, tenant) = (self.state, self.tenant);
        let call_id: Uuid = parse_id(id)?;
        let Some(found) = state.cti.find_call(tenant, call_id) else {
            if self.forwarded {
                return Err(ApiError::not_found());
            }
            let op = CallOp::Act {
                id: id.to_string(),
                action,
                body,
            };
            let view = peers::control_anywhere(state, tenant, self.user, self.role, op).await;
            return expect_call(view);
        };
        self.check_control(&found.device)?;
        let CallRef {
            runtime,
            device,
            call,
        } = found;
        let device_id = device.device_id.clone();
        let other_call = |field: &str| -> ApiResult<DeviceCall> {
            let text = body
                .call_id
                .as_deref()
                .ok_or_else(|| ApiError::field(field, "name your other call"))?;
            let other_id: Uuid = text
                .parse()
                .map_err(|_| ApiError::field(field, "no such call"))?;
            let other = state
                .cti
                .find_call(tenant, other_id)
                .ok_or_else(|| ApiError::field(field, "no such call"))?;
            if other.device.id != device.id {
                return Err(ApiError::field(
                    field,
                    "the other call must be on the same phone",
                ));
            }
            Ok(other.call)
        };
        let target = |body: &CallAction| -> ApiResult<String> {
            let to = body
                .to
                .as_deref()
                .ok_or_else(|| ApiError::field("to", "where to?"))?;
            Ok(pbx_number(&runtime, tenant, &dial_string("to", to)?))
        };
        let call_id = call.call_id.clone();
        let request = match action {
            Action::Answer => PbxRequest::Answer {
                device: device_id,
                call_id,
            },
            Action::Clear => PbxRequest::Clear {
                device: device_id,
                call_id,
            },
            Action::Hold => PbxRequest::Hold {
                device: device_id,
                call_id,
            },
            Action::Retrieve => PbxRequest::Retrieve {
                device: device_id,
                call_id,
            },
            Action::Consult => PbxRequest::Consult {
                device: device_id,
                call_id,
                to: target(&body)?,
            },
            Action::Deflect => PbxRequest::Deflect {
                device: device_id,
                call_id,
                to: target(&body)?,
            },
            Action::Digits => {
                let digits = body.digits.as_deref().unwrap_or_default();
                let valid = (1..=64).contains(&digits.len())
                    && digits
                        .chars()
                        .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D'));
                if !valid {
                    return Err(ApiError::field("digits", "1-64 of 0-9, *, #, A-D"));
                }
                PbxRequest::Digits {
                    device: device_id,
                    call_id,
                    digits: digits.to_string(),
                }
            }
            Action::Transfer if body.call_id.is_some() => {
                let (held_call_id, active_call_id) = held_and_active(&call, other_call("call_id")?);
                PbxRequest::Transfer {
                    device: device_id,
                    held_call_id,
                    active_call_id,
                }
            }
            Action::Transfer => PbxRequest::SingleStepTransfer {
                device: device_id,
                call_id,
                to: target(&body)?,
            },
            Action::Conference => {
                let (held_call_id, active_call_id) = held_and_active(&call, other_call("call_id")?);
                PbxRequest::Conference {
                    device: device_id,
                    held_call_id,
                    active_call_id,
                }
            }
        };
        let consulted = match &request {
            PbxRequest::Consult { to, .. } => Some(to.clone()),
            _ => None,
        };
        let ends_before = runtime.read().ends_seq;
        let response = state.cti.request(&runtime, request).await?;
        if let Some(to) = consulted {
            let mut new_call = created_call(
                state,
                &runtime,
                &device,
                response.call_id.as_deref(),
                ends_before,
            )
            .await?;
            // As for a new call: before the switch reports the far end, the number dialled is it.
            new_call.other_number.get_or_insert(to);
            return Ok(view(state, &runtime, &device, &new_call).await);
        }
        // The call as the engine knows it now (it may already have ended).
        let current = state
            .cti
            .find_call(tenant, call.id)
            .map_or(call, |c| c.call);
        Ok(view(state, &runtime, &device, &current).await)
    }

    /// Sends a feature request (DND, forwarding) for one of the caller's devices (`op`:
    /// the same request for the node running the device's link, if another does).
    async fn feature(
        &self,
        id: &str,
        op: CallOp,
        make: impl FnOnce(&PbxRuntime, TenantId, String) -> ApiResult<PbxRequest>,
    ) -> ApiResult<()> {
        let (state, tenant) = (self.state, self.tenant);
        let device = state
            .store
            .tenant(tenant)
            .devices()
            .get(parse_id(id)?)
            .await?;
        self.check_control(&device)?;
        let Some(runtime) = state.cti.runtime(device.pbx_id) else {
            return self.elsewhere(device.pbx_id, op).await.map(|_| ());
        };
        let request = make(&runtime, tenant, device.device_id)?;
        state.cti.request(&runtime, request).await?;
        Ok(())
    }

    /// Switches do-not-disturb of one of the caller's devices on or off.
    pub async fn set_dnd(&self, id: &str, setting: DndSetting) -> ApiResult<()> {
        let op = CallOp::Dnd {
            device: id.to_string(),
            setting: DndSetting { on: setting.on },
        };
        self.feature(id, op, |_, _, device| {
            Ok(PbxRequest::SetDoNotDisturb {
                device,
                on: setting.on,
            })
        })
        .await
    }

    /// Switches immediate call forwarding of one of the caller's devices on (to `to`) or
    /// off.
    pub async fn set_forwarding(&self, id: &str, setting: ForwardingSetting) -> ApiResult<()> {
        let to = match (&setting.on, &setting.to) {
            (true, Some(to)) => Some(dial_string("to", to)?),
            (true, None) => return Err(ApiError::field("to", "forward where?")),
            (false, _) => None,
        };
        let op = CallOp::Forwarding {
            device: id.to_string(),
            setting: ForwardingSetting {
                on: setting.on,
                to: to.clone(),
            },
        };
        self.feature(id, op, |runtime, tenant, device| {
            Ok(PbxRequest::SetForwarding {
                device,
                on: setting.on,
                to: to.map(|to| pbx_number(runtime, tenant, &to)),
            })
        })
        .await
    }
}
