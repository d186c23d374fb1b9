//! Login and logout.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use license::ClientType;
use serde::{Deserialize, Serialize};
use ucplus_core::{Tenant, Timestamp, User};

use crate::api::input::ApiJson;
use crate::auth::{Auth, ClientAddress};
use crate::error::{ApiError, ApiResult};
use crate::service::logins::Credentials;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    /// The tenant's slug; null for the system admin (and in single-tenant mode).
    #[serde(default)]
    tenant: Option<String>,
    username: String,
    password: String,
    /// `admin` for the admin console, or a client license type (`desktop`, `mobile`, ...).
    client: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    token: String,
    expires_at: Timestamp,
    user: User,
    tenant: Option<Tenant>,
}

/// Logs in. A client type takes that license for the session (shared with the user's other
/// sessions of the same type); `admin` takes none and needs an admin account.
#[utoipa::path(post, path = "/api/v1/auth/login", operation_id = "login", tag = "auth", security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "invalid_credentials", body = crate::error::ErrorBody),
        (status = 403, description = "license_not_assigned or forbidden", body = crate::error::ErrorBody),
        (status = 409, description = "pool_exhausted or tenant_cap_reached", body = crate::error::ErrorBody),
        (status = 429, description = "rate_limited", body = crate::error::ErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let client: Option<ClientType> = match request.client.as_str() {
        "admin" => None,
        other => Some(other.parse().map_err(|_| {
            ApiError::field(
                "client",
                "must be `admin` or one of desktop, attendant, wallboard, mobile, crm, api",
            )
        })?),
    };
    let signed_in = state
        .logins()
        .login(
            Credentials {
                tenant: request.tenant,
                username: request.username,
                password: request.password,
                client,
            },
            &address,
        )
        .await?;
    Ok(Json(LoginResponse {
        token: signed_in.token,
        expires_at: signed_in.expires_at,
        user: signed_in.user,
        tenant: signed_in.tenant,
    }))
}

/// Ends the session and returns its license when it was the user's last of that type.
#[utoipa::path(post, path = "/api/v1/auth/logout", operation_id = "logout", tag = "auth",
    responses((status = 204), (status = 401, body = crate::error::ErrorBody)))]
pub async fn logout(State(state): State<AppState>, Auth(session, _): Auth) -> StatusCode {
    state.logins().logout(&session).await;
    StatusCode::NO_CONTENT
}
