//! The event bus: typed domain events ([`Event`]), fanned out per tenant.
//!
//! [`Bus`] is the port; [`LocalBus`] the in-process adapter: one bounded broadcast ring
//! per tenant (and one for the system admins). A subscriber reads the ring of its scope at
//! its own pace; one that falls a whole ring behind is told it lagged — nothing is ever
//! buffered without bound. Each event is serialized to the WebSocket's JSON at most once,
//! by the first session that sends it ([`Published::json`]).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::broadcast;
use ucplus_core::TenantId;
use ucplus_core::event::{Event, Scope};

/// Events a tenant's ring holds before a slow reader is dropped, by default.
pub const RING: usize = 4096;

/// An event as subscribers receive it, with its JSON made once on first use and shared
/// (not copied) by every session that sends it.
#[derive(Debug)]
pub struct Published {
    pub event: Event,
    json: OnceLock<Utf8Bytes>,
}

impl Published {
    pub fn new(event: Event) -> Published {
        Published {
            event,
            json: OnceLock::new(),
        }
    }

    /// The WebSocket message of the event, serialized once for all its readers.
    pub fn json(&self) -> &Utf8Bytes {
        self.json
            .get_or_init(|| Utf8Bytes::from(self.event.to_json()))
    }
}

/// What a subscriber reads.
pub type Subscription = broadcast::Receiver<Arc<Published>>;

/// Carries events from where they happen to whoever subscribed to their scope.
pub trait Bus: Send + Sync + 'static {
    /// Publishes an event to its scope. Without subscribers it is dropped at once.
    fn publish(&self, event: Event);
    fn subscribe(&self, scope: Scope) -> Subscription;
    /// Forgets a deleted tenant's stream; its subscribers see it close.
    fn remove_tenant(&self, tenant: TenantId);
}

/// The in-process bus.
pub struct LocalBus {
    ring: usize,
    scopes: RwLock<HashMap<Scope, broadcast::Sender<Arc<Published>>>>,
}

impl Default for LocalBus {
    fn default() -> Self {
        LocalBus::new(RING)
    }
}

impl LocalBus {
    pub fn new(ring: usize) -> LocalBus {
        LocalBus {
            ring: ring.max(1),
            scopes: RwLock::new(HashMap::new()),
        }
    }

    fn sender(&self, scope: Scope) -> broadcast::Sender<Arc<Published>> {
        if let Some(sender) = self
            .scopes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&scope)
        {
            return sender.clone();
        }
        self.scopes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(scope)
            .or_insert_with(|| broadcast::channel(self.ring).0)
            .clone()
    }
}

impl LocalBus {
    /// Delivers an already published event to this process's subscribers of its scope.
    pub fn deliver(&self, published: Arc<Published>) {
        let sender = self.sender(published.event.scope);
        if sender.receiver_count() > 0 {
            let _ = sender.send(published);
        }
    }

    /// Tells every stream of every scope to resynchronize (events may have been lost).
    pub fn resync_all(&self) {
        let scopes: Vec<Scope> = self
            .scopes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .copied()
            .collect();
        for scope in scopes {
            self.resync(scope);
        }
    }

    /// Tells every stream of one scope to resynchronize.
    pub fn resync(&self, scope: Scope) {
        self.deliver(Arc::new(Published::new(Event {
            scope,
            audience: ucplus_core::event::Audience::Everyone,
            payload: ucplus_core::event::Payload::Resync,
            pbx_sent_at_ns: None,
            link: None,
        })));
    }

    /// How many streams read a scope now.
    pub fn readers(&self, scope: Scope) -> usize {
        self.scopes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&scope)
            .map_or(0, broadcast::Sender::receiver_count)
    }
}

impl Bus for LocalBus {
    fn publish(&self, event: Event) {
        let sender = self.sender(event.scope);
        if sender.receiver_count() > 0 {
            let _ = sender.send(Arc::new(Published::new(event)));
        }
    }

    fn subscribe(&self, scope: Scope) -> Subscription {
        self.sender(scope).subscribe()
    }

    fn remove_tenant(&self, tenant: TenantId) {
        self.scopes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&Scope::Tenant(tenant));
    }
}

#[cfg(test)]
mod tests {
    use ucplus_core::DeviceRecordId;
    use ucplus_core::cti::views::{RegistrationEvent, RegistrationView};
    use ucplus_core::event::Payload;

    use super::*;

    fn registration(tenant: TenantId) -> Event {
        Event::tenant(
            tenant,
            Payload::Registration(RegistrationEvent {
                device_id: DeviceRecordId::new(),
                registration: RegistrationView {
                    state: "registered",
                    contact: None,
                    expires: Some(60),
                    node: None,
                },
            }),
        )
    }

    #[tokio::test]
    async fn events_reach_only_their_scope_and_slow_readers_lag() {
        let bus = LocalBus::default();
        let (a, b) = (TenantId::new(), TenantId::new());
        let mut reader_a = bus.subscribe(Scope::Tenant(a));
        let mut reader_b = bus.subscribe(Scope::Tenant(b));
        let mut system = bus.subscribe(Scope::System);
        bus.publish(registration(a));
        let received = reader_a.recv().await.unwrap();
        assert!(
            received
                .json()
                .starts_with(r#"{"type":"registration","data":{"#)
        );
        // Serialized once: every reader gets the same text.
        assert!(std::ptr::eq(received.json(), received.json()));
        assert!(reader_b.try_recv().is_err());
        assert!(system.try_recv().is_err());
        for _ in 0..RING + 1 {
            bus.publish(registration(a));
        }
        assert!(matches!(
            reader_a.recv().await,
            Err(broadcast::error::RecvError::Lagged(_))
        ));
    }

    #[tokio::test]
    async fn a_removed_tenants_stream_closes() {
        let bus = LocalBus::default();
        let tenant = TenantId::new();
        let mut reader = bus.subscribe(Scope::Tenant(tenant));
        bus.remove_tenant(tenant);
        assert!(matches!(
            reader.recv().await,
            Err(broadcast::error::RecvError::Closed)
        ));
    }
}
