//! Liveness, readiness and metrics.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;

use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    status: &'static str,
    /// What an operator must look at although the server runs (e.g. stored licenses that
    /// no trusted key verifies, audit log writes that failed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", operation_id = "get_health", tag = "health", security(()),
    responses((status = 200, body = Health)))]
pub async fn healthz() -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok",
        warnings: Vec::new(),
    })
}

/// The server can do its work: the database answers.
#[utoipa::path(get, path = "/readyz", operation_id = "get_readiness", tag = "health", security(()),
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => {
            let mut warnings: Vec<String> = state
                .unverified_licenses
                .iter()
                .map(|l| {
                    format!(
                        "stored license {} is not counted: {} ({})",
                        l.id, l.reason, l.code
                    )
                })
                .collect();
            // Admin actions went unrecorded: the server works, but an operator must know.
            let audit_failures = state.audit_failures();
            if audit_failures > 0 {
                warnings.push(format!(
                    "{audit_failures} audit log writes failed since start; see the server log"
                ));
            }
            (
                StatusCode::OK,
                axum::Json(Health {
                    status: "ready",
                    warnings,
                }),
            )
        }
        Err(error) => {
            tracing::warn!(%error, "not ready: database");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(Health {
                    status: "database unavailable",
                    warnings: Vec::new(),
                }),
            )
        }
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", operation_id = "get_metrics", tag = "health", security(()),
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    metrics::gauge!("ucplus_sessions").set(state.sessions.len() as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
