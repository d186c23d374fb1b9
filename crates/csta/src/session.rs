//! ECMA-354 application sessions: how a client logs in to a switch, keeps the session
//! alive and ends it. These use the ECMA-354 namespace whatever the link's edition.
//!
//! ```text
//! client: <StartApplicationSession xmlns="http://www.ecma-international.org/standards/ecma-354/appl_session">
//!           <applicationInfo><applicationID>ucplus</applicationID></applicationInfo>
//!           <requestedProtocolVersions><protocolVersion>http://www.ecma-international.org/standards/ecma-323/csta/ed3</protocolVersion></requestedProtocolVersions>
//!           <requestedSessionDuration>180</requestedSessionDuration>
//!         </StartApplicationSession>
//! switch: <StartApplicationSessionPosResponse …><sessionID>…</sessionID><actualSessionDuration>180</actualSessionDuration>…
//! client: <ResetApplicationSessionTimer …> about every duration/2, <StopApplicationSession …> at the end
//! ```

use crate::xml::RawXml;

csta_struct! {
    /// Opens a session (client to switch).
    pub struct StartApplicationSession {
        application_info: req ApplicationInfo = "applicationInfo",
        requested_protocol_versions: opt ProtocolVersions = "requestedProtocolVersions",
        requested_session_duration: opt u32 = "requestedSessionDuration",
    }
}

csta_struct! {
    /// Who is logging in; vendor login data (user, password) stays raw XML.
    pub struct ApplicationInfo {
        application_id: req String = "applicationID",
        application_specific_info: opt RawXml = "applicationSpecificInfo",
    }
}

csta_struct! {
    /// CSTA namespaces the client can speak, preferred first.
    pub struct ProtocolVersions {
        versions: list String = "protocolVersion",
    }
}

csta_struct! {
    /// The session is open.
    pub struct StartApplicationSessionPosResponse {
        session_id: req String = "sessionID",
        actual_protocol_version: opt String = "actualProtocolVersion",
        actual_session_duration: opt u32 = "actualSessionDuration",
    }
}

csta_struct! {
    /// The switch refused the session.
    pub struct StartApplicationSessionNegResponse {
        error_code: opt SessionErrorCode = "errorCode",
    }
}

csta_struct! {
    /// Why a session request failed, e.g. `<definedError>invalidApplicationInfo</definedError>`.
    pub struct SessionErrorCode {
        defined_error: opt String = "definedError",
    }
}

csta_struct! {
    /// Keep-alive: restarts the session timer.
    pub struct ResetApplicationSessionTimer {
        session_id: req String = "sessionID",
        requested_session_duration: opt u32 = "requestedSessionDuration",
    }
}

csta_struct! {
    pub struct ResetApplicationSessionTimerPosResponse {
        actual_session_duration: opt u32 = "actualSessionDuration",
    }
}

csta_struct! {
    pub struct ResetApplicationSessionTimerNegResponse {
        error_code: opt SessionErrorCode = "errorCode",
    }
}

csta_struct! {
    /// Ends the session.
    pub struct StopApplicationSession {
        session_id: req String = "sessionID",
        session_end_reason: opt SessionEndReason = "sessionEndReason",
    }
}

csta_struct! {
    /// e.g. `<appEndReason>normal</appEndReason>`.
    pub struct SessionEndReason {
        app_end_reason: opt String = "appEndReason",
    }
}

csta_struct! {
    pub struct StopApplicationSessionPosResponse {}
}
