//! The Store contract: one suite every back-end must pass, one test per behaviour, each on
//! a fresh store. A back-end joins with one `contract_suite!` line naming how to open it.
//! One file, though long: the macro lists every test below, so the suite, its list and its
//! fixtures stay side by side and a back-end adds one line.

mod support {
    pub mod scratch;
}

use support::scratch::ScratchDb;
use ucplus_core::store::{SipRegistration, SipTransport, StoredSession};
use ucplus_core::*;
use ucplus_store::SqlStore;

/// A fresh store and what keeps it alive (its temporary directory or database).
struct Fresh {
    store: Box<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    _db: Option<ScratchDb>,
}

async fn fresh_sqlite() -> Option<Fresh> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open_sqlite(&dir.path().join("ucplus.db"))
        .await
        .unwrap();
    Some(Fresh {
        store: Box::new(store),
        _dir: Some(dir),
        _db: None,
    })
}

/// A store on a PostgreSQL database of the test's own (none, and the test is skipped with
/// a message, only outside CI when no PostgreSQL answers).
async fn fresh_postgres() -> Option<Fresh> {
    let db = ScratchDb::create().await?;
    let store = SqlStore::connect_postgres(&db.url).await.unwrap();
    Some(Fresh {
        store: Box::new(store),
        _dir: None,
        _db: Some(db),
    })
}

/// One `#[tokio::test]` per contract test below, each on a fresh store from `$open`.
macro_rules! contract_suite {
    ($backend:ident, $open:ident) => {
        contract_suite!(@tests $backend, $open;
            ping_and_settings,
            tenants_and_first_admin,
            users_are_scoped_to_their_tenant,
            system_admins_live_outside_tenants,
            sites_and_their_users,
            devices_and_device_owner,
            device_numbers_in_use,
            pbx_devices_span_tenants,
            tenant_limits,
            audit_newest_first_per_tenant,
            usage_keeps_hourly_and_daily_peaks,
            licenses,
            presence_only_for_own_users,
            contacts_shared_and_personal,
            contact_lookup_by_number,
            contact_numbers,
            contact_update_scoped_to_owner,
            call_log_paging_and_pruning,
            tenant_deletion_cascades,
            tenant_mismatch_refused,
            sessions_by_token_hash_and_node,
            registrations_by_device_node_and_pbx,
        );
    };
    (@tests $backend:ident, $open:ident; $($test:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $test() {
                    let Some(fresh) = super::$open().await else { return };
                    super::$test(fresh.store.as_ref()).await;
                }
            )*
        }
    };
}

contract_suite!(sqlite, fresh_sqlite);
contract_suite!(postgres, fresh_postgres);

#[tokio::test]
async fn sqlite_reopens_without_migrating_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open_sqlite(&dir.path().join("ucplus.db"))
        .await
        .unwrap();
    ping_and_settings(&store).await;
    store.close().await;
    // Reopening runs no migration twice and keeps the data.
    let reopened: &dyn Store = &SqlStore::open_sqlite(&dir.path().join("ucplus.db"))
        .await
        .unwrap();
    assert_eq!(
        reopened.setting("system_id").await.unwrap().as_deref(),
        Some("b")
    );
}

/// `ucplus store copy`: an installation on SQLite, moved to PostgreSQL, reads back the same;
/// every table of the schema is copied; a target holding data is refused.
#[tokio::test]
async fn an_installation_copies_from_sqlite_to_postgres() {
    let Some(scratch) = ScratchDb::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let source = SqlStore::open_sqlite(&dir.path().join("ucplus.db"))
        .await
        .unwrap();
    let from: &dyn Store = &source;
    from.set_setting("system_id", "sys-1").await.unwrap();
    from.insert_license(&StoredLicense {
        id: "L1".into(),
        text: "---".into(),
        loaded_at: Timestamp(9),
    })
    .await
    .unwrap();
    let (a, b) = two_tenants(from).await;
    let anna = add_user(from, a.id, "anna").await;
    let (pbx, d200, _) = shared_pbx(from, a.id, b.id).await;
    from.tenant(a.id).sites().insert(&site(a.id)).await.unwrap();
    from.insert_contacts(a.id, &[contact(a.id, None, "Mum", "+4930111")])
        .await
        .unwrap();
    from.tenant(a.id)
        .call_log()
        .insert(&[call(a.id, anna.id, &d200, 1), call(a.id, anna.id, &d200, 2)])
        .await
        .unwrap();
    from.insert_audit(&audit_entry(0, None, anna.id))
        .await
        .unwrap();

    let target = SqlStore::connect_postgres(&scratch.url).await.unwrap();
    let copied = source.copy_into(&target).await.unwrap();
    let mut names: Vec<String> = copied.iter().map(|t| t.table.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        source.schema_tables().await.unwrap(),
        "every table of the schema"
    );
    assert_eq!(names, target.schema_tables().await.unwrap());
    let rows = |table: &str| copied.iter().find(|t| t.table == table).unwrap().rows;
    assert_eq!(
        (rows("tenants"), rows("devices"), rows("call_log")),
        (2, 2, 2)
    );

    let to: &dyn Store = &target;
    assert_eq!(
        to.setting("system_id").await.unwrap().as_deref(),
        Some("sys-1")
    );
    assert_eq!(to.tenants().await.unwrap(), from.tenants().await.unwrap());
    assert_eq!(
        to.tenant(a.id).users().list().await.unwrap(),
        vec![anna.clone()]
    );
    assert_eq!(
        to.pbx_devices(pbx.id).await.unwrap(),
        from.pbx_devices(pbx.id).await.unwrap()
    );
    assert_eq!(
        to.tenant(a.id)
            .call_log()
            .of_user(anna.id, page(10, 0))
            .await
            .unwrap(),
        from.tenant(a.id)
            .call_log()
            .of_user(anna.id, page(10, 0))
            .await
            .unwrap()
    );
    assert_eq!(
        to.contact_name(a.id, None, "+4930111")
            .await
            .unwrap()
            .as_deref(),
        Some("Mum")
    );
    assert_eq!(
        to.audit(None, page(10, 0)).await.unwrap(),
        from.audit(None, page(10, 0)).await.unwrap()
    );

    let again = source.copy_into(&target).await;
    assert!(
        matches!(&again, Err(StoreError::Conflict(why)) if why.contains("not empty")),
        "{again:?}"
    );
}

// --- fixtures

fn tenant(slug: &str) -> Tenant {
    Tenant {
        id: TenantId::new(),
        name: format!("Tenant {slug}"),
        slug: slug.into(),
        created_at: Timestamp(1_000),
    }
}

fn user(tenant: Option<TenantId>, name: &str, role: Role) -> User {
    User {
        id: UserId::new(),
        tenant_id: tenant,
        username: name.into(),
        display_name: name.to_uppercase(),
        role,
        site_id: None,
        licenses: vec!["desktop".into(), "mobile".into()],
        email: None,
        created_at: Timestamp(2_000),
        password_hash: "$argon2id$fake".into(),
    }
}

fn pbx(tenant: Option<TenantId>) -> Pbx {
    Pbx {
        id: PbxId::new(),
        name: "pbx".into(),
        kind: PbxKind::Sim,
        tenant_id: tenant,
        host: None,
        port: None,
        settings: serde_json::json!({"devices": "200-299"}),
        created_at: Timestamp(3_000),
    }
}

fn device(tenant: TenantId, pbx: PbxId, number: &str) -> Device {
    Device {
        id: DeviceRecordId::new(),
        tenant_id: tenant,
        pbx_id: pbx,
        device_id: number.into(),
        extension: None,
        sip_username: None,
        sip_ha1: None,
        name: format!("Phone {number}"),
        user_id: None,
        created_at: Timestamp(4_000),
    }
}

fn site(tenant: TenantId) -> Site {
    Site {
        id: SiteId::new(),
        tenant_id: tenant,
        name: "HQ".into(),
        address: Some("Main St 1".into()),
        created_at: Timestamp(5),
    }
}

fn contact(tenant: TenantId, owner: Option<UserId>, name: &str, number: &str) -> Contact {
    Contact {
        id: ucplus_core::ids::new_uuid().to_string(),
        tenant_id: tenant,
        owner_id: owner,
        name: name.into(),
        company: None,
        email: None,
        numbers: vec![ContactNumber {
            label: Some("work".into()),
            number: number.into(),
        }],
        created_at: Timestamp(60),
    }
}

fn call(tenant: TenantId, user: UserId, device: &Device, i: i64) -> CallLogEntry {
    CallLogEntry {
        id: format!("call{i}"),
        tenant_id: tenant,
        user_id: user,
        device_id: device.id,
        pbx_id: device.pbx_id,
        direction: LogDirection::In,
        outgoing: false,
        missed: i == 2,
        answered: i != 2,
        other_number: Some("+4930111".into()),
        other_name: Some("Mum".into()),
        answered_by: None,
        started_at: Timestamp(1_000 * i),
        answered_at: (i != 2).then_some(Timestamp(1_000 * i + 5)),
        ended_at: Timestamp(1_000 * i + 50),
        ring_ms: 5,
        talk_ms: 45,
        transferred: vec!["300".into()],
        cause: None,
    }
}

fn audit_entry(i: usize, tenant: Option<TenantId>, actor: UserId) -> AuditEntry {
    AuditEntry {
        id: format!("e{i}"),
        at: Timestamp(10 + i64::try_from(i).unwrap()),
        actor_id: Some(actor),
        actor_username: "admin".into(),
        tenant_id: tenant,
        action: "test.action".into(),
        target: None,
        detail: serde_json::json!({"i": i}),
        source: Some("127.0.0.1".into()),
    }
}

fn page(limit: u32, offset: u32) -> Page {
    Page { limit, offset }
}

/// Tenants `acme` and `globex`, both without users.
async fn two_tenants(store: &dyn Store) -> (Tenant, Tenant) {
    let a = tenant("acme");
    let b = tenant("globex");
    store.insert_tenant(&a, None).await.unwrap();
    store.insert_tenant(&b, None).await.unwrap();
    (a, b)
}

/// A new user `name` of `tenant`.
async fn add_user(store: &dyn Store, tenant: TenantId, name: &str) -> User {
    let user = user(Some(tenant), name, Role::User);
    store.tenant(tenant).users().insert(&user).await.unwrap();
    user
}

/// A shared PBX with device 200 of `a` and device 201 of `b`.
async fn shared_pbx(store: &dyn Store, a: TenantId, b: TenantId) -> (Pbx, Device, Device) {
    let shared = pbx(None);
    store.insert_pbx(&shared).await.unwrap();
    let d200 = device(a, shared.id, "200");
    let d201 = device(b, shared.id, "201");
    store
        .tenant(a)
        .devices()
        .insert(std::slice::from_ref(&d200))
        .await
        .unwrap();
    store
        .tenant(b)
        .devices()
        .insert(std::slice::from_ref(&d201))
        .await
        .unwrap();
    (shared, d200, d201)
}

// --- the contract

async fn ping_and_settings(store: &dyn Store) {
    store.ping().await.unwrap();
    assert_eq!(store.setting("system_id").await.unwrap(), None);
    store.set_setting("system_id", "a").await.unwrap();
    store.set_setting("system_id", "b").await.unwrap();
    assert_eq!(
        store.setting("system_id").await.unwrap().as_deref(),
        Some("b")
    );
    assert_eq!(store.init_setting("first", "x").await.unwrap(), "x");
    assert_eq!(
        store.init_setting("first", "y").await.unwrap(),
        "x",
        "an existing value stays"
    );
}

async fn tenants_and_first_admin(store: &dyn Store) {
    let a = tenant("acme");
    let b = tenant("globex");
    let admin = user(Some(a.id), "boss", Role::Admin);
    store.insert_tenant(&a, Some(&admin)).await.unwrap();
    store.insert_tenant(&b, None).await.unwrap();
    assert!(matches!(
        store.insert_tenant(&tenant("acme"), None).await,
        Err(StoreError::Conflict(field)) if field == "slug"
    ));
    assert_eq!(store.tenant_by_slug("acme").await.unwrap(), a);
    assert_eq!(store.tenant_by_id(b.id).await.unwrap(), b);
    assert_eq!(store.tenants().await.unwrap().len(), 2);
    assert_eq!(
        store.tenant(a.id).users().by_name("boss").await.unwrap().id,
        admin.id
    );
}

async fn users_are_scoped_to_their_tenant(store: &dyn Store) {
    let (a, b) = two_tenants(store).await;
    let anna = add_user(store, a.id, "anna").await;
    // another tenant's id is like an unknown id
    let in_b = store.tenant(b.id).users();
    assert!(matches!(in_b.get(anna.id).await, Err(StoreError::NotFound)));
    assert!(matches!(
        in_b.by_name("anna").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        in_b.delete(anna.id).await,
        Err(StoreError::NotFound)
    ));
    let mut renamed = anna.clone();
    renamed.display_name = "Anna B.".into();
    assert!(matches!(
        store.update_user(b.id, &renamed).await,
        Err(StoreError::NotFound)
    ));
    let in_a = store.tenant(a.id).users();
    in_a.update(&renamed).await.unwrap();
    let loaded = in_a.get(anna.id).await.unwrap();
    assert_eq!(loaded.display_name, "Anna B.");
    assert_eq!(loaded.licenses, ["desktop", "mobile"]);
    assert_eq!(loaded.tenant_id, Some(a.id));
    // the same username may exist in another tenant, not twice in one
    add_user(store, b.id, "anna").await;
    assert!(matches!(
        in_a.insert(&user(Some(a.id), "anna", Role::User)).await,
        Err(StoreError::Conflict(_))
    ));
    add_user(store, a.id, "bert").await;
    assert_eq!(in_a.list().await.unwrap().len(), 2);
    assert_eq!(in_b.list().await.unwrap().len(), 1);
    in_a.delete(anna.id).await.unwrap();
    assert!(matches!(in_a.get(anna.id).await, Err(StoreError::NotFound)));
}

async fn system_admins_live_outside_tenants(store: &dyn Store) {
    let (a, _) = two_tenants(store).await;
    add_user(store, a.id, "anna").await;
    let root = user(None, "admin", Role::SystemAdmin);
    store.insert_system_admin(&root).await.unwrap();
    assert!(matches!(
        store
            .insert_system_admin(&user(None, "admin", Role::SystemAdmin))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.system_admin_by_name("admin").await.unwrap().id,
        root.id
    );
    assert_eq!(store.system_admin(root.id).await.unwrap().username, "admin");
    assert!(matches!(
        store.system_admin_by_name("anna").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.system_admin_count().await.unwrap(), 1);
}

async fn sites_and_their_users(store: &dyn Store) {
    let (a, b) = two_tenants(store).await;
    let anna = add_user(store, a.id, "anna").await;
    let hq = site(a.id);
    let sites = store.tenant(a.id).sites();
    sites.insert(&hq).await.unwrap();
    assert!(matches!(
        store.tenant(b.id).sites().get(hq.id).await,
        Err(StoreError::NotFound)
    ));
    let moved = Site {
        name: "Head office".into(),
        ..hq.clone()
    };
    assert!(matches!(
        store.update_site(b.id, &moved).await,
        Err(StoreError::NotFound)
    ));
    sites.update(&moved).await.unwrap();
    assert_eq!(sites.list().await.unwrap(), vec![moved]);
    let users = store.tenant(a.id).users();
    let anna_at_hq = User {
        site_id: Some(hq.id),
        ..anna.clone()
    };
    users.update(&anna_at_hq).await.unwrap();
    // deleting a site leaves its users without one
    sites.delete(hq.id).await.unwrap();
    assert_eq!(users.get(anna.id).await.unwrap().site_id, None);
    assert!(matches!(
        sites.delete(hq.id).await,
        Err(StoreError::NotFound)
    ));
}

async fn devices_and_device_owner(store: &dyn Store) {
    let (a, b) = two_tenants(store).await;
    let anna = add_user(store, a.id, "anna").await;
    // (pbx, device id) is unique across tenants
    let (shared, d200, _) = shared_pbx(store, a.id, b.id).await;
    assert!(matches!(
        store
            .tenant(b.id)
            .devices()
            .insert(&[device(b.id, shared.id, "200")])
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.device_owner(shared.id, "200").await.unwrap(),
        Some(a.id)
    );
    assert_eq!(
        store.device_owner(shared.id, "201").await.unwrap(),
        Some(b.id)
    );
    assert_eq!(store.device_owner(shared.id, "999").await.unwrap(), None);
    assert!(matches!(
        store.tenant(b.id).devices().get(d200.id).await,
        Err(StoreError::NotFound)
    ));
    let devices = store.tenant(a.id).devices();
    let owned = Device {
        user_id: Some(anna.id),
        ..d200.clone()
    };
    assert!(matches!(
        store.update_device(b.id, &owned).await,
        Err(StoreError::NotFound)
    ));
    devices.update(&owned).await.unwrap();
    assert_eq!(devices.get(d200.id).await.unwrap().user_id, Some(anna.id));
    assert_eq!(devices.list().await.unwrap().len(), 1);
    assert!(matches!(
        store.tenant(b.id).devices().delete(d200.id).await,
        Err(StoreError::NotFound)
    ));
    devices.delete(d200.id).await.unwrap();
    assert!(devices.list().await.unwrap().is_empty());
}

async fn device_numbers_in_use(store: &dyn Store) {
    let (a, b) = two_tenants(store).await;
    // Device 200 of tenant A answers to 200; B's device 201 to its extension 21.
    let (_, _, mut d201) = shared_pbx(store, a.id, b.id).await;
    d201.extension = Some("21".into());
    store.tenant(b.id).devices().update(&d201).await.unwrap();
    let asked: Vec<String> = ["200", "201", "21", "300"].map(String::from).to_vec();
    let mut in_a = store
        .tenant(a.id)
        .devices()
        .numbers_in_use(&asked)
        .await
        .unwrap();
    in_a.sort();
    assert_eq!(in_a, ["200"]);
    let in_b = store
        .tenant(b.id)
        .devices()
        .numbers_in_use(&asked)
        .await
        .unwrap();
    assert_eq!(
        in_b,
        ["21"],
        "a device with an extension answers to it, not its id"
    );
    // More numbers than one statement binds.
    let many: Vec<String> = (0..1_200).map(|n| n.to_string()).collect();
    let found = store
        .tenant(a.id)
        .devices()
        .numbers_in_use(&many)
        .await
        .unwrap();
    assert_eq!(found, ["200"]);
    assert!(
        store
            .tenant(a.id)
            .devices()
            .numbers_in_use(&[])
            .await
            .unwrap()
            .is_empty()
    );
}

async fn pbx_devices_span_tenants(store: &dyn Store) {
    let (a, b) = two_tenants(store).await;
    let (shared, _, _) = shared_pbx(store, a.id, b.id).await;
    assert_eq!(
        store.pbx(shared.id).await.unwrap().settings["devices"],
        "200-299"
    );
    assert_eq!(store.pbxs().await.unwrap().len(), 1);
    let renamed = Pbx {
        name: "main".into(),
        ..shared.clone()
    };
    store.update_pbx(&renamed).await.unwrap();
    assert_eq!(store.pbx(shared.id).await.unwrap().name, "main");
    assert_eq!(store.pbx_devices(shared.id).await.unwrap().len(), 2);
    // deleting a PBX takes its devices, whatever their tenant
    store.delete_pbx(shared.id).await.unwrap();
    assert!(
        store
            .tenant(a.id)
            .devices()
            .list()
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .tenant(b.id)
            .devices()
            .list()
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.pbx(shared.id).await,
        Err(StoreError::NotFound)
    ));
}

async fn tenant_limits(store: &dyn Store) {
    let (a, b) = two_tenants(store).await;
    let limits: TenantLimits = [(
        "desktop".to_string(),
        TenantLimit {
            cap: Some(10),
            reserved: 2,
        },
    )]
    .into();
    store.set_tenant_limits(a.id, &limits).await.unwrap();
    assert_eq!(store.tenant_limits(a.id).await.unwrap(), limits);
    assert!(store.tenant_limits(b.id).await.unwrap().is_empty());
}

async fn audit_newest_first_per_tenant(store: &dyn Store) {
    let (a, b) = two_tenants(store).await;
    let root = UserId::new();
    for (i, tenant) in [Some(a.id), Some(b.id), None].into_iter().enumerate() {
        store
            .insert_audit(&audit_entry(i, tenant, root))
            .await
            .unwrap();
    }
    let all = store.audit(None, page(10, 0)).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["e2", "e1", "e0"]
    );
    assert_eq!(all[2], audit_entry(0, Some(a.id), root));
    let only_a = store.audit(Some(a.id), page(10, 0)).await.unwrap();
    assert_eq!(only_a.len(), 1);
    assert_eq!(only_a[0].tenant_id, Some(a.id));
    assert_eq!(store.audit(None, page(1, 1)).await.unwrap()[0].id, "e1");
}

async fn usage_keeps_hourly_and_daily_peaks(store: &dyn Store) {
    let (a, b) = two_tenants(store).await;
    // hourly peaks only rise; daily peak is the max over the day's hours
    const HOUR: i64 = 3_600_000;
    let day = 20_000_i64;
    let base = day * 24 * HOUR;
    let sample = |tenant: TenantId, hour: i64, peak: u32| UsageSample {
        tenant_id: tenant,
        license_type: "desktop".into(),
        hour: base + hour * HOUR,
        peak,
    };
    store
        .record_usage(&[sample(a.id, 1, 5), sample(a.id, 2, 7), sample(b.id, 1, 3)])
        .await
        .unwrap();
    store
        .record_usage(&[sample(a.id, 2, 4), sample(a.id, 25, 2)])
        .await
        .unwrap();
    let usage = store.daily_usage(None, day, day).await.unwrap();
    assert_eq!(
        usage
            .iter()
            .map(|u| (u.tenant_id, u.peak))
            .collect::<Vec<_>>(),
        {
            let mut expected = vec![(a.id, 7), (b.id, 3)];
            expected.sort_by_key(|(t, _)| t.to_string());
            expected
        }
    );
    let next_day = store
        .daily_usage(Some(a.id), day + 1, day + 1)
        .await
        .unwrap();
    assert_eq!(next_day.len(), 1);
    assert_eq!((next_day[0].day, next_day[0].peak), (day + 1, 2));
    assert_eq!(
        store
            .daily_usage(Some(b.id), day + 1, day + 5)
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(store.prune_usage(base + 2 * HOUR).await.unwrap(), 2);
}

async fn licenses(store: &dyn Store) {
    let stored = StoredLicense {
        id: "L1".into(),
        text: "---".into(),
        loaded_at: Timestamp(9),
    };
    store.insert_license(&stored).await.unwrap();
    assert!(matches!(
        store.insert_license(&stored).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.licenses().await.unwrap(), vec![stored]);
    store.delete_license("L1").await.unwrap();
    assert!(matches!(
        store.delete_license("L1").await,
        Err(StoreError::NotFound)
    ));
}

async fn presence_only_for_own_users(store: &dyn Store) {
    let (a, b) = two_tenants(store).await;
    let anna = add_user(store, a.id, "anna").await;
    let presence = UserPresence {
        user_id: anna.id,
        state: ucplus_core::cti::PresenceState::Away,
        note: Some("lunch".into()),
        updated_at: Timestamp(50),
    };
    assert!(matches!(
        store.tenant(b.id).presence().set(&presence).await,
        Err(StoreError::NotFound)
    ));
    let in_a = store.tenant(a.id).presence();
    in_a.set(&presence).await.unwrap();
    assert_eq!(in_a.list().await.unwrap(), vec![presence.clone()]);
    in_a.set(&UserPresence {
        note: None,
        ..presence.clone()
    })
    .await
    .unwrap();
    assert_eq!(in_a.list().await.unwrap()[0].note, None);
    assert!(
        store
            .tenant(b.id)
            .presence()
            .list()
            .await
            .unwrap()
            .is_empty()
    );
}

/// Tenant `a`'s user anna, a shared contact "Supplier" and anna's own "Mum", both +4930111.
async fn directory(store: &dyn Store) -> (Tenant, Tenant, User, Contact, Contact) {
    let (a, b) = two_tenants(store).await;
    let anna = add_user(store, a.id, "anna").await;
    let shared = contact(a.id, None, "Supplier", "+4930111");
    let personal = contact(a.id, Some(anna.id), "Mum", "+4930111");
    store
        .tenant(a.id)
        .contacts(None)
        .insert(std::slice::from_ref(&shared))
        .await
        .unwrap();
    store
        .tenant(a.id)
        .contacts(Some(anna.id))
        .insert(std::slice::from_ref(&personal))
        .await
        .unwrap();
    (a, b, anna, shared, personal)
}

async fn contacts_shared_and_personal(store: &dyn Store) {
    let (a, b, anna, shared, personal) = directory(store).await;
    let tenant_a = store.tenant(a.id);
    assert_eq!(
        tenant_a.contacts(None).list().await.unwrap(),
        vec![shared.clone()]
    );
    assert_eq!(
        tenant_a.contacts(Some(anna.id)).list().await.unwrap(),
        vec![personal.clone()]
    );
    assert_eq!(tenant_a.contacts(None).count().await.unwrap(), 1);
    assert_eq!(tenant_a.contacts(Some(anna.id)).count().await.unwrap(), 1);
    assert_eq!(store.tenant(b.id).contacts(None).count().await.unwrap(), 0);
    assert_eq!(
        tenant_a.contacts(None).get(&shared.id).await.unwrap(),
        shared
    );
    assert!(matches!(
        store.tenant(b.id).contacts(None).get(&shared.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        tenant_a.contacts(None).get(&personal.id).await,
        Err(StoreError::NotFound)
    ));
    // deleting: only in the contact's own tenant and scope
    assert!(matches!(
        store.tenant(b.id).contacts(None).delete(&shared.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        tenant_a.contacts(None).delete(&personal.id).await,
        Err(StoreError::NotFound)
    ));
    tenant_a.contacts(None).delete(&shared.id).await.unwrap();
    assert!(tenant_a.contacts(None).list().await.unwrap().is_empty());
    assert_eq!(tenant_a.contacts(Some(anna.id)).count().await.unwrap(), 1);
}

async fn contact_lookup_by_number(store: &dyn Store) {
    let (a, b, anna, shared, _) = directory(store).await;
    let tenant_a = store.tenant(a.id);
    // personal first
    assert_eq!(
        tenant_a
            .contacts(Some(anna.id))
            .name_of("+4930111")
            .await
            .unwrap()
            .as_deref(),
        Some("Mum")
    );
    assert_eq!(
        tenant_a
            .contacts(None)
            .name_of("+4930111")
            .await
            .unwrap()
            .as_deref(),
        Some("Supplier")
    );
    assert_eq!(
        store
            .tenant(b.id)
            .contacts(None)
            .name_of("+4930111")
            .await
            .unwrap(),
        None
    );
    // a changed number is found by its new number only
    let mut renumbered = shared.clone();
    renumbered.numbers[0].number = "+4930222".into();
    tenant_a.contacts(None).update(&renumbered).await.unwrap();
    assert_eq!(
        tenant_a.contacts(None).name_of("+4930111").await.unwrap(),
        None
    );
    assert_eq!(
        tenant_a
            .contacts(None)
            .name_of("+4930222")
            .await
            .unwrap()
            .as_deref(),
        Some("Supplier")
    );
    // a deleted contact is found no more
    tenant_a
        .contacts(None)
        .delete(&renumbered.id)
        .await
        .unwrap();
    assert_eq!(
        tenant_a.contacts(None).name_of("+4930222").await.unwrap(),
        None
    );
}

async fn contact_numbers(store: &dyn Store) {
    let (a, b, anna, _, _) = directory(store).await;
    // Every number of the tenant with its contact's name and owner: the caller-name index.
    let mut numbers = store.tenant(a.id).contact_numbers().await.unwrap();
    numbers.sort_by(|x, y| x.name.cmp(&y.name));
    assert_eq!(
        numbers,
        vec![
            NumberName {
                number: "+4930111".into(),
                owner_id: Some(anna.id),
                name: "Mum".into(),
            },
            NumberName {
                number: "+4930111".into(),
                owner_id: None,
                name: "Supplier".into(),
            },
        ]
    );
    assert!(
        store
            .tenant(b.id)
            .contact_numbers()
            .await
            .unwrap()
            .is_empty()
    );
}

async fn contact_update_scoped_to_owner(store: &dyn Store) {
    let (a, b, anna, shared, personal) = directory(store).await;
    let renamed = Contact {
        name: "Mother".into(),
        ..personal.clone()
    };
    // A personal contact is not updated through the tenant's shared scope, nor another
    // user's, nor another tenant's.
    assert!(matches!(
        store.update_contact(a.id, None, &renamed).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .update_contact(a.id, Some(UserId::new()), &renamed)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.update_contact(b.id, Some(anna.id), &renamed).await,
        Err(StoreError::NotFound)
    ));
    // nor a shared one through a user's scope
    assert!(matches!(
        store.update_contact(a.id, Some(anna.id), &shared).await,
        Err(StoreError::NotFound)
    ));
    let own = store.tenant(a.id).contacts(Some(anna.id));
    assert_eq!(own.get(&personal.id).await.unwrap(), personal);
    own.update(&renamed).await.unwrap();
    assert_eq!(own.get(&personal.id).await.unwrap(), renamed);
    assert_eq!(
        store.tenant(a.id).contacts(None).list().await.unwrap(),
        vec![shared]
    );
}

async fn call_log_paging_and_pruning(store: &dyn Store) {
    let (a, b) = two_tenants(store).await;
    let anna = add_user(store, a.id, "anna").await;
    let (_, d200, _) = shared_pbx(store, a.id, b.id).await;
    let entry = |i| call(a.id, anna.id, &d200, i);
    let log = store.tenant(a.id).call_log();
    log.insert(&[entry(1), entry(2), entry(3)]).await.unwrap();
    // per user, newest first
    let calls = log.of_user(anna.id, page(10, 0)).await.unwrap();
    assert_eq!(
        calls.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["call3", "call2", "call1"]
    );
    assert_eq!(calls[1], entry(2));
    let second = log.of_user(anna.id, page(1, 1)).await.unwrap();
    assert_eq!(second, vec![entry(2)]);
    assert!(
        store
            .tenant(b.id)
            .call_log()
            .of_user(anna.id, page(10, 0))
            .await
            .unwrap()
            .is_empty()
    );
    // pruned by age
    assert_eq!(store.prune_call_log(2_000).await.unwrap(), 1);
    assert_eq!(log.of_user(anna.id, page(10, 0)).await.unwrap().len(), 2);
}

async fn tenant_deletion_cascades(store: &dyn Store) {
    let (a, b) = two_tenants(store).await;
    add_user(store, a.id, "anna").await;
    add_user(store, b.id, "anna").await;
    store
        .tenant(a.id)
        .sites()
        .insert(&site(a.id))
        .await
        .unwrap();
    shared_pbx(store, a.id, b.id).await;
    store.insert_pbx(&pbx(Some(a.id))).await.unwrap();
    let limits: TenantLimits = [(
        "desktop".to_string(),
        TenantLimit {
            cap: Some(1),
            reserved: 0,
        },
    )]
    .into();
    store.set_tenant_limits(a.id, &limits).await.unwrap();
    store
        .insert_audit(&audit_entry(0, Some(a.id), UserId::new()))
        .await
        .unwrap();
    // deleting a tenant takes everything of it, and nothing of others
    store.delete_tenant(a.id).await.unwrap();
    assert!(matches!(
        store.tenant_by_id(a.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_tenant(a.id).await,
        Err(StoreError::NotFound)
    ));
    let gone = store.tenant(a.id);
    assert!(gone.users().list().await.unwrap().is_empty());
    assert!(gone.devices().list().await.unwrap().is_empty());
    assert!(gone.sites().list().await.unwrap().is_empty());
    assert!(store.tenant_limits(a.id).await.unwrap().is_empty());
    assert_eq!(store.pbxs().await.unwrap().len(), 1);
    let kept = store.tenant(b.id);
    assert_eq!(kept.devices().list().await.unwrap().len(), 1);
    assert_eq!(kept.users().list().await.unwrap().len(), 1);
    // the audit outlives the tenant
    assert_eq!(store.audit(Some(a.id), page(10, 0)).await.unwrap().len(), 1);
}

async fn tenant_mismatch_refused(store: &dyn Store) {
    let (a, b) = two_tenants(store).await;
    let anna = add_user(store, a.id, "anna").await;
    let (shared, d200, _) = shared_pbx(store, a.id, b.id).await;
    let in_b = store.tenant(b.id);
    let refused = |result: StoreResult<()>| matches!(result, Err(StoreError::TenantMismatch));
    // A record naming another tenant is refused, whatever the scope's own records.
    assert!(refused(
        in_b.users()
            .insert(&user(Some(a.id), "bert", Role::User))
            .await
    ));
    assert!(refused(
        in_b.users()
            .insert(&user(None, "root", Role::SystemAdmin))
            .await
    ));
    assert!(refused(in_b.users().update(&anna).await));
    assert!(refused(in_b.sites().insert(&site(a.id)).await));
    assert!(refused(
        in_b.devices()
            .insert(&[
                device(b.id, shared.id, "202"),
                device(a.id, shared.id, "203")
            ])
            .await
    ));
    assert!(refused(in_b.devices().update(&d200).await));
    assert!(refused(
        in_b.contacts(None)
            .insert(&[contact(a.id, None, "Supplier", "+4930111")])
            .await
    ));
    assert!(refused(
        in_b.call_log()
            .insert(&[call(a.id, anna.id, &d200, 1)])
            .await
    ));
    // ... and so is a contact naming another owner than the scope's.
    let mums = contact(a.id, Some(anna.id), "Mum", "+4930111");
    assert!(refused(
        store
            .tenant(a.id)
            .contacts(None)
            .insert(std::slice::from_ref(&mums))
            .await
    ));
    assert!(refused(
        store.tenant(a.id).contacts(None).update(&mums).await
    ));
    // ... and a first admin of another tenant.
    assert!(refused(
        store
            .insert_tenant(
                &tenant("initech"),
                Some(&user(Some(a.id), "boss", Role::Admin))
            )
            .await
    ));
    // Nothing of it was written.
    assert_eq!(in_b.users().list().await.unwrap().len(), 0);
    assert!(in_b.sites().list().await.unwrap().is_empty());
    assert_eq!(in_b.devices().list().await.unwrap().len(), 1);
    assert_eq!(store.device_owner(shared.id, "202").await.unwrap(), None);
    assert_eq!(store.tenant(a.id).contacts(None).count().await.unwrap(), 0);
    assert!(matches!(
        store.tenant_by_slug("initech").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.tenant(a.id).devices().get(d200.id).await.unwrap(),
        d200
    );
}

fn stored_session(hash: &str, user: &User, node: &str, last_seen: i64) -> StoredSession {
    StoredSession {
        token_hash: hash.into(),
        user_id: user.id,
        username: user.username.clone(),
        tenant_id: user.tenant_id,
        role: user.role,
        client: Some("desktop".into()),
        node: node.into(),
        created_at: Timestamp(1_000),
        expires_at: Timestamp(100_000),
        idle_timeout_ms: 10_000,
        last_seen: Timestamp(last_seen),
    }
}

async fn sessions_by_token_hash_and_node(store: &dyn Store) {
    let (a, _) = two_tenants(store).await;
    let anna = add_user(store, a.id, "anna").await;
    let admin = user(None, "root", Role::SystemAdmin);
    let s1 = stored_session("h1", &anna, "n1", 1_000);
    let s2 = stored_session("h2", &anna, "n2", 1_000);
    let root = StoredSession {
        tenant_id: None,
        client: None,
        ..stored_session("h3", &admin, "n1", 1_000)
    };
    for session in [&s1, &s2, &root] {
        store.insert_session(session).await.unwrap();
    }
    assert!(matches!(
        store.insert_session(&s1).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.session("h1").await.unwrap(), s1);
    assert_eq!(store.session("h3").await.unwrap(), root);
    assert!(matches!(
        store.session("nope").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.node_sessions("n1").await.unwrap(),
        vec![s1.clone(), root.clone()]
    );

    // Activity only rises.
    store
        .touch_sessions(&[
            ("h1".into(), Timestamp(5_000)),
            ("h2".into(), Timestamp(500)),
        ])
        .await
        .unwrap();
    assert_eq!(
        store.session("h1").await.unwrap().last_seen,
        Timestamp(5_000)
    );
    assert_eq!(
        store.session("h2").await.unwrap().last_seen,
        Timestamp(1_000)
    );

    // Adopted by n2: n1 can no longer end it.
    store.move_session("h1", "n2").await.unwrap();
    assert!(matches!(
        store.move_session("nope", "n2").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .delete_sessions("n1", &["h1".into(), "h3".into()])
            .await
            .unwrap(),
        1
    );
    assert!(store.session("h1").await.is_ok());
    assert!(matches!(
        store.session("h3").await,
        Err(StoreError::NotFound)
    ));

    // Idle past the limit (h2: seen at 1 s, 10 s idle) or expired: gone; h1 (5 s) stays.
    assert_eq!(
        store
            .delete_stale_sessions(Timestamp(12_000))
            .await
            .unwrap(),
        1
    );
    assert!(store.session("h1").await.is_ok());
    let mut h1 = s1.clone();
    (h1.node, h1.last_seen) = ("n2".into(), Timestamp(5_000));
    assert_eq!(store.user_sessions(anna.id).await.unwrap(), vec![h1]);
    store.delete_tenant(a.id).await.unwrap();
    assert!(
        store.user_sessions(anna.id).await.unwrap().is_empty(),
        "a deleted tenant's sessions go with it"
    );
}

fn registration(device: &Device, node: &str, expires_at: i64) -> SipRegistration {
    SipRegistration {
        tenant_id: device.tenant_id,
        device_id: device.id,
        pbx_id: device.pbx_id,
        aor: format!("{}@acme.example", device.device_id),
        contact: format!("sip:{}@192.0.2.7:5062", device.device_id),
        source: "192.0.2.7:5062".into(),
        transport: SipTransport::Udp,
        call_id: format!("call-{node}"),
        expires_at: Timestamp(expires_at),
        node: node.into(),
    }
}

async fn registrations_by_device_node_and_pbx(store: &dyn Store) {
    let (a, b) = two_tenants(store).await;
    let (shared, d200, d201) = shared_pbx(store, a.id, b.id).await;
    let (in_a, in_b) = (store.tenant(a.id), store.tenant(b.id));
    let now = Timestamp(10_000);
    let r200 = registration(&d200, "n1", 60_000);
    in_a.registrations().set(&r200).await.unwrap();
    assert_eq!(
        in_a.registrations().list(now).await.unwrap(),
        vec![r200.clone()]
    );
    assert_eq!(
        in_a.registrations().get(d200.id, now).await.unwrap(),
        Some(r200.clone())
    );
    // Another tenant sees none of it, and cannot write or delete it.
    assert!(in_b.registrations().list(now).await.unwrap().is_empty());
    assert_eq!(in_b.registrations().get(d200.id, now).await.unwrap(), None);
    assert!(matches!(
        in_b.registrations().set(&r200).await,
        Err(StoreError::TenantMismatch)
    ));
    assert!(matches!(
        store.set_registration(b.id, &r200).await,
        Err(StoreError::NotFound)
    ));
    assert!(!in_b.registrations().delete(d200.id, "n1").await.unwrap());

    // Another node takes the handset's next registration: it replaces the first, and the
    // first node can no longer delete it.
    let moved = SipRegistration {
        transport: SipTransport::Tcp,
        source: "192.0.2.8:40000".into(),
        ..registration(&d200, "n2", 70_000)
    };
    in_a.registrations().set(&moved).await.unwrap();
    assert!(!in_a.registrations().delete(d200.id, "n1").await.unwrap());
    assert_eq!(
        in_a.registrations().get(d200.id, now).await.unwrap(),
        Some(moved.clone())
    );

    // The node running the connection sees every tenant's live handsets on it.
    let r201 = registration(&d201, "n1", 20_000);
    in_b.registrations().set(&r201).await.unwrap();
    let mut both = vec![moved.clone(), r201.clone()];
    both.sort_by_key(|r| r.device_id.to_string());
    assert_eq!(store.pbx_registrations(shared.id, now).await.unwrap(), both);
    assert!(
        store
            .pbx_registrations(PbxId::new(), now)
            .await
            .unwrap()
            .is_empty()
    );
    // Lapsed ones are not live, and are pruned.
    let later = Timestamp(30_000);
    assert_eq!(
        store.pbx_registrations(shared.id, later).await.unwrap(),
        vec![moved.clone()]
    );
    assert!(in_b.registrations().list(later).await.unwrap().is_empty());
    assert_eq!(store.prune_registrations(later).await.unwrap(), 1);
    assert_eq!(in_b.registrations().get(d201.id, now).await.unwrap(), None);

    // The node that took it deletes it; a deleted device's goes with it.
    assert!(in_a.registrations().delete(d200.id, "n2").await.unwrap());
    assert_eq!(in_a.registrations().get(d200.id, now).await.unwrap(), None);
    in_a.registrations().set(&r200).await.unwrap();
    in_a.devices().delete(d200.id).await.unwrap();
    assert!(in_a.registrations().list(now).await.unwrap().is_empty());
    assert!(matches!(
        in_a.registrations().set(&r200).await,
        Err(StoreError::NotFound)
    ));
    // ... and a deleted tenant's, and a deleted connection's.
    in_b.registrations().set(&r201).await.unwrap();
    store.delete_tenant(b.id).await.unwrap();
    assert!(
        store
            .pbx_registrations(shared.id, now)
            .await
            .unwrap()
            .is_empty()
    );
    let d202 = device(a.id, shared.id, "202");
    in_a.devices()
        .insert(std::slice::from_ref(&d202))
        .await
        .unwrap();
    in_a.registrations()
        .set(&registration(&d202, "n1", 60_000))
        .await
        .unwrap();
    store.delete_pbx(shared.id).await.unwrap();
    assert!(in_a.registrations().list(now).await.unwrap().is_empty());
}
