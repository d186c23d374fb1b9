//! The caller's call history, paged or as CSV.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use ucplus_core::CallLogEntry;

use super::Paging;
use crate::api::input::ApiQuery;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallLogQuery {
    /// At most this many (1-500, default 50).
    limit: Option<u32>,
    /// Skip this many (default 0).
    offset: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CallLogPage {
    calls: Vec<CallLogEntry>,
    limit: u32,
    offset: u32,
}

fn own(auth: &Auth) -> ApiResult<(ucplus_core::TenantId, ucplus_core::UserId)> {
    match auth.0.tenant_id {
        Some(tenant) => Ok((tenant, auth.0.user_id)),
        None => Err(ApiError::forbidden(
            "the call log belongs to a tenant's users",
        )),
    }
}

/// Own call history, newest first.
#[utoipa::path(get, path = "/api/v1/call-log", operation_id = "list_call_log", tag = "call-log", params(CallLogQuery),
    responses((status = 200, body = CallLogPage), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(query): ApiQuery<CallLogQuery>,
) -> ApiResult<Json<CallLogPage>> {
    let (tenant, user) = own(&auth)?;
    let page = Paging {
        limit: query.limit,
        offset: query.offset,
    }
    .page();
    let calls = state
        .store
        .tenant(tenant)
        .call_log()
        .of_user(user, page)
        .await?;
    Ok(Json(CallLogPage {
        calls,
        limit: page.limit,
        offset: page.offset,
    }))
}

/// One CSV field: quoted when needed, and spreadsheet formulas defused.
pub(crate) fn csv_field(text: &str) -> String {
    // Quote, and defuse spreadsheet formulas.
    let text = if text.starts_with(['=', '+', '-', '@'])
        && !text[1..].chars().all(|c| c.is_ascii_digit())
    {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// Own call history as CSV (up to 10,000 most recent calls).
#[utoipa::path(get, path = "/api/v1/call-log.csv", operation_id = "export_call_log_csv", tag = "call-log",
    responses((status = 200, content_type = "text/csv", body = String)))]
pub async fn csv(State(state): State<AppState>, auth: Auth) -> ApiResult<impl IntoResponse> {
    let (tenant, user) = own(&auth)?;
    let calls = state
        .store
        .tenant(tenant)
        .call_log()
        .of_user(
            user,
            ucplus_core::Page {
                limit: 10_000,
                offset: 0,
            },
        )
        .await?;
    let mut out = String::from(
        "started_at,direction,missed,other_number,other_name,answered_by,ring_seconds,talk_seconds,transferred,cause\n",
    );
    for call in calls {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            call.started_at.to_rfc3339(),
            call.direction.as_str(),
            call.missed,
            csv_field(call.other_number.as_deref().unwrap_or("")),
            csv_field(call.other_name.as_deref().unwrap_or("")),
            csv_field(call.answered_by.as_deref().unwrap_or("")),
            call.ring_ms / 1000,
            call.talk_ms / 1000,
            csv_field(&call.transferred.join(" ")),
            csv_field(call.cause.as_deref().unwrap_or("")),
        ));
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"call-log.csv\"",
            ),
        ],
        out,
    ))
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("ACME"), "ACME");
        assert_eq!(
            csv_field("ACME, Inc. \"best\""),
            "\"ACME, Inc. \"\"best\"\"\""
        );
        assert_eq!(csv_field("+4930123"), "+4930123");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("@SUM(A1,A2)"), "\"'@SUM(A1,A2)\"");
    }
}
