//! The presence users of a tenant chose.

use async_trait::async_trait;

use super::{Store, StoreResult};
use crate::ids::TenantId;
use crate::model::UserPresence;

/// Reached through [`Presence`] (`store.tenant(id).presence()`), which supplies the tenant.
#[async_trait]
pub trait PresenceStore: Send + Sync {
    async fn presence(&self, tenant: TenantId) -> StoreResult<Vec<UserPresence>>;
    /// Only for a user of `tenant` (else `NotFound`).
    async fn set_presence(&self, tenant: TenantId, presence: &UserPresence) -> StoreResult<()>;
}

/// One tenant's presence.
#[derive(Clone, Copy)]
pub struct Presence<'s> {
    pub(super) store: &'s dyn Store,
    pub(super) tenant: TenantId,
}

impl Presence<'_> {
    pub async fn list(&self) -> StoreResult<Vec<UserPresence>> {
        self.store.presence(self.tenant).await
    }

    /// `NotFound` unless the user is this tenant's.
    pub async fn set(&self, presence: &UserPresence) -> StoreResult<()> {
        self.store.set_presence(self.tenant, presence).await
    }
}
