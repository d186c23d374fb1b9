//! Which devices each tenant (and each user) has on which PBX: the read model the live
//! queries start from, so that a phone change, a busy-lamp field or a user's calls touch
//! only the tenant's own devices instead of scanning every device of every PBX.
//! Updated whenever a PBX connection's devices change.

use std::collections::{BTreeSet, HashMap};

use ucplus_core::{Device, PbxId, TenantId, UserId};

/// A device as the index names it: its PBX and its id there.
pub type DeviceKey = (PbxId, String);

#[derive(Default)]
struct TenantDevices {
    devices: BTreeSet<DeviceKey>,
    users: HashMap<UserId, BTreeSet<DeviceKey>>,
}

#[derive(Default)]
pub struct DeviceIndex {
    tenants: HashMap<TenantId, TenantDevices>,
    /// The tenants with a device on each PBX, with how many devices each has there.
    pbx_tenants: HashMap<PbxId, HashMap<TenantId, usize>>,
}

impl DeviceIndex {
    /// Replaces what the index knows of one PBX's devices.
    pub fn set_pbx<'a>(&mut self, pbx: PbxId, devices: impl IntoIterator<Item = &'a Device>) {
        self.remove_pbx(pbx);
        for device in devices {
            self.add(pbx, device);
        }
    }

    /// One device of a PBX changed: `old` as it was (None: new), `new` as it is (None:
    /// removed).
    pub fn update(&mut self, pbx: PbxId, old: Option<&Device>, new: Option<&Device>) {
        if let Some(old) = old {
            self.remove(pbx, old);
        }
        if let Some(new) = new {
            self.add(pbx, new);
        }
    }

    fn add(&mut self, pbx: PbxId, device: &Device) {
        let key = (pbx, device.device_id.clone());
        let entry = self.tenants.entry(device.tenant_id).or_default();
        if !entry.devices.insert(key.clone()) {
            return;
        }
        if let Some(user) = device.user_id {
            entry.users.entry(user).or_default().insert(key);
        }
        *self
            .pbx_tenants
            .entry(pbx)
            .or_default()
            .entry(device.tenant_id)
            .or_default() += 1;
    }

    fn remove(&mut self, pbx: PbxId, device: &Device) {
        let key = (pbx, device.device_id.clone());
        let Some(entry) = self.tenants.get_mut(&device.tenant_id) else {
            return;
        };
        if !entry.devices.remove(&key) {
            return;
        }
        if let Some(user) = device.user_id
            && let Some(keys) = entry.users.get_mut(&user)
        {
            keys.remove(&key);
            if keys.is_empty() {
                entry.users.remove(&user);
            }
        }
        if entry.devices.is_empty() {
            self.tenants.remove(&device.tenant_id);
        }
        if let Some(tenants) = self.pbx_tenants.get_mut(&pbx) {
            if let Some(count) = tenants.get_mut(&device.tenant_id) {
                *count -= 1;
                if *count == 0 {
                    tenants.remove(&device.tenant_id);
                }
            }
            if tenants.is_empty() {
                self.pbx_tenants.remove(&pbx);
            }
        }
    }

    /// Forgets one PBX's devices.
    pub fn remove_pbx(&mut self, pbx: PbxId) {
        let Some(tenants) = self.pbx_tenants.remove(&pbx) else {
            return;
        };
        for tenant in tenants.into_keys() {
            let Some(entry) = self.tenants.get_mut(&tenant) else {
                continue;
            };
            entry.devices.retain(|(p, _)| *p != pbx);
            entry.users.retain(|_, keys| {
                keys.retain(|(p, _)| *p != pbx);
                !keys.is_empty()
            });
            if entry.devices.is_empty() {
                self.tenants.remove(&tenant);
            }
        }
    }

    /// The tenant's devices (with `user`: only theirs).
    pub fn devices(&self, tenant: TenantId, user: Option<UserId>) -> Vec<DeviceKey> {
        let Some(entry) = self.tenants.get(&tenant) else {
            return Vec::new();
        };
        match user {
            Some(user) => entry
                .users
                .get(&user)
                .map(|keys| keys.iter().cloned().collect())
                .unwrap_or_default(),
            None => entry.devices.iter().cloned().collect(),
        }
    }

    /// The PBXs the tenant has devices on.
    pub fn pbxs(&self, tenant: TenantId) -> BTreeSet<PbxId> {
        self.tenants
            .get(&tenant)
            .map(|entry| entry.devices.iter().map(|(pbx, _)| *pbx).collect())
            .unwrap_or_default()
    }

    /// The tenants with a device on the PBX.
    pub fn tenants_of(&self, pbx: PbxId) -> BTreeSet<TenantId> {
        self.pbx_tenants
            .get(&pbx)
            .map(|tenants| tenants.keys().copied().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use ucplus_core::{DeviceRecordId, Timestamp};

    use super::*;

    fn device(tenant: TenantId, pbx: PbxId, id: &str, user: Option<UserId>) -> Device {
        Device {
            id: DeviceRecordId::new(),
            tenant_id: tenant,
            pbx_id: pbx,
            device_id: id.into(),
            extension: None,
            name: id.into(),
            user_id: user,
            created_at: Timestamp(0),
            sip_username: None,
            sip_ha1: None,
        }
    }

    #[test]
    fn answers_per_tenant_and_user_and_follows_changes() {
        let (a, b) = (TenantId::new(), TenantId::new());
        let (shared, own) = (PbxId::new(), PbxId::new());
        let anna = UserId::new();
        let mut index = DeviceIndex::default();
        index.set_pbx(
            shared,
            &[
                device(a, shared, "1200", Some(anna)),
                device(a, shared, "1201", None),
                device(b, shared, "2200", None),
            ],
        );
        index.set_pbx(own, &[device(a, own, "300", Some(anna))]);
        assert_eq!(index.devices(a, None).len(), 3);
        assert_eq!(
            index.devices(a, Some(anna)),
            vec![(shared, "1200".to_string()), (own, "300".to_string())]
                .into_iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
        );
        assert_eq!(index.devices(b, None), vec![(shared, "2200".to_string())]);
        assert!(index.devices(b, Some(anna)).is_empty());
        assert_eq!(index.pbxs(a), [shared, own].into_iter().collect());
        assert_eq!(index.tenants_of(shared), [a, b].into_iter().collect());

        // Tenant B's device leaves the shared PBX; Anna's own PBX goes away.
        index.set_pbx(
            shared,
            &[
                device(a, shared, "1200", Some(anna)),
                device(a, shared, "1201", None),
            ],
        );
        index.remove_pbx(own);
        assert!(index.devices(b, None).is_empty());
        assert_eq!(index.tenants_of(shared), [a].into_iter().collect());
        assert_eq!(
            index.devices(a, Some(anna)),
            vec![(shared, "1200".to_string())]
        );
        assert_eq!(index.pbxs(a), [shared].into_iter().collect());
        assert!(index.tenants_of(own).is_empty());

        // One device at a time: given to a user, moved between tenants, removed.
        let mut desk = device(a, shared, "1201", None);
        let before = desk.clone();
        desk.user_id = Some(anna);
        index.update(shared, Some(&before), Some(&desk));
        assert_eq!(index.devices(a, Some(anna)).len(), 2);
        let moved = device(b, shared, "1201", None);
        index.update(shared, Some(&desk), Some(&moved));
        assert_eq!(
            index.devices(a, Some(anna)),
            vec![(shared, "1200".to_string())]
        );
        assert_eq!(index.devices(b, None), vec![(shared, "1201".to_string())]);
        assert_eq!(index.tenants_of(shared), [a, b].into_iter().collect());
        index.update(shared, Some(&moved), None);
        assert!(index.devices(b, None).is_empty());
        assert_eq!(index.tenants_of(shared), [a].into_iter().collect());
        // Adding what is there already counts nothing twice.
        let again = device(a, shared, "1200", Some(anna));
        index.update(shared, None, Some(&again));
        index.update(shared, Some(&again), None);
        assert!(index.devices(a, None).is_empty());
        assert!(index.tenants_of(shared).is_empty());
    }
}
