//! Users of the caller's tenant. Everyone in the tenant may read; tenant admins write.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use license::ClientType;
use serde::Deserialize;
use ucplus_core::{Role, SiteId, TenantId, Timestamp, User, UserId, ValidationErrors};

use super::parse_id;
use super::patch::nullable;
use crate::auth::{Auth, ClientAddress};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    username: String,
    password: String,
    display_name: String,
    /// `user` (default) or `admin`.
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    site_id: Option<String>,
    /// Client license types the user may take; default `["desktop"]`.
    #[serde(default)]
    licenses: Option<Vec<String>>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UserPatch {
    display_name: Option<String>,
    password: Option<String>,
    role: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    site_id: Option<Option<String>>,
    licenses: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
}

fn parse_role(errors: &mut ValidationErrors, role: &str) -> Option<Role> {
    match role {
        "user" => Some(Role::User),
        "admin" => Some(Role::Admin),
        _ => {
            errors.add("role", "must be `user` or `admin`");
            None
        }
    }
}

fn parse_licenses(errors: &mut ValidationErrors, licenses: &[String]) -> Vec<String> {
    let mut parsed: Vec<ClientType> = Vec::new();
    for name in licenses {
        match name.parse::<ClientType>() {
            Ok(client) if !parsed.contains(&client) => parsed.push(client),
            Ok(_) => {}
            Err(_) => errors.add(
                "licenses",
                format!("`{name}` is not a client license type (desktop, attendant, wallboard, mobile, crm, api)"),
            ),
        }
    }
    parsed.sort();
    parsed.iter().map(|c| c.as_str().to_string()).collect()
}

/// A site id given by the caller must be one of the tenant's sites.
async fn resolve_site(
    state: &AppState,
    tenant: TenantId,
    errors: &mut ValidationErrors,
    site: Option<&str>,
) -> ApiResult<Option<SiteId>> {
    let Some(text) = site else { return Ok(None) };
    let Ok(id) = text.parse::<SiteId>() else {
        errors.add("site_id", "no such site");
        return Ok(None);
    };
    match state.store.site(tenant, id).await {
        Ok(site) => Ok(Some(site.id)),
        Err(ucplus_core::StoreError::NotFound) => {
            errors.add("site_id", "no such site");
            Ok(None)
        }
        Err(error) => Err(error.into()),
    }
}

/// The tenant's users.
#[utoipa::path(get, path = "/api/v1/users", operation_id = "list_users", tag = "users",
    responses((status = 200, body = Vec<User>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(state.store.users(auth.tenant()?).await?))
}

/// Adds a user (tenant admin).
#[utoipa::path(post, path = "/api/v1/users", operation_id = "create_user", tag = "users", request_body = NewUser,
    responses((status = 201, body = User), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    ApiJson(new): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let tenant = auth.tenant_admin()?;
    let mut errors = ValidationErrors::new();
    errors.username("username", &new.username);
    errors.password("password", &new.password);
    errors.text("display_name", &new.display_name, 200);
    let role = parse_role(&mut errors, new.role.as_deref().unwrap_or("user"));
    let licenses = parse_licenses(
        &mut errors,
        new.licenses.as_deref().unwrap_or(&["desktop".to_string()]),
    );
    if let Some(email) = &new.email {
        errors.email("email", email);
    }
    let site_id = resolve_site(&state, tenant, &mut errors, new.site_id.as_deref()).await?;
    errors.into_result().map_err(ApiError::validation)?;
    let user = User {
        id: UserId::new(),
        tenant_id: Some(tenant),
        username: new.username,
        display_name: new.display_name.trim().to_string(),
        role: role.unwrap_or(Role::User),
        site_id,
        licenses,
        email: new.email,
        created_at: Timestamp::now(),
        password_hash: state.hashing.hash(new.password).await?,
    };
    state.store.insert_user(tenant, &user).await?;
    state.cti.user_updated(&user);
    state
        .audit(
            &auth.0,
            Some(tenant),
            "user.create",
            Some(user.id.to_string()),
            serde_json::json!({"username": user.username, "role": user.role, "licenses": user.licenses}),
            &address,
        )
        .await;
    Ok((StatusCode::CREATED, Json(user)))
}

/// One user of the tenant.
#[utoipa::path(get, path = "/api/v1/users/{id}", operation_id = "get_user", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = User), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<User>> {
    Ok(Json(
        state.store.user(auth.tenant()?, parse_id(&id)?).await?,
    ))
}

/// Changes a user (tenant admin). A new password ends the user's sessions.
#[utoipa::path(patch, path = "/api/v1/users/{id}", operation_id = "update_user", tag = "users", params(("id" = String, Path)), request_body = UserPatch,
    responses((status = 200, body = User), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> ApiResult<Json<User>> {
    let tenant = auth.tenant_admin()?;
    let mut user = state.store.user(tenant, parse_id(&id)?).await?;
    let mut errors = ValidationErrors::new();
    if let Some(name) = &patch.display_name {
        errors.text("display_name", name, 200);
    }
    if let Some(secret) = &patch.password {
        errors.password("password", secret);
    }
    let role = patch
        .role
        .as_deref()
        .and_then(|r| parse_role(&mut errors, r));
    if user.id == auth.0.user_id && role == Some(Role::User) {
        errors.add("role", "you cannot take away your own admin role");
    }
    let licenses = patch
        .licenses
        .as_deref()
        .map(|l| parse_licenses(&mut errors, l));
    if let Some(Some(email)) = &patch.email {
        errors.email("email", email);
    }
    let site_id = match &patch.site_id {
        Some(site) => Some(resolve_site(&state, tenant, &mut errors, site.as_deref()).await?),
        None => None,
    };
    errors.into_result().map_err(ApiError::validation)?;
    if let Some(name) = patch.display_name {
        user.display_name = name.trim().to_string();
    }
    let password_changed = patch.password.is_some();
    if let Some(secret) = patch.password {
        user.password_hash = state.hashing.hash(secret).await?;
    }
    if let Some(role) = role {
        user.role = role;
    }
    if let Some(site_id) = site_id {
        user.site_id = site_id;
    }
    if let Some(licenses) = licenses {
        user.licenses = licenses;
    }
    if let Some(email) = patch.email {
        user.email = email;
    }
    state.store.update_user(tenant, &user).await?;
    state.cti.user_updated(&user);
    // A session carries the role and license it was given at login: when either changes,
    // the sessions that no longer match end at once (with their event streams), and a new
    // password ends every other session of the user.
    let ended = state.end_sessions_where(|s| {
        s.user_id == user.id
            && (s.role != user.role
                || s.client
                    .is_some_and(|c| !user.licenses.iter().any(|l| l == c.as_str()))
                || (password_changed && s.token_hash != auth.0.token_hash))
    });
    state
        .audit(
            &auth.0,
            Some(tenant),
            "user.update",
            Some(user.id.to_string()),
            serde_json::json!({"username": user.username, "role": user.role, "licenses": user.licenses, "password_changed": password_changed, "sessions_ended": ended}),
            &address,
        )
        .await;
    Ok(Json(user))
}

/// Deletes a user and ends their sessions (tenant admin; not yourself).
#[utoipa::path(delete, path = "/api/v1/users/{id}", operation_id = "delete_user", tag = "users", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let tenant = auth.tenant_admin()?;
    let user = state.store.user(tenant, parse_id(&id)?).await?;
    if user.id == auth.0.user_id {
        return Err(ApiError::conflict("you cannot delete your own account"));
    }
    let pbxs: std::collections::BTreeSet<_> = state
        .store
        .devices(tenant)
        .await?
        .into_iter()
        .filter(|d| d.user_id == Some(user.id))
        .map(|d| d.pbx_id)
        .collect();
    state.store.delete_user(tenant, user.id).await?;
    state.end_sessions_where(|s| s.user_id == user.id);
    state.cti.user_removed(user.id);
    for pbx in pbxs {
        super::devices::reload(&state, pbx).await;
    }
    state
        .audit(
            &auth.0,
            Some(tenant),
            "user.delete",
            Some(user.id.to_string()),
            serde_json::json!({"username": user.username}),
            &address,
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
