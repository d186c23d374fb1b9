//! The persistence boundary. Implementations: SQLite (embedded, default) and PostgreSQL
//! (multi-node), both in the `ucplus-store` crate and both held to one contract suite.
//!
//! Every method about a tenant's records takes the [`TenantId`]; a record of another tenant
//! is reported exactly like a record that does not exist.

use async_trait::async_trait;

use crate::ids::{DeviceRecordId, PbxId, SiteId, TenantId, UserId};
use crate::model::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was violated; names the field.
    #[error("{0} is already taken")]
    Conflict(String),
    #[error("storage error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Is the database reachable and answering?
    async fn ping(&self) -> StoreResult<()>;

    // --- system settings (system id, ...)
    async fn setting(&self, key: &str) -> StoreResult<Option<String>>;
    async fn set_setting(&self, key: &str, value: &str) -> StoreResult<()>;

    // --- license files
    async fn licenses(&self) -> StoreResult<Vec<StoredLicense>>;
    async fn insert_license(&self, license: &StoredLicense) -> StoreResult<()>;
    async fn delete_license(&self, id: &str) -> StoreResult<()>;

    // --- tenants (system admin scope)
    async fn tenants(&self) -> StoreResult<Vec<Tenant>>;
    async fn tenant(&self, id: TenantId) -> StoreResult<Tenant>;
    async fn tenant_by_slug(&self, slug: &str) -> StoreResult<Tenant>;
    /// Creates the tenant and its first admin in one transaction.
    async fn insert_tenant(&self, tenant: &Tenant, first_admin: Option<&User>) -> StoreResult<()>;
    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<()>;
    /// Deletes the tenant and every record it owns.
    async fn delete_tenant(&self, id: TenantId) -> StoreResult<()>;
    async fn tenant_limits(&self, id: TenantId) -> StoreResult<TenantLimits>;
    async fn set_tenant_limits(&self, id: TenantId, limits: &TenantLimits) -> StoreResult<()>;

    // --- system admins (no tenant)
    async fn system_admin_by_name(&self, username: &str) -> StoreResult<User>;
    async fn system_admin(&self, id: UserId) -> StoreResult<User>;
    async fn insert_system_admin(&self, user: &User) -> StoreResult<()>;
    async fn system_admin_count(&self) -> StoreResult<u64>;

    // --- users of a tenant
    async fn users(&self, tenant: TenantId) -> StoreResult<Vec<User>>;
    async fn user(&self, tenant: TenantId, id: UserId) -> StoreResult<User>;
    async fn user_by_name(&self, tenant: TenantId, username: &str) -> StoreResult<User>;
    async fn insert_user(&self, tenant: TenantId, user: &User) -> StoreResult<()>;
    async fn update_user(&self, tenant: TenantId, user: &User) -> StoreResult<()>;
    async fn delete_user(&self, tenant: TenantId, id: UserId) -> StoreResult<()>;

    // --- sites of a tenant
    async fn sites(&self, tenant: TenantId) -> StoreResult<Vec<Site>>;
    async fn site(&self, tenant: TenantId, id: SiteId) -> StoreResult<Site>;
    async fn insert_site(&self, tenant: TenantId, site: &Site) -> StoreResult<()>;
    async fn update_site(&self, tenant: TenantId, site: &Site) -> StoreResult<()>;
    async fn delete_site(&self, tenant: TenantId, id: SiteId) -> StoreResult<()>;

    // --- devices of a tenant
    async fn devices(&self, tenant: TenantId) -> StoreResult<Vec<Device>>;
    async fn device(&self, tenant: TenantId, id: DeviceRecordId) -> StoreResult<Device>;
    async fn insert_devices(&self, tenant: TenantId, devices: &[Device]) -> StoreResult<()>;
    async fn update_device(&self, tenant: TenantId, device: &Device) -> StoreResult<()>;
    async fn delete_device(&self, tenant: TenantId, id: DeviceRecordId) -> StoreResult<()>;
    /// The tenant owning device `device_id` of PBX `pbx`, if any (system admin scope).
    async fn device_owner(&self, pbx: PbxId, device_id: &str) -> StoreResult<Option<TenantId>>;
    /// Every device of one PBX, whatever its tenant (for that PBX's engine).
    async fn pbx_devices(&self, pbx: PbxId) -> StoreResult<Vec<Device>>;

    // --- presence
    async fn presence(&self, tenant: TenantId) -> StoreResult<Vec<UserPresence>>;
    async fn set_presence(&self, tenant: TenantId, presence: &UserPresence) -> StoreResult<()>;

    // --- directory contacts; `owner` None: the tenant's shared contacts
    async fn contacts(&self, tenant: TenantId, owner: Option<UserId>) -> StoreResult<Vec<Contact>>;
    /// How many contacts `contacts` would list (for quotas).
    async fn count_contacts(&self, tenant: TenantId, owner: Option<UserId>) -> StoreResult<u64>;
    async fn contact(
        &self,
        tenant: TenantId,
        owner: Option<UserId>,
        id: &str,
    ) -> StoreResult<Contact>;
    async fn insert_contacts(&self, tenant: TenantId, contacts: &[Contact]) -> StoreResult<()>;
    async fn update_contact(&self, tenant: TenantId, contact: &Contact) -> StoreResult<()>;
    async fn delete_contact(
        &self,
        tenant: TenantId,
        owner: Option<UserId>,
        id: &str,
    ) -> StoreResult<()>;
    /// The name of the tenant contact (or `owner`'s personal contact) with this number.
    async fn contact_name(
        &self,
        tenant: TenantId,
        owner: Option<UserId>,
        number: &str,
    ) -> StoreResult<Option<String>>;

    /// Every number of the tenant's contacts, shared and personal, with its contact's name
    /// (the caller-name index is built from it).
    async fn contact_numbers(&self, tenant: TenantId) -> StoreResult<Vec<NumberName>>;

    // --- call log
    async fn insert_call_log(&self, tenant: TenantId, entries: &[CallLogEntry]) -> StoreResult<()>;
    /// A user's calls, newest first.
    async fn call_log(
        &self,
        tenant: TenantId,
        user: UserId,
        page: Page,
    ) -> StoreResult<Vec<CallLogEntry>>;
    /// Deletes calls that started before `before` (unix ms).
    async fn prune_call_log(&self, before: i64) -> StoreResult<u64>;

    // --- PBX connections (system admin scope; tenants read their own)
    async fn pbxs(&self) -> StoreResult<Vec<Pbx>>;
    async fn pbx(&self, id: PbxId) -> StoreResult<Pbx>;
    async fn insert_pbx(&self, pbx: &Pbx) -> StoreResult<()>;
    async fn update_pbx(&self, pbx: &Pbx) -> StoreResult<()>;
    /// Deletes the connection and its devices.
    async fn delete_pbx(&self, id: PbxId) -> StoreResult<()>;

    // --- audit log
    async fn insert_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// Newest first; `tenant` restricts to one tenant's entries.
    async fn audit(&self, tenant: Option<TenantId>, page: Page) -> StoreResult<Vec<AuditEntry>>;

    // --- license usage (billing)
    /// Raises each sample's stored hourly peak to at least its value.
    async fn record_usage(&self, samples: &[UsageSample]) -> StoreResult<()>;
    /// Daily peaks for days `from..=to` (days since 1970-01-01), optionally of one tenant.
    async fn daily_usage(
        &self,
        tenant: Option<TenantId>,
        from_day: i64,
        to_day: i64,
    ) -> StoreResult<Vec<DailyUsage>>;
    /// Deletes usage samples older than `before` (unix ms).
    async fn prune_usage(&self, before: i64) -> StoreResult<u64>;
}
