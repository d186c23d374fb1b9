//! Tenants and their license limits (system admin scope).

use async_trait::async_trait;

use super::StoreResult;
use crate::ids::TenantId;
use crate::model::{Tenant, TenantLimits, User};

#[async_trait]
pub trait TenantStore: Send + Sync {
    async fn tenants(&self) -> StoreResult<Vec<Tenant>>;
    async fn tenant_by_id(&self, id: TenantId) -> StoreResult<Tenant>;
    async fn tenant_by_slug(&self, slug: &str) -> StoreResult<Tenant>;
    /// Creates the tenant and its first admin in one transaction. A first admin naming
    /// another tenant is refused with `TenantMismatch`.
    async fn insert_tenant(&self, tenant: &Tenant, first_admin: Option<&User>) -> StoreResult<()>;
    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<()>;
    /// Deletes the tenant and every record it owns.
    async fn delete_tenant(&self, id: TenantId) -> StoreResult<()>;
    async fn tenant_limits(&self, id: TenantId) -> StoreResult<TenantLimits>;
    async fn set_tenant_limits(&self, id: TenantId, limits: &TenantLimits) -> StoreResult<()>;
}
