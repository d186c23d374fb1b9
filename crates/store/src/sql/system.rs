//! [`SystemStore`] for SQLite: ping, settings, license files, system admins.

use async_trait::async_trait;
use ucplus_core::store::SystemStore;
use ucplus_core::*;

use super::users::{INSERT_USER, USER_COLUMNS, bind_user};
use super::{SqlStore, expect_one};
use crate::db::query;
use crate::rows::{self, backend, map_error};

#[async_trait]
impl SystemStore for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        query("SELECT 1")
            .fetch_one(&self.db)
            .await
            .map(|_| ())
            .map_err(backend)
    }

    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let row = query("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.db)
            .await
            .map_err(backend)?;
        row.map(|r| r.try_get("value").map_err(backend)).transpose()
    }

    async fn init_setting(&self, key: &str, value: &str) -> StoreResult<String> {
        query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.db)
            .await
            .map_err(backend)?;
        self.setting(key)
            .await?
            .ok_or_else(|| backend(format!("setting {key} vanished")))
    }

    async fn set_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.db)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn licenses(&self) -> StoreResult<Vec<StoredLicense>> {
        let rows = query("SELECT id, text, loaded_at FROM licenses ORDER BY loaded_at, id")
            .fetch_all(&self.db)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(StoredLicense {
                    id: row.try_get("id").map_err(backend)?,
                    text: row.try_get("text").map_err(backend)?,
                    loaded_at: Timestamp(row.try_get("loaded_at").map_err(backend)?),
                })
            })
            .collect()
    }

    async fn insert_license(&self, license: &StoredLicense) -> StoreResult<()> {
        query("INSERT INTO licenses (id, text, loaded_at) VALUES ($1, $2, $3)")
            .bind(&license.id)
            .bind(&license.text)
            .bind(license.loaded_at.0)
            .execute(&self.db)
            .await
            .map_err(|e| map_error(e, "id"))?;
        Ok(())
    }

    async fn delete_license(&self, id: &str) -> StoreResult<()> {
        let result = query("DELETE FROM licenses WHERE id = $1")
            .bind(id)
            .execute(&self.db)
            .await
            .map_err(backend)?;
        expect_one(result)
    }

    async fn system_admin_by_name(&self, username: &str) -> StoreResult<User> {
        let row = query(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id IS NULL AND username = $1"
        ))
        .bind(username)
        .fetch_one(&self.db)
        .await
        .map_err(|e| map_error(e, "username"))?;
        rows::user(&row)
    }

    async fn system_admin(&self, id: UserId) -> StoreResult<User> {
        let row = query(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id IS NULL AND id = $1"
        ))
        .bind(id.to_string())
        .fetch_one(&self.db)
        .await
        .map_err(|e| map_error(e, "id"))?;
        rows::user(&row)
    }

    async fn insert_system_admin(&self, user: &User) -> StoreResult<()> {
        bind_user(query(INSERT_USER), None, user)
            .execute(&self.db)
            .await
            .map_err(|e| map_error(e, "username"))?;
        Ok(())
    }

    async fn system_admin_count(&self) -> StoreResult<u64> {
        let row = query("SELECT COUNT(*) AS n FROM users WHERE tenant_id IS NULL")
            .fetch_one(&self.db)
            .await
            .map_err(backend)?;
        let count: i64 = row.try_get("n").map_err(backend)?;
        u64::try_from(count).map_err(backend)
    }
}
