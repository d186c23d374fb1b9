//! CSV import of shared contacts through the API (`POST /api/v1/contacts/import`): a
//! byte-order mark, a broken row among good ones, bytes that are not UTF-8, the row limit,
//! and tenants that never see or touch each other's imports.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestServer, error_code};

/// Creates tenant `slug` (admin `boss`, user `anna`); returns (boss's token, anna's token).
async fn tenant(server: &TestServer, admin: &str, slug: &str) -> (String, String) {
    let (_, boss) = server.tenant(admin, slug).await;
    server.user(&boss, "anna", &["desktop"]).await;
    let anna = server
        .login(Some(slug), "anna", "user-password", "desktop")
        .await
        .expect("anna logs in");
    (boss, anna)
}

async fn licensed(server: &TestServer) -> String {
    let admin = server.admin().await;
    let (status, body) = server
        .load_license(
            &admin,
            &server.license(&[("mt-starter-5", 1), ("desktop", 10)]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    admin
}

/// The tenant's shared contacts (first page), sorted by id.
async fn contacts(server: &TestServer, token: &str) -> Vec<Value> {
    let (status, body) = server.get(token, "/api/v1/contacts").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut list = body
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {body}"))
        .clone();
    list.sort_by_key(|c| c["id"].as_str().unwrap_or_default().to_string());
    list
}

fn names(list: &[Value]) -> Vec<&str> {
    let mut names: Vec<&str> = list.iter().filter_map(|c| c["name"].as_str()).collect();
    names.sort();
    names
}

/// The total in `X-Total-Count` of the tenant's shared contacts.
async fn total(server: &TestServer, token: &str) -> u64 {
    let response = server
        .http
        .get(format!("{}/api/v1/contacts?limit=1", server.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), StatusCode::OK);
    response.headers()["x-total-count"]
        .to_str()
        .expect("text")
        .parse()
        .expect("a number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_byte_order_mark_before_the_header_is_skipped() {
    let server = TestServer::start().await;
    let admin = licensed(&server).await;
    let (boss, _) = tenant(&server, &admin, "acme").await;

    // Spreadsheet programs write a UTF-8 BOM first: the first column is still `name`.
    let (status, report) = server
        .import_csv(
            &boss,
            "\u{feff}name,company,phone\nAnna Schmidt,ACME,+49 30 1234\n",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report, json!({"imported": 1, "errors": []}));
    let list = contacts(&server, &boss).await;
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0]["name"], "Anna Schmidt");
    assert_eq!(list[0]["company"], "ACME");
    assert_eq!(
        list[0]["numbers"],
        json!([{"label": "phone", "number": "+49301234"}])
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unclosed_quote_fails_its_row_only() {
    let server = TestServer::start().await;
    let admin = licensed(&server).await;
    let (boss, _) = tenant(&server, &admin, "acme").await;

    let csv = "name,phone\n\
               Anna,+49 1\n\
               \"Bert, unclosed,+49 2\n\
               \"Carl, Jr.\",+49 3\n";
    let (status, report) = server.import_csv(&boss, csv).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    // The row is named by its line in the file (the header is line 1).
    assert_eq!(
        report,
        json!({"imported": 2, "errors": [{"row": 3, "message": "a quoted field is not closed"}]})
    );
    let list = contacts(&server, &boss).await;
    assert_eq!(names(&list), ["Anna", "Carl, Jr."]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_are_not_utf8_are_refused_with_a_clear_error() {
    let server = TestServer::start().await;
    let admin = licensed(&server).await;
    let (boss, _) = tenant(&server, &admin, "acme").await;

    // A Latin-1 file ("Müller" with ü as one byte 0xFC) on line 3.
    let csv = b"name,phone\nAnna,+49 1\nM\xfcller,+49 2\n".to_vec();
    let (status, body) = server.import_csv(&boss, csv).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_encoding"),
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("UTF-8") && message.contains("line 3"),
        "{message}"
    );
    // Nothing of the file is imported, and the server goes on (no panic, no 500).
    assert!(contacts(&server, &boss).await.is_empty());
    let (status, report) = server.import_csv(&boss, "name\nAnna\n").await;
    assert_eq!((status, &report["imported"]), (StatusCode::OK, &json!(1)));

    // A license file is text too, with the same answer.
    let (status, body) = server.load_license(&admin, "-----BEGIN \u{fffd}").await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "valid UTF-8: {body}"
    );
    let response = server
        .http
        .post(format!("{}/api/v1/licenses", server.base))
        .bearer_auth(&admin)
        .header("content-type", "text/plain")
        .body(b"-----BEGIN \xff\xfe".to_vec())
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("a JSON error");
    assert_eq!(error_code(&body), "invalid_encoding", "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_10000_rows_are_imported_at_a_time() {
    let server = TestServer::start().await;
    let admin = licensed(&server).await;
    let (boss, anna) = tenant(&server, &admin, "acme").await;

    let mut csv = String::from("name,phone\n");
    for i in 1..=10_001 {
        csv.push_str(&format!("Contact {i},+49 30 {i}\n"));
    }
    let (status, report) = server.import_csv(&boss, csv).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    // Row 10,001 is line 10,002 (after the header), reported; the 10,000 before it are in.
    assert_eq!(
        report,
        json!({"imported": 10_000, "errors": [{"row": 10_002, "message": "only 10000 rows are imported at a time"}]})
    );
    assert_eq!(total(&server, &boss).await, 10_000);
    let (status, found) = server
        .get(&anna, "/api/v1/directory?q=Contact%2010000")
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    let (_, found) = server
        .get(&anna, "/api/v1/directory?q=Contact%2010001")
        .await;
    assert_eq!(found, json!([]), "the reported row is not imported");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_stay_in_their_tenant() {
    let server = TestServer::start().await;
    let admin = licensed(&server).await;
    let (a_boss, a_user) = tenant(&server, &admin, "tenant-a").await;
    let (b_boss, b_user) = tenant(&server, &admin, "tenant-b").await;

    let (status, report) = server
        .import_csv(&a_boss, "name,phone\nA Supplier,+49 1\nSame Name,+49 2\n")
        .await;
    assert_eq!(
        (status, &report["imported"]),
        (StatusCode::OK, &json!(2)),
        "{report}"
    );
    let a_before = contacts(&server, &a_boss).await;
    assert_eq!(names(&a_before), ["A Supplier", "Same Name"]);

    // B's admin and users see none of A's contacts.
    assert!(contacts(&server, &b_boss).await.is_empty());
    assert!(contacts(&server, &b_user).await.is_empty());
    for q in ["Supplier", "Same%20Name", "%2B491"] {
        let (status, found) = server
            .get(&b_user, &format!("/api/v1/directory?q={q}"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            found
                .as_array()
                .is_some_and(|f| f.iter().all(|e| e["kind"] == "user")),
            "{q}: {found}"
        );
    }

    // B's import, with a name A also has, lands in B only and leaves A's contacts as they were.
    let (status, report) = server
        .import_csv(&b_boss, "name,phone\nB Vendor,+1 555\nSame Name,+1 556\n")
        .await;
    assert_eq!(
        (status, &report["imported"]),
        (StatusCode::OK, &json!(2)),
        "{report}"
    );
    assert_eq!(
        contacts(&server, &a_boss).await,
        a_before,
        "A's contacts after B's import"
    );
    assert_eq!(
        names(&contacts(&server, &b_boss).await),
        ["B Vendor", "Same Name"]
    );
    // A's users find A's contact of that name, not B's.
    let (_, found) = server.get(&a_user, "/api/v1/directory?q=Same%20Name").await;
    let found = found.as_array().expect("a list").clone();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0]["numbers"],
        json!([{"label": "phone", "number": "+492"}])
    );
    let (_, found) = server.get(&a_user, "/api/v1/directory?q=Vendor").await;
    assert_eq!(found, json!([]));

    // Importing is the tenant admin's: a user is refused.
    let (status, body) = server.import_csv(&a_user, "name\nMallory\n").await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    assert_eq!(contacts(&server, &a_boss).await, a_before);
    server.stop().await;
}
