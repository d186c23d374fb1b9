//! uaCSTA handsets' SIP registrations, kept in the store so that any node's registrar can
//! take one and the node running the handsets' connection opens their sessions (and a node
//! taking that connection over finds them). Runtime state: one row per handset (its newest
//! binding), written by the node whose registrar took it.

use async_trait::async_trait;

use super::{Store, StoreResult, check_tenant};
use crate::ids::{DeviceRecordId, PbxId, TenantId};
use crate::model::Timestamp;

/// How a handset reached the registrar (and how its session reaches it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SipTransport {
    Udp,
    Tcp,
}

impl SipTransport {
    pub fn as_str(self) -> &'static str {
        match self {
            SipTransport::Udp => "udp",
            SipTransport::Tcp => "tcp",
        }
    }
}

impl std::str::FromStr for SipTransport {
    type Err = String;

    fn from_str(text: &str) -> Result<SipTransport, String> {
        match text {
            "udp" => Ok(SipTransport::Udp),
            "tcp" => Ok(SipTransport::Tcp),
            other => Err(format!("unknown SIP transport {other:?}")),
        }
    }
}

/// A handset's registration: its newest binding, as the node that took it stored it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipRegistration {
    pub tenant_id: TenantId,
    pub device_id: DeviceRecordId,
    /// The handset's uaCSTA connection.
    pub pbx_id: PbxId,
    /// Its address-of-record, `user@domain`.
    pub aor: String,
    /// The binding's contact URI.
    pub contact: String,
    /// Where the REGISTER came from (`ip:port`): where the session goes over UDP.
    pub source: String,
    pub transport: SipTransport,
    /// The REGISTER's Call-ID (a new one means the handset rebooted).
    pub call_id: String,
    pub expires_at: Timestamp,
    /// The node whose registrar took it.
    pub node: String,
}

/// The tenant-scoped methods are reached through [`Registrations`]
/// (`store.tenant(id).registrations()`); `pbx_registrations` and `prune_registrations` are
/// system scope, for the registrar's own work.
#[async_trait]
pub trait RegistrationStore: Send + Sync {
    /// The tenant's registrations live at `now`, by device.
    async fn registrations(
        &self,
        tenant: TenantId,
        now: Timestamp,
    ) -> StoreResult<Vec<SipRegistration>>;
    /// The device's registration live at `now`, if it has one.
    async fn registration(
        &self,
        tenant: TenantId,
        device: DeviceRecordId,
        now: Timestamp,
    ) -> StoreResult<Option<SipRegistration>>;
    /// Stores the device's registration in place of the one it had, whichever node took
    /// that; `NotFound` unless the device is the tenant's.
    async fn set_registration(
        &self,
        tenant: TenantId,
        registration: &SipRegistration,
    ) -> StoreResult<()>;
    /// Deletes the device's registration if `node` took it (one another node took since is
    /// that node's); whether one was deleted.
    async fn delete_registration(
        &self,
        tenant: TenantId,
        device: DeviceRecordId,
        node: &str,
    ) -> StoreResult<bool>;
    /// Every tenant's registrations on uaCSTA connection `pbx` live at `now` (for the node
    /// running that connection).
    async fn pbx_registrations(
        &self,
        pbx: PbxId,
        now: Timestamp,
    ) -> StoreResult<Vec<SipRegistration>>;
    /// Deletes the registrations that lapsed before `before`; how many.
    async fn prune_registrations(&self, before: Timestamp) -> StoreResult<u64>;
}

/// One tenant's handset registrations.
#[derive(Clone, Copy)]
pub struct Registrations<'s> {
    pub(super) store: &'s dyn Store,
    pub(super) tenant: TenantId,
}

impl Registrations<'_> {
    /// Those live at `now`.
    pub async fn list(&self, now: Timestamp) -> StoreResult<Vec<SipRegistration>> {
        self.store.registrations(self.tenant, now).await
    }

    pub async fn get(
        &self,
        device: DeviceRecordId,
        now: Timestamp,
    ) -> StoreResult<Option<SipRegistration>> {
        self.store.registration(self.tenant, device, now).await
    }

    /// Refuses a registration whose `tenant_id` is not this tenant.
    pub async fn set(&self, registration: &SipRegistration) -> StoreResult<()> {
        check_tenant(self.tenant, registration.tenant_id)?;
        self.store.set_registration(self.tenant, registration).await
    }

    /// Only if `node` took it; whether one was deleted.
    pub async fn delete(&self, device: DeviceRecordId, node: &str) -> StoreResult<bool> {
        self.store
            .delete_registration(self.tenant, device, node)
            .await
    }
}
