//! The two databases behind one small query interface: the store's SQL is written once, in
//! the portable dialect both accept (`$n` placeholders, TEXT ids, BIGINT times, standard
//! `ON CONFLICT`), and runs on whichever pool the installation uses.
//!
//! Each back-end is a concrete sqlx pool ([`Db::Sqlite`], [`Db::Postgres`]); a statement's
//! values are bound with their types ([`Value`]), and a row comes back as named values
//! ([`Row`]), so the mapping from rows to records (`rows.rs`) is shared too.

use std::sync::Arc;

use sqlx::postgres::{PgPool, PgRow};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Column, Postgres, Row as _, Sqlite, TypeInfo, ValueRef};

/// A connection pool of one of the two back-ends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Runs several `;`-separated statements (a migration) without bound values.
    pub async fn run_script(tx: &mut Tx, script: &str) -> Result<(), sqlx::Error> {
        match tx {
            Tx::Sqlite(tx) => sqlx::raw_sql(script).execute(&mut **tx).await.map(drop),
            Tx::Postgres(tx) => sqlx::raw_sql(script).execute(&mut **tx).await.map(drop),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// An open transaction; dropped without [`Tx::commit`] it rolls back.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }
}

/// Where a statement runs: on the pool (a connection of its own) or in a transaction.
pub enum On<'a> {
    Pool(&'a Db),
    Tx(&'a mut Tx),
}

impl<'a> From<&'a Db> for On<'a> {
    fn from(db: &'a Db) -> On<'a> {
        On::Pool(db)
    }
}

impl<'a> From<&'a mut Tx> for On<'a> {
    fn from(tx: &'a mut Tx) -> On<'a> {
        On::Tx(tx)
    }
}

/// A bound value. A null keeps its type: PostgreSQL checks a parameter's type against its
/// column even when the value is null.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Text(String),
    NullInt,
    NullText,
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Value {
        v.map_or(Value::NullInt, Value::Int)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Value {
        v.map_or(Value::NullText, Value::Text)
    }
}

impl From<&Option<String>> for Value {
    fn from(v: &Option<String>) -> Value {
        v.clone().into()
    }
}

/// A statement and its values, built like sqlx's own: `query(sql).bind(a).bind(b)`.
pub struct Query {
    sql: String,
    values: Vec<Value>,
}

pub fn query(sql: impl Into<String>) -> Query {
    Query {
        sql: sql.into(),
        values: Vec::new(),
    }
}

/// What an `INSERT`, `UPDATE` or `DELETE` did.
pub struct Done(u64);

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.0
    }
}

macro_rules! bound {
    ($query:expr) => {{
        let mut q = sqlx::query(&$query.sql);
        for value in &$query.values {
            q = match value {
                Value::Int(v) => q.bind(*v),
                Value::Text(v) => q.bind(v.as_str()),
                Value::NullInt => q.bind(None::<i64>),
                Value::NullText => q.bind(None::<&str>),
            };
        }
        q
    }};
}

impl Query {
    pub fn bind(mut self, value: impl Into<Value>) -> Query {
        self.values.push(value.into());
        self
    }

    pub async fn execute<'a>(self, on: impl Into<On<'a>>) -> Result<Done, sqlx::Error> {
        let affected = match on.into() {
            On::Pool(Db::Sqlite(pool)) => bound!(self).execute(pool).await?.rows_affected(),
            On::Pool(Db::Postgres(pool)) => bound!(self).execute(pool).await?.rows_affected(),
            On::Tx(Tx::Sqlite(tx)) => bound!(self).execute(&mut **tx).await?.rows_affected(),
            On::Tx(Tx::Postgres(tx)) => bound!(self).execute(&mut **tx).await?.rows_affected(),
        };
        Ok(Done(affected))
    }

    pub async fn fetch_all<'a>(self, on: impl Into<On<'a>>) -> Result<Vec<Row>, sqlx::Error> {
        match on.into() {
            On::Pool(Db::Sqlite(pool)) => sqlite_rows(bound!(self).fetch_all(pool).await?),
            On::Pool(Db::Postgres(pool)) => pg_rows(bound!(self).fetch_all(pool).await?),
            On::Tx(Tx::Sqlite(tx)) => sqlite_rows(bound!(self).fetch_all(&mut **tx).await?),
            On::Tx(Tx::Postgres(tx)) => pg_rows(bound!(self).fetch_all(&mut **tx).await?),
        }
    }

    pub async fn fetch_optional<'a>(
        self,
        on: impl Into<On<'a>>,
    ) -> Result<Option<Row>, sqlx::Error> {
        let rows = match on.into() {
            On::Pool(Db::Sqlite(pool)) => sqlite_rows(
                bound!(self)
                    .fetch_optional(pool)
                    .await?
                    .into_iter()
                    .collect(),
            ),
            On::Pool(Db::Postgres(pool)) => pg_rows(
                bound!(self)
                    .fetch_optional(pool)
                    .await?
                    .into_iter()
                    .collect(),
            ),
            On::Tx(Tx::Sqlite(tx)) => sqlite_rows(
                bound!(self)
                    .fetch_optional(&mut **tx)
                    .await?
                    .into_iter()
                    .collect(),
            ),
            On::Tx(Tx::Postgres(tx)) => pg_rows(
                bound!(self)
                    .fetch_optional(&mut **tx)
                    .await?
                    .into_iter()
                    .collect(),
            ),
        }?;
        Ok(rows.into_iter().next())
    }

    /// The one row; `sqlx::Error::RowNotFound` when there is none.
    pub async fn fetch_one<'a>(self, on: impl Into<On<'a>>) -> Result<Row, sqlx::Error> {
        self.fetch_optional(on)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }
}

/// A row read back: its values by column name.
#[derive(Debug)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

/// A column that is missing, or holds another type than asked for.
#[derive(Debug, thiserror::Error)]
#[error("column {column}: {problem}")]
pub struct ColumnError {
    column: String,
    problem: &'static str,
}

impl Row {
    /// The column names, in the statement's order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The values, in the columns' order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    pub fn try_get<T: FromValue>(&self, column: &str) -> Result<T, ColumnError> {
        let error = |problem| ColumnError {
            column: column.to_string(),
            problem,
        };
        let index = self
            .columns
            .iter()
            .position(|c| c == column)
            .ok_or_else(|| error("no such column"))?;
        T::from_value(&self.values[index]).ok_or_else(|| error("unexpected type or null"))
    }
}

/// A Rust type a column's value is read as.
pub trait FromValue: Sized {
    fn from_value(value: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Option<i64> {
        match value {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Option<String> {
        match value {
            Value::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Option<Option<T>> {
        match value {
            Value::NullInt | Value::NullText => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

fn unsupported(column: &str, type_name: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: format!("a column of type {type_name} is not read by the store").into(),
    }
}

fn sqlite_rows(rows: Vec<SqliteRow>) -> Result<Vec<Row>, sqlx::Error> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let columns: Arc<[String]> = first.columns().iter().map(|c| c.name().into()).collect();
    rows.iter()
        .map(|row| {
            let values = (0..columns.len())
                .map(|i| {
                    let raw = row.try_get_raw(i)?;
                    if raw.is_null() {
                        return Ok(Value::NullText);
                    }
                    // SQLite types each value, not each column.
                    match raw.type_info().name() {
                        "INTEGER" => row.try_get::<i64, _>(i).map(Value::Int),
                        "TEXT" => row.try_get::<String, _>(i).map(Value::Text),
                        other => Err(unsupported(&columns[i], other)),
                    }
                })
                .collect::<Result<Vec<Value>, sqlx::Error>>()?;
            Ok(Row {
                columns: columns.clone(),
                values,
            })
        })
        .collect()
}

fn pg_rows(rows: Vec<PgRow>) -> Result<Vec<Row>, sqlx::Error> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let columns: Arc<[String]> = first.columns().iter().map(|c| c.name().into()).collect();
    let types: Vec<String> = first
        .columns()
        .iter()
        .map(|c| c.type_info().name().to_string())
        .collect();
    rows.iter()
        .map(|row| {
            let values = types
                .iter()
                .enumerate()
                .map(|(i, type_name)| match type_name.as_str() {
                    "INT8" => row.try_get::<Option<i64>, _>(i).map(Value::from),
                    "INT4" => row
                        .try_get::<Option<i32>, _>(i)
                        .map(|v| v.map(i64::from).into()),
                    "INT2" => row
                        .try_get::<Option<i16>, _>(i)
                        .map(|v| v.map(i64::from).into()),
                    "TEXT" | "VARCHAR" | "NAME" => {
                        row.try_get::<Option<String>, _>(i).map(Value::from)
                    }
                    other => Err(unsupported(&columns[i], other)),
                })
                .collect::<Result<Vec<Value>, sqlx::Error>>()?;
            Ok(Row {
                columns: columns.clone(),
                values,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_read_as_none_and_types_are_checked() {
        let row = Row {
            columns: vec!["a".to_string(), "b".to_string(), "c".to_string()].into(),
            values: vec![Value::Int(7), Value::NullText, Value::Text("x".into())],
        };
        assert_eq!(row.try_get::<i64>("a").unwrap(), 7);
        assert_eq!(row.try_get::<Option<i64>>("b").unwrap(), None);
        assert_eq!(
            row.try_get::<Option<String>>("c").unwrap().as_deref(),
            Some("x")
        );
        assert!(
            row.try_get::<String>("a").is_err(),
            "an integer is not text"
        );
        assert!(row.try_get::<String>("b").is_err(), "a null is not a value");
        assert!(row.try_get::<i64>("d").is_err(), "no such column");
    }
}
