//! [`UsageStore`] for SQLite: hourly license usage peaks and their daily maxima.

use async_trait::async_trait;
use ucplus_core::store::UsageStore;
use ucplus_core::*;

use super::SqlStore;
use crate::db::query;
use crate::rows::backend;

#[async_trait]
impl UsageStore for SqlStore {
    async fn record_usage(&self, samples: &[UsageSample]) -> StoreResult<()> {
        let mut tx = self.db.begin().await.map_err(backend)?;
        for sample in samples {
            query(
                "INSERT INTO license_usage (tenant_id, license_type, hour, peak) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id, license_type, hour) DO UPDATE SET peak = \
                 CASE WHEN excluded.peak > license_usage.peak THEN excluded.peak \
                 ELSE license_usage.peak END",
            )
            .bind(sample.tenant_id.to_string())
            .bind(&sample.license_type)
            .bind(sample.hour)
            .bind(i64::from(sample.peak))
            .execute(&mut tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn daily_usage(
        &self,
        tenant: Option<TenantId>,
        from_day: i64,
        to_day: i64,
    ) -> StoreResult<Vec<DailyUsage>> {
        const DAY_MS: i64 = 86_400_000;
        let from = from_day.saturating_mul(DAY_MS);
        let to = to_day.saturating_add(1).saturating_mul(DAY_MS);
        let rows = query(
            "SELECT hour / 86400000 AS day, tenant_id, license_type, MAX(peak) AS peak \
             FROM license_usage WHERE hour >= $1 AND hour < $2 \
             AND (CAST($3 AS TEXT) IS NULL OR tenant_id = CAST($3 AS TEXT)) \
             GROUP BY hour / 86400000, tenant_id, license_type \
             ORDER BY day, tenant_id, license_type",
        )
        .bind(from)
        .bind(to)
        .bind(tenant.map(|t| t.to_string()))
        .fetch_all(&self.db)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let tenant: String = row.try_get("tenant_id").map_err(backend)?;
                let peak: i64 = row.try_get("peak").map_err(backend)?;
                Ok(DailyUsage {
                    day: row.try_get("day").map_err(backend)?,
                    tenant_id: tenant.parse().map_err(backend)?,
                    license_type: row.try_get("license_type").map_err(backend)?,
                    peak: u32::try_from(peak).map_err(backend)?,
                })
            })
            .collect()
    }

    async fn prune_usage(&self, before: i64) -> StoreResult<u64> {
        let result = query("DELETE FROM license_usage WHERE hour < $1")
            .bind(before)
            .execute(&self.db)
            .await
            .map_err(backend)?;
        Ok(result.rows_affected())
    }
}
