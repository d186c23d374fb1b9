//! One PBX connection at run time: its configuration, live state and link channels.

use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot, watch};
use ucplus_core::cti::{DeviceCall, DeviceCalls, LinkState, PbxError, PbxRequest, PbxResponse};
use ucplus_core::{Device, Pbx, PbxId, TenantId, Timestamp};
use uuid::Uuid;

use super::link::LinkRequest;
use ucplus_core::cti::views::{LinkView, Party};

/// A configured device and its calls.
pub struct DeviceEntry {
    pub record: Device,
    pub calls: DeviceCalls,
    /// The far party of each call as last resolved: (number it was resolved for, party).
    pub parties: HashMap<Uuid, (Option<String>, Party)>,
}

/// A link's state and since when.
#[derive(Debug, Clone)]
pub struct LinkStatus {
    pub state: LinkState,
    pub since: Timestamp,
    pub error: Option<String>,
    /// The session the link last opened (`ecma354`, `system_status`, `none`).
    pub session: Option<String>,
}

/// What the engine of one PBX knows.
pub struct PbxState {
    pub link: LinkStatus,
    /// By the device's id on the PBX.
    pub devices: HashMap<String, DeviceEntry>,
    /// API call id → device id on the PBX.
    pub calls: HashMap<Uuid, String>,
    /// The last calls that ended, newest last. Tells a request that created a call which
    /// failed at once (busy) what happened. Switches recycle call ids, so an end counts
    /// for a request only if it came after the request was sent (its `seq`), and the
    /// memory is cleared whenever the link connects anew.
    pub recent_ends: std::collections::VecDeque<RecentEnd>,
    /// The `seq` of the last end remembered.
    pub ends_seq: u64,
}

/// A call that ended, as `recent_ends` remembers it.
#[derive(Debug, Clone)]
pub struct RecentEnd {
    pub seq: u64,
    pub device: String,
    pub call_id: String,
    pub cause: Option<String>,
}

/// How many ended calls `recent_ends` remembers.
pub const RECENT_ENDS: usize = 256;

/// What became of the call a request (MakeCall, ConsultationCall) created.
#[derive(Debug)]
pub enum Created {
    /// The engine has it.
    Call(DeviceCall),
    /// It ended at once (busy, unreachable), with the switch's cause.
    Ended(Option<String>),
    /// No report of it came in time.
    NotSeen,
}

pub struct PbxRuntime {
    pub id: PbxId,
    /// The node running this link.
    pub node: String,
    /// The epoch of this node's lease on the link (0 for the only node).
    pub epoch: i64,
    pub config: RwLock<Pbx>,
    pub state: RwLock<PbxState>,
    pub(super) requests: mpsc::Sender<LinkRequest>,
    pub(super) devices_tx: watch::Sender<BTreeSet<String>>,
    pub(super) shutdown: watch::Sender<bool>,
    /// Told by the engine whenever a call appeared, changed or ended.
    pub(super) calls_changed: Notify,
}

impl PbxRuntime {
    pub(super) fn new(
        pbx: Pbx,
        node: String,
        epoch: i64,
        devices: Vec<Device>,
        requests: mpsc::Sender<LinkRequest>,
        devices_tx: watch::Sender<BTreeSet<String>>,
        shutdown: watch::Sender<bool>,
    ) -> PbxRuntime {
        let devices = devices
            .into_iter()
            .map(|record| {
                let calls = DeviceCalls::new(record.device_id.clone());
                (
                    record.device_id.clone(),
                    DeviceEntry {
                        record,
                        calls,
                        parties: HashMap::new(),
                    },
                )
            })
            .collect();
        PbxRuntime {
            id: pbx.id,
            node,
            epoch,
            config: RwLock::new(pbx),
            state: RwLock::new(PbxState {
                link: LinkStatus {
                    state: LinkState::Connecting,
                    since: Timestamp::now(),
                    error: None,
                    session: None,
                },
                devices,
                calls: HashMap::new(),
                recent_ends: std::collections::VecDeque::new(),
                ends_seq: 0,
            }),
            requests,
            devices_tx,
            shutdown,
            calls_changed: Notify::new(),
        }
    }

    /// Waits for the engine to report the call a request just created on `device`: the
    /// call with the switch's `call_id` (or, when the switch named none, the device's
    /// newest). Only ends after `ends_before` (the `ends_seq` read before the request was
    /// sent) count: switches recycle call ids. Woken by the engine, not by polling.
    pub async fn created_call(
        &self,
        device: &str,
        call_id: Option<&str>,
        ends_before: u64,
        wait: Duration,
    ) -> Created {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before looking, so a report applied in between still wakes it.
            let changed = self.calls_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let state = self.read();
                let found = state.devices.get(device).and_then(|entry| match call_id {
                    Some(id) => entry.calls.calls.iter().find(|c| c.call_id == id).cloned(),
                    None => entry.calls.calls.last().cloned(),
                });
                if let Some(call) = found {
                    return Created::Call(call);
                }
                let ended = call_id.and_then(|id| {
                    state.recent_ends.iter().rev().find(|end| {
                        end.seq > ends_before && end.device == device && end.call_id == id
                    })
                });
                if let Some(end) = ended {
                    return Created::Ended(end.cause.clone());
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return Created::NotSeen;
            }
        }
    }

    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, PbxState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, PbxState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn owner(&self) -> Option<TenantId> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .tenant_id
    }

    pub fn link_view(&self) -> LinkView {
        let link = self.read().link.clone();
        LinkView {
            pbx_id: self.id,
            state: link.state,
            since: link.since,
            error: link.error,
            session: link.session,
            node: Some(self.node.clone()),
        }
    }

    /// Sends a request over the link and waits for its answer.
    pub async fn request(
        &self,
        request: PbxRequest,
        timeout: Duration,
    ) -> Result<PbxResponse, PbxError> {
        let link = self.read().link.clone();
        if link.state != LinkState::Up {
            return Err(PbxError::Unavailable(
                link.error
                    .unwrap_or_else(|| format!("the link is {}", link.state.as_str())),
            ));
        }
        let (reply, answer) = oneshot::channel();
        self.requests
            .try_send(LinkRequest { request, reply })
            .map_err(|_| PbxError::Unavailable("the link is overloaded or closed".into()))?;
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(PbxError::Unavailable("the link closed".into())),
            Err(_) => Err(PbxError::Timeout),
        }
    }

    /// Adds devices or changes their records (owner, name, extension): new ones are
    /// monitored; the rest of the PBX's devices are not touched. Answers each device's
    /// record as it was before (None: new).
    pub(super) fn upsert_devices(&self, devices: &[Device]) -> Vec<Option<Device>> {
        let mut state = self.write();
        let mut added = Vec::new();
        let mut before = Vec::with_capacity(devices.len());
        for record in devices {
            match state.devices.get_mut(&record.device_id) {
                Some(entry) => {
                    if entry.record.user_id != record.user_id
                        || entry.record.tenant_id != record.tenant_id
                    {
                        entry.parties.clear();
                    }
                    before.push(Some(std::mem::replace(&mut entry.record, record.clone())));
                }
                None => {
                    let calls = DeviceCalls::new(record.device_id.clone());
                    state.devices.insert(
                        record.device_id.clone(),
                        DeviceEntry {
                            record: record.clone(),
                            calls,
                            parties: HashMap::new(),
                        },
                    );
                    added.push(record.device_id.clone());
                    before.push(None);
                }
            }
        }
        drop(state);
        if !added.is_empty() {
            self.devices_tx
                .send_modify(|monitored| monitored.extend(added));
        }
        before
    }

    /// Removes devices (their monitors stop; their calls are forgotten). Answers the
    /// removed entries.
    pub(super) fn remove_devices(&self, device_ids: &[String]) -> Vec<DeviceEntry> {
        let mut state = self.write();
        let mut removed = Vec::new();
        for id in device_ids {
            if let Some(entry) = state.devices.remove(id) {
                for call in &entry.calls.calls {
                    state.calls.remove(&call.id);
                }
                removed.push(entry);
            }
        }
        drop(state);
        if !removed.is_empty() {
            self.devices_tx.send_modify(|monitored| {
                for entry in &removed {
                    monitored.remove(&entry.record.device_id);
                }
            });
        }
        removed
    }

    /// Replaces the configured devices: new ones are monitored, removed ones forgotten
    /// (their calls end for the call log as the engine reports).
    pub(super) fn set_devices(&self, devices: Vec<Device>) -> Vec<DeviceEntry> {
        let mut state = self.write();
        let mut removed = Vec::new();
        let mut keep: HashMap<String, Device> = devices
            .into_iter()
            .map(|d| (d.device_id.clone(), d))
            .collect();
        let ids: Vec<String> = state.devices.keys().cloned().collect();
        for id in ids {
            match keep.remove(&id) {
                Some(record) => {
                    if let Some(entry) = state.devices.get_mut(&id) {
                        if entry.record.user_id != record.user_id
                            || entry.record.tenant_id != record.tenant_id
                        {
                            entry.parties.clear();
                        }
                        entry.record = record;
                    }
                }
                None => {
                    if let Some(entry) = state.devices.remove(&id) {
                        removed.push(entry);
                    }
                }
            }
        }
        for (id, record) in keep {
            let calls = DeviceCalls::new(id.clone());
            state.devices.insert(
                id,
                DeviceEntry {
                    record,
                    calls,
                    parties: HashMap::new(),
                },
            );
        }
        for entry in &removed {
            for call in &entry.calls.calls {
                state.calls.remove(&call.id);
            }
        }
        let monitored: BTreeSet<String> = state.devices.keys().cloned().collect();
        drop(state);
        self.devices_tx.send_replace(monitored);
        removed
    }
}
