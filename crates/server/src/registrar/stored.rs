//! Registrations in the store: each handset's newest binding, written by the node whose
//! registrar took it, so that
//! - any node's registrar can take a registration, and the node running the handset's
//!   uaCSTA connection opens its session: it reads the live registrations of the
//!   connections it runs when their links start here and, with several nodes, every
//!   `sync_every`;
//! - a node that takes a connection over (or restarts) finds its handsets and opens their
//!   sessions without waiting for them to register again;
//! - the API shows a registration on every node.
//!
//! ```text
//! REGISTER ─▶ node B: 200, Set(row: contact, source, transport, Call-ID, expiry, node B)
//!                                           │ store
//! node A (runs the connection) ◀────────────┘ each round: a live row without a session
//!   ─▶ INVITE over UDP to the row's source, or over TCP on a connection to its contact
//! ```
//! Writes leave the registrar's path: they are queued per device (the latest wins) and
//! written in order by one task. A handset with no binding left here is deleted only if
//! this node took its row; it is announced unregistered, and its session ends, only when
//! no other node holds a live registration of it.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pbx::link::uacsta::{Flow, Handset};
use tokio::sync::{Notify, watch};
use ucplus_core::cti::views::RegistrationView;
use ucplus_core::store::{SipRegistration, SipTransport};
use ucplus_core::{DeviceRecordId, StoreResult, TenantId, Timestamp};

use super::{Account, SipService, lock};
use crate::cti::bus::Bus;

/// The setting whose change tells the other nodes to reread the SIP accounts.
const ACCOUNTS_VERSION: &str = "sip_accounts_version";
/// How long a reader waits for this node's queued writes.
const FLUSH_WAIT: Duration = Duration::from_secs(2);
/// How long a handset whose contact could not be reached over TCP is left alone.
const DIAL_AGAIN: Duration = Duration::from_secs(30);
/// How often lapsed registrations are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// What is to be written for one handset.
pub(super) enum Change {
    /// Its newest binding, taken here.
    Set(SipRegistration),
    /// It has no binding left here (its address-of-record with it).
    Removed(Account, String),
}

#[derive(Default)]
struct Outbox {
    pending: HashMap<DeviceRecordId, Change>,
    /// Changes queued so far.
    queued: u64,
}

/// The registrations on their way to the store.
pub(super) struct Writes {
    outbox: Mutex<Outbox>,
    wake: Notify,
    /// How many queued changes are written.
    written: watch::Sender<u64>,
}

impl Default for Writes {
    fn default() -> Writes {
        Writes {
            outbox: Mutex::new(Outbox::default()),
            wake: Notify::new(),
            written: watch::channel(0).0,
        }
    }
}

/// The view of a handset without a live registration.
pub(super) fn unregistered() -> RegistrationView {
    RegistrationView {
        state: "unregistered",
        contact: None,
        expires: None,
        node: None,
    }
}

fn view(registration: &SipRegistration, now: Timestamp) -> RegistrationView {
    let left = registration.expires_at.0.saturating_sub(now.0).max(0) / 1000;
    RegistrationView {
        state: "registered",
        contact: Some(registration.contact.clone()),
        expires: Some(u64::try_from(left).unwrap_or(0)),
        node: Some(registration.node.clone()),
    }
}

impl SipService {
    /// Queues the handset's change for the store (replacing one not yet written).
    pub(super) fn queue(&self, device: DeviceRecordId, change: Change) {
        {
            let mut outbox = lock(&self.writes.outbox);
            outbox.pending.insert(device, change);
            outbox.queued += 1;
        }
        self.writes.wake.notify_one();
    }

    /// Waits until what this node queued so far is written (at most [`FLUSH_WAIT`]).
    async fn flushed(&self) {
        let target = lock(&self.writes.outbox).queued;
        let mut written = self.writes.written.subscribe();
        let _ = tokio::time::timeout(FLUSH_WAIT, written.wait_for(|done| *done >= target)).await;
    }

    /// Writes the queued changes, in order, until the server stops.
    pub(super) async fn write_stored(self: Arc<Self>, bus: Arc<dyn Bus>) {
        loop {
            self.writes.wake.notified().await;
            let (batch, queued) = {
                let mut outbox = lock(&self.writes.outbox);
                (std::mem::take(&mut outbox.pending), outbox.queued)
            };
            for change in batch.into_values() {
                match change {
                    Change::Set(registration) => {
                        let scope = self.store.tenant(registration.tenant_id);
                        if let Err(error) = scope.registrations().set(&registration).await {
                            tracing::warn!(%error, device = %registration.device_id, "could not store a handset's registration");
                        }
                    }
                    Change::Removed(account, aor) => {
                        self.removed(&account, &aor, bus.as_ref()).await
                    }
                }
            }
            self.writes.written.send_replace(queued);
        }
    }

    /// The handset has no binding left here: its row goes if this node took it; unless
    /// another node holds a live registration of it, it is announced and its session (if
    /// it runs here) ends.
    async fn removed(&self, account: &Account, aor: &str, bus: &dyn Bus) {
        let scope = self.store.tenant(account.tenant).registrations();
        if let Err(error) = scope.delete(account.device, &self.node).await {
            tracing::warn!(%error, device = %account.device, "could not delete a handset's registration");
        }
        match scope.get(account.device, Timestamp::now()).await {
            // Registered with another node: that node announced it, and the node running
            // its connection serves it.
            Ok(Some(_)) => return,
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, device = %account.device, "could not read a handset's registration");
            }
        }
        self.announce(account.device, account.tenant, bus);
        self.sessions(account, aor);
    }

    /// The registrations of `devices` (the tenant's) as the API shows them, from the store
    /// once what this node took is written: None for a device that is not a handset.
    pub async fn registrations(
        &self,
        tenant: TenantId,
        devices: &[DeviceRecordId],
    ) -> StoreResult<Vec<Option<RegistrationView>>> {
        if !devices.iter().any(|device| self.is_handset(*device)) {
            return Ok(vec![None; devices.len()]);
        }
        self.flushed().await;
        let now = Timestamp::now();
        let scope = self.store.tenant(tenant).registrations();
        let stored = match devices {
            [device] => scope.get(*device, now).await?.into_iter().collect(),
            _ => scope.list(now).await?,
        };
        let by_device: HashMap<DeviceRecordId, SipRegistration> = stored
            .into_iter()
            .map(|registration| (registration.device_id, registration))
            .collect();
        Ok(devices
            .iter()
            .map(|device| {
                self.is_handset(*device).then(|| {
                    by_device
                        .get(device)
                        .map_or_else(unregistered, |registration| view(registration, now))
                })
            })
            .collect())
    }

    /// The SIP accounts changed here: other nodes reread theirs at their next round
    /// (several nodes; the only node has nobody to tell).
    pub async fn accounts_changed(&self) {
        if self.sync_every.is_none() {
            return;
        }
        let version = ucplus_core::ids::new_uuid().to_string();
        match self.store.set_setting(ACCOUNTS_VERSION, &version).await {
            Ok(()) => *lock(&self.accounts_version) = Some(version),
            Err(error) => {
                tracing::error!(%error, "could not tell other nodes of a SIP account change");
            }
        }
    }

    /// Rereads the SIP accounts when another node changed them.
    async fn follow_accounts(&self) {
        let version = match self.store.setting(ACCOUNTS_VERSION).await {
            Ok(version) => version,
            Err(error) => {
                tracing::warn!(%error, "could not read the SIP accounts' version");
                return;
            }
        };
        if version == *lock(&self.accounts_version) {
            return;
        }
        match self.reload().await {
            Ok(()) => *lock(&self.accounts_version) = version,
            Err(error) => tracing::warn!(%error, "could not reload the SIP accounts"),
        }
    }

    /// Brings the sessions in line with the stored registrations when a connection's link
    /// starts here and every `sync_every` (several nodes: rereading the accounts when
    /// another node changed them) or [`PRUNE_EVERY`] (the only node, whose own
    /// registrations open their sessions at once: this ends those restored at start
    /// whose registration lapsed); deletes lapsed registrations now and then.
    pub(super) async fn follow_store(self: Arc<Self>, bus: Arc<dyn Bus>) {
        let mut tick = tokio::time::interval(self.sync_every.unwrap_or(PRUNE_EVERY));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pruned = Instant::now();
        loop {
            let periodic = tokio::select! {
                () = self.controller.attached() => false,
                _ = tick.tick() => true,
            };
            if periodic && self.sync_every.is_some() {
                self.follow_accounts().await;
            }
            self.open_stored_sessions(&bus).await;
            if pruned.elapsed() >= PRUNE_EVERY {
                pruned = Instant::now();
                if let Err(error) = self.store.prune_registrations(Timestamp::now()).await {
                    tracing::warn!(%error, "could not delete lapsed registrations");
                }
            }
        }
    }

    /// For each connection whose link runs here: every handset with a live registration
    /// has its session — one this node took on its own flow (over a TCP connection that
    /// closed, only once the phone registers again), one another node took over UDP to
    /// where its REGISTER came from or over TCP on a connection to its contact — and a
    /// session whose registration is gone ends.
    async fn open_stored_sessions(self: &Arc<Self>, bus: &Arc<dyn Bus>) {
        let links = self.controller.links();
        if links.is_empty() {
            return;
        }
        self.flushed().await;
        let started = Instant::now();
        let now = Timestamp::now();
        for pbx in links {
            let stored = match self.store.pbx_registrations(pbx, now).await {
                Ok(stored) => stored,
                Err(error) => {
                    tracing::warn!(%error, %pbx, "could not read the handsets' registrations");
                    continue;
                }
            };
            let live: HashSet<DeviceRecordId> = stored.iter().map(|r| r.device_id).collect();
            for registration in &stored {
                let open = self.controller.session_registration(registration.device_id);
                if open.as_deref() == Some(registration.call_id.as_str()) {
                    continue;
                }
                let Some(account) = self
                    .account(&registration.aor)
                    .filter(|a| a.device == registration.device_id && a.pbx == pbx)
                else {
                    continue;
                };
                let taken_here = registration.node == self.node
                    && self
                        .newest(&registration.aor)
                        .is_some_and(|binding| binding.call_id == registration.call_id);
                if !taken_here {
                    self.open_stored(account, registration.clone(), bus);
                } else if registration.transport == SipTransport::Udp
                    || lock(&self.flows).contains_key(&registration.aor)
                {
                    self.sessions(&account, &registration.aor);
                }
            }
            for device in self.controller.sessions_opened_before(pbx, started) {
                if !live.contains(&device) {
                    self.controller.close(device);
                }
            }
        }
    }

    /// Opens the session of a handset another node (or this one before a restart) took:
    /// over UDP to where its REGISTER came from; over TCP on a new connection to its
    /// contact, tried again after [`DIAL_AGAIN`] if it cannot be reached.
    fn open_stored(
        self: &Arc<Self>,
        account: Account,
        registration: SipRegistration,
        bus: &Arc<dyn Bus>,
    ) {
        let Ok(contact) = registration.contact.parse::<sip::Uri>() else {
            return;
        };
        match registration.transport {
            SipTransport::Udp => {
                if let Ok(source) = registration.source.parse::<SocketAddr>() {
                    self.open_on(&account, &registration, &contact, Flow::Udp(source));
                }
            }
            SipTransport::Tcp => {
                {
                    let mut unreachable = lock(&self.unreachable);
                    if unreachable
                        .get(&account.device)
                        .is_some_and(|tried| tried.elapsed() < DIAL_AGAIN)
                    {
                        return;
                    }
                    // Also marks a connection being opened: not tried twice at once.
                    unreachable.insert(account.device, Instant::now());
                }
                let (service, bus) = (self.clone(), bus.clone());
                tokio::spawn(async move {
                    let until = u64::try_from(registration.expires_at.0 / 1000).unwrap_or(0);
                    let carrying = (registration.aor.clone(), until);
                    match service.dial(&contact, carrying, bus).await {
                        Some(flow) => {
                            lock(&service.unreachable).remove(&account.device);
                            service.open_on(&account, &registration, &contact, flow);
                        }
                        None => {
                            tracing::info!(device = %account.device, contact = %registration.contact, "a handset registered over TCP with another node cannot be reached at its contact");
                        }
                    }
                });
            }
        }
    }

    fn open_on(
        &self,
        account: &Account,
        registration: &SipRegistration,
        contact: &sip::Uri,
        flow: Flow,
    ) {
        tracing::info!(device = %account.device, node = %registration.node, "opening a handset's session from its stored registration");
        self.controller.open(Handset {
            device: account.device,
            pbx: account.pbx,
            number: &account.number,
            aor: &registration.aor,
            contact,
            flow,
            registration: &registration.call_id,
        });
    }
}
