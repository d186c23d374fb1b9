//! The event bus: domain events, serialized once, fanned out per tenant as shared bytes.
//!
//! One bounded broadcast ring per tenant (and one for the system admins). A WebSocket
//! client reads the ring of its tenant at its own pace; one that falls a whole ring behind
//! is told it lagged and is disconnected — nothing is ever buffered without bound.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::Serialize;
use tokio::sync::broadcast;
use ucplus_core::{TenantId, UserId};

/// Messages a tenant's ring holds before a slow reader is dropped, by default.
pub const RING: usize = 4096;

/// Who within a tenant may see an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every session of the tenant.
    Tenant,
    /// Only this user's sessions (their own calls).
    User(UserId),
    /// The tenant's admins.
    Admins,
    /// The tenant's sessions that are not admins.
    Members,
}

/// One event, already serialized as `{"type": ..., "data": ...}`.
#[derive(Debug)]
pub struct Envelope {
    pub audience: Audience,
    pub json: Arc<str>,
}

#[derive(Serialize)]
struct Message<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    data: &'a T,
    /// When the PBX sent the event behind this message (unix ns), if it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pbx_sent_at_ns: Option<i64>,
}

/// Serializes `{"type": kind, "data": data}`.
pub fn message_json<T: Serialize>(kind: &str, data: &T) -> Arc<str> {
    stamped_json(kind, data, None)
}

/// Serializes `{"type": kind, "data": data, "pbx_sent_at_ns": stamp}` (the stamp only
/// when the PBX gave one: the simulator does when asked, for latency measurement).
pub fn stamped_json<T: Serialize>(kind: &str, data: &T, pbx_sent_at_ns: Option<i64>) -> Arc<str> {
    serde_json::to_string(&Message {
        kind,
        data,
        pbx_sent_at_ns,
    })
    .unwrap_or_else(|_| "{}".into())
    .into()
}

pub struct Bus {
    ring: usize,
    tenants: RwLock<HashMap<TenantId, broadcast::Sender<Arc<Envelope>>>>,
    system: RwLock<Option<broadcast::Sender<Arc<Envelope>>>>,
}

impl Default for Bus {
    fn default() -> Self {
        Bus::new(RING)
    }
}

impl Bus {
    pub fn new(ring: usize) -> Bus {
        Bus {
            ring: ring.max(1),
            tenants: RwLock::new(HashMap::new()),
            system: RwLock::new(None),
        }
    }

    fn tenant_sender(&self, tenant: TenantId) -> broadcast::Sender<Arc<Envelope>> {
        if let Some(sender) = self
            .tenants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&tenant)
        {
            return sender.clone();
        }
        self.tenants
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(tenant)
            .or_insert_with(|| broadcast::channel(self.ring).0)
            .clone()
    }

    fn system_sender(&self) -> broadcast::Sender<Arc<Envelope>> {
        if let Some(sender) = self
            .system
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            return sender.clone();
        }
        self.system
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(|| broadcast::channel(self.ring).0)
            .clone()
    }

    /// Publishes to one tenant's sessions. Without subscribers it is dropped at once.
    pub fn publish(&self, tenant: TenantId, envelope: Envelope) {
        let sender = self.tenant_sender(tenant);
        if sender.receiver_count() > 0 {
            let _ = sender.send(Arc::new(envelope));
        }
    }

    /// Publishes to the system admins' sessions.
    pub fn publish_system(&self, json: Arc<str>) {
        let sender = self.system_sender();
        if sender.receiver_count() > 0 {
            let _ = sender.send(Arc::new(Envelope {
                audience: Audience::Tenant,
                json,
            }));
        }
    }

    pub fn subscribe(&self, tenant: TenantId) -> broadcast::Receiver<Arc<Envelope>> {
        self.tenant_sender(tenant).subscribe()
    }

    pub fn subscribe_system(&self) -> broadcast::Receiver<Arc<Envelope>> {
        self.system_sender().subscribe()
    }

    /// Forgets a deleted tenant's ring; its subscribers see the channel close.
    pub fn remove_tenant(&self, tenant: TenantId) {
        self.tenants
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&tenant);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_reach_only_their_tenant_and_slow_readers_lag() {
        let bus = Bus::default();
        let (a, b) = (TenantId::new(), TenantId::new());
        let mut reader_a = bus.subscribe(a);
        let mut reader_b = bus.subscribe(b);
        bus.publish(
            a,
            Envelope {
                audience: Audience::Tenant,
                json: message_json("x", &1),
            },
        );
        assert_eq!(
            &*reader_a.recv().await.unwrap().json,
            r#"{"type":"x","data":1}"#
        );
        assert!(reader_b.try_recv().is_err());
        for i in 0..RING + 1 {
            bus.publish(
                a,
                Envelope {
                    audience: Audience::Tenant,
                    json: message_json("x", &i),
                },
            );
        }
        assert!(matches!(
            reader_a.recv().await,
            Err(broadcast::error::RecvError::Lagged(_))
        ));
    }
}
