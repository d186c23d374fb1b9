//! Devices of one tenant (extensions, handsets) on the PBXs it owns: created, changed,
//! deleted by its admins. Every change reaches the PBX's link at once (monitors start or
//! stop) and, for uaCSTA handsets, the SIP registrar's accounts.

use pbx::link::kinds::PbxSettings;
use serde::Deserialize;
use ucplus_core::{
    Device, DeviceRecordId, PbxId, StoreError, TenantId, Timestamp, UserId, ValidationErrors,
};

use super::patch::nullable;
use super::{Actor, checked};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewDevice {
    pub pbx_id: String,
    pub device_id: String,
    /// The number the tenant dials, if not the device id.
    #[serde(default)]
    pub extension: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    /// uaCSTA handsets: the SIP user the phone registers as (with `sip_password`).
    #[serde(default)]
    pub sip_username: Option<String>,
    /// Write-only: stored as digest hashes, never returned.
    #[serde(default)]
    pub sip_password: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DevicePatch {
    pub name: Option<String>,
    /// uaCSTA handsets: the SIP user the phone registers as (with `sip_password`).
    pub sip_username: Option<String>,
    /// Write-only: stored as digest hashes, never returned.
    pub sip_password: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub extension: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub user_id: Option<Option<String>>,
}

/// A device id on a PBX: 1-64 printable characters without spaces.
pub fn check_device_id(errors: &mut ValidationErrors, field: &str, device_id: &str) {
    let ok = (1..=64).contains(&device_id.len()) && device_id.chars().all(|c| c.is_ascii_graphic());
    if !ok {
        errors.add(field, "must be 1-64 printable characters without spaces");
    }
}

/// The user a device is given to must be a user of the same tenant.
async fn resolve_user(
    state: &AppState,
    tenant: TenantId,
    errors: &mut ValidationErrors,
    user: Option<&str>,
) -> ApiResult<Option<UserId>> {
    let Some(text) = user else { return Ok(None) };
    let Ok(id) = text.parse::<UserId>() else {
        errors.add("user_id", "no such user");
        return Ok(None);
    };
    match state.store.tenant(tenant).users().get(id).await {
        Ok(user) => Ok(Some(user.id)),
        Err(StoreError::NotFound) => {
            errors.add("user_id", "no such user");
            Ok(None)
        }
        Err(error) => Err(error.into()),
    }
}

/// Checks new SIP credentials for a handset of a uaCSTA connection and hashes them for
/// its realm (the connection's SIP domain).
async fn sip_credentials(
    state: &AppState,
    device: &Device,
    given: (Option<&String>, Option<&String>),
    errors: &mut ValidationErrors,
) -> ApiResult<Option<(String, ucplus_core::SipHa1)>> {
    let (username, password) = match given {
        (None, None) => return Ok(None),
        (Some(username), Some(password)) => (username, password),
        _ => {
            errors.add("sip_password", "set sip_username and sip_password together");
            return Ok(None);
        }
    };
    let pbx = state.store.pbx(device.pbx_id).await?;
    let settings = PbxSettings::of(&pbx).ok();
    let Some(domain) = settings.as_ref().and_then(PbxSettings::sip_domain) else {
        errors.add(
            "sip_username",
            "only handsets of a uacsta connection have SIP credentials",
        );
        return Ok(None);
    };
    errors.username("sip_username", username);
    errors.password("sip_password", password);
    let taken = state
        .store
        .pbx_devices(pbx.id)
        .await?
        .iter()
        .any(|d| d.id != device.id && d.sip_username.as_deref() == Some(username.as_str()));
    if taken {
        errors.add(
            "sip_username",
            "another handset of this connection has this SIP user",
        );
    }
    let md5 = sip::auth::ha1(sip::Algorithm::Md5, username, domain, password);
    let sha256 = sip::auth::ha1(sip::Algorithm::Sha256, username, domain, password);
    Ok(Some((
        username.clone(),
        ucplus_core::SipHa1 { md5, sha256 },
    )))
}

/// Within a tenant, a number dials one device only.
async fn check_number_free(
    state: &AppState,
    tenant: TenantId,
    current: Option<&str>,
    number: &str,
    errors: &mut ValidationErrors,
) -> ApiResult<()> {
    // A device keeping its own number takes nothing from another (numbers are unique).
    if current == Some(number) {
        return Ok(());
    }
    let taken = !state
        .store
        .tenant(tenant)
        .devices()
        .numbers_in_use(&[number.to_string()])
        .await?
        .is_empty();
    if taken {
        errors.add(
            "extension",
            format!("another device of the tenant already has number {number}"),
        );
    }
    Ok(())
}

pub struct Devices<'a> {
    pub(super) state: &'a AppState,
    pub(super) tenant: TenantId,
}

impl Devices<'_> {
    /// Adds a device on a PBX the tenant owns. Devices of a shared PBX are assigned by the
    /// system admin (`POST /api/v1/pbxs/{id}/devices`). Monitored at once.
    pub async fn create(&self, actor: Actor<'_>, new: NewDevice) -> ApiResult<Device> {
        let (state, tenant) = (self.state, self.tenant);
        let mut errors = ValidationErrors::new();
        check_device_id(&mut errors, "device_id", &new.device_id);
        if let Some(name) = &new.name {
            errors.text("name", name, 200);
        }
        let pbx_id: Option<PbxId> = new.pbx_id.parse().ok();
        let pbx = match pbx_id {
            Some(id) => match state.store.pbx(id).await {
                Ok(pbx) => Some(pbx),
                Err(StoreError::NotFound) => None,
                Err(error) => return Err(error.into()),
            },
            None => None,
        };
        match &pbx {
            Some(pbx) if pbx.tenant_id == Some(tenant) => {}
            Some(pbx) if pbx.tenant_id.is_none() => {
                return Err(ApiError::forbidden(
                    "devices of a shared PBX are assigned to tenants by the system admin",
                ));
            }
            // Another tenant's PBX answers exactly like one that does not exist.
            _ => errors.add("pbx_id", "no such PBX"),
        }
        let user_id = resolve_user(state, tenant, &mut errors, new.user_id.as_deref()).await?;
        if let Some(extension) = &new.extension {
            check_device_id(&mut errors, "extension", extension);
        }
        let number = new.extension.as_deref().unwrap_or(&new.device_id);
        check_number_free(state, tenant, None, number, &mut errors).await?;
        checked(errors)?;
        let Some(pbx) = pbx else {
            return Err(ApiError::field("pbx_id", "no such PBX"));
        };
        let mut device = Device {
            id: DeviceRecordId::new(),
            tenant_id: tenant,
            pbx_id: pbx.id,
            extension: new.extension,
            sip_username: None,
            sip_ha1: None,
            name: new
                .name
                .map(|n| n.trim().to_string())
                .unwrap_or_else(|| format!("Extension {}", new.device_id)),
            device_id: new.device_id,
            user_id,
            created_at: Timestamp::now(),
        };
        let mut errors = ValidationErrors::new();
        let given = (new.sip_username.as_ref(), new.sip_password.as_ref());
        if let Some((username, ha1)) = sip_credentials(state, &device, given, &mut errors).await? {
            device.sip_username = Some(username);
            device.sip_ha1 = Some(ha1);
        }
        checked(errors)?;
        state
            .store
            .tenant(tenant)
            .devices()
            .insert(std::slice::from_ref(&device))
            .await?;
        // Monitored at once, like a device assigned on a shared PBX.
        state
            .devices_changed(device.pbx_id, std::slice::from_ref(&device), &[])
            .await;
        state
            .record(
                actor,
                Some(tenant),
                "device.create",
                device.id.to_string(),
                serde_json::json!({"pbx_id": device.pbx_id, "device_id": device.device_id}),
            )
            .await;
        Ok(device)
    }

    /// Renames a device, gives it to a user, sets its extension or SIP credentials.
    pub async fn update(
        &self,
        actor: Actor<'_>,
        id: DeviceRecordId,
        patch: DevicePatch,
    ) -> ApiResult<Device> {
        let (state, tenant) = (self.state, self.tenant);
        let mut device = state.store.tenant(tenant).devices().get(id).await?;
        let mut errors = ValidationErrors::new();
        if let Some(name) = &patch.name {
            errors.text("name", name, 200);
        }
        let user_id = match &patch.user_id {
            Some(user) => Some(resolve_user(state, tenant, &mut errors, user.as_deref()).await?),
            None => None,
        };
        if let Some(Some(extension)) = &patch.extension {
            check_device_id(&mut errors, "extension", extension);
        }
        if let Some(extension) = &patch.extension {
            let number = extension.as_deref().unwrap_or(&device.device_id);
            check_number_free(state, tenant, Some(device.number()), number, &mut errors).await?;
        }
        let given = (patch.sip_username.as_ref(), patch.sip_password.as_ref());
        let sip_credentials = sip_credentials(state, &device, given, &mut errors).await?;
        checked(errors)?;
        if let Some(name) = patch.name {
            device.name = name.trim().to_string();
        }
        if let Some(extension) = patch.extension {
            device.extension = extension;
        }
        if let Some(user_id) = user_id {
            device.user_id = user_id;
        }
        if let Some((username, ha1)) = sip_credentials {
            device.sip_username = Some(username);
            device.sip_ha1 = Some(ha1);
        }
        state.store.tenant(tenant).devices().update(&device).await?;
        state
            .devices_changed(device.pbx_id, std::slice::from_ref(&device), &[])
            .await;
        state
            .record(
                actor,
                Some(tenant),
                "device.update",
                device.id.to_string(),
                serde_json::json!({"name": device.name, "user_id": device.user_id, "sip_username": device.sip_username}),
            )
            .await;
        Ok(device)
    }

    /// Removes a device from the tenant (and from its PBX's monitors).
    pub async fn delete(&self, actor: Actor<'_>, id: DeviceRecordId) -> ApiResult<()> {
        let (state, tenant) = (self.state, self.tenant);
        let device = state.store.tenant(tenant).devices().get(id).await?;
        state.store.tenant(tenant).devices().delete(id).await?;
        state
            .devices_changed(device.pbx_id, &[], std::slice::from_ref(&device.device_id))
            .await;
        state
            .record(
                actor,
                Some(tenant),
                "device.delete",
                id.to_string(),
                serde_json::json!({}),
            )
            .await;
        Ok(())
    }
}
