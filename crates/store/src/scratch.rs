//! PostgreSQL databases for one run (`ucplus bench --nodes`): [`ScratchDatabase`] makes an
//! empty database under a random name on a server and drops it after, with whatever still
//! uses it; [`table_count`] tells whether a database given instead is empty.
//!
//! The server's URL names how to reach it (`postgres://user@host:5432`, with or without a
//! database to connect to); the scratch database's URL is the same with its own name.

use sqlx::{Connection, Executor, PgConnection, Row};
use ucplus_core::StoreResult;

use crate::rows::backend;

/// An empty database of one run's own; dropped only when asked ([`ScratchDatabase::drop_now`]),
/// so that a caller decides where the blocking work happens.
#[derive(Debug)]
pub struct ScratchDatabase {
    /// `<prefix><12 hex digits>`.
    pub name: String,
    /// The URL of the new database.
    pub url: String,
    server: String,
}

impl ScratchDatabase {
    /// Creates an empty database named `prefix` and random hex digits on the server at
    /// `server` (`prefix`: lower-case letters, digits and `_`, as it goes into SQL as is).
    pub async fn create(server: &str, prefix: &str) -> StoreResult<ScratchDatabase> {
        if prefix.is_empty()
            || !prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(backend(format!("not a database name prefix: {prefix:?}")));
        }
        let mut random = [0u8; 6];
        getrandom::getrandom(&mut random).map_err(|e| backend(e.to_string()))?;
        let name = format!(
            "{prefix}{}",
            random
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let url = database_url(server, &name)
            .ok_or_else(|| backend("not a postgres:// URL (postgres://user@host:port)"))?;
        let mut conn = PgConnection::connect(server).await.map_err(backend)?;
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .map_err(backend)?;
        let _ = conn.close().await;
        Ok(ScratchDatabase {
            name,
            url,
            server: server.to_string(),
        })
    }

    /// Drops the database, ending the connections that still use it.
    pub async fn drop_now(&self) -> StoreResult<()> {
        let mut conn = PgConnection::connect(&self.server).await.map_err(backend)?;
        conn.execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await
            .map_err(backend)?;
        let _ = conn.close().await;
        Ok(())
    }
}

/// The tables in the database at `url`'s current schema (0: empty); an error when it does
/// not answer.
pub async fn table_count(url: &str) -> StoreResult<i64> {
    let mut conn = PgConnection::connect(url).await.map_err(backend)?;
    let count = sqlx::query(
        "SELECT count(*) AS tables FROM information_schema.tables \
         WHERE table_schema = current_schema()",
    )
    .fetch_one(&mut conn)
    .await
    .and_then(|row| row.try_get::<i64, _>("tables"))
    .map_err(backend)?;
    let _ = conn.close().await;
    Ok(count)
}

/// `server` with its database (path) replaced by `name`, its query kept; None when it is not
/// a PostgreSQL URL.
fn database_url(server: &str, name: &str) -> Option<String> {
    let (scheme, rest) = server.split_once("://")?;
    if scheme != "postgres" && scheme != "postgresql" {
        return None;
    }
    let (location, query) = match rest.split_once('?') {
        Some((location, query)) => (location, Some(query)),
        None => (rest, None),
    };
    let authority = location.split('/').next().filter(|a| !a.is_empty())?;
    Some(match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scratch_url_is_the_servers_with_the_new_name() {
        for (server, url) in [
            (
                "postgres://postgres@127.0.0.1:5432",
                "postgres://postgres@127.0.0.1:5432/x",
            ),
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/x",
            ),
            (
                "postgresql://u:p%2Fw@db/main?sslmode=disable",
                "postgresql://u:p%2Fw@db/x?sslmode=disable",
            ),
            (
                "postgres://db?sslmode=require",
                "postgres://db/x?sslmode=require",
            ),
        ] {
            assert_eq!(database_url(server, "x").as_deref(), Some(url), "{server}");
        }
        for bad in ["mysql://db/x", "db:5432", "postgres:///x", ""] {
            assert_eq!(database_url(bad, "x"), None, "{bad}");
        }
    }
}
