//! Unsolicited events (invoke id 9999). Each starts with the `monitorCrossRefID` of the
//! monitor that produced it and may end with the common extras: `localConnectionInfo`,
//! `cause`, `networkCallingDevice`, `networkCalledDevice`, and on call events
//! `callLinkageData` (see [`call_linkage`](crate::call_linkage)), then `extensions`.
//!
//! ```text
//! <DeliveredEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">
//!   <monitorCrossRefID>43</monitorCrossRefID>
//!   <connection><callID>12</callID><deviceID>202</deviceID></connection>
//!   <alertingDevice><deviceIdentifier>202</deviceIdentifier></alertingDevice>
//!   <callingDevice><deviceIdentifier>N&lt;302118840100&gt;;noa=nk</deviceIdentifier></callingDevice>
//!   <calledDevice><deviceIdentifier>202</deviceIdentifier></calledDevice>
//!   <lastRedirectionDevice><notRequired/></lastRedirectionDevice>
//!   <localConnectionInfo>alerting</localConnectionInfo>
//!   <cause>newCall</cause>
//! </DeliveredEvent>
//! ```
//!
//! A device's own feature events (do-not-disturb, forwarding, agent state) may come
//! without `monitorCrossRefID`: BroadWorks-style feature-event bodies in SIP are sent for
//! a subscription, not a monitor. There it is an `Option`.

use crate::call_linkage::CallLinkageData;
use crate::device::{ConnectionId, DeviceId, EventDevice};
use crate::values::{EventCause, ForwardingType, LocalConnectionState};

/// A call event struct: `monitorCrossRefID`, the given fields, then the common extras
/// and `callLinkageData`.
macro_rules! call_event {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $($fields:tt)* }
    ) => {
        csta_struct! {
            $(#[$meta])*
            pub struct $name {
                monitor_cross_ref_id: req String = "monitorCrossRefID",
                $($fields)*
                local_connection_info: opt LocalConnectionState = "localConnectionInfo",
                cause: opt EventCause = "cause",
                network_calling_device: opt EventDevice = "networkCallingDevice",
                network_called_device: opt EventDevice = "networkCalledDevice",
                /// Boxed: large and rarely sent (keeps every message small).
                call_linkage_data: opt Box<CallLinkageData> = "callLinkageData",
            }
        }
    };
}

/// A device feature event struct: an optional `monitorCrossRefID` (see the module docs),
/// the given fields, then the common extras.
macro_rules! feature_event {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $($fields:tt)* }
    ) => {
        csta_struct! {
            $(#[$meta])*
            pub struct $name {
                monitor_cross_ref_id: opt String = "monitorCrossRefID",
                $($fields)*
                local_connection_info: opt LocalConnectionState = "localConnectionInfo",
                cause: opt EventCause = "cause",
                network_calling_device: opt EventDevice = "networkCallingDevice",
                network_called_device: opt EventDevice = "networkCalledDevice",
            }
        }
    };
}

call_event! {
    /// A device went off-hook to make a call.
    pub struct ServiceInitiatedEvent {
        initiated_connection: req ConnectionId = "initiatedConnection",
        initiating_device: opt EventDevice = "initiatingDevice",
    }
}

call_event! {
    /// The call leaves the calling device towards the called number.
    pub struct OriginatedEvent {
        originated_connection: req ConnectionId = "originatedConnection",
        calling_device: opt EventDevice = "callingDevice",
        called_device: opt EventDevice = "calledDevice",
    }
}

call_event! {
    /// A device is ringing.
    pub struct DeliveredEvent {
        connection: req ConnectionId = "connection",
        alerting_device: opt EventDevice = "alertingDevice",
        calling_device: opt EventDevice = "callingDevice",
        called_device: opt EventDevice = "calledDevice",
        last_redirection_device: opt EventDevice = "lastRedirectionDevice",
    }
}

call_event! {
    /// A call was answered.
    pub struct EstablishedEvent {
        established_connection: req ConnectionId = "establishedConnection",
        answering_device: opt EventDevice = "answeringDevice",
        calling_device: opt EventDevice = "callingDevice",
        called_device: opt EventDevice = "calledDevice",
        last_redirection_device: opt EventDevice = "lastRedirectionDevice",
    }
}

call_event! {
    pub struct HeldEvent {
        held_connection: req ConnectionId = "heldConnection",
        holding_device: opt EventDevice = "holdingDevice",
    }
}

call_event! {
    pub struct RetrievedEvent {
        retrieved_connection: req ConnectionId = "retrievedConnection",
        retrieving_device: opt EventDevice = "retrievingDevice",
    }
}

call_event! {
    /// A device left a call (hang-up).
    pub struct ConnectionClearedEvent {
        dropped_connection: req ConnectionId = "droppedConnection",
        releasing_device: opt EventDevice = "releasingDevice",
    }
}

call_event! {
    /// A call could not be completed (busy, unreachable, …: see `cause`).
    pub struct FailedEvent {
        failed_connection: req ConnectionId = "failedConnection",
        failing_device: opt EventDevice = "failingDevice",
        calling_device: opt EventDevice = "callingDevice",
        called_device: opt EventDevice = "calledDevice",
    }
}

call_event! {
    /// A call moved on to another device (forwarding, deflection, pickup).
    pub struct DivertedEvent {
        connection: req ConnectionId = "connection",
        diverting_device: opt EventDevice = "divertingDevice",
        new_destination: opt EventDevice = "newDestination",
        calling_device: opt EventDevice = "callingDevice",
        called_device: opt EventDevice = "calledDevice",
        last_redirection_device: opt EventDevice = "lastRedirectionDevice",
    }
}

call_event! {
    /// A transfer completed. Written `TransferedEvent` (the schema's spelling);
    /// `TransferredEvent` is read too.
    pub struct TransferredEvent {
        primary_old_call: req ConnectionId = "primaryOldCall",
        secondary_old_call: opt ConnectionId = "secondaryOldCall",
        transferring_device: opt EventDevice = "transferringDevice",
        transferred_to_device: opt EventDevice = "transferredToDevice",
        transferred_connections: opt ConnectionList = "transferredConnections",
    }
}

call_event! {
    pub struct ConferencedEvent {
        primary_old_call: req ConnectionId = "primaryOldCall",
        secondary_old_call: opt ConnectionId = "secondaryOldCall",
        conferencing_device: opt EventDevice = "conferencingDevice",
        added_party: opt EventDevice = "addedParty",
        conference_connections: opt ConnectionList = "conferenceConnections",
    }
}

call_event! {
    /// A call waits in a queue (an ACD group, a hunt group) for a free device.
    pub struct QueuedEvent {
        queued_connection: req ConnectionId = "queuedConnection",
        queue: opt EventDevice = "queue",
        calling_device: opt EventDevice = "callingDevice",
        called_device: opt EventDevice = "calledDevice",
        last_redirection_device: opt EventDevice = "lastRedirectionDevice",
        /// Calls now in the queue, this one included.
        number_queued: opt u32 = "numberQueued",
        /// Calls ahead of this one.
        calls_in_front: opt u32 = "callsInFront",
    }
}

call_event! {
    /// DTMF digits were sent on a connection (after `GenerateDigits` or from the keypad).
    pub struct DigitsGeneratedEvent {
        connection: req ConnectionId = "connection",
        digit_generated_list: opt String = "digitGeneratedList",
        digit_duration_list: opt String = "digitDurationList",
        pause_duration_list: opt String = "pauseDurationList",
    }
}

call_event! {
    /// The call left the switch through a trunk or gateway (`networkInterfaceUsed`):
    /// from here on, the switch learns of the far end only what the network tells it.
    pub struct NetworkReachedEvent {
        outbound_connection: req ConnectionId = "outboundConnection",
        network_interface_used: opt EventDevice = "networkInterfaceUsed",
        calling_device: opt EventDevice = "callingDevice",
        called_device: opt EventDevice = "calledDevice",
        last_redirection_device: opt EventDevice = "lastRedirectionDevice",
    }
}

csta_struct! {
    /// How connections were renamed by a transfer or conference.
    pub struct ConnectionList {
        items: list ConnectionListItem = "connectionListItem",
    }
}

csta_struct! {
    pub struct ConnectionListItem {
        new_connection: opt ConnectionId = "newConnection",
        old_connection: opt ConnectionId = "oldConnection",
        endpoint: opt DeviceId = "endpoint",
    }
}

feature_event! {
    pub struct DoNotDisturbEvent {
        device: req EventDevice = "device",
        do_not_disturb_on: req bool = "doNotDisturbOn",
    }
}

feature_event! {
    pub struct ForwardingEvent {
        device: req EventDevice = "device",
        forwarding_type: opt ForwardingType = "forwardingType",
        forward_status: req bool = "forwardStatus",
        forward_to: opt DeviceId = "forwardTo",
        /// Rings before a no-answer forwarding applies.
        ring_count: opt u32 = "ringCount",
    }
}

feature_event! {
    /// An agent logged on to an ACD group at a device.
    pub struct AgentLoggedOnEvent {
        agent_device: req EventDevice = "agentDevice",
        agent_id: opt String = "agentID",
        acd_group: opt DeviceId = "acdGroup",
    }
}

feature_event! {
    pub struct AgentLoggedOffEvent {
        agent_device: req EventDevice = "agentDevice",
        agent_id: opt String = "agentID",
        acd_group: opt DeviceId = "acdGroup",
    }
}

feature_event! {
    /// The agent takes ACD calls.
    pub struct AgentReadyEvent {
        agent_device: req EventDevice = "agentDevice",
        agent_id: opt String = "agentID",
        acd_group: opt DeviceId = "acdGroup",
    }
}

feature_event! {
    /// The agent does not take ACD calls (a break; see `cause` or private data for why).
    pub struct AgentNotReadyEvent {
        agent_device: req EventDevice = "agentDevice",
        agent_id: opt String = "agentID",
        acd_group: opt DeviceId = "acdGroup",
    }
}

feature_event! {
    /// The agent wraps up after a call (after-call work) and takes no ACD calls meanwhile.
    pub struct AgentWorkingAfterCallEvent {
        agent_device: req EventDevice = "agentDevice",
        agent_id: opt String = "agentID",
        acd_group: opt DeviceId = "acdGroup",
    }
}

feature_event! {
    /// The agent is on a call.
    pub struct AgentBusyEvent {
        agent_device: req EventDevice = "agentDevice",
        agent_id: opt String = "agentID",
        acd_group: opt DeviceId = "acdGroup",
        /// Whether a state change the agent asked for waits for the call to end.
        pending_flag: opt bool = "pendingFlag",
    }
}
