//! Presence: the tenant's users with their chosen state and phone state; one's own.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use ucplus_core::ValidationErrors;
use ucplus_core::cti::PresenceState;

use crate::api::input::ApiJson;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use ucplus_core::cti::views::{DeviceStateView, PresenceView};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PresenceUpdate {
    /// `available`, `away`, `busy`, `dnd` or `in_a_meeting`.
    state: String,
    /// Free text, e.g. "back at 14:00".
    #[serde(default)]
    note: Option<String>,
}

/// Presence and phone state of every user of the tenant.
#[utoipa::path(get, path = "/api/v1/presence", operation_id = "list_presence", tag = "presence",
    responses((status = 200, body = Vec<PresenceView>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<PresenceView>>> {
    Ok(Json(state.cti.presence(auth.tenant()?).await?))
}

/// The tenant's devices with their phone states (the busy-lamp field).
#[utoipa::path(get, path = "/api/v1/devices/states", operation_id = "list_device_states", tag = "presence",
    responses((status = 200, body = Vec<DeviceStateView>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn device_states(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<DeviceStateView>>> {
    Ok(Json(
        crate::peers::device_states(&state, auth.tenant()?).await,
    ))
}

fn own(auth: &Auth) -> ApiResult<ucplus_core::TenantId> {
    auth.0
        .tenant_id
        .ok_or_else(|| ApiError::forbidden("presence belongs to a tenant's users"))
}

/// One's own presence.
#[utoipa::path(get, path = "/api/v1/me/presence", operation_id = "get_own_presence", tag = "presence",
    responses((status = 200, body = PresenceView), (status = 403, body = crate::error::ErrorBody)))]
pub async fn get_own(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<PresenceView>> {
    let tenant = own(&auth)?;
    let name = state.cti.user_name(auth.0.user_id).unwrap_or_default();
    Ok(Json(state.cti.presence_of(tenant, auth.0.user_id, name)))
}

/// Sets one's own presence; every session of the tenant is told.
#[utoipa::path(put, path = "/api/v1/me/presence", operation_id = "set_own_presence", tag = "presence", request_body = PresenceUpdate,
    responses((status = 200, body = PresenceView), (status = 400, body = crate::error::ErrorBody)))]
pub async fn set_own(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(update): ApiJson<PresenceUpdate>,
) -> ApiResult<Json<PresenceView>> {
    let tenant = own(&auth)?;
    let mut errors = ValidationErrors::new();
    let chosen = update.state.parse::<PresenceState>().unwrap_or_else(|_| {
        errors.add(
            "state",
            "must be available, away, busy, dnd or in_a_meeting",
        );
        PresenceState::Available
    });
    let note = update
        .note
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    if let Some(note) = &note {
        errors.text("note", note, 200);
    }
    errors.into_result().map_err(ApiError::validation)?;
    Ok(Json(
        state
            .cti
            .set_presence(tenant, auth.0.user_id, chosen, note)
            .await?,
    ))
}
