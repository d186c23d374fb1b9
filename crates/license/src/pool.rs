//! License pool accounting: one pool per license type for the whole server, per-tenant caps
//! and reservations, and tenant slots.
//!
//! Rules (see PRODUCT.md):
//! - A pool's size is the sum of the loaded licenses that have not expired. Expired licenses
//!   stop counting, but whoever holds a license keeps it until they release it.
//! - A tenant never holds more than its cap; the server never hands out more than the pool.
//! - Reservations are guaranteed minimums: they sum to at most the pool, and a grant to one
//!   tenant never eats into what another tenant still has reserved.
//! - Multi-tenant mode needs a starter pack; `tenant` licenses load only with one present;
//!   the number of tenants never exceeds the tenant licenses.

use std::collections::BTreeMap;

use time::Date;

use crate::file::License;
use crate::types::{ClientType, LicenseType};

const TYPES: usize = LicenseType::ALL.len();

/// A tenant's limit for one client license type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limit {
    /// At most this many held at once; `None` means only the pool limits the tenant.
    pub cap: Option<u32>,
    /// Guaranteed minimum, kept free for this tenant.
    pub reserved: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    SingleTenant,
    MultiTenant,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::SingleTenant => "single_tenant",
            Mode::MultiTenant => "multi_tenant",
        }
    }
}

/// Why the pool refused an operation. [`PoolError::code`] is the stable API code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    #[error("license {0} is already loaded")]
    DuplicateLicense(String),
    #[error("the license expired on {0}")]
    LicenseExpired(Date),
    #[error(
        "tenant licenses need a multi-tenant starter pack (mt-starter-5 or mt-starter-20) loaded first"
    )]
    StarterPackRequired,
    #[error(
        "the last starter pack cannot be unloaded while tenant licenses are loaded; unload them first"
    )]
    StarterPackStillNeeded,
    #[error("no license with id {0} is loaded")]
    UnknownLicense(String),
    #[error(
        "creating tenants needs multi-tenant mode: load a starter pack (mt-starter-5 or mt-starter-20)"
    )]
    MultiTenantNotLicensed,
    #[error("all {total} tenant licenses are in use by {tenants} tenants")]
    TenantLicensesExhausted { total: u32, tenants: u32 },
    #[error(
        "{tenants} tenants exist but only {remaining} tenant licenses would remain; delete tenants first"
    )]
    TenantsWouldExceedLicenses { tenants: u32, remaining: u32 },
    #[error("{license_type} reservations would total {reserved} but the pool has {pool}")]
    ReservationsExceedPool {
        license_type: LicenseType,
        reserved: u32,
        pool: u32,
    },
    #[error("the {license_type} reservation ({reserved}) is larger than the cap ({cap})")]
    ReservationAboveCap {
        license_type: LicenseType,
        reserved: u32,
        cap: u32,
    },
    #[error("all {license_type} licenses are in use (pool of {total})")]
    PoolExhausted {
        license_type: LicenseType,
        total: u32,
    },
    #[error("the free {license_type} licenses are reserved for other tenants")]
    ReservedForOthers { license_type: LicenseType },
    #[error("the tenant already uses all {cap} of its {license_type} licenses")]
    TenantCapReached { license_type: LicenseType, cap: u32 },
    #[error("unknown tenant")]
    UnknownTenant,
}

impl PoolError {
    pub fn code(&self) -> &'static str {
        match self {
            PoolError::DuplicateLicense(_) => "duplicate_license",
            PoolError::LicenseExpired(_) => "license_expired",
            PoolError::StarterPackRequired | PoolError::StarterPackStillNeeded => {
                "starter_pack_required"
            }
            PoolError::UnknownLicense(_) | PoolError::UnknownTenant => "not_found",
            PoolError::MultiTenantNotLicensed => "multi_tenant_not_licensed",
            PoolError::TenantLicensesExhausted { .. }
            | PoolError::TenantsWouldExceedLicenses { .. } => "tenant_licenses_exhausted",
            PoolError::ReservationsExceedPool { .. } => "reservations_exceed_pool",
            PoolError::ReservationAboveCap { .. } => "validation_failed",
            PoolError::PoolExhausted { .. } | PoolError::ReservedForOthers { .. } => {
                "pool_exhausted"
            }
            PoolError::TenantCapReached { .. } => "tenant_cap_reached",
        }
    }
}

#[derive(Debug, Clone, Default)]
struct TenantAccount {
    limits: [Limit; TYPES],
    in_use: [u32; TYPES],
    /// Highest `in_use` since the last [`LicensePool::take_peaks`].
    peak: [u32; TYPES],
}

impl TenantAccount {
    fn unmet_reservation(&self, t: LicenseType) -> u32 {
        self.limits[t.index()]
            .reserved
            .saturating_sub(self.in_use[t.index()])
    }
}

/// Current use of one client type by one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantUsage {
    pub client: ClientType,
    pub limit: Limit,
    pub in_use: u32,
}

/// Size and use of one pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSummary {
    pub license_type: LicenseType,
    pub total: u32,
    pub in_use: u32,
}

/// The server-wide license pool. `T` identifies a tenant.
#[derive(Debug, Clone)]
pub struct LicensePool<T> {
    licenses: BTreeMap<String, License>,
    tenants: BTreeMap<T, TenantAccount>,
    in_use: [u32; TYPES],
    /// Sum over tenants of what they have reserved but do not hold yet, per type.
    unmet_reservations: [u32; TYPES],
}

impl<T: Ord + Clone> Default for LicensePool<T> {
    fn default() -> Self {
        LicensePool {
            licenses: BTreeMap::new(),
            tenants: BTreeMap::new(),
            in_use: [0; TYPES],
            unmet_reservations: [0; TYPES],
        }
    }
}

impl<T: Ord + Clone> LicensePool<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Multi-tenant once a starter pack is loaded (expired or not: tenants that exist keep
    /// working, the pack just stops adding tenant licenses).
    pub fn mode(&self) -> Mode {
        if self.licenses.values().any(License::has_starter_pack) {
            Mode::MultiTenant
        } else {
            Mode::SingleTenant
        }
    }

    pub fn licenses(&self) -> impl Iterator<Item = &License> {
        self.licenses.values()
    }

    pub fn license(&self, id: &str) -> Option<&License> {
        self.licenses.get(id)
    }

    /// Pool size of `t`: the sum over loaded, unexpired licenses.
    pub fn total(&self, t: LicenseType, today: Date) -> u32 {
        self.total_over(self.licenses.values(), t, today)
    }

    fn total_over<'a>(
        &self,
        licenses: impl Iterator<Item = &'a License>,
        t: LicenseType,
        today: Date,
    ) -> u32 {
        licenses
            .filter(|license| !license.is_expired(today))
            .flat_map(|license| license.items.iter())
            .filter_map(|(item, quantity)| {
                let (pool, unit) = item.contribution();
                (pool == t).then(|| quantity.saturating_mul(unit))
            })
            .fold(0u32, u32::saturating_add)
    }

    pub fn in_use(&self, t: LicenseType) -> u32 {
        self.in_use[t.index()]
    }

    pub fn summary(&self, today: Date) -> Vec<PoolSummary> {
        LicenseType::ALL
            .into_iter()
            .map(|t| PoolSummary {
                license_type: t,
                total: self.total(t, today),
                in_use: self.in_use(t),
            })
            .collect()
    }

    /// Adds a verified license (signature and system binding are the caller's checks).
    pub fn load(&mut self, license: License, today: Date) -> Result<(), PoolError> {
        if self.licenses.contains_key(&license.id) {
            return Err(PoolError::DuplicateLicense(license.id));
        }
        if let Some(last_day) = license.expires.filter(|_| license.is_expired(today)) {
            return Err(PoolError::LicenseExpired(last_day));
        }
        let adds_tenants = license
            .items
            .keys()
            .any(|item| *item == crate::ItemType::Pool(LicenseType::Tenant));
        if adds_tenants && self.mode() == Mode::SingleTenant && !license.has_starter_pack() {
            return Err(PoolError::StarterPackRequired);
        }
        self.licenses.insert(license.id.clone(), license);
        Ok(())
    }

    /// Re-adds a license that was loaded before a restart, even if it has expired since.
    pub fn restore(&mut self, license: License) {
        self.licenses.insert(license.id.clone(), license);
    }

    /// Removes a license. Refused when it would strand tenants or reservations.
    pub fn unload(&mut self, id: &str, today: Date) -> Result<License, PoolError> {
        let license = self
            .licenses
            .get(id)
            .ok_or_else(|| PoolError::UnknownLicense(id.to_string()))?;
        let remaining = || self.licenses.values().filter(|l| l.id != id);
        if license.has_starter_pack() && !remaining().any(License::has_starter_pack) {
            if remaining().any(|l| {
                l.items
                    .keys()
                    .any(|i| i.contribution().0 == LicenseType::Tenant)
            }) {
                return Err(PoolError::StarterPackStillNeeded);
            }
            let tenants = self.tenant_count();
            if tenants > 1 {
                return Err(PoolError::TenantsWouldExceedLicenses {
                    tenants,
                    remaining: 0,
                });
            }
        }
        for t in LicenseType::ALL {
            let before = self.total(t, today);
            let after = self.total_over(remaining(), t, today);
            if after >= before {
                continue;
            }
            if t == LicenseType::Tenant && self.mode() == Mode::MultiTenant {
                let tenants = self.tenant_count();
                if tenants > after {
                    return Err(PoolError::TenantsWouldExceedLicenses {
                        tenants,
                        remaining: after,
                    });
                }
            }
            let reserved = self.reserved_sum(t, None);
            if reserved > after {
                return Err(PoolError::ReservationsExceedPool {
                    license_type: t,
                    reserved,
                    pool: after,
                });
            }
        }
        self.licenses
            .remove(id)
            .ok_or_else(|| PoolError::UnknownLicense(id.to_string()))
    }

    pub fn tenant_count(&self) -> u32 {
        u32::try_from(self.tenants.len()).unwrap_or(u32::MAX)
    }

    pub fn has_tenant(&self, tenant: &T) -> bool {
        self.tenants.contains_key(tenant)
    }

    /// Takes a tenant slot for a new tenant: multi-tenant mode and a free tenant license.
    pub fn add_tenant(&mut self, tenant: T, today: Date) -> Result<(), PoolError> {
        if self.tenants.contains_key(&tenant) {
            return Ok(());
        }
        self.check_new_tenant(self.tenant_count(), today)?;
        self.restore_tenant(tenant);
        Ok(())
    }

    /// May one more tenant be made when `tenants` exist (counted here, or across several
    /// servers sharing this pool)? Multi-tenant mode and a free tenant license.
    pub fn check_new_tenant(&self, tenants: u32, today: Date) -> Result<(), PoolError> {
        if self.mode() == Mode::SingleTenant {
            return Err(PoolError::MultiTenantNotLicensed);
        }
        let total = self.total(LicenseType::Tenant, today);
        if tenants >= total {
            return Err(PoolError::TenantLicensesExhausted { total, tenants });
        }
        Ok(())
    }

    /// Registers a tenant that already exists (at start-up, or the implicit default tenant).
    pub fn restore_tenant(&mut self, tenant: T) {
        self.tenants.entry(tenant).or_default();
        self.in_use[LicenseType::Tenant.index()] = self.tenant_count();
    }

    /// Removes a tenant and releases everything it held.
    pub fn remove_tenant(&mut self, tenant: &T) {
        if let Some(account) = self.tenants.remove(tenant) {
            for t in LicenseType::ALL {
                self.in_use[t.index()] -= account.in_use[t.index()];
                self.unmet_reservations[t.index()] -= account.unmet_reservation(t);
            }
        }
        self.in_use[LicenseType::Tenant.index()] = self.tenant_count();
    }

    pub fn limits(&self, tenant: &T) -> Option<BTreeMap<ClientType, Limit>> {
        let account = self.tenants.get(tenant)?;
        Some(
            ClientType::ALL
                .into_iter()
                .map(|c| (c, account.limits[c.license_type().index()]))
                .collect(),
        )
    }

    /// Replaces a tenant's caps and reservations; types not given get no cap and no
    /// reservation. Caps below current use are allowed: holders keep their licenses.
    pub fn set_limits(
        &mut self,
        tenant: &T,
        limits: &BTreeMap<ClientType, Limit>,
        today: Date,
    ) -> Result<(), PoolError> {
        if !self.tenants.contains_key(tenant) {
            return Err(PoolError::UnknownTenant);
        }
        for (client, limit) in limits {
            let t = client.license_type();
            if let Some(cap) = limit.cap.filter(|cap| limit.reserved > *cap) {
                return Err(PoolError::ReservationAboveCap {
                    license_type: t,
                    reserved: limit.reserved,
                    cap,
                });
            }
        }
        for client in ClientType::ALL {
            let t = client.license_type();
            let new = limits.get(&client).map_or(0, |l| l.reserved);
            let reserved = self.reserved_sum(t, Some(tenant)).saturating_add(new);
            let pool = self.total(t, today);
            if new > 0 && reserved > pool {
                return Err(PoolError::ReservationsExceedPool {
                    license_type: t,
                    reserved,
                    pool,
                });
            }
        }
        self.restore_limits(tenant, limits);
        Ok(())
    }

    /// Restores limits saved before a restart without re-checking them against the pool
    /// (which may have shrunk through expiry since).
    pub fn restore_limits(&mut self, tenant: &T, limits: &BTreeMap<ClientType, Limit>) {
        let Some(account) = self.tenants.get_mut(tenant) else {
            return;
        };
        for client in ClientType::ALL {
            let t = client.license_type();
            self.unmet_reservations[t.index()] -= account.unmet_reservation(t);
            account.limits[t.index()] = limits.get(&client).copied().unwrap_or_default();
            self.unmet_reservations[t.index()] += account.unmet_reservation(t);
        }
    }

    fn reserved_sum(&self, t: LicenseType, except: Option<&T>) -> u32 {
        self.tenants
            .iter()
            .filter(|(id, _)| Some(*id) != except)
            .map(|(_, account)| account.limits[t.index()].reserved)
            .fold(0u32, u32::saturating_add)
    }

    /// Takes one `client` license for `tenant`, or says why not.
    pub fn try_acquire(
        &mut self,
        tenant: &T,
        client: ClientType,
        today: Date,
    ) -> Result<(), PoolError> {
        let t = client.license_type();
        let total = self.total(t, today);
        let used = self.in_use[t.index()];
        let unmet_total = self.unmet_reservations[t.index()];
        let account = self
            .tenants
            .get_mut(tenant)
            .ok_or(PoolError::UnknownTenant)?;
        let limit = account.limits[t.index()];
        let held = account.in_use[t.index()];
        if let Some(cap) = limit.cap.filter(|cap| held >= *cap) {
            return Err(PoolError::TenantCapReached {
                license_type: t,
                cap,
            });
        }
        if used >= total {
            return Err(PoolError::PoolExhausted {
                license_type: t,
                total,
            });
        }
        let own_unmet = account.unmet_reservation(t);
        if own_unmet == 0 && total - used <= unmet_total {
            return Err(PoolError::ReservedForOthers { license_type: t });
        }
        account.in_use[t.index()] = held + 1;
        account.peak[t.index()] = account.peak[t.index()].max(held + 1);
        self.in_use[t.index()] = used + 1;
        if own_unmet > 0 {
            self.unmet_reservations[t.index()] -= 1;
        }
        Ok(())
    }

    /// Sets every tenant's use of `client` to what `use_by_tenant` says (a tenant not named:
    /// none) — the use counted across several servers sharing this pool — keeping the
    /// totals, reservations and peaks consistent. Unknown tenants are skipped.
    pub fn set_in_use(&mut self, client: ClientType, use_by_tenant: &BTreeMap<T, u32>) {
        let i = client.license_type().index();
        let (mut used, mut unmet) = (0u32, 0u32);
        for (tenant, account) in &mut self.tenants {
            let held = use_by_tenant.get(tenant).copied().unwrap_or(0);
            account.in_use[i] = held;
            account.peak[i] = account.peak[i].max(held);
            used = used.saturating_add(held);
            unmet = unmet.saturating_add(account.unmet_reservation(client.license_type()));
        }
        self.in_use[i] = used;
        self.unmet_reservations[i] = unmet;
    }

    /// Returns one `client` license of `tenant` to the pool. Returns false (and changes
    /// nothing) if the tenant held none.
    pub fn release(&mut self, tenant: &T, client: ClientType) -> bool {
        let t = client.license_type();
        let Some(account) = self.tenants.get_mut(tenant) else {
            return false;
        };
        if account.in_use[t.index()] == 0 {
            return false;
        }
        account.in_use[t.index()] -= 1;
        self.in_use[t.index()] -= 1;
        if account.in_use[t.index()] < account.limits[t.index()].reserved {
            self.unmet_reservations[t.index()] += 1;
        }
        true
    }

    pub fn tenant_usage(&self, tenant: &T) -> Option<Vec<TenantUsage>> {
        let account = self.tenants.get(tenant)?;
        Some(
            ClientType::ALL
                .into_iter()
                .map(|client| {
                    let i = client.license_type().index();
                    TenantUsage {
                        client,
                        limit: account.limits[i],
                        in_use: account.in_use[i],
                    }
                })
                .collect(),
        )
    }

    /// The highest use per tenant and type since the last call, then starts a new period
    /// at the current use. Only types that were used are returned.
    pub fn take_peaks(&mut self) -> Vec<(T, ClientType, u32)> {
        let mut peaks = Vec::new();
        for (tenant, account) in &mut self.tenants {
            for client in ClientType::ALL {
                let i = client.license_type().index();
                if account.peak[i] > 0 {
                    peaks.push((tenant.clone(), client, account.peak[i]));
                }
                account.peak[i] = account.in_use[i];
            }
        }
        peaks
    }
}

#[cfg(test)]
mod tests;
