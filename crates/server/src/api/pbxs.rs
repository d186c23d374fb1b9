//! PBX connections (system admin; a tenant admin reads its own) and the assignment of a
//! PBX's devices to tenants.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pbx::link::kinds::PbxSettings;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use ucplus_core::{
    Device, DeviceRecordId, Pbx, PbxId, PbxKind, StoreError, TenantId, Timestamp, ValidationErrors,
};

use super::parse_id;
use crate::auth::{Auth, ClientAddress};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::service::devices::check_device_id;
use crate::state::AppState;
use ucplus_core::cti::views::LinkView;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewPbx {
    name: String,
    /// `csta`, `uacsta` or `sim`.
    kind: String,
    /// Owner tenant; null or absent for a shared (hosted) PBX.
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    port: Option<u16>,
    /// Kind-specific settings (`tls`, `session`, `login`, `password`, `edition`,
    /// `heartbeat_interval`, `sip_domain`, `devices`, ...).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    settings: Map<String, Value>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PbxPatch {
    name: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    /// Settings to change; a null value removes a setting.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    settings: Map<String, Value>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PbxView {
    #[serde(flatten)]
    pbx: Pbx,
    /// The live link: `connecting`, `up` or `down`, since when, and the last error.
    link: Option<LinkView>,
}

fn view(state: &AppState, mut pbx: Pbx) -> PbxView {
    if let Some(settings) = pbx.settings.as_object_mut() {
        for key in crate::secrets::SECRET_SETTINGS {
            settings.remove(*key);
        }
    }
    let link = state.cti.runtime(pbx.id).map(|r| r.link_view());
    PbxView { pbx, link }
}

/// Checks a connection before it is stored; its typed settings when they are valid.
fn check(errors: &mut ValidationErrors, pbx: &Pbx) -> Option<PbxSettings> {
    errors.text("name", &pbx.name, 200);
    let settings = PbxSettings::validate(pbx, errors);
    if let Some(host) = &pbx.host {
        errors.text("host", host, 255);
    }
    settings
}

/// A SIP domain names one uaCSTA connection on the whole server.
async fn check_domain_free(
    state: &AppState,
    pbx: &Pbx,
    settings: Option<&PbxSettings>,
    errors: &mut ValidationErrors,
) -> ApiResult<()> {
    let Some(domain) = settings.and_then(PbxSettings::sip_domain) else {
        return Ok(());
    };
    let taken = state.store.pbxs().await?.iter().any(|other| {
        other.id != pbx.id
            && other.kind == PbxKind::Uacsta
            && PbxSettings::of(other)
                .ok()
                .as_ref()
                .and_then(PbxSettings::sip_domain)
                .is_some_and(|d| d.eq_ignore_ascii_case(domain))
    });
    if taken {
        errors.add(
            "sip_domain",
            "another connection already has this SIP domain",
        );
    }
    Ok(())
}

/// PBX connections: all for the system admin, a tenant admin's own otherwise.
#[utoipa::path(get, path = "/api/v1/pbxs", operation_id = "list_pbxs", tag = "pbxs",
    responses((status = 200, body = Vec<PbxView>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<PbxView>>> {
    let only = match auth.system_admin() {
        Ok(()) => None,
        Err(_) => Some(auth.tenant_admin()?),
    };
    let pbxs = state
        .store
        .pbxs()
        .await?
        .into_iter()
        .filter(|pbx| only.is_none() || pbx.tenant_id == only)
        .map(|pbx| view(&state, pbx))
        .collect();
    Ok(Json(pbxs))
}

/// Adds a PBX connection (system admin).
#[utoipa::path(post, path = "/api/v1/pbxs", operation_id = "create_pbx", tag = "pbxs", request_body = NewPbx,
    responses((status = 201, body = PbxView), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    ApiJson(new): ApiJson<NewPbx>,
) -> ApiResult<(StatusCode, Json<PbxView>)> {
    auth.system_admin()?;
    let mut errors = ValidationErrors::new();
    let kind = new.kind.parse::<PbxKind>().unwrap_or_else(|message| {
        errors.add("kind", message);
        PbxKind::Sim
    });
    let tenant_id = match &new.tenant_id {
        Some(text) => match text.parse::<TenantId>() {
            Ok(id) => match state.store.tenant_by_id(id).await {
                Ok(tenant) => Some(tenant.id),
                Err(StoreError::NotFound) => {
                    errors.add("tenant_id", "no such tenant");
                    None
                }
                Err(error) => return Err(error.into()),
            },
            Err(_) => {
                errors.add("tenant_id", "no such tenant");
                None
            }
        },
        None => None,
    };
    let pbx = Pbx {
        id: PbxId::new(),
        name: new.name.trim().to_string(),
        kind,
        tenant_id,
        host: new.host,
        port: new.port,
        settings: Value::Object(new.settings),
        created_at: Timestamp::now(),
    };
    let settings = check(&mut errors, &pbx);
    check_domain_free(&state, &pbx, settings.as_ref(), &mut errors).await?;
    errors.into_result().map_err(ApiError::validation)?;
    let mut pbx = pbx;
    state
        .secrets
        .seal_settings(&mut pbx.settings)
        .map_err(ApiError::internal)?;
    state.store.insert_pbx(&pbx).await?;
    state.reload_pbx(pbx.id).await;
    state
        .audit(
            &auth.0,
            pbx.tenant_id,
            "pbx.create",
            Some(pbx.id.to_string()),
            serde_json::json!({"name": pbx.name, "kind": pbx.kind}),
            &address,
        )
        .await;
    Ok((StatusCode::CREATED, Json(view(&state, pbx))))
}

async fn visible_pbx(state: &AppState, auth: &Auth, id: &str) -> ApiResult<Pbx> {
    // Decide who may look before looking, so a refusal never reveals that an id exists.
    let only = match auth.system_admin() {
        Ok(()) => None,
        Err(_) => Some(auth.tenant_admin()?),
    };
    let pbx = state.store.pbx(parse_id(id)?).await?;
    if only.is_none() || pbx.tenant_id == only {
        Ok(pbx)
    } else {
        Err(ApiError::not_found())
    }
}

/// One PBX connection.
#[utoipa::path(get, path = "/api/v1/pbxs/{id}", operation_id = "get_pbx", tag = "pbxs", params(("id" = String, Path)),
    responses((status = 200, body = PbxView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<PbxView>> {
    Ok(Json(view(&state, visible_pbx(&state, &auth, &id).await?)))
}

/// Changes a PBX connection (system admin).
#[utoipa::path(patch, path = "/api/v1/pbxs/{id}", operation_id = "update_pbx", tag = "pbxs", params(("id" = String, Path)), request_body = PbxPatch,
    responses((status = 200, body = PbxView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<PbxPatch>,
) -> ApiResult<Json<PbxView>> {
    auth.system_admin()?;
    let mut pbx = state.store.pbx(parse_id(&id)?).await?;
    if let Some(name) = patch.name {
        pbx.name = name.trim().to_string();
    }
    if patch.host.is_some() {
        pbx.host = patch.host;
    }
    if patch.port.is_some() {
        pbx.port = patch.port;
    }
    if let Some(settings) = pbx.settings.as_object_mut() {
        for (key, value) in patch.settings {
            if value.is_null() {
                settings.remove(&key);
            } else {
                settings.insert(key, value);
            }
        }
    }
    let mut errors = ValidationErrors::new();
    let settings = check(&mut errors, &pbx);
    check_domain_free(&state, &pbx, settings.as_ref(), &mut errors).await?;
    errors.into_result().map_err(ApiError::validation)?;
    state
        .secrets
        .seal_settings(&mut pbx.settings)
        .map_err(ApiError::internal)?;
    state.store.update_pbx(&pbx).await?;
    state.reload_pbx(pbx.id).await;
    state
        .audit(
            &auth.0,
            pbx.tenant_id,
            "pbx.update",
            Some(pbx.id.to_string()),
            serde_json::json!({"name": pbx.name}),
            &address,
        )
        .await;
    Ok(Json(view(&state, pbx)))
}

/// Deletes a PBX connection and its devices (system admin).
#[utoipa::path(delete, path = "/api/v1/pbxs/{id}", operation_id = "delete_pbx", tag = "pbxs", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    auth.system_admin()?;
    let pbx = state.store.pbx(parse_id(&id)?).await?;
    state.store.delete_pbx(pbx.id).await?;
    state.reload_pbx(pbx.id).await;
    state
        .audit(
            &auth.0,
            pbx.tenant_id,
            "pbx.delete",
            Some(pbx.id.to_string()),
            serde_json::json!({"name": pbx.name}),
            &address,
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DeviceAssignment {
    tenant_id: String,
    /// Device ids and inclusive numeric ranges: `["200", "210-219"]`.
    device_ids: Vec<String>,
    /// A prefix the PBX puts before the tenant's extensions (`"1"`: device `1200` is
    /// extension `200` for the tenant).
    #[serde(default)]
    strip_prefix: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AssignedDevices {
    assigned: usize,
    devices: Vec<Device>,
}

/// The tenant's extension for a device id with the PBX's tenant prefix removed.
fn stripped(device_id: &str, prefix: Option<&str>) -> Option<String> {
    prefix
        .and_then(|prefix| device_id.strip_prefix(prefix))
        .filter(|rest| !rest.is_empty())
        .map(str::to_string)
}

/// At most this many devices per assignment request.
const MAX_ASSIGNMENT: usize = 10_000;

/// Expands `"210-219"` ranges; names each bad entry.
pub fn expand_device_ids(entries: &[String], errors: &mut ValidationErrors) -> Vec<String> {
    let mut ids = Vec::new();
    for entry in entries {
        let entry = entry.trim();
        let range = entry.split_once('-').and_then(|(first, last)| {
            // Zero-padded ranges (`0098-0100`) keep their width.
            let width = if first.starts_with('0') {
                first.len()
            } else {
                0
            };
            let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            (all_digits(first) && all_digits(last))
                .then(|| Some((first.parse::<u64>().ok()?, last.parse::<u64>().ok()?, width)))
                .flatten()
        });
        match range {
            Some((first, last, width)) if first <= last => {
                if (last - first) as usize + ids.len() >= MAX_ASSIGNMENT {
                    errors.add(
                        "device_ids",
                        format!("at most {MAX_ASSIGNMENT} devices per request"),
                    );
                    return Vec::new();
                }
                ids.extend((first..=last).map(|n| format!("{n:0width$}")));
            }
            Some(_) => errors.add("device_ids", format!("`{entry}`: a range must go upwards")),
            None => {
                let before = errors.0.len();
                check_device_id(errors, "device_ids", entry);
                if errors.0.len() == before {
                    ids.push(entry.to_string());
                }
            }
        }
    }
    if ids.len() > MAX_ASSIGNMENT {
        errors.add(
            "device_ids",
            format!("at most {MAX_ASSIGNMENT} devices per request"),
        );
    }
    if entries.is_empty() {
        errors.add("device_ids", "must name at least one device");
    }
    ids.sort();
    ids.dedup();
    ids
}

/// Assigns devices of a PBX to a tenant (system admin). On a shared PBX this is the only
/// way a device enters a tenant.
#[utoipa::path(post, path = "/api/v1/pbxs/{id}/devices", operation_id = "assign_pbx_devices", tag = "pbxs", params(("id" = String, Path)), request_body = DeviceAssignment,
    responses((status = 201, body = AssignedDevices), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn assign_devices(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    Path(id): Path<String>,
    ApiJson(assignment): ApiJson<DeviceAssignment>,
) -> ApiResult<(StatusCode, Json<AssignedDevices>)> {
    auth.system_admin()?;
    let pbx = state.store.pbx(parse_id(&id)?).await?;
    let mut errors = ValidationErrors::new();
    let tenant = match assignment.tenant_id.parse::<TenantId>() {
        Ok(id) => match state.store.tenant_by_id(id).await {
            Ok(tenant) => Some(tenant.id),
            Err(StoreError::NotFound) => None,
            Err(error) => return Err(error.into()),
        },
        Err(_) => None,
    };
    match tenant {
        None => errors.add("tenant_id", "no such tenant"),
        Some(tenant) if pbx.tenant_id.is_some_and(|owner| owner != tenant) => {
            errors.add("tenant_id", "this PBX belongs to another tenant");
        }
        Some(_) => {}
    }
    let ids = expand_device_ids(&assignment.device_ids, &mut errors);
    errors.into_result().map_err(ApiError::validation)?;
    let Some(tenant) = tenant else {
        return Err(ApiError::field("tenant_id", "no such tenant"));
    };
    let mut taken = Vec::new();
    for device_id in &ids {
        if state.store.device_owner(pbx.id, device_id).await?.is_some() {
            taken.push(device_id.clone());
        }
    }
    let tenant_numbers: std::collections::HashSet<String> = state
        .store
        .tenant(tenant)
        .devices()
        .list()
        .await?
        .iter()
        .map(|d| d.number().to_string())
        .collect();
    for device_id in &ids {
        let number = stripped(device_id, assignment.strip_prefix.as_deref())
            .unwrap_or_else(|| device_id.clone());
        if tenant_numbers.contains(&number) {
            taken.push(format!(
                "{device_id} (the tenant already has number {number})"
            ));
        }
    }
    if !taken.is_empty() {
        let shown: Vec<_> = taken.iter().take(10).cloned().collect();
        return Err(ApiError::conflict(format!(
            "{} device(s) are already assigned: {}{}",
            taken.len(),
            shown.join(", "),
            if taken.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        )));
    }
    let now = Timestamp::now();
    let devices: Vec<Device> = ids
        .iter()
        .map(|device_id| {
            let extension = stripped(device_id, assignment.strip_prefix.as_deref());
            let number = extension.clone().unwrap_or_else(|| device_id.clone());
            (device_id, extension, number)
        })
        .map(|(device_id, extension, number)| Device {
            id: DeviceRecordId::new(),
            tenant_id: tenant,
            pbx_id: pbx.id,
            device_id: device_id.clone(),
            extension,
            sip_username: None,
            sip_ha1: None,
            name: format!("Extension {number}"),
            user_id: None,
            created_at: now,
        })
        .collect();
    state
        .store
        .tenant(tenant)
        .devices()
        .insert(&devices)
        .await?;
    state.reload_pbx(pbx.id).await;
    state
        .audit(
            &auth.0,
            Some(tenant),
            "pbx.assign_devices",
            Some(pbx.id.to_string()),
            serde_json::json!({"device_ids": assignment.device_ids, "count": devices.len()}),
            &address,
        )
        .await;
    Ok((
        StatusCode::CREATED,
        Json(AssignedDevices {
            assigned: devices.len(),
            devices,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_expand_and_bad_entries_are_named() {
        let mut errors = ValidationErrors::new();
        let ids = expand_device_ids(
            &[
                "200".into(),
                "210-212".into(),
                "200".into(),
                "0098-0100".into(),
            ],
            &mut errors,
        );
        assert_eq!(errors.0, vec![]);
        assert_eq!(ids, ["0098", "0099", "0100", "200", "210", "211", "212"]);
        let mut errors = ValidationErrors::new();
        expand_device_ids(&["300-299".into(), "a b".into()], &mut errors);
        assert_eq!(errors.0.len(), 2);
        let mut errors = ValidationErrors::new();
        expand_device_ids(&["1-999999".into()], &mut errors);
        assert_eq!(errors.0.len(), 1, "{:?}", errors.0);
    }
}
