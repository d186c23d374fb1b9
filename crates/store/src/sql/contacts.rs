//! [`ContactStore`] for SQLite: a tenant's shared contacts and its users' own, and the
//! number index (`contact_numbers`) that finds a caller's name.

use async_trait::async_trait;
use ucplus_core::store::ContactStore;
use ucplus_core::*;

use super::{SqlStore, TenantTable, expect_one, owner_is};
use crate::db::{Tx, query};
use crate::rows::{self, backend, map_error};

const CONTACTS: TenantTable = TenantTable {
    name: "contacts",
    columns: "*",
};

/// Indexes each number of `contact` for the lookup by number.
async fn insert_contact_numbers(
    tx: &mut Tx,
    tenant: TenantId,
    contact: &Contact,
) -> StoreResult<()> {
    for number in &contact.numbers {
        query("INSERT INTO contact_numbers (contact_id, tenant_id, number) VALUES ($1, $2, $3)")
            .bind(&contact.id)
            .bind(tenant.to_string())
            .bind(&number.number)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

#[async_trait]
impl ContactStore for SqlStore {
    async fn contacts(&self, tenant: TenantId, owner: Option<UserId>) -> StoreResult<Vec<Contact>> {
        let sql = format!(
            "SELECT * FROM contacts WHERE tenant_id = $1 AND {} ORDER BY name, id",
            owner_is(2)
        );
        let rows = query(&sql)
            .bind(tenant.to_string())
            .bind(owner.map(|o| o.to_string()))
            .fetch_all(&self.db)
            .await
            .map_err(backend)?;
        rows.iter().map(rows::contact).collect()
    }

    async fn count_contacts(&self, tenant: TenantId, owner: Option<UserId>) -> StoreResult<u64> {
        let sql = format!(
            "SELECT COUNT(*) AS n FROM contacts WHERE tenant_id = $1 AND {}",
            owner_is(2)
        );
        let count: i64 = query(sql)
            .bind(tenant.to_string())
            .bind(owner.map(|o| o.to_string()))
            .fetch_one(&self.db)
            .await
            .map_err(backend)?
            .try_get("n")
            .map_err(backend)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn contact(
        &self,
        tenant: TenantId,
        owner: Option<UserId>,
        id: &str,
    ) -> StoreResult<Contact> {
        let contact = rows::contact(&CONTACTS.get(&self.db, tenant, id).await?)?;
        if contact.owner_id == owner {
            Ok(contact)
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn insert_contacts(&self, tenant: TenantId, contacts: &[Contact]) -> StoreResult<()> {
        let mut tx = self.db.begin().await.map_err(backend)?;
        for contact in contacts {
            query(
                "INSERT INTO contacts (id, tenant_id, owner_id, name, company, email, numbers, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&contact.id)
            .bind(tenant.to_string())
            .bind(contact.owner_id.map(|o| o.to_string()))
            .bind(&contact.name)
            .bind(&contact.company)
            .bind(&contact.email)
            .bind(serde_json::to_string(&contact.numbers).map_err(backend)?)
            .bind(contact.created_at.0)
            .execute(&mut tx)
            .await
            .map_err(|e| map_error(e, "id"))?;
            insert_contact_numbers(&mut tx, tenant, contact).await?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn update_contact(
        &self,
        tenant: TenantId,
        owner: Option<UserId>,
        contact: &Contact,
    ) -> StoreResult<()> {
        let mut tx = self.db.begin().await.map_err(backend)?;
        let sql = format!(
            "UPDATE contacts SET name = $3, company = $4, email = $5, numbers = $6 \
             WHERE tenant_id = $1 AND {} AND id = $7",
            owner_is(2)
        );
        let result = query(&sql)
            .bind(tenant.to_string())
            .bind(owner.map(|o| o.to_string()))
            .bind(&contact.name)
            .bind(&contact.company)
            .bind(&contact.email)
            .bind(serde_json::to_string(&contact.numbers).map_err(backend)?)
            .bind(&contact.id)
            .execute(&mut tx)
            .await
            .map_err(backend)?;
        expect_one(result)?;
        query("DELETE FROM contact_numbers WHERE contact_id = $1")
            .bind(&contact.id)
            .execute(&mut tx)
            .await
            .map_err(backend)?;
        insert_contact_numbers(&mut tx, tenant, contact).await?;
        tx.commit().await.map_err(backend)
    }

    async fn delete_contact(
        &self,
        tenant: TenantId,
        owner: Option<UserId>,
        id: &str,
    ) -> StoreResult<()> {
        self.contact(tenant, owner, id).await?;
        let mut tx = self.db.begin().await.map_err(backend)?;
        query("DELETE FROM contact_numbers WHERE contact_id = $1")
            .bind(id)
            .execute(&mut tx)
            .await
            .map_err(backend)?;
        CONTACTS.delete(&mut tx, tenant, id).await?;
        tx.commit().await.map_err(backend)
    }

    async fn contact_name(
        &self,
        tenant: TenantId,
        owner: Option<UserId>,
        number: &str,
    ) -> StoreResult<Option<String>> {
        // Personal contacts first, then the tenant's shared ones.
        let row = query(
            "SELECT c.name AS name, c.owner_id AS owner_id FROM contact_numbers n \
             JOIN contacts c ON c.id = n.contact_id \
             WHERE n.tenant_id = $1 AND n.number = $2 \
             AND (c.owner_id IS NULL OR c.owner_id = $3) \
             ORDER BY CASE WHEN c.owner_id IS NULL THEN 1 ELSE 0 END, c.name LIMIT 1",
        )
        .bind(tenant.to_string())
        .bind(number)
        .bind(owner.map(|o| o.to_string()).unwrap_or_default())
        .fetch_optional(&self.db)
        .await
        .map_err(backend)?;
        row.map(|r| r.try_get("name").map_err(backend)).transpose()
    }

    async fn contact_numbers(&self, tenant: TenantId) -> StoreResult<Vec<NumberName>> {
        let rows = query(
            "SELECT n.number AS number, c.owner_id AS owner_id, c.name AS name \
             FROM contact_numbers n JOIN contacts c ON c.id = n.contact_id \
             WHERE n.tenant_id = $1",
        )
        .bind(tenant.to_string())
        .fetch_all(&self.db)
        .await
        .map_err(backend)?;
        rows.iter().map(rows::number_name).collect()
    }
}
