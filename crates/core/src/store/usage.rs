//! License usage for billing: hourly peaks per tenant and license type.

use async_trait::async_trait;

use super::StoreResult;
use crate::ids::TenantId;
use crate::model::{DailyUsage, UsageSample};

#[async_trait]
pub trait UsageStore: Send + Sync {
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
