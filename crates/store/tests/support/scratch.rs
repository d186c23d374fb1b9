//! A PostgreSQL database of a test's own: created empty under a random name on the server
//! at `UCPLUS_TEST_POSTGRES_URL` (default: the local server, trust auth) and dropped when
//! the test ends, however it ends. Shared by the store's and the server's tests.

use sqlx::{Connection, Executor, PgConnection};

/// The server every test database is created on.
pub fn admin_url() -> String {
    std::env::var("UCPLUS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

pub struct ScratchDb {
    pub url: String,
    pub name: String,
}

impl ScratchDb {
    /// A new empty database, or `None` when no PostgreSQL answers and this is not CI (where
    /// a PostgreSQL test may not skip: it fails instead).
    pub async fn create() -> Option<ScratchDb> {
        let admin = admin_url();
        let mut conn = match PgConnection::connect(&admin).await {
            Ok(conn) => conn,
            Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
                eprintln!("skipped: no PostgreSQL at {admin}: {e}");
                return None;
            }
            Err(e) => panic!("PostgreSQL at {admin} is required under CI=true: {e}"),
        };
        let mut bytes = [0u8; 6];
        getrandom::getrandom(&mut bytes).expect("random");
        let name = format!(
            "ucplus_test_{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("created the test database");
        let url = match admin.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("UCPLUS_TEST_POSTGRES_URL names no database: {admin}"),
        };
        Some(ScratchDb { url, name })
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside any runtime's async context: a thread of its own with its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&admin_url()).await?;
                conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await
                    .map(drop)
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("the test database {} was not dropped", self.name);
        }
    }
}
