//! The Store contract: one suite every back-end must pass.

use ucplus_core::*;
use ucplus_store::SqliteStore;

fn tenant(slug: &str) -> Tenant {
    Tenant {
        id: TenantId::new(),
        name: format!("Tenant {slug}"),
        slug: slug.into(),
        created_at: Timestamp(1_000),
    }
}

fn user(name: &str, role: Role) -> User {
    User {
        id: UserId::new(),
        tenant_id: None,
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

fn device(pbx: PbxId, number: &str) -> Device {
    Device {
        id: DeviceRecordId::new(),
        tenant_id: TenantId::new(),
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

async fn contract(store: &dyn Store) {
    store.ping().await.unwrap();

    // settings
    assert_eq!(store.setting("system_id").await.unwrap(), None);
    store.set_setting("system_id", "a").await.unwrap();
    store.set_setting("system_id", "b").await.unwrap();
    assert_eq!(
        store.setting("system_id").await.unwrap().as_deref(),
        Some("b")
    );

    // tenants and their first admin
    let a = tenant("acme");
    let b = tenant("globex");
    let admin = user("boss", Role::Admin);
    store.insert_tenant(&a, Some(&admin)).await.unwrap();
    store.insert_tenant(&b, None).await.unwrap();
    assert!(matches!(
        store.insert_tenant(&tenant("acme"), None).await,
        Err(StoreError::Conflict(field)) if field == "slug"
    ));
    assert_eq!(store.tenant_by_slug("acme").await.unwrap(), a);
    assert_eq!(store.tenants().await.unwrap().len(), 2);
    assert_eq!(store.user_by_name(a.id, "boss").await.unwrap().id, admin.id);

    // users are scoped: another tenant's id is like an unknown id
    let anna = user("anna", Role::User);
    store.insert_user(a.id, &anna).await.unwrap();
    assert!(matches!(
        store.user(b.id, anna.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.user_by_name(b.id, "anna").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_user(b.id, anna.id).await,
        Err(StoreError::NotFound)
    ));
    let mut renamed = anna.clone();
    renamed.display_name = "Anna B.".into();
    assert!(matches!(
        store.update_user(b.id, &renamed).await,
        Err(StoreError::NotFound)
    ));
    store.update_user(a.id, &renamed).await.unwrap();
    let loaded = store.user(a.id, anna.id).await.unwrap();
    assert_eq!(loaded.display_name, "Anna B.");
    assert_eq!(loaded.licenses, ["desktop", "mobile"]);
    assert_eq!(loaded.tenant_id, Some(a.id));
    // the same username may exist in another tenant, not twice in one
    store
        .insert_user(b.id, &user("anna", Role::User))
        .await
        .unwrap();
    assert!(matches!(
        store.insert_user(a.id, &user("anna", Role::User)).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.users(a.id).await.unwrap().len(), 2);
    assert_eq!(store.users(b.id).await.unwrap().len(), 1);

    // system admins live outside tenants
    let root = user("admin", Role::SystemAdmin);
    store.insert_system_admin(&root).await.unwrap();
    assert!(matches!(
        store
            .insert_system_admin(&user("admin", Role::SystemAdmin))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.system_admin_by_name("admin").await.unwrap().id,
        root.id
    );
    assert!(matches!(
        store.system_admin_by_name("anna").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.system_admin_count().await.unwrap(), 1);

    // sites
    let site = Site {
        id: SiteId::new(),
        tenant_id: a.id,
        name: "HQ".into(),
        address: Some("Main St 1".into()),
        created_at: Timestamp(5),
    };
    store.insert_site(a.id, &site).await.unwrap();
    assert!(matches!(
        store.site(b.id, site.id).await,
        Err(StoreError::NotFound)
    ));
    let mut anna_at_hq = renamed.clone();
    anna_at_hq.site_id = Some(site.id);
    store.update_user(a.id, &anna_at_hq).await.unwrap();
    store.delete_site(a.id, site.id).await.unwrap();
    assert_eq!(store.user(a.id, anna.id).await.unwrap().site_id, None);

    // PBXs and devices: (pbx, device id) is unique across tenants
    let shared = pbx(None);
    store.insert_pbx(&shared).await.unwrap();
    let d200 = device(shared.id, "200");
    store
        .insert_devices(a.id, std::slice::from_ref(&d200))
        .await
        .unwrap();
    assert!(matches!(
        store
            .insert_devices(b.id, &[device(shared.id, "200")])
            .await,
        Err(StoreError::Conflict(_))
    ));
    store
        .insert_devices(b.id, &[device(shared.id, "201")])
        .await
        .unwrap();
    assert_eq!(
        store.device_owner(shared.id, "200").await.unwrap(),
        Some(a.id)
    );
    assert_eq!(store.device_owner(shared.id, "999").await.unwrap(), None);
    assert!(matches!(
        store.device(b.id, d200.id).await,
        Err(StoreError::NotFound)
    ));
    let mut owned = d200.clone();
    owned.user_id = Some(anna.id);
    store.update_device(a.id, &owned).await.unwrap();
    assert_eq!(
        store.device(a.id, d200.id).await.unwrap().user_id,
        Some(anna.id)
    );
    assert_eq!(
        store.pbx(shared.id).await.unwrap().settings["devices"],
        "200-299"
    );

    // limits
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

    // audit: newest first, filtered per tenant
    for (i, tenant) in [Some(a.id), Some(b.id), None].into_iter().enumerate() {
        store
            .insert_audit(&AuditEntry {
                id: format!("e{i}"),
                at: Timestamp(10 + i64::try_from(i).unwrap()),
                actor_id: Some(root.id),
                actor_username: "admin".into(),
                tenant_id: tenant,
                action: "test.action".into(),
                target: None,
                detail: serde_json::json!({"i": i}),
                source: Some("127.0.0.1".into()),
            })
            .await
            .unwrap();
    }
    let all = store
        .audit(
            None,
            Page {
                limit: 10,
                offset: 0,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["e2", "e1", "e0"]
    );
    let only_a = store
        .audit(
            Some(a.id),
            Page {
                limit: 10,
                offset: 0,
            },
        )
        .await
        .unwrap();
    assert_eq!(only_a.len(), 1);
    assert_eq!(only_a[0].tenant_id, Some(a.id));
    assert_eq!(
        store
            .audit(
                None,
                Page {
                    limit: 1,
                    offset: 1
                }
            )
            .await
            .unwrap()[0]
            .id,
        "e1"
    );

    // usage: hourly peaks only rise; daily peak is the max over the day's hours
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

    // licenses
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

    // presence: only for the tenant's own users
    let presence = UserPresence {
        user_id: anna.id,
        state: ucplus_core::cti::PresenceState::Away,
        note: Some("lunch".into()),
        updated_at: Timestamp(50),
    };
    assert!(matches!(
        store.set_presence(b.id, &presence).await,
        Err(StoreError::NotFound)
    ));
    store.set_presence(a.id, &presence).await.unwrap();
    store
        .set_presence(
            a.id,
            &UserPresence {
                note: None,
                ..presence.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(store.presence(a.id).await.unwrap()[0].note, None);
    assert!(store.presence(b.id).await.unwrap().is_empty());
    assert_eq!(store.pbx_devices(shared.id).await.unwrap().len(), 2);

    // contacts: shared and personal, looked up by number, personal first
    let contact = |owner: Option<UserId>, name: &str, number: &str| Contact {
        id: ucplus_core::ids::new_uuid().to_string(),
        tenant_id: a.id,
        owner_id: owner,
        name: name.into(),
        company: None,
        email: None,
        numbers: vec![ContactNumber {
            label: Some("work".into()),
            number: number.into(),
        }],
        created_at: Timestamp(60),
    };
    let shared_contact = contact(None, "Supplier", "+4930111");
    let personal = contact(Some(anna.id), "Mum", "+4930111");
    store
        .insert_contacts(a.id, &[shared_contact.clone(), personal.clone()])
        .await
        .unwrap();
    assert_eq!(
        store.contacts(a.id, None).await.unwrap(),
        vec![shared_contact.clone()]
    );
    assert_eq!(
        store.contacts(a.id, Some(anna.id)).await.unwrap(),
        vec![personal.clone()]
    );
    assert_eq!(store.count_contacts(a.id, None).await.unwrap(), 1);
    assert_eq!(store.count_contacts(a.id, Some(anna.id)).await.unwrap(), 1);
    assert_eq!(store.count_contacts(b.id, None).await.unwrap(), 0);
    assert_eq!(
        store
            .contact_name(a.id, Some(anna.id), "+4930111")
            .await
            .unwrap()
            .as_deref(),
        Some("Mum")
    );
    assert_eq!(
        store
            .contact_name(a.id, None, "+4930111")
            .await
            .unwrap()
            .as_deref(),
        Some("Supplier")
    );
    assert_eq!(
        store.contact_name(b.id, None, "+4930111").await.unwrap(),
        None
    );
    assert!(matches!(
        store.contact(b.id, None, &shared_contact.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.contact(a.id, None, &personal.id).await,
        Err(StoreError::NotFound)
    ));
    // Every number of the tenant with its contact's name and owner: the caller-name index.
    let mut numbers = store.contact_numbers(a.id).await.unwrap();
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
    assert!(store.contact_numbers(b.id).await.unwrap().is_empty());
    let mut renumbered = shared_contact.clone();
    renumbered.numbers[0].number = "+4930222".into();
    store.update_contact(a.id, &renumbered).await.unwrap();
    assert_eq!(
        store.contact_name(a.id, None, "+4930111").await.unwrap(),
        None
    );
    assert_eq!(
        store
            .contact_name(a.id, None, "+4930222")
            .await
            .unwrap()
            .as_deref(),
        Some("Supplier")
    );
    assert!(matches!(
        store.delete_contact(b.id, None, &renumbered.id).await,
        Err(StoreError::NotFound)
    ));
    store
        .delete_contact(a.id, None, &renumbered.id)
        .await
        .unwrap();
    assert_eq!(
        store.contact_name(a.id, None, "+4930222").await.unwrap(),
        None
    );

    // call log: per user, newest first, pruned by age
    let entry = |i: i64| CallLogEntry {
        id: format!("call{i}"),
        tenant_id: a.id,
        user_id: anna.id,
        device_id: d200.id,
        pbx_id: shared.id,
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
    };
    store
        .insert_call_log(a.id, &[entry(1), entry(2), entry(3)])
        .await
        .unwrap();
    let log = store
        .call_log(
            a.id,
            anna.id,
            Page {
                limit: 10,
                offset: 0,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        log.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["call3", "call2", "call1"]
    );
    assert_eq!(log[1], entry(2));
    assert!(
        store
            .call_log(
                b.id,
                anna.id,
                Page {
                    limit: 10,
                    offset: 0
                }
            )
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.prune_call_log(2_000).await.unwrap(), 1);

    // deleting a tenant takes everything of it, and nothing of others
    store.delete_tenant(a.id).await.unwrap();
    assert!(matches!(
        store.tenant(a.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.users(a.id).await.unwrap().is_empty());
    assert!(store.devices(a.id).await.unwrap().is_empty());
    assert_eq!(store.devices(b.id).await.unwrap().len(), 1);
    assert_eq!(store.users(b.id).await.unwrap().len(), 1);
    // the audit outlives the tenant
    assert_eq!(
        store
            .audit(
                Some(a.id),
                Page {
                    limit: 10,
                    offset: 0
                }
            )
            .await
            .unwrap()
            .len(),
        1
    );
    store.delete_pbx(shared.id).await.unwrap();
    assert!(store.devices(b.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn sqlite_passes_the_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("ucplus.db"))
        .await
        .unwrap();
    contract(&store).await;
    store.close().await;
    // Reopening runs no migration twice and keeps the data.
    let reopened = SqliteStore::open(&dir.path().join("ucplus.db"))
        .await
        .unwrap();
    assert_eq!(
        reopened.setting("system_id").await.unwrap().as_deref(),
        Some("b")
    );
}
