//! The state every request handler shares.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::Value;
use ucplus_core::{AuditEntry, Store, StoreError, TenantId, Timestamp};

use crate::auth::rate_limit::LoginLimiter;
use crate::auth::{Session, Sessions, TokenHash, hash_hex};
use crate::config::Config;
use crate::cti::Cti;
use crate::error::ApiResult;
use crate::licensing::Licensing;

/// The setting that changes whenever licenses, tenants or limits change (several nodes).
const POOL_VERSION: &str = "pool_version";

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    /// This node's name (`node_name`): the holder of its sessions and PBX links.
    pub node: String,
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
    /// This node among several on PostgreSQL; None: the only node (SQLite).
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    /// Events and questions between nodes over NATS (several nodes with `cluster.nats_url`).
    pub relay: Option<Arc<crate::cti::relay::RelayBus>>,
    pub sip: Arc<crate::registrar::SipService>,
    /// Where the SIP registrar listens, when it does.
    pub sip_address: Option<std::net::SocketAddr>,
    /// The store's `pool_version` this node's pool was last built at (several nodes).
    pub pool_version: std::sync::Mutex<Option<String>>,
    /// Audit log writes that failed since start (reported by `/readyz`).
    pub audit_failures: AtomicU64,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// An [`AppState`] that does not keep the server alive (for tasks that outlive it).
#[derive(Clone)]
pub struct WeakState(std::sync::Weak<Inner>);

impl WeakState {
    pub fn upgrade(&self) -> Option<AppState> {
        self.0.upgrade().map(AppState)
    }
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        AppState(Arc::new(inner))
    }

    pub fn downgrade(&self) -> WeakState {
        WeakState(Arc::downgrade(&self.0))
    }

    /// How many audit log writes failed since start.
    pub fn audit_failures(&self) -> u64 {
        self.audit_failures.load(Ordering::Relaxed)
    }

    /// Ends one session and returns its license if it was the user's last of that type.
    pub async fn end_session(&self, hash: &TokenHash) {
        if let Some(session) = self.sessions.remove(hash) {
            self.release(&session);
            // Served here for another node: ended there too (at its next sync).
            if let Some(home) = session.visiting()
                && let Err(error) = self.store.delete_sessions(&home, &[hash_hex(hash)]).await
            {
                tracing::error!(%error, "could not delete an ended session from the store");
            }
            self.forget(&[session]).await;
        }
    }

    /// Ends every session matching `predicate` (a deleted user or tenant, idle sessions).
    pub async fn end_sessions_where(&self, predicate: impl Fn(&Session) -> bool) -> usize {
        let ended = self.sessions.remove_where(predicate);
        for session in &ended {
            self.release(session);
        }
        metrics::gauge!("ucplus_sessions").set(self.sessions.len() as f64);
        self.forget(&ended).await;
        ended.len()
    }

    /// Ends the sessions of `user` matching `predicate`, on every node: here at once, and
    /// in the store, so the nodes holding the others end them at their next sync.
    pub async fn end_user_sessions_where(
        &self,
        user: ucplus_core::UserId,
        predicate: impl Fn(&Session) -> bool,
    ) -> Result<usize, StoreError> {
        let mut ended = self
            .end_sessions_where(|s| s.user_id == user && predicate(s))
            .await;
        let mut by_node: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for stored in self.store.user_sessions(user).await? {
            if Session::from_stored(&stored).is_none_or(|s| predicate(&s)) {
                by_node
                    .entry(stored.node.clone())
                    .or_default()
                    .push(stored.token_hash);
            }
        }
        for (node, hashes) in by_node {
            let deleted = self.store.delete_sessions(&node, &hashes).await?;
            ended += usize::try_from(deleted).unwrap_or(0);
        }
        Ok(ended)
    }

    /// Writes the sessions' activity to the store: what moved on enough, or (`all`, at
    /// shutdown) everything, so a restarted node finds no live session idle.
    pub async fn persist_activity(&self, now: Timestamp, all: bool) -> Result<(), StoreError> {
        let sessions = self.sessions.all();
        let seen: Vec<(&Arc<Session>, Timestamp)> = sessions
            .iter()
            .filter_map(|s| {
                let at = s
                    .activity_to_persist(now)
                    .or_else(|| all.then(|| Timestamp(s.last_seen_ms.load(Ordering::Relaxed))))?;
                Some((s, at))
            })
            .collect();
        if seen.is_empty() {
            return Ok(());
        }
        let rows: Vec<(String, Timestamp)> = seen
            .iter()
            .map(|(s, at)| (hash_hex(&s.token_hash), *at))
            .collect();
        self.store.touch_sessions(&rows).await?;
        for (session, at) in seen {
            session.persisted(at);
        }
        Ok(())
    }

    /// Takes back the sessions this node held before it restarted (`every`: all stored
    /// sessions, for the one server on SQLite, whose name may change with its port), each
    /// with its license seat; those over their time, or whose seat is gone (a license
    /// removed), end.
    pub async fn restore_sessions(&self, every: bool) -> Result<usize, StoreError> {
        let now = Timestamp::now();
        let mut lost = Vec::new();
        let mut restored = 0;
        let stored_sessions = if every {
            self.store.all_sessions().await?
        } else {
            self.store.node_sessions(&self.node).await?
        };
        // Several nodes: while this node was away its seats were free for others; each is
        // granted again (those refused have ended).
        let refused = match &self.cluster {
            Some(cluster) => {
                let live = stored_sessions
                    .iter()
                    .filter(|s| Session::from_stored(s).is_some_and(|s| !s.is_over(now)))
                    .cloned()
                    .collect();
                self.regrant(cluster, live).await?
            }
            None => Default::default(),
        };
        for stored in stored_sessions {
            if refused.contains(&stored.token_hash) {
                tracing::warn!(username = %stored.username, "a session could not take its license back after the restart");
                continue;
            }
            if stored.node != self.node {
                self.store
                    .move_session(&stored.token_hash, &self.node)
                    .await?;
            }
            let Some(session) = Session::from_stored(&stored).filter(|s| !s.is_over(now)) else {
                lost.push(stored.token_hash);
                continue;
            };
            if let (Some(client), Some(tenant)) = (session.client, session.tenant_id)
                && let Err(error) = self.take_seat(tenant, &session, client)
            {
                tracing::warn!(username = %session.username, %error, "a session could not take its license back after the restart");
                lost.push(stored.token_hash);
                continue;
            }
            self.sessions.insert(session.token_hash, Arc::new(session));
            restored += 1;
        }
        self.store.delete_sessions(&self.node, &lost).await?;
        metrics::gauge!("ucplus_sessions").set(self.sessions.len() as f64);
        Ok(restored)
    }

    /// Deletes ended sessions from the store (those this node holds; one it only served
    /// for another node stays that node's).
    async fn forget(&self, ended: &[Arc<Session>]) {
        let hashes: Vec<String> = ended
            .iter()
            .filter(|s| s.visiting().is_none())
            .map(|s| hash_hex(&s.token_hash))
            .collect();
        if hashes.is_empty() {
            return;
        }
        if let Err(error) = self.store.delete_sessions(&self.node, &hashes).await {
            tracing::error!(%error, "could not delete ended sessions from the store");
        }
    }

    /// The session of a token this node does not hold in memory: another node's (which
    /// this one adopts, taking its license seat here), or one of a restarted node. None
    /// when the store has no live session for it.
    pub async fn adopt_session(&self, hash: &TokenHash) -> ApiResult<Option<Arc<Session>>> {
        let stored = match self.store.session(&hash_hex(hash)).await {
            Ok(stored) => stored,
            Err(StoreError::NotFound) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let now = Timestamp::now();
        let Some(session) = Session::from_stored(&stored).filter(|s| !s.is_over(now)) else {
            return Ok(None);
        };
        // Held by another live node: served here as it is (a client whose requests reach
        // several nodes keeps its session where it is, and its streams there open).
        if let Some(cluster) = &self.cluster
            && stored.node != self.node
            && cluster.live_nodes().contains(&stored.node)
        {
            session.set_visiting(Some(stored.node.clone()));
            let session = Arc::new(session);
            self.sessions.insert(*hash, session.clone());
            return Ok(Some(session));
        }
        if let (Some(cluster), Some(client), Some(tenant)) =
            (&self.cluster, session.client, session.tenant_id)
        {
            // Granted again as this node's: its node is gone and its seat may be given away.
            self.take_over(cluster, stored.clone(), &session, tenant, client)
                .await??;
        } else if let (Some(client), Some(tenant)) = (session.client, session.tenant_id) {
            self.take_seat(tenant, &session, client)?;
        }
        if self.cluster.is_none()
            && stored.node != self.node
            && let Err(error) = self
                .store
                .move_session(&stored.token_hash, &self.node)
                .await
        {
            self.release(&session);
            return match error {
                StoreError::NotFound => Ok(None),
                other => Err(other.into()),
            };
        }
        let session = Arc::new(session);
        self.sessions.insert(*hash, session.clone());
        metrics::gauge!("ucplus_sessions").set(self.sessions.len() as f64);
        Ok(Some(session))
    }

    /// Several nodes: grants again the seats of `sessions`, as this node's, per user and
    /// license (see [`ucplus_store::cluster::regrant_sessions`]); the token hashes of
    /// those refused (their rows are gone).
    async fn regrant(
        &self,
        cluster: &crate::cluster::Cluster,
        sessions: Vec<ucplus_core::store::StoredSession>,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut groups: std::collections::BTreeMap<_, Vec<_>> = Default::default();
        for mut stored in sessions {
            let Some(session) = Session::from_stored(&stored) else {
                continue;
            };
            if let (Some(client), Some(tenant)) = (session.client, session.tenant_id) {
                stored.node = self.node.clone();
                groups
                    .entry((session.user_id, client, tenant))
                    .or_insert_with(Vec::new)
                    .push(stored);
            }
        }
        let mut refused = std::collections::HashSet::new();
        for ((_, client, tenant), group) in groups {
            if self
                .grant_again(cluster, &group, tenant, client)
                .await?
                .is_err()
            {
                refused.extend(group.into_iter().map(|s| s.token_hash));
            }
        }
        Ok(refused)
    }

    /// Several nodes: the seat of `sessions` (one user's, one license) granted again
    /// against the cluster's use, by the pool rules.
    async fn grant_again(
        &self,
        cluster: &crate::cluster::Cluster,
        sessions: &[ucplus_core::store::StoredSession],
        tenant: TenantId,
        client: license::ClientType,
    ) -> Result<Result<(), license::PoolError>, StoreError> {
        cluster
            .regrant(sessions, |seats| {
                self.licensing
                    .admit_in_cluster(tenant, client, &seats.by_tenant, seats.user_holds)
            })
            .await
    }

    /// Several nodes: takes over a session of a node that is gone, as this node's, its
    /// seat granted again (held here when it is).
    async fn take_over(
        &self,
        cluster: &crate::cluster::Cluster,
        mut stored: ucplus_core::store::StoredSession,
        session: &Session,
        tenant: TenantId,
        client: license::ClientType,
    ) -> Result<Result<(), license::PoolError>, StoreError> {
        stored.node = self.node.clone();
        let granted = self.grant_again(cluster, &[stored], tenant, client).await?;
        if granted.is_ok() {
            self.licensing.hold(tenant, session.user_id, client);
        }
        Ok(granted)
    }

    /// Several nodes: this node's lease had lapsed, so others may have given its seats
    /// away: every session it holds is granted again, and those refused end.
    pub async fn regrant_held(&self) -> Result<usize, StoreError> {
        let Some(cluster) = &self.cluster else {
            return Ok(0);
        };
        let held: Vec<_> = self
            .sessions
            .all()
            .iter()
            .map(|s| s.to_stored(&self.node))
            .collect();
        let refused = self.regrant(cluster, held).await?;
        let ended = self
            .sessions
            .remove_where(|s| refused.contains(&hash_hex(&s.token_hash)));
        for session in &ended {
            self.release(session);
        }
        if !ended.is_empty() {
            tracing::warn!(
                ended = ended.len(),
                "sessions ended: their seats went to others while this node's lease had lapsed"
            );
        }
        Ok(ended.len())
    }

    /// The seat of a stored session this node takes on (after a restart, or adopted): on
    /// the only node it is taken from the pool again; several nodes count it already
    /// (the session's row), so it is kept here without a new grant.
    fn take_seat(
        &self,
        tenant: TenantId,
        session: &Session,
        client: license::ClientType,
    ) -> Result<(), license::PoolError> {
        if self.cluster.is_some() {
            self.licensing.hold(tenant, session.user_id, client);
            Ok(())
        } else {
            self.licensing.acquire(tenant, session.user_id, client)
        }
    }

    /// Writes sessions' activity to the store, and ends those no longer stored as this
    /// node's (ended or adopted elsewhere: a password changed on another node, a client
    /// that moved).
    pub async fn sync_sessions(&self, now: Timestamp) -> Result<(), StoreError> {
        self.persist_activity(now, false).await?;
        // Each held session's activity as stored (other nodes serving it write theirs).
        let held: std::collections::HashMap<String, Timestamp> = self
            .store
            .node_sessions(&self.node)
            .await?
            .into_iter()
            .map(|s| (s.token_hash, s.last_seen))
            .collect();
        for session in self.sessions.all() {
            if let Some(seen) = held.get(&hash_hex(&session.token_hash)) {
                session.touch(*seen);
            }
        }
        self.sync_visitors().await?;
        // A session is stored before it is cached; one made in the last seconds may be in
        // the cache and not yet in what was read above, so it is left for the next round.
        let settled = now.0 - 10_000;
        let gone: Vec<Arc<Session>> = self.sessions.remove_where(|s| {
            s.created_at.0 < settled
                && s.visiting().is_none()
                && !held.contains_key(&hash_hex(&s.token_hash))
        });
        for session in &gone {
            self.release(session);
        }
        if !gone.is_empty() {
            tracing::info!(
                ended = gone.len(),
                "ended sessions no longer held by this node"
            );
        }
        self.store.delete_stale_sessions(now).await?;
        if let Some(cluster) = &self.cluster {
            let version = self.store.setting(POOL_VERSION).await?;
            let seen = self
                .pool_version
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if version != seen {
                self.reload_pool().await?;
                *self.pool_version.lock().unwrap_or_else(|e| e.into_inner()) = version;
            }
            self.licensing.set_cluster_use(&cluster.seat_use().await?);
        }
        Ok(())
    }

    /// Sessions served here for other nodes: those ended there end here; those whose node
    /// is gone are taken over (their seat granted again here, or they end).
    async fn sync_visitors(&self) -> Result<(), StoreError> {
        let Some(cluster) = &self.cluster else {
            return Ok(());
        };
        let live = cluster.live_nodes();
        for session in self.sessions.all() {
            if session.visiting().is_none() {
                continue;
            }
            let stored = match self.store.session(&hash_hex(&session.token_hash)).await {
                Ok(stored) => stored,
                Err(StoreError::NotFound) => {
                    self.sessions.remove(&session.token_hash);
                    session.end();
                    continue;
                }
                Err(error) => return Err(error),
            };
            session.touch(stored.last_seen);
            if stored.node == self.node {
                session.set_visiting(None);
                continue;
            }
            if live.contains(&stored.node) {
                session.set_visiting(Some(stored.node));
                continue;
            }
            // Its node is gone: this node holds it now, if its seat is granted again.
            let (Some(client), Some(tenant)) = (session.client, session.tenant_id) else {
                self.store
                    .move_session(&stored.token_hash, &self.node)
                    .await?;
                session.set_visiting(None);
                continue;
            };
            let granted = self
                .take_over(cluster, stored, &session, tenant, client)
                .await?;
            session.set_visiting(None);
            if granted.is_err() {
                self.sessions.remove(&session.token_hash);
                session.end();
            }
        }
        Ok(())
    }

    /// Licenses, tenants or limits changed: other nodes rebuild their pools from the store
    /// at their next sync (several nodes; the only node has nothing to tell).
    pub async fn pool_changed(&self) {
        if self.cluster.is_none() {
            return;
        }
        let version = ucplus_core::ids::new_uuid().to_string();
        match self.store.set_setting(POOL_VERSION, &version).await {
            Ok(()) => *self.pool_version.lock().unwrap_or_else(|e| e.into_inner()) = Some(version),
            Err(error) => tracing::error!(%error, "could not tell other nodes of a license change"),
        }
    }

    /// Rebuilds the license pool from the store: its licenses (those a trusted key
    /// verifies), tenants and limits.
    async fn reload_pool(&self) -> Result<(), StoreError> {
        let texts: Vec<(String, String)> = self
            .store
            .licenses()
            .await?
            .into_iter()
            .map(|l| (l.id, l.text))
            .collect();
        let (licenses, _) =
            crate::licensing::restore_licenses(&texts, &self.trusted_keys, &self.system_id);
        let mut pool = license::LicensePool::new();
        for license in licenses {
            pool.restore(license);
        }
        for tenant in self.store.tenants().await? {
            let limits = self.store.tenant_limits(tenant.id).await?;
            pool.restore_tenant(tenant.id);
            pool.restore_limits(&tenant.id, &crate::licensing::limits_from_store(&limits));
        }
        self.licensing.replace_pool(pool);
        tracing::info!("license pool rebuilt after a change on another node");
        Ok(())
    }

    fn release(&self, session: &Session) {
        session.end();
        if let Some(client) = session.client.filter(|_| session.visiting().is_none()) {
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
