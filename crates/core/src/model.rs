//! The records of the domain. Times are unix milliseconds inside and RFC 3339 on the wire.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

use crate::ids::{DeviceRecordId, PbxId, SiteId, TenantId, UserId};

/// A point in time, unix milliseconds; serialized as an RFC 3339 string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, utoipa::ToSchema)]
#[schema(value_type = String, format = DateTime)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Timestamp {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or_default();
        Timestamp(ms)
    }

    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default()
    }

    /// The UTC calendar day of this instant.
    pub fn date(self) -> time::Date {
        time::OffsetDateTime::from_unix_timestamp(self.0.div_euclid(1000))
            .map(|t| t.date())
            .unwrap_or(time::Date::MIN)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

/// Reads what [`Timestamp`]'s serialization writes (an RFC 3339 string), as nodes do
/// with each other's views.
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let time =
            time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
                .map_err(serde::de::Error::custom)?;
        i64::try_from(time.unix_timestamp_nanos() / 1_000_000)
            .map(Timestamp)
            .map_err(serde::de::Error::custom)
    }
}

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The hosting provider: licenses, tenants, PBX connections. Belongs to no tenant.
    SystemAdmin,
    /// A tenant's administrator: that tenant's sites, users, devices, directory.
    Admin,
    /// An end user of a tenant.
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::SystemAdmin => "system_admin",
            Role::Admin => "admin",
            Role::User => "user",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "system_admin" => Ok(Role::SystemAdmin),
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            other => Err(format!("unknown role `{other}`")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One end customer of the hosting provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    /// Short unique name used at login.
    pub slug: String,
    pub created_at: Timestamp,
}

/// The slug of the implicit tenant of single-tenant mode.
pub const DEFAULT_TENANT_SLUG: &str = "default";

/// A tenant's cap and reservation for one client license type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TenantLimit {
    /// At most this many at once; absent or null: only the pool limits the tenant.
    #[serde(default)]
    pub cap: Option<u32>,
    /// Guaranteed minimum kept free for this tenant.
    #[serde(default)]
    pub reserved: u32,
}

/// Caps and reservations keyed by license type name (`desktop`, `attendant`, ...).
pub type TenantLimits = BTreeMap<String, TenantLimit>;

/// A location of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Site {
    pub id: SiteId,
    #[serde(skip)]
    pub tenant_id: TenantId,
    pub name: String,
    pub address: Option<String>,
    pub created_at: Timestamp,
}

/// An account. System admins have no tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    #[serde(skip)]
    pub tenant_id: Option<TenantId>,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub site_id: Option<SiteId>,
    /// Client license types this user may take (`desktop`, `mobile`, ...).
    pub licenses: Vec<String>,
    pub email: Option<String>,
    pub created_at: Timestamp,
    /// Argon2id PHC string; never serialized.
    #[serde(skip)]
    pub password_hash: String,
}

/// One extension or handset, owned by exactly one tenant. Its identity is
/// (PBX connection, device id), never the bare number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Device {
    pub id: DeviceRecordId,
    #[serde(skip)]
    pub tenant_id: TenantId,
    pub pbx_id: PbxId,
    /// The device id on the PBX (usually the extension number).
    pub device_id: String,
    /// The number the tenant's users dial for this device, when it differs from the
    /// device id (a hosted PBX's devices often carry a tenant prefix).
    pub extension: Option<String>,
    pub name: String,
    pub user_id: Option<UserId>,
    pub created_at: Timestamp,
    /// For a uaCSTA handset: the SIP user it registers as (in the PBX's SIP domain).
    pub sip_username: Option<String>,
    /// Digest HA1 values of the handset's SIP password (MD5, SHA-256); never serialized.
    #[serde(skip)]
    pub sip_ha1: Option<SipHa1>,
}

/// `H(username:realm:password)` for both digest algorithm families.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipHa1 {
    pub md5: String,
    pub sha256: String,
}

impl Device {
    /// The number users of the tenant know the device by.
    pub fn number(&self) -> &str {
        self.extension.as_deref().unwrap_or(&self.device_id)
    }
}

/// How ucplus reaches a telephone system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PbxKind {
    /// CSTA XML (ECMA-323) over TCP or TLS.
    Csta,
    /// SIP handsets controlled with CSTA over SIP.
    Uacsta,
    /// The built-in simulator.
    Sim,
}

impl PbxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PbxKind::Csta => "csta",
            PbxKind::Uacsta => "uacsta",
            PbxKind::Sim => "sim",
        }
    }
}

impl FromStr for PbxKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "csta" => Ok(PbxKind::Csta),
            "uacsta" => Ok(PbxKind::Uacsta),
            "sim" => Ok(PbxKind::Sim),
            other => Err(format!("unknown PBX kind `{other}`")),
        }
    }
}

/// A PBX connection, owned by one tenant or shared (`tenant_id` null).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Pbx {
    pub id: PbxId,
    pub name: String,
    pub kind: PbxKind,
    pub tenant_id: Option<TenantId>,
    pub host: Option<String>,
    pub port: Option<u16>,
    /// Kind-specific settings (TLS, session pattern, login, edition, heartbeat, SIP domain).
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    pub created_at: Timestamp,
}

/// One admin action: who did what, in which tenant, when and from where.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub at: Timestamp,
    pub actor_id: Option<UserId>,
    pub actor_username: String,
    pub tenant_id: Option<TenantId>,
    /// Dotted action name, e.g. `tenant.create`, `license.load`.
    pub action: String,
    /// The id of the record acted on.
    pub target: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// The client's address.
    pub source: Option<String>,
}

/// A license file as loaded, kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLicense {
    pub id: String,
    pub text: String,
    pub loaded_at: Timestamp,
}

/// The highest license use of one tenant and type in one hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageSample {
    pub tenant_id: TenantId,
    pub license_type: String,
    /// Start of the hour, unix ms.
    pub hour: i64,
    pub peak: u32,
}

/// The highest license use of one tenant and type in one UTC day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyUsage {
    /// Days since 1970-01-01.
    pub day: i64,
    pub tenant_id: TenantId,
    pub license_type: String,
    pub peak: u32,
}

/// One page of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub offset: u32,
}

/// A user's chosen presence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPresence {
    pub user_id: UserId,
    pub state: crate::cti::PresenceState,
    pub note: Option<String>,
    pub updated_at: Timestamp,
}

/// One number of a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContactNumber {
    /// `work`, `mobile`, `home`, ... (free text).
    #[serde(default)]
    pub label: Option<String>,
    pub number: String,
}

/// One number of a directory contact and the contact's name: what names a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberName {
    pub number: String,
    /// None: a shared contact of the tenant; else the user whose own contact it is.
    pub owner_id: Option<UserId>,
    pub name: String,
}

/// A directory contact: shared by the tenant (`owner_id` null) or a user's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Contact {
    pub id: String,
    #[serde(skip)]
    pub tenant_id: TenantId,
    pub owner_id: Option<UserId>,
    pub name: String,
    pub company: Option<String>,
    pub email: Option<String>,
    pub numbers: Vec<ContactNumber>,
    pub created_at: Timestamp,
}

/// Direction of a logged call, from the user's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogDirection {
    In,
    Out,
    Internal,
}

impl LogDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            LogDirection::In => "in",
            LogDirection::Out => "out",
            LogDirection::Internal => "internal",
        }
    }
}

impl FromStr for LogDirection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "in" => Ok(LogDirection::In),
            "out" => Ok(LogDirection::Out),
            "internal" => Ok(LogDirection::Internal),
            other => Err(format!("unknown direction `{other}`")),
        }
    }
}

/// One finished call of one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CallLogEntry {
    pub id: String,
    #[serde(skip)]
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub device_id: DeviceRecordId,
    pub pbx_id: PbxId,
    pub direction: LogDirection,
    /// For internal calls: whether this user placed it.
    pub outgoing: bool,
    pub missed: bool,
    pub answered: bool,
    pub other_number: Option<String>,
    /// Resolved from the directory when the call happened.
    pub other_name: Option<String>,
    /// Who answered: this user for incoming calls, the far party for outgoing ones.
    pub answered_by: Option<String>,
    pub started_at: Timestamp,
    pub answered_at: Option<Timestamp>,
    pub ended_at: Timestamp,
    pub ring_ms: i64,
    pub talk_ms: i64,
    /// Numbers the call was transferred to or from.
    pub transferred: Vec<String>,
    pub cause: Option<String>,
}

#[cfg(test)]
mod timestamp_tests {
    use super::Timestamp;
    use proptest::prelude::*;

    proptest! {
        /// Nodes read each other's views: every instant of years 1 to 9999 reads back as
        /// written.
        #[test]
        fn a_timestamp_reads_back_as_written(ms in -62_135_596_800_000i64..253_402_300_800_000i64) {
            let json = serde_json::to_string(&Timestamp(ms)).unwrap();
            prop_assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), Timestamp(ms));
        }

        /// Any text is read or refused, never a panic.
        #[test]
        fn any_text_is_read_or_refused(text in ".*") {
            let _ = serde_json::from_value::<Timestamp>(serde_json::Value::String(text));
        }
    }
}
