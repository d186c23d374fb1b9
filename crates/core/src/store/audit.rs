//! The audit log of admin actions; outlives the tenants it names.

use async_trait::async_trait;

use super::StoreResult;
use crate::ids::TenantId;
use crate::model::{AuditEntry, Page};

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn insert_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// Newest first; `tenant` restricts to one tenant's entries.
    async fn audit(&self, tenant: Option<TenantId>, page: Page) -> StoreResult<Vec<AuditEntry>>;
}
