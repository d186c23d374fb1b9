//! Monitoring and snapshots: subscribe to a device's events and read its calls.
//!
//! ```text
//! <MonitorStart><monitorObject><deviceObject>201</deviceObject></monitorObject></MonitorStart>
//! <MonitorStartResponse><monitorCrossRefID>43</monitorCrossRefID><monitorExistingCalls>true</monitorExistingCalls></MonitorStartResponse>
//! <SnapshotDeviceResponse><crossRefIDorSnapshotData><snapshotData>
//!   <snapshotDeviceResponseInfo>
//!     <connectionIdentifier><callID>12</callID><deviceID>201</deviceID></connectionIdentifier>
//!     <localCallState><compoundCallState><localConnectionState>connected</localConnectionState></compoundCallState></localCallState>
//!   </snapshotDeviceResponseInfo>
//! </snapshotData></crossRefIDorSnapshotData></SnapshotDeviceResponse>
//! ```

use crate::device::{ConnectionId, DeviceId, EventDevice};
use crate::values::{LocalConnectionState, MonitorType};
use crate::xml::RawXml;

csta_struct! {
    /// Starts a monitor; events then carry the returned `monitorCrossRefID`.
    pub struct MonitorStart {
        monitor_object: req MonitorObject = "monitorObject",
        requested_monitor_filter: opt RawXml = "requestedMonitorFilter",
        monitor_type: opt MonitorType = "monitorType",
    }
}

impl MonitorStart {
    /// Monitors one device, with the switch's default filter.
    pub fn device(device: &str) -> MonitorStart {
        MonitorStart {
            monitor_object: MonitorObject {
                device_object: Some(crate::DeviceId::new(device)),
                call_object: None,
                extra: Default::default(),
            },
            requested_monitor_filter: None,
            monitor_type: None,
            extra: Default::default(),
        }
    }
}

csta_struct! {
    /// The device (or call) to monitor.
    pub struct MonitorObject {
        device_object: opt DeviceId = "deviceObject",
        call_object: opt ConnectionId = "callObject",
    }
}

impl MonitorObject {
    pub fn device(device: DeviceId) -> MonitorObject {
        MonitorObject {
            device_object: Some(device),
            call_object: None,
            extra: Default::default(),
        }
    }
}

csta_struct! {
    pub struct MonitorStartResponse {
        monitor_cross_ref_id: req String = "monitorCrossRefID",
        actual_monitor_filter: opt RawXml = "actualMonitorFilter",
        /// Snom (ed5) tells whether calls already in progress will be reported.
        monitor_existing_calls: opt bool = "monitorExistingCalls",
    }
}

csta_struct! {
    pub struct MonitorStop {
        monitor_cross_ref_id: req String = "monitorCrossRefID",
    }
}

csta_struct! {
    pub struct MonitorStopResponse {}
}

csta_struct! {
    /// Asks for the calls a device is in, with its state in each.
    pub struct SnapshotDevice {
        snapshot_object: req DeviceId = "snapshotObject",
    }
}

csta_struct! {
    pub struct SnapshotDeviceResponse {
        #[serde(flatten)]
        cross_ref_id_or_snapshot_data: req SnapshotResult = "crossRefIDorSnapshotData",
    }
}

csta_struct! {
    /// Either the data itself or a cross reference for snapshot events that follow.
    pub struct SnapshotResult {
        service_cross_ref_id: opt String = "serviceCrossRefID",
        snapshot_data: opt SnapshotData = "snapshotData",
    }
}

csta_struct! {
    pub struct SnapshotData {
        calls: list SnapshotCall = "snapshotDeviceResponseInfo",
    }
}

csta_struct! {
    /// One call of the device.
    pub struct SnapshotCall {
        connection_identifier: req ConnectionId = "connectionIdentifier",
        /// The device at this end of the call, when the switch names it apart from the
        /// connection (plain or as `<deviceIdentifier>`).
        endpoint_device: opt EventDevice = "endpointDevice",
        local_call_state: opt LocalCallState = "localCallState",
    }
}

csta_struct! {
    pub struct LocalCallState {
        compound_call_state: opt CompoundCallState = "compoundCallState",
        simple_call_state: opt String = "simpleCallState",
    }
}

csta_struct! {
    pub struct CompoundCallState {
        local_connection_states: list LocalConnectionState = "localConnectionState",
    }
}

impl SnapshotDeviceResponse {
    /// The calls listed, empty when the switch answered with a cross reference.
    pub fn calls(&self) -> &[SnapshotCall] {
        self.cross_ref_id_or_snapshot_data
            .snapshot_data
            .as_ref()
            .map_or(&[], |data| data.calls.as_slice())
    }
}

impl SnapshotCall {
    /// The device's own state in this call (the first compound state).
    pub fn state(&self) -> Option<&LocalConnectionState> {
        self.local_call_state
            .as_ref()?
            .compound_call_state
            .as_ref()?
            .local_connection_states
            .first()
    }
}
