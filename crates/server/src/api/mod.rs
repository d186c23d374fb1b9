//! The HTTP API: one module per resource, all routes registered with their OpenAPI
//! description so that `/api/openapi.json` is generated from the handlers themselves.

mod audit;
mod auth;
mod calllog;
mod calls;
mod cluster;
mod devices;
mod directory;
pub mod events;
mod health;
pub mod input;
mod licenses;
mod me;
mod pbxs;
mod presence;
mod sites;
mod tenants;
mod users;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ucplus",
        description = "Multi-tenant unified-communications server: tenants, users, devices, PBX connections and licenses."
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn router(state: AppState) -> Router {
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(licenses::list, licenses::load))
        .routes(routes!(licenses::unload))
        .routes(routes!(licenses::usage))
        .routes(routes!(licenses::usage_csv))
        .routes(routes!(tenants::list, tenants::create))
        .routes(routes!(tenants::get, tenants::update, tenants::delete))
        .routes(routes!(tenants::set_limits))
        .routes(routes!(sites::list, sites::create))
        .routes(routes!(sites::get, sites::update, sites::delete))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get, users::update, users::delete))
        .routes(routes!(devices::list, devices::create))
        .routes(routes!(devices::get, devices::update, devices::delete))
        .routes(routes!(pbxs::list, pbxs::create))
        .routes(routes!(pbxs::get, pbxs::update, pbxs::delete))
        .routes(routes!(pbxs::assign_devices))
        .routes(routes!(cluster::cluster))
        .routes(routes!(me::me))
        .routes(routes!(audit::list))
        .routes(routes!(presence::list))
        .routes(routes!(presence::device_states))
        .routes(routes!(presence::get_own, presence::set_own))
        .routes(routes!(calls::list, calls::create))
        .routes(routes!(calls::answer))
        .routes(routes!(calls::clear))
        .routes(routes!(calls::hold))
        .routes(routes!(calls::retrieve))
        .routes(routes!(calls::consult))
        .routes(routes!(calls::transfer))
        .routes(routes!(calls::conference))
        .routes(routes!(calls::deflect))
        .routes(routes!(calls::digits))
        .routes(routes!(calls::set_dnd))
        .routes(routes!(calls::set_forwarding))
        .routes(routes!(calllog::list))
        .routes(routes!(calllog::csv))
        .routes(routes!(directory::search))
        .routes(routes!(directory::list_shared, directory::create_shared))
        .routes(routes!(directory::update_shared, directory::delete_shared))
        .routes(routes!(
            directory::list_personal,
            directory::create_personal
        ))
        .routes(routes!(
            directory::update_personal,
            directory::delete_personal
        ))
        .routes(routes!(directory::import))
        .routes(routes!(events::events))
        .with_state(state)
        .split_for_parts();
    let openapi = Arc::new(openapi);
    router
        .route(
            "/api/openapi.json",
            get(move || {
                let openapi = openapi.clone();
                async move { axum::Json(openapi.as_ref().clone()) }
            }),
        )
        .merge(crate::web::router())
        .layer(axum::middleware::from_fn(observe))
}

/// Counts and times every request by route (not by raw path: ids would explode the series).
async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let elapsed = started.elapsed().as_secs_f64();
    metrics::counter!("ucplus_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.clone()).increment(1);
    metrics::histogram!("ucplus_http_request_duration_seconds", "method" => method.clone(), "route" => route.clone()).record(elapsed);
    tracing::debug!(%method, %route, %status, elapsed_ms = elapsed * 1000.0, "request");
    response
}

/// `?limit=&offset=` with sane bounds.
struct Paging {
    limit: Option<u32>,
    offset: Option<u32>,
}

impl Paging {
    fn page(&self) -> ucplus_core::Page {
        ucplus_core::Page {
            limit: self.limit.unwrap_or(50).clamp(1, 500),
            offset: self.offset.unwrap_or(0),
        }
    }
}
