//! The web client and admin consoles: the files of `web/` (embedded at build time by
//! `build.rs`) served at `/`.
//!
//! ```text
//! /js/main.js, /css/app.css, ...   the file, with its content type and an ETag
//! /, /app, /admin, /system, /x/..  index.html (the page routes on the client side)
//! /api/..., anything else          404 (an API path answers the API's JSON error)
//! ```
//! Files are not fingerprinted, so every answer says `Cache-Control: no-cache`: the
//! browser keeps its copy and revalidates it with `If-None-Match` (a cheap 304).

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// `(url path, contents)` of every embedded file.
const FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// First path segments the page handles itself (deep links and reloads land on index.html).
const CLIENT_ROUTES: &[&str] = &["app", "admin", "system", "login"];

/// Where the page may load from and talk to: only this server.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

struct Asset {
    body: &'static [u8],
    content_type: &'static str,
    etag: HeaderValue,
}

fn assets() -> &'static HashMap<&'static str, Asset> {
    static ASSETS: OnceLock<HashMap<&'static str, Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        FILES
            .iter()
            .map(|(path, body)| {
                let digest = Sha256::digest(body);
                let tag: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
                let etag = HeaderValue::from_str(&format!("\"{tag}\""))
                    .unwrap_or_else(|_| HeaderValue::from_static("\"\""));
                let asset = Asset {
                    body,
                    content_type: content_type(path),
                    etag,
                };
                (*path, asset)
            })
            .collect()
    })
}

/// The content type for a file name's extension.
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The routes of the web client: everything the API does not answer.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().fallback(serve)
}

async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return if is_api(uri.path()) {
            ApiError::not_found().into_response()
        } else {
            StatusCode::METHOD_NOT_ALLOWED.into_response()
        };
    }
    let if_none_match = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    respond(uri.path(), if_none_match)
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// The answer for a GET of `path`.
fn respond(path: &str, if_none_match: Option<&str>) -> Response {
    if is_api(path) {
        return ApiError::not_found().into_response();
    }
    let assets = assets();
    let asset = match assets.get(path) {
        Some(asset) => asset,
        None if is_client_route(path) => match assets.get("/index.html") {
            Some(index) => index,
            None => {
                return (StatusCode::NOT_FOUND, "the web client is not built in").into_response();
            }
        },
        None => return (StatusCode::NOT_FOUND, "not found").into_response(),
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::ETAG, asset.etag.clone());
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if asset.content_type.starts_with("text/html") {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    let fresh = if_none_match.is_some_and(|tags| {
        tags.split(',')
            .any(|tag| tag.trim() == "*" || asset.etag.to_str().is_ok_and(|e| e == tag.trim()))
    });
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (StatusCode::OK, headers, asset.body).into_response()
}

/// `/` and the page's own routes (`/app`, `/admin/users`, ...), but not file-like paths.
fn is_client_route(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    path == "/" || (CLIENT_ROUTES.contains(&first) && !path.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_of(response: &Response, name: header::HeaderName) -> String {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    #[test]
    fn the_page_is_embedded_with_its_modules() {
        let assets = assets();
        for path in ["/index.html", "/js/main.js", "/js/api.js", "/css/app.css"] {
            assert!(assets.contains_key(path), "{path} is not embedded");
        }
        assert!(
            !assets.keys().any(|p| p.starts_with("/e2e/")),
            "the e2e tests must not be served"
        );
    }

    #[test]
    fn client_routes_answer_the_page() {
        for path in ["/", "/app", "/admin/users", "/system/licenses", "/login"] {
            let response = respond(path, None);
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(
                header_of(&response, header::CONTENT_TYPE),
                "text/html; charset=utf-8"
            );
            assert!(header_of(&response, header::CONTENT_SECURITY_POLICY).contains("'self'"));
        }
    }

    #[test]
    fn files_have_their_content_types_and_revalidate() {
        let response = respond("/js/main.js", None);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header_of(&response, header::CONTENT_TYPE),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(header_of(&response, header::CACHE_CONTROL), "no-cache");
        let etag = header_of(&response, header::ETAG);
        assert!(etag.starts_with('"') && etag.len() > 10, "{etag}");
        let again = respond("/js/main.js", Some(&etag));
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(
            header_of(&respond("/css/app.css", None), header::CONTENT_TYPE),
            "text/css; charset=utf-8"
        );
    }

    #[test]
    fn unknown_paths_are_not_found_and_api_paths_stay_json() {
        assert_eq!(respond("/nothing.js", None).status(), StatusCode::NOT_FOUND);
        assert_eq!(respond("/app/x.js", None).status(), StatusCode::NOT_FOUND);
        let api = respond("/api/v1/nothing", None);
        assert_eq!(api.status(), StatusCode::NOT_FOUND);
        assert_eq!(header_of(&api, header::CONTENT_TYPE), "application/json");
    }
}
