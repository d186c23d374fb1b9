//! Logical device features: do-not-disturb and call forwarding.
//!
//! ```text
//! <SetDoNotDisturb><device>201</device><doNotDisturbOn>true</doNotDisturbOn></SetDoNotDisturb>
//! <SetForwarding><device>201</device><forwardingType>forwardImmediate</forwardingType>
//!   <activateForward>true</activateForward><forwardDN>202</forwardDN></SetForwarding>
//! <GetForwarding><device>201</device></GetForwarding>
//! <GetForwardingResponse><forwardingList>
//!   <forwardListItem><forwardingType>forwardNoAns</forwardingType><forwardStatus>true</forwardStatus>
//!     <forwardDN>202</forwardDN><ringCount>4</ringCount></forwardListItem>
//! </forwardingList></GetForwardingResponse>
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

csta_struct! {
    /// Asks which forwardings a device has.
    pub struct GetForwarding {
        device: req DeviceId = "device",
    }
}

csta_struct! {
    pub struct GetForwardingResponse {
        forwarding_list: opt ForwardingList = "forwardingList",
        /// Rings before no-answer forwarding, when the switch has one value for the device.
        ring_count: opt u32 = "ringCount",
    }
}

csta_struct! {
    pub struct ForwardingList {
        items: list ForwardListItem = "forwardListItem",
    }
}

csta_struct! {
    /// One kind of forwarding of the device: whether it is on, and where it goes.
    pub struct ForwardListItem {
        forwarding_type: opt ForwardingType = "forwardingType",
        forward_status: req bool = "forwardStatus",
        forward_dn: opt DeviceId = "forwardDN",
        ring_count: opt u32 = "ringCount",
    }
}

impl GetForwardingResponse {
    /// The forwardings listed (empty when the switch sent no list).
    pub fn forwardings(&self) -> &[ForwardListItem] {
        self.forwarding_list
            .as_ref()
            .map_or(&[], |list| list.items.as_slice())
    }
}
