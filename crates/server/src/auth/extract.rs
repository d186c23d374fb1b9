//! Request extractors: the authenticated session and the client's address.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use ucplus_core::{DEFAULT_TENANT_SLUG, Role, StoreError, TenantId, Timestamp};

use super::{Session, token_hash};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The caller's session. Rejects with 401 when there is none or it has ended.
///
/// The second field is the tenant a system admin acts in: named by the
/// `X-Ucplus-Tenant` header (tenant id or slug), or in single-tenant mode the one tenant.
pub struct Auth(pub Arc<Session>, pub Option<TenantId>);

/// Lets the system admin manage one tenant's records with the tenant endpoints.
pub const ACTING_TENANT_HEADER: &str = "x-ucplus-tenant";

/// The one route that takes its token from the query string.
const EVENT_STREAM_PATH: &str = "/api/v1/events";

fn bearer(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string());
    }
    // WebSocket clients in browsers cannot set headers: `?token=` is accepted for the
    // event stream, and only there (a token in a URL ends up in logs and histories).
    if parts.uri.path() != EVENT_STREAM_PATH {
        return None;
    }
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
        let session = match state.sessions.get(&hash) {
            Some(session) => session,
            // Another node's session, or this node's from before a restart.
            None => state
                .adopt_session(&hash)
                .await?
                .ok_or_else(ApiError::token_expired)?,
        };
        let now = Timestamp::now();
        if session.is_over(now) {
            state.end_session(&hash).await;
            return Err(ApiError::token_expired());
        }
        session.touch(now);
        let acting = if session.role == Role::SystemAdmin {
            acting_tenant(parts, state).await?
        } else {
            None
        };
        Ok(Auth(session, acting))
    }
}

/// The tenant a system admin acts in, if any. An unknown tenant is a 404.
async fn acting_tenant(parts: &Parts, state: &AppState) -> ApiResult<Option<TenantId>> {
    let named = parts
        .headers
        .get(ACTING_TENANT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let lookup = |result: Result<ucplus_core::Tenant, StoreError>| match result {
        Ok(tenant) => Ok(Some(tenant.id)),
        Err(StoreError::NotFound) => Err(ApiError::not_found()),
        Err(error) => Err(ApiError::from(error)),
    };
    match named {
        Some(text) => match text.parse::<TenantId>() {
            Ok(id) if state.licensing.read_pool(|p| p.has_tenant(&id)) => Ok(Some(id)),
            Ok(_) => Err(ApiError::not_found()),
            Err(_) => lookup(state.store.tenant_by_slug(text).await),
        },
        None if state.licensing.read_pool(|p| p.mode()) == license::Mode::SingleTenant => {
            match state.store.tenant_by_slug(DEFAULT_TENANT_SLUG).await {
                Ok(tenant) => Ok(Some(tenant.id)),
                Err(StoreError::NotFound) => Ok(None),
                Err(error) => Err(error.into()),
            }
        }
        None => Ok(None),
    }
}

impl Auth {
    /// The caller's tenant (for a system admin: the tenant it acts in).
    pub fn tenant(&self) -> ApiResult<TenantId> {
        self.0.tenant_id.or(self.1).ok_or_else(|| {
            ApiError::forbidden(
                "this is a tenant's resource; name the tenant in the X-Ucplus-Tenant header",
            )
        })
    }

    /// The caller's tenant, if the caller may administer it.
    pub fn tenant_admin(&self) -> ApiResult<TenantId> {
        let tenant = self.tenant()?;
        if matches!(self.0.role, Role::Admin | Role::SystemAdmin) {
            Ok(tenant)
        } else {
            Err(ApiError::forbidden("only a tenant admin may do this"))
        }
    }

    /// The caller as the actor of a use case, with the address the request came from.
    pub fn actor<'a>(&'a self, address: &'a str) -> crate::service::Actor<'a> {
        crate::service::Actor::Session {
            session: &self.0,
            address,
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
