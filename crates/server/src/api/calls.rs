//! Call control: the caller's calls, making calls, and acting on them. Users control only
//! their own devices; tenant admins any device of their tenant. A PBX refusal answers
//! `pbx_rejected` with the PBX's reason, a link that is down `pbx_unavailable`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use ucplus_core::cti::{DeviceCall, PbxError, PbxRequest};
use ucplus_core::{Device, DeviceRecordId, Role, TenantId};
use uuid::Uuid;

use super::parse_id;
use crate::auth::Auth;
use crate::cti::CallRef;
use crate::cti::runtime::{Created, PbxRuntime};
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use crate::service::contacts::clean_number;
use crate::state::AppState;
use ucplus_core::cti::views::CallView;

impl From<PbxError> for ApiError {
    fn from(error: PbxError) -> Self {
        let status = match error {
            PbxError::Rejected(_) => StatusCode::CONFLICT,
            PbxError::Unavailable(_) | PbxError::Timeout => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, error.code(), error.to_string())
    }
}

/// What the telephone system said, for the caller: the switch's reasons (CSTA error
/// names, addresses) go to admins; an end user gets a plain sentence with the same code.
fn for_caller(auth: &Auth, mut error: ApiError) -> ApiError {
    if auth.0.role != Role::User {
        return error;
    }
    match error.code {
        "pbx_rejected" => {
            error.message = "the telephone system did not accept this; please try again".into();
        }
        "pbx_unavailable" => {
            error.message = "the telephone system cannot be reached at the moment".into();
        }
        _ => {}
    }
    error
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewCall {
    /// The number to call: an extension of the tenant or an outside number.
    to: String,
    /// The device to call from; default: the user's first device.
    #[serde(default)]
    device_id: Option<String>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct CallAction {
    /// For transfer (blind), consult and deflect: where to.
    #[serde(default)]
    to: Option<String>,
    /// For transfer (consult-and-complete) and conference: the user's other call.
    #[serde(default)]
    call_id: Option<String>,
    /// For digits: DTMF to send (0-9, *, #, A-D).
    #[serde(default)]
    digits: Option<String>,
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

/// May this session control this device? Another tenant's device is unknown.
fn check_control(auth: &Auth, tenant: TenantId, device: &Device) -> ApiResult<()> {
    if device.tenant_id != tenant {
        return Err(ApiError::not_found());
    }
    if auth.0.role == Role::User && device.user_id != Some(auth.0.user_id) {
        return Err(ApiError::forbidden("you can only control your own phones"));
    }
    Ok(())
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallsQuery {
    /// Tenant admins: every active call of the tenant instead of their own.
    #[serde(default)]
    all: bool,
}

/// The caller's active calls (a tenant admin's: every call of the tenant with `?all=true`).
#[utoipa::path(get, path = "/api/v1/calls", operation_id = "list_calls", tag = "calls", params(CallsQuery),
    responses((status = 200, body = Vec<CallView>), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(query): ApiQuery<CallsQuery>,
) -> ApiResult<Json<Vec<CallView>>> {
    let tenant = if query.all {
        auth.tenant_admin()?
    } else {
        auth.tenant()?
    };
    // The system admin acting in a tenant has no phone of its own: it sees every call.
    let user = auth
        .0
        .tenant_id
        .filter(|_| !query.all)
        .map(|_| auth.0.user_id);
    Ok(Json(state.cti.calls(tenant, user)))
}

/// Makes a call from the user's phone (or a chosen own device) and answers the new call.
#[utoipa::path(post, path = "/api/v1/calls", operation_id = "create_call", tag = "calls", request_body = NewCall,
    responses((status = 201, body = CallView), (status = 400, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(new): ApiJson<NewCall>,
) -> ApiResult<(StatusCode, Json<CallView>)> {
    let result = make_call(state, &auth, new).await;
    result.map_err(|error| for_caller(&auth, error))
}

async fn make_call(
    state: AppState,
    auth: &Auth,
    new: NewCall,
) -> ApiResult<(StatusCode, Json<CallView>)> {
    let tenant = auth.tenant()?;
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
            check_control(auth, tenant, &device)?;
            device
        }
        None => state
            .store
            .tenant(tenant)
            .devices()
            .list()
            .await?
            .into_iter()
            .filter(|d| d.user_id == Some(auth.0.user_id))
            .min_by(|a, b| a.number().cmp(b.number()))
            .ok_or_else(|| {
                ApiError::conflict("you have no phone to call from; ask your admin to assign one")
            })?,
    };
    let runtime = state.cti.runtime(device.pbx_id).ok_or_else(|| {
        ApiError::from(PbxError::Unavailable(
            "the PBX connection is not running".into(),
        ))
    })?;
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
        &state,
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
    Ok((
        StatusCode::CREATED,
        Json(view(&state, &runtime, &device, &call).await),
    ))
}

async fn find(state: &AppState, auth: &Auth, id: &str) -> ApiResult<(TenantId, CallRef)> {
    let tenant = auth.tenant()?;
    let id: Uuid = parse_id(id)?;
    let found = state
        .cti
        .find_call(tenant, id)
        .ok_or_else(ApiError::not_found)?;
    check_control(auth, tenant, &found.device)?;
    Ok((tenant, found))
}

/// What can be done to a call (one route each).
#[derive(Debug, Clone, Copy)]
enum Action {
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

/// Runs an action on a call and answers the call as it is afterwards (or the new call).
async fn act(
    state: AppState,
    auth: &Auth,
    id: String,
    action: Action,
    body: CallAction,
) -> ApiResult<Json<CallView>> {
    let (tenant, found) = find(&state, auth, &id).await?;
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
            &state,
            &runtime,
            &device,
            response.call_id.as_deref(),
            ends_before,
        )
        .await?;
        // As for a new call: before the switch reports the far end, the number dialled is it.
        new_call.other_number.get_or_insert(to);
        return Ok(Json(view(&state, &runtime, &device, &new_call).await));
    }
    // The call as the engine knows it now (it may already have ended).
    let current = state
        .cti
        .find_call(tenant, call.id)
        .map_or(call, |c| c.call);
    Ok(Json(view(&state, &runtime, &device, &current).await))
}

/// An action's body is optional: none, or a JSON object.
fn action_body(bytes: &[u8]) -> ApiResult<CallAction> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(CallAction::default());
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request("invalid_json", e.to_string()))
}

macro_rules! call_action {
    ($name:ident, $action:literal, $variant:ident, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = concat!("/api/v1/calls/{id}/", $action), operation_id = concat!($action, "_call"), tag = "calls",
            params(("id" = String, Path)), request_body(content = Option<CallAction>),
            responses((status = 200, body = CallView), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
                (status = 404, body = crate::error::ErrorBody), (status = 409, description = "pbx_rejected", body = crate::error::ErrorBody),
                (status = 503, description = "pbx_unavailable", body = crate::error::ErrorBody)))]
        pub async fn $name(
            State(state): State<AppState>,
            auth: Auth,
            Path(id): Path<String>,
            body: axum::body::Bytes,
        ) -> ApiResult<Json<CallView>> {
            let result = act(state, &auth, id, Action::$variant, action_body(&body)?).await;
            result.map_err(|error| for_caller(&auth, error))
        }
    };
}

call_action!(answer, "answer", Answer, "Answers a ringing call.");
call_action!(
    clear,
    "clear",
    Clear,
    "Hangs up (drops the device from the call)."
);
call_action!(hold, "hold", Hold, "Puts a call on hold.");
call_action!(
    retrieve,
    "retrieve",
    Retrieve,
    "Takes a call back from hold."
);
call_action!(
    consult,
    "consult",
    Consult,
    "Holds the call and calls `to`; answers the new call."
);
call_action!(
    transfer,
    "transfer",
    Transfer,
    "Transfers: blind to `to`, or to the far party of the other call `call_id` (consult and complete)."
);
call_action!(
    conference,
    "conference",
    Conference,
    "Joins this call and the other call `call_id` into a conference."
);
call_action!(deflect, "deflect", Deflect, "Sends a ringing call to `to`.");
call_action!(digits, "digits", Digits, "Sends DTMF `digits`.");

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DndSetting {
    on: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ForwardingSetting {
    on: bool,
    #[serde(default)]
    to: Option<String>,
}

async fn feature(
    state: &AppState,
    auth: &Auth,
    id: &str,
    make: impl FnOnce(&PbxRuntime, TenantId, String) -> ApiResult<PbxRequest>,
) -> ApiResult<StatusCode> {
    let tenant = auth.tenant()?;
    let device = state
        .store
        .tenant(tenant)
        .devices()
        .get(parse_id(id)?)
        .await?;
    check_control(auth, tenant, &device)?;
    let runtime = state.cti.runtime(device.pbx_id).ok_or_else(|| {
        ApiError::from(PbxError::Unavailable(
            "the PBX connection is not running".into(),
        ))
    })?;
    let request = make(&runtime, tenant, device.device_id)?;
    state
        .cti
        .request(&runtime, request)
        .await
        .map_err(|error| for_caller(auth, error.into()))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Switches do-not-disturb of a device on or off.
#[utoipa::path(put, path = "/api/v1/devices/{id}/dnd", operation_id = "set_device_dnd", tag = "devices", params(("id" = String, Path)), request_body = DndSetting,
    responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn set_dnd(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(setting): ApiJson<DndSetting>,
) -> ApiResult<StatusCode> {
    feature(&state, &auth, &id, |_, _, device| {
        Ok(PbxRequest::SetDoNotDisturb {
            device,
            on: setting.on,
        })
    })
    .await
}

/// Switches immediate call forwarding of a device on (to `to`) or off.
#[utoipa::path(put, path = "/api/v1/devices/{id}/forwarding", operation_id = "set_device_forwarding", tag = "devices", params(("id" = String, Path)), request_body = ForwardingSetting,
    responses((status = 204), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn set_forwarding(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(setting): ApiJson<ForwardingSetting>,
) -> ApiResult<StatusCode> {
    let to = match (&setting.on, &setting.to) {
        (true, Some(to)) => Some(dial_string("to", to)?),
        (true, None) => return Err(ApiError::field("to", "forward where?")),
        (false, _) => None,
    };
    feature(&state, &auth, &id, |runtime, tenant, device| {
        Ok(PbxRequest::SetForwarding {
            device,
            on: setting.on,
            to: to.map(|to| pbx_number(runtime, tenant, &to)),
        })
    })
    .await
}
