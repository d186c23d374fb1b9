//! What a request brings, read strictly: JSON bodies (unknown fields refused, size
//! bounded), text bodies (UTF-8 only), query strings — each failure in the API's error
//! format.

use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use ucplus_core::ValidationErrors;

use crate::error::{ApiError, ApiResult};

/// `Json<T>` whose rejections answer in the API's error format. Fields the request type
/// does not know are refused (`validation_failed` naming each of them), never dropped; a
/// body over the size limit is a 413.
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<crate::state::AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(
        request: Request,
        state: &crate::state::AppState,
    ) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::bad_request(
                "invalid_json",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let body = read_body(request, state, "invalid_json").await?;
        decode_json(&body).map(ApiJson)
    }
}

/// Reads a request body within `http.body_timeout`: too slow is a 408, over the size
/// limit a 413, any other failure to read it a 400 with `code`.
async fn read_body(
    request: Request,
    state: &crate::state::AppState,
    code: &'static str,
) -> ApiResult<axum::body::Bytes> {
    // A body trickled in slowly would hold the connection and its task: bounded.
    let deadline = std::time::Duration::from_secs(state.config.http.body_timeout);
    let read = axum::body::Bytes::from_request(request, state);
    let Ok(read) = tokio::time::timeout(deadline, read).await else {
        let mut error = ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request body did not arrive in time",
        );
        error.close_connection = true;
        return Err(error);
    };
    match read {
        Ok(body) => Ok(body),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is larger than the server accepts",
            ))
        }
        Err(rejection) => Err(ApiError::bad_request(code, rejection.body_text())),
    }
}

/// A text body (a CSV file, a license file) whose rejections answer in the API's error
/// format: bytes that are not UTF-8 are `invalid_encoding` (400) naming the line, never a
/// plain-text rejection or a 500; a body over the size limit is a 413.
pub struct ApiText(pub String);

impl FromRequest<crate::state::AppState> for ApiText {
    type Rejection = ApiError;

    async fn from_request(
        request: Request,
        state: &crate::state::AppState,
    ) -> Result<Self, Self::Rejection> {
        let body = read_body(request, state, "invalid_body").await?;
        decode_text(&body).map(ApiText)
    }
}

/// Decodes a text body as UTF-8 (`invalid_encoding` naming the first bad line otherwise).
pub fn decode_text(body: &[u8]) -> ApiResult<String> {
    match std::str::from_utf8(body) {
        Ok(text) => Ok(text.to_string()),
        Err(error) => {
            let valid = error.valid_up_to();
            let line = body[..valid].iter().filter(|b| **b == b'\n').count() + 1;
            Err(ApiError::bad_request(
                "invalid_encoding",
                format!(
                    "the body is not UTF-8 text (line {line}, byte {}): save the file as UTF-8",
                    valid + 1
                ),
            ))
        }
    }
}

/// Decodes a JSON body, refusing every field `T` does not know.
pub fn decode_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    let mut unknown = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let decoded = serde_ignored::deserialize(&mut deserializer, |path| {
        unknown.push(path.to_string());
    })
    .and_then(|value| deserializer.end().map(|()| value));
    match decoded {
        Ok(value) if unknown.is_empty() => Ok(value),
        Ok(_) => {
            let mut errors = ValidationErrors::new();
            for field in unknown {
                errors.add(&field, "unknown field");
            }
            Err(ApiError::validation(errors))
        }
        Err(error) if error.is_data() => Err(ApiError::bad_request(
            "validation_failed",
            error.to_string(),
        )),
        Err(error) => Err(ApiError::bad_request(
            "invalid_json",
            format!("the body is not valid JSON: {error}"),
        )),
    }
}

/// `Query<T>` whose rejections answer in the API's error format.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequestParts<S>
    for ApiQuery<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|rejection| ApiError::bad_request("validation_failed", rejection.body_text()))
    }
}
