//! License files, the pool, and usage for billing.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use license::License;
use serde::{Deserialize, Serialize};
use ucplus_core::{TenantId, Timestamp};

use super::calllog::csv_field;
use crate::api::input::{ApiQuery, ApiText};
use crate::auth::{Auth, ClientAddress};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct LicenseView {
    id: String,
    customer: Option<String>,
    /// YYYY-MM-DD
    issued: String,
    /// Last day it counts (YYYY-MM-DD), null: never expires.
    expires: Option<String>,
    expired: bool,
    /// Item type → quantity (`mt-starter-5`, `tenant`, `desktop`, ...).
    items: BTreeMap<String, u32>,
    loaded_at: Option<Timestamp>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PoolEntry {
    total: u32,
    in_use: u32,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LicensesOverview {
    /// `single_tenant` or `multi_tenant`.
    mode: &'static str,
    system_id: String,
    licenses: Vec<LicenseView>,
    /// One entry per license type, `tenant` included.
    pool: BTreeMap<String, PoolEntry>,
    /// Stored licenses that no trusted key verified when the server started: not counted.
    unverified: Vec<crate::licensing::UnverifiedLicense>,
}

fn view(license: &License, loaded_at: Option<Timestamp>, today: time::Date) -> LicenseView {
    LicenseView {
        id: license.id.clone(),
        customer: license.customer.clone(),
        issued: license::file::format_date(license.issued),
        expires: license.expires.map(license::file::format_date),
        expired: license.is_expired(today),
        items: license
            .items
            .iter()
            .map(|(item, quantity)| (item.as_str().to_string(), *quantity))
            .collect(),
        loaded_at,
    }
}

/// The mode, the loaded licenses and the pool per type.
#[utoipa::path(get, path = "/api/v1/licenses", operation_id = "list_licenses", tag = "licenses",
    responses((status = 200, body = LicensesOverview), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<LicensesOverview>> {
    auth.system_admin()?;
    let loaded: BTreeMap<String, Timestamp> = state
        .store
        .licenses()
        .await?
        .into_iter()
        .map(|l| (l.id, l.loaded_at))
        .collect();
    let day = state.licensing.today();
    let overview = state.licensing.read_pool(|pool| LicensesOverview {
        mode: pool.mode().as_str(),
        system_id: state.system_id.clone(),
        licenses: pool
            .licenses()
            .map(|l| view(l, loaded.get(&l.id).copied(), day))
            .collect(),
        pool: pool
            .summary(day)
            .into_iter()
            .map(|s| {
                (
                    s.license_type.as_str().to_string(),
                    PoolEntry {
                        total: s.total,
                        in_use: s.in_use,
                    },
                )
            })
            .collect(),
        unverified: state.unverified_licenses.clone(),
    });
    Ok(Json(overview))
}

/// Loads a license file (the body is the armoured text). Takes effect at once.
#[utoipa::path(post, path = "/api/v1/licenses", operation_id = "load_license", tag = "licenses",
    request_body(content = String, content_type = "text/plain", description = "the license file text"),
    responses(
        (status = 201, body = LicenseView),
        (status = 400, description = "invalid_encoding: the body is not UTF-8 text", body = crate::error::ErrorBody),
        (status = 409, description = "duplicate_license or starter_pack_required", body = crate::error::ErrorBody),
        (status = 422, description = "malformed_license, invalid_signature, wrong_system or license_expired", body = crate::error::ErrorBody),
    ))]
pub async fn load(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    ApiText(body): ApiText,
) -> ApiResult<(StatusCode, Json<LicenseView>)> {
    auth.system_admin()?;
    let (license, loaded_at) = state.licenses().load(auth.actor(&address), &body).await?;
    let view = view(&license, Some(loaded_at), state.licensing.today());
    Ok((StatusCode::CREATED, Json(view)))
}

/// Unloads a license. Refused when tenants or reservations depend on it.
#[utoipa::path(delete, path = "/api/v1/licenses/{id}", operation_id = "unload_license", tag = "licenses",
    params(("id" = String, Path, description = "license id")),
    responses(
        (status = 204),
        (status = 404, body = crate::error::ErrorBody),
        (status = 409, description = "tenant_licenses_exhausted, reservations_exceed_pool or starter_pack_required", body = crate::error::ErrorBody),
    ))]
pub async fn unload(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    auth.system_admin()?;
    state.licenses().unload(auth.actor(&address), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TypeUsage {
    /// null: no cap (only the pool limits the tenant).
    cap: Option<u32>,
    reserved: u32,
    in_use: u32,
    /// Highest use today (UTC).
    peak: u32,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TenantUsageView {
    tenant_id: TenantId,
    slug: String,
    name: String,
    licenses: BTreeMap<String, TypeUsage>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UsageOverview {
    tenants: Vec<TenantUsageView>,
}

/// License use per tenant and type: cap, reservation, current use and today's peak.
/// The system admin sees every tenant; a tenant admin only its own.
#[utoipa::path(get, path = "/api/v1/licenses/usage", operation_id = "get_license_usage", tag = "licenses",
    responses((status = 200, body = UsageOverview), (status = 403, body = crate::error::ErrorBody)))]
pub async fn usage(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<UsageOverview>> {
    let only = match auth.system_admin() {
        Ok(()) => None,
        Err(_) => Some(auth.tenant_admin()?),
    };
    state
        .licensing
        .flush_usage(state.store.as_ref())
        .await
        .map_err(ApiError::from)?;
    let day = days_since_epoch(state.licensing.today());
    let peaks: BTreeMap<(TenantId, String), u32> = state
        .store
        .daily_usage(only, day, day)
        .await?
        .into_iter()
        .map(|u| ((u.tenant_id, u.license_type), u.peak))
        .collect();
    let tenants = match only {
        Some(tenant) => vec![state.store.tenant_by_id(tenant).await?],
        None => state.store.tenants().await?,
    };
    let mut views = Vec::new();
    for tenant in tenants {
        let Some(usage) = state
            .licensing
            .read_pool(|pool| pool.tenant_usage(&tenant.id))
        else {
            continue;
        };
        let licenses = usage
            .into_iter()
            .map(|u| {
                let name = u.client.as_str().to_string();
                let peak = peaks
                    .get(&(tenant.id, name.clone()))
                    .copied()
                    .unwrap_or(0)
                    .max(u.in_use);
                (
                    name,
                    TypeUsage {
                        cap: u.limit.cap,
                        reserved: u.limit.reserved,
                        in_use: u.in_use,
                        peak,
                    },
                )
            })
            .collect();
        views.push(TenantUsageView {
            tenant_id: tenant.id,
            slug: tenant.slug,
            name: tenant.name,
            licenses,
        });
    }
    Ok(Json(UsageOverview { tenants: views }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageRange {
    /// First day (YYYY-MM-DD, UTC); default: the first of the current month.
    from: Option<String>,
    /// Last day (YYYY-MM-DD, UTC); default: today.
    to: Option<String>,
}

/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;

fn days_since_epoch(date: time::Date) -> i64 {
    i64::from(date.to_julian_day() - UNIX_EPOCH_JULIAN_DAY)
}

fn date_from_days(days: i64) -> String {
    i32::try_from(days + i64::from(UNIX_EPOCH_JULIAN_DAY))
        .ok()
        .and_then(|julian| time::Date::from_julian_day(julian).ok())
        .map(license::file::format_date)
        .unwrap_or_default()
}

/// Daily peak use per tenant and license type, as CSV for billing:
/// `day,tenant_id,tenant_slug,tenant_name,license_type,peak`.
#[utoipa::path(get, path = "/api/v1/licenses/usage.csv", operation_id = "export_license_usage_csv", tag = "licenses",
    params(UsageRange),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = crate::error::ErrorBody)))]
pub async fn usage_csv(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(range): ApiQuery<UsageRange>,
) -> ApiResult<impl IntoResponse> {
    let only = match auth.system_admin() {
        Ok(()) => None,
        Err(_) => Some(auth.tenant_admin()?),
    };
    let parse = |field: &str, text: &Option<String>, default: time::Date| match text {
        Some(text) => license::file::parse_date(text)
            .map_err(|_| ApiError::field(field, "must be a YYYY-MM-DD date")),
        None => Ok(default),
    };
    let today = state.licensing.today();
    let first_of_month = today.replace_day(1).unwrap_or(today);
    let from = parse("from", &range.from, first_of_month)?;
    let to = parse("to", &range.to, today)?;
    if from > to {
        return Err(ApiError::field("from", "must not be after `to`"));
    }
    state
        .licensing
        .flush_usage(state.store.as_ref())
        .await
        .map_err(ApiError::from)?;
    let rows = state
        .store
        .daily_usage(only, days_since_epoch(from), days_since_epoch(to))
        .await?;
    let tenants: BTreeMap<TenantId, (String, String)> = state
        .store
        .tenants()
        .await?
        .into_iter()
        .map(|t| (t.id, (t.slug, t.name)))
        .collect();
    let mut csv = String::from("day,tenant_id,tenant_slug,tenant_name,license_type,peak\n");
    for row in rows {
        let (slug, name) = tenants
            .get(&row.tenant_id)
            .cloned()
            .unwrap_or_else(|| (String::new(), "(deleted tenant)".into()));
        csv.push_str(&format!(
            "{},{},{},{},{},{}\n",
            date_from_days(row.day),
            row.tenant_id,
            csv_field(&slug),
            csv_field(&name),
            csv_field(&row.license_type),
            row.peak
        ));
    }
    let filename = format!(
        "attachment; filename=\"ucplus-usage-{}-{}.csv\"",
        license::file::format_date(from),
        license::file::format_date(to)
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        csv,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_convert_both_ways() {
        let day = days_since_epoch(time::macros::date!(1970 - 01 - 02));
        assert_eq!(day, 1);
        assert_eq!(date_from_days(day), "1970-01-02");
        assert_eq!(
            date_from_days(days_since_epoch(time::macros::date!(2026 - 11 - 28))),
            "2026-11-28"
        );
    }
}
