//! [`Switch`]: the state of the simulated switch — calls, connections, device features,
//! monitors and client links — and the one place events are fanned out to monitors.
//!
//! The switch is plain data behind one `std::sync::Mutex` (see the module docs of
//! `sim`): every operation locks it, changes state, and queues the resulting events on
//! the links' bounded channels without awaiting. Operations live in submodules by family:
//! [`calls`] (set-up, routing, answer, clearing), [`features`] (hold, consultation,
//! transfer, conference, deflection, digits), [`device_features`] (do-not-disturb,
//! forwarding) and [`monitors`] (monitors, snapshots, links).

mod calls;
mod device_features;
mod features;
mod monitors;

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use csta::{EventCause, LocalConnectionState, Message};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use super::config::{FarEnd, SimConfig, TrunkConfig};
use super::devices::DeviceSet;
use super::error::SimError;
use super::events::{self, Parties};
use super::stats::Stats;
use super::timers::{Timer, TimerQueue, after};

/// Identifies one client connection.
pub(crate) type LinkId = u64;

/// What the switch queues for a client link.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// An event, addressed to one of the link's monitors.
    Event(Box<Message>),
    /// A well-framed document that is not well-formed XML (fault injection).
    Malformed,
}

/// A device's state in one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartyState {
    Initiated,
    Alerting,
    Connected,
    Hold,
    Fail,
}

impl PartyState {
    pub(crate) fn csta(self) -> LocalConnectionState {
        match self {
            PartyState::Initiated => LocalConnectionState::Initiated,
            PartyState::Alerting => LocalConnectionState::Alerting,
            PartyState::Connected => LocalConnectionState::Connected,
            PartyState::Hold => LocalConnectionState::Hold,
            PartyState::Fail => LocalConnectionState::Fail,
        }
    }
}

/// One device's connection to a call. External parties are numbers on the trunk.
#[derive(Debug, Clone)]
pub(crate) struct Party {
    pub(crate) device: String,
    pub(crate) internal: bool,
    pub(crate) state: PartyState,
    /// Changes with every state change; timers carry it to know they are still current.
    pub(crate) token: u64,
}

/// A call: its connections in the order they joined, and who it is from and to.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) parties: Vec<Party>,
    pub(crate) calling: String,
    pub(crate) called: String,
    pub(crate) last_redirection: Option<String>,
    /// The cause reported with `Delivered` and `Established` (newCall, consultation, …).
    pub(crate) cause: EventCause,
}

impl Call {
    pub(crate) fn party(&self, device: &str) -> Option<&Party> {
        self.parties.iter().find(|party| party.device == device)
    }

    fn party_mut(&mut self, device: &str) -> Option<&mut Party> {
        self.parties.iter_mut().find(|party| party.device == device)
    }

    pub(crate) fn parties(&self) -> Parties<'_> {
        Parties {
            calling: &self.calling,
            called: &self.called,
            last_redirection: self.last_redirection.as_deref(),
        }
    }

    /// The other parties' devices, in joining order.
    pub(crate) fn others(&self, device: &str) -> Vec<String> {
        self.parties
            .iter()
            .filter(|party| party.device != device)
            .map(|party| party.device.clone())
            .collect()
    }
}

/// What the switch keeps per device; only devices with something to keep have an entry.
#[derive(Debug, Default)]
pub(crate) struct DeviceState {
    /// Calls the device is in, oldest first.
    pub(crate) calls: Vec<u64>,
    /// Monitors (cross reference ids) watching the device.
    pub(crate) monitors: Vec<u64>,
    pub(crate) do_not_disturb: bool,
    pub(crate) forward_immediate: Option<String>,
    pub(crate) forward_busy: Option<String>,
}

impl DeviceState {
    fn is_idle_default(&self) -> bool {
        self.calls.is_empty()
            && self.monitors.is_empty()
            && !self.do_not_disturb
            && self.forward_immediate.is_none()
            && self.forward_busy.is_none()
    }
}

/// A client connection as the switch sees it: where its events go.
pub(crate) struct Link {
    outbound: mpsc::Sender<Outbound>,
    close: Arc<Notify>,
    monitors: HashSet<u64>,
    /// Set once the link's queue overflowed: it is being dropped.
    overflowed: Cell<bool>,
}

pub(crate) struct Monitor {
    link: LinkId,
    device: String,
    /// The id as sent on the wire, kept to avoid formatting it for every event.
    cross_ref: String,
}

/// The simulated switch; see the module docs.
pub(crate) struct Switch {
    devices_config: DeviceSet,
    trunk: TrunkConfig,
    no_answer_timeout: Duration,
    busy_tone_timeout: Duration,
    max_monitors: usize,
    calls: HashMap<u64, Call>,
    devices: HashMap<String, DeviceState>,
    monitors: HashMap<u64, Monitor>,
    links: HashMap<LinkId, Link>,
    timers: TimerQueue,
    last_call: u64,
    last_cross_ref: u64,
    last_token: u64,
    /// DTMF each device sent with `GenerateDigits`, in order (the last
    /// [`DIGITS_KEPT`] characters per device), for tests to read back.
    digits: HashMap<String, String>,
    stats: Arc<Stats>,
    timer_wakeup: Arc<Notify>,
}

/// How many DTMF characters a device's record keeps (the oldest go first).
pub(crate) const DIGITS_KEPT: usize = 256;

/// How many times a call may be forwarded before forwarding is ignored (loops).
const MAX_FORWARD_HOPS: u32 = 5;

impl Switch {
    pub(crate) fn new(config: &SimConfig, stats: Arc<Stats>, timer_wakeup: Arc<Notify>) -> Switch {
        Switch {
            devices_config: config.devices.clone(),
            trunk: config.trunk.clone(),
            no_answer_timeout: config.no_answer_timeout,
            busy_tone_timeout: config.busy_tone_timeout,
            max_monitors: config.limits.max_monitors,
            calls: HashMap::new(),
            devices: HashMap::new(),
            monitors: HashMap::new(),
            links: HashMap::new(),
            timers: TimerQueue::default(),
            last_call: 0,
            last_cross_ref: 0,
            last_token: 0,
            digits: HashMap::new(),
            stats,
            timer_wakeup,
        }
    }

    pub(crate) fn devices(&self) -> &DeviceSet {
        &self.devices_config
    }

    pub(crate) fn trunk(&self) -> &TrunkConfig {
        &self.trunk
    }

    pub(crate) fn is_device(&self, id: &str) -> bool {
        self.devices_config.contains(id)
    }

    /// The DTMF the device sent so far (see [`Switch::generate_digits`]).
    pub(crate) fn digits_sent(&self, device: &str) -> String {
        self.digits.get(device).cloned().unwrap_or_default()
    }

    /// Whether the device is in no call at all.
    pub(crate) fn is_idle(&self, device: &str) -> bool {
        self.devices
            .get(device)
            .is_none_or(|state| state.calls.is_empty())
    }

    /// Busy: the device has a connection that is not on hold (no call waiting).
    pub(crate) fn is_busy(&self, device: &str) -> bool {
        self.device_calls(device)
            .any(|(_, state)| state != PartyState::Hold)
    }

    /// The device's calls with its state in each, oldest first.
    pub(crate) fn device_calls(&self, device: &str) -> impl Iterator<Item = (u64, PartyState)> {
        let calls = self.devices.get(device).map(|state| &state.calls);
        calls.into_iter().flatten().filter_map(move |call_id| {
            let party = self.calls.get(call_id)?.party(device)?;
            Some((*call_id, party.state))
        })
    }

    pub(crate) fn call_count(&self) -> usize {
        self.calls.len()
    }

    pub(crate) fn monitor_count(&self) -> usize {
        self.monitors.len()
    }

    /// The device's state in a call: `InvalidCall` for an unknown call,
    /// `InvalidConnection` when the device is not in it.
    pub(crate) fn state_of(&self, call: u64, device: &str) -> Result<PartyState, SimError> {
        let call = self.calls.get(&call).ok_or(SimError::InvalidCall)?;
        call.party(device)
            .map(|party| party.state)
            .ok_or(SimError::InvalidConnection)
    }

    /// A dialled number made plain: one of our devices, or an external number
    /// (1 to 32 of `0-9 * #`, optionally after a leading `+`).
    pub(crate) fn destination(&self, dialled: &str) -> Result<String, SimError> {
        let number = csta::normalize_number(dialled);
        let external = (1..=32).contains(&number.len())
            && number.bytes().enumerate().all(|(index, byte)| {
                byte.is_ascii_digit() || matches!(byte, b'*' | b'#') || (index == 0 && byte == b'+')
            })
            && number != "+";
        if self.is_device(number) || external {
            Ok(number.to_string())
        } else {
            Err(SimError::InvalidDestination)
        }
    }

    fn next_token(&mut self) -> u64 {
        self.last_token += 1;
        self.last_token
    }

    fn new_call(&mut self, calling: &str, called: &str, cause: EventCause) -> u64 {
        self.last_call += 1;
        Stats::bump(&self.stats.calls_started);
        self.calls.insert(
            self.last_call,
            Call {
                parties: Vec::with_capacity(2),
                calling: calling.to_string(),
                called: called.to_string(),
                last_redirection: None,
                cause,
            },
        );
        self.last_call
    }

    /// Adds `device` to `call` in `state` (timers armed as for [`Switch::set_state`]).
    fn add_party(&mut self, call_id: u64, device: &str, internal: bool, state: PartyState) {
        let token = self.next_token();
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        call.parties.push(Party {
            device: device.to_string(),
            internal,
            state,
            token,
        });
        if internal {
            self.devices
                .entry(device.to_string())
                .or_default()
                .calls
                .push(call_id);
        }
        self.arm(call_id, device, internal, state, token);
    }

    /// Changes a party's state; a new token retires the timers of the old state.
    fn set_state(&mut self, call_id: u64, device: &str, state: PartyState) {
        let token = self.next_token();
        let Some(party) = self
            .calls
            .get_mut(&call_id)
            .and_then(|call| call.party_mut(device))
        else {
            return;
        };
        party.state = state;
        party.token = token;
        let internal = party.internal;
        self.arm(call_id, device, internal, state, token);
    }

    /// Starts the timers a state runs: ringing → no answer (and the far end's answer for
    /// an external party); a failed internal connection → busy tone.
    fn arm(&mut self, call: u64, device: &str, internal: bool, state: PartyState, token: u64) {
        let now = Instant::now();
        let device = device.to_string();
        match state {
            PartyState::Alerting => {
                if !internal && self.trunk.far_end(&device) == FarEnd::Answers {
                    let at = after(now, self.trunk.answer_delay);
                    let device = device.clone();
                    self.schedule(
                        at,
                        Timer::FarEndAnswers {
                            call,
                            device,
                            token,
                        },
                    );
                }
                let at = after(now, self.no_answer_timeout);
                self.schedule(
                    at,
                    Timer::NoAnswer {
                        call,
                        device,
                        token,
                    },
                );
            }
            PartyState::Fail if internal => {
                let at = after(now, self.busy_tone_timeout);
                self.schedule(
                    at,
                    Timer::BusyTone {
                        call,
                        device,
                        token,
                    },
                );
            }
            _ => {}
        }
    }

    fn schedule(&mut self, at: Instant, timer: Timer) {
        if self.timers.schedule(at, timer) {
            self.timer_wakeup.notify_one();
        }
    }

    /// Takes `device` out of `call`; false if it was not in it.
    fn remove_party(&mut self, call_id: u64, device: &str) -> bool {
        let Some(call) = self.calls.get_mut(&call_id) else {
            return false;
        };
        let Some(index) = call.parties.iter().position(|party| party.device == device) else {
            return false;
        };
        let party = call.parties.remove(index);
        if party.internal {
            self.detach(device, call_id);
        }
        true
    }

    fn detach(&mut self, device: &str, call_id: u64) {
        if let Some(state) = self.devices.get_mut(device) {
            state.calls.retain(|call| *call != call_id);
        }
        self.tidy(device);
    }

    /// Forgets a device entry that holds nothing.
    fn tidy(&mut self, device: &str) {
        if self
            .devices
            .get(device)
            .is_some_and(DeviceState::is_idle_default)
        {
            self.devices.remove(device);
        }
    }

    /// Removes a call and every connection still in it, without events.
    fn remove_call(&mut self, call_id: u64) {
        if let Some(call) = self.calls.remove(&call_id) {
            for party in call.parties.iter().filter(|party| party.internal) {
                self.detach(&party.device, call_id);
            }
        }
    }

    /// Sends an event about `call` to every monitor of every internal device in it and
    /// of the devices in `also` (devices that just left; their state is `null`).
    fn publish(&self, call_id: u64, also: &[&str], template: &Message) {
        let call = self.calls.get(&call_id);
        for party in call.iter().flat_map(|call| &call.parties) {
            if party.internal {
                self.deliver(&party.device, Some(party.state.csta()), template);
            }
        }
        for device in also {
            if call.is_none_or(|call| call.party(device).is_none()) {
                self.deliver(device, Some(LocalConnectionState::Null), template);
            }
        }
    }

    /// Sends an event to every monitor of `device`.
    fn deliver(
        &self,
        device: &str,
        local_connection_info: Option<LocalConnectionState>,
        template: &Message,
    ) {
        let Some(state) = self.devices.get(device) else {
            return;
        };
        for cross_ref in &state.monitors {
            let Some(monitor) = self.monitors.get(cross_ref) else {
                continue;
            };
            let Some(link) = self.links.get(&monitor.link) else {
                continue;
            };
            let mut message = template.clone();
            events::address(
                &mut message,
                &monitor.cross_ref,
                local_connection_info.clone(),
            );
            self.send(link, Outbound::Event(Box::new(message)));
        }
    }

    /// Queues without waiting; a link that cannot keep up is told to close.
    fn send(&self, link: &Link, outbound: Outbound) {
        match link.outbound.try_send(outbound) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                Stats::bump(&self.stats.events_dropped);
                if !link.overflowed.replace(true) {
                    Stats::bump(&self.stats.slow_links_dropped);
                    link.close.notify_one();
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Fires the timers due at `now` (at most `budget`); returns the next deadline.
    pub(crate) fn fire_due(&mut self, now: Instant, budget: usize) -> Option<Instant> {
        for _ in 0..budget {
            let Some(timer) = self.timers.pop_due(now) else {
                break;
            };
            self.fire(timer);
        }
        self.timers.next_deadline()
    }

    fn fire(&mut self, timer: Timer) {
        let current = |switch: &Switch, call: u64, device: &str, token: u64, state| {
            switch
                .calls
                .get(&call)
                .and_then(|call| call.party(device))
                .is_some_and(|party| party.token == token && party.state == state)
        };
        // The operations cannot fail for a current connection; a stale timer is ignored.
        match timer {
            Timer::NoAnswer {
                call,
                device,
                token,
            } if current(self, call, &device, token, PartyState::Alerting) => {
                let _ = self.clear_connection(call, &device, EventCause::CallNotAnswered);
            }
            Timer::FarEndAnswers {
                call,
                device,
                token,
            } if current(self, call, &device, token, PartyState::Alerting) => {
                let _ = self.answer(call, &device);
            }
            Timer::BusyTone {
                call,
                device,
                token,
            } if current(self, call, &device, token, PartyState::Fail) => {
                let _ = self.clear_connection(call, &device, EventCause::NormalClearing);
            }
            _ => {}
        }
    }

    /// Loses every call and monitor and closes every link (features such as
    /// do-not-disturb and forwarding are configuration and survive).
    pub(crate) fn restart(&mut self) {
        // Like a real switch, call ids start again from the beginning.
        self.last_call = 0;
        self.close_links();
        self.links.clear();
        self.monitors.clear();
        self.calls.clear();
        self.timers.clear();
        self.devices.retain(|_, state| {
            state.calls.clear();
            state.monitors.clear();
            !state.is_idle_default()
        });
    }
}

#[cfg(test)]
mod tests;
