//! Presence: what a user chose, combined with what their phones are doing.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A phone's state, as a busy-lamp field shows it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PhoneState {
    Idle,
    /// The phone's PBX link is down: nobody can tell what the phone is doing.
    Unknown,
    Dnd,
    Held,
    Dialing,
    Ringing,
    Talking,
}

impl PhoneState {
    /// The most telling of several devices' states (talking beats ringing beats unknown
    /// beats idle).
    pub fn combine(states: impl IntoIterator<Item = PhoneState>) -> PhoneState {
        states.into_iter().max().unwrap_or(PhoneState::Idle)
    }

    pub fn on_the_phone(self) -> bool {
        matches!(
            self,
            PhoneState::Held | PhoneState::Dialing | PhoneState::Ringing | PhoneState::Talking
        )
    }
}

/// The state a user chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PresenceState {
    Available,
    Away,
    Busy,
    Dnd,
    InAMeeting,
}

impl PresenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            PresenceState::Available => "available",
            PresenceState::Away => "away",
            PresenceState::Busy => "busy",
            PresenceState::Dnd => "dnd",
            PresenceState::InAMeeting => "in_a_meeting",
        }
    }
}

impl FromStr for PresenceState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            PresenceState::Available,
            PresenceState::Away,
            PresenceState::Busy,
            PresenceState::Dnd,
            PresenceState::InAMeeting,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
        .ok_or_else(|| format!("unknown presence state `{s}`"))
    }
}

impl fmt::Display for PresenceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busiest_phone_wins() {
        assert_eq!(PhoneState::combine([]), PhoneState::Idle);
        assert_eq!(
            PhoneState::combine([PhoneState::Idle, PhoneState::Ringing, PhoneState::Held]),
            PhoneState::Ringing
        );
        assert_eq!(
            PhoneState::combine([PhoneState::Talking, PhoneState::Ringing]),
            PhoneState::Talking
        );
        assert!(!PhoneState::Dnd.on_the_phone());
        assert!(PhoneState::Held.on_the_phone());
        assert_eq!("in_a_meeting".parse(), Ok(PresenceState::InAMeeting));
        assert!("lunch".parse::<PresenceState>().is_err());
    }
}
