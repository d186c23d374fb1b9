//! The caller's own account and session.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use ucplus_core::{Tenant, Timestamp, User};

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    user: User,
    tenant: Option<Tenant>,
    /// The client type of this session (`admin` for the admin console).
    client: String,
    session_expires_at: Timestamp,
}

/// Who am I: user, tenant and session.
#[utoipa::path(get, path = "/api/v1/me", operation_id = "get_me", tag = "me",
    responses((status = 200, body = Me), (status = 401, body = crate::error::ErrorBody)))]
pub async fn me(State(state): State<AppState>, Auth(session, _): Auth) -> ApiResult<Json<Me>> {
    let (user, tenant) = match session.tenant_id {
        Some(tenant) => (
            state
                .store
                .tenant(tenant)
                .users()
                .get(session.user_id)
                .await?,
            Some(state.store.tenant_by_id(tenant).await?),
        ),
        None => (state.store.system_admin(session.user_id).await?, None),
    };
    Ok(Json(Me {
        user,
        tenant,
        client: session.client.map_or("admin", |c| c.as_str()).to_string(),
        session_expires_at: session.expires_at,
    }))
}
