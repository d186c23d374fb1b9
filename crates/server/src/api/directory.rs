//! The directory: tenant users, the tenant's shared contacts (tenant admins write) and
//! each user's personal contacts; search; CSV import with a per-row error report.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderName, StatusCode};
use serde::{Deserialize, Serialize};
use ucplus_core::{Contact, ContactNumber, TenantId, UserId};

use crate::api::input::{ApiJson, ApiQuery, ApiText};
use crate::auth::{Auth, ClientAddress};
use crate::error::{ApiError, ApiResult};
use crate::service::contacts::ContactInput;
use crate::state::AppState;

const MAX_IMPORT_ROWS: usize = 10_000;
/// Contacts one page of a list holds at most (and by default).
const MAX_PAGE: u32 = 1_000;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListPage {
    /// Contacts per page, 1-1000 (default 1000).
    #[serde(default)]
    limit: Option<u32>,
    /// Contacts to skip.
    #[serde(default)]
    offset: Option<u32>,
}

/// Whose contacts a path means: the tenant's shared ones (`/contacts`, written by tenant
/// admins) or the caller's own (`/me/contacts`).
fn scope(auth: &Auth, personal: bool, write: bool) -> ApiResult<(TenantId, Option<UserId>)> {
    if personal {
        let tenant = auth
            .0
            .tenant_id
            .ok_or_else(|| ApiError::forbidden("personal contacts belong to a tenant's users"))?;
        return Ok((tenant, Some(auth.0.user_id)));
    }
    let tenant = if write {
        auth.tenant_admin()?
    } else {
        auth.tenant()?
    };
    Ok((tenant, None))
}

/// One page of contacts; the total is in `X-Total-Count`.
async fn list_in(
    state: &AppState,
    auth: &Auth,
    personal: bool,
    page: ListPage,
) -> ApiResult<([(HeaderName, String); 1], Json<Vec<Contact>>)> {
    let (tenant, owner) = scope(auth, personal, false)?;
    // Bounded by the quota, so reading the whole list stays cheap.
    let all = state.store.tenant(tenant).contacts(owner).list().await?;
    let total = all.len();
    let limit = page.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE) as usize;
    let offset = page.offset.unwrap_or(0) as usize;
    let contacts = all.into_iter().skip(offset).take(limit).collect();
    Ok((
        [(HeaderName::from_static("x-total-count"), total.to_string())],
        Json(contacts),
    ))
}

async fn create_in(
    state: &AppState,
    auth: &Auth,
    address: &str,
    personal: bool,
    input: ContactInput,
) -> ApiResult<(StatusCode, Json<Contact>)> {
    let (tenant, owner) = scope(auth, personal, true)?;
    let contact = state
        .contacts(tenant, owner)
        .create(auth.actor(address), input)
        .await?;
    Ok((StatusCode::CREATED, Json(contact)))
}

async fn update_in(
    state: &AppState,
    auth: &Auth,
    address: &str,
    personal: bool,
    id: &str,
    input: ContactInput,
) -> ApiResult<Json<Contact>> {
    let (tenant, owner) = scope(auth, personal, true)?;
    let contact = state
        .contacts(tenant, owner)
        .update(auth.actor(address), id, input)
        .await?;
    Ok(Json(contact))
}

async fn delete_in(
    state: &AppState,
    auth: &Auth,
    address: &str,
    personal: bool,
    id: &str,
) -> ApiResult<StatusCode> {
    let (tenant, owner) = scope(auth, personal, true)?;
    state
        .contacts(tenant, owner)
        .delete(auth.actor(address), id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

macro_rules! contact_routes {
    ($list:ident, $create:ident, $update:ident, $delete:ident, $path:literal, $personal:literal, $who:literal) => {
        #[doc = concat!("Lists ", $who, ".")]
        #[utoipa::path(get, path = $path, operation_id = concat!(stringify!($list), "_contacts"), tag = "directory", params(ListPage),
            responses((status = 200, body = Vec<Contact>, headers(("x-total-count" = u64, description = "contacts in all pages"))), (status = 403, body = crate::error::ErrorBody)))]
        pub async fn $list(State(state): State<AppState>, auth: Auth, ApiQuery(page): ApiQuery<ListPage>) -> ApiResult<([(HeaderName, String); 1], Json<Vec<Contact>>)> {
            list_in(&state, &auth, $personal, page).await
        }

        #[doc = concat!("Adds to ", $who, ".")]
        #[utoipa::path(post, path = $path, operation_id = concat!(stringify!($create), "_contact"), tag = "directory", request_body = ContactInput,
            responses((status = 201, body = Contact), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 409, description = "quota_exceeded", body = crate::error::ErrorBody)))]
        pub async fn $create(State(state): State<AppState>, auth: Auth, ClientAddress(address): ClientAddress, ApiJson(input): ApiJson<ContactInput>) -> ApiResult<(StatusCode, Json<Contact>)> {
            create_in(&state, &auth, &address, $personal, input).await
        }

        #[doc = concat!("Replaces one of ", $who, ".")]
        #[utoipa::path(put, path = concat!($path, "/{id}"), operation_id = concat!(stringify!($update), "_contact"), tag = "directory", params(("id" = String, Path)), request_body = ContactInput,
            responses((status = 200, body = Contact), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
        pub async fn $update(State(state): State<AppState>, auth: Auth, ClientAddress(address): ClientAddress, Path(id): Path<String>, ApiJson(input): ApiJson<ContactInput>) -> ApiResult<Json<Contact>> {
            update_in(&state, &auth, &address, $personal, &id, input).await
        }

        #[doc = concat!("Deletes one of ", $who, ".")]
        #[utoipa::path(delete, path = concat!($path, "/{id}"), operation_id = concat!(stringify!($delete), "_contact"), tag = "directory", params(("id" = String, Path)),
            responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
        pub async fn $delete(State(state): State<AppState>, auth: Auth, ClientAddress(address): ClientAddress, Path(id): Path<String>) -> ApiResult<StatusCode> {
            delete_in(&state, &auth, &address, $personal, &id).await
        }
    };
}

contact_routes!(
    list_shared,
    create_shared,
    update_shared,
    delete_shared,
    "/api/v1/contacts",
    false,
    "the tenant's shared contacts"
);
contact_routes!(
    list_personal,
    create_personal,
    update_personal,
    delete_personal,
    "/api/v1/me/contacts",
    true,
    "the caller's personal contacts"
);

#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportError {
    /// 1-based line number in the file (the header is line 1).
    row: usize,
    message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    imported: usize,
    errors: Vec<ImportError>,
}

/// Splits one CSV line (RFC 4180 quoting; no line breaks inside fields).
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, '"') if field.is_empty() => quoted = true,
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (_, c) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    fields.push(field);
    Ok(fields)
}

/// Imports the tenant's shared contacts from CSV (tenant admin). The header names the
/// columns: `name` (required), `company`, `email`, and any of `phone`, `work`, `mobile`,
/// `home`, `number` as numbers. Good rows are imported; each bad row is reported. The file
/// must be UTF-8 (a leading byte-order mark is skipped); other bytes are `invalid_encoding`.
#[utoipa::path(post, path = "/api/v1/contacts/import", operation_id = "import_contacts", tag = "directory",
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    auth: Auth,
    ClientAddress(address): ClientAddress,
    ApiText(body): ApiText,
) -> ApiResult<Json<ImportReport>> {
    let tenant = auth.tenant_admin()?;
    let mut lines = body.lines().enumerate();
    let header = lines
        .next()
        .map(|(_, line)| csv_fields(line.trim_start_matches('\u{feff}')))
        .transpose()
        .map_err(|e| ApiError::bad_request("validation_failed", format!("header: {e}")))?
        .ok_or_else(|| ApiError::bad_request("validation_failed", "the file is empty"))?;
    let header: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    let name_column = column("name").ok_or_else(|| {
        ApiError::bad_request("validation_failed", "the header has no `name` column")
    })?;
    let number_columns: Vec<(usize, String)> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| matches!(h.as_str(), "phone" | "work" | "mobile" | "home" | "number"))
        .map(|(i, h)| (i, h.clone()))
        .collect();
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in lines {
        let row = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        if rows.len() + errors.len() >= MAX_IMPORT_ROWS {
            errors.push((
                row,
                format!("only {MAX_IMPORT_ROWS} rows are imported at a time"),
            ));
            break;
        }
        let fields = match csv_fields(line) {
            Ok(fields) => fields,
            Err(message) => {
                errors.push((row, message));
                continue;
            }
        };
        let get = |i: Option<usize>| {
            i.and_then(|i| fields.get(i))
                .map(|f| f.trim().to_string())
                .filter(|f| !f.is_empty())
        };
        let input = ContactInput {
            name: get(Some(name_column)).unwrap_or_default(),
            company: get(column("company")),
            email: get(column("email")),
            numbers: number_columns
                .iter()
                .filter_map(|(i, label)| {
                    get(Some(*i)).map(|number| ContactNumber {
                        label: Some(label.clone()),
                        number,
                    })
                })
                .collect(),
        };
        rows.push((row, input));
    }
    let (imported, report) = state
        .contacts(tenant, None)
        .import(auth.actor(&address), rows, errors)
        .await?;
    Ok(Json(ImportReport {
        imported,
        errors: report
            .into_iter()
            .map(|(row, message)| ImportError { row, message })
            .collect(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectoryQuery {
    /// Matches names, companies and numbers (case-insensitive); empty lists everything.
    q: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DirectoryEntry {
    /// `user`, `contact` (the tenant's) or `personal`.
    kind: &'static str,
    id: String,
    name: String,
    company: Option<String>,
    numbers: Vec<ContactNumber>,
    /// For users: their presence state and phone state.
    presence: Option<ucplus_core::cti::views::PresenceView>,
}

/// Searches tenant users (by their devices' numbers too), tenant contacts and the caller's
/// personal contacts.
#[utoipa::path(get, path = "/api/v1/directory", operation_id = "search_directory", tag = "directory", params(DirectoryQuery),
    responses((status = 200, body = Vec<DirectoryEntry>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(query): ApiQuery<DirectoryQuery>,
) -> ApiResult<Json<Vec<DirectoryEntry>>> {
    let tenant = auth.tenant()?;
    let q = query.q.unwrap_or_default().trim().to_lowercase();
    let matches =
        |texts: &[&str]| q.is_empty() || texts.iter().any(|t| t.to_lowercase().contains(&q));
    let devices = state.store.tenant(tenant).devices().list().await?;
    let mut entries = Vec::new();
    for user in state.store.tenant(tenant).users().list().await? {
        let numbers: Vec<ContactNumber> = devices
            .iter()
            .filter(|d| d.user_id == Some(user.id))
            .map(|d| ContactNumber {
                label: Some("extension".into()),
                number: d.number().to_string(),
            })
            .collect();
        let mut texts = vec![user.display_name.as_str(), user.username.as_str()];
        texts.extend(numbers.iter().map(|n| n.number.as_str()));
        if matches(&texts) {
            let presence = state
                .cti
                .presence_of(tenant, user.id, user.display_name.clone());
            entries.push(DirectoryEntry {
                kind: "user",
                id: user.id.to_string(),
                name: user.display_name,
                company: None,
                numbers,
                presence: Some(presence),
            });
        }
    }
    // A system admin acting in the tenant has no personal contacts there.
    let personal = match auth.0.tenant_id {
        Some(_) => {
            state
                .store
                .tenant(tenant)
                .contacts(Some(auth.0.user_id))
                .list()
                .await?
        }
        None => Vec::new(),
    };
    let shared = state.store.tenant(tenant).contacts(None).list().await?;
    for (kind, contact) in shared
        .into_iter()
        .map(|c| ("contact", c))
        .chain(personal.into_iter().map(|c| ("personal", c)))
    {
        let mut texts = vec![contact.name.as_str()];
        texts.extend(contact.company.as_deref());
        texts.extend(contact.numbers.iter().map(|n| n.number.as_str()));
        if matches(&texts) {
            entries.push(DirectoryEntry {
                kind,
                id: contact.id,
                name: contact.name,
                company: contact.company,
                numbers: contact.numbers,
                presence: None,
            });
        }
    }
    entries.sort_by_key(|e| e.name.to_lowercase());
    entries.truncate(500);
    Ok(Json(entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_split_with_quotes() {
        assert_eq!(csv_fields("a,b,,c").unwrap(), ["a", "b", "", "c"]);
        assert_eq!(
            csv_fields(r#""Smith, John","say ""hi""",x"#).unwrap(),
            ["Smith, John", "say \"hi\"", "x"]
        );
        assert!(csv_fields(r#""open"#).is_err());
    }
}
