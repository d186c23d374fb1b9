//! Basic calls: set-up, routing to the destination (ringing, busy, do-not-disturb,
//! forwarding, the trunk), answering and clearing.

use csta::EventCause;

use super::{MAX_FORWARD_HOPS, PartyState, Switch};
use crate::sim::config::FarEnd;
use crate::sim::error::SimError;
use crate::sim::events;

impl Switch {
    /// A call from `calling` to `dialled`, with the calling device off-hook at once (as
    /// `autoOriginate doNotPrompt`). `cause` is reported with ServiceInitiated and
    /// Originated: `makeCall` for the CSTA request, `newCall` for a user dialling.
    pub(crate) fn make_call(
        &mut self,
        calling: &str,
        dialled: &str,
        cause: EventCause,
    ) -> Result<u64, SimError> {
        if !self.is_device(calling) {
            return Err(SimError::InvalidCallingDevice);
        }
        let called = self.destination(dialled)?;
        if self.is_busy(calling) {
            return Err(SimError::InvalidObjectState);
        }
        Ok(self.originate(calling, &called, cause))
    }

    /// ServiceInitiated and Originated at `calling`, then the call is offered to `called`.
    pub(crate) fn originate(&mut self, calling: &str, called: &str, cause: EventCause) -> u64 {
        let delivery_cause = match cause {
            EventCause::Consultation => EventCause::Consultation,
            _ => EventCause::NewCall,
        };
        let call = self.new_call(calling, called, delivery_cause);
        self.add_party(call, calling, true, PartyState::Initiated);
        let initiated = events::service_initiated(call, calling, cause.clone());
        self.publish(call, &[], &initiated);
        self.set_state(call, calling, PartyState::Connected);
        self.publish(call, &[], &events::originated(call, calling, called, cause));
        self.offer(call, called, 0);
        call
    }

    /// A call from the trunk: external `from` calls our device `to`.
    pub(crate) fn incoming_external(&mut self, from: &str, to: &str) -> Result<u64, SimError> {
        if !self.is_device(to) {
            return Err(SimError::InvalidDevice);
        }
        let from = match self.destination(from) {
            Ok(from) if !self.is_device(&from) => from,
            _ => return Err(SimError::InvalidCallingDevice),
        };
        let call = self.new_call(&from, to, EventCause::NewCall);
        self.add_party(call, &from, false, PartyState::Connected);
        self.offer(call, to, 0);
        // Forwarded to the trunk, or failed: none of ours is in it any more.
        self.settle(call, EventCause::NormalClearing);
        Ok(call)
    }

    /// Routes a call to `destination`: immediate forwarding, do-not-disturb, busy (or
    /// forwarding on busy), else it rings. External numbers go to the trunk. A party
    /// already in the call is busy.
    pub(super) fn offer(&mut self, call: u64, destination: &str, hops: u32) {
        let in_call = self
            .calls
            .get(&call)
            .is_some_and(|call| call.party(destination).is_some());
        if in_call {
            // Back to a party of the same call (e.g. deflected to the caller): busy.
            self.fail(call, destination, EventCause::Busy);
            return;
        }
        if !self.is_device(destination) {
            if self.trunk.far_end(destination) == FarEnd::Busy {
                self.fail(call, destination, EventCause::Busy);
            } else {
                self.ring(call, destination, false);
            }
            return;
        }
        let (do_not_disturb, immediate, on_busy) = match self.devices.get(destination) {
            Some(state) => (
                state.do_not_disturb,
                state.forward_immediate.clone(),
                state.forward_busy.clone(),
            ),
            None => (false, None, None),
        };
        let may_forward = hops < MAX_FORWARD_HOPS;
        if let Some(target) = immediate.filter(|_| may_forward) {
            let cause = EventCause::CallForwardImmediate;
            self.divert(call, destination, &target, cause, hops + 1);
        } else if do_not_disturb {
            self.fail(call, destination, EventCause::DoNotDisturb);
        } else if self.is_busy(destination) {
            match on_busy.filter(|_| may_forward) {
                Some(target) => {
                    let cause = EventCause::CallForwardBusy;
                    self.divert(call, destination, &target, cause, hops + 1);
                }
                None => self.fail(call, destination, EventCause::Busy),
            }
        } else {
            self.ring(call, destination, true);
        }
    }

    fn ring(&mut self, call_id: u64, device: &str, internal: bool) {
        self.add_party(call_id, device, internal, PartyState::Alerting);
        if let Some(call) = self.calls.get(&call_id) {
            let delivered = events::delivered(call_id, device, call.parties(), call.cause.clone());
            self.publish(call_id, &[], &delivered);
        }
    }

    /// The call cannot reach `failing`: the waiting parties hear a tone (state `fail`)
    /// until they hang up or the busy-tone timer clears them. A call from the trunk that
    /// fails is simply gone (nobody of ours is in it).
    fn fail(&mut self, call_id: u64, failing: &str, cause: EventCause) {
        let Some(call) = self.calls.get(&call_id) else {
            return;
        };
        let waiting: Vec<String> = call
            .parties
            .iter()
            .filter(|party| matches!(party.state, PartyState::Connected | PartyState::Initiated))
            .map(|party| party.device.clone())
            .collect();
        for device in &waiting {
            self.set_state(call_id, device, PartyState::Fail);
        }
        if let Some(call) = self.calls.get(&call_id) {
            let failed = events::failed(call_id, failing, call.parties(), cause.clone());
            self.publish(call_id, &[], &failed);
        }
        self.settle(call_id, cause);
    }

    /// The call leaves `from` for `to` (forwarding, deflection): Diverted, then it is
    /// offered to `to`.
    pub(super) fn divert(
        &mut self,
        call_id: u64,
        from: &str,
        to: &str,
        cause: EventCause,
        hops: u32,
    ) {
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        call.last_redirection = Some(from.to_string());
        call.cause = cause.clone();
        let diverted = events::diverted(call_id, from, to, call.parties(), cause);
        self.publish(call_id, &[from], &diverted);
        self.offer(call_id, to, hops);
    }

    /// `device` answers its ringing connection.
    pub(crate) fn answer(&mut self, call_id: u64, device: &str) -> Result<(), SimError> {
        if self.state_of(call_id, device)? != PartyState::Alerting {
            return Err(SimError::NoCallToAnswer);
        }
        self.set_state(call_id, device, PartyState::Connected);
        if let Some(call) = self.calls.get(&call_id) {
            let established =
                events::established(call_id, device, call.parties(), call.cause.clone());
            self.publish(call_id, &[], &established);
        }
        Ok(())
    }

    /// `device` leaves the call (hang-up, reject, no answer); a call left with one
    /// connection is cleared altogether.
    pub(crate) fn clear_connection(
        &mut self,
        call_id: u64,
        device: &str,
        cause: EventCause,
    ) -> Result<(), SimError> {
        self.state_of(call_id, device)?;
        self.remove_party(call_id, device);
        let cleared = events::connection_cleared(call_id, device, cause.clone());
        self.publish(call_id, &[device], &cleared);
        self.settle(call_id, cause);
        Ok(())
    }

    /// Ends what is left of a call after a party left: a lone connection (unless it hears
    /// the busy tone) is cleared with `cause`, and a call with none of our devices left
    /// is forgotten (the trunk's far ends are simulated; nobody monitors them).
    pub(super) fn settle(&mut self, call_id: u64, cause: EventCause) {
        let Some(call) = self.calls.get(&call_id) else {
            return;
        };
        if let [last] = call.parties.as_slice() {
            if last.state != PartyState::Fail {
                let last = last.device.clone();
                self.remove_party(call_id, &last);
                let cleared = events::connection_cleared(call_id, &last, cause);
                self.publish(call_id, &[&last], &cleared);
            }
        }
        let ours_left = self
            .calls
            .get(&call_id)
            .is_some_and(|call| call.parties.iter().any(|party| party.internal));
        if !ours_left {
            self.remove_call(call_id);
        }
    }

    /// Clears every connection of the call, in joining order.
    pub(crate) fn clear_call(&mut self, call_id: u64) -> Result<(), SimError> {
        let call = self.calls.get(&call_id).ok_or(SimError::InvalidCall)?;
        let devices: Vec<String> = call.parties.iter().map(|p| p.device.clone()).collect();
        for device in &devices {
            self.remove_party(call_id, device);
            let cleared = events::connection_cleared(call_id, device, EventCause::NormalClearing);
            self.publish(call_id, &[device], &cleared);
        }
        self.remove_call(call_id);
        Ok(())
    }
}
