//! Tenants: created with a first tenant admin, renamed, deleted with everything they own,
//! capped per license type.

use std::collections::{BTreeMap, BTreeSet};

use license::{ClientType, LicenseType, Limit};
use ucplus_core::{
    Role, Tenant, TenantId, TenantLimit, TenantLimits, Timestamp, User, UserId, ValidationErrors,
};

use super::{Actor, Password, checked};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A new tenant and its first tenant admin.
pub struct NewTenant {
    pub name: String,
    pub slug: String,
    pub admin_username: String,
    pub admin_password: Password,
    /// Default: the username.
    pub admin_display_name: Option<String>,
}

/// What changes of a tenant (None: unchanged).
#[derive(Default)]
pub struct TenantChange {
    pub name: Option<String>,
    pub slug: Option<String>,
}

pub struct Tenants<'a> {
    pub(super) state: &'a AppState,
}

impl Tenants<'_> {
    /// Creates a tenant with its first admin. Needs multi-tenant mode and a free tenant
    /// license, taken under the pool's lock first so two creations cannot both have the
    /// last one.
    pub async fn create(&self, actor: Actor<'_>, new: NewTenant) -> ApiResult<(Tenant, User)> {
        let state = self.state;
        let mut errors = ValidationErrors::new();
        errors.text("name", &new.name, 200);
        errors.slug("slug", &new.slug);
        errors.username("admin.username", &new.admin_username);
        new.admin_password.validate(&mut errors, "admin.password");
        if let Some(display_name) = &new.admin_display_name {
            errors.text("admin.display_name", display_name, 200);
        }
        checked(errors)?;
        let tenant = Tenant {
            id: TenantId::new(),
            name: new.name.trim().to_string(),
            slug: new.slug,
            created_at: Timestamp::now(),
        };
        let admin = User {
            id: UserId::new(),
            tenant_id: Some(tenant.id),
            display_name: new
                .admin_display_name
                .map(|n| n.trim().to_string())
                .unwrap_or_else(|| new.admin_username.clone()),
            username: new.admin_username,
            role: Role::Admin,
            site_id: None,
            licenses: vec!["desktop".into()],
            email: None,
            created_at: tenant.created_at,
            password_hash: new.admin_password.hash(state).await?,
        };
        if let Some(cluster) = &state.cluster {
            // Several nodes: granted against the tenants that exist, under the tenant
            // licenses' lock, in the transaction that stores the tenant.
            let today = state.licensing.today();
            cluster
                .grant_tenant(&tenant, &admin, |tenants| {
                    state
                        .licensing
                        .read_pool(|pool| pool.check_new_tenant(tenants, today))
                })
                .await??;
            state
                .licensing
                .with_pool(|pool| pool.restore_tenant(tenant.id));
        } else {
            state
                .licensing
                .with_pool(|pool| pool.add_tenant(tenant.id, state.licensing.today()))?;
            if let Err(error) = state.store.insert_tenant(&tenant, Some(&admin)).await {
                state.licensing.remove_tenant(tenant.id);
                return Err(error.into());
            }
        }
        state.pool_changed().await;
        state.cti.user_updated(&admin);
        state
            .record(
                actor,
                Some(tenant.id),
                "tenant.create",
                tenant.id.to_string(),
                serde_json::json!({"name": tenant.name, "slug": tenant.slug, "admin": admin.username}),
            )
            .await;
        Ok((tenant, admin))
    }

    /// Renames a tenant or changes its slug.
    pub async fn update(
        &self,
        actor: Actor<'_>,
        id: TenantId,
        change: TenantChange,
    ) -> ApiResult<Tenant> {
        let state = self.state;
        let mut tenant = state.store.tenant_by_id(id).await?;
        let mut errors = ValidationErrors::new();
        if let Some(name) = &change.name {
            errors.text("name", name, 200);
        }
        if let Some(slug) = &change.slug {
            errors.slug("slug", slug);
        }
        checked(errors)?;
        if let Some(name) = change.name {
            tenant.name = name.trim().to_string();
        }
        if let Some(slug) = change.slug {
            tenant.slug = slug;
        }
        state.store.update_tenant(&tenant).await?;
        state
            .record(
                actor,
                Some(tenant.id),
                "tenant.update",
                tenant.id.to_string(),
                serde_json::json!({"name": tenant.name, "slug": tenant.slug}),
            )
            .await;
        Ok(tenant)
    }

    /// Deletes a tenant with all its records: its sessions end, its licenses go back to
    /// the pool, its devices leave their PBX links, and nothing of it stays cached.
    pub async fn delete(&self, actor: Actor<'_>, id: TenantId) -> ApiResult<()> {
        let state = self.state;
        let tenant = state.store.tenant_by_id(id).await?;
        let (single, count) = state.licensing.read_pool(|pool| {
            (
                pool.mode() == license::Mode::SingleTenant,
                pool.tenant_count(),
            )
        });
        if single && count <= 1 {
            return Err(ApiError::conflict(
                "single-tenant mode needs its one tenant; load a starter pack to manage tenants",
            ));
        }
        let mut pbxs: BTreeSet<_> = state
            .store
            .tenant(tenant.id)
            .devices()
            .list()
            .await?
            .into_iter()
            .map(|d| d.pbx_id)
            .collect();
        pbxs.extend(
            state
                .store
                .pbxs()
                .await?
                .into_iter()
                .filter(|p| p.tenant_id == Some(tenant.id))
                .map(|p| p.id),
        );
        let users: Vec<UserId> = state
            .store
            .tenant(tenant.id)
            .users()
            .list()
            .await?
            .into_iter()
            .map(|u| u.id)
            .collect();
        state.store.delete_tenant(tenant.id).await?;
        state
            .end_sessions_where(|session| session.tenant_id == Some(tenant.id))
            .await;
        state.licensing.remove_tenant(tenant.id);
        state.pool_changed().await;
        for pbx in pbxs {
            state.reload_pbx(pbx).await;
        }
        state.cti.tenant_removed(tenant.id, &users);
        state
            .record(
                actor,
                Some(tenant.id),
                "tenant.delete",
                tenant.id.to_string(),
                serde_json::json!({"name": tenant.name, "slug": tenant.slug}),
            )
            .await;
        Ok(())
    }

    /// Replaces the tenant's caps and reservations per client license type; types not
    /// named get no cap and no reservation. The pool is changed first and restored if the
    /// store refuses.
    pub async fn set_limits(
        &self,
        actor: Actor<'_>,
        id: TenantId,
        limits: &TenantLimits,
    ) -> ApiResult<TenantLimits> {
        let state = self.state;
        let tenant = state.store.tenant_by_id(id).await?;
        let parsed = client_types(limits).map_err(ApiError::validation)?;
        let pool_limits: BTreeMap<_, _> = parsed
            .iter()
            .map(|(client, limit)| {
                (
                    *client,
                    Limit {
                        cap: limit.cap,
                        reserved: limit.reserved,
                    },
                )
            })
            .collect();
        let previous = state.licensing.with_pool(|pool| {
            let previous = pool.limits(&tenant.id);
            pool.set_limits(&tenant.id, &pool_limits, state.licensing.today())
                .map(|()| previous)
        })?;
        let normalized: TenantLimits = parsed
            .iter()
            .map(|(client, limit)| {
                (
                    client.as_str().to_string(),
                    TenantLimit {
                        cap: limit.cap,
                        reserved: limit.reserved,
                    },
                )
            })
            .collect();
        if let Err(error) = state.store.set_tenant_limits(tenant.id, &normalized).await {
            if let Some(previous) = previous {
                state
                    .licensing
                    .with_pool(|pool| pool.restore_limits(&tenant.id, &previous));
            }
            return Err(error.into());
        }
        state.pool_changed().await;
        state
            .record(
                actor,
                Some(tenant.id),
                "tenant.limits",
                tenant.id.to_string(),
                serde_json::to_value(&normalized).unwrap_or_default(),
            )
            .await;
        Ok(normalized)
    }
}

/// Parses `{TYPE: {...}}` keys into client types, naming each unknown one.
pub fn client_types<V>(
    map: &BTreeMap<String, V>,
) -> Result<BTreeMap<ClientType, &V>, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let mut parsed = BTreeMap::new();
    for (name, value) in map {
        match name.parse::<ClientType>() {
            Ok(client) => {
                parsed.insert(client, value);
            }
            Err(_) => {
                let hint = if name.parse::<LicenseType>().is_ok() {
                    "tenant licenses have no per-tenant limit"
                } else {
                    "not a client license type (desktop, attendant, wallboard, mobile, crm, api)"
                };
                errors.add(name, hint);
            }
        }
    }
    errors.into_result().map(|()| parsed)
}
