//! Sites of the caller's tenant.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use ucplus_core::{Site, SiteId, Timestamp, ValidationErrors};

use super::parse_id;
use super::patch::nullable;
use crate::auth::{Auth, ClientAddress};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewSite {
    name: String,
    #[serde(default)]
    address: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SitePatch {
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    address: Option<Option<String>>,
}

fn check(errors: &mut ValidationErrors, name: Option<&str>, address: Option<&str>) {
    if let Some(name) = name {
        errors.text("name", name, 200);
    }
    if let Some(address) = address {
        errors.text("address", address, 500);
    }
}

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
    let mut errors = ValidationErrors::new();
    check(&mut errors, Some(&new.name), new.address.as_deref());
    errors.into_result().map_err(ApiError::validation)?;
    let site = Site {
        id: SiteId::new(),
        tenant_id: tenant,
        name: new.name.trim().to_string(),
        address: new.address.map(|a| a.trim().to_string()),
        created_at: Timestamp::now(),
    };
    state.store.tenant(tenant).sites().insert(&site).await?;
    state
        .audit(
            &auth.0,
            Some(tenant),
            "site.create",
            Some(site.id.to_string()),
            serde_json::json!({"name": site.name}),
            &address,
        )
        .await;
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
    let mut site = state
        .store
        .tenant(tenant)
        .sites()
        .get(parse_id(&id)?)
        .await?;
    let mut errors = ValidationErrors::new();
    check(
        &mut errors,
        patch.name.as_deref(),
        patch.address.as_ref().and_then(|a| a.as_deref()),
    );
    errors.into_result().map_err(ApiError::validation)?;
    if let Some(name) = patch.name {
        site.name = name.trim().to_string();
    }
    if let Some(new_address) = patch.address {
        site.address = new_address.map(|a| a.trim().to_string());
    }
    state.store.tenant(tenant).sites().update(&site).await?;
    state
        .audit(
            &auth.0,
            Some(tenant),
            "site.update",
            Some(site.id.to_string()),
            serde_json::json!({"name": site.name}),
            &address,
        )
        .await;
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
    let id: SiteId = parse_id(&id)?;
    state.store.tenant(tenant).sites().delete(id).await?;
    state
        .audit(
            &auth.0,
            Some(tenant),
            "site.delete",
            Some(id.to_string()),
            serde_json::json!({}),
            &address,
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
