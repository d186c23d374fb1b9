//! The queries the API and the engines answer from live state: a tenant's devices and
//! their phone states, its calls, a call by id, the links it sees, far parties. Each
//! starts from the device index (the tenant's own devices), never a scan of every PBX.

use std::collections::HashMap;
use std::sync::Arc;

use ucplus_core::cti::views::{CallView, DeviceStateView, LinkView, Party};
use ucplus_core::cti::{DeviceCall, LinkState, PhoneState};
use ucplus_core::{Device, PbxId, TenantId, UserId};
use uuid::Uuid;

use super::runtime::PbxRuntime;
use super::{CallRef, Cti, read};

impl Cti {
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

    /// The combined phone state of all of a user's devices, on every PBX (with several
    /// nodes: also those on other nodes' links, as those nodes told).
    pub fn user_phone(&self, tenant: TenantId, user: UserId) -> PhoneState {
        self.with_elsewhere(user, self.phone_here(tenant, user))
    }

    /// The user's phone state `here` combined with what other nodes told of theirs.
    pub(super) fn with_elsewhere(&self, user: UserId, here: Option<PhoneState>) -> PhoneState {
        PhoneState::combine(here.into_iter().chain(self.people.phones_elsewhere(user)))
    }

    /// The combined phone state of a user's devices on the links this node runs (None:
    /// none of them is here).
    pub fn phone_here(&self, tenant: TenantId, user: UserId) -> Option<PhoneState> {
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
        (!states.is_empty()).then(|| PhoneState::combine(states))
    }

    /// Every user's combined phone state on the links this node runs.
    pub fn phones_here(&self) -> Vec<(UserId, PhoneState)> {
        let mut phones: HashMap<UserId, PhoneState> = HashMap::new();
        for runtime in self.runtimes() {
            let state = runtime.read();
            let known = state.link.state == LinkState::Up;
            for entry in state.devices.values() {
                if let Some(user) = entry.record.user_id {
                    let phone = phone_state(known, &entry.calls);
                    let combined = phones.entry(user).or_insert(phone);
                    *combined = (*combined).max(phone);
                }
            }
        }
        phones.into_iter().collect()
    }

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
            && *number == call.other_number
        {
            return party.clone();
        }
        let party = self.lookup_party(runtime, device, call.other_number.as_deref());
        if let Some(entry) = runtime.write().devices.get_mut(&device.device_id) {
            entry
                .parties
                .insert(call.id, (call.other_number.clone(), party.clone()));
        }
        party
    }

    pub(super) fn lookup_party(
        &self,
        runtime: &PbxRuntime,
        device: &Device,
        number: Option<&str>,
    ) -> Party {
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
