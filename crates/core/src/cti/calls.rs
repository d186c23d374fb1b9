//! The calls of one device, kept from the PBX's reports, and the device's phone state.
//!
//! The model is per device (the leg of a call that a user sees): a PBX call shared by two
//! of the tenant's devices is two `DeviceCall`s, each with its own direction, other party
//! and times — which is what a call log and a user's call list need.

use serde::Serialize;
use uuid::Uuid;

use super::event::{CallEvent, CallEventKind, LocalState, SnapshotCall};
use super::presence::PhoneState;
use crate::ids::new_uuid;
use crate::model::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallDirection {
    Incoming,
    Outgoing,
}

/// A call's state for the user (the contract's call states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Dialling, or ringing at the far end.
    Dialing,
    /// Ringing here.
    Ringing,
    Connected,
    Held,
}

/// One call of one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCall {
    /// Stable id for the API (the PBX's call id may change on transfer).
    pub id: Uuid,
    /// The PBX's current id of the call.
    pub call_id: String,
    pub state: CallState,
    pub direction: CallDirection,
    /// The far party's number, when known.
    pub other_number: Option<String>,
    pub started_at: Timestamp,
    /// When the call was answered (here for incoming calls, at the far end for outgoing).
    pub answered_at: Option<Timestamp>,
    /// Several parties (a conference).
    pub conference: bool,
    /// In a conference: the other parties' numbers (so that when one leaves, the call
    /// shows who is left).
    pub parties: Vec<String>,
    /// Numbers this call was transferred to or from while the device was in it.
    pub transferred: Vec<String>,
}

/// A call that ended for this device, with what the call log needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEnded {
    pub call: DeviceCall,
    pub ended_at: Timestamp,
    pub cause: Option<String>,
    /// Went elsewhere before being answered (forwarding, deflection).
    pub diverted: bool,
    /// Failed (busy, unreachable).
    pub failed: bool,
    /// Ended because the link's snapshot no longer had it.
    pub stale: bool,
}

impl CallEnded {
    /// An incoming call that rang here and was never answered here or diverted.
    pub fn missed(&self) -> bool {
        self.call.direction == CallDirection::Incoming
            && self.call.answered_at.is_none()
            && !self.diverted
    }
}

/// What one report changed for the device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub changed: Vec<DeviceCall>,
    pub ended: Vec<CallEnded>,
}

impl Outcome {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.ended.is_empty()
    }
}

/// The calls and feature states of one device.
#[derive(Debug, Clone, Default)]
pub struct DeviceCalls {
    /// The device's own number, to tell its own party from the far one.
    pub number: String,
    pub calls: Vec<DeviceCall>,
    pub dnd: bool,
    pub forwarding_to: Option<String>,
}

impl DeviceCalls {
    pub fn new(number: impl Into<String>) -> Self {
        DeviceCalls {
            number: number.into(),
            ..Default::default()
        }
    }

    fn position(&self, call_id: &str) -> Option<usize> {
        self.calls.iter().position(|c| c.call_id == call_id)
    }

    fn is_self(&self, number: &Option<String>) -> bool {
        number.as_deref() == Some(self.number.as_str())
    }

    /// Applies one report about this device.
    pub fn apply(&mut self, event: &CallEvent, now: Timestamp) -> Outcome {
        let mut outcome = Outcome::default();
        let ending = matches!(event.local, LocalState::Null | LocalState::Failed);

        // Transfer or conference: the merged calls become one.
        let mut merged: Option<DeviceCall> = None;
        let mut merged_parties: Vec<String> = Vec::new();
        for old in event
            .merged_from
            .iter()
            .chain(std::iter::once(&event.call_id))
        {
            if let Some(index) = self.position(old) {
                let mut call = self.calls.remove(index);
                merged_parties.extend(call.other_number.iter().cloned());
                merged_parties.extend(call.parties.iter().cloned());
                match &mut merged {
                    None => merged = Some(call),
                    Some(kept) => {
                        // The other merged calls end here (for the list and the log).
                        kept.conference |= call.conference;
                        if let Some(other) = event.other.clone().filter(|o| *o != self.number) {
                            call.transferred.push(other);
                        }
                        outcome.ended.push(CallEnded {
                            call,
                            ended_at: now,
                            cause: event.cause.clone(),
                            diverted: false,
                            failed: false,
                            stale: false,
                        });
                    }
                }
            }
        }
        let existing = merged;
        if ending {
            let call = match existing {
                Some(call) => Some(call),
                // A call that failed before we saw it (e.g. busy at once) still goes to the log.
                None if event.local == LocalState::Failed => Some(self.new_call(event, now)),
                None => None,
            };
            if let Some(mut call) = call {
                if event.kind == CallEventKind::Transferred {
                    if let Some(other) = event.other.clone().filter(|o| *o != self.number) {
                        call.transferred.push(other);
                    }
                }
                outcome.ended.insert(
                    0,
                    CallEnded {
                        call,
                        ended_at: now,
                        cause: event.cause.clone(),
                        diverted: event.kind == CallEventKind::Diverted,
                        failed: event.local == LocalState::Failed,
                        stale: false,
                    },
                );
            }
            return outcome;
        }

        let mut call = existing.unwrap_or_else(|| self.new_call(event, now));
        call.call_id = event.call_id.clone();
        if event.kind == CallEventKind::Cleared {
            // Someone else left; this device is still in the call.
            self.party_left(&mut call, event.other.as_deref());
        } else if let Some(other) = event.other.clone().filter(|o| *o != self.number) {
            if !event.merged_from.is_empty() && call.other_number.as_ref() != Some(&other) {
                if let Some(previous) = call.other_number.clone() {
                    call.transferred.push(previous);
                }
            }
            call.other_number = Some(other);
        }
        if event.kind == CallEventKind::Conferenced {
            call.conference = true;
            let mut parties = merged_parties;
            parties.extend(event.parties.iter().cloned());
            parties.extend(event.other.iter().cloned());
            parties.retain(|p| *p != self.number);
            parties.sort();
            parties.dedup();
            call.parties = parties;
        }
        let answered_now = event.kind == CallEventKind::Established
            || matches!(event.local, LocalState::Held)
            || (call.direction == CallDirection::Incoming && event.local == LocalState::Connected);
        if answered_now && call.answered_at.is_none() {
            call.answered_at = Some(now);
        }
        call.state = match event.local {
            LocalState::Held => CallState::Held,
            LocalState::Alerting => CallState::Ringing,
            LocalState::Initiated | LocalState::Queued => CallState::Dialing,
            _ if call.answered_at.is_some() => CallState::Connected,
            _ => CallState::Dialing,
        };
        outcome.changed.push(call.clone());
        self.calls.push(call);
        outcome
    }

    /// `dropped` left a call this device stays in: a conference loses a party, and with
    /// one other party left it is a plain call with that party again.
    fn party_left(&self, call: &mut DeviceCall, dropped: Option<&str>) {
        let Some(dropped) = dropped.filter(|d| *d != self.number) else {
            return;
        };
        if !call.conference {
            return;
        }
        call.parties.retain(|p| p != dropped);
        if call.parties.len() <= 1 {
            call.conference = false;
        }
        if call.other_number.as_deref() == Some(dropped) || !call.conference {
            call.other_number = call.parties.first().cloned();
        }
    }

    fn new_call(&self, event: &CallEvent, now: Timestamp) -> DeviceCall {
        let outgoing = matches!(
            event.kind,
            CallEventKind::ServiceInitiated | CallEventKind::Originated
        ) || (self.is_self(&event.calling) && event.local != LocalState::Alerting);
        let direction = if outgoing {
            CallDirection::Outgoing
        } else {
            CallDirection::Incoming
        };
        let other = match direction {
            CallDirection::Outgoing => event.called.clone(),
            CallDirection::Incoming => event.calling.clone(),
        }
        .filter(|o| *o != self.number);
        DeviceCall {
            id: new_uuid(),
            call_id: event.call_id.clone(),
            state: CallState::Dialing,
            direction,
            other_number: other,
            started_at: now,
            answered_at: None,
            conference: false,
            parties: Vec::new(),
            transferred: Vec::new(),
        }
    }

    /// Makes the model match a snapshot: calls the snapshot lacks end (stale), calls it has
    /// that we did not know appear, states are corrected.
    pub fn resync(&mut self, snapshot: &[SnapshotCall], now: Timestamp) -> Outcome {
        let mut outcome = Outcome::default();
        let (kept, gone): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.calls).into_iter().partition(|c| {
                snapshot.iter().any(|s| {
                    s.call_id == c.call_id
                        && !matches!(s.local, LocalState::Null | LocalState::Failed)
                })
            });
        self.calls = kept;
        for call in gone {
            outcome.ended.push(CallEnded {
                call,
                ended_at: now,
                cause: Some("resynchronized".into()),
                diverted: false,
                failed: false,
                stale: true,
            });
        }
        for entry in snapshot {
            if matches!(entry.local, LocalState::Null | LocalState::Failed) {
                continue;
            }
            let event = CallEvent {
                device: self.number.clone(),
                call_id: entry.call_id.clone(),
                kind: if entry.local == LocalState::Connected {
                    CallEventKind::Established
                } else {
                    CallEventKind::Delivered
                },
                local: entry.local,
                calling: None,
                called: None,
                other: None,
                cause: None,
                merged_from: Vec::new(),
                parties: Vec::new(),
                sent_at_ns: None,
            };
            let before = self.position(&entry.call_id).map(|i| self.calls[i].state);
            let changed = self.apply(&event, now);
            if before != changed.changed.first().map(|c| c.state) {
                outcome.changed.extend(changed.changed);
            }
        }
        outcome
    }

    /// Ends every call (the device left the configuration).
    pub fn end_all(&mut self, now: Timestamp, cause: &str) -> Vec<CallEnded> {
        std::mem::take(&mut self.calls)
            .into_iter()
            .map(|call| CallEnded {
                call,
                ended_at: now,
                cause: Some(cause.to_string()),
                diverted: false,
                failed: false,
                stale: true,
            })
            .collect()
    }

    pub fn call(&self, id: Uuid) -> Option<&DeviceCall> {
        self.calls.iter().find(|c| c.id == id)
    }

    /// The phone's state for busy-lamp fields: the most telling of its calls.
    pub fn phone_state(&self) -> PhoneState {
        let has = |state| self.calls.iter().any(|c| c.state == state);
        if has(CallState::Connected) {
            PhoneState::Talking
        } else if has(CallState::Ringing) {
            PhoneState::Ringing
        } else if has(CallState::Dialing) {
            PhoneState::Dialing
        } else if has(CallState::Held) {
            PhoneState::Held
        } else if self.dnd {
            PhoneState::Dnd
        } else {
            PhoneState::Idle
        }
    }
}

#[cfg(test)]
mod tests;
