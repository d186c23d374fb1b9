//! Building and running the server: open the store, restore licenses and tenants, bind
//! the listener, start the background tasks, serve until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::net::TcpListener;
use ucplus_core::store::SystemStore;
use ucplus_core::{
    DEFAULT_TENANT_SLUG, Role, Store, StoreError, Tenant, TenantId, Timestamp, User, UserId,
};
use ucplus_store::SqlStore;

use crate::auth::rate_limit::LoginLimiter;
use crate::auth::{password, random_token};
use crate::config::Config;
use crate::licensing::{Licensing, limits_from_store, restore_licenses};
use crate::state::{AppState, Inner};

pub const SYSTEM_ID_KEY: &str = "system_id";
pub const DATABASE_FILE: &str = "ucplus.db";
pub const LOCK_FILE: &str = "ucplus.lock";

/// Held while a server (or a restore) works on the data directory's SQLite database, so a
/// second one on the same directory is refused instead of sharing the file. The operating
/// system releases it when the process ends, however it ends.
pub struct DataDirLock {
    _file: std::fs::File,
}

impl DataDirLock {
    pub fn take(data_dir: &std::path::Path) -> anyhow::Result<DataDirLock> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data directory {}", data_dir.display()))?;
        let path = data_dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(DataDirLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "another ucplus server is running on the data directory {} ({LOCK_FILE} is \
                 locked). One SQLite database serves one server: stop the other one, give \
                 this one its own data_dir, or run several nodes on PostgreSQL (database_url)",
                data_dir.display()
            ),
            Err(std::fs::TryLockError::Error(error)) => {
                Err(error).with_context(|| format!("locking {}", path.display()))
            }
        }
    }
}

/// A built server, bound to its port and ready to run.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    router: axum::Router,
    /// The system admin's password if it was generated on this (first) start.
    pub generated_admin_password: Option<String>,
    /// The data directory's lock, held until the server stops (SQLite only).
    _data_lock: Option<DataDirLock>,
}

/// Opens the configured store (creating the data directory and its SQLite file when that
/// is the store) and returns it with the system id, making the id on first use.
pub async fn open_store(config: &Config) -> anyhow::Result<(SqlStore, String)> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let store = SqlStore::open(&config.backend()?)
        .await
        .context("opening the database")?;
    let system_id = match store.setting(SYSTEM_ID_KEY).await? {
        Some(id) => id,
        // Nodes starting together on a new database agree on the first one written.
        None => {
            store
                .init_setting(SYSTEM_ID_KEY, &ucplus_core::ids::new_uuid().to_string())
                .await?
        }
    };
    Ok((store, system_id))
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        config.validate()?;
        let backend = config.backend()?;
        let data_lock = match &backend {
            ucplus_store::Backend::Sqlite(_) => Some(DataDirLock::take(&config.data_dir)?),
            ucplus_store::Backend::Postgres(_) => None,
        };
        let (sql_store, system_id) = open_store(&config).await?;
        let store: Arc<dyn Store> = Arc::new(sql_store.clone());
        let trusted_keys = config
            .license
            .trusted_keys
            .iter()
            .filter_map(|key| license::PublicKey::parse(key).ok())
            .collect::<Vec<_>>();
        if trusted_keys.is_empty() {
            tracing::warn!(
                "no trusted license keys configured: no license can be loaded (set license.trusted_keys or UCPLUS_LICENSE_PUBLIC_KEYS)"
            );
        }

        let generated_admin_password = bootstrap_admin(store.as_ref(), &config).await?;
        let licensing = Licensing::new(config.clock.clone());
        let unverified_licenses = restore_state(
            store.as_ref(),
            &licensing,
            &trusted_keys,
            &system_id,
            config.license.allow_unverified,
        )
        .await?;

        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let window = Duration::from_secs(config.login.failure_window);
        let limiter = LoginLimiter::new(
            window,
            config.login.max_failures_per_user,
            config.login.max_failures_per_address,
        );
        let node = config.node_name(listener.local_addr()?.port());
        let secrets = Arc::new(crate::secrets::SecretBox::open(
            config.secrets_key.as_ref().map(|key| key.0.as_str()),
            &config.data_dir,
        )?);
        seal_stored_secrets(store.as_ref(), &secrets).await?;
        let controller = Arc::new(pbx::link::uacsta::Controller::default());
        controller.set_request_timeout(Duration::from_millis(config.cti.request_timeout));
        controller.set_refresh(Duration::from_secs(config.sip.session_refresh.max(1)));
        // Several nodes: events between them over NATS (subjects named by the installation).
        let relay = match (&backend, &config.cluster.nats_url) {
            (ucplus_store::Backend::Postgres(_), Some(url)) => {
                Some(crate::cti::relay::RelayBus::start(
                    url,
                    &node,
                    &format!("ucplus.{system_id}"),
                    config.cti.client_queue,
                ))
            }
            (ucplus_store::Backend::Postgres(_), None) => {
                tracing::warn!(
                    "several nodes without cluster.nats_url: clients see the events of the PBX links their own node runs only"
                );
                None
            }
            (ucplus_store::Backend::Sqlite(_), _) => None,
        };
        let bus: Arc<dyn crate::cti::bus::Bus> = match &relay {
            Some(relay) => relay.clone(),
            None => Arc::new(crate::cti::bus::LocalBus::new(config.cti.client_queue)),
        };
        // Several nodes: links talk to switches only while this node's lease is live.
        let lease = match &backend {
            ucplus_store::Backend::Sqlite(_) => pbx::link::Lease::always(),
            ucplus_store::Backend::Postgres(_) => pbx::link::Lease::until_renewed(),
        };
        let cti = crate::cti::Cti::start(
            store.clone(),
            Box::new(crate::cti::launch::Launcher {
                context: pbx::link::kinds::LinkContext {
                    lease: lease.clone(),
                    request_timeout: Duration::from_millis(config.cti.request_timeout),
                    controller: controller.clone(),
                },
                secrets: secrets.clone(),
            }),
            Duration::from_millis(config.cti.request_timeout),
            bus,
            node.clone(),
            match backend {
                ucplus_store::Backend::Sqlite(_) => crate::cti::LinkGate::All,
                ucplus_store::Backend::Postgres(_) => {
                    crate::cti::LinkGate::Leased(Default::default())
                }
            },
        )
        .await
        .context("starting the PBX connections")?;
        if let Some(relay) = &relay {
            cti.tell_peers(relay.clone());
        }
        let cluster = match &backend {
            ucplus_store::Backend::Sqlite(_) => None,
            ucplus_store::Backend::Postgres(url) => {
                let cluster = crate::cluster::Cluster::join(
                    url,
                    &node,
                    Duration::from_millis(config.cluster.lease_ttl),
                    sql_store.clone(),
                    cti.clone(),
                    lease,
                )
                .await?;
                // Claims the free links at once rather than a round later.
                cluster.round().await;
                Some(cluster)
            }
        };
        let sip = Arc::new(crate::registrar::SipService::new(
            controller,
            crate::registrar::SipSetup {
                tcp: crate::registrar::TcpLimits::from_config(&config.sip),
                store: store.clone(),
                node: node.clone(),
                // Several nodes: registrations other nodes took are read every lease round.
                sync_every: cluster
                    .as_ref()
                    .map(|_| Duration::from_millis(config.cluster.lease_ttl) / 3),
            },
        ));
        sip.reload().await?;
        let sip_address = match config.sip.listen {
            Some(address) => Some(
                sip.clone()
                    .listen(address, cti.clone())
                    .await
                    .with_context(|| format!("binding the SIP registrar to {address}"))?,
            ),
            None => None,
        };
        let (state_hash_permits, state_hash_wait) =
            (config.login.max_concurrent_hashes, config.login.hash_wait);
        let state = AppState::new(Inner {
            node,
            cluster,
            relay,
            sip,
            sip_address,
            cti,
            config,
            store,
            system_id,
            trusted_keys,
            licensing,
            sessions: Default::default(),
            limiter,
            unverified_licenses,
            secrets,
            hashing: password::HashGate::new(
                state_hash_permits,
                Duration::from_millis(state_hash_wait),
            ),
            metrics: crate::telemetry::metrics_handle(),
            pool_version: Default::default(),
            audit_failures: Default::default(),
        });
        if let Some(relay) = &state.relay {
            relay.handle(crate::peers::handlers(state.downgrade()));
        }
        let restored = state
            .restore_sessions(data_lock.is_some())
            .await
            .context("restoring the sessions")?;
        if restored > 0 {
            tracing::info!(restored, "sessions restored");
        }
        let router = crate::api::router(state.clone());
        Ok(Application {
            listener,
            state,
            router,
            generated_admin_password,
            _data_lock: data_lock,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then drains requests and flushes usage.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let background = tokio::spawn(background_tasks(self.state.clone()));
        let leases = self.state.cluster.clone().map(|cluster| {
            let state = self.state.clone();
            tokio::spawn(async move {
                let regrants = async {
                    loop {
                        cluster.lapsed.notified().await;
                        if let Err(error) = state.regrant_held().await {
                            tracing::error!(%error, "could not grant the sessions' seats again");
                        }
                    }
                };
                tokio::join!(cluster.clone().run(), regrants);
            })
        });
        let http = &self.state.config.http;
        let settings = crate::serve::Settings {
            limits: crate::serve::Limits {
                max_connections: http.max_connections,
                max_per_address: http.max_connections_per_address,
                reserved: http.reserved_connections,
            },
            header_timeout: Duration::from_secs(http.header_timeout),
            send_buffer: self.state.config.socket_send_buffer,
        };
        let connections = crate::serve::Connections::new("http", settings.limits);
        crate::serve::run(
            self.listener,
            self.router,
            settings,
            connections,
            shutdown,
            Duration::from_secs(10),
        )
        .await;
        background.abort();
        if let (Some(leases), Some(cluster)) = (leases, &self.state.cluster) {
            leases.abort();
            cluster.leave().await;
        }
        if let Err(error) = self.state.persist_activity(Timestamp::now(), true).await {
            tracing::error!(%error, "could not write the sessions' activity at shutdown");
        }
        self.state.cti.stop().await;
        if let Err(error) = self
            .state
            .licensing
            .flush_usage(self.state.store.as_ref())
            .await
        {
            tracing::error!(%error, "could not write license usage at shutdown");
        }
        Ok(())
    }
}

/// Encrypts PBX secrets stored in plain text (by a version before encryption at rest).
async fn seal_stored_secrets(
    store: &dyn Store,
    secrets: &crate::secrets::SecretBox,
) -> anyhow::Result<()> {
    for mut pbx in store.pbxs().await? {
        if secrets.seal_settings(&mut pbx.settings)? {
            store.update_pbx(&pbx).await?;
            tracing::info!(pbx = %pbx.id, "encrypted the PBX connection's stored password");
        }
    }
    Ok(())
}

/// Creates the system admin `admin` on first start.
async fn bootstrap_admin(store: &dyn Store, config: &Config) -> anyhow::Result<Option<String>> {
    if store.system_admin_count().await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match &config.initial_admin_password {
        Some(password) => (password.0.clone(), false),
        None => (
            random_token()
                .trim_start_matches("ucp_")
                .chars()
                .take(20)
                .collect(),
            true,
        ),
    };
    let hash =
        tokio::task::spawn_blocking(move || password::hash(&password).map(|h| (h, password)))
            .await?
            .map_err(|e| anyhow::anyhow!("hashing the admin password: {e}"))?;
    let admin = User {
        id: UserId::new(),
        tenant_id: None,
        username: "admin".into(),
        display_name: "System administrator".into(),
        role: Role::SystemAdmin,
        site_id: None,
        licenses: Vec::new(),
        email: None,
        created_at: Timestamp::now(),
        password_hash: hash.0,
    };
    match store.insert_system_admin(&admin).await {
        Ok(()) => {}
        // Another node starting at the same time made it.
        Err(StoreError::Conflict(_)) => return Ok(None),
        Err(error) => return Err(error.into()),
    }
    tracing::info!("created the system admin `admin`");
    Ok(generated.then_some(hash.1))
}

/// Loads licenses, tenants and limits into the pool. Makes the implicit `default`
/// tenant on a server that has no tenant and no starter pack.
/// Refuses to start when licenses are stored and none verifies (unless `allow_unverified`);
/// returns those that do not verify.
async fn restore_state(
    store: &dyn Store,
    licensing: &Licensing,
    trusted: &[license::PublicKey],
    system_id: &str,
    allow_unverified: bool,
) -> anyhow::Result<Vec<crate::licensing::UnverifiedLicense>> {
    let texts: Vec<(String, String)> = store
        .licenses()
        .await?
        .into_iter()
        .map(|l| (l.id, l.text))
        .collect();
    let (licenses, unverified) = restore_licenses(&texts, trusted, system_id);
    if licenses.is_empty() && !unverified.is_empty() && !allow_unverified {
        anyhow::bail!(
            "{} stored license(s) are not verified by any trusted key (first: {}: {}). \
             Without them the server would run single-tenant with no licenses. Set the vendor's \
             public key in UCPLUS_LICENSE_PUBLIC_KEYS (or license.trusted_keys); to start anyway, \
             set license.allow_unverified = true (UCPLUS_LICENSE_ALLOW_UNVERIFIED=true).",
            unverified.len(),
            unverified[0].id,
            unverified[0].reason
        );
    }
    let mut tenants = store.tenants().await?;
    let single_tenant = !licenses.iter().any(license::License::has_starter_pack);
    if tenants.is_empty() && single_tenant {
        let tenant = Tenant {
            id: TenantId::new(),
            name: "Default".into(),
            slug: DEFAULT_TENANT_SLUG.into(),
            created_at: Timestamp::now(),
        };
        match store.insert_tenant(&tenant, None).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(error) => return Err(error.into()),
        }
        tenants = store.tenants().await?;
    }
    let mut limits = Vec::new();
    for tenant in &tenants {
        limits.push((tenant.id, store.tenant_limits(tenant.id).await?));
    }
    licensing.with_pool(|pool| {
        for license in licenses {
            pool.restore(license);
        }
        for (tenant, tenant_limits) in &limits {
            pool.restore_tenant(*tenant);
            pool.restore_limits(tenant, &limits_from_store(tenant_limits));
        }
    });
    Ok(unverified)
}

/// Days as milliseconds (saturating).
fn days_ms(days: u64) -> i64 {
    i64::try_from(days)
        .unwrap_or(i64::MAX)
        .saturating_mul(86_400_000)
}

/// Deletes what is older than its retention: license usage (`usage.retention_days`) and
/// the call log (`cti.call_log_retention_days`).
async fn prune_history(state: &AppState, now: Timestamp) {
    let usage_before = now
        .0
        .saturating_sub(days_ms(state.config.usage.retention_days));
    match state.store.prune_usage(usage_before).await {
        Ok(0) => {}
        Ok(pruned) => tracing::info!(pruned, "pruned license usage past its retention"),
        Err(error) => tracing::error!(%error, "could not prune license usage"),
    }
    let calls_before = now
        .0
        .saturating_sub(days_ms(state.config.cti.call_log_retention_days));
    match state.store.prune_call_log(calls_before).await {
        Ok(0) => {}
        Ok(pruned) => tracing::info!(pruned, "pruned call history past its retention"),
        Err(error) => tracing::error!(%error, "could not prune the call log"),
    }
}

/// Ends idle sessions, writes usage peaks, prunes old usage, call history and
/// login-failure records.
async fn background_tasks(state: AppState) {
    let idle_ms = state.config.session_idle_timeout.saturating_mul(1000);
    let tick = Duration::from_millis((idle_ms / 4).clamp(100, 5_000));
    let flush_every = Duration::from_secs(state.config.usage.flush_interval);
    let mut last_flush = Instant::now();
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let now = Timestamp::now();
        let ended = state
            .end_sessions_where(|session| session.is_over(now))
            .await;
        if ended > 0 {
            tracing::debug!(ended, "ended idle or expired sessions");
        }
        if let Err(error) = state.sync_sessions(now).await {
            tracing::error!(%error, "could not sync sessions with the store");
        }
        state.limiter.prune(Instant::now());
        if let Some(relay) = &state.relay {
            relay.sweep();
        }
        if last_flush.elapsed() >= flush_every {
            last_flush = Instant::now();
            if let Err(error) = state.licensing.flush_usage(state.store.as_ref()).await {
                tracing::error!(%error, "could not write license usage");
            }
            prune_history(&state, now).await;
        }
    }
}
