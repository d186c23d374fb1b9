//! The embedded SQLite store: one database file in the data directory, WAL journal,
//! foreign keys on, a busy timeout so concurrent writers wait instead of failing.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{Executor, Row};
use ucplus_core::*;

use crate::migrations::{CREATE_MIGRATIONS_TABLE, MIGRATIONS};
use crate::rows::{self, backend, map_error};

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

const USER_COLUMNS: &str = "id, tenant_id, username, display_name, role, site_id, licenses, \
     email, password_hash, created_at";

impl SqliteStore {
    /// Opens (creating if needed) the database file and runs pending migrations.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(backend)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(backend)?;
        let store = SqliteStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> StoreResult<()> {
        self.pool
            .execute(CREATE_MIGRATIONS_TABLE)
            .await
            .map_err(backend)?;
        for (version, sql) in MIGRATIONS {
            let applied = sqlx::query("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(version)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
            if applied.is_some() {
                continue;
            }
            let mut tx = self.pool.begin().await.map_err(backend)?;
            sqlx::raw_sql(sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| backend(format!("migration {version}: {e}")))?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(version)
                .bind(Timestamp::now().0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            tx.commit().await.map_err(backend)?;
        }
        Ok(())
    }

    async fn contacts_by_id(&self, tenant: TenantId, id: &str) -> StoreResult<Option<Contact>> {
        let row = sqlx::query("SELECT * FROM contacts WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(rows::contact).transpose()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

async fn insert_contact_numbers(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    tenant: TenantId,
    contact: &Contact,
) -> StoreResult<()> {
    for number in &contact.numbers {
        sqlx::query(
            "INSERT INTO contact_numbers (contact_id, tenant_id, number) VALUES ($1, $2, $3)",
        )
        .bind(&contact.id)
        .bind(tenant.to_string())
        .bind(&number.number)
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    }
    Ok(())
}

fn expect_one(result: sqlx::sqlite::SqliteQueryResult) -> StoreResult<()> {
    if result.rows_affected() == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

fn bind_user<'q>(
    query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    tenant: Option<TenantId>,
    user: &'q User,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
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

const INSERT_USER: &str = "INSERT INTO users (id, tenant_id, username, display_name, role, \
     site_id, licenses, email, password_hash, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .map(|_| ())
            .map_err(backend)
    }

    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(|r| r.try_get("value").map_err(backend)).transpose()
    }

    async fn set_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn licenses(&self) -> StoreResult<Vec<StoredLicense>> {
        let rows = sqlx::query("SELECT id, text, loaded_at FROM licenses ORDER BY loaded_at, id")
            .fetch_all(&self.pool)
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
        sqlx::query("INSERT INTO licenses (id, text, loaded_at) VALUES ($1, $2, $3)")
            .bind(&license.id)
            .bind(&license.text)
            .bind(license.loaded_at.0)
            .execute(&self.pool)
            .await
            .map_err(|e| map_error(e, "id"))?;
        Ok(())
    }

    async fn delete_license(&self, id: &str) -> StoreResult<()> {
        let result = sqlx::query("DELETE FROM licenses WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        expect_one(result)
    }

    async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        let rows = sqlx::query("SELECT * FROM tenants ORDER BY name, id")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(rows::tenant).collect()
    }

    async fn tenant(&self, id: TenantId) -> StoreResult<Tenant> {
        let row = sqlx::query("SELECT * FROM tenants WHERE id = $1")
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(|e| map_error(e, "id"))?;
        rows::tenant(&row)
    }

    async fn tenant_by_slug(&self, slug: &str) -> StoreResult<Tenant> {
        let row = sqlx::query("SELECT * FROM tenants WHERE slug = $1")
            .bind(slug)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| map_error(e, "slug"))?;
        rows::tenant(&row)
    }

    async fn insert_tenant(&self, tenant: &Tenant, first_admin: Option<&User>) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("INSERT INTO tenants (id, name, slug, created_at) VALUES ($1, $2, $3, $4)")
            .bind(tenant.id.to_string())
            .bind(&tenant.name)
            .bind(&tenant.slug)
            .bind(tenant.created_at.0)
            .execute(&mut *tx)
            .await
            .map_err(|e| map_error(e, "slug"))?;
        if let Some(admin) = first_admin {
            bind_user(sqlx::query(INSERT_USER), Some(tenant.id), admin)
                .execute(&mut *tx)
                .await
                .map_err(|e| map_error(e, "admin.username"))?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let result = sqlx::query("UPDATE tenants SET name = $1, slug = $2 WHERE id = $3")
            .bind(&tenant.name)
            .bind(&tenant.slug)
            .bind(tenant.id.to_string())
            .execute(&self.pool)
            .await
            .map_err(|e| map_error(e, "slug"))?;
        expect_one(result)
    }

    async fn delete_tenant(&self, id: TenantId) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let id = id.to_string();
        // Children first, so the order does not depend on ON DELETE CASCADE support.
        for table in ["devices", "users", "sites", "tenant_limits", "pbxs"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = $1"))
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        let result = sqlx::query("DELETE FROM tenants WHERE id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        expect_one(result)?;
        tx.commit().await.map_err(backend)
    }

    async fn tenant_limits(&self, id: TenantId) -> StoreResult<TenantLimits> {
        let rows = sqlx::query(
            "SELECT license_type, cap, reserved FROM tenant_limits WHERE tenant_id = $1",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut limits = TenantLimits::new();
        for row in rows {
            let cap: Option<i64> = row.try_get("cap").map_err(backend)?;
            let reserved: i64 = row.try_get("reserved").map_err(backend)?;
            limits.insert(
                row.try_get("license_type").map_err(backend)?,
                TenantLimit {
                    cap: cap.map(u32::try_from).transpose().map_err(backend)?,
                    reserved: u32::try_from(reserved).map_err(backend)?,
                },
            );
        }
        Ok(limits)
    }

    async fn set_tenant_limits(&self, id: TenantId, limits: &TenantLimits) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("DELETE FROM tenant_limits WHERE tenant_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        for (license_type, limit) in limits {
            sqlx::query(
                "INSERT INTO tenant_limits (tenant_id, license_type, cap, reserved) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id.to_string())
            .bind(license_type)
            .bind(limit.cap.map(i64::from))
            .bind(i64::from(limit.reserved))
            .execute(&mut *tx)
            .await
            .map_err(|e| map_error(e, "tenant_id"))?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn system_admin_by_name(&self, username: &str) -> StoreResult<User> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id IS NULL AND username = $1"
        ))
        .bind(username)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| map_error(e, "username"))?;
        rows::user(&row)
    }

    async fn system_admin(&self, id: UserId) -> StoreResult<User> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id IS NULL AND id = $1"
        ))
        .bind(id.to_string())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| map_error(e, "id"))?;
        rows::user(&row)
    }

    async fn insert_system_admin(&self, user: &User) -> StoreResult<()> {
        bind_user(sqlx::query(INSERT_USER), None, user)
            .execute(&self.pool)
            .await
            .map_err(|e| map_error(e, "username"))?;
        Ok(())
    }

    async fn system_admin_count(&self) -> StoreResult<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE tenant_id IS NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        let count: i64 = row.try_get("n").map_err(backend)?;
        u64::try_from(count).map_err(backend)
    }

    async fn users(&self, tenant: TenantId) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY username"
        ))
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(rows::user).collect()
    }

    async fn user(&self, tenant: TenantId, id: UserId) -> StoreResult<User> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant.to_string())
        .bind(id.to_string())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| map_error(e, "id"))?;
        rows::user(&row)
    }

    async fn user_by_name(&self, tenant: TenantId, username: &str) -> StoreResult<User> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND username = $2"
        ))
        .bind(tenant.to_string())
        .bind(username)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| map_error(e, "username"))?;
        rows::user(&row)
    }

    async fn insert_user(&self, tenant: TenantId, user: &User) -> StoreResult<()> {
        bind_user(sqlx::query(INSERT_USER), Some(tenant), user)
            .execute(&self.pool)
            .await
            .map_err(|e| map_error(e, "username"))?;
        Ok(())
    }

    async fn update_user(&self, tenant: TenantId, user: &User) -> StoreResult<()> {
        let result = sqlx::query(
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
        .execute(&self.pool)
        .await
        .map_err(|e| map_error(e, "username"))?;
        expect_one(result)
    }

    async fn delete_user(&self, tenant: TenantId, id: UserId) -> StoreResult<()> {
        let result = sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        expect_one(result)
    }

    async fn sites(&self, tenant: TenantId) -> StoreResult<Vec<Site>> {
        let rows = sqlx::query("SELECT * FROM sites WHERE tenant_id = $1 ORDER BY name, id")
            .bind(tenant.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(rows::site).collect()
    }

    async fn site(&self, tenant: TenantId, id: SiteId) -> StoreResult<Site> {
        let row = sqlx::query("SELECT * FROM sites WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(|e| map_error(e, "id"))?;
        rows::site(&row)
    }

    async fn insert_site(&self, tenant: TenantId, site: &Site) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sites (id, tenant_id, name, address, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(site.id.to_string())
        .bind(tenant.to_string())
        .bind(&site.name)
        .bind(&site.address)
        .bind(site.created_at.0)
        .execute(&self.pool)
        .await
        .map_err(|e| map_error(e, "id"))?;
        Ok(())
    }

    async fn update_site(&self, tenant: TenantId, site: &Site) -> StoreResult<()> {
        let result = sqlx::query(
            "UPDATE sites SET name = $1, address = $2 WHERE tenant_id = $3 AND id = $4",
        )
        .bind(&site.name)
        .bind(&site.address)
        .bind(tenant.to_string())
        .bind(site.id.to_string())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        expect_one(result)
    }

    async fn delete_site(&self, tenant: TenantId, id: SiteId) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("UPDATE users SET site_id = NULL WHERE tenant_id = $1 AND site_id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let result = sqlx::query("DELETE FROM sites WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        expect_one(result)?;
        tx.commit().await.map_err(backend)
    }

    async fn devices(&self, tenant: TenantId) -> StoreResult<Vec<Device>> {
        let rows =
            sqlx::query("SELECT * FROM devices WHERE tenant_id = $1 ORDER BY pbx_id, device_id")
                .bind(tenant.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        rows.iter().map(rows::device).collect()
    }

    async fn device(&self, tenant: TenantId, id: DeviceRecordId) -> StoreResult<Device> {
        let row = sqlx::query("SELECT * FROM devices WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(|e| map_error(e, "id"))?;
        rows::device(&row)
    }

    async fn insert_devices(&self, tenant: TenantId, devices: &[Device]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        for device in devices {
            sqlx::query(
                "INSERT INTO devices (id, tenant_id, pbx_id, device_id, name, user_id, created_at, \
                 extension, sip_username, sip_ha1_md5, sip_ha1_sha256) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(device.id.to_string())
            .bind(tenant.to_string())
            .bind(device.pbx_id.to_string())
            .bind(&device.device_id)
            .bind(&device.name)
            .bind(device.user_id.map(|u| u.to_string()))
            .bind(device.created_at.0)
            .bind(&device.extension)
            .bind(&device.sip_username)
            .bind(device.sip_ha1.as_ref().map(|h| h.md5.clone()))
            .bind(device.sip_ha1.as_ref().map(|h| h.sha256.clone()))
            .execute(&mut *tx)
            .await
            .map_err(|e| map_error(e, "device_id"))?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn update_device(&self, tenant: TenantId, device: &Device) -> StoreResult<()> {
        let result = sqlx::query(
            "UPDATE devices SET name = $1, user_id = $2, extension = $3, sip_username = $4, \
             sip_ha1_md5 = $5, sip_ha1_sha256 = $6 WHERE tenant_id = $7 AND id = $8",
        )
        .bind(&device.name)
        .bind(device.user_id.map(|u| u.to_string()))
        .bind(&device.extension)
        .bind(&device.sip_username)
        .bind(device.sip_ha1.as_ref().map(|h| h.md5.clone()))
        .bind(device.sip_ha1.as_ref().map(|h| h.sha256.clone()))
        .bind(tenant.to_string())
        .bind(device.id.to_string())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        expect_one(result)
    }

    async fn delete_device(&self, tenant: TenantId, id: DeviceRecordId) -> StoreResult<()> {
        let result = sqlx::query("DELETE FROM devices WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        expect_one(result)
    }

    async fn device_owner(&self, pbx: PbxId, device_id: &str) -> StoreResult<Option<TenantId>> {
        let row = sqlx::query("SELECT tenant_id FROM devices WHERE pbx_id = $1 AND device_id = $2")
            .bind(pbx.to_string())
            .bind(device_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        match row {
            None => Ok(None),
            Some(row) => {
                let tenant: String = row.try_get("tenant_id").map_err(backend)?;
                tenant.parse().map(Some).map_err(backend)
            }
        }
    }

    async fn pbx_devices(&self, pbx: PbxId) -> StoreResult<Vec<Device>> {
        let rows = sqlx::query("SELECT * FROM devices WHERE pbx_id = $1 ORDER BY device_id")
            .bind(pbx.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(rows::device).collect()
    }

    async fn presence(&self, tenant: TenantId) -> StoreResult<Vec<UserPresence>> {
        let rows = sqlx::query("SELECT * FROM presence WHERE tenant_id = $1")
            .bind(tenant.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(rows::presence).collect()
    }

    async fn set_presence(&self, tenant: TenantId, presence: &UserPresence) -> StoreResult<()> {
        // The user must be the tenant's: the insert selects it from users.
        let result = sqlx::query(
            "INSERT INTO presence (user_id, tenant_id, state, note, updated_at) \
             SELECT id, tenant_id, $1, $2, $3 FROM users WHERE tenant_id = $4 AND id = $5 \
             ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, note = excluded.note, \
             updated_at = excluded.updated_at",
        )
        .bind(presence.state.as_str())
        .bind(&presence.note)
        .bind(presence.updated_at.0)
        .bind(tenant.to_string())
        .bind(presence.user_id.to_string())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        expect_one(result)
    }

    async fn contacts(&self, tenant: TenantId, owner: Option<UserId>) -> StoreResult<Vec<Contact>> {
        let rows = match owner {
            Some(owner) => {
                sqlx::query(
                    "SELECT * FROM contacts WHERE tenant_id = $1 AND owner_id = $2 ORDER BY name, id",
                )
                .bind(tenant.to_string())
                .bind(owner.to_string())
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(
                    "SELECT * FROM contacts WHERE tenant_id = $1 AND owner_id IS NULL ORDER BY name, id",
                )
                .bind(tenant.to_string())
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(backend)?;
        rows.iter().map(rows::contact).collect()
    }

    async fn count_contacts(&self, tenant: TenantId, owner: Option<UserId>) -> StoreResult<u64> {
        let count: i64 = match owner {
            Some(owner) => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM contacts WHERE tenant_id = $1 AND owner_id = $2",
                )
                .bind(tenant.to_string())
                .bind(owner.to_string())
                .fetch_one(&self.pool)
                .await
            }
            None => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM contacts WHERE tenant_id = $1 AND owner_id IS NULL",
                )
                .bind(tenant.to_string())
                .fetch_one(&self.pool)
                .await
            }
        }
        .map_err(backend)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn contact(
        &self,
        tenant: TenantId,
        owner: Option<UserId>,
        id: &str,
    ) -> StoreResult<Contact> {
        let contact = self
            .contacts_by_id(tenant, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if contact.owner_id == owner {
            Ok(contact)
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn insert_contacts(&self, tenant: TenantId, contacts: &[Contact]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        for contact in contacts {
            sqlx::query(
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
            .execute(&mut *tx)
            .await
            .map_err(|e| map_error(e, "id"))?;
            insert_contact_numbers(&mut tx, tenant, contact).await?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn update_contact(&self, tenant: TenantId, contact: &Contact) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let result = sqlx::query(
            "UPDATE contacts SET name = $1, company = $2, email = $3, numbers = $4 \
             WHERE tenant_id = $5 AND id = $6",
        )
        .bind(&contact.name)
        .bind(&contact.company)
        .bind(&contact.email)
        .bind(serde_json::to_string(&contact.numbers).map_err(backend)?)
        .bind(tenant.to_string())
        .bind(&contact.id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        expect_one(result)?;
        sqlx::query("DELETE FROM contact_numbers WHERE contact_id = $1")
            .bind(&contact.id)
            .execute(&mut *tx)
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("DELETE FROM contact_numbers WHERE contact_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let result = sqlx::query("DELETE FROM contacts WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        expect_one(result)?;
        tx.commit().await.map_err(backend)
    }

    async fn contact_name(
        &self,
        tenant: TenantId,
        owner: Option<UserId>,
        number: &str,
    ) -> StoreResult<Option<String>> {
        // Personal contacts first, then the tenant's shared ones.
        let row = sqlx::query(
            "SELECT c.name AS name, c.owner_id AS owner_id FROM contact_numbers n \
             JOIN contacts c ON c.id = n.contact_id \
             WHERE n.tenant_id = $1 AND n.number = $2 \
             AND (c.owner_id IS NULL OR c.owner_id = $3) \
             ORDER BY CASE WHEN c.owner_id IS NULL THEN 1 ELSE 0 END, c.name LIMIT 1",
        )
        .bind(tenant.to_string())
        .bind(number)
        .bind(owner.map(|o| o.to_string()).unwrap_or_default())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(|r| r.try_get("name").map_err(backend)).transpose()
    }

    async fn contact_numbers(&self, tenant: TenantId) -> StoreResult<Vec<NumberName>> {
        let rows = sqlx::query(
            "SELECT n.number AS number, c.owner_id AS owner_id, c.name AS name \
             FROM contact_numbers n JOIN contacts c ON c.id = n.contact_id \
             WHERE n.tenant_id = $1",
        )
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(rows::number_name).collect()
    }

    async fn insert_call_log(&self, tenant: TenantId, entries: &[CallLogEntry]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        for entry in entries {
            sqlx::query(
                "INSERT INTO call_log (id, tenant_id, user_id, device_id, pbx_id, direction, \
                 missed, answered, other_number, other_name, answered_by, started_at, \
                 answered_at, ended_at, ring_ms, talk_ms, transferred, cause) VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
            )
            .bind(&entry.id)
            .bind(tenant.to_string())
            .bind(entry.user_id.to_string())
            .bind(entry.device_id.to_string())
            .bind(entry.pbx_id.to_string())
            .bind(entry.direction.as_str())
            .bind(i64::from(entry.missed))
            .bind(i64::from(entry.answered) | (i64::from(entry.outgoing) << 1))
            .bind(&entry.other_number)
            .bind(&entry.other_name)
            .bind(&entry.answered_by)
            .bind(entry.started_at.0)
            .bind(entry.answered_at.map(|t| t.0))
            .bind(entry.ended_at.0)
            .bind(entry.ring_ms)
            .bind(entry.talk_ms)
            .bind(serde_json::to_string(&entry.transferred).map_err(backend)?)
            .bind(&entry.cause)
            .execute(&mut *tx)
            .await
            .map_err(|e| map_error(e, "id"))?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn call_log(
        &self,
        tenant: TenantId,
        user: UserId,
        page: Page,
    ) -> StoreResult<Vec<CallLogEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM call_log WHERE tenant_id = $1 AND user_id = $2 \
             ORDER BY started_at DESC, id DESC LIMIT $3 OFFSET $4",
        )
        .bind(tenant.to_string())
        .bind(user.to_string())
        .bind(i64::from(page.limit))
        .bind(i64::from(page.offset))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(rows::call_log).collect()
    }

    async fn prune_call_log(&self, before: i64) -> StoreResult<u64> {
        let result = sqlx::query("DELETE FROM call_log WHERE started_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(result.rows_affected())
    }

    async fn pbxs(&self) -> StoreResult<Vec<Pbx>> {
        let rows = sqlx::query("SELECT * FROM pbxs ORDER BY name, id")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(rows::pbx).collect()
    }

    async fn pbx(&self, id: PbxId) -> StoreResult<Pbx> {
        let row = sqlx::query("SELECT * FROM pbxs WHERE id = $1")
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(|e| map_error(e, "id"))?;
        rows::pbx(&row)
    }

    async fn insert_pbx(&self, pbx: &Pbx) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO pbxs (id, name, kind, tenant_id, host, port, settings, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(pbx.id.to_string())
        .bind(&pbx.name)
        .bind(pbx.kind.as_str())
        .bind(pbx.tenant_id.map(|t| t.to_string()))
        .bind(&pbx.host)
        .bind(pbx.port.map(i64::from))
        .bind(pbx.settings.to_string())
        .bind(pbx.created_at.0)
        .execute(&self.pool)
        .await
        .map_err(|e| map_error(e, "id"))?;
        Ok(())
    }

    async fn update_pbx(&self, pbx: &Pbx) -> StoreResult<()> {
        let result = sqlx::query(
            "UPDATE pbxs SET name = $1, host = $2, port = $3, settings = $4 WHERE id = $5",
        )
        .bind(&pbx.name)
        .bind(&pbx.host)
        .bind(pbx.port.map(i64::from))
        .bind(pbx.settings.to_string())
        .bind(pbx.id.to_string())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        expect_one(result)
    }

    async fn delete_pbx(&self, id: PbxId) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("DELETE FROM devices WHERE pbx_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let result = sqlx::query("DELETE FROM pbxs WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        expect_one(result)?;
        tx.commit().await.map_err(backend)
    }

    async fn insert_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor_id, actor_username, tenant_id, action, target, \
             detail, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&entry.id)
        .bind(entry.at.0)
        .bind(entry.actor_id.map(|u| u.to_string()))
        .bind(&entry.actor_username)
        .bind(entry.tenant_id.map(|t| t.to_string()))
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(entry.detail.to_string())
        .bind(&entry.source)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn audit(&self, tenant: Option<TenantId>, page: Page) -> StoreResult<Vec<AuditEntry>> {
        let rows = match tenant {
            Some(tenant) => {
                sqlx::query(
                    "SELECT * FROM audit_log WHERE tenant_id = $1 \
                     ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3",
                )
                .bind(tenant.to_string())
                .bind(i64::from(page.limit))
                .bind(i64::from(page.offset))
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query("SELECT * FROM audit_log ORDER BY at DESC, id DESC LIMIT $1 OFFSET $2")
                    .bind(i64::from(page.limit))
                    .bind(i64::from(page.offset))
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(backend)?;
        rows.iter().map(rows::audit).collect()
    }

    async fn record_usage(&self, samples: &[UsageSample]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        for sample in samples {
            sqlx::query(
                "INSERT INTO license_usage (tenant_id, license_type, hour, peak) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id, license_type, hour) DO UPDATE SET peak = \
                 CASE WHEN excluded.peak > license_usage.peak THEN excluded.peak \
                 ELSE license_usage.peak END",
            )
            .bind(sample.tenant_id.to_string())
            .bind(&sample.license_type)
            .bind(sample.hour)
            .bind(i64::from(sample.peak))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn daily_usage(
        &self,
        tenant: Option<TenantId>,
        from_day: i64,
        to_day: i64,
    ) -> StoreResult<Vec<DailyUsage>> {
        const DAY_MS: i64 = 86_400_000;
        let from = from_day.saturating_mul(DAY_MS);
        let to = to_day.saturating_add(1).saturating_mul(DAY_MS);
        let rows = sqlx::query(
            "SELECT hour / 86400000 AS day, tenant_id, license_type, MAX(peak) AS peak \
             FROM license_usage WHERE hour >= $1 AND hour < $2 \
             AND (CAST($3 AS TEXT) IS NULL OR tenant_id = CAST($3 AS TEXT)) \
             GROUP BY hour / 86400000, tenant_id, license_type \
             ORDER BY day, tenant_id, license_type",
        )
        .bind(from)
        .bind(to)
        .bind(tenant.map(|t| t.to_string()))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let tenant: String = row.try_get("tenant_id").map_err(backend)?;
                let peak: i64 = row.try_get("peak").map_err(backend)?;
                Ok(DailyUsage {
                    day: row.try_get("day").map_err(backend)?,
                    tenant_id: tenant.parse().map_err(backend)?,
                    license_type: row.try_get("license_type").map_err(backend)?,
                    peak: u32::try_from(peak).map_err(backend)?,
                })
            })
            .collect()
    }

    async fn prune_usage(&self, before: i64) -> StoreResult<u64> {
        let result = sqlx::query("DELETE FROM license_usage WHERE hour < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(result.rows_affected())
    }
}
