//! The users of a tenant.

use async_trait::async_trait;

use super::{Store, StoreResult, check_tenant};
use crate::ids::{TenantId, UserId};
use crate::model::User;

/// Reached through [`Users`] (`store.tenant(id).users()`), which supplies the tenant.
#[async_trait]
pub trait UserStore: Send + Sync {
    async fn users(&self, tenant: TenantId) -> StoreResult<Vec<User>>;
    async fn user(&self, tenant: TenantId, id: UserId) -> StoreResult<User>;
    async fn user_by_name(&self, tenant: TenantId, username: &str) -> StoreResult<User>;
    async fn insert_user(&self, tenant: TenantId, user: &User) -> StoreResult<()>;
    async fn update_user(&self, tenant: TenantId, user: &User) -> StoreResult<()>;
    async fn delete_user(&self, tenant: TenantId, id: UserId) -> StoreResult<()>;
}

/// One tenant's users.
#[derive(Clone, Copy)]
pub struct Users<'s> {
    pub(super) store: &'s dyn Store,
    pub(super) tenant: TenantId,
}

impl Users<'_> {
    /// By username.
    pub async fn list(&self) -> StoreResult<Vec<User>> {
        self.store.users(self.tenant).await
    }

    pub async fn get(&self, id: UserId) -> StoreResult<User> {
        self.store.user(self.tenant, id).await
    }

    pub async fn by_name(&self, username: &str) -> StoreResult<User> {
        self.store.user_by_name(self.tenant, username).await
    }

    /// Refuses a user whose `tenant_id` is not this tenant.
    pub async fn insert(&self, user: &User) -> StoreResult<()> {
        check_tenant(self.tenant, user.tenant_id)?;
        self.store.insert_user(self.tenant, user).await
    }

    /// Refuses a user whose `tenant_id` is not this tenant.
    pub async fn update(&self, user: &User) -> StoreResult<()> {
        check_tenant(self.tenant, user.tenant_id)?;
        self.store.update_user(self.tenant, user).await
    }

    pub async fn delete(&self, id: UserId) -> StoreResult<()> {
        self.store.delete_user(self.tenant, id).await
    }
}
