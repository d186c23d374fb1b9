//! The application's use cases, each written once: validation, the write, licensing, the
//! caches of live state, sessions, audit. HTTP handlers parse a request, call one method
//! here and render its result; the demo calls the same methods, so the flows cannot drift
//! apart.
//!
//! ```text
//! api handler ─┐
//! demo, CLI  ──┴─▶ state.tenants() / state.users(tenant) ─▶ store, licensing, cti caches,
//!                                                          sessions, audit
//! ```

pub mod calls;
pub mod contacts;
pub mod devices;
pub mod licenses;
pub mod logins;
pub mod patch;
pub mod pbxs;
pub mod sites;
pub mod tenants;
pub mod users;

use serde_json::Value;
use ucplus_core::{Device, PbxId, Role, TenantId, UserId};

use crate::auth::Session;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Who acts: a signed-in session (audited, with the address it came from), or the server
/// itself (the demo filling its data, start-up), which the audit log does not list.
#[derive(Clone, Copy)]
pub enum Actor<'a> {
    Session {
        session: &'a Session,
        address: &'a str,
    },
    Server,
}

impl Actor<'_> {
    /// The acting user, if a person acts.
    pub fn user(&self) -> Option<UserId> {
        match self {
            Actor::Session { session, .. } => Some(session.user_id),
            Actor::Server => None,
        }
    }
}

/// A password as a use case receives it: typed by a person (checked against the password
/// rules, then hashed), or already hashed (the demo hashes its one password once).
pub enum Password {
    Plain(String),
    Hashed(String),
}

impl Password {
    /// The stored hash; a plain password is hashed within the hashing limits.
    async fn hash(self, state: &AppState) -> ApiResult<String> {
        match self {
            Password::Plain(secret) => state.hashing.hash(secret).await,
            Password::Hashed(hash) => Ok(hash),
        }
    }

    /// Checks a plain password against the rules (a hash is taken as it is).
    fn validate(&self, errors: &mut ucplus_core::ValidationErrors, field: &str) {
        if let Password::Plain(secret) = self {
            errors.password(field, secret);
        }
    }
}

impl AppState {
    /// Tenants (system admin).
    pub fn tenants(&self) -> tenants::Tenants<'_> {
        tenants::Tenants { state: self }
    }

    /// Users of one tenant.
    pub fn users(&self, tenant: TenantId) -> users::Users<'_> {
        users::Users {
            state: self,
            tenant,
        }
    }

    /// Brings a PBX connection's runtime up to date after its settings or devices
    /// changed, and the SIP accounts when it is (or was: deleted) a uaCSTA connection —
    /// a change on a CSTA switch does not reread every handset of the server.
    pub async fn reload_pbx(&self, pbx: PbxId) {
        if let Err(error) = self.cti.reload_pbx(pbx).await {
            tracing::error!(%error, %pbx, "could not reload the PBX connection");
        }
        self.cti.pbx_changed_here(pbx);
        self.reload_handsets(pbx).await;
    }

    /// Rereads the SIP accounts when `pbx` is (or was: deleted) a uaCSTA connection.
    async fn reload_handsets(&self, pbx: PbxId) {
        let handsets = match self.store.pbx(pbx).await {
            Ok(record) => record.kind == ucplus_core::PbxKind::Uacsta,
            Err(ucplus_core::StoreError::NotFound) => true,
            Err(error) => {
                tracing::error!(%error, %pbx, "could not read the PBX connection");
                true
            }
        };
        if !handsets {
            return;
        }
        match self.sip.reload().await {
            // Other nodes' registrars follow.
            Ok(()) => self.sip.accounts_changed().await,
            Err(error) => tracing::error!(%error, "could not reload the SIP accounts"),
        }
    }

    /// Devices of a PBX connection were added, changed or removed: its runtime follows
    /// incrementally, and the SIP accounts when it is a uaCSTA connection.
    pub async fn devices_changed(&self, pbx: PbxId, upserted: &[Device], removed: &[String]) {
        if let Err(error) = self.cti.devices_changed(pbx, upserted, removed).await {
            tracing::error!(%error, %pbx, "could not update the PBX connection's devices");
        }
        self.cti.pbx_changed_here(pbx);
        self.reload_handsets(pbx).await;
    }

    /// The tenant's directory changed: callers are named from the new one. A failure to
    /// read it back leaves the previous names (logged).
    pub async fn contacts_changed(&self, tenant: TenantId) {
        if let Err(error) = self.cti.contacts_changed(tenant).await {
            tracing::error!(%error, %tenant, "could not reload the caller names");
        }
    }

    /// Call control for a signed-in user of `tenant` (a system admin acting in it).
    pub fn calls(&self, tenant: TenantId, session: &crate::auth::Session) -> calls::Calls<'_> {
        calls::Calls {
            state: self,
            tenant,
            user: session.user_id,
            role: session.role,
            forwarded: false,
        }
    }

    /// Call control another node forwarded here: acts on this node's links only.
    pub fn forwarded_calls(&self, tenant: TenantId, user: UserId, role: Role) -> calls::Calls<'_> {
        calls::Calls {
            state: self,
            tenant,
            user,
            role,
            forwarded: true,
        }
    }

    /// Contacts of one tenant: shared (`owner` None) or one user's own.
    pub fn contacts(&self, tenant: TenantId, owner: Option<UserId>) -> contacts::Contacts<'_> {
        contacts::Contacts {
            state: self,
            tenant,
            owner,
        }
    }

    /// Devices of one tenant.
    pub fn devices(&self, tenant: TenantId) -> devices::Devices<'_> {
        devices::Devices {
            state: self,
            tenant,
        }
    }

    /// License files (system admin).
    pub fn licenses(&self) -> licenses::Licenses<'_> {
        licenses::Licenses { state: self }
    }

    /// Signing in and out.
    pub fn logins(&self) -> logins::Logins<'_> {
        logins::Logins { state: self }
    }

    /// PBX connections (system admin).
    pub fn pbxs(&self) -> pbxs::Pbxs<'_> {
        pbxs::Pbxs { state: self }
    }

    /// Sites of one tenant.
    pub fn sites(&self, tenant: TenantId) -> sites::Sites<'_> {
        sites::Sites {
            state: self,
            tenant,
        }
    }

    /// Records what an actor did in the audit log (the server's own actions are not
    /// listed).
    pub(crate) async fn record(
        &self,
        actor: Actor<'_>,
        tenant: Option<TenantId>,
        action: &str,
        target: String,
        detail: Value,
    ) {
        self.record_entry(actor, tenant, action, Some(target), detail)
            .await;
    }

    /// Like [`AppState::record`], for an action without one target.
    pub(crate) async fn record_entry(
        &self,
        actor: Actor<'_>,
        tenant: Option<TenantId>,
        action: &str,
        target: Option<String>,
        detail: Value,
    ) {
        if let Actor::Session { session, address } = actor {
            self.audit(session, tenant, action, target, detail, address)
                .await;
        }
    }
}

#[cfg(test)]
mod tests;

/// The error for a validation that found problems, or nothing.
fn checked(errors: ucplus_core::ValidationErrors) -> ApiResult<()> {
    errors.into_result().map_err(ApiError::validation)
}
