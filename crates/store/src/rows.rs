//! Row → record mapping, shared by the queries of one back-end.

use ucplus_core::store::{SipRegistration, StoredSession};
use ucplus_core::*;

use crate::db::Row;

/// A driver error, or bad data read back, kept as the source.
pub fn backend(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::Backend(error.into())
}

/// Maps a driver error, turning uniqueness violations into `Conflict(field)`.
pub fn map_error(error: sqlx::Error, conflict_field: &str) -> StoreError {
    match &error {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(conflict_field.to_string())
        }
        _ => backend(error),
    }
}

fn parse<T: std::str::FromStr>(text: String) -> Result<T, StoreError>
where
    T::Err: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    text.parse::<T>().map_err(backend)
}

fn opt_id<T: std::str::FromStr>(text: Option<String>) -> Result<Option<T>, StoreError>
where
    T::Err: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    text.map(parse).transpose()
}

pub fn number_name(row: &Row) -> Result<NumberName, StoreError> {
    Ok(NumberName {
        number: row.try_get("number").map_err(backend)?,
        owner_id: opt_id(row.try_get("owner_id").map_err(backend)?)?,
        name: row.try_get("name").map_err(backend)?,
    })
}

pub fn tenant(row: &Row) -> Result<Tenant, StoreError> {
    Ok(Tenant {
        id: parse(row.try_get("id").map_err(backend)?)?,
        name: row.try_get("name").map_err(backend)?,
        slug: row.try_get("slug").map_err(backend)?,
        created_at: Timestamp(row.try_get("created_at").map_err(backend)?),
    })
}

pub fn site(row: &Row) -> Result<Site, StoreError> {
    Ok(Site {
        id: parse(row.try_get("id").map_err(backend)?)?,
        tenant_id: parse(row.try_get("tenant_id").map_err(backend)?)?,
        name: row.try_get("name").map_err(backend)?,
        address: row.try_get("address").map_err(backend)?,
        created_at: Timestamp(row.try_get("created_at").map_err(backend)?),
    })
}

pub fn user(row: &Row) -> Result<User, StoreError> {
    let licenses: String = row.try_get("licenses").map_err(backend)?;
    let role: String = row.try_get("role").map_err(backend)?;
    Ok(User {
        id: parse(row.try_get("id").map_err(backend)?)?,
        tenant_id: opt_id(row.try_get("tenant_id").map_err(backend)?)?,
        username: row.try_get("username").map_err(backend)?,
        display_name: row.try_get("display_name").map_err(backend)?,
        role: role.parse().map_err(backend)?,
        site_id: opt_id(row.try_get("site_id").map_err(backend)?)?,
        licenses: licenses
            .split(',')
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        email: row.try_get("email").map_err(backend)?,
        password_hash: row.try_get("password_hash").map_err(backend)?,
        created_at: Timestamp(row.try_get("created_at").map_err(backend)?),
    })
}

pub fn device(row: &Row) -> Result<Device, StoreError> {
    Ok(Device {
        id: parse(row.try_get("id").map_err(backend)?)?,
        tenant_id: parse(row.try_get("tenant_id").map_err(backend)?)?,
        pbx_id: parse(row.try_get("pbx_id").map_err(backend)?)?,
        device_id: row.try_get("device_id").map_err(backend)?,
        extension: row.try_get("extension").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        user_id: opt_id(row.try_get("user_id").map_err(backend)?)?,
        created_at: Timestamp(row.try_get("created_at").map_err(backend)?),
        sip_username: row.try_get("sip_username").map_err(backend)?,
        sip_ha1: {
            let md5: Option<String> = row.try_get("sip_ha1_md5").map_err(backend)?;
            let sha256: Option<String> = row.try_get("sip_ha1_sha256").map_err(backend)?;
            md5.zip(sha256).map(|(md5, sha256)| SipHa1 { md5, sha256 })
        },
    })
}

pub fn pbx(row: &Row) -> Result<Pbx, StoreError> {
    let kind: String = row.try_get("kind").map_err(backend)?;
    let settings: String = row.try_get("settings").map_err(backend)?;
    let port: Option<i64> = row.try_get("port").map_err(backend)?;
    Ok(Pbx {
        id: parse(row.try_get("id").map_err(backend)?)?,
        name: row.try_get("name").map_err(backend)?,
        kind: kind.parse().map_err(backend)?,
        tenant_id: opt_id(row.try_get("tenant_id").map_err(backend)?)?,
        host: row.try_get("host").map_err(backend)?,
        port: port.map(u16::try_from).transpose().map_err(backend)?,
        settings: serde_json::from_str(&settings).map_err(backend)?,
        created_at: Timestamp(row.try_get("created_at").map_err(backend)?),
    })
}

pub fn audit(row: &Row) -> Result<AuditEntry, StoreError> {
    let detail: String = row.try_get("detail").map_err(backend)?;
    Ok(AuditEntry {
        id: row.try_get("id").map_err(backend)?,
        at: Timestamp(row.try_get("at").map_err(backend)?),
        actor_id: opt_id(row.try_get("actor_id").map_err(backend)?)?,
        actor_username: row.try_get("actor_username").map_err(backend)?,
        tenant_id: opt_id(row.try_get("tenant_id").map_err(backend)?)?,
        action: row.try_get("action").map_err(backend)?,
        target: row.try_get("target").map_err(backend)?,
        detail: serde_json::from_str(&detail).map_err(backend)?,
        source: row.try_get("source").map_err(backend)?,
    })
}

pub fn presence(row: &Row) -> Result<UserPresence, StoreError> {
    let state: String = row.try_get("state").map_err(backend)?;
    Ok(UserPresence {
        user_id: parse(row.try_get("user_id").map_err(backend)?)?,
        state: state.parse().map_err(backend)?,
        note: row.try_get("note").map_err(backend)?,
        updated_at: Timestamp(row.try_get("updated_at").map_err(backend)?),
    })
}

pub fn contact(row: &Row) -> Result<Contact, StoreError> {
    let numbers: String = row.try_get("numbers").map_err(backend)?;
    Ok(Contact {
        id: row.try_get("id").map_err(backend)?,
        tenant_id: parse(row.try_get("tenant_id").map_err(backend)?)?,
        owner_id: opt_id(row.try_get("owner_id").map_err(backend)?)?,
        name: row.try_get("name").map_err(backend)?,
        company: row.try_get("company").map_err(backend)?,
        email: row.try_get("email").map_err(backend)?,
        numbers: serde_json::from_str(&numbers).map_err(backend)?,
        created_at: Timestamp(row.try_get("created_at").map_err(backend)?),
    })
}

pub fn call_log(row: &Row) -> Result<CallLogEntry, StoreError> {
    let direction: String = row.try_get("direction").map_err(backend)?;
    let transferred: String = row.try_get("transferred").map_err(backend)?;
    let missed: i64 = row.try_get("missed").map_err(backend)?;
    let answered: i64 = row.try_get("answered").map_err(backend)?;
    let answered_at: Option<i64> = row.try_get("answered_at").map_err(backend)?;
    // `answered` holds two flags: bit 0 answered, bit 1 placed by this user.
    Ok(CallLogEntry {
        id: row.try_get("id").map_err(backend)?,
        tenant_id: parse(row.try_get("tenant_id").map_err(backend)?)?,
        user_id: parse(row.try_get("user_id").map_err(backend)?)?,
        device_id: parse(row.try_get("device_id").map_err(backend)?)?,
        pbx_id: parse(row.try_get("pbx_id").map_err(backend)?)?,
        direction: direction.parse().map_err(backend)?,
        outgoing: answered & 2 != 0,
        missed: missed != 0,
        answered: answered & 1 != 0,
        other_number: row.try_get("other_number").map_err(backend)?,
        other_name: row.try_get("other_name").map_err(backend)?,
        answered_by: row.try_get("answered_by").map_err(backend)?,
        started_at: Timestamp(row.try_get("started_at").map_err(backend)?),
        answered_at: answered_at.map(Timestamp),
        ended_at: Timestamp(row.try_get("ended_at").map_err(backend)?),
        ring_ms: row.try_get("ring_ms").map_err(backend)?,
        talk_ms: row.try_get("talk_ms").map_err(backend)?,
        transferred: serde_json::from_str(&transferred).map_err(backend)?,
        cause: row.try_get("cause").map_err(backend)?,
    })
}

pub fn session(row: &Row) -> Result<StoredSession, StoreError> {
    let role: String = row.try_get("role").map_err(backend)?;
    Ok(StoredSession {
        token_hash: row.try_get("token_hash").map_err(backend)?,
        user_id: parse(row.try_get("user_id").map_err(backend)?)?,
        username: row.try_get("username").map_err(backend)?,
        tenant_id: opt_id(row.try_get("tenant_id").map_err(backend)?)?,
        role: role.parse().map_err(backend)?,
        client: row.try_get("client").map_err(backend)?,
        node: row.try_get("node").map_err(backend)?,
        created_at: Timestamp(row.try_get("created_at").map_err(backend)?),
        expires_at: Timestamp(row.try_get("expires_at").map_err(backend)?),
        idle_timeout_ms: row.try_get("idle_timeout_ms").map_err(backend)?,
        last_seen: Timestamp(row.try_get("last_seen").map_err(backend)?),
    })
}

pub fn registration(row: &Row) -> Result<SipRegistration, StoreError> {
    Ok(SipRegistration {
        tenant_id: parse(row.try_get("tenant_id").map_err(backend)?)?,
        device_id: parse(row.try_get("device_id").map_err(backend)?)?,
        pbx_id: parse(row.try_get("pbx_id").map_err(backend)?)?,
        aor: row.try_get("aor").map_err(backend)?,
        contact: row.try_get("contact").map_err(backend)?,
        source: row.try_get("source").map_err(backend)?,
        transport: parse(row.try_get("transport").map_err(backend)?)?,
        call_id: row.try_get("call_id").map_err(backend)?,
        expires_at: Timestamp(row.try_get("expires_at").map_err(backend)?),
        node: row.try_get("node").map_err(backend)?,
    })
}
