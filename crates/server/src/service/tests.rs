//! The use cases on a real server (embedded store, live caches, sessions), without HTTP.

use license::file::Issue;
use license::{ItemType, SigningKey};
use ucplus_core::{Role, Tenant, User};

use super::tenants::NewTenant;
use super::users::{NewUser, UserChange};
use super::{Actor, Password};
use crate::auth::Session;
use crate::error::ApiError;
use crate::{Application, Config};

/// A server on a fresh data directory in multi-tenant mode.
async fn multi_tenant(dir: &std::path::Path) -> Application {
    let vendor = SigningKey::generate().expect("a key");
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    config.license.trusted_keys = vec![vendor.public_key().to_string()];
    let app = Application::build(config).await.expect("the server builds");
    let state = app.state();
    let text = Issue {
        id: ucplus_core::ids::new_uuid().to_string(),
        system_id: state.system_id.clone(),
        customer: None,
        issued: state.licensing.today(),
        expires: None,
        items: [(ItemType::MtStarter5, 1)].into(),
    }
    .sign(&vendor);
    state
        .licenses()
        .load(Actor::Server, &text)
        .await
        .expect("loaded");
    app
}

/// Tenant `acme` with its admin `boss` (display name "Olga Boss").
async fn acme(state: &crate::state::AppState) -> (Tenant, User) {
    state
        .tenants()
        .create(
            Actor::Server,
            NewTenant {
                name: "Acme".into(),
                slug: "acme".into(),
                admin_username: "boss".into(),
                admin_password: Password::Plain("boss-password".into()),
                admin_display_name: Some("Olga Boss".into()),
            },
        )
        .await
        .expect("created")
}

fn new_user(username: &str, licenses: &[&str]) -> NewUser {
    NewUser {
        username: username.into(),
        password: Password::Plain(format!("{username}-password")),
        display_name: username.to_uppercase(),
        role: None,
        site_id: None,
        licenses: Some(licenses.iter().map(|l| l.to_string()).collect()),
        email: None,
    }
}

/// A signed-in session of `user` with `client`, registered with the server.
fn sign_in(
    state: &crate::state::AppState,
    user: &User,
    client: Option<license::ClientType>,
    token: u8,
) -> std::sync::Arc<Session> {
    let session = std::sync::Arc::new(Session {
        user_id: user.id,
        username: user.username.clone(),
        tenant_id: user.tenant_id,
        role: user.role,
        client,
        created_at: ucplus_core::Timestamp(0),
        expires_at: ucplus_core::Timestamp(i64::MAX),
        idle_timeout_ms: i64::MAX,
        last_seen_ms: std::sync::atomic::AtomicI64::new(0),
        persisted_seen_ms: std::sync::atomic::AtomicI64::new(0),
        open_sockets: std::sync::atomic::AtomicU32::new(0),
        visiting: std::sync::Mutex::new(None),
        token_hash: [token; 32],
        ended: tokio::sync::watch::channel(false).0,
    });
    state.sessions.insert(session.token_hash, session.clone());
    session
}

#[tokio::test]
async fn a_tenants_users_enter_and_leave_the_live_caches_with_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = multi_tenant(dir.path()).await;
    let state = app.state();
    let (tenant, admin) = acme(state).await;
    assert_eq!(state.cti.user_name(admin.id).as_deref(), Some("Olga Boss"));
    let member = state
        .users(tenant.id)
        .create(
            Actor::Server,
            NewUser {
                username: "anna".into(),
                password: Password::Plain("anna-password".into()),
                display_name: "Anna".into(),
                role: None,
                site_id: None,
                licenses: None,
                email: None,
            },
        )
        .await
        .expect("a member");
    assert_eq!(state.cti.user_name(member.id).as_deref(), Some("Anna"));
    state
        .cti
        .set_presence(
            tenant.id,
            member.id,
            ucplus_core::cti::PresenceState::Busy,
            None,
        )
        .await
        .expect("presence set");

    state
        .tenants()
        .delete(Actor::Server, tenant.id)
        .await
        .expect("deleted");
    for user in [admin.id, member.id] {
        assert_eq!(state.cti.user_name(user), None, "{user} still cached");
    }
    let presence = state.cti.presence_of(tenant.id, member.id, String::new());
    assert_eq!(
        presence.state,
        ucplus_core::cti::PresenceState::Available,
        "the deleted user's chosen presence is forgotten"
    );
    assert!(matches!(
        state.tenants().delete(Actor::Server, tenant.id).await,
        Err(ApiError {
            code: "not_found",
            ..
        })
    ));
}

/// A session carries the role and license it got at login: a change ends exactly the
/// sessions that no longer match, and a new password ends all of the user's sessions but
/// the actor's own. Admins cannot take away their own role or delete themselves.
#[tokio::test]
async fn user_changes_end_the_sessions_they_invalidate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = multi_tenant(dir.path()).await;
    let state = app.state();
    let (tenant, boss) = acme(state).await;
    let users = state.users(tenant.id);
    let anna = users
        .create(Actor::Server, new_user("anna", &["desktop", "mobile"]))
        .await
        .expect("anna");
    let at_desk = sign_in(state, &anna, Some(license::ClientType::Desktop), 1);
    let on_phone = sign_in(state, &anna, Some(license::ClientType::Mobile), 2);
    let admin = sign_in(state, &boss, None, 3);
    let actor = Actor::Session {
        session: &admin,
        address: "127.0.0.1",
    };
    let change = UserChange {
        licenses: Some(vec!["desktop".into()]),
        ..UserChange::default()
    };
    users.update(actor, anna.id, change).await.expect("updated");
    assert!(
        *on_phone.ended.borrow(),
        "the mobile session lost its license"
    );
    assert!(!*at_desk.ended.borrow());
    assert!(state.sessions.get(&on_phone.token_hash).is_none());
    let change = UserChange {
        password: Some("a-new-password".into()),
        ..UserChange::default()
    };
    users.update(actor, anna.id, change).await.expect("updated");
    assert!(*at_desk.ended.borrow(), "a new password ends every session");
    assert!(!*admin.ended.borrow(), "but not the admin's own");

    let demote_self = UserChange {
        role: Some("user".into()),
        ..UserChange::default()
    };
    let refused = users.update(actor, boss.id, demote_self).await;
    assert!(
        matches!(&refused, Err(ApiError { code: "validation_failed", fields, .. }) if fields.iter().any(|f| f.field == "role")),
        "{refused:?}"
    );
    assert!(matches!(
        users.delete(actor, boss.id).await,
        Err(ApiError {
            code: "conflict",
            ..
        })
    ));
    assert_eq!(
        users
            .create(Actor::Server, new_user("anna", &["desktop"]))
            .await
            .err()
            .map(|e| e.code),
        Some("conflict"),
        "usernames are unique within the tenant"
    );
    assert_eq!(
        state
            .store
            .tenant(tenant.id)
            .users()
            .get(boss.id)
            .await
            .expect("boss")
            .role,
        Role::Admin
    );
}
