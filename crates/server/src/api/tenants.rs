//! Tenants (system admin): create with a first tenant admin, rename, delete, caps and
//! reservations per license type.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use ucplus_core::{Tenant, TenantLimits};

use crate::api::input::ApiJson;
use crate::auth::{Auth, ClientAddress};
use crate::error::ApiResult;
use crate::error::parse_id;
use crate::service::{Password, tenants};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct TenantView {
    #[serde(flatten)]
    tenant: Tenant,
    /// Caps and reservations per client license type.
    limits: TenantLimits,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewTenantAdmin {
    username: String,
    password: String,
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewTenant {
    name: String,
    slug: String,
    admin: NewTenantAdmin,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TenantPatch {
    name: Option<String>,
    slug: Option<String>,
}

async fn tenant_view(state: &AppState, tenant: Tenant) -> ApiResult<TenantView> {
    let limits = state.store.tenant_limits(tenant.id).await?;
    Ok(TenantView { tenant, limits })
}

/// Every tenant.
#[utoipa::path(get, path = "/api/v1/tenants", operation_id = "list_tenants", tag = "tenants",
    responses((status = 200, body = Vec<TenantView>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<TenantView>>> {
    auth.system_admin()?;
    let mut views = Vec::new();
    for tenant in state.store.tenants().await? {
        views.push(tenant_view(&state, tenant).await?);
    }
    Ok(Json(views))
}

/// Creates a tenant and its first tenant admin. Needs multi-tenant mode and a free tenant
/// license.
#[utoipa::path(post, path = "/api/v1/tenants", operation_id = "create_tenant", tag = "tenants",
    request_body = NewTenant,
    responses(
        (status = 201, body = TenantView),
        (status = 400, description = "validation_failed", body = crate::error::ErrorBody),
        (status = 409, description = "multi_tenant_not_licensed, tenant_licenses_exhausted or conflict", body = crate::error::ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    ApiJson(new): ApiJson<NewTenant>,
) -> ApiResult<(StatusCode, Json<TenantView>)> {
    auth.system_admin()?;
    let (tenant, _) = state
        .tenants()
        .create(
            auth.actor(&address),
            tenants::NewTenant {
                name: new.name,
                slug: new.slug,
                admin_username: new.admin.username,
                admin_password: Password::Plain(new.admin.password),
                admin_display_name: new.admin.display_name,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TenantView {
            tenant,
            limits: TenantLimits::new(),
        }),
    ))
}

/// One tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{id}", operation_id = "get_tenant", tag = "tenants",
    params(("id" = String, Path)),
    responses((status = 200, body = TenantView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<TenantView>> {
    auth.system_admin()?;
    let tenant = state.store.tenant_by_id(parse_id(&id)?).await?;
    Ok(Json(tenant_view(&state, tenant).await?))
}

/// Renames a tenant or changes its slug.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}", operation_id = "update_tenant", tag = "tenants",
    params(("id" = String, Path)), request_body = TenantPatch,
    responses((status = 200, body = TenantView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<TenantPatch>,
) -> ApiResult<Json<TenantView>> {
    auth.system_admin()?;
    let change = tenants::TenantChange {
        name: patch.name,
        slug: patch.slug,
    };
    let tenant = state
        .tenants()
        .update(auth.actor(&address), parse_id(&id)?, change)
        .await?;
    Ok(Json(tenant_view(&state, tenant).await?))
}

/// Deletes a tenant with all its records, ends its sessions and frees its licenses.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}", operation_id = "delete_tenant", tag = "tenants",
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    auth.system_admin()?;
    state
        .tenants()
        .delete(auth.actor(&address), parse_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the tenant's caps and reservations: `{TYPE: {"cap": N|null, "reserved": M}}`.
/// Types not named get no cap and no reservation.
#[utoipa::path(put, path = "/api/v1/tenants/{id}/limits", operation_id = "set_tenant_limits", tag = "tenants",
    params(("id" = String, Path)), request_body = TenantLimits,
    responses(
        (status = 200, body = TenantLimits),
        (status = 400, description = "validation_failed", body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 409, description = "reservations_exceed_pool", body = crate::error::ErrorBody),
    ))]
pub async fn set_limits(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    Path(id): Path<String>,
    ApiJson(limits): ApiJson<TenantLimits>,
) -> ApiResult<Json<TenantLimits>> {
    auth.system_admin()?;
    let limits = state
        .tenants()
        .set_limits(auth.actor(&address), parse_id(&id)?, &limits)
        .await?;
    Ok(Json(limits))
}
