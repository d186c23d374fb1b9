//! The call log: each user's finished calls.

use async_trait::async_trait;

use super::{Store, StoreResult, check_tenant};
use crate::ids::{TenantId, UserId};
use crate::model::{CallLogEntry, Page};

/// `insert_call_log` and `call_log` are reached through [`CallLog`]
/// (`store.tenant(id).call_log()`); `prune_call_log` is system scope.
#[async_trait]
pub trait CallLogStore: Send + Sync {
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
}

/// One tenant's call log.
#[derive(Clone, Copy)]
pub struct CallLog<'s> {
    pub(super) store: &'s dyn Store,
    pub(super) tenant: TenantId,
}

impl CallLog<'_> {
    /// All or none; refuses the lot if an entry's `tenant_id` is not this tenant.
    pub async fn insert(&self, entries: &[CallLogEntry]) -> StoreResult<()> {
        for entry in entries {
            check_tenant(self.tenant, entry.tenant_id)?;
        }
        self.store.insert_call_log(self.tenant, entries).await
    }

    /// `user`'s calls, newest first.
    pub async fn of_user(&self, user: UserId, page: Page) -> StoreResult<Vec<CallLogEntry>> {
        self.store.call_log(self.tenant, user, page).await
    }
}
