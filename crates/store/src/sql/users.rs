//! [`UserStore`] for SQLite: the users of a tenant.

use async_trait::async_trait;
use ucplus_core::store::UserStore;
use ucplus_core::*;

use super::{SqlStore, TenantTable, expect_one};
use crate::db::{Query, query};
use crate::rows::{self, map_error};

pub(super) const USER_COLUMNS: &str = "id, tenant_id, username, display_name, role, site_id, \
     licenses, email, password_hash, created_at";

const USERS: TenantTable = TenantTable {
    name: "users",
    columns: USER_COLUMNS,
};

pub(super) const INSERT_USER: &str = "INSERT INTO users (id, tenant_id, username, \
     display_name, role, site_id, licenses, email, password_hash, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// Binds [`INSERT_USER`]'s values; `tenant` None: a system admin.
pub(super) fn bind_user(query: Query, tenant: Option<TenantId>, user: &User) -> Query {
    query
        .bind(user.id.to_string())
        .bind(tenant.map(|t| t.to_string()))
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(user.role.as_str())
        .bind(user.site_id.map(|s| s.to_string()))
        .bind(user.licenses.join(","))
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(user.created_at.0)
}

#[async_trait]
impl UserStore for SqlStore {
    async fn users(&self, tenant: TenantId) -> StoreResult<Vec<User>> {
        let rows = USERS.list(&self.db, tenant, "username").await?;
        rows.iter().map(rows::user).collect()
    }

    async fn user(&self, tenant: TenantId, id: UserId) -> StoreResult<User> {
        rows::user(&USERS.get(&self.db, tenant, &id.to_string()).await?)
    }

    async fn user_by_name(&self, tenant: TenantId, username: &str) -> StoreResult<User> {
        rows::user(&USERS.find(&self.db, tenant, "username", username).await?)
    }

    async fn insert_user(&self, tenant: TenantId, user: &User) -> StoreResult<()> {
        bind_user(query(INSERT_USER), Some(tenant), user)
            .execute(&self.db)
            .await
            .map_err(|e| map_error(e, "username"))?;
        Ok(())
    }

    async fn update_user(&self, tenant: TenantId, user: &User) -> StoreResult<()> {
        let result = query(
            "UPDATE users SET username = $1, display_name = $2, role = $3, site_id = $4, \
             licenses = $5, email = $6, password_hash = $7 WHERE tenant_id = $8 AND id = $9",
        )
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(user.role.as_str())
        .bind(user.site_id.map(|s| s.to_string()))
        .bind(user.licenses.join(","))
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(tenant.to_string())
        .bind(user.id.to_string())
        .execute(&self.db)
        .await
        .map_err(|e| map_error(e, "username"))?;
        expect_one(result)
    }

    async fn delete_user(&self, tenant: TenantId, id: UserId) -> StoreResult<()> {
        USERS.delete(&self.db, tenant, &id.to_string()).await
    }
}
