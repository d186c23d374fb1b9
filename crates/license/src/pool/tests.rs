use std::collections::BTreeMap;

use proptest::prelude::*;
use time::Date;
use time::macros::date;

use super::*;
use crate::ItemType;

const TODAY: Date = date!(2026 - 11 - 28);

fn license(id: &str, items: &[(ItemType, u32)], expires: Option<Date>) -> License {
    License {
        id: id.to_string(),
        system_id: "sys".into(),
        customer: None,
        issued: date!(2026 - 01 - 01),
        expires,
        items: items.iter().copied().collect(),
        text: String::new(),
    }
}

const DESKTOP: ItemType = ItemType::Pool(LicenseType::Desktop);
const TENANT: ItemType = ItemType::Pool(LicenseType::Tenant);

fn limits(cap: Option<u32>, reserved: u32) -> BTreeMap<ClientType, Limit> {
    [(ClientType::Desktop, Limit { cap, reserved })].into()
}

#[test]
fn tenant_licenses_need_a_starter_pack_first() {
    let mut pool: LicensePool<u32> = LicensePool::new();
    assert_eq!(pool.mode(), Mode::SingleTenant);
    let err = pool
        .load(license("t1", &[(TENANT, 3)], None), TODAY)
        .unwrap_err();
    assert_eq!(err.code(), "starter_pack_required");
    pool.load(license("s", &[(ItemType::MtStarter5, 1)], None), TODAY)
        .unwrap();
    assert_eq!(pool.mode(), Mode::MultiTenant);
    pool.load(license("t1", &[(TENANT, 3)], None), TODAY)
        .unwrap();
    assert_eq!(pool.total(LicenseType::Tenant, TODAY), 8);
}

#[test]
fn a_file_with_a_starter_pack_may_carry_tenant_licenses() {
    let mut pool: LicensePool<u32> = LicensePool::new();
    pool.load(
        license("x", &[(ItemType::MtStarter20, 1), (TENANT, 2)], None),
        TODAY,
    )
    .unwrap();
    assert_eq!(pool.total(LicenseType::Tenant, TODAY), 22);
}

#[test]
fn duplicate_and_expired_licenses_are_refused() {
    let mut pool: LicensePool<u32> = LicensePool::new();
    pool.load(license("a", &[(DESKTOP, 1)], None), TODAY)
        .unwrap();
    assert_eq!(
        pool.load(license("a", &[(DESKTOP, 1)], None), TODAY)
            .unwrap_err()
            .code(),
        "duplicate_license"
    );
    assert_eq!(
        pool.load(
            license("b", &[(DESKTOP, 1)], Some(date!(2026 - 11 - 27))),
            TODAY
        )
        .unwrap_err()
        .code(),
        "license_expired"
    );
    pool.load(license("c", &[(DESKTOP, 1)], Some(TODAY)), TODAY)
        .unwrap();
    assert_eq!(pool.total(LicenseType::Desktop, TODAY), 2);
}

#[test]
fn tenants_are_limited_by_tenant_licenses() {
    let mut pool: LicensePool<u32> = LicensePool::new();
    assert_eq!(
        pool.add_tenant(1, TODAY).unwrap_err().code(),
        "multi_tenant_not_licensed"
    );
    pool.load(license("s", &[(ItemType::MtStarter5, 1)], None), TODAY)
        .unwrap();
    for tenant in 0..5 {
        pool.add_tenant(tenant, TODAY).unwrap();
    }
    assert_eq!(
        pool.add_tenant(5, TODAY).unwrap_err().code(),
        "tenant_licenses_exhausted"
    );
    pool.load(license("t", &[(TENANT, 1)], None), TODAY)
        .unwrap();
    pool.add_tenant(5, TODAY).unwrap();
    assert_eq!(pool.in_use(LicenseType::Tenant), 6);
    // Unloading the extra tenant license would strand a tenant.
    assert_eq!(
        pool.unload("t", TODAY).unwrap_err().code(),
        "tenant_licenses_exhausted"
    );
    // The last starter pack cannot go while tenant licenses depend on it.
    assert_eq!(
        pool.unload("s", TODAY).unwrap_err().code(),
        "starter_pack_required"
    );
    pool.remove_tenant(&5);
    pool.unload("t", TODAY).unwrap();
    assert_eq!(pool.in_use(LicenseType::Tenant), 5);
}

#[test]
fn caps_and_pool_limit_acquisition() {
    let mut pool: LicensePool<u32> = LicensePool::new();
    pool.load(license("d", &[(DESKTOP, 3)], None), TODAY)
        .unwrap();
    pool.restore_tenant(1);
    pool.restore_tenant(2);
    pool.set_limits(&1, &limits(Some(2), 0), TODAY).unwrap();
    pool.try_acquire(&1, ClientType::Desktop, TODAY).unwrap();
    pool.try_acquire(&1, ClientType::Desktop, TODAY).unwrap();
    assert_eq!(
        pool.try_acquire(&1, ClientType::Desktop, TODAY)
            .unwrap_err()
            .code(),
        "tenant_cap_reached"
    );
    pool.try_acquire(&2, ClientType::Desktop, TODAY).unwrap();
    assert_eq!(
        pool.try_acquire(&2, ClientType::Desktop, TODAY)
            .unwrap_err()
            .code(),
        "pool_exhausted"
    );
    assert!(pool.release(&1, ClientType::Desktop));
    pool.try_acquire(&2, ClientType::Desktop, TODAY).unwrap();
    assert!(!pool.release(&3, ClientType::Desktop));
    assert_eq!(
        pool.try_acquire(&1, ClientType::Api, TODAY)
            .unwrap_err()
            .code(),
        "pool_exhausted"
    );
}

#[test]
fn reservations_keep_licenses_free_for_their_tenant() {
    let mut pool: LicensePool<u32> = LicensePool::new();
    pool.load(license("d", &[(DESKTOP, 4)], None), TODAY)
        .unwrap();
    pool.restore_tenant(1);
    pool.restore_tenant(2);
    pool.set_limits(&2, &limits(None, 2), TODAY).unwrap();
    pool.try_acquire(&1, ClientType::Desktop, TODAY).unwrap();
    pool.try_acquire(&1, ClientType::Desktop, TODAY).unwrap();
    let err = pool
        .try_acquire(&1, ClientType::Desktop, TODAY)
        .unwrap_err();
    assert_eq!(
        err,
        PoolError::ReservedForOthers {
            license_type: LicenseType::Desktop
        }
    );
    pool.try_acquire(&2, ClientType::Desktop, TODAY).unwrap();
    pool.try_acquire(&2, ClientType::Desktop, TODAY).unwrap();
    assert_eq!(pool.in_use(LicenseType::Desktop), 4);
    // Reservations may not add up to more than the pool.
    let err = pool.set_limits(&1, &limits(None, 3), TODAY).unwrap_err();
    assert_eq!(err.code(), "reservations_exceed_pool");
    // A reservation above the cap is a validation error.
    let err = pool.set_limits(&1, &limits(Some(1), 2), TODAY).unwrap_err();
    assert_eq!(err.code(), "validation_failed");
    // Unloading licenses under the reservations is refused.
    assert_eq!(
        pool.unload("d", TODAY).unwrap_err().code(),
        "reservations_exceed_pool"
    );
}

#[test]
fn expired_licenses_stop_counting_but_holders_keep_theirs() {
    let mut pool: LicensePool<u32> = LicensePool::new();
    let last_day = date!(2026 - 11 - 30);
    pool.load(license("d", &[(DESKTOP, 2)], Some(last_day)), TODAY)
        .unwrap();
    pool.restore_tenant(1);
    pool.try_acquire(&1, ClientType::Desktop, last_day).unwrap();
    let later = date!(2026 - 12 - 01);
    assert_eq!(pool.total(LicenseType::Desktop, later), 0);
    assert_eq!(pool.in_use(LicenseType::Desktop), 1);
    assert_eq!(
        pool.try_acquire(&1, ClientType::Desktop, later)
            .unwrap_err()
            .code(),
        "pool_exhausted"
    );
    assert!(pool.release(&1, ClientType::Desktop));
}

#[test]
fn peaks_are_kept_until_taken() {
    let mut pool: LicensePool<u32> = LicensePool::new();
    pool.load(license("d", &[(DESKTOP, 5)], None), TODAY)
        .unwrap();
    pool.restore_tenant(7);
    for _ in 0..3 {
        pool.try_acquire(&7, ClientType::Desktop, TODAY).unwrap();
    }
    pool.release(&7, ClientType::Desktop);
    pool.release(&7, ClientType::Desktop);
    assert_eq!(pool.take_peaks(), vec![(7, ClientType::Desktop, 3)]);
    assert_eq!(pool.take_peaks(), vec![(7, ClientType::Desktop, 1)]);
    pool.release(&7, ClientType::Desktop);
    assert_eq!(pool.take_peaks(), vec![(7, ClientType::Desktop, 1)]);
    assert_eq!(pool.take_peaks(), vec![]);
}

#[test]
fn removing_a_tenant_returns_its_licenses() {
    let mut pool: LicensePool<u32> = LicensePool::new();
    pool.load(license("d", &[(DESKTOP, 2)], None), TODAY)
        .unwrap();
    pool.restore_tenant(1);
    pool.restore_tenant(2);
    pool.set_limits(&2, &limits(None, 1), TODAY).unwrap();
    pool.try_acquire(&1, ClientType::Desktop, TODAY).unwrap();
    pool.remove_tenant(&2);
    pool.try_acquire(&1, ClientType::Desktop, TODAY).unwrap();
    pool.remove_tenant(&1);
    assert_eq!(pool.in_use(LicenseType::Desktop), 0);
}

// ---- property test: random sequences against the rules ----

#[derive(Debug, Clone)]
enum Op {
    Load {
        id: u8,
        quantity: u32,
        expires_in: Option<i64>,
    },
    Unload {
        id: u8,
    },
    SetLimits {
        tenant: u8,
        cap: Option<u32>,
        reserved: u32,
    },
    Acquire {
        tenant: u8,
    },
    Release {
        tenant: u8,
    },
    NextDay,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..6, 1u32..6, proptest::option::of(0i64..4)).prop_map(|(id, quantity, expires_in)| {
            Op::Load {
                id,
                quantity,
                expires_in,
            }
        }),
        (0u8..6).prop_map(|id| Op::Unload { id }),
        (0u8..3, proptest::option::of(0u32..6), 0u32..4).prop_map(|(tenant, cap, reserved)| {
            Op::SetLimits {
                tenant,
                cap,
                reserved,
            }
        }),
        (0u8..3).prop_map(|tenant| Op::Acquire { tenant }),
        (0u8..3).prop_map(|tenant| Op::Acquire { tenant }),
        (0u8..3).prop_map(|tenant| Op::Release { tenant }),
        Just(Op::NextDay),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_respect_caps_pool_and_reservations(ops in proptest::collection::vec(op(), 1..80)) {
        let mut pool: LicensePool<u8> = LicensePool::new();
        let mut today = TODAY;
        // The loaded licenses as this test models them (id → quantity, last day it counts),
        // so that the expected pool size never comes from the code under test.
        let mut loaded: BTreeMap<u8, (u32, Option<Date>)> = BTreeMap::new();
        let model_total = |loaded: &BTreeMap<u8, (u32, Option<Date>)>, today: Date| -> u32 {
            loaded
                .values()
                .filter(|(_, expires)| expires.is_none_or(|last| last >= today))
                .map(|(quantity, _)| quantity)
                .sum()
        };
        let mut held = [0u32; 3];
        let mut caps: [Option<u32>; 3] = [None; 3];
        let mut reserved = [0u32; 3];
        for tenant in 0..3 {
            pool.restore_tenant(tenant);
        }
        for op in ops {
            match op {
                Op::Load { id, quantity, expires_in } => {
                    let expires = expires_in.map(|days| today + time::Duration::days(days));
                    let result = pool.load(license(&id.to_string(), &[(DESKTOP, quantity)], expires), today);
                    match result {
                        Ok(_) => {
                            prop_assert!(!loaded.contains_key(&id), "a duplicate id was loaded");
                            loaded.insert(id, (quantity, expires));
                        }
                        Err(PoolError::DuplicateLicense(_)) => prop_assert!(loaded.contains_key(&id)),
                        Err(other) => prop_assert!(false, "load refused: {other}"),
                    }
                }
                Op::Unload { id } => {
                    let without: u32 = {
                        let mut rest = loaded.clone();
                        rest.remove(&id);
                        model_total(&rest, today)
                    };
                    match pool.unload(&id.to_string(), today) {
                        // Refused only when taking the license away would leave the
                        // reservations above the pool (an expired one takes nothing away).
                        Ok(_) => {
                            let before = model_total(&loaded, today);
                            prop_assert!(loaded.remove(&id).is_some(), "an unknown license was unloaded");
                            prop_assert!(reserved.iter().sum::<u32>() <= without || without == before);
                        }
                        Err(PoolError::UnknownLicense(_)) => prop_assert!(!loaded.contains_key(&id)),
                        Err(PoolError::ReservationsExceedPool { .. }) => {
                            prop_assert!(reserved.iter().sum::<u32>() > without);
                            prop_assert!(without < model_total(&loaded, today));
                        }
                        Err(other) => prop_assert!(false, "unload refused: {other}"),
                    }
                }
                Op::SetLimits { tenant, cap, reserved: r } => {
                    let others: u32 = (0..3).filter(|o| *o != tenant as usize).map(|o| reserved[o]).sum();
                    match pool.set_limits(&tenant, &limits(cap, r), today) {
                        // Taking a reservation away is always allowed, even when expiry
                        // left the others' reservations above the pool.
                        Ok(()) => {
                            prop_assert!(r == 0 || others + r <= model_total(&loaded, today));
                            caps[tenant as usize] = cap;
                            reserved[tenant as usize] = r;
                        }
                        // Refused only for a reason the model sees too.
                        Err(PoolError::ReservationsExceedPool { .. }) => {
                            prop_assert!(r > 0 && others + r > model_total(&loaded, today));
                        }
                        Err(_) => prop_assert!(cap.is_some_and(|cap| cap < r)),
                    }
                }
                Op::Acquire { tenant } => {
                    let t = tenant as usize;
                    let total = model_total(&loaded, today);
                    prop_assert_eq!(pool.total(LicenseType::Desktop, today), total);
                    // What the rules say should happen, decided without the pool.
                    let held_sum: u32 = held.iter().sum();
                    let others_unmet: u32 = (0..3)
                        .filter(|o| *o != t)
                        .map(|o| reserved[o].saturating_sub(held[o]))
                        .sum();
                    let expected = if caps[t].is_some_and(|cap| held[t] >= cap) {
                        "tenant_cap_reached"
                    } else if held_sum >= total {
                        "pool_exhausted"
                    } else if held[t] >= reserved[t] && total - held_sum <= others_unmet {
                        "reserved_for_others"
                    } else {
                        "granted"
                    };
                    let result = pool.try_acquire(&tenant, ClientType::Desktop, today);
                    let outcome = match &result {
                        Ok(()) => "granted",
                        Err(PoolError::TenantCapReached { .. }) => "tenant_cap_reached",
                        Err(PoolError::PoolExhausted { .. }) => "pool_exhausted",
                        Err(PoolError::ReservedForOthers { .. }) => "reserved_for_others",
                        Err(other) => other.code(),
                    };
                    prop_assert_eq!(outcome, expected, "held {:?} reserved {:?} caps {:?} total {}", held, reserved, caps, total);
                    match result {
                        Ok(()) => {
                            held[t] += 1;
                            // A grant never goes past the cap or the pool.
                            if let Some(cap) = caps[t] {
                                prop_assert!(held[t] <= cap);
                            }
                            prop_assert!(held.iter().sum::<u32>() <= total);
                        }
                        Err(PoolError::TenantCapReached { .. }) => {
                            prop_assert!(caps[t].is_some_and(|cap| held[t] >= cap));
                        }
                        Err(_) => {
                            // A tenant below its reservation is only ever refused when
                            // someone else holds more than their reservation, or the
                            // pool shrank (expiry) under the reservations.
                            if held[t] < reserved[t] {
                                let others_over = (0..3).any(|o| o != t && held[o] > reserved[o]);
                                let shrunk = reserved.iter().sum::<u32>() > total;
                                prop_assert!(others_over || shrunk,
                                    "tenant {t} refused below its reservation: held {held:?} reserved {reserved:?} total {total}");
                            }
                        }
                    }
                }
                Op::Release { tenant } => {
                    let t = tenant as usize;
                    prop_assert_eq!(pool.release(&tenant, ClientType::Desktop), held[t] > 0);
                    held[t] = held[t].saturating_sub(1);
                }
                Op::NextDay => today = today.next_day().unwrap_or(today),
            }
            // The pool's books always match what was granted.
            prop_assert_eq!(pool.in_use(LicenseType::Desktop), held.iter().sum::<u32>());
            let usage: u32 = (0u8..3)
                .map(|t| pool.tenant_usage(&t).unwrap()[0].in_use)
                .sum();
            prop_assert_eq!(usage, held.iter().sum::<u32>());
            // Reservations never exceed the pool except when expiry shrank it.
            let unmet: u32 = (0..3).map(|t| reserved[t].saturating_sub(held[t])).sum();
            prop_assert_eq!(pool.unmet_reservations[LicenseType::Desktop.index()], unmet);
        }
    }
}

proptest! {
    /// Use counted elsewhere (several servers) and set at once decides the next grant
    /// exactly as the same use taken here one license at a time.
    #[test]
    fn use_set_from_outside_decides_like_use_taken_here(
        pool_size in 1u32..8,
        limits_by_tenant in proptest::collection::vec((proptest::option::of(0u32..5), 0u32..3), 3),
        takers in proptest::collection::vec(0u8..3, 0..12),
    ) {
        let mut here: LicensePool<u8> = LicensePool::new();
        here.load(license("d", &[(DESKTOP, pool_size)], None), TODAY).unwrap();
        for (tenant, (cap, reserved)) in limits_by_tenant.iter().enumerate() {
            let tenant = u8::try_from(tenant).unwrap();
            here.restore_tenant(tenant);
            here.restore_limits(&tenant, &limits(*cap, *reserved));
        }
        let mut elsewhere = here.clone();
        let mut counted: BTreeMap<u8, u32> = BTreeMap::new();
        for tenant in takers {
            if here.try_acquire(&tenant, ClientType::Desktop, TODAY).is_ok() {
                *counted.entry(tenant).or_default() += 1;
            }
        }
        elsewhere.set_in_use(ClientType::Desktop, &counted);
        prop_assert_eq!(elsewhere.in_use(LicenseType::Desktop), here.in_use(LicenseType::Desktop));
        for tenant in 0..3u8 {
            let a = here.clone().try_acquire(&tenant, ClientType::Desktop, TODAY);
            let b = elsewhere.clone().try_acquire(&tenant, ClientType::Desktop, TODAY);
            prop_assert_eq!(a, b, "tenant {}", tenant);
        }
    }
}
