//! Databases for one run on a real PostgreSQL: a scratch database is made empty under a name
//! of its own and dropped although a connection still uses it; the table count tells an
//! empty database from one that holds a schema.

mod support {
    pub mod scratch;
}

use sqlx::{Connection, PgConnection, Row};
use support::scratch::{ScratchDb, admin_url};
use ucplus_store::SqlStore;
use ucplus_store::scratch::{ScratchDatabase, table_count};

async fn exists(name: &str) -> bool {
    let mut conn = PgConnection::connect(&admin_url()).await.unwrap();
    let row = sqlx::query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    row.get::<i64, _>("n") == 1
}

#[tokio::test]
async fn a_scratch_database_is_made_empty_and_dropped_while_in_use() {
    let Some(db) = ScratchDb::create().await else {
        return;
    };
    assert_eq!(table_count(&db.url).await.unwrap(), 0);
    let store = SqlStore::connect_postgres(&db.url).await.unwrap();
    assert!(table_count(&db.url).await.unwrap() > 0, "migrated");
    drop(store);

    let scratch = ScratchDatabase::create(&admin_url(), "ucplus_test_scratch_")
        .await
        .unwrap();
    assert!(scratch.name.starts_with("ucplus_test_scratch_"));
    assert!(exists(&scratch.name).await);
    assert_eq!(table_count(&scratch.url).await.unwrap(), 0);
    let in_use = PgConnection::connect(&scratch.url).await.unwrap();
    scratch.drop_now().await.unwrap();
    assert!(
        !exists(&scratch.name).await,
        "dropped with a connection open"
    );
    drop(in_use);

    for prefix in ["", "x; DROP DATABASE postgres; --", "Upper_"] {
        assert!(
            ScratchDatabase::create(&admin_url(), prefix).await.is_err(),
            "{prefix:?}"
        );
    }
}
