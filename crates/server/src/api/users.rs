//! Users of the caller's tenant. Everyone in the tenant may read; tenant admins write.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use ucplus_core::User;

use crate::api::input::ApiJson;
use crate::auth::{Auth, ClientAddress};
use crate::error::ApiResult;
use crate::error::parse_id;
use crate::service::patch::nullable;
use crate::service::{Password, users};
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

/// The tenant's users.
#[utoipa::path(get, path = "/api/v1/users", operation_id = "list_users", tag = "users",
    responses((status = 200, body = Vec<User>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(
        state.store.tenant(auth.tenant()?).users().list().await?,
    ))
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
    let new = users::NewUser {
        username: new.username,
        password: Password::Plain(new.password),
        display_name: new.display_name,
        role: new.role,
        site_id: new.site_id,
        licenses: new.licenses,
        email: new.email,
    };
    let user = state
        .users(tenant)
        .create(auth.actor(&address), new)
        .await?;
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
        state
            .store
            .tenant(auth.tenant()?)
            .users()
            .get(parse_id(&id)?)
            .await?,
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
    let change = users::UserChange {
        display_name: patch.display_name,
        password: patch.password,
        role: patch.role,
        site_id: patch.site_id,
        licenses: patch.licenses,
        email: patch.email,
    };
    let user = state
        .users(tenant)
        .update(auth.actor(&address), parse_id(&id)?, change)
        .await?;
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
    state
        .users(tenant)
        .delete(auth.actor(&address), parse_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
