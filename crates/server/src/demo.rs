//! `ucplus demo`: a server on a fresh data directory, filled with what a hosting provider
//! would have after a day of setting up — dev-signed licenses, three tenants on a shared
//! (hosted) simulated PBX with overlapping extension numbers and on a tenant's own
//! simulated PBX, users with devices, contacts — and live simulated call traffic.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use license::file::Issue;
use license::{ItemType, SigningKey};
use pbx::link::kinds::PbxSettings;
use pbx::link::sim::SimSettings;
use ucplus_core::{ContactNumber, DEFAULT_TENANT_SLUG, Pbx, SiteId, Tenant, TenantId, User};

use crate::auth::password;
use crate::config::{Config, Secret};
use crate::service::contacts::ContactInput;
use crate::service::devices::{DevicePatch, NewDevice};
use crate::service::pbxs::{DeviceAssignment, NewPbx};
use crate::service::sites::NewSite;
use crate::service::tenants::NewTenant;
use crate::service::users::NewUser;
use crate::service::{Actor, Password};
use crate::startup::Application;
use crate::state::AppState;

/// The password of every demo account but the system admin.
pub const DEMO_PASSWORD: &str = "demo1234";

struct DemoTenant {
    slug: &'static str,
    name: &'static str,
    people: &'static [&'static str],
}

const TENANTS: [DemoTenant; 3] = [
    DemoTenant {
        slug: "acme",
        name: "Acme Corp",
        people: &[
            "Anna Schmidt",
            "Bert Meyer",
            "Carla Rossi",
            "Dieter Wolf",
            "Eva Novak",
        ],
    },
    DemoTenant {
        slug: "globex",
        name: "Globex Inc",
        people: &["Gina Marsh", "Hank Scorpio", "Ida Berg", "Jon Fox"],
    },
    DemoTenant {
        slug: "initech",
        name: "Initech",
        people: &["Peter Gibbons", "Milton Waddams", "Bill Lumbergh"],
    },
];

fn username(display_name: &str) -> String {
    display_name
        .split(' ')
        .next()
        .unwrap_or(display_name)
        .to_lowercase()
}

mod handsets;

/// Runs the demo until Ctrl-C / SIGTERM; removes its data directory afterwards.
pub async fn run(
    listen: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut suffix = [0u8; 6];
    getrandom::getrandom(&mut suffix).context("reading the OS random source")?;
    let data_dir: PathBuf = std::env::temp_dir().join(format!(
        "ucplus-demo-{}",
        suffix
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ));
    let vendor = SigningKey::generate().context("making the demo vendor key")?;
    let admin_password = std::env::var("UCPLUS_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "demo-admin".into());
    let mut config = Config::default();
    config.apply_env(|name| std::env::var(name).ok())?;
    config.listen = listen;
    config.data_dir = data_dir.clone();
    // The demo vendor's key, and any from UCPLUS_LICENSE_PUBLIC_KEYS: so licenses of your
    // own vendor key can be loaded into the demo too (the web end-to-end tests do).
    config
        .license
        .trusted_keys
        .push(vendor.public_key().to_string());
    config.initial_admin_password = Some(Secret(admin_password.clone()));
    // The demo always has a SIP registrar (for its handset tenant); any free port unless
    // UCPLUS_SIP_LISTEN names one.
    if config.sip.listen.is_none() {
        config.sip.listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    }
    let traffic = demo_traffic(std::env::var("UCPLUS_DEMO_TRAFFIC").ok().as_deref())?;
    let app = Application::build(config).await?;
    let address = app.local_addr()?;
    let state = app.state().clone();
    seed(&state, &vendor, traffic)
        .await
        .context("filling the demo")?;
    let phones = handsets::start(&state, traffic.is_none_or(|rate| rate > 0.0))
        .await
        .context("starting the demo's SIP handsets")?;

    println!(
        "ucplus demo running at http://{address}  (data: {}, removed on exit)",
        data_dir.display()
    );
    println!("  web client and admin consoles: open http://{address}/ in a browser");
    println!("  system admin:  tenant none, user admin, password {admin_password}");
    for tenant in &TENANTS {
        let users: Vec<String> = tenant.people.iter().map(|p| username(p)).collect();
        println!(
            "  tenant {:<8} admin: boss / {DEMO_PASSWORD}   users: {} / {DEMO_PASSWORD}",
            tenant.slug,
            users.join(", ")
        );
    }
    println!(
        "  try: curl -s -X POST http://{address}/api/v1/auth/login -H 'content-type: application/json' \\"
    );
    println!(
        "         -d '{{\"tenant\": \"acme\", \"username\": \"anna\", \"password\": \"{DEMO_PASSWORD}\", \"client\": \"desktop\"}}'"
    );
    if let Some(sip) = state.sip_address {
        let users: Vec<String> = handsets::PEOPLE.iter().map(|p| username(p)).collect();
        println!(
            "  tenant {:<8} admin: boss / {DEMO_PASSWORD}   users: {} / {DEMO_PASSWORD}   (SIP handsets 100-102 registered at udp:{sip}, domain {})",
            handsets::SLUG,
            users.join(", "),
            handsets::DOMAIN
        );
    }
    let result = app.run_until_stopped(shutdown).await;
    drop(phones);
    if let Err(error) = std::fs::remove_dir_all(&data_dir) {
        tracing::warn!(%error, "could not remove the demo data directory");
    }
    result
}

/// Generated calls per second on each simulated PBX: `UCPLUS_DEMO_TRAFFIC` when set
/// (0 = none, for tests that need quiet phones), else a lively default.
fn demo_traffic(setting: Option<&str>) -> anyhow::Result<Option<f64>> {
    let Some(text) = setting.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    match text.parse::<f64>() {
        Ok(rate) if (0.0..=100.0).contains(&rate) => Ok(Some(rate)),
        _ => anyhow::bail!("UCPLUS_DEMO_TRAFFIC: `{text}` is not 0-100 calls per second"),
    }
}

async fn seed(state: &AppState, vendor: &SigningKey, traffic: Option<f64>) -> anyhow::Result<()> {
    // Licenses: a starter pack (5 tenants) and client licenses, signed by the demo vendor.
    let text = Issue {
        id: ucplus_core::ids::new_uuid().to_string(),
        system_id: state.system_id.clone(),
        customer: Some("Demo Hosting".into()),
        issued: state.licensing.today(),
        expires: None,
        items: [
            (ItemType::MtStarter5, 1),
            (ItemType::Pool(license::LicenseType::Desktop), 100),
            (ItemType::Pool(license::LicenseType::Mobile), 50),
            (ItemType::Pool(license::LicenseType::Attendant), 10),
            (ItemType::Pool(license::LicenseType::Wallboard), 5),
            (ItemType::Pool(license::LicenseType::Crm), 10),
            (ItemType::Pool(license::LicenseType::Api), 10),
        ]
        .into(),
    }
    .sign(vendor);
    state.licenses().load(Actor::Server, &text).await?;
    // Multi-tenant now: the implicit default tenant is not needed.
    if let Ok(default) = state.store.tenant_by_slug(DEFAULT_TENANT_SLUG).await {
        state.tenants().delete(Actor::Server, default.id).await?;
    }

    let hash = {
        let secret = DEMO_PASSWORD.to_string();
        tokio::task::spawn_blocking(move || password::hash(&secret))
            .await?
            .map_err(anyhow::Error::msg)?
    };
    let mut tenant_ids = Vec::new();
    for demo in &TENANTS {
        tenant_ids.push(tenant(state, demo.slug, demo.name, &hash).await?.id);
    }

    // The hosted PBX: Acme's extensions 200-219 are devices 1200-1219 on the switch,
    // Globex's 200-219 are 2200-2219. Initech has a PBX of its own (300-319).
    let hosted = pbx(
        state,
        "Hosted PBX",
        None,
        "1200-1219,2200-2219",
        traffic.unwrap_or(0.3),
    )
    .await?;
    let own = pbx(
        state,
        "Initech PBX",
        Some(tenant_ids[2]),
        "300-319",
        traffic.unwrap_or(0.2),
    )
    .await?;
    let plans: [(usize, &Pbx, u32, Option<&str>); 3] = [
        (0, &hosted, 1200, Some("1")),
        (1, &hosted, 2200, Some("2")),
        (2, &own, 300, None),
    ];
    for (index, record, first, prefix) in plans {
        let demo = &TENANTS[index];
        let tenant = tenant_ids[index];
        let site = NewSite {
            name: "Headquarters".into(),
            address: Some("1 Demo Street".into()),
        };
        let site = state.sites(tenant).create(Actor::Server, site).await?;
        // A shared PBX's devices are assigned by the system admin; a tenant's own PBX
        // gets its devices from the tenant.
        let devices = match prefix {
            Some(prefix) => {
                let assignment = DeviceAssignment {
                    tenant_id: tenant.to_string(),
                    device_ids: vec![format!("{first}-{}", first + 19)],
                    strip_prefix: Some(prefix.into()),
                };
                state
                    .pbxs()
                    .assign_devices(Actor::Server, record.id, assignment)
                    .await?
            }
            None => {
                let mut devices = Vec::new();
                for n in first..first + 20 {
                    let new = NewDevice {
                        pbx_id: record.id.to_string(),
                        device_id: n.to_string(),
                        extension: None,
                        name: None,
                        user_id: None,
                        sip_username: None,
                        sip_password: None,
                    };
                    devices.push(state.devices(tenant).create(Actor::Server, new).await?);
                }
                devices
            }
        };
        // The first extensions are people's phones.
        for (device, person) in devices.iter().zip(demo.people) {
            let owner = user(state, tenant, person, Some(site.id), &hash).await?;
            let change = DevicePatch {
                name: Some(format!("{person}'s phone")),
                user_id: Some(Some(owner.id.to_string())),
                sip_username: None,
                sip_password: None,
                extension: None,
            };
            state
                .devices(tenant)
                .update(Actor::Server, device.id, change)
                .await?;
        }
        for (name, number) in [
            ("Pizza Planet", "+4930555010"),
            ("City Taxi", "+4930555020"),
            ("IT Helpdesk", "+4930555030"),
        ] {
            let contact = ContactInput {
                name: name.into(),
                company: None,
                email: None,
                numbers: vec![ContactNumber {
                    label: Some("work".into()),
                    number: number.into(),
                }],
            };
            state
                .contacts(tenant, None)
                .create(Actor::Server, contact)
                .await?;
        }
    }
    Ok(())
}

/// A demo tenant with its admin `boss`, created as the API creates one.
async fn tenant(state: &AppState, slug: &str, name: &str, hash: &str) -> anyhow::Result<Tenant> {
    let (tenant, _) = state
        .tenants()
        .create(
            Actor::Server,
            NewTenant {
                name: name.into(),
                slug: slug.into(),
                admin_username: "boss".into(),
                admin_password: Password::Hashed(hash.into()),
                admin_display_name: Some(format!("{name} Admin")),
            },
        )
        .await?;
    Ok(tenant)
}

/// A demo user with the desktop and mobile licenses, created as the API creates one.
async fn user(
    state: &AppState,
    tenant: TenantId,
    display_name: &str,
    site: Option<SiteId>,
    hash: &str,
) -> anyhow::Result<User> {
    let new = NewUser {
        username: username(display_name),
        password: Password::Hashed(hash.into()),
        display_name: display_name.into(),
        role: None,
        site_id: site.map(|s| s.to_string()),
        licenses: Some(vec!["desktop".into(), "mobile".into()]),
        email: None,
    };
    Ok(state.users(tenant).create(Actor::Server, new).await?)
}

/// A simulated PBX connection, created as the API creates one.
async fn pbx(
    state: &AppState,
    name: &str,
    owner: Option<TenantId>,
    devices: &str,
    traffic: f64,
) -> anyhow::Result<Pbx> {
    let settings = PbxSettings::Sim(SimSettings {
        devices: devices.parse()?,
        traffic: Some(traffic),
    });
    let new = NewPbx {
        name: name.into(),
        kind: settings.kind().as_str().into(),
        tenant_id: owner.map(|t| t.to_string()),
        host: None,
        port: None,
        settings: settings.to_json().as_object().cloned().unwrap_or_default(),
    };
    Ok(state.pbxs().create(Actor::Server, new).await?)
}

/// The demo's shape for tests: (tenant slug, usernames).
pub fn accounts() -> Vec<(&'static str, Vec<String>)> {
    TENANTS
        .iter()
        .map(|t| (t.slug, t.people.iter().map(|p| username(p)).collect()))
        .chain(std::iter::once((
            handsets::SLUG,
            handsets::PEOPLE.iter().map(|p| username(p)).collect(),
        )))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_setting_is_a_rate_or_the_default() {
        assert_eq!(demo_traffic(None).unwrap(), None);
        assert_eq!(demo_traffic(Some("")).unwrap(), None);
        assert_eq!(demo_traffic(Some("0")).unwrap(), Some(0.0));
        assert_eq!(demo_traffic(Some(" 1.5 ")).unwrap(), Some(1.5));
        assert!(demo_traffic(Some("lots")).is_err());
        assert!(demo_traffic(Some("-1")).is_err());
    }
}
