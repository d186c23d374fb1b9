//! The CTI hub: the life of each PBX connection's runtime, engine and link (here), the
//! event bus, and the read models the API and the engines answer from: the device index
//! (`index`), caller names (`names`), people and presence (`people`), and the queries over
//! them (`queries`). The call engine (`engine`) applies a link's reports without I/O.

pub mod bus;
mod call_log;
mod engine;
mod index;
pub mod launch;
pub mod link;
mod names;
mod people;
mod queries;
pub mod relay;
pub mod runtime;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ucplus_core::cti::{DeviceCall, PbxError, PbxRequest, PbxResponse, PresenceState};
use ucplus_core::{Device, Pbx, PbxId, Store, StoreError, StoreResult, TenantId, User, UserId};

use self::bus::Bus;
use self::link::{LinkChannels, channels};
use self::runtime::PbxRuntime;
use ucplus_core::cti::views::PresenceView;
use ucplus_core::event::{Event, Payload};

/// Starts the link task of a PBX connection's kind.
pub trait LinkLauncher: Send + Sync + 'static {
    fn launch(&self, pbx: &Pbx, channels: LinkChannels);
}

/// Which PBX links this node runs: every one (the only node), or those whose lease it
/// holds, each with its epoch (several nodes).
pub enum LinkGate {
    All,
    Leased(RwLock<HashMap<PbxId, i64>>),
}

impl LinkGate {
    fn allows(&self, id: PbxId) -> bool {
        match self {
            LinkGate::All => true,
            LinkGate::Leased(held) => read(held).contains_key(&id),
        }
    }

    /// The epoch under which this node runs link `id` (0 for the only node).
    fn epoch(&self, id: PbxId) -> i64 {
        match self {
            LinkGate::All => 0,
            LinkGate::Leased(held) => read(held).get(&id).copied().unwrap_or_default(),
        }
    }
}

pub struct Cti {
    pub bus: Arc<dyn Bus>,
    /// This node's name.
    pub node: String,
    gate: LinkGate,
    store: Arc<dyn Store>,
    launcher: Box<dyn LinkLauncher>,
    pub request_timeout: Duration,
    /// Names callers from each tenant's directory.
    names: names::CallerNames,
    /// Writes finished calls to the call log.
    call_log: call_log::CallLogWriter,
    /// Each tenant's (and user's) devices on each PBX.
    index: RwLock<index::DeviceIndex>,
    pbxs: RwLock<HashMap<PbxId, Arc<PbxRuntime>>>,
    /// Users' names and chosen presence.
    people: people::People,
    /// Several nodes: how this node tells the others what they keep of it.
    peers: std::sync::OnceLock<Arc<relay::RelayBus>>,
}

/// What a node tells the others so their presence views match its own.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum Notice {
    /// A user chose a presence on the telling node.
    Chosen {
        tenant: TenantId,
        user: UserId,
        state: PresenceState,
        note: Option<String>,
    },
    /// The combined phone state of a user's devices on the telling node's links (None: no
    /// device of the user is there any more).
    Phone {
        user: UserId,
        phone: Option<ucplus_core::cti::PhoneState>,
    },
    /// A PBX connection's settings or devices changed: the node running its link reloads
    /// it from the store (the others their device index).
    Pbx { pbx: PbxId },
    /// A user's name changed (None: the user is gone).
    User { user: UserId, name: Option<String> },
    /// A tenant's directory changed: callers are named from the new one.
    Directory { tenant: TenantId },
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

/// A call found by its API id, with the device it is on.
pub struct CallRef {
    pub runtime: Arc<PbxRuntime>,
    pub device: Device,
    pub call: DeviceCall,
}

impl Cti {
    /// Loads every PBX connection with its devices, users' names and presence, and starts
    /// the engines and links.
    /// With `gate` [`LinkGate::Leased`], no link runs until its lease is claimed
    /// ([`Cti::link_claimed`]).
    pub async fn start(
        store: Arc<dyn Store>,
        launcher: Box<dyn LinkLauncher>,
        request_timeout: Duration,
        bus: Arc<dyn Bus>,
        node: String,
        gate: LinkGate,
    ) -> StoreResult<Arc<Cti>> {
        let cti = Arc::new(Cti {
            bus,
            node,
            gate,
            store: store.clone(),
            launcher,
            request_timeout,
            names: names::CallerNames::default(),
            call_log: call_log::CallLogWriter::start(store.clone()),
            index: RwLock::new(index::DeviceIndex::default()),
            pbxs: RwLock::new(HashMap::new()),
            people: people::People::default(),
            peers: std::sync::OnceLock::new(),
        });
        for tenant in store.tenants().await? {
            cti.load_tenant(tenant.id).await?;
        }
        for pbx in store.pbxs().await? {
            cti.reload_pbx(pbx.id).await?;
        }
        Ok(cti)
    }

    async fn load_tenant(&self, tenant: TenantId) -> StoreResult<()> {
        self.names.load(self.store.as_ref(), tenant).await?;
        let users = self.store.tenant(tenant).users().list().await?;
        let presence = self.store.tenant(tenant).presence().list().await?;
        self.people.load(users, presence);
        Ok(())
    }

    /// Starts, updates or stops the engine of one PBX connection after a change.
    pub async fn reload_pbx(self: &Arc<Self>, id: PbxId) -> StoreResult<()> {
        let pbx = match self.store.pbx(id).await {
            Ok(pbx) => pbx,
            Err(StoreError::NotFound) => {
                self.stop_pbx(id);
                write(&self.index).remove_pbx(id);
                return Ok(());
            }
            Err(error) => return Err(error),
        };
        let devices = self.store.pbx_devices(id).await?;
        write(&self.index).set_pbx(id, &devices);
        if !self.gate.allows(id) {
            // Another node runs this link (or none does yet).
            self.stop_pbx(id);
            return Ok(());
        }
        let existing = read(&self.pbxs).get(&id).cloned();
        if let Some(runtime) = existing {
            let link_changed = {
                let current = read(&runtime.config);
                current.host != pbx.host
                    || current.port != pbx.port
                    || current.settings != pbx.settings
            };
            if link_changed {
                self.stop_pbx(id);
            } else {
                *write(&runtime.config) = pbx;
                let removed = runtime.set_devices(devices);
                for entry in removed {
                    if let Some(user) = entry.record.user_id {
                        self.phone_changed(entry.record.tenant_id, user).await;
                    }
                }
                return Ok(());
            }
        }
        let monitored: BTreeSet<String> = devices.iter().map(|d| d.device_id.clone()).collect();
        let (engine, link) = channels(monitored);
        let runtime = Arc::new(PbxRuntime::new(
            pbx.clone(),
            self.node.clone(),
            self.gate.epoch(id),
            devices,
            engine.requests,
            engine.devices,
            engine.shutdown,
        ));
        write(&self.pbxs).insert(id, runtime.clone());
        tokio::spawn(engine::run(self.clone(), runtime, engine.events));
        self.launcher.launch(&pbx, link);
        Ok(())
    }

    /// Devices of a running PBX connection were added or changed (`upserted`) or removed
    /// (`removed`, their ids on the PBX): the runtime, the index and the link's monitors
    /// follow, without rereading the PBX's other devices — so assigning devices in bulk
    /// costs what it adds, not what the PBX already has. A connection that is not running
    /// is (re)loaded instead.
    pub async fn devices_changed(
        self: &Arc<Self>,
        pbx: PbxId,
        upserted: &[Device],
        removed: &[String],
    ) -> StoreResult<()> {
        let Some(runtime) = self.runtime(pbx) else {
            return self.reload_pbx(pbx).await;
        };
        let mut touched: BTreeSet<(TenantId, UserId)> = BTreeSet::new();
        let before = runtime.upsert_devices(upserted);
        let gone = runtime.remove_devices(removed);
        {
            let mut index = write(&self.index);
            for (old, new) in before.iter().zip(upserted) {
                index.update(pbx, old.as_ref(), Some(new));
            }
            for entry in &gone {
                index.update(pbx, Some(&entry.record), None);
            }
        }
        let owners = before
            .iter()
            .flatten()
            .chain(upserted)
            .chain(gone.iter().map(|entry| &entry.record));
        for device in owners {
            if let Some(user) = device.user_id {
                touched.insert((device.tenant_id, user));
            }
        }
        for (tenant, user) in touched {
            self.phone_changed(tenant, user).await;
        }
        Ok(())
    }

    fn stop_pbx(&self, id: PbxId) {
        let stopped = write(&self.pbxs).remove(&id);
        if let Some(runtime) = stopped {
            runtime.shutdown.send_replace(true);
            self.phones_left(&[runtime]);
        }
    }

    /// Links stopped here: the other nodes are told the phones of their users are no
    /// longer on this node's links (whoever runs them now tells the new states).
    fn phones_left(&self, stopped: &[Arc<PbxRuntime>]) {
        if self.peers.get().is_none() {
            return;
        }
        let mut users = BTreeSet::new();
        for runtime in stopped {
            let state = runtime.read();
            users.extend(
                state
                    .devices
                    .values()
                    .filter_map(|d| Some((d.record.tenant_id, d.record.user_id?))),
            );
        }
        for (tenant, user) in users {
            let here = self.phone_here(tenant, user);
            if self.people.tell(user, here) {
                self.tell(&Notice::Phone { user, phone: here });
            }
        }
    }

    /// This node now holds PBX `id`'s link under `epoch`: it starts it (a fresh start:
    /// every device monitored again, calls resynchronized from snapshots).
    pub async fn link_claimed(self: &Arc<Self>, id: PbxId, epoch: i64) -> StoreResult<()> {
        if let LinkGate::Leased(held) = &self.gate {
            write(held).insert(id, epoch);
        }
        self.stop_pbx(id);
        self.reload_pbx(id).await
    }

    /// This node no longer holds PBX `id`'s link: it stops at once.
    pub fn link_lost(&self, id: PbxId) {
        if let LinkGate::Leased(held) = &self.gate {
            write(held).remove(&id);
        }
        self.stop_pbx(id);
    }

    /// The links this node holds, with their epochs (every running link for the only node).
    pub fn held_links(&self) -> Vec<(PbxId, i64)> {
        match &self.gate {
            LinkGate::All => read(&self.pbxs).keys().map(|id| (*id, 0)).collect(),
            LinkGate::Leased(held) => read(held).iter().map(|(id, e)| (*id, *e)).collect(),
        }
    }

    /// Stops every link this node runs (it could not renew its lease in time: others may
    /// take them). The call log is kept; the links come back only by new claims.
    pub fn fence(&self) -> usize {
        if let LinkGate::Leased(held) = &self.gate {
            write(held).clear();
        }
        let all: Vec<_> = write(&self.pbxs).drain().map(|(_, r)| r).collect();
        for runtime in &all {
            runtime.shutdown.send_replace(true);
        }
        self.phones_left(&all);
        all.len()
    }

    /// Stops every link and writes what is left of the call log (server shutdown).
    pub async fn stop(&self) {
        let all: Vec<_> = write(&self.pbxs).drain().collect();
        for (_, runtime) in all {
            runtime.shutdown.send_replace(true);
        }
        self.call_log.flush().await;
    }

    pub fn runtime(&self, id: PbxId) -> Option<Arc<PbxRuntime>> {
        read(&self.pbxs).get(&id).cloned()
    }

    fn runtimes(&self) -> Vec<Arc<PbxRuntime>> {
        read(&self.pbxs).values().cloned().collect()
    }

    // --- users and presence

    pub fn user_updated(&self, user: &User) {
        self.people.updated(user);
        self.tell(&Notice::User {
            user: user.id,
            name: Some(user.display_name.clone()),
        });
    }

    pub fn user_removed(&self, user: UserId) {
        self.people.removed(user);
        self.tell(&Notice::User { user, name: None });
    }

    /// A PBX connection changed here: the other nodes reload it (see [`Notice::Pbx`]).
    pub fn pbx_changed_here(&self, pbx: PbxId) {
        self.tell(&Notice::Pbx { pbx });
    }

    /// A deleted tenant: its event stream closes and nothing of it stays cached.
    pub fn tenant_removed(&self, tenant: TenantId, users: &[UserId]) {
        for user in users {
            self.user_removed(*user);
        }
        self.names.remove(tenant);
        self.bus.remove_tenant(tenant);
    }

    /// The tenant's directory changed (contacts written, imported, deleted, or a user's
    /// own contacts gone with the user): callers are named from it from now on.
    pub async fn contacts_changed(&self, tenant: TenantId) -> StoreResult<()> {
        self.tell(&Notice::Directory { tenant });
        self.names.load(self.store.as_ref(), tenant).await
    }

    pub fn user_name(&self, user: UserId) -> Option<String> {
        self.people.name(user)
    }

    pub fn presence_of(
        &self,
        tenant: TenantId,
        user: UserId,
        display_name: String,
    ) -> PresenceView {
        self.people
            .presence(user, display_name, self.user_phone(tenant, user))
    }

    /// Several nodes: this node tells the others over `relay` (see [`Notice`]).
    pub fn tell_peers(&self, relay: Arc<relay::RelayBus>) {
        let _ = self.peers.set(relay);
    }

    fn tell(&self, notice: &Notice) {
        if let (Some(peers), Ok(body)) = (self.peers.get(), serde_json::to_vec(notice)) {
            peers.tell(&body);
        }
    }

    /// Another node told something (see [`Notice`]); a notice that cannot be read is
    /// ignored (the next refresh corrects what it would have said).
    pub fn take_notice(self: &Arc<Self>, node: &str, body: &[u8]) {
        match serde_json::from_slice::<Notice>(body) {
            Ok(Notice::Chosen {
                user, state, note, ..
            }) => self.people.choose(user, state, note),
            Ok(Notice::Phone { user, phone }) => self.people.remote_phone(node, user, phone),
            Ok(Notice::User {
                user,
                name: Some(name),
            }) => self.people.renamed(user, name),
            Ok(Notice::User { user, name: None }) => self.people.removed(user),
            Ok(Notice::Pbx { pbx }) => {
                let cti = self.clone();
                tokio::spawn(async move {
                    if let Err(error) = cti.reload_pbx(pbx).await {
                        tracing::error!(%error, %pbx, "could not reload a PBX connection another node changed");
                    }
                });
            }
            Ok(Notice::Directory { tenant }) => {
                let cti = self.clone();
                tokio::spawn(async move {
                    if let Err(error) = cti.names.load(cti.store.as_ref(), tenant).await {
                        tracing::error!(%error, %tenant, "could not reload caller names another node changed");
                    }
                });
            }
            Err(error) => tracing::warn!(%error, node, "an unreadable notice from another node"),
        }
    }

    /// What another node says of its links' phones now, replacing what it said before.
    pub fn phones_of_node(&self, node: &str, phones: Vec<(UserId, ucplus_core::cti::PhoneState)>) {
        self.people.remote_phones(node, phones);
    }

    /// Forgets what nodes no longer live said.
    pub fn keep_nodes(&self, live: &[String]) {
        self.people.keep_nodes(live);
    }

    /// Reloads every tenant's chosen presence and names from the store (notices from
    /// other nodes may have been lost).
    pub async fn reload_people(&self) -> StoreResult<()> {
        for tenant in self.store.tenants().await? {
            self.load_tenant(tenant.id).await?;
        }
        Ok(())
    }

    /// A user's phone may have changed: tell the tenant if their presence did (and the
    /// other nodes if the phone on this node's links did).
    pub async fn phone_changed(&self, tenant: TenantId, user: UserId) {
        let here = self.phone_here(tenant, user);
        if self.peers.get().is_some() && self.people.tell(user, here) {
            self.tell(&Notice::Phone { user, phone: here });
        }
        let phone = self.with_elsewhere(user, here);
        if self.people.phone_changed(user, phone) {
            self.publish_presence(tenant, user);
        }
    }

    fn publish_presence(&self, tenant: TenantId, user: UserId) {
        let name = self.user_name(user).unwrap_or_default();
        let view = self.presence_of(tenant, user, name);
        self.bus
            .publish(Event::tenant(tenant, Payload::Presence(view)));
    }

    /// Stores and announces a user's chosen presence.
    pub async fn set_presence(
        &self,
        tenant: TenantId,
        user: UserId,
        state: PresenceState,
        note: Option<String>,
    ) -> StoreResult<PresenceView> {
        self.store
            .tenant(tenant)
            .presence()
            .set(&ucplus_core::UserPresence {
                user_id: user,
                state,
                note: note.clone(),
                updated_at: ucplus_core::Timestamp::now(),
            })
            .await?;
        self.people.choose(user, state, note.clone());
        self.tell(&Notice::Chosen {
            tenant,
            user,
            state,
            note,
        });
        self.publish_presence(tenant, user);
        Ok(self.presence_of(tenant, user, self.user_name(user).unwrap_or_default()))
    }

    /// Presence of every user of the tenant.
    pub async fn presence(&self, tenant: TenantId) -> StoreResult<Vec<PresenceView>> {
        let users = self.store.tenant(tenant).users().list().await?;
        Ok(users
            .into_iter()
            .map(|u| self.presence_of(tenant, u.id, u.display_name))
            .collect())
    }

    pub async fn request(
        &self,
        runtime: &PbxRuntime,
        request: PbxRequest,
    ) -> Result<PbxResponse, PbxError> {
        let result = runtime.request(request, self.request_timeout).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(error) => error.code(),
        };
        metrics::counter!("ucplus_pbx_requests_total", "result" => outcome).increment(1);
        result
    }
}
