//! Logical device features: do-not-disturb and call forwarding.
//!
//! ```text
//! <SetDoNotDisturb><device>201</device><doNotDisturbOn>true</doNotDisturbOn></SetDoNotDisturb>
//! <SetForwarding><device>201</device><forwardingType>forwardImmediate</forwardingType>
//!   <activateForward>true</activateForward><forwardDN>202</forwardDN></SetForwarding>
//! ```

use crate::device::DeviceId;
use crate::values::ForwardingType;

csta_struct! {
    pub struct SetDoNotDisturb {
        device: req DeviceId = "device",
        do_not_disturb_on: req bool = "doNotDisturbOn",
    }
}

csta_struct! {
    pub struct SetDoNotDisturbResponse {}
}

csta_struct! {
    /// Switches a forwarding on or off. The schema's `activateForward` is written;
    /// `forwardStatus` (as in the event) is read too.
    pub struct SetForwarding {
        device: req DeviceId = "device",
        forwarding_type: opt ForwardingType = "forwardingType",
        activate_forward: req bool = "activateForward" | "forwardStatus",
        forward_dn: opt DeviceId = "forwardDN",
    }
}

csta_struct! {
    pub struct SetForwardingResponse {}
}
