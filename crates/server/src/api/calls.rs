//! Call control: the caller's calls, making calls, and acting on them. Users control only
//! their own devices; tenant admins any device of their tenant. A PBX refusal answers
//! `pbx_rejected` with the PBX's reason, a link that is down `pbx_unavailable`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use ucplus_core::Role;
use ucplus_core::cti::PbxError;
use ucplus_core::cti::views::CallView;

use crate::api::input::{ApiJson, ApiQuery};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::service::calls::{Action, CallAction, Calls, DndSetting, ForwardingSetting, NewCall};
use crate::state::AppState;

impl From<PbxError> for ApiError {
    fn from(error: PbxError) -> Self {
        let status = match error {
            PbxError::Rejected(_) => StatusCode::CONFLICT,
            PbxError::Unavailable(_) | PbxError::Timeout => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, error.code(), error.to_string())
    }
}

/// The caller's call control.
fn calls<'a>(state: &'a AppState, auth: &Auth) -> ApiResult<Calls<'a>> {
    Ok(state.calls(auth.tenant()?, &auth.0))
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
    Ok(Json(crate::peers::calls(&state, tenant, user).await))
}

/// Makes a call from the user's phone (or a chosen own device) and answers the new call.
#[utoipa::path(post, path = "/api/v1/calls", operation_id = "create_call", tag = "calls", request_body = NewCall,
    responses((status = 201, body = CallView), (status = 400, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(new): ApiJson<NewCall>,
) -> ApiResult<(StatusCode, Json<CallView>)> {
    let call = calls(&state, &auth)?.make(new).await;
    let call = call.map_err(|error| for_caller(&auth, error))?;
    Ok((StatusCode::CREATED, Json(call)))
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
            let body = action_body(&body)?;
            let call = calls(&state, &auth)?.act(&id, Action::$variant, body).await;
            call.map(Json).map_err(|error| for_caller(&auth, error))
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

/// Switches do-not-disturb of a device on or off.
#[utoipa::path(put, path = "/api/v1/devices/{id}/dnd", operation_id = "set_device_dnd", tag = "devices", params(("id" = String, Path)), request_body = DndSetting,
    responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn set_dnd(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(setting): ApiJson<DndSetting>,
) -> ApiResult<StatusCode> {
    let done = calls(&state, &auth)?.set_dnd(&id, setting).await;
    done.map_err(|error| for_caller(&auth, error))?;
    Ok(StatusCode::NO_CONTENT)
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
    let done = calls(&state, &auth)?.set_forwarding(&id, setting).await;
    done.map_err(|error| for_caller(&auth, error))?;
    Ok(StatusCode::NO_CONTENT)
}
