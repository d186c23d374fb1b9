//! [`SimConfig`]: everything a simulator is started with, with defaults that behave like
//! a small office switch. Tests shorten the timers.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use csta::{Edition, Framing};

use super::devices::DeviceSet;

/// How a simulator is set up. Build one with [`SimConfig::new`] and change fields.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where to listen; port 0 picks a free port (see `Simulator::local_addr`).
    pub listen: SocketAddr,
    /// The switch's own phones; every other number is external (through the trunk).
    pub devices: DeviceSet,
    /// How documents are delimited on every link.
    pub framing: Framing,
    /// The edition every document is written in, whatever edition a client writes.
    pub edition: Edition,
    /// How a client opens a session (or not).
    pub session: SessionPattern,
    /// How long a device rings before the call is cleared (cause `callNotAnswered`).
    pub no_answer_timeout: Duration,
    /// How long a caller hears the busy tone (connection in state `fail`) before the
    /// switch clears the connection itself.
    pub busy_tone_timeout: Duration,
    /// How the simulated far ends of external calls behave.
    pub trunk: TrunkConfig,
    /// Whether each event carries its send time (unix nanoseconds) in
    /// `<extensions><privateData><private><ucplusSentAt>`; can be changed while running.
    pub stamp_events: bool,
    /// Bounds on what clients can make the simulator hold.
    pub limits: Limits,
}

impl SimConfig {
    /// Listens on 127.0.0.1 with a free port, header framing, ed3, no session, and the
    /// default timers.
    pub fn new(devices: DeviceSet) -> SimConfig {
        SimConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            devices,
            framing: Framing::Header,
            edition: Edition::Ed3,
            session: SessionPattern::None,
            no_answer_timeout: Duration::from_secs(30),
            busy_tone_timeout: Duration::from_secs(10),
            trunk: TrunkConfig::default(),
            stamp_events: false,
            limits: Limits::default(),
        }
    }
}

/// The three ways switches in the field start a CSTA session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SessionPattern {
    /// Requests are served at once (e.g. MX-ONE without application authentication).
    #[default]
    None,
    /// ECMA-354 `StartApplicationSession` first; the session expires unless reset.
    Ecma354(Ecma354Config),
    /// OpenScape style: the switch sends `SystemStatus` at connect and as heartbeat.
    OpenScape(OpenScapeConfig),
}

/// ECMA-354 application sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ecma354Config {
    /// The vendor login expected in `applicationSpecificInfo`; `None` accepts anyone.
    pub login: Option<Login>,
    /// Seconds granted when the client asks for no duration.
    pub default_duration: u32,
    /// The most seconds granted (requests are clamped to 1..=max).
    pub max_duration: u32,
}

impl Default for Ecma354Config {
    fn default() -> Self {
        Ecma354Config {
            login: None,
            default_duration: 180,
            max_duration: 3600,
        }
    }
}

/// A user name and password, as a vendor login in `applicationSpecificInfo` carries them:
/// ```text
/// <applicationSpecificInfo><ns1:SessionLoginInfo xmlns:ns1="…">
///   <ns1:userName>ucplus</ns1:userName><ns1:password>secret</ns1:password>
/// </ns1:SessionLoginInfo></applicationSpecificInfo>
/// ```
/// Any prefix and wrapper is accepted; the user element may be named `userName`,
/// `userID`, `user`, `loginID` or `login`, the password `password`, `passwd` or `pwd`.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// OpenScape-style heartbeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenScapeConfig {
    /// Time between two `SystemStatus` heartbeats.
    pub heartbeat_interval: Duration,
    /// Unanswered heartbeats in a row after which the switch drops the link.
    pub missed_heartbeats: u32,
}

impl Default for OpenScapeConfig {
    fn default() -> Self {
        OpenScapeConfig {
            heartbeat_interval: Duration::from_secs(30),
            missed_heartbeats: 3,
        }
    }
}

/// The far ends of external calls. A dialled number ending in `busy_suffix` is busy, one
/// ending in `no_answer_suffix` rings until the no-answer timeout; any other answers after
/// `answer_delay`. Defaults: numbers ending in 0 are busy, in 9 never answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkConfig {
    pub answer_delay: Duration,
    pub busy_suffix: Option<String>,
    pub no_answer_suffix: Option<String>,
}

impl Default for TrunkConfig {
    fn default() -> Self {
        TrunkConfig {
            answer_delay: Duration::from_secs(2),
            busy_suffix: Some("0".into()),
            no_answer_suffix: Some("9".into()),
        }
    }
}

/// What the far end of an external call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FarEnd {
    Busy,
    NoAnswer,
    Answers,
}

impl TrunkConfig {
    pub(crate) fn far_end(&self, number: &str) -> FarEnd {
        let ends_with = |suffix: &Option<String>| {
            suffix
                .as_deref()
                .is_some_and(|suffix| !suffix.is_empty() && number.ends_with(suffix))
        };
        if ends_with(&self.busy_suffix) {
            FarEnd::Busy
        } else if ends_with(&self.no_answer_suffix) {
            FarEnd::NoAnswer
        } else {
            FarEnd::Answers
        }
    }
}

/// Bounds that keep a misbehaving or slow client from growing the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Client connections at once; more are closed right after accept.
    pub max_links: usize,
    /// Events queued for one client; a client that falls this far behind is dropped.
    pub client_queue: usize,
    /// Monitors in the whole switch (`overallMonitorLimitExceeded` beyond).
    pub max_monitors: usize,
    /// How long one write to a client may take before the link is dropped.
    pub write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_links: 1024,
            client_queue: 16 * 1024,
            max_monitors: 1_000_000,
            write_timeout: Duration::from_secs(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn far_end_follows_the_suffix_rules() {
        let trunk = TrunkConfig::default();
        assert_eq!(trunk.far_end("0301234560"), FarEnd::Busy);
        assert_eq!(trunk.far_end("0301234569"), FarEnd::NoAnswer);
        assert_eq!(trunk.far_end("0301234561"), FarEnd::Answers);
        let never = TrunkConfig {
            busy_suffix: None,
            no_answer_suffix: Some(String::new()),
            ..TrunkConfig::default()
        };
        assert_eq!(never.far_end("0301234560"), FarEnd::Answers);
    }

    #[test]
    fn login_debug_hides_the_password() {
        let login = Login {
            user: "ucplus".into(),
            password: "secret".into(),
        };
        assert!(!format!("{login:?}").contains("secret"));
    }
}
