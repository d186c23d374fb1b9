//! The server's license service: the pool (crate `license`) behind one lock, the session
//! leases (one license per user and type, shared by that user's sessions), and the
//! hourly usage peaks written to the store for billing.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use license::{ClientType, License, LicensePool, LicenseType, Limit, PoolError};
use time::Date;
use ucplus_core::{Store, StoreResult, TenantId, TenantLimits, Timestamp, UsageSample, UserId};

const HOUR_MS: i64 = 3_600_000;

struct Lease {
    tenant: TenantId,
    sessions: u32,
}

struct State {
    pool: LicensePool<TenantId>,
    leases: HashMap<(UserId, ClientType), Lease>,
}

/// See the module documentation.
pub struct Licensing {
    state: Mutex<State>,
    clock: Clock,
}

/// The wall clock's date, for the command-line license tools.
pub fn today() -> Date {
    Timestamp::now().date()
}

/// The clock license expiry is judged by: the wall clock, which a test can move forward
/// (every clone shares the offset).
#[derive(Debug, Clone, Default)]
pub struct Clock(Arc<AtomicI64>);

impl Clock {
    pub fn now(&self) -> Timestamp {
        Timestamp(
            Timestamp::now()
                .0
                .saturating_add(self.0.load(Ordering::Relaxed)),
        )
    }

    pub fn today(&self) -> Date {
        self.now().date()
    }

    /// Moves this clock `ms` milliseconds ahead of the wall clock.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::Relaxed);
    }
}

impl Default for Licensing {
    fn default() -> Self {
        Licensing::new(Clock::default())
    }
}

impl Licensing {
    pub fn new(clock: Clock) -> Licensing {
        Licensing {
            state: Mutex::new(State {
                pool: LicensePool::new(),
                leases: HashMap::new(),
            }),
            clock,
        }
    }

    /// Today, by the clock licenses expire by.
    pub fn today(&self) -> Date {
        self.clock.today()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the pool under the lock. Keep `f` short: logins wait on this lock.
    pub fn read_pool<R>(&self, f: impl FnOnce(&LicensePool<TenantId>) -> R) -> R {
        f(&self.lock().pool)
    }

    /// Changes the pool under the lock and republishes the license gauges.
    pub fn with_pool<R>(&self, f: impl FnOnce(&mut LicensePool<TenantId>) -> R) -> R {
        let mut state = self.lock();
        let result = f(&mut state.pool);
        publish_gauges(&state.pool, self.today());
        result
    }

    /// Takes `client` for a session of `user`, or joins the license the user already holds.
    pub fn acquire(
        &self,
        tenant: TenantId,
        user: UserId,
        client: ClientType,
    ) -> Result<(), PoolError> {
        let mut state = self.lock();
        let shares = state.leases.contains_key(&(user, client));
        self.take(&mut state, tenant, user, client, shares)
    }

    /// Adds a session to the user's lease of `client`: a share of the seat they hold
    /// (`shares`), else a new seat from the pool.
    fn take(
        &self,
        state: &mut State,
        tenant: TenantId,
        user: UserId,
        client: ClientType,
        shares: bool,
    ) -> Result<(), PoolError> {
        if !shares {
            state.pool.try_acquire(&tenant, client, self.today())?;
            publish_gauges(&state.pool, self.clock.today());
        }
        state
            .leases
            .entry((user, client))
            .or_insert(Lease {
                tenant,
                sessions: 0,
            })
            .sessions += 1;
        Ok(())
    }

    /// Several nodes: takes `client` for a session of `user` against the seats in use across
    /// the cluster (`seats`, counted under the type's lock), by the same pool rules. A user
    /// who holds the type already shares that seat.
    pub fn acquire_in_cluster(
        &self,
        tenant: TenantId,
        user: UserId,
        client: ClientType,
        by_tenant: &BTreeMap<TenantId, u32>,
        user_holds: bool,
    ) -> Result<(), PoolError> {
        let mut state = self.lock();
        state.pool.set_in_use(client, by_tenant);
        let shares = user_holds || state.leases.contains_key(&(user, client));
        self.take(&mut state, tenant, user, client, shares)
    }

    /// Several nodes: may the seat of a session this node holds (or takes on) be granted
    /// again against the cluster's use (`by_tenant`, counted without it under the type's
    /// lock), by the pool rules? Its lease here is not touched.
    pub fn admit_in_cluster(
        &self,
        tenant: TenantId,
        client: ClientType,
        by_tenant: &BTreeMap<TenantId, u32>,
        user_holds: bool,
    ) -> Result<(), PoolError> {
        let mut state = self.lock();
        state.pool.set_in_use(client, by_tenant);
        if user_holds {
            return Ok(());
        }
        state.pool.try_acquire(&tenant, client, self.today())
    }

    /// Several nodes: a session whose seat the cluster already counts (restored after a
    /// restart, or adopted from another node) keeps its lease here without a new grant.
    pub fn hold(&self, tenant: TenantId, user: UserId, client: ClientType) {
        // Sharing takes nothing from the pool, so it cannot fail.
        let _ = self.take(&mut self.lock(), tenant, user, client, true);
    }

    /// Several nodes: the seats in use across the cluster (per client type name and
    /// tenant), so the pool this node shows and grants from is the cluster's.
    pub fn set_cluster_use(&self, seats: &BTreeMap<String, BTreeMap<TenantId, u32>>) {
        let mut state = self.lock();
        for client in ClientType::ALL {
            let empty = BTreeMap::new();
            let by_tenant = seats.get(client.as_str()).unwrap_or(&empty);
            state.pool.set_in_use(client, by_tenant);
        }
        publish_gauges(&state.pool, self.clock.today());
    }

    /// A session of `user` holding `client` ended; the last one returns the license.
    pub fn release(&self, user: UserId, client: ClientType) {
        let mut state = self.lock();
        let State { pool, leases } = &mut *state;
        let Some(lease) = leases.get_mut(&(user, client)) else {
            return;
        };
        lease.sessions = lease.sessions.saturating_sub(1);
        if lease.sessions == 0 {
            pool.release(&lease.tenant, client);
            leases.remove(&(user, client));
            publish_gauges(pool, self.clock.today());
        }
    }

    /// Puts a pool rebuilt from the store in place (licenses, tenants or limits changed on
    /// another node); the sessions' leases stay.
    pub fn replace_pool(&self, pool: LicensePool<TenantId>) {
        let mut state = self.lock();
        state.pool = pool;
        publish_gauges(&state.pool, self.clock.today());
    }

    /// Does `user` hold a `client` license right now?
    pub fn holds(&self, user: UserId, client: ClientType) -> bool {
        self.lock().leases.contains_key(&(user, client))
    }

    /// Forgets a deleted tenant: its slot, its holdings and its leases.
    pub fn remove_tenant(&self, tenant: TenantId) {
        let mut state = self.lock();
        state.pool.remove_tenant(&tenant);
        state.leases.retain(|_, lease| lease.tenant != tenant);
        publish_gauges(&state.pool, self.clock.today());
    }

    /// Writes the peaks since the last flush into this hour's usage rows, and refreshes
    /// the license gauges.
    pub async fn flush_usage(&self, store: &dyn Store) -> StoreResult<()> {
        let peaks = {
            let mut state = self.lock();
            // Also the periodic refresh of the gauges: licenses expire by the calendar.
            publish_gauges(&state.pool, self.clock.today());
            state.pool.take_peaks()
        };
        if peaks.is_empty() {
            return Ok(());
        }
        let hour = Timestamp::now().0.div_euclid(HOUR_MS) * HOUR_MS;
        let samples: Vec<UsageSample> = peaks
            .into_iter()
            .map(|(tenant, client, peak)| UsageSample {
                tenant_id: tenant,
                license_type: client.as_str().to_string(),
                hour,
                peak,
            })
            .collect();
        store.record_usage(&samples).await
    }
}

/// Store form → pool form of a tenant's limits. Unknown type names are skipped (they were
/// validated when written).
pub fn limits_from_store(limits: &TenantLimits) -> BTreeMap<ClientType, Limit> {
    limits
        .iter()
        .filter_map(|(name, limit)| {
            let client: ClientType = name.parse().ok()?;
            Some((
                client,
                Limit {
                    cap: limit.cap,
                    reserved: limit.reserved,
                },
            ))
        })
        .collect()
}

/// Re-verifies persisted licenses at start-up; a license that no longer verifies (its key
/// was removed from the trusted keys) is skipped with a warning, not fatal.
/// A stored license that no trusted key verifies (or bound to another system).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct UnverifiedLicense {
    pub id: String,
    /// The refusal code, e.g. `invalid_signature` or `wrong_system`.
    pub code: &'static str,
    pub reason: String,
}

/// The stored licenses that verify, and those that do not (not counted).
pub fn restore_licenses(
    texts: &[(String, String)],
    trusted: &[license::PublicKey],
    system_id: &str,
) -> (Vec<License>, Vec<UnverifiedLicense>) {
    let mut verified = Vec::new();
    let mut unverified = Vec::new();
    for (id, text) in texts {
        let checked = License::verify(text, trusted)
            .and_then(|license| license.check_system(system_id).map(|()| license));
        match checked {
            Ok(license) => verified.push(license),
            Err(error) => {
                tracing::warn!(license = %id, %error, "a stored license no longer verifies; it is not counted");
                unverified.push(UnverifiedLicense {
                    id: id.clone(),
                    code: error.code(),
                    reason: error.to_string(),
                });
            }
        }
    }
    (verified, unverified)
}

fn publish_gauges(pool: &LicensePool<TenantId>, day: Date) {
    for t in LicenseType::ALL {
        metrics::gauge!("ucplus_licenses_total", "type" => t.as_str()).set(pool.total(t, day));
        metrics::gauge!("ucplus_licenses_in_use", "type" => t.as_str()).set(pool.in_use(t));
    }
}
