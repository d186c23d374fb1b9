//! Logins and failed logins in the audit log.

use serde_json::Value;

use crate::audit::entries;
use crate::helpers::TestServer;

/// Logins and failed logins are in the audit log: a tenant's admins see those of their
/// tenant's users (with the address and the client), the system admin also the attempts on
/// accounts that do not exist; the password tried is never stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_and_failed_logins_are_audited() {
    let server = TestServer::start().await;
    let admin = server.multi_tenant_admin().await;
    let (acme, boss) = server.tenant(&admin, "acme").await;
    let anna = server.user(&boss, "anna", &["desktop"]).await;
    server
        .login(Some("acme"), "anna", "user-password", "desktop")
        .await
        .expect("anna logs in");
    assert!(
        server
            .login(Some("acme"), "anna", "Wrong-Password-Tried", "desktop")
            .await
            .is_err()
    );
    assert!(
        server
            .login(Some("acme"), "nobody", "Another-Guess", "desktop")
            .await
            .is_err()
    );
    let own = entries(&server, &boss, "").await;
    let login = own
        .iter()
        .find(|e| e["action"] == "auth.login" && e["actor_id"] == anna.as_str())
        .unwrap_or_else(|| panic!("anna's login: {own:#?}"));
    assert_eq!(login["tenant_id"], acme.as_str());
    assert_eq!(login["detail"]["client"], "desktop");
    assert!(
        login["source"]
            .as_str()
            .is_some_and(|s| s.contains("127.0.0.1")),
        "{login}"
    );
    let failed = own
        .iter()
        .find(|e| e["action"] == "auth.login_failed")
        .unwrap_or_else(|| panic!("anna's failed login: {own:#?}"));
    assert_eq!(failed["actor_username"], "anna");
    assert_eq!(failed["actor_id"], Value::Null);
    assert_eq!(failed["detail"]["reason"], "invalid_credentials");
    assert!(
        !own.iter().any(|e| e["actor_username"] == "nobody"),
        "an unknown account's attempt is not the tenant's: {own:#?}"
    );
    let all = entries(&server, &admin, "").await;
    assert!(
        all.iter()
            .any(|e| e["action"] == "auth.login_failed" && e["actor_username"] == "nobody"),
        "{all:#?}"
    );
    let text = serde_json::to_string(&all).unwrap();
    assert!(!text.contains("Wrong-Password-Tried") && !text.contains("Another-Guess"));
    server.stop().await;
}
