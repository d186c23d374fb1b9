//! PBX connections (system admin; a tenant admin reads its own) and the assignment of a
//! PBX's devices to tenants.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

use ucplus_core::cti::LinkState;
use ucplus_core::cti::views::LinkView;
use ucplus_core::{Device, Pbx, PbxId, Timestamp};

use crate::api::input::ApiJson;
use crate::auth::{Auth, ClientAddress};
use crate::error::parse_id;
use crate::error::{ApiError, ApiResult};
use crate::service::pbxs::{DeviceAssignment, NewPbx, PbxPatch};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct PbxView {
    #[serde(flatten)]
    pbx: Pbx,
    /// The live link: `connecting`, `up` or `down`, since when, and the last error.
    link: Option<LinkView>,
}

/// The links other nodes run, as they last reported them (none for the only node).
async fn elsewhere(state: &AppState) -> ApiResult<HashMap<PbxId, LinkView>> {
    let Some(cluster) = &state.cluster else {
        return Ok(HashMap::new());
    };
    let (nodes, leases) = cluster.overview().await.map_err(ApiError::internal)?;
    let live: HashSet<&str> = nodes
        .iter()
        .filter(|n| n.live)
        .map(|n| n.name.as_str())
        .collect();
    Ok(leases
        .into_iter()
        .map(|lease| {
            let node = lease.node.filter(|n| live.contains(n.as_str()));
            let report = lease.link.filter(|_| node.is_some());
            let view = LinkView {
                pbx_id: lease.pbx_id,
                state: report
                    .as_ref()
                    .and_then(|r| LinkState::parse(&r.state))
                    .unwrap_or(LinkState::Down),
                since: report.as_ref().map_or(Timestamp(0), |r| r.since),
                error: match &report {
                    Some(r) => r.error.clone(),
                    None => Some("no node runs this link at the moment".into()),
                },
                session: report.and_then(|r| r.session),
                node,
            };
            (lease.pbx_id, view)
        })
        .collect())
}

fn view(state: &AppState, mut pbx: Pbx, elsewhere: &HashMap<PbxId, LinkView>) -> PbxView {
    if let Some(settings) = pbx.settings.as_object_mut() {
        for key in crate::secrets::SECRET_SETTINGS {
            settings.remove(*key);
        }
    }
    let link = state
        .cti
        .runtime(pbx.id)
        .map(|r| r.link_view())
        .or_else(|| elsewhere.get(&pbx.id).cloned());
    PbxView { pbx, link }
}

/// PBX connections: all for the system admin, a tenant admin's own otherwise.
#[utoipa::path(get, path = "/api/v1/pbxs", operation_id = "list_pbxs", tag = "pbxs",
    responses((status = 200, body = Vec<PbxView>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<PbxView>>> {
    let only = match auth.system_admin() {
        Ok(()) => None,
        Err(_) => Some(auth.tenant_admin()?),
    };
    let links = elsewhere(&state).await?;
    let pbxs = state
        .store
        .pbxs()
        .await?
        .into_iter()
        .filter(|pbx| only.is_none() || pbx.tenant_id == only)
        .map(|pbx| view(&state, pbx, &links))
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
    let pbx = state.pbxs().create(auth.actor(&address), new).await?;
    Ok((
        StatusCode::CREATED,
        Json(view(&state, pbx, &elsewhere(&state).await?)),
    ))
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
    let pbx = visible_pbx(&state, &auth, &id).await?;
    Ok(Json(view(&state, pbx, &elsewhere(&state).await?)))
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
    let pbx = state
        .pbxs()
        .update(auth.actor(&address), parse_id(&id)?, patch)
        .await?;
    Ok(Json(view(&state, pbx, &elsewhere(&state).await?)))
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
    state
        .pbxs()
        .delete(auth.actor(&address), parse_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AssignedDevices {
    assigned: usize,
    devices: Vec<Device>,
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
    let devices = state
        .pbxs()
        .assign_devices(auth.actor(&address), parse_id(&id)?, assignment)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AssignedDevices {
            assigned: devices.len(),
            devices,
        }),
    ))
}
