//! The audit log: the system admin reads all of it, a tenant admin its own tenant's part.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use ucplus_core::{AuditEntry, TenantId};

use super::Paging;
use crate::api::input::ApiQuery;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// System admin only: just this tenant's entries.
    tenant_id: Option<String>,
    /// At most this many (1-500, default 50).
    limit: Option<u32>,
    /// Skip this many (default 0).
    offset: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    entries: Vec<AuditEntry>,
    limit: u32,
    offset: u32,
}

/// Admin actions, newest first, paged.
#[utoipa::path(get, path = "/api/v1/audit", operation_id = "list_audit_entries", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let tenant = match auth.system_admin() {
        Ok(()) => match &query.tenant_id {
            Some(text) => Some(
                text.parse::<TenantId>()
                    .map_err(|_| ApiError::field("tenant_id", "must be a tenant id"))?,
            ),
            None => None,
        },
        Err(_) => Some(auth.tenant_admin()?),
    };
    let page = Paging {
        limit: query.limit,
        offset: query.offset,
    }
    .page();
    let entries = state.store.audit(tenant, page).await?;
    Ok(Json(AuditPage {
        entries,
        limit: page.limit,
        offset: page.offset,
    }))
}
