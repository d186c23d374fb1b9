//! The caller-name index: per tenant, every number of its directory with the contact's
//! name, kept in memory so naming a caller never waits on the database. Rebuilt for a
//! tenant whenever its contacts change; looked up like the store's `contact_name` (the
//! user's own contact first, then the tenant's shared ones, the first name in order).

use std::collections::HashMap;
use std::sync::RwLock;

use ucplus_core::{Store, StoreResult, TenantId, UserId};

/// Number → the contacts with it: (owner, name), in name order.
type Index = HashMap<String, Vec<(Option<UserId>, String)>>;

#[derive(Default)]
pub struct CallerNames {
    tenants: RwLock<HashMap<TenantId, Index>>,
}

impl CallerNames {
    /// (Re)builds one tenant's index from the store.
    pub async fn load(&self, store: &dyn Store, tenant: TenantId) -> StoreResult<()> {
        let mut index = Index::new();
        for entry in store.tenant(tenant).contact_numbers().await? {
            index
                .entry(entry.number)
                .or_default()
                .push((entry.owner_id, entry.name));
        }
        for names in index.values_mut() {
            names.sort_by(|a, b| a.1.cmp(&b.1));
        }
        self.tenants
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(tenant, index);
        Ok(())
    }

    /// Forgets a deleted tenant.
    pub fn remove(&self, tenant: TenantId) {
        self.tenants
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&tenant);
    }

    /// The name of `owner`'s own contact with this number, else of the tenant's shared one.
    pub fn name(&self, tenant: TenantId, owner: Option<UserId>, number: &str) -> Option<String> {
        let tenants = self.tenants.read().unwrap_or_else(|e| e.into_inner());
        let names = tenants.get(&tenant)?.get(number)?;
        let own = owner.and_then(|owner| names.iter().find(|(o, _)| *o == Some(owner)));
        own.or_else(|| names.iter().find(|(o, _)| o.is_none()))
            .map(|(_, name)| name.clone())
    }
}

#[cfg(test)]
mod tests {
    use ucplus_core::{Contact, ContactNumber, Tenant, Timestamp, User};
    use ucplus_store::SqlStore;

    use super::*;

    fn contact(tenant: TenantId, owner: Option<UserId>, name: &str, number: &str) -> Contact {
        Contact {
            id: ucplus_core::ids::new_uuid().to_string(),
            tenant_id: tenant,
            owner_id: owner,
            name: name.into(),
            company: None,
            email: None,
            numbers: vec![ContactNumber {
                label: None,
                number: number.into(),
            }],
            created_at: Timestamp(1),
        }
    }

    /// The index answers exactly as the store's own lookup does.
    #[tokio::test]
    async fn names_a_number_as_the_store_would() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqlStore::open_sqlite(&dir.path().join("t.db"))
            .await
            .unwrap();
        let store: &dyn Store = &sqlite;
        let (a, b) = (TenantId::new(), TenantId::new());
        for (id, slug) in [(a, "a"), (b, "b")] {
            let tenant = Tenant {
                id,
                name: slug.into(),
                slug: slug.into(),
                created_at: Timestamp(1),
            };
            store.insert_tenant(&tenant, None).await.unwrap();
        }
        let anna = User {
            id: UserId::new(),
            tenant_id: Some(a),
            username: "anna".into(),
            display_name: "Anna".into(),
            role: ucplus_core::Role::User,
            site_id: None,
            licenses: vec![],
            email: None,
            created_at: Timestamp(1),
            password_hash: "x".into(),
        };
        store.tenant(a).users().insert(&anna).await.unwrap();
        store
            .tenant(a)
            .contacts(None)
            .insert(&[
                contact(a, None, "Supplier", "+4930111"),
                contact(a, None, "Another supplier", "+4930111"),
                contact(a, None, "Taxi", "+4930222"),
            ])
            .await
            .unwrap();
        store
            .tenant(a)
            .contacts(Some(anna.id))
            .insert(&[contact(a, Some(anna.id), "Mum", "+4930111")])
            .await
            .unwrap();
        let names = CallerNames::default();
        names.load(store, a).await.unwrap();
        names.load(store, b).await.unwrap();
        for (tenant, owner, number) in [
            (a, Some(anna.id), "+4930111"),
            (a, None, "+4930111"),
            (a, Some(UserId::new()), "+4930111"),
            (a, Some(anna.id), "+4930222"),
            (a, None, "+4930333"),
            (b, None, "+4930111"),
        ] {
            assert_eq!(
                names.name(tenant, owner, number),
                store
                    .tenant(tenant)
                    .contacts(owner)
                    .name_of(number)
                    .await
                    .unwrap(),
                "{number} for {owner:?}"
            );
        }
        assert_eq!(
            names.name(a, Some(anna.id), "+4930111").as_deref(),
            Some("Mum")
        );
        assert_eq!(
            names.name(a, None, "+4930111").as_deref(),
            Some("Another supplier")
        );
        names.remove(a);
        assert_eq!(names.name(a, None, "+4930222"), None);
    }
}
