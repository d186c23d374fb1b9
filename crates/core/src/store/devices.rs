//! Devices: a tenant's own, and every device of one PBX (for its engine).

use async_trait::async_trait;

use super::{Store, StoreResult, check_tenant};
use crate::ids::{DeviceRecordId, PbxId, TenantId};
use crate::model::Device;

/// The tenant-scoped methods are reached through [`Devices`] (`store.tenant(id).devices()`);
/// `device_owner` and `pbx_devices` are system scope.
#[async_trait]
pub trait DeviceStore: Send + Sync {
    async fn devices(&self, tenant: TenantId) -> StoreResult<Vec<Device>>;
    async fn device(&self, tenant: TenantId, id: DeviceRecordId) -> StoreResult<Device>;
    /// All or none: (PBX, device id) is unique across tenants.
    async fn insert_devices(&self, tenant: TenantId, devices: &[Device]) -> StoreResult<()>;
    async fn update_device(&self, tenant: TenantId, device: &Device) -> StoreResult<()>;
    async fn delete_device(&self, tenant: TenantId, id: DeviceRecordId) -> StoreResult<()>;
    /// Which of `numbers` a device of the tenant already answers to (its extension, or its
    /// device id when it has none).
    async fn numbers_in_use(
        &self,
        tenant: TenantId,
        numbers: &[String],
    ) -> StoreResult<Vec<String>>;
    /// The tenant owning device `device_id` of PBX `pbx`, if any (system admin scope).
    async fn device_owner(&self, pbx: PbxId, device_id: &str) -> StoreResult<Option<TenantId>>;
    /// Every device of one PBX, whatever its tenant (for that PBX's engine).
    async fn pbx_devices(&self, pbx: PbxId) -> StoreResult<Vec<Device>>;
}

/// One tenant's devices.
#[derive(Clone, Copy)]
pub struct Devices<'s> {
    pub(super) store: &'s dyn Store,
    pub(super) tenant: TenantId,
}

impl Devices<'_> {
    /// By PBX, then device id.
    pub async fn list(&self) -> StoreResult<Vec<Device>> {
        self.store.devices(self.tenant).await
    }

    pub async fn get(&self, id: DeviceRecordId) -> StoreResult<Device> {
        self.store.device(self.tenant, id).await
    }

    /// All or none; refuses the lot if a device's `tenant_id` is not this tenant.
    pub async fn insert(&self, devices: &[Device]) -> StoreResult<()> {
        for device in devices {
            check_tenant(self.tenant, device.tenant_id)?;
        }
        self.store.insert_devices(self.tenant, devices).await
    }

    /// Refuses a device whose `tenant_id` is not this tenant.
    pub async fn update(&self, device: &Device) -> StoreResult<()> {
        check_tenant(self.tenant, device.tenant_id)?;
        self.store.update_device(self.tenant, device).await
    }

    pub async fn delete(&self, id: DeviceRecordId) -> StoreResult<()> {
        self.store.delete_device(self.tenant, id).await
    }

    /// Which of `numbers` the tenant's devices already answer to.
    pub async fn numbers_in_use(&self, numbers: &[String]) -> StoreResult<Vec<String>> {
        self.store.numbers_in_use(self.tenant, numbers).await
    }
}
