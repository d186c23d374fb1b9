//! The SIP registrar for uaCSTA handsets: UDP and TCP on `sip.listen`, digest
//! authentication with each device's credentials in its PBX connection's SIP domain
//! (the realm), registration bindings per RFC 3261 §10, and the registration state of
//! each device for the API and the tenant's event stream.
//!
//! ```text
//! phone                         ucplus
//!   | REGISTER sip:acme.example   |
//!   |---------------------------->|  domain → uacsta PBX, user → device
//!   |          401 (nonce)        |
//!   |<----------------------------|
//!   | REGISTER + Authorization    |
//!   |---------------------------->|  digest verified against the device's HA1
//!   |   200 (Contact; expires)    |  binding stored, `registration` event to the tenant
//!   |<----------------------------|
//! ```
//! Answers: 400 (malformed or no usable To), 401 (challenge, stale nonce, a nonce from
//! another address, a replayed nonce count), 403 (wrong credentials, an unknown user or
//! domain — challenged first like a known one, so accounts cannot be enumerated —,
//! registering someone else's address, too many failures), 405 (not REGISTER), 423 (too
//! brief), 503 (too many contacts).
//!
//! The digest's `uri` may be the Request-URI or the registrar's own address — the IP
//! address and port the request was sent to, as phones behind proxies and load tools
//! write it (Kamailio accepts it too); a `uri` naming any other host is refused.
//!
//! Each handset's newest binding is also kept in the store (`stored`), so that any node's
//! registrar can take a registration and the node running the handset's connection opens
//! its session; the API shows registrations from there.

mod listen;
mod stored;
mod tcp;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use pbx::link::kinds::PbxSettings;
use pbx::link::uacsta::{Controller, Flow, Handset};
use sip::{
    Addressing, AuthError, ChangeKind, DigestServer, Limits, Method, Request, Response, Secret,
    StatusCode,
};
use ucplus_core::store::{SipRegistration, SipTransport};
use ucplus_core::{DeviceRecordId, PbxKind, SipHa1, Store, StoreResult, TenantId, Timestamp};

use crate::auth::rate_limit::LoginLimiter;
use crate::cti::bus::Bus;
use ucplus_core::cti::views::{RegistrationEvent, RegistrationView};
use ucplus_core::event::{Event, Payload};

pub use tcp::TcpLimits;

/// The answer to one request, and the registration it made, if any: its address-of-record
/// and when it lapses (Unix seconds).
struct Answer {
    response: Response,
    registered: Option<(String, u64)>,
    /// The handset whose session is to be opened once the response is sent (a phone
    /// expects its 200 before the session's INVITE).
    changed: Option<(Account, String)>,
}

#[derive(Clone)]
struct Account {
    device: DeviceRecordId,
    tenant: TenantId,
    pbx: ucplus_core::PbxId,
    /// The handset's device id on its connection (its number).
    number: String,
    ha1: SipHa1,
}

#[derive(Default)]
struct Index {
    /// SIP domain → tenant owning the uaCSTA connection (None: shared).
    domains: HashMap<String, Option<TenantId>>,
    /// `user@domain` → account.
    accounts: HashMap<String, Account>,
    /// Device → its address-of-record.
    aors: HashMap<DeviceRecordId, String>,
}

pub struct SipService {
    controller: Arc<Controller>,
    store: Arc<dyn Store>,
    /// This node's name, written with the registrations it takes.
    node: String,
    /// Registrations on their way to the store.
    writes: stored::Writes,
    /// Several nodes: how often the registrations of the connections running here are
    /// read back from the store (those other nodes took), and the accounts' version
    /// checked. None: the only node, which takes every registration itself.
    sync_every: Option<Duration>,
    /// The version of the SIP accounts the index was last built at (several nodes).
    accounts_version: Mutex<Option<String>>,
    /// Handsets registered over TCP with another node whose contact could not be reached,
    /// and when: tried again after a while.
    unreachable: Mutex<HashMap<DeviceRecordId, Instant>>,
    registrar: Mutex<sip::Registrar>,
    digest: DigestServer,
    index: RwLock<Index>,
    failures: LoginLimiter,
    /// The nonce counts already accepted: a replayed Authorization is challenged anew.
    nonce_uses: Mutex<sip::NonceUses>,
    limits: Limits,
    tcp: TcpLimits,
    /// Per address-of-record, the registration that last came over TCP and its
    /// connection: the handset's session runs on that connection.
    flows: Mutex<HashMap<String, (String, Flow)>>,
    /// Numbers the registrar's TCP connections.
    connections: std::sync::atomic::AtomicU64,
    /// Addresses of this host seen in digest `uri`s (for a registrar listening on all
    /// of them); only this host's, so it stays as small as its interface list.
    own_ips: RwLock<HashSet<IpAddr>>,
}

fn unix_now() -> u64 {
    u64::try_from(Timestamp::now().0 / 1000).unwrap_or(0)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// How the registrar is set up in this node.
pub struct SipSetup {
    pub tcp: TcpLimits,
    pub store: Arc<dyn Store>,
    /// This node's name.
    pub node: String,
    /// Several nodes: how often registrations other nodes took are read (see
    /// [`SipService`]); None for the only node.
    pub sync_every: Option<Duration>,
}

impl SipService {
    pub fn new(controller: Arc<Controller>, setup: SipSetup) -> SipService {
        let SipSetup {
            tcp,
            store,
            node,
            sync_every,
        } = setup;
        let mut secret = [0u8; 32];
        if getrandom::getrandom(&mut secret).is_err() {
            // Without randomness nonces would be guessable: refuse every login instead.
            tracing::error!("no OS random source for SIP nonces");
        }
        let digest = DigestServer::new(&secret);
        SipService {
            controller,
            store,
            node,
            writes: stored::Writes::default(),
            sync_every,
            accounts_version: Mutex::new(None),
            unreachable: Mutex::new(HashMap::new()),
            registrar: Mutex::new(sip::Registrar::new(sip::RegistrarConfig::default())),
            nonce_uses: Mutex::new(sip::NonceUses::new(100_000, digest.nonce_lifetime())),
            digest,
            index: RwLock::new(Index::default()),
            failures: LoginLimiter::new(Duration::from_secs(60), 10, 30),
            limits: Limits::default(),
            tcp,
            flows: Mutex::new(HashMap::new()),
            connections: std::sync::atomic::AtomicU64::new(0),
            own_ips: RwLock::new(HashSet::new()),
        }
    }

    /// Rebuilds the account index from the uaCSTA connections and their devices.
    pub async fn reload(&self) -> StoreResult<()> {
        let store = self.store.as_ref();
        let mut index = Index::default();
        for pbx in store.pbxs().await? {
            if pbx.kind != PbxKind::Uacsta {
                continue;
            }
            let Some(domain) = PbxSettings::of(&pbx)
                .ok()
                .as_ref()
                .and_then(PbxSettings::sip_domain)
                .map(str::to_lowercase)
            else {
                continue;
            };
            index.domains.insert(domain.clone(), pbx.tenant_id);
            for device in store.pbx_devices(pbx.id).await? {
                let (Some(user), Some(ha1)) = (device.sip_username.clone(), device.sip_ha1.clone())
                else {
                    continue;
                };
                let aor = format!("{user}@{domain}");
                index.aors.insert(device.id, aor.clone());
                index.accounts.insert(
                    aor,
                    Account {
                        device: device.id,
                        tenant: device.tenant_id,
                        pbx: pbx.id,
                        number: device.device_id.clone(),
                        ha1,
                    },
                );
            }
        }
        *self.index.write().unwrap_or_else(|e| e.into_inner()) = index;
        Ok(())
    }

    /// The account registering as `aor`, if there is one.
    fn account(&self, aor: &str) -> Option<Account> {
        self.index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .accounts
            .get(aor)
            .cloned()
    }

    /// Whether the device is a handset with credentials (it has a registration state).
    fn is_handset(&self, device: DeviceRecordId) -> bool {
        self.index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .aors
            .contains_key(&device)
    }

    /// The newest binding of `aor` in this node's registrar.
    fn newest(&self, aor: &str) -> Option<sip::Binding> {
        lock(&self.registrar)
            .bindings(aor)
            .iter()
            .max_by_key(|b| b.expires_at)
            .cloned()
    }

    /// A device's registration as this node's registrar has it (None: not a handset with
    /// credentials), for its `registration` events.
    fn local_view(&self, device: DeviceRecordId) -> Option<RegistrationView> {
        let aor = self
            .index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .aors
            .get(&device)?
            .clone();
        Some(match self.newest(&aor) {
            Some(binding) => RegistrationView {
                state: "registered",
                contact: Some(binding.contact.uri.to_string()),
                expires: Some(binding.remaining(unix_now())),
                node: Some(self.node.clone()),
            },
            None => stored::unregistered(),
        })
    }

    /// Whether `ip:port` is where a request sent to `sent_to` (the socket's address,
    /// perhaps unspecified: all of this host's) reached this registrar.
    fn is_own_address(&self, sent_to: SocketAddr, ip: IpAddr, port: u16) -> bool {
        if port != sent_to.port() {
            return false;
        }
        if !sent_to.ip().is_unspecified() {
            return ip == sent_to.ip();
        }
        if self
            .own_ips
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&ip)
        {
            return true;
        }
        // Only an address of this host can be bound to.
        let own = std::net::UdpSocket::bind((ip, 0)).is_ok();
        if own {
            self.own_ips
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(ip);
        }
        own
    }

    /// Answers one request that came on `flow`, sent to `sent_to` (the address of the
    /// socket it came on).
    fn answer(
        &self,
        request: &Request,
        source: SocketAddr,
        sent_to: SocketAddr,
        flow: &Flow,
        bus: &dyn Bus,
    ) -> Answer {
        let response = |response| Answer {
            response,
            registered: None,
            changed: None,
        };
        metrics::counter!("ucplus_sip_requests_total", "method" => request.method.as_str().to_string()).increment(1);
        match request.method {
            Method::Register => {}
            Method::Options => return response(Response::for_request(request, StatusCode::OK)),
            _ => {
                return response(Response::for_request(
                    request,
                    StatusCode::METHOD_NOT_ALLOWED,
                ));
            }
        }
        let Some((user, domain)) = request.headers.to().ok().and_then(|to| match &to.uri {
            sip::Uri::Sip(uri) => Some((uri.user.clone()?, uri.host.to_lowercase())),
            sip::Uri::Other(_) => None,
        }) else {
            return response(Response::for_request(request, StatusCode::BAD_REQUEST));
        };
        let address = source.ip().to_string();
        let now_instant = Instant::now();
        // Refused like any wrong credentials: a 403 does not tell that a limit was hit.
        let forbidden = || Response::for_request(request, StatusCode::FORBIDDEN);
        if self
            .failures
            .check(&domain, &user, &address, now_instant)
            .is_some()
        {
            metrics::counter!("ucplus_sip_rate_limited_total").increment(1);
            return response(forbidden());
        }
        let (known_domain, account) = {
            let index = self.index.read().unwrap_or_else(|e| e.into_inner());
            (
                index.domains.contains_key(&domain),
                index.accounts.get(&format!("{user}@{domain}")).cloned(),
            )
        };
        let now = unix_now();
        // Nonces are bound to the address they were sent to: a challenge answered from
        // elsewhere (a captured Authorization replayed by another host) is unknown there.
        let challenge = |stale| {
            self.digest
                .unauthorized_for(request, &domain, &address, now, stale)
        };
        let credentials = match request.headers.authorization() {
            Ok(Some(credentials)) => credentials,
            // Unknown users and domains are challenged like known ones, so the answer
            // before authentication does not tell which accounts exist.
            Ok(None) => return response(challenge(false)),
            Err(_) => return response(Response::for_request(request, StatusCode::BAD_REQUEST)),
        };
        let Some(account) = account.filter(|_| known_domain) else {
            self.failures
                .record_failure(&domain, &user, &address, now_instant);
            tracing::info!(%user, %domain, %address, "SIP registration for an unknown account");
            return response(forbidden());
        };
        if credentials.username != user {
            self.failures
                .record_failure(&domain, &user, &address, now_instant);
            return response(forbidden());
        }
        let ha1 = match credentials.algorithm {
            sip::Algorithm::Md5 | sip::Algorithm::Md5Sess => account.ha1.md5.as_str(),
            _ => account.ha1.sha256.as_str(),
        };
        let addressing = Addressing {
            peer: &address,
            own_address: &|ip, port| self.is_own_address(sent_to, ip, port),
        };
        match self.digest.verify_addressed(
            request,
            &credentials,
            &domain,
            addressing,
            Secret::Ha1(ha1),
            now,
        ) {
            Ok(()) => {}
            Err(AuthError::StaleNonce) => return response(challenge(true)),
            Err(AuthError::UnknownNonce) => return response(challenge(false)),
            Err(error) => {
                tracing::info!(%user, %domain, %address, code = error.code(), "SIP authentication failed");
                self.failures
                    .record_failure(&domain, &user, &address, now_instant);
                return response(forbidden());
            }
        }
        let fresh =
            lock(&self.nonce_uses).accept(&credentials.nonce, credentials.nc.as_deref(), now);
        if let Err(replay) = fresh {
            metrics::counter!("ucplus_sip_replays_total").increment(1);
            tracing::info!(%user, %domain, %address, ?replay, "SIP credentials used again: challenged anew");
            return response(challenge(false));
        }
        self.failures.record_success(&domain, &user, &address);
        let registration = lock(&self.registrar).register(request, Some(source), now);
        let aor = format!("{user}@{domain}");
        if let (Flow::Stream { .. }, true) = (flow, registration.response.status.is_success())
            && let Ok(call_id) = request.headers.call_id()
        {
            lock(&self.flows).insert(aor.clone(), (call_id.to_string(), flow.clone()));
        }
        // A handset with a binding left is announced and its session opened at once; one
        // with none left here once the store says no other node holds it (`stored`).
        let kept = !registration.changes.is_empty() && self.binding_changed(&account, &aor, bus);
        let registered = registration
            .changes
            .iter()
            .filter(|c| c.kind != ChangeKind::Removed)
            .map(|c| c.binding.expires_at)
            .max()
            .map(|until| (aor.clone(), until));
        Answer {
            response: registration.response,
            registered,
            changed: kept.then_some((account, aor)),
        }
    }

    /// The bindings of `account` changed here: its newest one is stored and announced, or,
    /// with none left, its removal is queued. Whether a binding is left.
    fn binding_changed(&self, account: &Account, aor: &str, bus: &dyn Bus) -> bool {
        let Some(binding) = self.newest(aor) else {
            self.queue(
                account.device,
                stored::Change::Removed(account.clone(), aor.to_string()),
            );
            return false;
        };
        let stream = lock(&self.flows)
            .get(aor)
            .is_some_and(|(call_id, _)| *call_id == binding.call_id);
        let registration = SipRegistration {
            tenant_id: account.tenant,
            device_id: account.device,
            pbx_id: account.pbx,
            aor: aor.to_string(),
            contact: binding.contact.uri.to_string(),
            source: binding.source.map(|s| s.to_string()).unwrap_or_default(),
            transport: if stream {
                SipTransport::Tcp
            } else {
                SipTransport::Udp
            },
            call_id: binding.call_id.clone(),
            expires_at: Timestamp(
                i64::try_from(binding.expires_at)
                    .unwrap_or(i64::MAX / 1000)
                    .saturating_mul(1000),
            ),
            node: self.node.clone(),
        };
        self.queue(account.device, stored::Change::Set(registration));
        self.announce(account.device, account.tenant, bus);
        true
    }

    /// What follows a sent answer: the session of a handset whose bindings changed.
    fn after(&self, answer: Answer) {
        if let Some((account, aor)) = answer.changed {
            self.sessions(&account, &aor);
        }
    }

    /// Opens the handset's uaCSTA session for its newest binding, or closes it when none
    /// is left.
    fn sessions(&self, account: &Account, aor: &str) {
        match self.newest(aor) {
            Some(binding) => {
                // Over TCP the session takes the connection the binding was registered on;
                // over UDP it goes where the REGISTER came from.
                let stream = lock(&self.flows)
                    .get(aor)
                    .filter(|(call_id, _)| *call_id == binding.call_id)
                    .map(|(_, flow)| flow.clone());
                let flow = match (stream, binding.source) {
                    (Some(flow), _) => flow,
                    (None, Some(source)) => Flow::Udp(source),
                    (None, None) => return,
                };
                self.controller.open(Handset {
                    device: account.device,
                    pbx: account.pbx,
                    number: &account.number,
                    aor,
                    contact: &binding.contact.uri,
                    flow,
                    registration: &binding.call_id,
                });
            }
            None => {
                lock(&self.flows).remove(aor);
                self.controller.close(account.device);
            }
        }
    }

    fn announce(&self, device: DeviceRecordId, tenant: TenantId, bus: &dyn Bus) {
        if let Some(registration) = self.local_view(device) {
            bus.publish(Event::tenant(
                tenant,
                Payload::Registration(RegistrationEvent {
                    device_id: device,
                    registration,
                }),
            ));
        }
    }

    /// Drops expired bindings: a handset with another binding left is announced and gets
    /// its session on it; one with none left is removed from the store (`stored`).
    pub fn expire(&self, bus: &dyn Bus) {
        let changes = lock(&self.registrar).expire(unix_now());
        let expired: HashSet<String> = changes
            .into_iter()
            .filter(|change| change.kind == ChangeKind::Expired)
            .map(|change| change.aor)
            .collect();
        for aor in expired {
            if let Some(account) = self.account(&aor)
                && self.binding_changed(&account, &aor, bus)
            {
                self.sessions(&account, &aor);
            }
        }
    }
}
