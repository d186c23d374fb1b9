//! Tenants (system admin): create with a first tenant admin, rename, delete, caps and
//! reservations per license type.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use license::Limit;
use serde::{Deserialize, Serialize};
use ucplus_core::{
    Role, Tenant, TenantId, TenantLimit, TenantLimits, Timestamp, User, UserId, ValidationErrors,
};

use super::parse_id;
use crate::auth::{Auth, ClientAddress};
use crate::error::{ApiError, ApiJson, ApiResult};
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
    let mut errors = ValidationErrors::new();
    errors.text("name", &new.name, 200);
    errors.slug("slug", &new.slug);
    errors.username("admin.username", &new.admin.username);
    errors.password("admin.password", &new.admin.password);
    if let Some(display_name) = &new.admin.display_name {
        errors.text("admin.display_name", display_name, 200);
    }
    errors.into_result().map_err(ApiError::validation)?;

    let tenant = Tenant {
        id: TenantId::new(),
        name: new.name.trim().to_string(),
        slug: new.slug.clone(),
        created_at: Timestamp::now(),
    };
    let secret = new.admin.password;
    let hash = state.hashing.hash(secret).await?;
    let admin = User {
        id: UserId::new(),
        tenant_id: Some(tenant.id),
        username: new.admin.username.clone(),
        display_name: new
            .admin
            .display_name
            .map(|n| n.trim().to_string())
            .unwrap_or_else(|| new.admin.username.clone()),
        role: Role::Admin,
        site_id: None,
        licenses: vec!["desktop".into()],
        email: None,
        created_at: tenant.created_at,
        password_hash: hash,
    };
    // The slot is taken under the pool's lock first, so two concurrent creations cannot
    // both have the last tenant license.
    state
        .licensing
        .with_pool(|pool| pool.add_tenant(tenant.id, state.licensing.today()))?;
    if let Err(error) = state.store.insert_tenant(&tenant, Some(&admin)).await {
        state.licensing.remove_tenant(tenant.id);
        return Err(error.into());
    }
    state
        .audit(
            &auth.0,
            Some(tenant.id),
            "tenant.create",
            Some(tenant.id.to_string()),
            serde_json::json!({"name": tenant.name, "slug": tenant.slug, "admin": admin.username}),
            &address,
        )
        .await;
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
    let tenant = state.store.tenant(parse_id(&id)?).await?;
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
    let mut tenant = state.store.tenant(parse_id(&id)?).await?;
    let mut errors = ValidationErrors::new();
    if let Some(name) = &patch.name {
        errors.text("name", name, 200);
    }
    if let Some(slug) = &patch.slug {
        errors.slug("slug", slug);
    }
    errors.into_result().map_err(ApiError::validation)?;
    if let Some(name) = patch.name {
        tenant.name = name.trim().to_string();
    }
    if let Some(slug) = patch.slug {
        tenant.slug = slug;
    }
    state.store.update_tenant(&tenant).await?;
    state
        .audit(
            &auth.0,
            Some(tenant.id),
            "tenant.update",
            Some(tenant.id.to_string()),
            serde_json::json!({"name": tenant.name, "slug": tenant.slug}),
            &address,
        )
        .await;
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
    let tenant = state.store.tenant(parse_id(&id)?).await?;
    let (single, count) = state.licensing.read_pool(|pool| {
        (
            pool.mode() == license::Mode::SingleTenant,
            pool.tenant_count(),
        )
    });
    if single && count <= 1 {
        return Err(ApiError::conflict(
            "single-tenant mode needs its one tenant; load a starter pack to manage tenants",
        ));
    }
    let mut pbxs: std::collections::BTreeSet<_> = state
        .store
        .devices(tenant.id)
        .await?
        .into_iter()
        .map(|d| d.pbx_id)
        .collect();
    pbxs.extend(
        state
            .store
            .pbxs()
            .await?
            .into_iter()
            .filter(|p| p.tenant_id == Some(tenant.id))
            .map(|p| p.id),
    );
    state.store.delete_tenant(tenant.id).await?;
    state.end_sessions_where(|session| session.tenant_id == Some(tenant.id));
    state.licensing.remove_tenant(tenant.id);
    for pbx in pbxs {
        super::devices::reload(&state, pbx).await;
    }
    state.cti.tenant_removed(tenant.id);
    state
        .audit(
            &auth.0,
            Some(tenant.id),
            "tenant.delete",
            Some(tenant.id.to_string()),
            serde_json::json!({"name": tenant.name, "slug": tenant.slug}),
            &address,
        )
        .await;
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
    let tenant = state.store.tenant(parse_id(&id)?).await?;
    let parsed = super::licenses::client_types(&limits).map_err(ApiError::validation)?;
    let pool_limits: BTreeMap<_, _> = parsed
        .iter()
        .map(|(client, limit)| {
            (
                *client,
                Limit {
                    cap: limit.cap,
                    reserved: limit.reserved,
                },
            )
        })
        .collect();
    let previous = state.licensing.with_pool(|pool| {
        let previous = pool.limits(&tenant.id);
        pool.set_limits(&tenant.id, &pool_limits, state.licensing.today())
            .map(|()| previous)
    })?;
    let normalized: TenantLimits = parsed
        .iter()
        .map(|(client, limit)| {
            (
                client.as_str().to_string(),
                TenantLimit {
                    cap: limit.cap,
                    reserved: limit.reserved,
                },
            )
        })
        .collect();
    if let Err(error) = state.store.set_tenant_limits(tenant.id, &normalized).await {
        if let Some(previous) = previous {
            state
                .licensing
                .with_pool(|pool| pool.restore_limits(&tenant.id, &previous));
        }
        return Err(error.into());
    }
    state
        .audit(
            &auth.0,
            Some(tenant.id),
            "tenant.limits",
            Some(tenant.id.to_string()),
            serde_json::to_value(&normalized).unwrap_or_default(),
            &address,
        )
        .await;
    Ok(Json(normalized))
}
