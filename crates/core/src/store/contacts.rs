//! Directory contacts of a tenant: shared ones (no owner) and each user's own.

use async_trait::async_trait;

use super::{Store, StoreError, StoreResult, check_tenant};
use crate::ids::{TenantId, UserId};
use crate::model::{Contact, NumberName};

/// Reached through [`Contacts`] (`store.tenant(id).contacts(owner)`), which supplies the
/// tenant and the owner. `owner` None: the tenant's shared contacts; a contact of another
/// owner is reported like one that does not exist.
#[async_trait]
pub trait ContactStore: Send + Sync {
    async fn contacts(&self, tenant: TenantId, owner: Option<UserId>) -> StoreResult<Vec<Contact>>;
    /// How many contacts `contacts` would list (for quotas).
    async fn count_contacts(&self, tenant: TenantId, owner: Option<UserId>) -> StoreResult<u64>;
    async fn contact(
        &self,
        tenant: TenantId,
        owner: Option<UserId>,
        id: &str,
    ) -> StoreResult<Contact>;
    async fn insert_contacts(&self, tenant: TenantId, contacts: &[Contact]) -> StoreResult<()>;
    async fn update_contact(
        &self,
        tenant: TenantId,
        owner: Option<UserId>,
        contact: &Contact,
    ) -> StoreResult<()>;
    async fn delete_contact(
        &self,
        tenant: TenantId,
        owner: Option<UserId>,
        id: &str,
    ) -> StoreResult<()>;
    /// The name of the tenant contact (or `owner`'s personal contact) with this number.
    async fn contact_name(
        &self,
        tenant: TenantId,
        owner: Option<UserId>,
        number: &str,
    ) -> StoreResult<Option<String>>;
    /// Every number of the tenant's contacts, shared and personal, with its contact's name
    /// (the caller-name index is built from it).
    async fn contact_numbers(&self, tenant: TenantId) -> StoreResult<Vec<NumberName>>;
}

/// One tenant's shared contacts (owner None) or one user's own.
#[derive(Clone, Copy)]
pub struct Contacts<'s> {
    pub(super) store: &'s dyn Store,
    pub(super) tenant: TenantId,
    pub(super) owner: Option<UserId>,
}

impl Contacts<'_> {
    /// By name.
    pub async fn list(&self) -> StoreResult<Vec<Contact>> {
        self.store.contacts(self.tenant, self.owner).await
    }

    /// How many `list` would return (for quotas).
    pub async fn count(&self) -> StoreResult<u64> {
        self.store.count_contacts(self.tenant, self.owner).await
    }

    pub async fn get(&self, id: &str) -> StoreResult<Contact> {
        self.store.contact(self.tenant, self.owner, id).await
    }

    /// All or none; refuses the lot if a contact names another tenant or owner.
    pub async fn insert(&self, contacts: &[Contact]) -> StoreResult<()> {
        for contact in contacts {
            self.check(contact)?;
        }
        self.store.insert_contacts(self.tenant, contacts).await
    }

    /// Only a contact of this scope's owner is updated (else `NotFound`); refuses a contact
    /// naming another tenant or owner.
    pub async fn update(&self, contact: &Contact) -> StoreResult<()> {
        self.check(contact)?;
        self.store
            .update_contact(self.tenant, self.owner, contact)
            .await
    }

    pub async fn delete(&self, id: &str) -> StoreResult<()> {
        self.store.delete_contact(self.tenant, self.owner, id).await
    }

    /// The name this scope's owner knows `number` by: their own contact's first, else a
    /// shared contact's.
    pub async fn name_of(&self, number: &str) -> StoreResult<Option<String>> {
        self.store
            .contact_name(self.tenant, self.owner, number)
            .await
    }

    fn check(&self, contact: &Contact) -> StoreResult<()> {
        check_tenant(self.tenant, contact.tenant_id)?;
        if contact.owner_id == self.owner {
            Ok(())
        } else {
            Err(StoreError::TenantMismatch)
        }
    }
}
