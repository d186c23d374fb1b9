//! The embedded SQLite store: one database file in the data directory, WAL journal,
//! foreign keys on, a busy timeout so concurrent writers wait instead of failing.
//!
//! One file per aggregate implements its store trait; this one opens the pool, runs the
//! migrations and holds the helpers the files share ([`TenantTable`], [`owner_is`]).

mod audit;
mod call_log;
mod contacts;
mod devices;
mod pbxs;
mod presence;
mod sites;
mod system;
mod tenants;
mod usage;
mod users;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult,
    SqliteRow,
};
use sqlx::{Executor, SqliteExecutor};
use ucplus_core::*;

use crate::migrations::{CREATE_MIGRATIONS_TABLE, MIGRATIONS};
use crate::rows::{backend, map_error};

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and runs pending migrations.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(backend)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(backend)?;
        let store = SqliteStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Writes a consistent copy of the whole database to `out` while it is in use (SQLite
    /// `VACUUM INTO`); refuses an `out` that exists.
    pub async fn backup_into(&self, out: &Path) -> StoreResult<()> {
        if out.exists() {
            return Err(StoreError::Conflict(out.display().to_string()));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(out.to_string_lossy().to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn migrate(&self) -> StoreResult<()> {
        self.pool
            .execute(CREATE_MIGRATIONS_TABLE)
            .await
            .map_err(backend)?;
        for (version, sql) in MIGRATIONS {
            let applied = sqlx::query("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(version)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
            if applied.is_some() {
                continue;
            }
            let mut tx = self.pool.begin().await.map_err(backend)?;
            sqlx::raw_sql(sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| backend(format!("migration {version}: {e}")))?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(version)
                .bind(Timestamp::now().0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            tx.commit().await.map_err(backend)?;
        }
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `NotFound` when a statement touched no row.
fn expect_one(result: SqliteQueryResult) -> StoreResult<()> {
    if result.rows_affected() == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// A table of rows each owned by one tenant: the `tenant_id = $1` part of reading and
/// deleting one tenant's rows, written once. A row of another tenant is not found.
struct TenantTable {
    name: &'static str,
    /// The columns read (`*`, or a list leaving some out).
    columns: &'static str,
}

impl TenantTable {
    /// Every row of `tenant`, in `order` (an `ORDER BY` list).
    async fn list(
        &self,
        pool: &SqlitePool,
        tenant: TenantId,
        order: &str,
    ) -> StoreResult<Vec<SqliteRow>> {
        let sql = format!(
            "SELECT {} FROM {} WHERE tenant_id = $1 ORDER BY {order}",
            self.columns, self.name
        );
        sqlx::query(&sql)
            .bind(tenant.to_string())
            .fetch_all(pool)
            .await
            .map_err(backend)
    }

    /// The row of `tenant` whose `column` is `value`; `NotFound` if there is none.
    async fn find(
        &self,
        pool: &SqlitePool,
        tenant: TenantId,
        column: &str,
        value: &str,
    ) -> StoreResult<SqliteRow> {
        let sql = format!(
            "SELECT {} FROM {} WHERE tenant_id = $1 AND {column} = $2",
            self.columns, self.name
        );
        sqlx::query(&sql)
            .bind(tenant.to_string())
            .bind(value)
            .fetch_one(pool)
            .await
            .map_err(|e| map_error(e, column))
    }

    /// Row `id` of `tenant`; `NotFound` if there is none.
    async fn get(&self, pool: &SqlitePool, tenant: TenantId, id: &str) -> StoreResult<SqliteRow> {
        self.find(pool, tenant, "id", id).await
    }

    /// Deletes row `id` of `tenant`; `NotFound` if there is none.
    async fn delete<'e>(
        &self,
        executor: impl SqliteExecutor<'e>,
        tenant: TenantId,
        id: &str,
    ) -> StoreResult<()> {
        let sql = format!("DELETE FROM {} WHERE tenant_id = $1 AND id = $2", self.name);
        let result = sqlx::query(&sql)
            .bind(tenant.to_string())
            .bind(id)
            .execute(executor)
            .await
            .map_err(backend)?;
        expect_one(result)
    }
}

/// `owner_id` equals placeholder `$n`, bound to an optional owner (null: the tenant's shared
/// contacts), so one statement serves both scopes.
fn owner_is(n: u8) -> String {
    format!("(owner_id = ${n} OR (CAST(${n} AS TEXT) IS NULL AND owner_id IS NULL))")
}
