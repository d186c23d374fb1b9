//! The persistence boundary. Implementations: SQLite (embedded, default) and PostgreSQL
//! (multi-node), both in the `ucplus-store` crate and both held to one contract suite.
//!
//! The store is split per aggregate: one trait each ([`SystemStore`], [`TenantStore`],
//! [`UserStore`], [`SiteStore`], [`DeviceStore`], [`PresenceStore`], [`ContactStore`],
//! [`CallLogStore`], [`PbxStore`], [`AuditStore`], [`UsageStore`], [`SessionStore`],
//! [`RegistrationStore`]), bundled by [`Store`], which every type implementing them all
//! implements. A back-end implements the thirteen traits; the server holds an
//! `Arc<dyn Store>`, on which every trait's methods are callable without importing the
//! trait (a concrete back-end type needs the trait in scope).
//!
//! A tenant's records are reached through the handle [`TenantScope`]
//! (`store.tenant(id).users().list()`), which binds the tenant once: its methods take no
//! tenant, and its writes refuse a record naming another tenant
//! ([`StoreError::TenantMismatch`]). The per-aggregate methods under it take the
//! [`TenantId`](crate::TenantId); a record of another tenant is reported exactly like a
//! record that does not exist.

mod audit;
mod call_log;
mod contacts;
mod devices;
mod pbxs;
mod presence;
mod registrations;
mod scope;
mod sessions;
mod sites;
mod system;
mod tenants;
mod usage;
mod users;

pub use audit::AuditStore;
pub use call_log::{CallLog, CallLogStore};
pub use contacts::{ContactStore, Contacts};
pub use devices::{DeviceStore, Devices};
pub use pbxs::PbxStore;
pub use presence::{Presence, PresenceStore};
pub use registrations::{RegistrationStore, Registrations, SipRegistration, SipTransport};
pub use scope::TenantScope;
pub use sessions::{SessionStore, StoredSession};
pub use sites::{SiteStore, Sites};
pub use system::SystemStore;
pub use tenants::TenantStore;
pub use usage::UsageStore;
pub use users::{UserStore, Users};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was violated; names the field.
    #[error("{0} is already taken")]
    Conflict(String),
    /// A record written through a tenant's scope names another tenant (or, for a contact,
    /// another owner) than the scope: refused, so the scope stays the one source of truth.
    #[error("the record belongs to another tenant or owner than the scope it was written in")]
    TenantMismatch,
    /// The driver (or the data it returned) failed; keeps its error as the source.
    #[error("storage error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Every aggregate's store: what a back-end implements and the server holds as
/// `Arc<dyn Store>`. Implemented for every type that implements all the traits.
pub trait Store:
    SystemStore
    + TenantStore
    + UserStore
    + SiteStore
    + DeviceStore
    + PresenceStore
    + ContactStore
    + CallLogStore
    + PbxStore
    + AuditStore
    + UsageStore
    + SessionStore
    + RegistrationStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: SystemStore
        + TenantStore
        + UserStore
        + SiteStore
        + DeviceStore
        + PresenceStore
        + ContactStore
        + CallLogStore
        + PbxStore
        + AuditStore
        + UsageStore
        + SessionStore
        + RegistrationStore
        + Send
        + Sync
        + 'static
{
}

impl dyn Store {
    /// The records of tenant `id`: every query through the handle is about that tenant.
    pub fn tenant(&self, id: crate::TenantId) -> TenantScope<'_> {
        TenantScope::new(self, id)
    }
}

/// Refuses a record whose own tenant (`None`: a system admin's) is not `scope`: the check
/// every write in a tenant's scope makes, for back-ends to make it the same way.
pub fn check_tenant(
    scope: crate::TenantId,
    record: impl Into<Option<crate::TenantId>>,
) -> StoreResult<()> {
    if record.into() == Some(scope) {
        Ok(())
    } else {
        Err(StoreError::TenantMismatch)
    }
}
