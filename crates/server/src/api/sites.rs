//! Sites of the caller's tenant.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ucplus_core::Site;

use crate::api::input::ApiJson;
use crate::auth::{Auth, ClientAddress};
use crate::error::ApiResult;
use crate::error::parse_id;
use crate::service::sites::{NewSite, SitePatch};
use crate::state::AppState;

/// The tenant's sites.
#[utoipa::path(get, path = "/api/v1/sites", operation_id = "list_sites", tag = "sites",
    responses((status = 200, body = Vec<Site>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<Site>>> {
    Ok(Json(
        state.store.tenant(auth.tenant()?).sites().list().await?,
    ))
}

/// Adds a site (tenant admin).
#[utoipa::path(post, path = "/api/v1/sites", operation_id = "create_site", tag = "sites", request_body = NewSite,
    responses((status = 201, body = Site), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    ApiJson(new): ApiJson<NewSite>,
) -> ApiResult<(StatusCode, Json<Site>)> {
    let tenant = auth.tenant_admin()?;
    let site = state
        .sites(tenant)
        .create(auth.actor(&address), new)
        .await?;
    Ok((StatusCode::CREATED, Json(site)))
}

/// One site.
#[utoipa::path(get, path = "/api/v1/sites/{id}", operation_id = "get_site", tag = "sites", params(("id" = String, Path)),
    responses((status = 200, body = Site), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Site>> {
    Ok(Json(
        state
            .store
            .tenant(auth.tenant()?)
            .sites()
            .get(parse_id(&id)?)
            .await?,
    ))
}

/// Changes a site (tenant admin).
#[utoipa::path(patch, path = "/api/v1/sites/{id}", operation_id = "update_site", tag = "sites", params(("id" = String, Path)), request_body = SitePatch,
    responses((status = 200, body = Site), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<SitePatch>,
) -> ApiResult<Json<Site>> {
    let tenant = auth.tenant_admin()?;
    let site = state
        .sites(tenant)
        .update(auth.actor(&address), parse_id(&id)?, patch)
        .await?;
    Ok(Json(site))
}

/// Deletes a site; its users stay, without a site (tenant admin).
#[utoipa::path(delete, path = "/api/v1/sites/{id}", operation_id = "delete_site", tag = "sites", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let tenant = auth.tenant_admin()?;
    state
        .sites(tenant)
        .delete(auth.actor(&address), parse_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
