//! The handset's own call model: one line, call waiting off, at most two calls (a held
//! one and a consultation). Every operation returns the events the phone reports, each
//! with the phone's own `localConnectionInfo`; the agent addresses them to the monitor.
//!
//! ```text
//! dial/MakeCall 201→E   ServiceInitiated c/201 (initiated), Originated c/201 (connected),
//!                       Delivered c/E (connected) … far end answers: Established c/E
//! ring_from(E)          Delivered c/201 (alerting) … answer: Established c/201 (connected)
//! hang_up               ConnectionCleared c/201 (null)
//! hold / retrieve       Held c/201 (hold) / Retrieved c/201 (connected)
//! ```

use std::time::{Duration, Instant};

use csta::{ConnectionId, EventCause, ForwardingType, LocalConnectionState, Message};

use crate::sim::SimError;
use crate::sim::events::{self, Moved, Parties};

/// An event template and the phone's state in it.
pub(crate) type PhoneEvent = (Message, Option<LocalConnectionState>);

/// A call of the phone with one far end.
#[derive(Debug, Clone)]
struct Call {
    id: u64,
    far: String,
    state: LocalConnectionState,
    /// An outgoing call's far end answers then.
    answer_at: Option<Instant>,
}

#[derive(Debug)]
pub(crate) struct Phone {
    number: String,
    answer_delay: Duration,
    calls: Vec<Call>,
    next_call: u64,
    do_not_disturb: bool,
}

impl Phone {
    pub(crate) fn new(number: &str, answer_delay: Duration) -> Phone {
        Phone {
            number: number.to_owned(),
            answer_delay,
            calls: Vec::new(),
            next_call: 1,
            do_not_disturb: false,
        }
    }

    pub(crate) fn number(&self) -> &str {
        &self.number
    }

    /// Forgets every call (a reboot); call ids go on counting.
    pub(crate) fn reset(&mut self) {
        self.calls.clear();
        self.do_not_disturb = false;
    }

    /// An outgoing call to `to`: keypad dialling (`newCall`), `MakeCall` (`makeCall`) or a
    /// consultation (`consultation`). Refused while another call is active.
    pub(crate) fn dial(
        &mut self,
        to: &str,
        cause: EventCause,
        now: Instant,
    ) -> Result<(u64, Vec<PhoneEvent>), SimError> {
        if !is_dialable(to) || to == self.number {
            return Err(SimError::InvalidDestination);
        }
        if self.calls.len() >= 2 || self.active().is_some() {
            return Err(SimError::InvalidObjectState);
        }
        let id = self.new_call(to, LocalConnectionState::Connected);
        if let Some(call) = self.calls.last_mut() {
            call.answer_at = Some(now + self.answer_delay);
        }
        let me = self.number.as_str();
        let parties = Parties {
            calling: me,
            called: to,
            last_redirection: None,
        };
        let delivered_cause = match cause {
            EventCause::Consultation => EventCause::Consultation,
            _ => EventCause::NewCall,
        };
        let events = vec![
            (
                events::service_initiated(id, me, cause.clone()),
                Some(LocalConnectionState::Initiated),
            ),
            (
                events::originated(id, me, to, cause),
                Some(LocalConnectionState::Connected),
            ),
            (
                events::delivered(id, to, parties, delivered_cause),
                Some(LocalConnectionState::Connected),
            ),
        ];
        Ok((id, events))
    }

    /// A call from `from` starts ringing. Refused when the line is in use (no call
    /// waiting) or do-not-disturb is on.
    pub(crate) fn ring_from(&mut self, from: &str) -> Result<Vec<PhoneEvent>, SimError> {
        if !is_dialable(from) {
            return Err(SimError::InvalidDestination);
        }
        if !self.calls.is_empty() || self.do_not_disturb {
            return Err(SimError::InvalidObjectState);
        }
        let id = self.new_call(from, LocalConnectionState::Alerting);
        let parties = Parties {
            calling: from,
            called: &self.number,
            last_redirection: None,
        };
        let delivered = events::delivered(id, &self.number, parties, EventCause::NewCall);
        Ok(vec![(delivered, Some(LocalConnectionState::Alerting))])
    }

    /// Answers the ringing call (`call`, or whichever rings).
    pub(crate) fn answer(&mut self, call: Option<u64>) -> Result<Vec<PhoneEvent>, SimError> {
        let alerting = |c: &Call| c.state == LocalConnectionState::Alerting;
        let index = self.find(call, alerting, SimError::NoCallToAnswer)?;
        let call = self
            .calls
            .get_mut(index)
            .filter(|call| alerting(call))
            .ok_or(SimError::NoCallToAnswer)?;
        call.state = LocalConnectionState::Connected;
        let parties = Parties {
            calling: &call.far,
            called: &self.number,
            last_redirection: None,
        };
        let established = events::established(call.id, &self.number, parties, EventCause::NewCall);
        Ok(vec![(established, Some(LocalConnectionState::Connected))])
    }

    /// Leaves `call` (or the active, else any call): hang-up or ClearConnection.
    pub(crate) fn clear(&mut self, call: Option<u64>) -> Result<Vec<PhoneEvent>, SimError> {
        let index = self
            .find(
                call,
                |c| c.state != LocalConnectionState::Hold,
                SimError::NoConnectionToClear,
            )
            .or_else(|_| self.find(call, |_| true, SimError::NoConnectionToClear))?;
        let call = self.calls.remove(index);
        let cleared = events::connection_cleared(call.id, &self.number, EventCause::NormalClearing);
        Ok(vec![(cleared, Some(LocalConnectionState::Null))])
    }

    pub(crate) fn hold(
        &mut self,
        call: Option<u64>,
        cause: EventCause,
    ) -> Result<Vec<PhoneEvent>, SimError> {
        let connected = |c: &Call| c.state == LocalConnectionState::Connected;
        let index = self.find(call, connected, SimError::NoActiveCall)?;
        let call = self
            .calls
            .get_mut(index)
            .filter(|call| connected(call))
            .ok_or(SimError::NoActiveCall)?;
        call.state = LocalConnectionState::Hold;
        let held = events::held(call.id, &self.number, cause);
        Ok(vec![(held, Some(LocalConnectionState::Hold))])
    }

    pub(crate) fn retrieve(&mut self, call: Option<u64>) -> Result<Vec<PhoneEvent>, SimError> {
        let held = |c: &Call| c.state == LocalConnectionState::Hold;
        let index = self.find(call, held, SimError::NoHeldCall)?;
        if self.active().is_some() {
            return Err(SimError::InvalidObjectState);
        }
        let call = self
            .calls
            .get_mut(index)
            .filter(|call| held(call))
            .ok_or(SimError::NoHeldCall)?;
        call.state = LocalConnectionState::Connected;
        let retrieved = events::retrieved(call.id, &self.number, EventCause::Normal);
        Ok(vec![(retrieved, Some(LocalConnectionState::Connected))])
    }

    /// Holds `existing` and calls `to`: the consultation call's id and the events.
    pub(crate) fn consult(
        &mut self,
        existing: u64,
        to: &str,
        now: Instant,
    ) -> Result<(u64, Vec<PhoneEvent>), SimError> {
        if !is_dialable(to) || to == self.number {
            return Err(SimError::InvalidDestination);
        }
        let mut events = self.hold(Some(existing), EventCause::Consultation)?;
        let (id, dialled) = self.dial(to, EventCause::Consultation, now)?;
        events.extend(dialled);
        Ok((id, events))
    }

    /// Connects the far ends of `held` and `active` and leaves both; the call goes on as
    /// `held`, whose new connection to the active far end is returned.
    pub(crate) fn transfer(
        &mut self,
        held: u64,
        active: u64,
    ) -> Result<(ConnectionId, Vec<PhoneEvent>), SimError> {
        let held_index = self.find(Some(held), |_| true, SimError::NoHeldCall)?;
        let active_index = self.find(Some(active), |_| true, SimError::NoActiveCall)?;
        let (Some(held_call), Some(active_call)) =
            (self.calls.get(held_index), self.calls.get(active_index))
        else {
            return Err(SimError::InvalidCall);
        };
        if held_call.state != LocalConnectionState::Hold || held_index == active_index {
            return Err(SimError::NoHeldCall);
        }
        let moved = [
            Moved {
                device: held_call.far.clone(),
                old_call: held,
            },
            Moved {
                device: active_call.far.clone(),
                old_call: active,
            },
        ];
        let to = active_call.far.clone();
        let event = events::transferred(
            held,
            Some(active),
            &self.number,
            &to,
            &moved,
            EventCause::Transfer,
        );
        self.calls.clear();
        let connection = events::connection(held, &to);
        Ok((connection, vec![(event, Some(LocalConnectionState::Null))]))
    }

    /// Whether `call` is connected, for GenerateDigits.
    pub(crate) fn check_connected(&self, call: Option<u64>) -> Result<(), SimError> {
        let connected = |c: &Call| c.state == LocalConnectionState::Connected;
        self.find(call, connected, SimError::NoActiveCall)
            .and_then(|index| match self.calls.get(index) {
                Some(call) if call.state == LocalConnectionState::Connected => Ok(()),
                _ => Err(SimError::NoActiveCall),
            })
    }

    pub(crate) fn set_do_not_disturb(&mut self, on: bool) -> Vec<PhoneEvent> {
        self.do_not_disturb = on;
        vec![(events::do_not_disturb(&self.number, on), None)]
    }

    pub(crate) fn set_forwarding(
        &mut self,
        forwarding_type: ForwardingType,
        on: bool,
        to: Option<&str>,
    ) -> Vec<PhoneEvent> {
        let event = events::forwarding(&self.number, forwarding_type, on, to);
        vec![(event, None)]
    }

    /// The phone's connections, for SnapshotDevice.
    /// Every call: (id, far end, this phone's state, whether the far end is yet to answer).
    pub(crate) fn lines(&self) -> Vec<(u64, String, LocalConnectionState, bool)> {
        self.calls
            .iter()
            .map(|call| {
                (
                    call.id,
                    call.far.clone(),
                    call.state.clone(),
                    call.answer_at.is_some(),
                )
            })
            .collect()
    }

    /// The far end of `call` is another handset: it answers when it says so
    /// ([`Phone::far_answered`]), not after the simulated delay.
    pub(crate) fn far_is_a_handset(&mut self, call: u64) {
        if let Some(call) = self.calls.iter_mut().find(|c| c.id == call) {
            call.answer_at = None;
        }
    }

    /// The handset `far` answered our call: it is established at the next tick.
    pub(crate) fn far_answered(&mut self, far: &str, now: Instant) {
        if let Some(call) = self
            .calls
            .iter_mut()
            .find(|c| c.far == far && c.state == LocalConnectionState::Connected)
        {
            call.answer_at = Some(now);
        }
    }

    /// The handset `far` left our call with it: the call ends here too.
    pub(crate) fn far_cleared(&mut self, far: &str) -> Vec<PhoneEvent> {
        let call = self.calls.iter().find(|c| c.far == far).map(|c| c.id);
        call.and_then(|id| self.clear(Some(id)).ok())
            .unwrap_or_default()
    }

    pub(crate) fn connections(&self) -> Vec<(ConnectionId, LocalConnectionState)> {
        self.calls
            .iter()
            .map(|call| {
                (
                    events::connection(call.id, &self.number),
                    call.state.clone(),
                )
            })
            .collect()
    }

    /// Far ends that answer by `now`: their Established events.
    pub(crate) fn tick(&mut self, now: Instant) -> Vec<PhoneEvent> {
        let mut out = Vec::new();
        for call in &mut self.calls {
            if call.answer_at.is_some_and(|at| at <= now) {
                call.answer_at = None;
                let parties = Parties {
                    calling: &self.number,
                    called: &call.far,
                    last_redirection: None,
                };
                let event = events::established(call.id, &call.far, parties, EventCause::NewCall);
                out.push((event, Some(call.state.clone())));
            }
        }
        out
    }

    fn new_call(&mut self, far: &str, state: LocalConnectionState) -> u64 {
        let id = self.next_call;
        self.next_call += 1;
        self.calls.push(Call {
            id,
            far: far.to_owned(),
            state,
            answer_at: None,
        });
        id
    }

    /// The active call (an outgoing call is connected from the start).
    fn active(&self) -> Option<&Call> {
        self.calls
            .iter()
            .find(|call| call.state == LocalConnectionState::Connected)
    }

    /// The index of call `id` (unknown: `InvalidCall`), or of the first call that `fits`
    /// (none: `none`).
    fn find(
        &self,
        id: Option<u64>,
        fits: impl Fn(&Call) -> bool,
        none: SimError,
    ) -> Result<usize, SimError> {
        match id {
            Some(id) => self
                .calls
                .iter()
                .position(|call| call.id == id)
                .ok_or(SimError::InvalidCall),
            None => self.calls.iter().position(fits).ok_or(none),
        }
    }
}

/// 1–32 of `0-9 * #`, with an optional leading `+`.
fn is_dialable(number: &str) -> bool {
    let digits = number.strip_prefix('+').unwrap_or(number);
    (1..=32).contains(&digits.len())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
}
