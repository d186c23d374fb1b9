//! License acquire+release pairs per second under contention, checked for exactness.
//!
//! `cargo bench -p license --bench pool`
//!
//! Threads share one `Mutex<LicensePool>` (as the server does) over 1,000 tenants with
//! caps and reservations. Each thread keeps up to `HOLD` licenses at once (releasing the
//! oldest first), so together they ask for more than a small pool has: every grant is
//! counted in an atomic "held" gauge that must never exceed the pool, a pool smaller than
//! the demand must refuse some requests and be filled to the last license, and the books
//! must balance at the end.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use license::{ClientType, ItemType, License, LicensePool, LicenseType, Limit};

const TENANTS: u32 = 1_000;
const PAIRS_PER_THREAD: u32 = 200_000;
const RUNS: usize = 5;
/// Licenses each thread holds at most at once.
const HOLD: usize = 4;

fn pool(total: u32) -> LicensePool<u32> {
    let today = time::macros::date!(2026 - 11 - 28);
    let mut pool = LicensePool::new();
    let license = License {
        id: "bench".into(),
        system_id: "bench".into(),
        customer: None,
        issued: today,
        expires: None,
        items: [(ItemType::Pool(LicenseType::Desktop), total)].into(),
        text: String::new(),
    };
    pool.load(license, today).expect("load");
    for tenant in 0..TENANTS {
        pool.restore_tenant(tenant);
        let limits: BTreeMap<ClientType, Limit> = [(
            ClientType::Desktop,
            Limit {
                cap: Some(total / 10 + 1),
                reserved: u32::from(total >= 100 && tenant % 100 == 0),
            },
        )]
        .into();
        pool.set_limits(&tenant, &limits, today).expect("limits");
    }
    pool
}

/// One run: returns pairs per second. Panics if the pool is ever exceeded, if a pool
/// smaller than the demand never refused or was never full, or if the books do not balance.
fn run(threads: u32, total: u32) -> f64 {
    let today = time::macros::date!(2026 - 11 - 28);
    let shared = Arc::new(Mutex::new(pool(total)));
    let held = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    let refused = Arc::new(AtomicU32::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|thread| {
            let (shared, held, peak, refused) =
                (shared.clone(), held.clone(), peak.clone(), refused.clone());
            std::thread::spawn(move || {
                let mut granted = 0u32;
                let mut mine: VecDeque<u32> = VecDeque::with_capacity(HOLD);
                // The gauge changes only under the pool's lock, so it always equals
                // what the pool has granted.
                let release = |tenant: u32| {
                    let mut pool = shared.lock().expect("pool");
                    assert!(
                        pool.release(&tenant, ClientType::Desktop),
                        "a held license could not be released"
                    );
                    held.fetch_sub(1, Ordering::SeqCst);
                };
                for i in 0..PAIRS_PER_THREAD {
                    if mine.len() == HOLD {
                        if let Some(oldest) = mine.pop_front() {
                            release(oldest);
                        }
                    }
                    let tenant = (i * 7 + thread * 131) % TENANTS;
                    let mut pool = shared.lock().expect("pool");
                    if pool
                        .try_acquire(&tenant, ClientType::Desktop, today)
                        .is_ok()
                    {
                        let now_held = held.fetch_add(1, Ordering::SeqCst) + 1;
                        drop(pool);
                        assert!(now_held <= total, "over the pool: {now_held} > {total}");
                        peak.fetch_max(now_held, Ordering::SeqCst);
                        granted += 1;
                        mine.push_back(tenant);
                    } else {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
                for tenant in mine {
                    release(tenant);
                }
                granted
            })
        })
        .collect();
    let granted: u32 = workers.into_iter().map(|w| w.join().expect("worker")).sum();
    let elapsed = started.elapsed().as_secs_f64();
    let pool = shared.lock().expect("pool");
    assert_eq!(pool.in_use(LicenseType::Desktop), 0, "books balance");
    assert_eq!(held.load(Ordering::SeqCst), 0, "every grant was released");
    let demand = threads * HOLD as u32;
    if demand > total {
        assert!(
            refused.load(Ordering::Relaxed) > 0,
            "a pool of {total} never refused a demand of {demand}"
        );
        assert_eq!(
            peak.load(Ordering::SeqCst),
            total,
            "a pool smaller than the demand is used to the last license"
        );
    }
    f64::from(granted) / elapsed
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    println!("license acquire+release pairs/s (median of {RUNS} runs, {TENANTS} tenants, exact)");
    println!("{:>8} {:>10} {:>14}", "threads", "pool", "pairs/s");
    for (threads, total) in [(1, 50_000), (2, 50_000), (4, 50_000), (4, 8)] {
        let rate = median((0..RUNS).map(|_| run(threads, total)).collect());
        println!("{threads:>8} {total:>10} {rate:>14.0}");
    }
}
