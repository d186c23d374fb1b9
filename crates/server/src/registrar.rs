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

mod tcp;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use pbx::link::kinds::PbxSettings;
use pbx::link::uacsta::{Controller, Flow, Handset};
use sip::{
    Addressing, AuthError, ChangeKind, DigestServer, Limits, Message, Method, Request, Response,
    Secret, StatusCode,
};
use tokio::net::{TcpListener, UdpSocket};
use ucplus_core::{DeviceRecordId, PbxKind, SipHa1, Store, StoreResult, TenantId, Timestamp};

use crate::auth::rate_limit::LoginLimiter;
use crate::cti::Cti;
use crate::cti::bus::Bus;
use ucplus_core::cti::views::{RegistrationEvent, RegistrationView};
use ucplus_core::event::{Event, Payload};

pub use tcp::TcpLimits;

/// The answer to one request, and the registration it made, if any: its address-of-record
/// and when it lapses (Unix seconds).
struct Answer {
    response: Response,
    registered: Option<(String, u64)>,
    /// The handset whose session is to be opened or closed once the response is sent
    /// (a phone expects its 200 before the session's INVITE).
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

/// UDP and TCP on the same port. For port 0 the kernel picks a free UDP port that may be
/// taken for TCP: try again with another.
async fn bind_pair(address: SocketAddr) -> std::io::Result<(UdpSocket, TcpListener)> {
    let mut attempts = if address.port() == 0 { 20 } else { 1 };
    loop {
        attempts -= 1;
        let udp = UdpSocket::bind(address).await?;
        match TcpListener::bind(udp.local_addr()?).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(error) if attempts == 0 => return Err(error),
            Err(_) => continue,
        }
    }
}

impl SipService {
    pub fn new(controller: Arc<Controller>, tcp: TcpLimits) -> SipService {
        let mut secret = [0u8; 32];
        if getrandom::getrandom(&mut secret).is_err() {
            // Without randomness nonces would be guessable: refuse every login instead.
            tracing::error!("no OS random source for SIP nonces");
        }
        let digest = DigestServer::new(&secret);
        SipService {
            controller,
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
    pub async fn reload(&self, store: &dyn Store) -> StoreResult<()> {
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

    /// The registration state of a device (None: not a handset with credentials).
    pub fn registration(&self, device: DeviceRecordId) -> Option<RegistrationView> {
        let aor = self
            .index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .aors
            .get(&device)?
            .clone();
        let now = unix_now();
        let registrar = lock(&self.registrar);
        let newest = registrar.bindings(&aor).iter().max_by_key(|b| b.expires_at);
        Some(match newest {
            Some(binding) => RegistrationView {
                state: "registered",
                contact: Some(binding.contact.uri.to_string()),
                expires: Some(binding.remaining(now)),
            },
            None => RegistrationView {
                state: "unregistered",
                contact: None,
                expires: None,
            },
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
        if !registration.changes.is_empty() {
            self.announce(account.device, account.tenant, bus);
        }
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
            changed: (!registration.changes.is_empty()).then_some((account, aor)),
        }
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
        let newest = lock(&self.registrar)
            .bindings(aor)
            .iter()
            .max_by_key(|b| b.expires_at)
            .cloned();
        match newest {
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
        if let Some(registration) = self.registration(device) {
            bus.publish(Event::tenant(
                tenant,
                Payload::Registration(RegistrationEvent {
                    device_id: device,
                    registration,
                }),
            ));
        }
    }

    /// Drops expired bindings and announces them.
    pub fn expire(&self, bus: &dyn Bus) {
        let changes = lock(&self.registrar).expire(unix_now());
        for change in changes {
            if change.kind != ChangeKind::Expired {
                continue;
            }
            let account = self
                .index
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .accounts
                .get(&change.aor)
                .cloned();
            if let Some(account) = account {
                self.announce(account.device, account.tenant, bus);
                self.sessions(&account, &change.aor);
            }
        }
    }

    /// Serves UDP and TCP on `address` (the same port for both), expires bindings and
    /// forgets stale login failures.
    pub async fn listen(
        self: Arc<Self>,
        address: SocketAddr,
        cti: Arc<Cti>,
    ) -> std::io::Result<SocketAddr> {
        let (udp, tcp) = bind_pair(address).await?;
        let udp = Arc::new(udp);
        let bound = udp.local_addr()?;
        tracing::info!(%bound, "SIP registrar listening (UDP and TCP)");
        self.controller.set_socket(udp.clone(), bound);
        // Several readers on the one UDP socket, so requests use every core.
        let readers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(2, 8);
        for _ in 0..readers {
            let (service, events, udp) = (self.clone(), cti.clone(), udp.clone());
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 65_535];
                loop {
                    let Ok((length, source)) = udp.recv_from(&mut buffer).await else {
                        continue;
                    };
                    let Some(datagram) = buffer.get(..length) else {
                        continue;
                    };
                    let answer = match sip::parse_datagram(datagram, &service.limits) {
                        Ok(Some(Message::Request(request))) => match request.method {
                            Method::Register | Method::Options => {
                                let answer = service.answer(
                                    &request,
                                    source,
                                    bound,
                                    &Flow::Udp(source),
                                    events.bus.as_ref(),
                                );
                                let _ = udp.send_to(&answer.response.to_bytes(), source).await;
                                service.after(answer);
                                continue;
                            }
                            Method::Ack => continue,
                            _ => service
                                .controller
                                .on_request(&request)
                                .unwrap_or_else(|| {
                                    Response::for_request(&request, StatusCode::CALL_DOES_NOT_EXIST)
                                })
                                .to_bytes(),
                        },
                        Ok(Some(Message::Response(response))) => {
                            service.controller.on_response(&response);
                            continue;
                        }
                        Ok(None) => continue,
                        Err(error) => {
                            metrics::counter!("ucplus_sip_malformed_total").increment(1);
                            tracing::debug!(%source, code = error.code(), "malformed SIP datagram");
                            continue;
                        }
                    };
                    let _ = udp.send_to(&answer, source).await;
                }
            });
        }
        let (service, events) = (self.clone(), cti.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, source)) = tcp.accept().await else {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                // Over a limit the connection is closed at once.
                let Ok(slot) = service.tcp.connections.admit(source.ip()) else {
                    continue;
                };
                let (service, events) = (service.clone(), events.clone());
                tokio::spawn(async move {
                    service.serve_tcp(stream, source, events.bus.as_ref()).await;
                    drop(slot);
                });
            }
        });
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                self.expire(cti.bus.as_ref());
                self.controller.refresh_due();
                self.failures.prune(Instant::now());
                lock(&self.nonce_uses).prune(unix_now());
            }
        });
        Ok(bound)
    }
}
