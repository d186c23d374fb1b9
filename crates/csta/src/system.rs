//! System status services: the OpenScape-style session and the uaCSTA handshake.
//!
//! ```text
//! switch: <SystemStatus><systemStatus>normal</systemStatus></SystemStatus>      (also the heartbeat)
//! client: <SystemStatusResponse/>                                             (same invoke id)
//! client: <SystemRegister><requestTypes><systemStatus>true</systemStatus></requestTypes></SystemRegister>
//! switch: <SystemRegisterResponse><sysStatRegisterID>1</sysStatRegisterID></SystemRegisterResponse>
//! uaCSTA: <RequestSystemStatus/> → <RequestSystemStatusResponse><systemStatus>normal</systemStatus>…
//! ```

use crate::values::SystemStatusValue;

csta_struct! {
    /// The switch's state; answer each one at once with [`SystemStatusResponse`].
    pub struct SystemStatus {
        system_status: req SystemStatusValue = "systemStatus",
    }
}

csta_struct! {
    pub struct SystemStatusResponse {}
}

csta_struct! {
    /// Asks for `SystemStatus` messages.
    pub struct SystemRegister {
        request_types: opt RequestTypes = "requestTypes",
    }
}

csta_struct! {
    /// Which system messages to receive.
    pub struct RequestTypes {
        system_status: opt bool = "systemStatus",
    }
}

csta_struct! {
    pub struct SystemRegisterResponse {
        sys_stat_register_id: req String = "sysStatRegisterID",
    }
}

csta_struct! {
    /// Asks a switch or phone for its state.
    pub struct RequestSystemStatus {}
}

csta_struct! {
    pub struct RequestSystemStatusResponse {
        system_status: req SystemStatusValue = "systemStatus",
    }
}
