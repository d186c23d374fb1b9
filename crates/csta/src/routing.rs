//! Routing services: the switch asks the application where a call should go, as a
//! contact centre's router answers. The application registers as the router of a
//! routing device (a VDN, a route point), then each call there starts a dialogue, named by
//! `routeingCrossRefID` (the schema's British spelling; `routingCrossRefID` is read too):
//!
//! ```text
//! app:    <RouteRegister><routeingDevice>5000</routeingDevice></RouteRegister>
//! switch: <RouteRegisterResponse><routeRegisterReqID>7</routeRegisterReqID></RouteRegisterResponse>
//! switch: <RouteRequest><routeRegisterReqID>7</routeRegisterReqID><routeingCrossRefID>12</routeingCrossRefID>
//!           <currentRoute><deviceIdentifier>5000</deviceIdentifier></currentRoute>
//!           <routedCall><callID>88</callID><deviceID>5000</deviceID></routedCall>…</RouteRequest>
//! app:    <RouteSelect>…<routeingCrossRefID>12</routeingCrossRefID><routeSelected>201</routeSelected></RouteSelect>
//! switch: <RouteUsed>…<routeUsed><deviceIdentifier>201</deviceIdentifier></routeUsed></RouteUsed>
//! either: <RouteEnd>…<routeingCrossRefID>12</routeingCrossRefID></RouteEnd>
//! ```
//! Each is a request with its own invoke id; none but `RouteRegister` has a response.

use crate::call_linkage::CallLinkageData;
use crate::device::{ConnectionId, DeviceId, EventDevice};
use crate::error_code::CstaErrorCode;
use crate::xml::RawXml;

csta_struct! {
    /// Makes the application the router of `routeing_device` (all devices when absent).
    pub struct RouteRegister {
        routeing_device: opt DeviceId = "routeingDevice" | "routingDevice",
    }
}

csta_struct! {
    pub struct RouteRegisterResponse {
        /// Names the registration in the routing dialogues that follow.
        route_register_req_id: req String = "routeRegisterReqID",
    }
}

csta_struct! {
    /// A call reached a routing device: the switch asks where it should go.
    pub struct RouteRequest {
        route_register_req_id: opt String = "routeRegisterReqID" | "crossRefIdentifier",
        routeing_cross_ref_id: req String = "routeingCrossRefID" | "routingCrossRefID",
        current_route: req EventDevice = "currentRoute",
        calling_device: opt EventDevice = "callingDevice",
        routed_call: opt ConnectionId = "routedCall",
        routed_sel_algorithm: opt String = "routedSelAlgorithm",
        priority: opt bool = "priority",
        /// Seconds the switch waits for a `RouteSelect`.
        reply_timeout: opt u32 = "replyTimeout",
        correlator_data: opt String = "correlatorData",
        /// Boxed: large and rarely sent (keeps every message small).
        call_linkage_data: opt Box<CallLinkageData> = "callLinkageData",
    }
}

csta_struct! {
    /// The application's answer to a `RouteRequest`: send the call to `route_selected`.
    pub struct RouteSelect {
        route_register_req_id: opt String = "routeRegisterReqID" | "crossRefIdentifier",
        routeing_cross_ref_id: req String = "routeingCrossRefID" | "routingCrossRefID",
        route_selected: req DeviceId = "routeSelected",
        remain_retry: opt RawXml = "remainRetry",
        /// Asks for a `RouteUsed` once the switch has routed the call.
        route_used_req: opt bool = "routeUsedReq",
        correlator_data: opt String = "correlatorData",
    }
}

csta_struct! {
    /// Where the switch finally sent the call.
    pub struct RouteUsed {
        route_register_req_id: opt String = "routeRegisterReqID" | "crossRefIdentifier",
        routeing_cross_ref_id: req String = "routeingCrossRefID" | "routingCrossRefID",
        route_used: req EventDevice = "routeUsed",
        calling_device: opt EventDevice = "callingDevice",
        /// Whether the route leaves the switch's domain.
        domain: opt bool = "domain",
        /// Boxed: large and rarely sent (keeps every message small).
        call_linkage_data: opt Box<CallLinkageData> = "callLinkageData",
    }
}

csta_struct! {
    /// Ends a routing dialogue, from either side; `error_value` says why, if it failed.
    pub struct RouteEnd {
        route_register_req_id: opt String = "routeRegisterReqID" | "crossRefIdentifier",
        routeing_cross_ref_id: req String = "routeingCrossRefID" | "routingCrossRefID",
        error_value: opt CstaErrorCode = "errorValue",
    }
}
