//! PBX connections (system admin): created, changed, deleted, and a PBX's devices assigned
//! to tenants. Settings are checked before anything is stored, secrets sealed, and the
//! connection's link started, changed or stopped at once.

use pbx::link::kinds::PbxSettings;
use serde::Deserialize;
use serde_json::{Map, Value};
use ucplus_core::{
    Device, DeviceRecordId, Pbx, PbxId, PbxKind, StoreError, TenantId, Timestamp, ValidationErrors,
};

use super::devices::check_device_id;
use super::{Actor, checked};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewPbx {
    pub name: String,
    /// `csta`, `uacsta` or `sim`.
    pub kind: String,
    /// Owner tenant; null or absent for a shared (hosted) PBX.
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    /// Kind-specific settings (`tls`, `session`, `login`, `password`, `edition`,
    /// `heartbeat_interval`, `sip_domain`, `devices`, ...).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PbxPatch {
    pub name: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    /// Settings to change; a null value removes a setting.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DeviceAssignment {
    pub tenant_id: String,
    /// Device ids and inclusive numeric ranges: `["200", "210-219"]`.
    pub device_ids: Vec<String>,
    /// A prefix the PBX puts before the tenant's extensions (`"1"`: device `1200` is
    /// extension `200` for the tenant).
    #[serde(default)]
    pub strip_prefix: Option<String>,
}

/// Checks a connection before it is stored; its typed settings when they are valid.
fn check(errors: &mut ValidationErrors, pbx: &Pbx) -> Option<PbxSettings> {
    errors.text("name", &pbx.name, 200);
    let settings = PbxSettings::validate(pbx, errors);
    if let Some(host) = &pbx.host {
        errors.text("host", host, 255);
    }
    settings
}

/// A SIP domain names one uaCSTA connection on the whole server.
async fn check_domain_free(
    state: &AppState,
    pbx: &Pbx,
    settings: Option<&PbxSettings>,
    errors: &mut ValidationErrors,
) -> ApiResult<()> {
    let Some(domain) = settings.and_then(PbxSettings::sip_domain) else {
        return Ok(());
    };
    let taken = state.store.pbxs().await?.iter().any(|other| {
        other.id != pbx.id
            && other.kind == PbxKind::Uacsta
            && PbxSettings::of(other)
                .ok()
                .as_ref()
                .and_then(PbxSettings::sip_domain)
                .is_some_and(|d| d.eq_ignore_ascii_case(domain))
    });
    if taken {
        errors.add(
            "sip_domain",
            "another connection already has this SIP domain",
        );
    }
    Ok(())
}

/// The tenant's extension for a device id with the PBX's tenant prefix removed.
fn stripped(device_id: &str, prefix: Option<&str>) -> Option<String> {
    prefix
        .and_then(|prefix| device_id.strip_prefix(prefix))
        .filter(|rest| !rest.is_empty())
        .map(str::to_string)
}

/// At most this many devices per assignment request.
const MAX_ASSIGNMENT: usize = 10_000;

/// Expands `"210-219"` ranges; names each bad entry.
pub fn expand_device_ids(entries: &[String], errors: &mut ValidationErrors) -> Vec<String> {
    let mut ids = Vec::new();
    for entry in entries {
        let entry = entry.trim();
        let range = entry.split_once('-').and_then(|(first, last)| {
            // Zero-padded ranges (`0098-0100`) keep their width.
            let width = if first.starts_with('0') {
                first.len()
            } else {
                0
            };
            let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            (all_digits(first) && all_digits(last))
                .then(|| Some((first.parse::<u64>().ok()?, last.parse::<u64>().ok()?, width)))
                .flatten()
        });
        match range {
            Some((first, last, width)) if first <= last => {
                if (last - first) as usize + ids.len() >= MAX_ASSIGNMENT {
                    errors.add(
                        "device_ids",
                        format!("at most {MAX_ASSIGNMENT} devices per request"),
                    );
                    return Vec::new();
                }
                ids.extend((first..=last).map(|n| format!("{n:0width$}")));
            }
            Some(_) => errors.add("device_ids", format!("`{entry}`: a range must go upwards")),
            None => {
                let before = errors.0.len();
                check_device_id(errors, "device_ids", entry);
                if errors.0.len() == before {
                    ids.push(entry.to_string());
                }
            }
        }
    }
    if ids.len() > MAX_ASSIGNMENT {
        errors.add(
            "device_ids",
            format!("at most {MAX_ASSIGNMENT} devices per request"),
        );
    }
    if entries.is_empty() {
        errors.add("device_ids", "must name at least one device");
    }
    ids.sort();
    ids.dedup();
    ids
}

pub struct Pbxs<'a> {
    pub(super) state: &'a AppState,
}

impl Pbxs<'_> {
    /// Adds a PBX connection and starts its link.
    pub async fn create(&self, actor: Actor<'_>, new: NewPbx) -> ApiResult<Pbx> {
        let state = self.state;
        let mut errors = ValidationErrors::new();
        let kind = new.kind.parse::<PbxKind>().unwrap_or_else(|message| {
            errors.add("kind", message);
            PbxKind::Sim
        });
        let tenant_id = match &new.tenant_id {
            Some(text) => match text.parse::<TenantId>() {
                Ok(id) => match state.store.tenant_by_id(id).await {
                    Ok(tenant) => Some(tenant.id),
                    Err(StoreError::NotFound) => {
                        errors.add("tenant_id", "no such tenant");
                        None
                    }
                    Err(error) => return Err(error.into()),
                },
                Err(_) => {
                    errors.add("tenant_id", "no such tenant");
                    None
                }
            },
            None => None,
        };
        let pbx = Pbx {
            id: PbxId::new(),
            name: new.name.trim().to_string(),
            kind,
            tenant_id,
            host: new.host,
            port: new.port,
            settings: Value::Object(new.settings),
            created_at: Timestamp::now(),
        };
        let settings = check(&mut errors, &pbx);
        check_domain_free(state, &pbx, settings.as_ref(), &mut errors).await?;
        checked(errors)?;
        let mut pbx = pbx;
        state
            .secrets
            .seal_settings(&mut pbx.settings)
            .map_err(ApiError::internal)?;
        state.store.insert_pbx(&pbx).await?;
        state.reload_pbx(pbx.id).await;
        state
            .record(
                actor,
                pbx.tenant_id,
                "pbx.create",
                pbx.id.to_string(),
                serde_json::json!({"name": pbx.name, "kind": pbx.kind}),
            )
            .await;
        Ok(pbx)
    }

    /// Changes a PBX connection; a changed link restarts.
    pub async fn update(&self, actor: Actor<'_>, id: PbxId, patch: PbxPatch) -> ApiResult<Pbx> {
        let state = self.state;
        let mut pbx = state.store.pbx(id).await?;
        if let Some(name) = patch.name {
            pbx.name = name.trim().to_string();
        }
        if patch.host.is_some() {
            pbx.host = patch.host;
        }
        if patch.port.is_some() {
            pbx.port = patch.port;
        }
        if let Some(settings) = pbx.settings.as_object_mut() {
            for (key, value) in patch.settings {
                if value.is_null() {
                    settings.remove(&key);
                } else {
                    settings.insert(key, value);
                }
            }
        }
        let mut errors = ValidationErrors::new();
        let settings = check(&mut errors, &pbx);
        check_domain_free(state, &pbx, settings.as_ref(), &mut errors).await?;
        checked(errors)?;
        state
            .secrets
            .seal_settings(&mut pbx.settings)
            .map_err(ApiError::internal)?;
        state.store.update_pbx(&pbx).await?;
        state.reload_pbx(pbx.id).await;
        state
            .record(
                actor,
                pbx.tenant_id,
                "pbx.update",
                pbx.id.to_string(),
                serde_json::json!({"name": pbx.name}),
            )
            .await;
        Ok(pbx)
    }

    /// Deletes a PBX connection and its devices; its link stops.
    pub async fn delete(&self, actor: Actor<'_>, id: PbxId) -> ApiResult<()> {
        let state = self.state;
        let pbx = state.store.pbx(id).await?;
        state.store.delete_pbx(pbx.id).await?;
        state.reload_pbx(pbx.id).await;
        state
            .record(
                actor,
                pbx.tenant_id,
                "pbx.delete",
                pbx.id.to_string(),
                serde_json::json!({"name": pbx.name}),
            )
            .await;
        Ok(())
    }

    /// Assigns devices of a PBX to a tenant. On a shared PBX this is the only way a device
    /// enters a tenant. Monitored at once.
    pub async fn assign_devices(
        &self,
        actor: Actor<'_>,
        id: PbxId,
        assignment: DeviceAssignment,
    ) -> ApiResult<Vec<Device>> {
        let state = self.state;
        let pbx = state.store.pbx(id).await?;
        let mut errors = ValidationErrors::new();
        let tenant = match assignment.tenant_id.parse::<TenantId>() {
            Ok(id) => match state.store.tenant_by_id(id).await {
                Ok(tenant) => Some(tenant.id),
                Err(StoreError::NotFound) => None,
                Err(error) => return Err(error.into()),
            },
            Err(_) => None,
        };
        match tenant {
            None => errors.add("tenant_id", "no such tenant"),
            Some(tenant) if pbx.tenant_id.is_some_and(|owner| owner != tenant) => {
                errors.add("tenant_id", "this PBX belongs to another tenant");
            }
            Some(_) => {}
        }
        let ids = expand_device_ids(&assignment.device_ids, &mut errors);
        checked(errors)?;
        let Some(tenant) = tenant else {
            return Err(ApiError::field("tenant_id", "no such tenant"));
        };
        let mut taken = Vec::new();
        for device_id in &ids {
            if state.store.device_owner(pbx.id, device_id).await?.is_some() {
                taken.push(device_id.clone());
            }
        }
        let numbers: Vec<(String, String)> = ids
            .iter()
            .map(|device_id| {
                let number = stripped(device_id, assignment.strip_prefix.as_deref())
                    .unwrap_or_else(|| device_id.clone());
                (device_id.clone(), number)
            })
            .collect();
        let wanted: Vec<String> = numbers.iter().map(|(_, number)| number.clone()).collect();
        let in_use: std::collections::HashSet<String> = state
            .store
            .tenant(tenant)
            .devices()
            .numbers_in_use(&wanted)
            .await?
            .into_iter()
            .collect();
        for (device_id, number) in &numbers {
            if in_use.contains(number) {
                taken.push(format!(
                    "{device_id} (the tenant already has number {number})"
                ));
            }
        }
        if !taken.is_empty() {
            let shown: Vec<_> = taken.iter().take(10).cloned().collect();
            return Err(ApiError::conflict(format!(
                "{} device(s) are already assigned: {}{}",
                taken.len(),
                shown.join(", "),
                if taken.len() > shown.len() {
                    ", ..."
                } else {
                    ""
                }
            )));
        }
        let now = Timestamp::now();
        let devices: Vec<Device> = ids
            .iter()
            .map(|device_id| {
                let extension = stripped(device_id, assignment.strip_prefix.as_deref());
                let number = extension.clone().unwrap_or_else(|| device_id.clone());
                (device_id, extension, number)
            })
            .map(|(device_id, extension, number)| Device {
                id: DeviceRecordId::new(),
                tenant_id: tenant,
                pbx_id: pbx.id,
                device_id: device_id.clone(),
                extension,
                sip_username: None,
                sip_ha1: None,
                name: format!("Extension {number}"),
                user_id: None,
                created_at: now,
            })
            .collect();
        state
            .store
            .tenant(tenant)
            .devices()
            .insert(&devices)
            .await?;
        state.devices_changed(pbx.id, &devices, &[]).await;
        state
            .record(
                actor,
                Some(tenant),
                "pbx.assign_devices",
                pbx.id.to_string(),
                serde_json::json!({"device_ids": assignment.device_ids, "count": devices.len()}),
            )
            .await;
        Ok(devices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_expand_and_bad_entries_are_named() {
        let mut errors = ValidationErrors::new();
        let ids = expand_device_ids(
            &[
                "200".into(),
                "210-212".into(),
                "200".into(),
                "0098-0100".into(),
            ],
            &mut errors,
        );
        assert_eq!(errors.0, vec![]);
        assert_eq!(ids, ["0098", "0099", "0100", "200", "210", "211", "212"]);
        let mut errors = ValidationErrors::new();
        expand_device_ids(&["300-299".into(), "a b".into()], &mut errors);
        assert_eq!(errors.0.len(), 2);
        let mut errors = ValidationErrors::new();
        expand_device_ids(&["1-999999".into()], &mut errors);
        assert_eq!(errors.0.len(), 1, "{:?}", errors.0);
    }
}
