//! The SQL store: one implementation of every store trait, on the embedded SQLite (one
//! file in the data directory, WAL journal, foreign keys on, a busy timeout so concurrent
//! writers wait instead of failing) or on PostgreSQL (several nodes sharing one database).
//!
//! One file per aggregate implements its store trait; this one opens the pool, runs the
//! migrations and holds the helpers the files share ([`TenantTable`], [`owner_is`]).

mod audit;
mod call_log;
mod contacts;
mod copy;
mod devices;
mod pbxs;
mod presence;
mod registrations;
pub(crate) mod sessions;
mod sites;
mod system;
pub(crate) mod tenants;
mod usage;
mod users;

pub use copy::CopiedTable;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use ucplus_core::*;

use crate::db::{Db, Done, On, Row, query};
use crate::migrations::{CREATE_MIGRATIONS_TABLE, MIGRATION_LOCK, MIGRATIONS};
use crate::rows::{backend, map_error};

#[derive(Clone)]
pub struct SqlStore {
    db: Db,
}

/// Which database a `database_url` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The embedded SQLite database file.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL URL (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl Backend {
    /// Reads a database URL: `postgres://…` / `postgresql://…`, or `sqlite://PATH` / a path.
    pub fn parse(url: &str) -> Result<Backend, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres(url.to_string()))
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            Ok(Backend::Sqlite(path.into()))
        } else if url.contains("://") {
            Err(format!(
                "database_url: unknown scheme in {:?} (postgres:// or sqlite://)",
                url.split("://").next().unwrap_or_default()
            ))
        } else {
            Ok(Backend::Sqlite(url.into()))
        }
    }
}

impl SqlStore {
    /// Opens the database `backend` names and runs pending migrations.
    pub async fn open(backend: &Backend) -> StoreResult<SqlStore> {
        match backend {
            Backend::Sqlite(path) => SqlStore::open_sqlite(path).await,
            Backend::Postgres(url) => SqlStore::connect_postgres(url).await,
        }
    }

    /// Opens (creating if needed) an SQLite database file and runs pending migrations.
    pub async fn open_sqlite(path: &Path) -> StoreResult<SqlStore> {
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
        let store = SqlStore {
            db: Db::Sqlite(pool),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The system id of the ucplus database in the SQLite file `path`, read without
    /// changing the file (no migration, nothing created); None when it is not one.
    pub async fn sqlite_system_id(path: &Path) -> StoreResult<Option<String>> {
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(backend)?
            .filename(path)
            .read_only(true)
            .create_if_missing(false);
        let Ok(pool) = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
        else {
            return Ok(None);
        };
        let db = Db::Sqlite(pool);
        let row = query("SELECT value FROM settings WHERE key = 'system_id'")
            .fetch_optional(&db)
            .await;
        db.close().await;
        Ok(row
            .ok()
            .flatten()
            .and_then(|row| row.try_get::<String>("value").ok()))
    }

    /// Connects to a PostgreSQL database and runs pending migrations (one node at a time).
    pub async fn connect_postgres(url: &str) -> StoreResult<SqlStore> {
        let options = PgConnectOptions::from_str(url).map_err(backend)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(backend)?;
        let store = SqlStore {
            db: Db::Postgres(pool),
        };
        store.migrate().await?;
        Ok(store)
    }

    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.db, Db::Postgres(_))
    }

    /// Writes a consistent copy of the whole SQLite database to `out` while it is in use
    /// (`VACUUM INTO`); refuses an `out` that exists. PostgreSQL has its own tools
    /// (`pg_dump`), so this refuses there.
    pub async fn backup_into(&self, out: &Path) -> StoreResult<()> {
        if !matches!(self.db, Db::Sqlite(_)) {
            return Err(backend("backup of a PostgreSQL store: use pg_dump"));
        }
        if out.exists() {
            return Err(StoreError::Conflict(out.display().to_string()));
        }
        query("VACUUM INTO $1")
            .bind(out.to_string_lossy().to_string())
            .execute(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Applies the migrations not yet recorded, each in its own transaction. On PostgreSQL
    /// all of them run in one transaction under a lock, so nodes starting together migrate
    /// once.
    async fn migrate(&self) -> StoreResult<()> {
        let postgres = self.is_postgres();
        let mut tx = self.db.begin().await.map_err(backend)?;
        if postgres {
            query(MIGRATION_LOCK)
                .execute(&mut tx)
                .await
                .map_err(backend)?;
        }
        query(CREATE_MIGRATIONS_TABLE)
            .execute(&mut tx)
            .await
            .map_err(backend)?;
        for (version, sql) in MIGRATIONS {
            let applied = query("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(*version)
                .fetch_optional(&mut tx)
                .await
                .map_err(backend)?;
            if applied.is_some() {
                continue;
            }
            Db::run_script(&mut tx, sql)
                .await
                .map_err(|e| backend(format!("migration {version}: {e}")))?;
            query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(*version)
                .bind(Timestamp::now().0)
                .execute(&mut tx)
                .await
                .map_err(backend)?;
            if !postgres {
                tx.commit().await.map_err(backend)?;
                tx = self.db.begin().await.map_err(backend)?;
            }
        }
        tx.commit().await.map_err(backend)
    }

    pub async fn close(&self) {
        self.db.close().await;
    }
}

/// `NotFound` when a statement touched no row.
fn expect_one(result: Done) -> StoreResult<()> {
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
    async fn list(&self, db: &Db, tenant: TenantId, order: &str) -> StoreResult<Vec<Row>> {
        let sql = format!(
            "SELECT {} FROM {} WHERE tenant_id = $1 ORDER BY {order}",
            self.columns, self.name
        );
        query(&sql)
            .bind(tenant.to_string())
            .fetch_all(db)
            .await
            .map_err(backend)
    }

    /// The row of `tenant` whose `column` is `value`; `NotFound` if there is none.
    async fn find(&self, db: &Db, tenant: TenantId, column: &str, value: &str) -> StoreResult<Row> {
        let sql = format!(
            "SELECT {} FROM {} WHERE tenant_id = $1 AND {column} = $2",
            self.columns, self.name
        );
        query(&sql)
            .bind(tenant.to_string())
            .bind(value)
            .fetch_one(db)
            .await
            .map_err(|e| map_error(e, column))
    }

    /// Row `id` of `tenant`; `NotFound` if there is none.
    async fn get(&self, db: &Db, tenant: TenantId, id: &str) -> StoreResult<Row> {
        self.find(db, tenant, "id", id).await
    }

    /// Deletes row `id` of `tenant`; `NotFound` if there is none.
    async fn delete<'e>(
        &self,
        on: impl Into<On<'e>>,
        tenant: TenantId,
        id: &str,
    ) -> StoreResult<()> {
        let sql = format!("DELETE FROM {} WHERE tenant_id = $1 AND id = $2", self.name);
        let result = query(&sql)
            .bind(tenant.to_string())
            .bind(id)
            .execute(on)
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
