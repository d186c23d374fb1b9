//! Enumerated values carried as element text. Each keeps unknown values in `Other`, so
//! a switch's private additions never fail a decode.

string_enum! {
    /// A device's state in one call (`localConnectionInfo`, snapshot states).
    pub enum LocalConnectionState {
        Null = "null",
        Initiated = "initiated",
        Alerting = "alerting",
        Connected = "connected",
        Hold = "hold",
        Queued = "queued",
        Fail = "fail",
    }
}

string_enum! {
    /// Why an event happened (`cause`). The most common of ECMA-269's list.
    pub enum EventCause {
        ActiveParticipation = "activeParticipation",
        AlertTimeOut = "alertTimeOut",
        Alternate = "alternate",
        Blocked = "blocked",
        Busy = "busy",
        CallBack = "callBack",
        CallCancelled = "callCancelled",
        CallForward = "callForward",
        CallForwardBusy = "callForwardBusy",
        CallForwardImmediate = "callForwardImmediate",
        CallForwardNoAnswer = "callForwardNoAnswer",
        CallNotAnswered = "callNotAnswered",
        CallPickup = "callPickup",
        CampOn = "campOn",
        Conference = "conference",
        Consultation = "consultation",
        DestNotObtainable = "destNotObtainable",
        Distributed = "distributed",
        DoNotDisturb = "doNotDisturb",
        EnteringDistribution = "enteringDistribution",
        InvalidNumberFormat = "invalidNumberFormat",
        KeyOperation = "keyOperation",
        MakeCall = "makeCall",
        NetworkCongestion = "networkCongestion",
        NetworkNotObtainable = "networkNotObtainable",
        NetworkSignal = "networkSignal",
        NewCall = "newCall",
        NoAvailableAgents = "noAvailableAgents",
        Normal = "normal",
        NormalClearing = "normalClearing",
        NumberUnallocated = "numberUnallocated",
        Overflow = "overflow",
        Park = "park",
        Recall = "recall",
        Redirected = "redirected",
        ResourcesNotAvailable = "resourcesNotAvailable",
        SingleStepConference = "singleStepConference",
        SingleStepTransfer = "singleStepTransfer",
        Timeout = "timeout",
        Transfer = "transfer",
        TrunksBusy = "trunksBusy",
    }
}

string_enum! {
    /// The state a switch reports in `SystemStatus` / `RequestSystemStatusResponse`.
    pub enum SystemStatusValue {
        Normal = "normal",
        Initializing = "initializing",
        Enabled = "enabled",
        Disabled = "disabled",
        PartiallyDisabled = "partiallyDisabled",
        MessagesLost = "messagesLost",
        OverloadImminent = "overloadImminent",
        OverloadReached = "overloadReached",
        OverloadRelieved = "overloadRelieved",
    }
}

string_enum! {
    /// Which calls a forwarding applies to (`forwardingType`).
    pub enum ForwardingType {
        Immediate = "forwardImmediate",
        Busy = "forwardBusy",
        NoAnswer = "forwardNoAns",
        DoNotDisturb = "forwardDND",
        BusyInternal = "forwardBusyInt",
        BusyExternal = "forwardBusyExt",
        NoAnswerInternal = "forwardNoAnsInt",
        NoAnswerExternal = "forwardNoAnsExt",
        ImmediateInternal = "forwardImmInt",
        ImmediateExternal = "forwardImmExt",
        DoNotDisturbInternal = "forwardDNDInt",
        DoNotDisturbExternal = "forwardDNDExt",
    }
}

string_enum! {
    /// Whether `MakeCall` rings the calling device first (`prompt`) or goes off-hook at once.
    pub enum AutoOriginate {
        Prompt = "prompt",
        DoNotPrompt = "doNotPrompt",
    }
}

string_enum! {
    /// What `MonitorStart` watches.
    pub enum MonitorType {
        Call = "call",
        Device = "device",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_round_trip_and_unknown_are_kept() {
        for state in LocalConnectionState::KNOWN {
            assert_eq!(&LocalConnectionState::from_wire(state.as_str()), state);
        }
        assert_eq!(ForwardingType::Immediate.as_str(), "forwardImmediate");
        assert_eq!(
            EventCause::from_wire("vendorCause"),
            EventCause::Other("vendorCause".into())
        );
        assert_eq!(
            SystemStatusValue::OverloadImminent.to_string(),
            "overloadImminent"
        );
        assert_eq!(
            serde_json::to_value(LocalConnectionState::Hold).unwrap(),
            serde_json::json!("hold")
        );
    }
}
