//! Request extractors: the authenticated session and the client's address.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use ucplus_core::{Role, TenantId, Timestamp};

use super::{Session, token_hash};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The caller's session. Rejects with 401 when there is none or it has ended.
pub struct Auth(pub Arc<Session>);

fn bearer(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string());
    }
    // WebSocket clients in browsers cannot set headers: `?token=` is accepted too.
    parts.uri.query().and_then(|query| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| *key == "token")
            .map(|(_, value)| value.to_string())
    })
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let token = bearer(parts).ok_or_else(ApiError::unauthenticated)?;
        let hash = token_hash(&token);
        let session = state
            .sessions
            .get(&hash)
            .ok_or_else(ApiError::token_expired)?;
        let now = Timestamp::now();
        if session.is_over(now) {
            state.end_session(&hash);
            return Err(ApiError::token_expired());
        }
        session.touch(now);
        Ok(Auth(session))
    }
}

impl Auth {
    /// The caller's tenant; system admins have none and are refused.
    pub fn tenant(&self) -> ApiResult<TenantId> {
        self.0.tenant_id.ok_or_else(|| {
            ApiError::forbidden(
                "this is a tenant's resource; system admins manage tenants at /api/v1/tenants",
            )
        })
    }

    /// The caller's tenant, if the caller is that tenant's admin.
    pub fn tenant_admin(&self) -> ApiResult<TenantId> {
        let tenant = self.tenant()?;
        if self.0.role == Role::Admin {
            Ok(tenant)
        } else {
            Err(ApiError::forbidden("only a tenant admin may do this"))
        }
    }

    pub fn system_admin(&self) -> ApiResult<()> {
        if self.0.role == Role::SystemAdmin {
            Ok(())
        } else {
            Err(ApiError::forbidden("only the system admin may do this"))
        }
    }
}

/// The client's IP address, for rate limiting and the audit log.
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        Ok(ClientAddress(address))
    }
}
