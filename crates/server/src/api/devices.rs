//! Devices (extensions, handsets) of the caller's tenant.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pbx::link::kinds::PbxSettings;
use serde::{Deserialize, Serialize};
use ucplus_core::{
    Device, DeviceRecordId, PbxId, StoreError, TenantId, Timestamp, UserId, ValidationErrors,
};

use super::parse_id;
use super::patch::nullable;
use crate::auth::{Auth, ClientAddress};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;
use ucplus_core::cti::views::RegistrationView;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewDevice {
    pbx_id: String,
    device_id: String,
    /// The number the tenant dials, if not the device id.
    #[serde(default)]
    extension: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    /// uaCSTA handsets: the SIP user the phone registers as (with `sip_password`).
    #[serde(default)]
    sip_username: Option<String>,
    /// Write-only: stored as digest hashes, never returned.
    #[serde(default)]
    sip_password: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DevicePatch {
    name: Option<String>,
    /// uaCSTA handsets: the SIP user the phone registers as (with `sip_password`).
    sip_username: Option<String>,
    /// Write-only: stored as digest hashes, never returned.
    sip_password: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    extension: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    user_id: Option<Option<String>>,
}

/// A device with, for a uaCSTA handset, its SIP registration.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeviceView {
    #[serde(flatten)]
    device: Device,
    /// uaCSTA handsets: `registered`/`unregistered`, the contact, seconds to expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    registration: Option<RegistrationView>,
}

fn view(state: &AppState, device: Device) -> DeviceView {
    let registration = state.sip.registration(device.id);
    DeviceView {
        device,
        registration,
    }
}

/// A device id on a PBX: 1-64 printable characters without spaces.
pub fn check_device_id(errors: &mut ValidationErrors, field: &str, device_id: &str) {
    let ok = (1..=64).contains(&device_id.len()) && device_id.chars().all(|c| c.is_ascii_graphic());
    if !ok {
        errors.add(field, "must be 1-64 printable characters without spaces");
    }
}

/// The user a device is given to must be a user of the same tenant.
async fn resolve_user(
    state: &AppState,
    tenant: TenantId,
    errors: &mut ValidationErrors,
    user: Option<&str>,
) -> ApiResult<Option<UserId>> {
    let Some(text) = user else { return Ok(None) };
    let Ok(id) = text.parse::<UserId>() else {
        errors.add("user_id", "no such user");
        return Ok(None);
    };
    match state.store.tenant(tenant).users().get(id).await {
        Ok(user) => Ok(Some(user.id)),
        Err(StoreError::NotFound) => {
            errors.add("user_id", "no such user");
            Ok(None)
        }
        Err(error) => Err(error.into()),
    }
}

/// Checks new SIP credentials for a handset of a uaCSTA connection and hashes them for
/// its realm (the connection's SIP domain).
async fn sip_credentials(
    state: &AppState,
    device: &Device,
    given: (Option<&String>, Option<&String>),
    errors: &mut ValidationErrors,
) -> ApiResult<Option<(String, ucplus_core::SipHa1)>> {
    let (username, password) = match given {
        (None, None) => return Ok(None),
        (Some(username), Some(password)) => (username, password),
        _ => {
            errors.add("sip_password", "set sip_username and sip_password together");
            return Ok(None);
        }
    };
    let pbx = state.store.pbx(device.pbx_id).await?;
    let settings = PbxSettings::of(&pbx).ok();
    let Some(domain) = settings.as_ref().and_then(PbxSettings::sip_domain) else {
        errors.add(
            "sip_username",
            "only handsets of a uacsta connection have SIP credentials",
        );
        return Ok(None);
    };
    errors.username("sip_username", username);
    errors.password("sip_password", password);
    let taken = state
        .store
        .pbx_devices(pbx.id)
        .await?
        .iter()
        .any(|d| d.id != device.id && d.sip_username.as_deref() == Some(username.as_str()));
    if taken {
        errors.add(
            "sip_username",
            "another handset of this connection has this SIP user",
        );
    }
    let md5 = sip::auth::ha1(sip::Algorithm::Md5, username, domain, password);
    let sha256 = sip::auth::ha1(sip::Algorithm::Sha256, username, domain, password);
    Ok(Some((
        username.clone(),
        ucplus_core::SipHa1 { md5, sha256 },
    )))
}

/// Within a tenant, a number dials one device only.
async fn check_number_free(
    state: &AppState,
    tenant: TenantId,
    except: Option<DeviceRecordId>,
    number: &str,
    errors: &mut ValidationErrors,
) -> ApiResult<()> {
    let taken = state
        .store
        .tenant(tenant)
        .devices()
        .list()
        .await?
        .iter()
        .any(|d| Some(d.id) != except && d.number() == number);
    if taken {
        errors.add(
            "extension",
            format!("another device of the tenant already has number {number}"),
        );
    }
    Ok(())
}

/// The tenant's devices, on every PBX.
#[utoipa::path(get, path = "/api/v1/devices", operation_id = "list_devices", tag = "devices",
    responses((status = 200, body = Vec<Device>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<DeviceView>>> {
    let devices = state.store.tenant(auth.tenant()?).devices().list().await?;
    Ok(Json(devices.into_iter().map(|d| view(&state, d)).collect()))
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
    let mut errors = ValidationErrors::new();
    check_device_id(&mut errors, "device_id", &new.device_id);
    if let Some(name) = &new.name {
        errors.text("name", name, 200);
    }
    let pbx_id: Option<PbxId> = new.pbx_id.parse().ok();
    let pbx = match pbx_id {
        Some(id) => match state.store.pbx(id).await {
            Ok(pbx) => Some(pbx),
            Err(StoreError::NotFound) => None,
            Err(error) => return Err(error.into()),
        },
        None => None,
    };
    match &pbx {
        Some(pbx) if pbx.tenant_id == Some(tenant) => {}
        Some(pbx) if pbx.tenant_id.is_none() => {
            return Err(ApiError::forbidden(
                "devices of a shared PBX are assigned to tenants by the system admin",
            ));
        }
        // Another tenant's PBX answers exactly like one that does not exist.
        _ => errors.add("pbx_id", "no such PBX"),
    }
    let user_id = resolve_user(&state, tenant, &mut errors, new.user_id.as_deref()).await?;
    if let Some(extension) = &new.extension {
        check_device_id(&mut errors, "extension", extension);
    }
    let number = new.extension.as_deref().unwrap_or(&new.device_id);
    check_number_free(&state, tenant, None, number, &mut errors).await?;
    errors.into_result().map_err(ApiError::validation)?;
    let Some(pbx) = pbx else {
        return Err(ApiError::field("pbx_id", "no such PBX"));
    };
    let mut device = Device {
        id: DeviceRecordId::new(),
        tenant_id: tenant,
        pbx_id: pbx.id,
        extension: new.extension,
        sip_username: None,
        sip_ha1: None,
        name: new
            .name
            .map(|n| n.trim().to_string())
            .unwrap_or_else(|| format!("Extension {}", new.device_id)),
        device_id: new.device_id,
        user_id,
        created_at: Timestamp::now(),
    };
    let mut errors = ValidationErrors::new();
    let given = (new.sip_username.as_ref(), new.sip_password.as_ref());
    if let Some((username, ha1)) = sip_credentials(&state, &device, given, &mut errors).await? {
        device.sip_username = Some(username);
        device.sip_ha1 = Some(ha1);
    }
    errors.into_result().map_err(ApiError::validation)?;
    state
        .store
        .tenant(tenant)
        .devices()
        .insert(std::slice::from_ref(&device))
        .await?;
    // Monitored at once, like a device assigned on a shared PBX.
    state.reload_pbx(device.pbx_id).await;
    state
        .audit(
            &auth.0,
            Some(tenant),
            "device.create",
            Some(device.id.to_string()),
            serde_json::json!({"pbx_id": device.pbx_id, "device_id": device.device_id}),
            &address,
        )
        .await;
    Ok((StatusCode::CREATED, Json(view(&state, device))))
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
    Ok(Json(view(&state, device)))
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
    let mut device = state
        .store
        .tenant(tenant)
        .devices()
        .get(parse_id(&id)?)
        .await?;
    let mut errors = ValidationErrors::new();
    if let Some(name) = &patch.name {
        errors.text("name", name, 200);
    }
    let user_id = match &patch.user_id {
        Some(user) => Some(resolve_user(&state, tenant, &mut errors, user.as_deref()).await?),
        None => None,
    };
    if let Some(Some(extension)) = &patch.extension {
        check_device_id(&mut errors, "extension", extension);
    }
    if let Some(extension) = &patch.extension {
        let number = extension.as_deref().unwrap_or(&device.device_id);
        check_number_free(&state, tenant, Some(device.id), number, &mut errors).await?;
    }
    let given = (patch.sip_username.as_ref(), patch.sip_password.as_ref());
    let sip_credentials = sip_credentials(&state, &device, given, &mut errors).await?;
    errors.into_result().map_err(ApiError::validation)?;
    if let Some(name) = patch.name {
        device.name = name.trim().to_string();
    }
    if let Some(extension) = patch.extension {
        device.extension = extension;
    }
    if let Some(user_id) = user_id {
        device.user_id = user_id;
    }
    if let Some((username, ha1)) = sip_credentials {
        device.sip_username = Some(username);
        device.sip_ha1 = Some(ha1);
    }
    state.store.tenant(tenant).devices().update(&device).await?;
    state.reload_pbx(device.pbx_id).await;
    state
        .audit(
            &auth.0,
            Some(tenant),
            "device.update",
            Some(device.id.to_string()),
            serde_json::json!({"name": device.name, "user_id": device.user_id, "sip_username": device.sip_username}),
            &address,
        )
        .await;
    Ok(Json(view(&state, device)))
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
    let device = state
        .store
        .tenant(tenant)
        .devices()
        .get(parse_id(&id)?)
        .await?;
    let id = device.id;
    state.store.tenant(tenant).devices().delete(id).await?;
    state.reload_pbx(device.pbx_id).await;
    state
        .audit(
            &auth.0,
            Some(tenant),
            "device.delete",
            Some(id.to_string()),
            serde_json::json!({}),
            &address,
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
