//! The link's configuration: how the session starts, where the switch is, and the timers.

use std::time::Duration;

use csta::{Edition, Framing};

use super::TlsSettings;

/// How the session with the switch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionPattern {
    /// ECMA-354 StartApplicationSession; kept alive with ResetApplicationSessionTimer.
    Ecma354,
    /// The switch sends SystemStatus (also as its heartbeat); we register with SystemRegister.
    SystemStatus,
    /// Requests are accepted at once; probed with RequestSystemStatus.
    None,
    /// ECMA-354 when the switch speaks it; none when it refuses StartApplicationSession
    /// with a CSTA error (a switch without sessions). The default for new links.
    Auto,
}

impl SessionPattern {
    pub fn parse(text: &str) -> Option<SessionPattern> {
        match text {
            "auto" => Some(SessionPattern::Auto),
            "ecma354" | "ecma-354" => Some(SessionPattern::Ecma354),
            "system_status" | "systemstatus" => Some(SessionPattern::SystemStatus),
            "none" => Some(SessionPattern::None),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SessionPattern::Ecma354 => "ecma354",
            SessionPattern::SystemStatus => "system_status",
            SessionPattern::None => "none",
            SessionPattern::Auto => "auto",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CstaLinkConfig {
    pub host: String,
    pub port: u16,
    pub session: SessionPattern,
    /// Vendor login carried in `applicationSpecificInfo` (ECMA-354).
    pub login: Option<(String, String)>,
    pub application_id: String,
    pub edition: Edition,
    pub framing: Framing,
    /// Our keep-alive period, and the switch's expected heartbeat period.
    pub heartbeat_interval: Duration,
    /// Silence from the switch after which the link is considered dead.
    pub heartbeat_timeout: Duration,
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// TLS, when the PBX's CSTA port speaks it.
    pub tls: Option<TlsSettings>,
    /// Requests in flight at most; more wait in order (call control first, then monitors
    /// and snapshots), so our own traffic never runs out of invoke ids and a slow switch
    /// slows the start-up instead of breaking it.
    pub window: usize,
    /// Checked before connecting and before each write (several nodes: the node's lease).
    pub lease: crate::link::Lease,
}

impl CstaLinkConfig {
    pub fn new(host: impl Into<String>, port: u16) -> CstaLinkConfig {
        CstaLinkConfig {
            lease: crate::link::Lease::always(),
            host: host.into(),
            port,
            session: SessionPattern::Auto,
            login: None,
            application_id: "ucplus".into(),
            edition: Edition::Ed3,
            framing: Framing::Header,
            heartbeat_interval: Duration::from_secs(30),
            heartbeat_timeout: Duration::from_secs(90),
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            tls: None,
            window: 64,
        }
    }
}
