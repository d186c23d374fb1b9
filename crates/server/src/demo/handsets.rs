//! The demo's fourth tenant: uaCSTA SIP handsets (simulated phones) that register with the
//! built-in SIP registrar and are controlled with CSTA over SIP.

use std::sync::Arc;
use std::time::Duration;

use pbx::handset::{Exchange, HandsetConfig, SimHandset};
use pbx::link::kinds::PbxSettings;
use pbx::link::uacsta::UacstaSettings;

use super::{DEMO_PASSWORD, tenant, user};
use crate::auth::password;
use crate::service::Actor;
use crate::service::devices::NewDevice;
use crate::service::pbxs::NewPbx;
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
    let secret = DEMO_PASSWORD.to_string();
    let hash = tokio::task::spawn_blocking(move || password::hash(&secret))
        .await?
        .map_err(anyhow::Error::msg)?;
    let tenant = tenant(state, SLUG, "Umbrella Ltd", &hash).await?;
    let settings = PbxSettings::Uacsta(UacstaSettings {
        sip_domain: DOMAIN.into(),
    });
    let new = NewPbx {
        name: "Umbrella handsets".into(),
        kind: settings.kind().as_str().into(),
        tenant_id: Some(tenant.id.to_string()),
        host: None,
        port: None,
        settings: settings.to_json().as_object().cloned().unwrap_or_default(),
    };
    let connection = state.pbxs().create(Actor::Server, new).await?;
    let mut devices = Vec::new();
    for (index, name) in PEOPLE.iter().enumerate() {
        let member = user(state, tenant.id, name, None, &hash).await?;
        let number = format!("{}", 100 + index);
        let new = NewDevice {
            pbx_id: connection.id.to_string(),
            device_id: number.clone(),
            extension: None,
            name: Some(format!("{name}'s desk phone")),
            user_id: Some(member.id.to_string()),
            sip_username: Some(number.clone()),
            sip_password: Some(format!("handset-{number}")),
        };
        devices.push(state.devices(tenant.id).create(Actor::Server, new).await?);
    }
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
