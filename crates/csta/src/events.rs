//! Unsolicited events (invoke id 9999). Each starts with the `monitorCrossRefID` of the
//! monitor that produced it and may end with the common extras: `localConnectionInfo`,
//! `cause`, `networkCallingDevice`, `networkCalledDevice`, `extensions`.
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

use crate::device::{ConnectionId, DeviceId, EventDevice};
use crate::values::{EventCause, ForwardingType, LocalConnectionState};

/// An event struct: `monitorCrossRefID`, the given fields, then the common extras.
macro_rules! csta_event {
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
            }
        }
    };
}

csta_event! {
    /// A device went off-hook to make a call.
    pub struct ServiceInitiatedEvent {
        initiated_connection: req ConnectionId = "initiatedConnection",
        initiating_device: opt EventDevice = "initiatingDevice",
    }
}

csta_event! {
    /// The call leaves the calling device towards the called number.
    pub struct OriginatedEvent {
        originated_connection: req ConnectionId = "originatedConnection",
        calling_device: opt EventDevice = "callingDevice",
        called_device: opt EventDevice = "calledDevice",
    }
}

csta_event! {
    /// A device is ringing.
    pub struct DeliveredEvent {
        connection: req ConnectionId = "connection",
        alerting_device: opt EventDevice = "alertingDevice",
        calling_device: opt EventDevice = "callingDevice",
        called_device: opt EventDevice = "calledDevice",
        last_redirection_device: opt EventDevice = "lastRedirectionDevice",
    }
}

csta_event! {
    /// A call was answered.
    pub struct EstablishedEvent {
        established_connection: req ConnectionId = "establishedConnection",
        answering_device: opt EventDevice = "answeringDevice",
        calling_device: opt EventDevice = "callingDevice",
        called_device: opt EventDevice = "calledDevice",
        last_redirection_device: opt EventDevice = "lastRedirectionDevice",
    }
}

csta_event! {
    pub struct HeldEvent {
        held_connection: req ConnectionId = "heldConnection",
        holding_device: opt EventDevice = "holdingDevice",
    }
}

csta_event! {
    pub struct RetrievedEvent {
        retrieved_connection: req ConnectionId = "retrievedConnection",
        retrieving_device: opt EventDevice = "retrievingDevice",
    }
}

csta_event! {
    /// A device left a call (hang-up).
    pub struct ConnectionClearedEvent {
        dropped_connection: req ConnectionId = "droppedConnection",
        releasing_device: opt EventDevice = "releasingDevice",
    }
}

csta_event! {
    /// A call could not be completed (busy, unreachable, …: see `cause`).
    pub struct FailedEvent {
        failed_connection: req ConnectionId = "failedConnection",
        failing_device: opt EventDevice = "failingDevice",
        calling_device: opt EventDevice = "callingDevice",
        called_device: opt EventDevice = "calledDevice",
    }
}

csta_event! {
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

csta_event! {
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

csta_event! {
    pub struct ConferencedEvent {
        primary_old_call: req ConnectionId = "primaryOldCall",
        secondary_old_call: opt ConnectionId = "secondaryOldCall",
        conferencing_device: opt EventDevice = "conferencingDevice",
        added_party: opt EventDevice = "addedParty",
        conference_connections: opt ConnectionList = "conferenceConnections",
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

csta_event! {
    pub struct DoNotDisturbEvent {
        device: req EventDevice = "device",
        do_not_disturb_on: req bool = "doNotDisturbOn",
    }
}

csta_event! {
    pub struct ForwardingEvent {
        device: req EventDevice = "device",
        forwarding_type: opt ForwardingType = "forwardingType",
        forward_status: req bool = "forwardStatus",
        forward_to: opt DeviceId = "forwardTo",
    }
}

csta_event! {
    pub struct AgentLoggedOnEvent {
        agent_device: req EventDevice = "agentDevice",
        agent_id: opt String = "agentID",
        acd_group: opt DeviceId = "acdGroup",
    }
}

csta_event! {
    pub struct AgentLoggedOffEvent {
        agent_device: req EventDevice = "agentDevice",
        agent_id: opt String = "agentID",
        acd_group: opt DeviceId = "acdGroup",
    }
}

csta_event! {
    pub struct AgentReadyEvent {
        agent_device: req EventDevice = "agentDevice",
        agent_id: opt String = "agentID",
        acd_group: opt DeviceId = "acdGroup",
    }
}

csta_event! {
    pub struct AgentNotReadyEvent {
        agent_device: req EventDevice = "agentDevice",
        agent_id: opt String = "agentID",
        acd_group: opt DeviceId = "acdGroup",
    }
}
