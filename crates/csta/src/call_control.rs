//! Call control requests and their responses: make, answer, clear, hold, transfer, …
//!
//! Requests name devices as plain text and calls as connections:
//! ```text
//! <MakeCall><callingDevice>201</callingDevice><calledDirectoryNumber>202</calledDirectoryNumber></MakeCall>
//! <MakeCallResponse><callingDevice><callID>12</callID><deviceID>201</deviceID></callingDevice></MakeCallResponse>
//! <ClearConnection><connectionToBeCleared><callID>12</callID><deviceID>201</deviceID></connectionToBeCleared></ClearConnection>
//! ```
//! Failures come back as [`CstaErrorCode`](crate::CstaErrorCode) under the request's invoke id.

use crate::device::{ConnectionId, DeviceId};
use crate::values::AutoOriginate;

csta_struct! {
    /// Calls `called_directory_number` from `calling_device`.
    pub struct MakeCall {
        calling_device: req DeviceId = "callingDevice",
        called_directory_number: req DeviceId = "calledDirectoryNumber",
        auto_originate: opt AutoOriginate = "autoOriginate",
    }
}

csta_struct! {
    /// The new call's connection at the calling device.
    pub struct MakeCallResponse {
        calling_device: req ConnectionId = "callingDevice",
    }
}

csta_struct! {
    pub struct AnswerCall {
        call_to_be_answered: req ConnectionId = "callToBeAnswered",
    }
}

csta_struct! {
    pub struct AnswerCallResponse {}
}

csta_struct! {
    /// Drops one device from a call.
    pub struct ClearConnection {
        connection_to_be_cleared: req ConnectionId = "connectionToBeCleared",
        reason: opt String = "reason",
    }
}

csta_struct! {
    pub struct ClearConnectionResponse {}
}

csta_struct! {
    /// Ends the whole call for everyone.
    pub struct ClearCall {
        call_to_be_cleared: req ConnectionId = "callToBeCleared",
    }
}

csta_struct! {
    pub struct ClearCallResponse {}
}

csta_struct! {
    pub struct HoldCall {
        call_to_be_held: req ConnectionId = "callToBeHeld",
    }
}

csta_struct! {
    pub struct HoldCallResponse {}
}

csta_struct! {
    pub struct RetrieveCall {
        call_to_be_retrieved: req ConnectionId = "callToBeRetrieved",
    }
}

csta_struct! {
    pub struct RetrieveCallResponse {}
}

csta_struct! {
    /// Holds `existing_call` and calls `consulted_device`.
    pub struct ConsultationCall {
        existing_call: req ConnectionId = "existingCall",
        consulted_device: req DeviceId = "consultedDevice",
    }
}

csta_struct! {
    pub struct ConsultationCallResponse {
        initiated_call: req ConnectionId = "initiatedCall",
    }
}

csta_struct! {
    /// Joins the held and the active call and drops the transferring device.
    pub struct TransferCall {
        held_call: req ConnectionId = "heldCall",
        active_call: req ConnectionId = "activeCall",
    }
}

csta_struct! {
    pub struct TransferCallResponse {
        transferred_call: req ConnectionId = "transferredCall",
    }
}

csta_struct! {
    /// Joins the held and the active call into a conference.
    pub struct ConferenceCall {
        held_call: req ConnectionId = "heldCall",
        active_call: req ConnectionId = "activeCall",
    }
}

csta_struct! {
    pub struct ConferenceCallResponse {
        conferenced_call: req ConnectionId = "conferencedCall",
    }
}

csta_struct! {
    /// Blind transfer of `active_call` to `transferred_to`.
    pub struct SingleStepTransferCall {
        active_call: req ConnectionId = "activeCall",
        transferred_to: req DeviceId = "transferredTo",
    }
}

csta_struct! {
    pub struct SingleStepTransferCallResponse {
        transferred_call: req ConnectionId = "transferredCall",
    }
}

csta_struct! {
    /// Sends a ringing call elsewhere.
    pub struct DeflectCall {
        call_to_be_diverted: req ConnectionId = "callToBeDiverted",
        new_destination: req DeviceId = "newDestination",
    }
}

csta_struct! {
    pub struct DeflectCallResponse {}
}

csta_struct! {
    /// Sends DTMF digits on a connection.
    pub struct GenerateDigits {
        connection_to_send_digits: req ConnectionId = "connectionToSendDigits",
        characters_to_send: req String = "charactersToSend",
    }
}

csta_struct! {
    pub struct GenerateDigitsResponse {}
}
