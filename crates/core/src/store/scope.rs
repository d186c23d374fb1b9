//! [`TenantScope`]: one tenant's records, the tenant bound once.

use super::{
    CallLog, Contacts, Devices, Presence, Registrations, Sites, Store, StoreResult, Users,
};
use crate::ids::{TenantId, UserId};
use crate::model::NumberName;

/// The records of one tenant, from `store.tenant(id)`. Each accessor is a small handle whose
/// methods take no tenant: a tenant-scoped query cannot be written without its tenant, and
/// a write refuses a record naming another tenant.
#[derive(Clone, Copy)]
pub struct TenantScope<'s> {
    store: &'s dyn Store,
    tenant: TenantId,
}

impl<'s> TenantScope<'s> {
    pub(super) fn new(store: &'s dyn Store, tenant: TenantId) -> Self {
        TenantScope { store, tenant }
    }

    pub fn users(self) -> Users<'s> {
        Users {
            store: self.store,
            tenant: self.tenant,
        }
    }

    pub fn sites(self) -> Sites<'s> {
        Sites {
            store: self.store,
            tenant: self.tenant,
        }
    }

    pub fn devices(self) -> Devices<'s> {
        Devices {
            store: self.store,
            tenant: self.tenant,
        }
    }

    /// `owner` None: the tenant's shared contacts; else that user's own.
    pub fn contacts(self, owner: Option<UserId>) -> Contacts<'s> {
        Contacts {
            store: self.store,
            tenant: self.tenant,
            owner,
        }
    }

    pub fn presence(self) -> Presence<'s> {
        Presence {
            store: self.store,
            tenant: self.tenant,
        }
    }

    /// Its handsets' SIP registrations.
    pub fn registrations(self) -> Registrations<'s> {
        Registrations {
            store: self.store,
            tenant: self.tenant,
        }
    }

    pub fn call_log(self) -> CallLog<'s> {
        CallLog {
            store: self.store,
            tenant: self.tenant,
        }
    }

    /// Every number of the tenant's contacts, shared and personal, with its contact's name
    /// and owner (the caller-name index is built from it).
    pub async fn contact_numbers(self) -> StoreResult<Vec<NumberName>> {
        self.store.contact_numbers(self.tenant).await
    }
}
