//! The CTI hub: one engine per PBX connection, the event bus, presence, and the queries
//! the API answers from live state.

pub mod bus;
mod call_log;
mod engine;
mod index;
pub mod launch;
pub mod link;
mod names;
pub mod runtime;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ucplus_core::cti::{
    DeviceCall, LinkState, PbxError, PbxRequest, PbxResponse, PhoneState, PresenceState,
};
use ucplus_core::{Device, Pbx, PbxId, Store, StoreError, StoreResult, TenantId, User, UserId};
use uuid::Uuid;

use self::bus::{Bus, LocalBus};
use self::link::{LinkChannels, channels};
use self::runtime::PbxRuntime;
use ucplus_core::cti::views::{CallView, DeviceStateView, LinkView, Party, PresenceView};
use ucplus_core::event::{Event, Payload};

/// Starts the link task of a PBX connection's kind.
pub trait LinkLauncher: Send + Sync + 'static {
    fn launch(&self, pbx: &Pbx, channels: LinkChannels);
}

/// A user's chosen presence.
#[derive(Debug, Clone)]
struct Chosen {
    state: PresenceState,
    note: Option<String>,
}

pub struct Cti {
    pub bus: Arc<dyn Bus>,
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
    user_names: RwLock<HashMap<UserId, String>>,
    chosen: RwLock<HashMap<UserId, Chosen>>,
    last_phone: RwLock<HashMap<UserId, PhoneState>>,
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
    pub async fn start(
        store: Arc<dyn Store>,
        launcher: Box<dyn LinkLauncher>,
        request_timeout: Duration,
        client_queue: usize,
    ) -> StoreResult<Arc<Cti>> {
        let cti = Arc::new(Cti {
            bus: Arc::new(LocalBus::new(client_queue)),
            store: store.clone(),
            launcher,
            request_timeout,
            names: names::CallerNames::default(),
            call_log: call_log::CallLogWriter::start(store.clone()),
            index: RwLock::new(index::DeviceIndex::default()),
            pbxs: RwLock::new(HashMap::new()),
            user_names: RwLock::new(HashMap::new()),
            chosen: RwLock::new(HashMap::new()),
            last_phone: RwLock::new(HashMap::new()),
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
        let mut names = write(&self.user_names);
        for user in users {
            names.insert(user.id, user.display_name);
        }
        drop(names);
        let mut chosen = write(&self.chosen);
        for p in presence {
            chosen.insert(
                p.user_id,
                Chosen {
                    state: p.state,
                    note: p.note,
                },
            );
        }
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

    fn stop_pbx(&self, id: PbxId) {
        if let Some(runtime) = write(&self.pbxs).remove(&id) {
            runtime.shutdown.send_replace(true);
        }
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

    /// Tenants that see a PBX's link state: its owner, or every tenant with a device on it.
    pub fn tenants_of(&self, runtime: &PbxRuntime) -> Vec<TenantId> {
        let mut tenants = read(&self.index).tenants_of(runtime.id);
        tenants.extend(runtime.owner());
        tenants.into_iter().collect()
    }

    /// The tenant's devices (with `user`: only theirs) by PBX, from the index.
    fn devices_of(
        &self,
        tenant: TenantId,
        user: Option<UserId>,
    ) -> Vec<(Arc<PbxRuntime>, Vec<String>)> {
        let mut by_pbx: HashMap<PbxId, Vec<String>> = HashMap::new();
        for (pbx, device) in read(&self.index).devices(tenant, user) {
            by_pbx.entry(pbx).or_default().push(device);
        }
        by_pbx
            .into_iter()
            .filter_map(|(pbx, devices)| Some((self.runtime(pbx)?, devices)))
            .collect()
    }

    // --- users and presence

    pub fn user_updated(&self, user: &User) {
        write(&self.user_names).insert(user.id, user.display_name.clone());
    }

    pub fn user_removed(&self, user: UserId) {
        write(&self.user_names).remove(&user);
        write(&self.chosen).remove(&user);
        write(&self.last_phone).remove(&user);
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
        self.names.load(self.store.as_ref(), tenant).await
    }

    pub fn user_name(&self, user: UserId) -> Option<String> {
        read(&self.user_names).get(&user).cloned()
    }

    /// The combined phone state of all of a user's devices, on every PBX.
    pub fn user_phone(&self, tenant: TenantId, user: UserId) -> PhoneState {
        let mut states = Vec::new();
        for (runtime, devices) in self.devices_of(tenant, Some(user)) {
            let state = runtime.read();
            let known = state.link.state == LinkState::Up;
            states.extend(
                devices
                    .iter()
                    .filter_map(|id| state.devices.get(id))
                    .map(|d| phone_state(known, &d.calls)),
            );
        }
        PhoneState::combine(states)
    }

    pub fn presence_of(
        &self,
        tenant: TenantId,
        user: UserId,
        display_name: String,
    ) -> PresenceView {
        let chosen = read(&self.chosen).get(&user).cloned().unwrap_or(Chosen {
            state: PresenceState::Available,
            note: None,
        });
        let phone = self.user_phone(tenant, user);
        PresenceView {
            user_id: user,
            display_name,
            state: chosen.state,
            note: chosen.note,
            phone,
            on_the_phone: phone.on_the_phone(),
        }
    }

    /// A user's phone may have changed: tell the tenant if their presence did.
    pub async fn phone_changed(&self, tenant: TenantId, user: UserId) {
        let phone = self.user_phone(tenant, user);
        let previous = write(&self.last_phone).insert(user, phone);
        if previous == Some(phone) || (previous.is_none() && phone == PhoneState::Idle) {
            return;
        }
        self.publish_presence(tenant, user);
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
        write(&self.chosen).insert(user, Chosen { state, note });
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

    // --- devices, calls and links, as the API shows them

    pub fn device_state(&self, runtime: &PbxRuntime, device_id: &str) -> Option<DeviceStateView> {
        let state = runtime.read();
        let entry = state.devices.get(device_id)?;
        Some(DeviceStateView {
            device_id: entry.record.id,
            number: entry.record.number().to_string(),
            name: entry.record.name.clone(),
            user_id: entry.record.user_id,
            state: phone_state(state.link.state == LinkState::Up, &entry.calls),
            dnd: entry.calls.dnd,
            forwarding_to: entry.calls.forwarding_to.clone(),
        })
    }

    /// Every device of the tenant with its phone state (the busy-lamp field).
    pub fn device_states(&self, tenant: TenantId) -> Vec<DeviceStateView> {
        let mut views = Vec::new();
        for (runtime, devices) in self.devices_of(tenant, None) {
            views.extend(
                devices
                    .iter()
                    .filter_map(|id| self.device_state(&runtime, id)),
            );
        }
        views.sort_by(|a, b| a.number.cmp(&b.number));
        views
    }

    /// The calls on a user's devices (`user` None: every device of the tenant).
    pub fn calls(&self, tenant: TenantId, user: Option<UserId>) -> Vec<CallView> {
        let mut views = Vec::new();
        for (runtime, devices) in self.devices_of(tenant, user) {
            let state = runtime.read();
            for entry in devices.iter().filter_map(|id| state.devices.get(id)) {
                // The index and the runtime agree but for a moment during a reload.
                if entry.record.tenant_id != tenant
                    || (user.is_some() && entry.record.user_id != user)
                {
                    continue;
                }
                for call in &entry.calls.calls {
                    let party = entry
                        .parties
                        .get(&call.id)
                        .map(|(_, p)| p.clone())
                        .unwrap_or_else(|| Party {
                            number: call.other_number.clone(),
                            name: None,
                            internal: false,
                        });
                    views.push(CallView::new(
                        call,
                        entry.record.id,
                        entry.record.user_id,
                        runtime.id,
                        party,
                    ));
                }
            }
        }
        views.sort_by_key(|v| v.started_at);
        views
    }

    /// A call of the tenant by its API id. Another tenant's call is not found.
    pub fn find_call(&self, tenant: TenantId, id: Uuid) -> Option<CallRef> {
        let pbxs = read(&self.index).pbxs(tenant);
        for runtime in pbxs.into_iter().filter_map(|pbx| self.runtime(pbx)) {
            let state = runtime.read();
            let Some(device_id) = state.calls.get(&id) else {
                continue;
            };
            let Some(entry) = state.devices.get(device_id) else {
                continue;
            };
            if entry.record.tenant_id != tenant {
                return None;
            }
            let call = entry.calls.call(id)?.clone();
            let device = entry.record.clone();
            drop(state);
            return Some(CallRef {
                runtime,
                device,
                call,
            });
        }
        None
    }

    /// The links a tenant's session sees (all, with detail, for the system console).
    /// `detail`: the session is an admin of `tenant`, who sees why its own PBX is down.
    pub fn links(&self, tenant: Option<TenantId>, detail: bool) -> Vec<LinkView> {
        let used = tenant.map(|t| read(&self.index).pbxs(t));
        self.runtimes()
            .iter()
            .filter(|r| match (tenant, &used) {
                (Some(t), Some(used)) => r.owner() == Some(t) || used.contains(&r.id),
                _ => true,
            })
            .map(|r| {
                let view = r.link_view();
                match tenant {
                    Some(t) if !(detail && r.owner() == Some(t)) => view.plain(),
                    _ => view,
                }
            })
            .collect()
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

    /// A PBX number as the tenant knows it: its own device's extension, else unchanged.
    pub fn display_number(&self, runtime: &PbxRuntime, tenant: TenantId, number: &str) -> String {
        runtime
            .read()
            .devices
            .get(number)
            .filter(|e| e.record.tenant_id == tenant)
            .map_or_else(|| number.to_string(), |e| e.record.number().to_string())
    }

    /// The far party of a call as the device's tenant may see it: a device of the same
    /// tenant shows its extension and user; another tenant's device shows only its number;
    /// otherwise the tenant's (and the user's personal) contacts name the number.
    pub fn resolve_party(&self, runtime: &PbxRuntime, device: &Device, call: &DeviceCall) -> Party {
        if let Some((number, party)) = runtime
            .read()
            .devices
            .get(&device.device_id)
            .and_then(|e| e.parties.get(&call.id))
        {
            if *number == call.other_number {
                return party.clone();
            }
        }
        let party = self.lookup_party(runtime, device, call.other_number.as_deref());
        if let Some(entry) = runtime.write().devices.get_mut(&device.device_id) {
            entry
                .parties
                .insert(call.id, (call.other_number.clone(), party.clone()));
        }
        party
    }

    fn lookup_party(&self, runtime: &PbxRuntime, device: &Device, number: Option<&str>) -> Party {
        let Some(number) = number else {
            return Party {
                number: None,
                name: None,
                internal: false,
            };
        };
        let same_pbx = runtime.read().devices.get(number).map(|e| e.record.clone());
        if let Some(other) = same_pbx {
            if other.tenant_id == device.tenant_id {
                let name = other
                    .user_id
                    .and_then(|u| self.user_name(u))
                    .unwrap_or(other.name.clone());
                return Party {
                    number: Some(other.number().to_string()),
                    name: Some(name),
                    internal: true,
                };
            }
            // Another tenant's device: its number only, nothing else of that tenant.
            return Party {
                number: Some(number.to_string()),
                name: None,
                internal: false,
            };
        }
        let name = self.names.name(device.tenant_id, device.user_id, number);
        Party {
            number: Some(number.to_string()),
            name,
            internal: false,
        }
    }
}

/// What a phone is doing, as far as anyone can tell: while its PBX link is not up, the
/// last known state may be stale, so it is `unknown` rather than, say, free.
fn phone_state(link_up: bool, calls: &ucplus_core::cti::DeviceCalls) -> PhoneState {
    if link_up {
        calls.phone_state()
    } else {
        PhoneState::Unknown
    }
}
