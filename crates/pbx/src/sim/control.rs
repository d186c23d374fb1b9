//! Manual user actions — someone lifts a handset, presses a key, a call comes in from the
//! trunk — through [`Simulator`]'s control API. They run the same switch operations as
//! the CSTA requests and produce the same events (with cause `newCall` instead of
//! `makeCall` for dialling). Devices are plain ids; each action picks the device's call
//! the way a phone does (e.g. `answer` takes the ringing call).

use std::fmt;

use csta::{EventCause, ForwardingType, LocalConnectionState, normalize_number};

use super::error::SimError;
use super::simulator::Simulator;
use super::switch::{PartyState, Switch};

/// A call of the simulated switch; its `Display` is the `callID` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Simulator {
    /// The user of `device` dials `number` (internal or external); returns the new call.
    pub fn dial(&self, device: &str, number: &str) -> Result<CallId, SimError> {
        let device = normalize_number(device);
        let mut switch = self.shared.switch();
        switch
            .make_call(device, number, EventCause::NewCall)
            .map(CallId)
    }

    /// The user answers the ringing call (`noCallToAnswer` if none rings).
    pub fn answer(&self, device: &str) -> Result<(), SimError> {
        self.on_call(
            device,
            &[PartyState::Alerting],
            SimError::NoCallToAnswer,
            |switch, call, device| switch.answer(call, device),
        )
    }

    /// The user hangs up: clears the connected call, else a failed one (busy tone), else
    /// rejects the ringing one. Held calls stay.
    pub fn hang_up(&self, device: &str) -> Result<(), SimError> {
        let preference = [
            PartyState::Connected,
            PartyState::Fail,
            PartyState::Initiated,
            PartyState::Alerting,
        ];
        self.on_call(
            device,
            &preference,
            SimError::NoConnectionToClear,
            |switch, call, device| {
                switch.clear_connection(call, device, EventCause::NormalClearing)
            },
        )
    }

    /// The user puts the connected call on hold.
    pub fn hold(&self, device: &str) -> Result<(), SimError> {
        self.on_call(
            device,
            &[PartyState::Connected],
            SimError::NoActiveCall,
            |switch, call, device| switch.hold(call, device, EventCause::Normal),
        )
    }

    /// The user takes the held call back.
    pub fn retrieve(&self, device: &str) -> Result<(), SimError> {
        self.on_call(
            device,
            &[PartyState::Hold],
            SimError::NoHeldCall,
            |switch, call, device| switch.retrieve(call, device),
        )
    }

    /// The user holds the connected call and dials `number`; returns the new call.
    pub fn consult(&self, device: &str, number: &str) -> Result<CallId, SimError> {
        let mut consultation = None;
        self.on_call(
            device,
            &[PartyState::Connected],
            SimError::NoActiveCall,
            |switch, call, device| {
                consultation = Some(switch.consult(call, device, number)?);
                Ok(())
            },
        )?;
        consultation.map(CallId).ok_or(SimError::NoActiveCall)
    }

    /// The user completes a transfer: the held and the connected call are joined and
    /// the user drops out.
    pub fn transfer(&self, device: &str) -> Result<(), SimError> {
        let device = normalize_number(device);
        let mut switch = self.shared.switch();
        let (held, active) = held_and_active(&switch, device)?;
        switch.transfer(held, active, device).map(drop)
    }

    /// The user joins the held and the connected call into a conference.
    pub fn conference(&self, device: &str) -> Result<(), SimError> {
        let device = normalize_number(device);
        let mut switch = self.shared.switch();
        let (held, active) = held_and_active(&switch, device)?;
        switch.conference(held, active, device).map(drop)
    }

    /// The user transfers the connected call to `number` without consulting.
    pub fn single_step_transfer(&self, device: &str, number: &str) -> Result<(), SimError> {
        self.on_call(
            device,
            &[PartyState::Connected],
            SimError::NoActiveCall,
            |switch, call, device| switch.single_step_transfer(call, device, number).map(drop),
        )
    }

    /// The user sends the ringing call on to `number`.
    pub fn deflect(&self, device: &str, number: &str) -> Result<(), SimError> {
        self.on_call(
            device,
            &[PartyState::Alerting],
            SimError::NoCallToAnswer,
            |switch, call, device| switch.deflect(call, device, number),
        )
    }

    pub fn set_do_not_disturb(&self, device: &str, on: bool) -> Result<(), SimError> {
        self.shared
            .switch()
            .set_do_not_disturb(normalize_number(device), on)
    }

    /// Immediate forwarding to `to`, or off with `None`.
    pub fn set_forwarding(&self, device: &str, to: Option<&str>) -> Result<(), SimError> {
        self.shared.switch().set_forwarding(
            normalize_number(device),
            ForwardingType::Immediate,
            to.is_some(),
            to,
        )
    }

    /// A call from the trunk: external `from_number` calls `to_device`. Returns the call
    /// (already gone again if the device was busy or has do-not-disturb on).
    pub fn incoming_external(
        &self,
        from_number: &str,
        to_device: &str,
    ) -> Result<CallId, SimError> {
        self.shared
            .switch()
            .incoming_external(from_number, normalize_number(to_device))
            .map(CallId)
    }

    /// Ends a call for every party (as the CSTA `ClearCall`).
    pub fn clear_call(&self, call: CallId) -> Result<(), SimError> {
        self.shared.switch().clear_call(call.0)
    }

    /// The device's calls with its state in each, oldest first (as `SnapshotDevice`).
    pub fn calls(&self, device: &str) -> Result<Vec<(CallId, LocalConnectionState)>, SimError> {
        let calls = self.shared.switch().snapshot(normalize_number(device))?;
        Ok(calls
            .into_iter()
            .map(|(call, state)| (CallId(call), state.csta()))
            .collect())
    }

    /// The DTMF the device has sent with `GenerateDigits` requests so far, in order (the
    /// last 256 characters); empty for a device that sent none.
    pub fn digits_sent(&self, device: &str) -> String {
        self.shared.switch().digits_sent(normalize_number(device))
    }

    /// Runs `action` on the device's first call in the first of `states` it has one in.
    fn on_call(
        &self,
        device: &str,
        states: &[PartyState],
        none: SimError,
        action: impl FnOnce(&mut Switch, u64, &str) -> Result<(), SimError>,
    ) -> Result<(), SimError> {
        let device = normalize_number(device);
        let mut switch = self.shared.switch();
        if !switch.is_device(device) {
            return Err(SimError::InvalidDevice);
        }
        let call = switch.find_connection(device, states).ok_or(none)?;
        action(&mut switch, call, device)
    }
}

/// The device's held and connected calls, for a transfer or conference.
fn held_and_active(switch: &Switch, device: &str) -> Result<(u64, u64), SimError> {
    if !switch.is_device(device) {
        return Err(SimError::InvalidDevice);
    }
    let held = switch
        .find_connection(device, &[PartyState::Hold])
        .ok_or(SimError::NoHeldCall)?;
    let active = switch
        .find_connection(device, &[PartyState::Connected])
        .ok_or(SimError::NoActiveCall)?;
    Ok((held, active))
}
