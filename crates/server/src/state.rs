//! The state every request handler shares.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::Value;
use ucplus_core::{AuditEntry, Store, TenantId, Timestamp};

use crate::auth::rate_limit::LoginLimiter;
use crate::auth::{Session, Sessions, TokenHash};
use crate::config::Config;
use crate::cti::Cti;
use crate::licensing::Licensing;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub system_id: String,
    pub trusted_keys: Vec<license::PublicKey>,
    /// Encrypts secrets at rest (PBX link passwords).
    pub secrets: Arc<crate::secrets::SecretBox>,
    /// Stored licenses no trusted key verified at start (not counted).
    pub unverified_licenses: Vec<crate::licensing::UnverifiedLicense>,
    pub licensing: Licensing,
    pub sessions: Sessions,
    pub limiter: LoginLimiter,
    /// Bounds concurrent password hashing (logins, new passwords).
    pub hashing: crate::auth::password::HashGate,
    pub metrics: PrometheusHandle,
    pub cti: Arc<Cti>,
    pub sip: Arc<crate::registrar::SipService>,
    /// Where the SIP registrar listens, when it does.
    pub sip_address: Option<std::net::SocketAddr>,
    /// Audit log writes that failed since start (reported by `/readyz`).
    pub audit_failures: AtomicU64,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        AppState(Arc::new(inner))
    }

    /// How many audit log writes failed since start.
    pub fn audit_failures(&self) -> u64 {
        self.audit_failures.load(Ordering::Relaxed)
    }

    /// Ends one session and returns its license if it was the user's last of that type.
    pub fn end_session(&self, hash: &TokenHash) {
        if let Some(session) = self.sessions.remove(hash) {
            self.release(&session);
        }
    }

    /// Ends every session matching `predicate` (a deleted user or tenant, idle sessions).
    pub fn end_sessions_where(&self, predicate: impl Fn(&Session) -> bool) -> usize {
        let ended = self.sessions.remove_where(predicate);
        for session in &ended {
            self.release(session);
        }
        metrics::gauge!("ucplus_sessions").set(self.sessions.len() as f64);
        ended.len()
    }

    fn release(&self, session: &Session) {
        session.end();
        if let Some(client) = session.client {
            self.licensing.release(session.user_id, client);
        }
    }

    /// Records an admin action. A failure to write the audit log is logged, counted in
    /// `ucplus_audit_write_failures_total` and reported by `/readyz`: never hidden.
    pub async fn audit(
        &self,
        actor: &Session,
        tenant: Option<TenantId>,
        action: &str,
        target: Option<String>,
        detail: Value,
        source: &str,
    ) {
        self.audit_entry(AuditEntry {
            id: ucplus_core::ids::new_uuid().to_string(),
            at: Timestamp::now(),
            actor_id: Some(actor.user_id),
            actor_username: actor.username.clone(),
            tenant_id: tenant,
            action: action.to_string(),
            target,
            detail,
            source: Some(source.to_string()),
        })
        .await;
    }

    /// Writes one audit entry, however it came about (an admin action, a login).
    pub async fn audit_entry(&self, entry: AuditEntry) {
        if let Err(error) = self.store.insert_audit(&entry).await {
            tracing::error!(%error, action = %entry.action, "could not write the audit log");
            self.audit_failures.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("ucplus_audit_write_failures_total").increment(1);
        }
    }
}
