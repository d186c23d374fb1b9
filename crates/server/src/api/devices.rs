//! Devices (extensions, handsets) of the caller's tenant.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use ucplus_core::Device;
use ucplus_core::cti::views::RegistrationView;

use crate::api::input::ApiJson;
use crate::auth::{Auth, ClientAddress};
use crate::error::ApiResult;
use crate::error::parse_id;
use crate::service::devices::{DevicePatch, NewDevice};
use crate::state::AppState;

/// A device with, for a uaCSTA handset, its SIP registration.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeviceView {
    #[serde(flatten)]
    device: Device,
    /// uaCSTA handsets: `registered`/`unregistered`, the contact, seconds to expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    registration: Option<RegistrationView>,
}

/// The devices with their registrations (as stored: taken by any node).
async fn views(state: &AppState, devices: Vec<Device>) -> ApiResult<Vec<DeviceView>> {
    let Some(tenant) = devices.first().map(|d| d.tenant_id) else {
        return Ok(Vec::new());
    };
    let ids: Vec<_> = devices.iter().map(|d| d.id).collect();
    let registrations = state.sip.registrations(tenant, &ids).await?;
    Ok(devices
        .into_iter()
        .zip(registrations)
        .map(|(device, registration)| DeviceView {
            device,
            registration,
        })
        .collect())
}

async fn view(state: &AppState, device: Device) -> ApiResult<DeviceView> {
    let mut one = views(state, vec![device]).await?;
    one.pop()
        .ok_or_else(|| ucplus_core::StoreError::NotFound.into())
}

/// The tenant's devices, on every PBX.
#[utoipa::path(get, path = "/api/v1/devices", operation_id = "list_devices", tag = "devices",
    responses((status = 200, body = Vec<Device>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<DeviceView>>> {
    let devices = state.store.tenant(auth.tenant()?).devices().list().await?;
    Ok(Json(views(&state, devices).await?))
}

/// Adds a device on a PBX the tenant owns (tenant admin). Devices of a shared PBX are
/// assigned by the system admin (`POST /api/v1/pbxs/{id}/devices`).
#[utoipa::path(post, path = "/api/v1/devices", operation_id = "create_device", tag = "devices", request_body = NewDevice,
    responses((status = 201, body = Device), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    ApiJson(new): ApiJson<NewDevice>,
) -> ApiResult<(StatusCode, Json<DeviceView>)> {
    let tenant = auth.tenant_admin()?;
    let device = state
        .devices(tenant)
        .create(auth.actor(&address), new)
        .await?;
    Ok((StatusCode::CREATED, Json(view(&state, device).await?)))
}

/// One device.
#[utoipa::path(get, path = "/api/v1/devices/{id}", operation_id = "get_device", tag = "devices", params(("id" = String, Path)),
    responses((status = 200, body = Device), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<DeviceView>> {
    let device = state
        .store
        .tenant(auth.tenant()?)
        .devices()
        .get(parse_id(&id)?)
        .await?;
    Ok(Json(view(&state, device).await?))
}

/// Renames a device or gives it to a user (tenant admin).
#[utoipa::path(patch, path = "/api/v1/devices/{id}", operation_id = "update_device", tag = "devices", params(("id" = String, Path)), request_body = DevicePatch,
    responses((status = 200, body = Device), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<DevicePatch>,
) -> ApiResult<Json<DeviceView>> {
    let tenant = auth.tenant_admin()?;
    let device = state
        .devices(tenant)
        .update(auth.actor(&address), parse_id(&id)?, patch)
        .await?;
    Ok(Json(view(&state, device).await?))
}

/// Removes a device from the tenant (tenant admin).
#[utoipa::path(delete, path = "/api/v1/devices/{id}", operation_id = "delete_device", tag = "devices", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let tenant = auth.tenant_admin()?;
    state
        .devices(tenant)
        .delete(auth.actor(&address), parse_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
