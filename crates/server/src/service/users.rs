//! Users of one tenant: created, changed, deleted by its admins. Every change reaches the
//! live caches (names in presence and call views) and ends the sessions it invalidates.

use std::collections::BTreeSet;

use license::ClientType;
use ucplus_core::{Role, SiteId, TenantId, Timestamp, User, UserId, ValidationErrors};

use super::{Actor, Password, checked};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A new user of the tenant.
pub struct NewUser {
    pub username: String,
    pub password: Password,
    pub display_name: String,
    /// `user` or `admin`; default `user`.
    pub role: Option<String>,
    pub site_id: Option<String>,
    /// Client license types the user may take; default `["desktop"]`.
    pub licenses: Option<Vec<String>>,
    pub email: Option<String>,
}

/// What changes of a user (None: unchanged; `Some(None)`: cleared).
#[derive(Default)]
pub struct UserChange {
    pub display_name: Option<String>,
    pub password: Option<String>,
    pub role: Option<String>,
    pub site_id: Option<Option<String>>,
    pub licenses: Option<Vec<String>>,
    pub email: Option<Option<String>>,
}

pub struct Users<'a> {
    pub(super) state: &'a AppState,
    pub(super) tenant: TenantId,
}

fn parse_role(errors: &mut ValidationErrors, role: &str) -> Option<Role> {
    match role {
        "user" => Some(Role::User),
        "admin" => Some(Role::Admin),
        _ => {
            errors.add("role", "must be `user` or `admin`");
            None
        }
    }
}

fn parse_licenses(errors: &mut ValidationErrors, licenses: &[String]) -> Vec<String> {
    let mut parsed: Vec<ClientType> = Vec::new();
    for name in licenses {
        match name.parse::<ClientType>() {
            Ok(client) if !parsed.contains(&client) => parsed.push(client),
            Ok(_) => {}
            Err(_) => errors.add(
                "licenses",
                format!("`{name}` is not a client license type (desktop, attendant, wallboard, mobile, crm, api)"),
            ),
        }
    }
    parsed.sort();
    parsed.iter().map(|c| c.as_str().to_string()).collect()
}

impl Users<'_> {
    /// A site id given by the caller must be one of the tenant's sites.
    async fn resolve_site(
        &self,
        errors: &mut ValidationErrors,
        site: Option<&str>,
    ) -> ApiResult<Option<SiteId>> {
        let Some(text) = site else { return Ok(None) };
        let Ok(id) = text.parse::<SiteId>() else {
            errors.add("site_id", "no such site");
            return Ok(None);
        };
        match self.state.store.tenant(self.tenant).sites().get(id).await {
            Ok(site) => Ok(Some(site.id)),
            Err(ucplus_core::StoreError::NotFound) => {
                errors.add("site_id", "no such site");
                Ok(None)
            }
            Err(error) => Err(error.into()),
        }
    }

    pub async fn create(&self, actor: Actor<'_>, new: NewUser) -> ApiResult<User> {
        let (state, tenant) = (self.state, self.tenant);
        let mut errors = ValidationErrors::new();
        errors.username("username", &new.username);
        new.password.validate(&mut errors, "password");
        errors.text("display_name", &new.display_name, 200);
        let role = parse_role(&mut errors, new.role.as_deref().unwrap_or("user"));
        let licenses = parse_licenses(
            &mut errors,
            new.licenses.as_deref().unwrap_or(&["desktop".to_string()]),
        );
        if let Some(email) = &new.email {
            errors.email("email", email);
        }
        let site_id = self
            .resolve_site(&mut errors, new.site_id.as_deref())
            .await?;
        checked(errors)?;
        let user = User {
            id: UserId::new(),
            tenant_id: Some(tenant),
            username: new.username,
            display_name: new.display_name.trim().to_string(),
            role: role.unwrap_or(Role::User),
            site_id,
            licenses,
            email: new.email,
            created_at: Timestamp::now(),
            password_hash: new.password.hash(state).await?,
        };
        state.store.tenant(tenant).users().insert(&user).await?;
        state.cti.user_updated(&user);
        state
            .record(
                actor,
                Some(tenant),
                "user.create",
                user.id.to_string(),
                serde_json::json!({"username": user.username, "role": user.role, "licenses": user.licenses}),
            )
            .await;
        Ok(user)
    }

    /// Changes a user. A session carries the role and license it was given at login: when
    /// either changes, the sessions that no longer match end at once (with their event
    /// streams), and a new password ends every session of the user but the actor's own.
    pub async fn update(
        &self,
        actor: Actor<'_>,
        id: UserId,
        change: UserChange,
    ) -> ApiResult<User> {
        let (state, tenant) = (self.state, self.tenant);
        let mut user = state.store.tenant(tenant).users().get(id).await?;
        let mut errors = ValidationErrors::new();
        if let Some(name) = &change.display_name {
            errors.text("display_name", name, 200);
        }
        if let Some(secret) = &change.password {
            errors.password("password", secret);
        }
        let role = change
            .role
            .as_deref()
            .and_then(|r| parse_role(&mut errors, r));
        if actor.user() == Some(user.id) && role == Some(Role::User) {
            errors.add("role", "you cannot take away your own admin role");
        }
        let licenses = change
            .licenses
            .as_deref()
            .map(|l| parse_licenses(&mut errors, l));
        if let Some(Some(email)) = &change.email {
            errors.email("email", email);
        }
        let site_id = match &change.site_id {
            Some(site) => Some(self.resolve_site(&mut errors, site.as_deref()).await?),
            None => None,
        };
        checked(errors)?;
        if let Some(name) = change.display_name {
            user.display_name = name.trim().to_string();
        }
        let password_changed = change.password.is_some();
        if let Some(secret) = change.password {
            user.password_hash = state.hashing.hash(secret).await?;
        }
        if let Some(role) = role {
            user.role = role;
        }
        if let Some(site_id) = site_id {
            user.site_id = site_id;
        }
        if let Some(licenses) = licenses {
            user.licenses = licenses;
        }
        if let Some(email) = change.email {
            user.email = email;
        }
        state.store.tenant(tenant).users().update(&user).await?;
        state.cti.user_updated(&user);
        let own_session = match actor {
            Actor::Session { session, .. } => Some(session.token_hash),
            Actor::Server => None,
        };
        let ended = state
            .end_user_sessions_where(user.id, |s| {
                s.role != user.role
                    || s.client
                        .is_some_and(|c| !user.licenses.iter().any(|l| l == c.as_str()))
                    || (password_changed && Some(s.token_hash) != own_session)
            })
            .await?;
        state
            .record(
                actor,
                Some(tenant),
                "user.update",
                user.id.to_string(),
                serde_json::json!({"username": user.username, "role": user.role, "licenses": user.licenses, "password_changed": password_changed, "sessions_ended": ended}),
            )
            .await;
        Ok(user)
    }

    /// Deletes a user (not the actor): their sessions end and their devices lose them.
    pub async fn delete(&self, actor: Actor<'_>, id: UserId) -> ApiResult<()> {
        let (state, tenant) = (self.state, self.tenant);
        let user = state.store.tenant(tenant).users().get(id).await?;
        if actor.user() == Some(user.id) {
            return Err(ApiError::conflict("you cannot delete your own account"));
        }
        let pbxs: BTreeSet<_> = state
            .store
            .tenant(tenant)
            .devices()
            .list()
            .await?
            .into_iter()
            .filter(|d| d.user_id == Some(user.id))
            .map(|d| d.pbx_id)
            .collect();
        state.store.tenant(tenant).users().delete(user.id).await?;
        state.end_user_sessions_where(user.id, |_| true).await?;
        state.cti.user_removed(user.id);
        // Their own contacts went with them.
        state.contacts_changed(tenant).await;
        for pbx in pbxs {
            state.reload_pbx(pbx).await;
        }
        state
            .record(
                actor,
                Some(tenant),
                "user.delete",
                user.id.to_string(),
                serde_json::json!({"username": user.username}),
            )
            .await;
        Ok(())
    }
}
