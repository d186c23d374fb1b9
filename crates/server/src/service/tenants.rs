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
        state
            .licensing
            .with_pool(|pool| pool.add_tenant(tenant.id, state.licensing.today()))?;
        if let Err(error) = state.store.insert_tenant(&tenant, Some(&admin)).await {
            state.licensing.remove_tenant(tenant.id);
            return Err(error.into());
        }
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
        state.end_sessions_where(|session| session.tenant_id == Some(tenant.id));
        state.licensing.remove_tenant(tenant.id);
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

#[cfg(test)]
mod tests {
    use license::file::Issue;
    use license::{ItemType, License, SigningKey};

    use super::*;
    use crate::{Application, Config};

    /// A server on a fresh data directory in multi-tenant mode.
    async fn multi_tenant(dir: &std::path::Path) -> Application {
        let vendor = SigningKey::generate().expect("a key");
        let mut config = Config {
            listen: "127.0.0.1:0".parse().expect("address"),
            data_dir: dir.to_path_buf(),
            ..Config::default()
        };
        config.license.trusted_keys = vec![vendor.public_key().to_string()];
        let app = Application::build(config).await.expect("the server builds");
        let state = app.state();
        let text = Issue {
            id: ucplus_core::ids::new_uuid().to_string(),
            system_id: state.system_id.clone(),
            customer: None,
            issued: state.licensing.today(),
            expires: None,
            items: [(ItemType::MtStarter5, 1)].into(),
        }
        .sign(&vendor);
        let license = License::verify(&text, &state.trusted_keys).expect("verified");
        state
            .licensing
            .with_pool(|pool| pool.load(license, state.licensing.today()))
            .expect("loaded");
        app
    }

    /// The live caches follow the tenant's life: its first admin's name is known from the
    /// moment the tenant exists (it used to be blank in presence until a restart), and
    /// nothing of its users is left behind when it is deleted.
    #[tokio::test]
    async fn a_tenants_users_enter_and_leave_the_live_caches_with_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let app = multi_tenant(dir.path()).await;
        let state = app.state();
        let (tenant, admin) = state
            .tenants()
            .create(
                Actor::Server,
                NewTenant {
                    name: "Acme".into(),
                    slug: "acme".into(),
                    admin_username: "boss".into(),
                    admin_password: Password::Plain("boss-password".into()),
                    admin_display_name: Some("Olga Boss".into()),
                },
            )
            .await
            .expect("created");
        assert_eq!(state.cti.user_name(admin.id).as_deref(), Some("Olga Boss"));
        let member = state
            .users(tenant.id)
            .create(
                Actor::Server,
                crate::service::users::NewUser {
                    username: "anna".into(),
                    password: Password::Plain("anna-password".into()),
                    display_name: "Anna".into(),
                    role: None,
                    site_id: None,
                    licenses: None,
                    email: None,
                },
            )
            .await
            .expect("a member");
        assert_eq!(state.cti.user_name(member.id).as_deref(), Some("Anna"));
        state
            .cti
            .set_presence(
                tenant.id,
                member.id,
                ucplus_core::cti::PresenceState::Busy,
                None,
            )
            .await
            .expect("presence set");

        state
            .tenants()
            .delete(Actor::Server, tenant.id)
            .await
            .expect("deleted");
        for user in [admin.id, member.id] {
            assert_eq!(state.cti.user_name(user), None, "{user} still cached");
        }
        let presence = state.cti.presence_of(tenant.id, member.id, String::new());
        assert_eq!(
            presence.state,
            ucplus_core::cti::PresenceState::Available,
            "the deleted user's chosen presence is forgotten"
        );
        assert!(matches!(
            state.tenants().delete(Actor::Server, tenant.id).await,
            Err(ApiError {
                code: "not_found",
                ..
            })
        ));
    }
}
