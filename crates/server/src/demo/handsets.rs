//! The demo's fourth tenant: uaCSTA SIP handsets (simulated phones) that register with the
//! built-in SIP registrar and are controlled with CSTA over SIP.

use std::sync::Arc;
use std::time::Duration;

use pbx::handset::{Exchange, HandsetConfig, SimHandset};
use pbx::link::kinds::PbxSettings;
use pbx::link::uacsta::UacstaSettings;
use ucplus_core::{Device, DeviceRecordId, Pbx, PbxId, PbxKind, SipHa1, Timestamp};

use super::{DEMO_PASSWORD, tenant, user};
use crate::auth::password;
use crate::state::AppState;

pub const SLUG: &str = "umbrella";
pub const DOMAIN: &str = "umbrella.demo";
pub const PEOPLE: [&str; 3] = ["Alice Wong", "Bob Stone", "Chen Li"];

/// Creates the tenant, its uaCSTA connection and devices, and starts one simulated handset
/// per device. The handsets live as long as the returned vector.
pub async fn start(state: &AppState, traffic: bool) -> anyhow::Result<Vec<Arc<SimHandset>>> {
    let Some(registrar) = state.sip_address else {
        return Ok(Vec::new());
    };
    let now = Timestamp::now();
    let secret = DEMO_PASSWORD.to_string();
    let hash = tokio::task::spawn_blocking(move || password::hash(&secret))
        .await?
        .map_err(anyhow::Error::msg)?;
    let tenant = tenant(state, SLUG, "Umbrella Ltd", &hash).await?;
    let connection = Pbx {
        id: PbxId::new(),
        name: "Umbrella handsets".into(),
        kind: PbxKind::Uacsta,
        tenant_id: Some(tenant.id),
        host: None,
        port: None,
        settings: PbxSettings::Uacsta(UacstaSettings {
            sip_domain: DOMAIN.into(),
        })
        .to_json(),
        created_at: now,
    };
    state.store.insert_pbx(&connection).await?;
    let mut devices = Vec::new();
    for (index, name) in PEOPLE.iter().enumerate() {
        let member = user(state, tenant.id, name, None, &hash).await?;
        let number = format!("{}", 100 + index);
        let password = format!("handset-{number}");
        devices.push(Device {
            id: DeviceRecordId::new(),
            tenant_id: tenant.id,
            pbx_id: connection.id,
            device_id: number.clone(),
            extension: None,
            name: format!("{name}'s desk phone"),
            user_id: Some(member.id),
            created_at: now,
            sip_username: Some(number.clone()),
            sip_ha1: Some(SipHa1 {
                md5: sip::auth::ha1(sip::Algorithm::Md5, &number, DOMAIN, &password),
                sha256: sip::auth::ha1(sip::Algorithm::Sha256, &number, DOMAIN, &password),
            }),
        });
    }
    state
        .store
        .tenant(tenant.id)
        .devices()
        .insert(&devices)
        .await?;
    state.cti.reload_pbx(connection.id).await?;
    state.sip.reload(state.store.as_ref()).await?;
    let mut handsets = Vec::new();
    // The handsets can call each other (Alice dials 101: Bob's phone rings).
    let exchange = Exchange::new();
    for device in &devices {
        let mut config = HandsetConfig::new(registrar, &device.device_id);
        config.exchange = Some(exchange.clone());
        config.password = format!("handset-{}", device.device_id);
        config.domain = DOMAIN.into();
        config.expires = 300;
        handsets.push(Arc::new(SimHandset::start(config).await?));
    }
    if traffic {
        let phones: Vec<Arc<SimHandset>> = handsets.clone();
        tokio::spawn(async move {
            // Now and then an outside caller rings a handset; its user answers, talks, hangs up.
            for round in 0u64.. {
                tokio::time::sleep(Duration::from_secs(7)).await;
                let Some(phone) = phones.get((round as usize) % phones.len()) else {
                    return;
                };
                if phone
                    .ring_from(&format!("+4930555{:03}", round % 1000))
                    .await
                    .is_err()
                {
                    continue;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
                let _ = phone.answer().await;
                tokio::time::sleep(Duration::from_secs(4)).await;
                let _ = phone.hang_up().await;
            }
        });
    }
    Ok(handsets)
}
