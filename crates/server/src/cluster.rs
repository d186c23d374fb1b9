//! This node in a cluster of nodes on one PostgreSQL database: its lease, renewed every
//! third of the lease's life on a connection of its own; the PBX links it claims while its
//! lease is live; fencing when it cannot renew in time; release when it stops.
//!
//! The rules (one page in docs/ARCHITECTURE.md):
//! - A node may run a link only while it holds the link's lease, and holds that only while
//!   its own lease is live by the database's clock.
//! - A renewal counts from when it was sent. A node whose last good renewal was sent more
//!   than two thirds of the lease ago stops every link before the lease can expire (a
//!   frozen or cut-off node fences itself; another node can take the links only after
//!   expiry). The links themselves check that deadline ([`pbx::link::Lease`]) before they
//!   connect and before each write, so a node resuming from a freeze sends nothing even
//!   before this loop runs again.
//! - Every claim raises the link's epoch; the link's state is written under the epoch, so
//!   a stale holder's write is dropped, and a holder that finds the link held elsewhere
//!   stops it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use ucplus_core::Timestamp;
use ucplus_store::SqlStore;
use ucplus_store::cluster::{LinkReport, NodeLease, NodeRow, PbxLease, Renewal};

use crate::cti::Cti;

/// This node's standing in the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// The lease is renewed in time; the node runs the links it holds.
    Active,
    /// The lease could not be renewed in time: every link stopped until it is again.
    Fenced,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Active => "active",
            Standing::Fenced => "fenced",
        }
    }
}

pub struct Cluster {
    pub node: String,
    ttl: Duration,
    store: SqlStore,
    cti: Arc<Cti>,
    lease: tokio::sync::Mutex<NodeLease>,
    /// What the links check before they talk to a switch: until two thirds of the lease
    /// after the last good renewal was sent.
    talk: pbx::link::Lease,
    standing: Mutex<Standing>,
    /// When the last good renewal was sent.
    renewed: Mutex<Instant>,
    /// The nodes whose leases were live at the last round (asked for snapshot parts).
    live: Mutex<Vec<String>>,
    /// Told when a renewal found this node's lease had lapsed: the seats of its sessions
    /// were free for others meanwhile and must be granted again.
    pub lapsed: tokio::sync::Notify,
    /// The live node running each PBX link at the last round (requests go there).
    owners: Mutex<std::collections::HashMap<ucplus_core::PbxId, String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Cluster {
    /// Takes this node's lease; refuses when another live node has the name.
    pub async fn join(
        url: &str,
        node: &str,
        ttl: Duration,
        store: SqlStore,
        cti: Arc<Cti>,
        talk: pbx::link::Lease,
    ) -> anyhow::Result<Arc<Cluster>> {
        let mut lease = NodeLease::new(url, node, ttl);
        let sent = Instant::now();
        match lease.renew().await.context("taking this node's lease")? {
            Renewal::Held { .. } => {}
            Renewal::NameTaken => anyhow::bail!(
                "the node name {node:?} is held by another running node: give each node its \
                 own node_name (UCPLUS_NODE_NAME)"
            ),
        }
        talk.extend_to(sent + ttl * 2 / 3);
        Ok(Arc::new(Cluster {
            talk,
            node: node.to_string(),
            ttl,
            store,
            cti,
            lease: tokio::sync::Mutex::new(lease),
            standing: Mutex::new(Standing::Active),
            renewed: Mutex::new(sent),
            live: Mutex::new(Vec::new()),
            owners: Mutex::new(Default::default()),
            lapsed: tokio::sync::Notify::new(),
        }))
    }

    pub fn standing(&self) -> Standing {
        *lock(&self.standing)
    }

    /// Renews, claims and reports every third of the lease, until the task is dropped.
    pub async fn run(self: Arc<Self>) {
        let mut interval = tokio::time::interval(self.ttl / 3);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            self.round().await;
        }
    }

    /// One round: renew; on success claim free links, drop lost ones and report states;
    /// on failure, fence once the lease may be close to expiring.
    pub async fn round(&self) {
        // Resumed from a freeze (or the loop starved) past the deadline: the links stop
        // before anything else; the renewal below claims anew, under new epochs.
        self.fence_if_late();
        let sent = Instant::now();
        let mut lease = self.lease.lock().await;
        let renewal = tokio::time::timeout(self.ttl / 3, lease.renew()).await;
        match renewal {
            Ok(Ok(Renewal::Held { lapsed, .. })) => {
                // The database says so, or this node's own clock (a renewal that timed out
                // here may have gone through after the lease expired, hiding the lapse).
                let lapsed = lapsed || sent.duration_since(*lock(&self.renewed)) >= self.ttl;
                if lapsed {
                    tracing::warn!(node = %self.node, "this node's lease had lapsed: its sessions' seats are granted again");
                    self.lapsed.notify_one();
                }
                *lock(&self.renewed) = sent;
                self.talk.extend_to(sent + self.ttl * 2 / 3);
                let was = std::mem::replace(&mut *lock(&self.standing), Standing::Active);
                if was == Standing::Fenced {
                    tracing::warn!(node = %self.node, "lease renewed again: taking links back");
                }
                if let Err(error) = self.claim_and_report(&mut lease).await {
                    tracing::warn!(%error, "could not claim or report PBX links");
                }
                match self.overview().await {
                    Ok((nodes, leases)) => {
                        let live: Vec<String> = nodes
                            .into_iter()
                            .filter(|n| n.live)
                            .map(|n| n.name)
                            .collect();
                        *lock(&self.owners) = leases
                            .into_iter()
                            .filter_map(|lease| {
                                let node = lease.node.filter(|node| live.contains(node))?;
                                Some((lease.pbx_id, node))
                            })
                            .collect();
                        self.cti.keep_nodes(&live);
                        *lock(&self.live) = live;
                    }
                    Err(error) => tracing::warn!(%error, "could not read the cluster's nodes"),
                }
            }
            Ok(Ok(Renewal::NameTaken)) => {
                self.fence("another node took this node's name after its lease expired");
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "could not renew this node's lease");
                self.fence_if_late();
            }
            Err(_) => {
                tracing::warn!("renewing this node's lease timed out");
                self.fence_if_late();
            }
        }
    }

    fn fence_if_late(&self) {
        if lock(&self.renewed).elapsed() > self.ttl * 2 / 3 {
            self.fence("the lease could not be renewed in time");
        }
    }

    fn fence(&self, why: &str) {
        self.talk.revoke();
        let was = std::mem::replace(&mut *lock(&self.standing), Standing::Fenced);
        let stopped = self.cti.fence();
        if was != Standing::Fenced || stopped > 0 {
            tracing::error!(node = %self.node, stopped, "fenced: {why}; every PBX link stopped");
        }
    }

    async fn claim_and_report(&self, lease: &mut NodeLease) -> anyhow::Result<()> {
        // Links held here that the database no longer gives this node: stop them.
        let held: std::collections::HashMap<_, _> = lease.held().await?.into_iter().collect();
        for (pbx, epoch) in self.cti.held_links() {
            if held.get(&pbx) != Some(&epoch) {
                tracing::warn!(%pbx, "the link is no longer this node's: stopped");
                self.cti.link_lost(pbx);
            }
        }
        let running: std::collections::HashSet<_> = self
            .cti
            .held_links()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        for pbx in self.store_pbxs().await? {
            if running.contains(&pbx) {
                continue;
            }
            if let Some(epoch) = lease.claim(pbx).await? {
                tracing::info!(%pbx, epoch, node = %self.node, "took the PBX link");
                self.cti.link_claimed(pbx, epoch).await?;
            }
        }
        for (pbx, epoch) in self.cti.held_links() {
            let Some(view) = self.cti.runtime(pbx).map(|r| r.link_view()) else {
                continue;
            };
            let report = LinkReport {
                state: view.state.as_str().to_string(),
                since: view.since,
                error: view.error,
                session: view.session,
            };
            if !lease.report(pbx, epoch, &report).await? {
                tracing::warn!(%pbx, epoch, "the link's lease moved on: stopped");
                self.cti.link_lost(pbx);
            }
        }
        Ok(())
    }

    async fn store_pbxs(&self) -> anyhow::Result<Vec<ucplus_core::PbxId>> {
        use ucplus_core::store::PbxStore;
        Ok(self
            .store
            .pbxs()
            .await?
            .into_iter()
            .map(|pbx| pbx.id)
            .collect())
    }

    /// Releases the links and the lease at once (a node stopping): others take over
    /// without waiting for expiry.
    pub async fn leave(&self) {
        self.talk.revoke();
        self.cti.fence();
        if let Err(error) = self.lease.lock().await.release().await {
            tracing::error!(%error, "could not release this node's lease; others take over when it expires");
        }
    }

    /// Stores a session holding a client license, granted by `grant` against the seats in
    /// use across the cluster (see [`ucplus_store::cluster::insert_session_granted`]).
    pub async fn grant_session<E>(
        &self,
        session: &ucplus_core::store::StoredSession,
        grant: impl FnOnce(&ucplus_store::cluster::SeatUse) -> Result<(), E>,
    ) -> Result<Result<(), E>, ucplus_core::StoreError> {
        ucplus_store::cluster::insert_session_granted(&self.store, session, grant).await
    }

    /// Grants again the seat of sessions of one user and license this node takes on (see
    /// [`ucplus_store::cluster::regrant_sessions`]).
    pub async fn regrant<E>(
        &self,
        sessions: &[ucplus_core::store::StoredSession],
        grant: impl FnOnce(&ucplus_store::cluster::SeatUse) -> Result<(), E>,
    ) -> Result<Result<(), E>, ucplus_core::StoreError> {
        ucplus_store::cluster::regrant_sessions(&self.store, sessions, grant).await
    }

    /// Stores a new tenant with its first admin, granted by `grant` against the number of
    /// tenants that exist (see [`ucplus_store::cluster::insert_tenant_granted`]).
    pub async fn grant_tenant<E>(
        &self,
        tenant: &ucplus_core::Tenant,
        admin: &ucplus_core::User,
        grant: impl FnOnce(u32) -> Result<(), E>,
    ) -> Result<Result<(), E>, ucplus_core::StoreError> {
        ucplus_store::cluster::insert_tenant_granted(&self.store, tenant, Some(admin), grant).await
    }

    /// The seats in use across the cluster, per client type name and tenant.
    pub async fn seat_use(
        &self,
    ) -> Result<
        std::collections::BTreeMap<String, std::collections::BTreeMap<ucplus_core::TenantId, u32>>,
        ucplus_core::StoreError,
    > {
        ucplus_store::cluster::seat_use(&self.store).await
    }

    /// The nodes whose leases were live at the last round (this one among them).
    pub fn live_nodes(&self) -> Vec<String> {
        lock(&self.live).clone()
    }

    /// The live node running PBX `pbx`'s link, as of the last round.
    pub fn owner_of(&self, pbx: ucplus_core::PbxId) -> Option<String> {
        lock(&self.owners).get(&pbx).cloned()
    }

    /// Every node and link lease, for `/api/v1/cluster`.
    pub async fn overview(&self) -> anyhow::Result<(Vec<NodeRow>, Vec<PbxLease>)> {
        Ok(ucplus_store::cluster::overview(&self.store).await?)
    }

    /// When this node's last good renewal was sent, as a wall-clock time.
    pub fn last_renewal(&self) -> Timestamp {
        let ago = i64::try_from(lock(&self.renewed).elapsed().as_millis()).unwrap_or(i64::MAX);
        Timestamp(Timestamp::now().0.saturating_sub(ago))
    }
}
