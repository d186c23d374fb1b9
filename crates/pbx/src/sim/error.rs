//! [`SimError`]: why the switch refused a request or a manual action. The same value
//! answers a CSTA client (as `CSTAErrorCode`, category and value per ECMA-269/323) and a
//! caller of the control API.

use csta::{CstaErrorCode, ErrorCategory};

/// A refused request; [`SimError::csta`] is the `CSTAErrorCode` a switch sends for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum SimError {
    #[error("the device is not one of the switch's devices")]
    InvalidDevice,
    #[error("the calling device is not one of the switch's devices")]
    InvalidCallingDevice,
    #[error("no such call")]
    InvalidCall,
    #[error("the device is not in that call")]
    InvalidConnection,
    #[error("the number cannot be dialled")]
    InvalidDestination,
    #[error("no such monitor on this link")]
    InvalidCrossRef,
    #[error("the forwarding destination is missing or invalid")]
    InvalidForwardingDestination,
    #[error("the feature is not supported")]
    InvalidFeature,
    #[error("a value is out of range")]
    ValueOutOfRange,
    #[error("the request does not apply to that object")]
    RequestIncompatibleWithObject,
    #[error("the connection is in the wrong state for the request")]
    InvalidObjectState,
    #[error("the device has no active call")]
    NoActiveCall,
    #[error("the device has no held call")]
    NoHeldCall,
    #[error("the device has no ringing call")]
    NoCallToAnswer,
    #[error("the device has no connection to clear")]
    NoConnectionToClear,
    #[error("the switch holds as many monitors as it can")]
    MonitorLimit,
}

impl SimError {
    /// The error's category and value as CSTA writes them.
    pub fn category_and_value(self) -> (ErrorCategory, &'static str) {
        use ErrorCategory::{Operation, StateIncompatibility, SystemResourceAvailability};
        match self {
            SimError::InvalidDevice => (Operation, "invalidDeviceID"),
            SimError::InvalidCallingDevice => (Operation, "invalidCallingDevice"),
            SimError::InvalidCall => (Operation, "invalidCallID"),
            SimError::InvalidConnection => (Operation, "invalidConnectionID"),
            SimError::InvalidDestination => (Operation, "invalidDestination"),
            SimError::InvalidCrossRef => (Operation, "invalidCrossRefID"),
            SimError::InvalidForwardingDestination => (Operation, "invalidForwardingDestination"),
            SimError::InvalidFeature => (Operation, "invalidFeature"),
            SimError::ValueOutOfRange => (Operation, "valueOutOfRange"),
            SimError::RequestIncompatibleWithObject => (Operation, "requestIncompatibleWithObject"),
            SimError::InvalidObjectState => (StateIncompatibility, "invalidObjectState"),
            SimError::NoActiveCall => (StateIncompatibility, "noActiveCall"),
            SimError::NoHeldCall => (StateIncompatibility, "noHeldCall"),
            SimError::NoCallToAnswer => (StateIncompatibility, "noCallToAnswer"),
            SimError::NoConnectionToClear => (StateIncompatibility, "noConnectionToClear"),
            SimError::MonitorLimit => (SystemResourceAvailability, "overallMonitorLimitExceeded"),
        }
    }

    /// The `CSTAErrorCode` document for this error.
    pub fn csta(self) -> CstaErrorCode {
        let (category, value) = self.category_and_value();
        CstaErrorCode::new(category, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_to_csta_categories() {
        let error = SimError::NoCallToAnswer.csta();
        assert_eq!(error.category, ErrorCategory::StateIncompatibility);
        assert_eq!(error.value, "noCallToAnswer");
        assert_eq!(
            SimError::MonitorLimit.csta().category.as_str(),
            "systemResourceAvailibility"
        );
    }
}
