//! `ucplus backup` while the server runs, and `ucplus restore` into another data
//! directory: every row comes back, and the restored installation serves it.

use std::path::Path;
use std::process::Command;

use sqlx::Row;

use crate::BIN;
use crate::running::{Running, admin_token, assert_serves_user};

/// Rows per table of a database file.
async fn row_counts(file: &Path) -> Vec<(String, i64)> {
    let url = format!("sqlite://{}?mode=ro", file.display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("opened");
    let tables: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .expect("tables")
    .iter()
    .map(|row| row.get("name"))
    .collect();
    let mut counts = Vec::new();
    for table in tables {
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{table}\""))
            .fetch_one(&pool)
            .await
            .expect("count");
        counts.push((table, count));
    }
    pool.close().await;
    counts
}

fn ucplus(args: &[&str]) -> (bool, String) {
    let output = Command::new(BIN).args(args).output().expect("ucplus runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn a_backup_taken_while_serving_restores_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let (data, copy, backup) = (
        dir.path().join("data"),
        dir.path().join("restored"),
        dir.path().join("ucplus.backup"),
    );
    let password = "Backup-Admin-Pw-1";
    let mut server = Running::start(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            data.to_str().unwrap(),
        ],
        &[("UCPLUS_ADMIN_PASSWORD", password)],
    );
    let address = server.after("listening on http://");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Something of the tenant's to bring back: a user and a site.
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let token = admin_token(&http, &address, password).await;
        for (path, body) in [
            ("/api/v1/sites", serde_json::json!({"name": "Berlin"})),
            ("/api/v1/users", serde_json::json!({"username": "anna", "password": "anna-password", "display_name": "Anna"})),
        ] {
            let response = http
                .post(format!("http://{address}{path}"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201, "{path}");
        }
    });
    // Taken while the server runs.
    let (ok, text) = ucplus(&[
        "backup",
        "--data",
        data.to_str().unwrap(),
        "--out",
        backup.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    assert!(
        text.contains("secrets key"),
        "it says the key is not in it: {text}"
    );
    // Never over an existing file.
    let (ok, _) = ucplus(&[
        "backup",
        "--data",
        data.to_str().unwrap(),
        "--out",
        backup.to_str().unwrap(),
    ]);
    assert!(!ok, "an existing backup file is not overwritten");
    assert!(server.terminate().success());

    let (ok, text) = ucplus(&[
        "restore",
        "--data",
        copy.to_str().unwrap(),
        "--from",
        backup.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let original = runtime.block_on(row_counts(&data.join("ucplus.db")));
    let restored = runtime.block_on(row_counts(&copy.join("ucplus.db")));
    assert_eq!(original, restored, "every table, every row");
    assert!(
        original
            .iter()
            .any(|(table, rows)| table == "users" && *rows >= 2)
    );
    let system_id = |dir: &Path| ucplus(&["system-id", "--data", dir.to_str().unwrap()]).1;
    assert_eq!(
        system_id(&data),
        system_id(&copy),
        "the same installation (licenses stay valid)"
    );

    // The restored installation serves what was there: the admin's password is the one
    // stored, and Anna is a user.
    let mut restored_server = Running::start(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            copy.to_str().unwrap(),
        ],
        &[],
    );
    let address = restored_server.after("listening on http://");
    runtime.block_on(assert_serves_user(&address, password, "anna"));
    assert!(restored_server.terminate().success());

    // Something that is not a ucplus backup replaces nothing.
    let served = runtime.block_on(row_counts(&copy.join("ucplus.db")));
    let junk = dir.path().join("junk");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let (ok, text) = ucplus(&[
        "restore",
        "--data",
        copy.to_str().unwrap(),
        "--from",
        junk.to_str().unwrap(),
    ]);
    assert!(!ok, "{text}");
    assert_eq!(
        runtime.block_on(row_counts(&copy.join("ucplus.db"))),
        served
    );
}
