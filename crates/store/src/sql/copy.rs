//! Moving an installation from one database to another (`ucplus store copy`): every row of
//! every table, into an empty target, in one transaction, with the counts checked after.

use std::collections::HashSet;

use ucplus_core::*;

use super::SqlStore;
use crate::db::{Db, Value, query};
use crate::migrations::{RUNTIME_TABLES, TABLES};
use crate::rows::backend;

/// One table copied: its name and its rows (the same count on both sides).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopiedTable {
    pub table: &'static str,
    pub rows: u64,
}

impl SqlStore {
    async fn count(&self, table: &str) -> StoreResult<u64> {
        let n: i64 = query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(&self.db)
            .await
            .map_err(backend)?
            .try_get("n")
            .map_err(backend)?;
        u64::try_from(n).map_err(backend)
    }

    /// The integer columns of `table` on PostgreSQL, where a null must be bound with its
    /// column's type (SQLite reads every null the same way).
    async fn integer_columns(&self, table: &str) -> StoreResult<HashSet<String>> {
        if !self.is_postgres() {
            return Ok(HashSet::new());
        }
        let rows = query(
            "SELECT column_name::TEXT AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 \
             AND data_type IN ('bigint', 'integer', 'smallint')",
        )
        .bind(table)
        .fetch_all(&self.db)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|row| row.try_get("name").map_err(backend))
            .collect()
    }

    /// Copies every row of this store into `to`, which must hold no data (its schema is
    /// made by opening it). All or nothing; each table's count is checked on both sides.
    pub async fn copy_into(&self, to: &SqlStore) -> StoreResult<Vec<CopiedTable>> {
        for table in TABLES {
            let rows = to.count(table).await?;
            if rows > 0 {
                return Err(StoreError::Conflict(format!(
                    "the target database is not empty: {table} has {rows} rows"
                )));
            }
        }
        let mut tx = to.db.begin().await.map_err(backend)?;
        let mut copied = Vec::new();
        for table in TABLES {
            let integers = to.integer_columns(table).await?;
            let rows = query(format!("SELECT * FROM {table}"))
                .fetch_all(&self.db)
                .await
                .map_err(backend)?;
            for row in &rows {
                let columns = row.columns();
                let placeholders: Vec<String> =
                    (1..=columns.len()).map(|i| format!("${i}")).collect();
                let mut insert = query(format!(
                    "INSERT INTO {table} ({}) VALUES ({})",
                    columns.join(", "),
                    placeholders.join(", ")
                ));
                for (column, value) in columns.iter().zip(row.values()) {
                    insert = insert.bind(match value {
                        Value::NullText | Value::NullInt if integers.contains(column) => {
                            Value::NullInt
                        }
                        other => other.clone(),
                    });
                }
                insert.execute(&mut tx).await.map_err(backend)?;
            }
            copied.push(CopiedTable {
                table,
                rows: u64::try_from(rows.len()).map_err(backend)?,
            });
        }
        tx.commit().await.map_err(backend)?;
        for table in &copied {
            let (from, into) = (self.count(table.table).await?, to.count(table.table).await?);
            if from != into || into != table.rows {
                return Err(backend(format!(
                    "{}: {from} rows in the source, {into} in the target after the copy",
                    table.table
                )));
            }
        }
        Ok(copied)
    }

    /// The tables of this database's schema (but `schema_migrations` and the cluster's
    /// runtime tables), for checking that a copy misses none.
    pub async fn schema_tables(&self) -> StoreResult<Vec<String>> {
        let sql = match self.db {
            Db::Sqlite(_) => {
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name"
            }
            Db::Postgres(_) => {
                "SELECT table_name::TEXT AS name FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name <> 'schema_migrations' \
                 ORDER BY name"
            }
        };
        let rows = query(sql).fetch_all(&self.db).await.map_err(backend)?;
        let names = rows
            .iter()
            .map(|row| row.try_get::<String>("name").map_err(backend))
            .collect::<StoreResult<Vec<String>>>()?;
        Ok(names
            .into_iter()
            .filter(|name| !RUNTIME_TABLES.contains(&name.as_str()))
            .collect())
    }
}
