//! The installation's database as an operator meets it: one server per SQLite data
//! directory, and `ucplus store copy` moving an installation onto PostgreSQL, where it
//! serves what it served before.

use std::process::Command;

use crate::BIN;
use crate::running::{Running, admin_token, assert_serves_user};
use crate::scratch::ScratchDb;

fn ucplus(args: &[&str], environment: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("UCPLUS_LICENSE_PUBLIC_KEYS")
        .env_remove("UCPLUS_DATABASE_URL");
    for (name, value) in environment {
        command.env(name, value);
    }
    let output = command.output().expect("ucplus runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn serve(data: &str, environment: &[(&str, &str)]) -> Running {
    Running::start(
        &["serve", "--listen", "127.0.0.1:0", "--data", data],
        environment,
    )
}

#[test]
fn a_second_server_on_one_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let mut first = serve(data, &[]);
    first.after("listening on http://");

    let (ok, text) = ucplus(&["serve", "--listen", "127.0.0.1:0", "--data", data], &[]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("another ucplus server is running") && text.contains("PostgreSQL"),
        "{text}"
    );
    let backup = dir.path().join("b.db");
    std::fs::write(&backup, b"x").unwrap();
    let (ok, text) = ucplus(
        &[
            "restore",
            "--data",
            data,
            "--from",
            backup.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        !ok && text.contains("another ucplus server is running"),
        "{text}"
    );
    let (ok, text) = ucplus(
        &[
            "store",
            "copy",
            "--from",
            &format!("{data}/ucplus.db"),
            "--to",
            "postgres://127.0.0.1/nothing",
        ],
        &[],
    );
    assert!(
        !ok && text.contains("another ucplus server is running"),
        "{text}"
    );

    // Stopped, it leaves the directory to the next one.
    assert!(first.terminate().success());
    let mut second = serve(data, &[]);
    second.after("listening on http://");
    assert!(second.terminate().success());
}

#[test]
fn an_installation_moves_to_postgres_and_serves_from_there() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = runtime.block_on(ScratchDb::create()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let password = "Move-Admin-Pw-1";
    let mut server = serve(data, &[("UCPLUS_ADMIN_PASSWORD", password)]);
    let address = server.after("listening on http://");
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let token = admin_token(&http, &address, password).await;
        let response = http
            .post(format!("http://{address}/api/v1/users"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"username": "anna", "password": "anna-password", "display_name": "Anna"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    });
    assert!(server.terminate().success());
    let (_, system_id) = ucplus(&["system-id", "--data", data], &[]);

    let from = format!("{data}/ucplus.db");
    let (ok, text) = ucplus(&["store", "copy", "--from", &from, "--to", &db.url], &[]);
    assert!(ok, "{text}");
    assert!(
        text.contains("the counts match") && text.lines().any(|l| l.starts_with("users")),
        "{text}"
    );
    let (ok, text) = ucplus(&["store", "copy", "--from", &from, "--to", &db.url], &[]);
    assert!(!ok && text.contains("not empty"), "a second copy: {text}");

    // A node on PostgreSQL with a data directory of its own: the same installation.
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let environment = [
        ("UCPLUS_DATABASE_URL", db.url.as_str()),
        ("UCPLUS_SECRETS_KEY", key),
    ];
    let node_data = dir.path().join("node");
    let node_data = node_data.to_str().unwrap();
    let (ok, moved_id) = ucplus(&["system-id", "--data", node_data], &environment);
    assert!(ok, "{moved_id}");
    assert_eq!(moved_id, system_id, "licenses stay valid");
    let mut node = serve(node_data, &environment);
    let address = node.after("listening on http://");
    runtime.block_on(assert_serves_user(&address, password, "anna"));
    assert!(node.terminate().success());
    drop(db);
}

/// `store copy` from an SQLite file that is not a ucplus database refuses, and leaves the
/// file exactly as it was (nothing migrated into it).
#[test]
fn a_foreign_sqlite_file_is_not_copied_nor_changed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("other.db");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use sqlx::{Connection, Executor};
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        conn.execute("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine')")
            .await
            .unwrap();
        conn.close().await.unwrap();
    });
    let before = std::fs::read(&file).unwrap();
    let (ok, text) = ucplus(
        &[
            "store",
            "copy",
            "--from",
            file.to_str().unwrap(),
            "--to",
            "postgres://127.0.0.1/unused",
        ],
        &[],
    );
    assert!(!ok && text.contains("not a ucplus database"), "{text}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the file is unchanged"
    );
}
