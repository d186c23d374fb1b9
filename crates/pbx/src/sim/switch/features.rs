//! Features on established calls: hold and retrieve, consultation, transfer (two-step
//! and single-step), conference, deflection of a ringing call, DTMF digits.

use csta::EventCause;

use super::{DIGITS_KEPT, Party, PartyState, Switch};
use crate::sim::error::SimError;
use crate::sim::events::{self, Moved};

impl Switch {
    pub(crate) fn hold(
        &mut self,
        call_id: u64,
        device: &str,
        cause: EventCause,
    ) -> Result<(), SimError> {
        if self.state_of(call_id, device)? != PartyState::Connected {
            return Err(SimError::NoActiveCall);
        }
        self.set_state(call_id, device, PartyState::Hold);
        self.publish(call_id, &[], &events::held(call_id, device, cause));
        Ok(())
    }

    /// Takes a held call back; refused while the device is busy in another call.
    pub(crate) fn retrieve(&mut self, call_id: u64, device: &str) -> Result<(), SimError> {
        if self.state_of(call_id, device)? != PartyState::Hold {
            return Err(SimError::NoHeldCall);
        }
        if self.is_busy(device) {
            return Err(SimError::InvalidObjectState);
        }
        self.set_state(call_id, device, PartyState::Connected);
        let retrieved = events::retrieved(call_id, device, EventCause::Normal);
        self.publish(call_id, &[], &retrieved);
        Ok(())
    }

    /// Holds the call and calls `dialled` from the same device; returns the new call.
    pub(crate) fn consult(
        &mut self,
        call_id: u64,
        device: &str,
        dialled: &str,
    ) -> Result<u64, SimError> {
        if self.state_of(call_id, device)? != PartyState::Connected {
            return Err(SimError::NoActiveCall);
        }
        let called = self.destination(dialled)?;
        self.hold(call_id, device, EventCause::Consultation)?;
        Ok(self.originate(device, &called, EventCause::Consultation))
    }

    /// Checks a held call and an active (consultation) call of the same device.
    fn check_held_and_active(&self, held: u64, active: u64, device: &str) -> Result<(), SimError> {
        if held == active {
            return Err(SimError::InvalidConnection);
        }
        if self.state_of(held, device)? != PartyState::Hold {
            return Err(SimError::NoHeldCall);
        }
        let has_other_party = self
            .calls
            .get(&active)
            .is_some_and(|call| call.parties.len() >= 2);
        if self.state_of(active, device)? != PartyState::Connected || !has_other_party {
            return Err(SimError::NoActiveCall);
        }
        // The same party on both calls (e.g. one trunk number twice) cannot be joined.
        let held_parties = self.calls.get(&held).map(|call| call.others(device));
        let shared_party = self.calls.get(&active).is_some_and(|call| {
            call.others(device)
                .iter()
                .any(|other| held_parties.iter().flatten().any(|held| held == other))
        });
        if shared_party {
            return Err(SimError::InvalidObjectState);
        }
        Ok(())
    }

    /// The connections of `call` other than `device`'s, as moved from `call`.
    fn moved_from(&self, call_id: u64, device: &str) -> Vec<Moved> {
        let others = self.calls.get(&call_id).map(|call| call.others(device));
        others
            .into_iter()
            .flatten()
            .map(|device| Moved {
                device,
                old_call: call_id,
            })
            .collect()
    }

    /// Moves every connection of call `from` into call `into` (states kept, timers
    /// re-armed under the new call) and forgets `from`.
    fn merge(&mut self, from: u64, into: u64) {
        let Some(call) = self.calls.remove(&from) else {
            return;
        };
        for party in call.parties {
            if party.internal {
                if let Some(state) = self.devices.get_mut(&party.device) {
                    state.calls.retain(|call| *call != from);
                    state.calls.push(into);
                }
            }
            let token = self.next_token();
            let Some(target) = self.calls.get_mut(&into) else {
                continue;
            };
            let (device, internal, state) = (party.device.clone(), party.internal, party.state);
            target.parties.push(Party { token, ..party });
            self.arm(into, &device, internal, state, token);
        }
    }

    /// Joins the other parties of the held and the active call and drops `device`.
    /// The result is the held call; returns it with the first party of the active call.
    pub(crate) fn transfer(
        &mut self,
        held: u64,
        active: u64,
        device: &str,
    ) -> Result<(u64, String), SimError> {
        self.check_held_and_active(held, active, device)?;
        let mut moved = self.moved_from(held, device);
        let added = self.moved_from(active, device);
        let transferred_to = added.first().map(|m| m.device.clone()).unwrap_or_default();
        moved.extend(added);
        self.remove_party(held, device);
        self.remove_party(active, device);
        self.merge(active, held);
        if let Some(call) = self.calls.get_mut(&held) {
            if let Some(first) = call.parties.first() {
                call.calling = first.device.clone();
            }
            call.called = transferred_to.clone();
            call.last_redirection = Some(device.to_string());
            call.cause = EventCause::Transfer;
        }
        let transferred = events::transferred(
            held,
            Some(active),
            device,
            &transferred_to,
            &moved,
            EventCause::Transfer,
        );
        self.publish(held, &[device], &transferred);
        self.settle(held, EventCause::Transfer);
        Ok((held, transferred_to))
    }

    /// Joins the active call into the held one; `device` stays, connected. Returns the
    /// conference (the held call).
    pub(crate) fn conference(
        &mut self,
        held: u64,
        active: u64,
        device: &str,
    ) -> Result<u64, SimError> {
        self.check_held_and_active(held, active, device)?;
        let mut moved = vec![Moved {
            device: device.to_string(),
            old_call: held,
        }];
        moved.extend(self.moved_from(held, device));
        let added = self.moved_from(active, device);
        let added_party = added.first().map(|m| m.device.clone()).unwrap_or_default();
        moved.extend(added);
        self.remove_party(active, device);
        self.merge(active, held);
        self.set_state(held, device, PartyState::Connected);
        let conferenced = events::conferenced(held, active, device, &added_party, &moved);
        self.publish(held, &[], &conferenced);
        Ok(held)
    }

    /// Blind transfer of an answered call: `device` leaves and the call is offered to
    /// `dialled` (not a device already in the call). Returns the transferred-to number.
    pub(crate) fn single_step_transfer(
        &mut self,
        call_id: u64,
        device: &str,
        dialled: &str,
    ) -> Result<String, SimError> {
        if self.state_of(call_id, device)? != PartyState::Connected {
            return Err(SimError::NoActiveCall);
        }
        let established = self.calls.get(&call_id).is_some_and(|call| {
            call.parties.iter().any(|party| {
                party.device != device
                    && matches!(party.state, PartyState::Connected | PartyState::Hold)
            })
        });
        let moved = self.moved_from(call_id, device);
        let Some(first) = moved
            .first()
            .map(|m| m.device.clone())
            .filter(|_| established)
        else {
            return Err(SimError::NoActiveCall);
        };
        let to = self.destination(dialled)?;
        if moved.iter().any(|moved| moved.device == to) {
            return Err(SimError::InvalidDestination);
        }
        self.remove_party(call_id, device);
        let transferred = events::transferred(
            call_id,
            None,
            device,
            &to,
            &moved,
            EventCause::SingleStepTransfer,
        );
        self.publish(call_id, &[device], &transferred);
        if let Some(call) = self.calls.get_mut(&call_id) {
            call.calling = first;
            call.called = to.clone();
            call.last_redirection = Some(device.to_string());
            call.cause = EventCause::SingleStepTransfer;
        }
        self.offer(call_id, &to, 0);
        self.settle(call_id, EventCause::SingleStepTransfer);
        Ok(to)
    }

    /// Sends a ringing call on to `dialled` (Diverted, then it is offered there).
    pub(crate) fn deflect(
        &mut self,
        call_id: u64,
        device: &str,
        dialled: &str,
    ) -> Result<(), SimError> {
        if self.state_of(call_id, device)? != PartyState::Alerting {
            return Err(SimError::InvalidObjectState);
        }
        let to = self.destination(dialled)?;
        self.remove_party(call_id, device);
        self.divert(call_id, device, &to, EventCause::Redirected, 1);
        self.settle(call_id, EventCause::Redirected);
        Ok(())
    }

    /// DTMF on a connected connection: 1 to 64 of `0-9 * # A-D` (and `,` for a pause).
    /// The far ends are simulated, so nothing else happens; the digits are recorded per
    /// device (see [`Switch::digits_sent`]).
    pub(crate) fn generate_digits(
        &mut self,
        call_id: u64,
        device: &str,
        digits: &str,
    ) -> Result<(), SimError> {
        if self.state_of(call_id, device)? != PartyState::Connected {
            return Err(SimError::NoActiveCall);
        }
        let valid = (1..=64).contains(&digits.len())
            && digits.bytes().all(|b| {
                b.is_ascii_digit() || matches!(b, b'*' | b'#' | b',' | b'A'..=b'D' | b'a'..=b'd')
            });
        if !valid {
            return Err(SimError::ValueOutOfRange);
        }
        let sent = self.digits.entry(device.to_owned()).or_default();
        sent.push_str(digits);
        if sent.len() > DIGITS_KEPT {
            sent.drain(..sent.len() - DIGITS_KEPT);
        }
        Ok(())
    }
}
