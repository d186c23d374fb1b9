//! API errors: `{"error": {"code", "message", "fields"?}}` with a fitting HTTP status.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use ucplus_core::{FieldError, StoreError, ValidationErrors};

#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<FieldError>,
    pub retry_after: Option<u64>,
    /// The request was not read to its end: the connection cannot be reused.
    pub close_connection: bool,
}

/// The error body, as documented in the OpenAPI description.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code, e.g. `pool_exhausted`.
    pub code: String,
    /// A sentence a person understands.
    pub message: String,
    /// For `validation_failed`: each bad field and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
            retry_after: None,
            close_connection: false,
        }
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such record")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "log in first: send the token as `Authorization: Bearer <token>`",
        )
    }

    pub fn token_expired() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            "the session has ended or the token has expired; log in again",
        )
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server could not complete the request; see its log",
        )
    }

    pub fn validation(errors: ValidationErrors) -> Self {
        let names: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            format!("invalid fields: {}", names.join(", ")),
        );
        error.fields = errors.0;
        error
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = ValidationErrors::new();
        errors.add(field, message);
        Self::validation(errors)
    }

    /// Maps a stable domain code to its HTTP status.
    pub fn from_code(code: &'static str, message: String) -> Self {
        let status = match code {
            "not_found" => StatusCode::NOT_FOUND,
            "validation_failed" => StatusCode::BAD_REQUEST,
            "malformed_license" | "invalid_signature" | "wrong_system" | "license_expired" => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            "license_not_assigned" | "forbidden" => StatusCode::FORBIDDEN,
            _ => StatusCode::CONFLICT,
        };
        Self::new(status, code, message)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict(field) => {
                let mut error = ApiError::conflict(format!("{field} is already taken"));
                error.fields.push(FieldError {
                    field,
                    message: "is already taken".into(),
                });
                error
            }
            StoreError::Backend(source) => ApiError::internal(source),
            mismatch @ StoreError::TenantMismatch => ApiError::internal(mismatch),
        }
    }
}

impl From<license::PoolError> for ApiError {
    fn from(error: license::PoolError) -> Self {
        ApiError::from_code(error.code(), error.to_string())
    }
}

impl From<license::LicenseError> for ApiError {
    fn from(error: license::LicenseError) -> Self {
        ApiError::from_code(error.code(), error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                fields: self.fields,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.close_connection || self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body was not read: the connection cannot carry another request.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Parses an id from outside; one that is not even of the right shape is just an unknown
/// id (404), like any other.
pub fn parse_id<T: std::str::FromStr>(text: &str) -> ApiResult<T> {
    text.parse().map_err(|_| ApiError::not_found())
}
