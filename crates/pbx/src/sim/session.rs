//! The session pattern of one link, as a state machine without I/O: the link feeds it
//! each decoded message and its timer, and does what it says.
//!
//! ```text
//! ECMA-354   client StartApplicationSession ─▶ PosResponse (or NegResponse: wrong login)
//!            client ResetApplicationSessionTimer within the duration, else the link is dropped
//!            client StopApplicationSession ─▶ PosResponse, monitors stopped, link stays open
//!            other requests before a session ─▶ CSTAErrorCode operation/securityViolation
//! OpenScape  switch SystemStatus at connect and every heartbeat interval
//!            client SystemStatusResponse (same invoke id); N unanswered in a row drop the link
//! None       every request is served at once
//! ```

use csta::{
    CstaErrorCode, Edition, ErrorCategory, InvokeId, Message, MessageKind, RawXml,
    ResetApplicationSessionTimer, ResetApplicationSessionTimerNegResponse,
    ResetApplicationSessionTimerPosResponse, SessionErrorCode, StartApplicationSession,
    StartApplicationSessionNegResponse, StartApplicationSessionPosResponse, StopApplicationSession,
    StopApplicationSessionPosResponse,
};
use tokio::time::{Duration, Instant};

use super::config::{Ecma354Config, Login, OpenScapeConfig, SessionPattern};
use super::timers::after;

/// What the link does with a message after the session has seen it.
#[derive(Debug, PartialEq)]
pub(crate) enum Step {
    /// Not a session matter: serve it as a request.
    Serve,
    /// Send this answer and nothing else.
    Answer(Message),
    /// Send this answer; the session is over, so the link's monitors stop.
    AnswerAndEnd(Message),
    /// Nothing to send (e.g. the answer to a heartbeat).
    Nothing,
}

/// What the link does when the session's deadline has come.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Due {
    Nothing,
    /// Send a `SystemStatus` heartbeat and report it with [`Session::heartbeat_sent`].
    Heartbeat,
    /// Drop the link (session expired or heartbeats missed).
    Expired,
}

/// One link's session; see the module docs.
#[derive(Debug)]
pub(crate) enum Session {
    Open,
    Ecma354 {
        config: Ecma354Config,
        edition: Edition,
        link: u64,
        started: u64,
        active: Option<Active>,
    },
    OpenScape {
        config: OpenScapeConfig,
        next_heartbeat: Instant,
        /// The unanswered heartbeat's invoke id (`Some(None)` in the NUL framing).
        outstanding: Option<Option<InvokeId>>,
        missed: u32,
    },
}

#[derive(Debug)]
pub(crate) struct Active {
    id: String,
    duration: u32,
    expires: Instant,
}

impl Session {
    pub(crate) fn new(pattern: &SessionPattern, edition: Edition, link: u64) -> Session {
        match pattern {
            SessionPattern::None => Session::Open,
            SessionPattern::Ecma354(config) => Session::Ecma354 {
                config: config.clone(),
                edition,
                link,
                started: 0,
                active: None,
            },
            SessionPattern::OpenScape(config) => Session::OpenScape {
                config: *config,
                next_heartbeat: Instant::now(),
                outstanding: None,
                missed: 0,
            },
        }
    }

    /// Whether the switch speaks first (OpenScape: `SystemStatus` right after connect).
    pub(crate) fn greets(&self) -> bool {
        matches!(self, Session::OpenScape { .. })
    }

    /// When [`Session::on_deadline`] must run next.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self {
            Session::Open => None,
            Session::Ecma354 { active, .. } => active.as_ref().map(|active| active.expires),
            Session::OpenScape { next_heartbeat, .. } => Some(*next_heartbeat),
        }
    }

    /// The deadline has come; `silent` switches send no heartbeats and expect no answers.
    pub(crate) fn on_deadline(&mut self, now: Instant, silent: bool) -> Due {
        match self {
            Session::Open => Due::Nothing,
            Session::Ecma354 { active, .. } => match active {
                Some(active) if active.expires <= now => Due::Expired,
                _ => Due::Nothing,
            },
            Session::OpenScape {
                config,
                next_heartbeat,
                outstanding,
                missed,
            } => {
                if silent {
                    *outstanding = None;
                    *next_heartbeat = after(now, config.heartbeat_interval);
                    return Due::Nothing;
                }
                if outstanding.is_some() {
                    *missed += 1;
                    if *missed >= config.missed_heartbeats.max(1) {
                        return Due::Expired;
                    }
                }
                Due::Heartbeat
            }
        }
    }

    /// A heartbeat went out under `invoke_id`.
    pub(crate) fn heartbeat_sent(&mut self, invoke_id: Option<InvokeId>, now: Instant) {
        if let Session::OpenScape {
            config,
            next_heartbeat,
            outstanding,
            ..
        } = self
        {
            *outstanding = Some(invoke_id);
            *next_heartbeat = after(now, config.heartbeat_interval);
        }
    }

    /// Sees a message from the client before it is served.
    pub(crate) fn on_message(
        &mut self,
        message: &Message,
        invoke_id: Option<InvokeId>,
        now: Instant,
    ) -> Step {
        match self {
            Session::Open => Step::Serve,
            Session::OpenScape {
                outstanding,
                missed,
                ..
            } => {
                let answers_heartbeat =
                    matches!(message.kind(), MessageKind::Response | MessageKind::Error)
                        && outstanding
                            .is_some_and(|expected| expected.is_none() || expected == invoke_id);
                if answers_heartbeat {
                    *outstanding = None;
                    *missed = 0;
                    Step::Nothing
                } else if matches!(message, Message::SystemStatusResponse(_)) {
                    Step::Nothing
                } else {
                    Step::Serve
                }
            }
            Session::Ecma354 {
                config,
                edition,
                link,
                started,
                active,
            } => match message {
                Message::StartApplicationSession(request) => {
                    if !login_accepted(config.login.as_ref(), request) {
                        return Step::Answer(start_refused());
                    }
                    *started += 1;
                    let duration = clamp_duration(request.requested_session_duration, config, None);
                    let id = format!("sim-{link}-{started}");
                    let answer = StartApplicationSessionPosResponse {
                        session_id: id.clone(),
                        actual_protocol_version: Some(edition.namespace().to_string()),
                        actual_session_duration: Some(duration),
                        extra: Default::default(),
                    };
                    *active = Some(Active {
                        id,
                        duration,
                        expires: after(now, Duration::from_secs(duration.into())),
                    });
                    Step::Answer(answer.into())
                }
                Message::ResetApplicationSessionTimer(request) => {
                    Step::Answer(reset(config, active, request, now))
                }
                Message::StopApplicationSession(request) => stop(active, request),
                _ if active.is_some() => Step::Serve,
                other if matches!(other.kind(), MessageKind::Request | MessageKind::Unknown) => {
                    Step::Answer(
                        CstaErrorCode::new(ErrorCategory::Operation, "securityViolation").into(),
                    )
                }
                _ => Step::Serve,
            },
        }
    }
}

fn clamp_duration(requested: Option<u32>, config: &Ecma354Config, current: Option<u32>) -> u32 {
    requested
        .or(current)
        .unwrap_or(config.default_duration)
        .clamp(1, config.max_duration.max(1))
}

fn reset(
    config: &Ecma354Config,
    active: &mut Option<Active>,
    request: &ResetApplicationSessionTimer,
    now: Instant,
) -> Message {
    match active {
        Some(active) if active.id == request.session_id.trim() => {
            active.duration = clamp_duration(
                request.requested_session_duration,
                config,
                Some(active.duration),
            );
            active.expires = after(now, Duration::from_secs(active.duration.into()));
            ResetApplicationSessionTimerPosResponse {
                actual_session_duration: Some(active.duration),
                extra: Default::default(),
            }
            .into()
        }
        _ => ResetApplicationSessionTimerNegResponse {
            error_code: Some(session_error("invalidSessionID")),
            extra: Default::default(),
        }
        .into(),
    }
}

fn stop(active: &mut Option<Active>, request: &StopApplicationSession) -> Step {
    match active {
        Some(session) if session.id == request.session_id.trim() => {
            *active = None;
            Step::AnswerAndEnd(
                StopApplicationSessionPosResponse {
                    extra: Default::default(),
                }
                .into(),
            )
        }
        _ => Step::Answer(
            CstaErrorCode::new(ErrorCategory::Operation, "requestIncompatibleWithObject").into(),
        ),
    }
}

fn session_error(defined_error: &str) -> SessionErrorCode {
    SessionErrorCode {
        defined_error: Some(defined_error.to_string()),
        extra: Default::default(),
    }
}

fn start_refused() -> Message {
    StartApplicationSessionNegResponse {
        error_code: Some(session_error("invalidApplicationInfo")),
        extra: Default::default(),
    }
    .into()
}

const USER_ELEMENTS: &[&str] = &["userName", "userID", "user", "loginID", "login"];
const PASSWORD_ELEMENTS: &[&str] = &["password", "passwd", "pwd"];

/// Whether the vendor login in `applicationSpecificInfo` is the expected one (see
/// [`Login`] for the accepted shapes); anyone is accepted when none is expected.
fn login_accepted(expected: Option<&Login>, request: &StartApplicationSession) -> bool {
    let Some(expected) = expected else {
        return true;
    };
    let info = request
        .application_info
        .application_specific_info
        .as_ref()
        .map_or("", |RawXml(xml)| xml.as_str());
    element_text(info, USER_ELEMENTS).is_some_and(|user| user == expected.user)
        && element_text(info, PASSWORD_ELEMENTS)
            .is_some_and(|password| password == expected.password)
}

/// The text of the first element (any prefix) whose local name is one of `names`.
fn element_text(xml: &str, names: &[&str]) -> Option<String> {
    let mut rest = xml;
    // Each turn consumes at least one `<…>`: bounded by the input length.
    while let Some((_, after_open)) = rest.split_once('<') {
        let (tag, after_tag) = after_open.split_once('>')?;
        rest = after_tag;
        if tag.starts_with(['/', '?', '!']) || tag.ends_with('/') {
            continue;
        }
        let name = tag.split_whitespace().next().unwrap_or_default();
        let local = name.rsplit(':').next().unwrap_or_default();
        // A wrapper such as `<login><user>…` holds elements, not the value: look inside.
        let text = rest.split('<').next().unwrap_or_default();
        let wraps = text.trim().is_empty() && !rest.trim_start().starts_with("</");
        if names.contains(&local) && !wraps {
            return Some(unescape(text.trim()));
        }
    }
    None
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests;
