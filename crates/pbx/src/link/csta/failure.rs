//! Why a running CSTA link went down: one [`LinkFailure`] per kind of failure, each with a
//! stable [`LinkFailure::code`] for logs and metrics and a text for people.
//!
//! A link that cannot start at all (bad settings) is refused with a
//! [`LinkError`](crate::link::kinds::LinkError) instead; a `LinkFailure` ends one
//! connection, after which the link reconnects. Its text reaches the engine as the link's
//! down reason.

use std::time::Duration;

use csta::{CstaErrorCode, FrameError, PendingFull};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{InvalidDnsNameError, pem};

/// Why a connection to the PBX ended. The underlying error, where there is one, is kept in
/// the variant and is part of the text (it is not also returned by `source()`, so that a
/// report walking the chain does not say it twice).
#[derive(Debug, thiserror::Error)]
pub enum LinkFailure {
    /// This node's cluster lease lapsed: it may not talk to the switch.
    #[error("this node's lease lapsed: it does not talk to the switch")]
    LeaseLapsed,
    /// No TCP connection within the connect timeout.
    #[error("no connection to {host}:{port} within {timeout:?}")]
    ConnectTimeout {
        host: String,
        port: u16,
        timeout: Duration,
    },
    /// The TCP connection was refused or failed.
    #[error("connecting to {host}:{port}: {error}")]
    Connect {
        host: String,
        port: u16,
        error: std::io::Error,
    },
    /// The TLS library refused the protocol versions.
    #[error("TLS: {0}")]
    TlsConfig(rustls::Error),
    /// TLS with verification, but no trusted certificate configured.
    #[error("TLS with verification needs the PBX's CA or certificate (tls_ca_file)")]
    TlsNoTrustedCertificates,
    /// The trusted certificate file is not PEM.
    #[error("the trusted certificates are not valid PEM: {0}")]
    TlsBadPem(pem::Error),
    /// A trusted certificate cannot serve as a root.
    #[error("a trusted certificate is not usable: {0}")]
    TlsUnusableCertificate(rustls::Error),
    /// The trusted certificate file is PEM without any certificate.
    #[error("the trusted certificate file holds no certificate")]
    TlsEmptyTrustFile,
    /// The name to verify the PBX's certificate against is not a DNS name or address.
    #[error("`{name}` is not a valid TLS server name")]
    TlsServerName {
        name: String,
        error: InvalidDnsNameError,
    },
    /// No TLS handshake within the connect timeout.
    #[error("no TLS handshake with the PBX in time")]
    TlsTimeout,
    /// The TLS handshake failed (certificate, name, protocol).
    #[error("TLS handshake with the PBX failed: {0}")]
    TlsHandshake(std::io::Error),
    /// Sending a request failed.
    #[error("writing to the PBX: {0}")]
    Write(std::io::Error),
    /// Answering the switch's SystemStatus (its heartbeat) failed.
    #[error("answering the PBX heartbeat: {0}")]
    HeartbeatAnswer(std::io::Error),
    /// The PBX closed the connection.
    #[error("the PBX closed the connection")]
    PbxClosed,
    /// Reading failed.
    #[error("reading from the PBX: {0}")]
    Read(std::io::Error),
    /// A frame with a bad header while the session was opening.
    #[error("the PBX sent a broken frame: {0}")]
    BrokenFrame(FrameError),
    /// A frame with a bad header on an open session: the byte stream is no longer in step.
    #[error("the PBX sent a broken frame ({0}); reconnecting to get back in step")]
    OutOfStep(FrameError),
    /// Nothing heard from the PBX for longer than the heartbeat timeout.
    #[error("the PBX has been silent for {} s (heartbeat timeout)", .silent.as_secs())]
    PbxSilent { silent: Duration },
    /// No answer to a request of the session's opening in time.
    #[error("no answer to {request} within {timeout:?}")]
    NoAnswer { request: String, timeout: Duration },
    /// The switch did not speak first (the SystemStatus pattern).
    #[error("the PBX sent no SystemStatus after connecting")]
    NoSystemStatus,
    /// Every invoke id was in use while the session was opening.
    #[error("no free invoke id")]
    NoInvokeId(PendingFull),
    /// Every invoke id is awaiting an answer.
    #[error("too many requests in flight ({})", .0.code())]
    InvokeIdsExhausted(PendingFull),
    /// The switch refused the ECMA-354 session (StartApplicationSessionNegResponse, e.g.
    /// a bad login), with its `definedError` when it gave one.
    #[error("the PBX refused the session: {}", .reason.as_deref().unwrap_or("no reason given"))]
    SessionRefused { reason: Option<String> },
    /// The switch answered StartApplicationSession with a CSTA error (it has no sessions)
    /// although the link is set to ECMA-354.
    #[error("the PBX refused StartApplicationSession: {} {}", .0.category.as_str(), .0.value)]
    SessionUnsupported(CstaErrorCode),
    /// The switch answered SystemRegister with a CSTA error.
    #[error("SystemRegister refused: {} {}", .0.category.as_str(), .0.value)]
    RegisterRefused(CstaErrorCode),
    /// The switch answered a request of the session's opening with another message.
    #[error("unexpected answer to {request}: {answer}")]
    UnexpectedAnswer {
        request: &'static str,
        answer: String,
    },
    /// The engine no longer takes the link's events.
    #[error("the engine stopped")]
    EngineStopped,
}

impl LinkFailure {
    /// A stable name for the kind of failure, for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            LinkFailure::LeaseLapsed => "csta_lease_lapsed",
            LinkFailure::ConnectTimeout { .. } => "csta_connect_timeout",
            LinkFailure::Connect { .. } => "csta_connect_failed",
            LinkFailure::TlsConfig(_) => "csta_tls_config_failed",
            LinkFailure::TlsNoTrustedCertificates => "csta_tls_no_trusted_certificates",
            LinkFailure::TlsBadPem(_) => "csta_tls_bad_pem",
            LinkFailure::TlsUnusableCertificate(_) => "csta_tls_unusable_certificate",
            LinkFailure::TlsEmptyTrustFile => "csta_tls_empty_trust_file",
            LinkFailure::TlsServerName { .. } => "csta_tls_bad_server_name",
            LinkFailure::TlsTimeout => "csta_tls_timeout",
            LinkFailure::TlsHandshake(_) => "csta_tls_failed",
            LinkFailure::Write(_) => "csta_write_failed",
            LinkFailure::HeartbeatAnswer(_) => "csta_heartbeat_answer_failed",
            LinkFailure::PbxClosed => "csta_pbx_closed",
            LinkFailure::Read(_) => "csta_read_failed",
            LinkFailure::BrokenFrame(_) => "csta_broken_frame",
            LinkFailure::OutOfStep(_) => "csta_out_of_step",
            LinkFailure::PbxSilent { .. } => "csta_pbx_silent",
            LinkFailure::NoAnswer { .. } => "csta_no_answer",
            LinkFailure::NoSystemStatus => "csta_no_system_status",
            LinkFailure::NoInvokeId(_) => "csta_no_invoke_id",
            LinkFailure::InvokeIdsExhausted(_) => "csta_invoke_ids_exhausted",
            LinkFailure::SessionRefused { .. } => "csta_session_refused",
            LinkFailure::SessionUnsupported(_) => "csta_session_unsupported",
            LinkFailure::RegisterRefused(_) => "csta_register_refused",
            LinkFailure::UnexpectedAnswer { .. } => "csta_unexpected_answer",
            LinkFailure::EngineStopped => "csta_engine_stopped",
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::io::{Error, ErrorKind};

    use csta::ErrorCategory;

    use super::*;

    /// One of each variant.
    fn every_failure() -> Vec<LinkFailure> {
        let io = || Error::new(ErrorKind::BrokenPipe, "broken pipe");
        let frame = || FrameError::Truncated { buffered: 3 };
        vec![
            LinkFailure::LeaseLapsed,
            LinkFailure::ConnectTimeout {
                host: "pbx".into(),
                port: 1040,
                timeout: Duration::from_secs(5),
            },
            LinkFailure::Connect {
                host: "pbx".into(),
                port: 1040,
                error: io(),
            },
            LinkFailure::TlsConfig(rustls::Error::General("no".into())),
            LinkFailure::TlsNoTrustedCertificates,
            LinkFailure::TlsBadPem(pem::Error::MissingSectionEnd {
                end_marker: Vec::new(),
            }),
            LinkFailure::TlsUnusableCertificate(rustls::Error::General("no".into())),
            LinkFailure::TlsEmptyTrustFile,
            LinkFailure::TlsServerName {
                name: "a b".into(),
                error: InvalidDnsNameError,
            },
            LinkFailure::TlsTimeout,
            LinkFailure::TlsHandshake(io()),
            LinkFailure::Write(io()),
            LinkFailure::HeartbeatAnswer(io()),
            LinkFailure::PbxClosed,
            LinkFailure::Read(io()),
            LinkFailure::BrokenFrame(frame()),
            LinkFailure::OutOfStep(frame()),
            LinkFailure::PbxSilent {
                silent: Duration::from_secs(91),
            },
            LinkFailure::NoAnswer {
                request: "SystemRegister".into(),
                timeout: Duration::from_secs(5),
            },
            LinkFailure::NoSystemStatus,
            LinkFailure::NoInvokeId(PendingFull),
            LinkFailure::InvokeIdsExhausted(PendingFull),
            LinkFailure::SessionRefused { reason: None },
            LinkFailure::SessionUnsupported(CstaErrorCode::new(
                ErrorCategory::Operation,
                "invalidMessageID",
            )),
            LinkFailure::RegisterRefused(CstaErrorCode::new(
                ErrorCategory::Security,
                "requestIncompatibleWithObject",
            )),
            LinkFailure::UnexpectedAnswer {
                request: "SystemRegister",
                answer: "MonitorStartResponse".into(),
            },
            LinkFailure::EngineStopped,
        ]
    }

    #[test]
    fn codes_are_stable_and_distinct() {
        // Logs and dashboards key on these: a rename is a breaking change.
        let codes = [
            "csta_lease_lapsed",
            "csta_connect_timeout",
            "csta_connect_failed",
            "csta_tls_config_failed",
            "csta_tls_no_trusted_certificates",
            "csta_tls_bad_pem",
            "csta_tls_unusable_certificate",
            "csta_tls_empty_trust_file",
            "csta_tls_bad_server_name",
            "csta_tls_timeout",
            "csta_tls_failed",
            "csta_write_failed",
            "csta_heartbeat_answer_failed",
            "csta_pbx_closed",
            "csta_read_failed",
            "csta_broken_frame",
            "csta_out_of_step",
            "csta_pbx_silent",
            "csta_no_answer",
            "csta_no_system_status",
            "csta_no_invoke_id",
            "csta_invoke_ids_exhausted",
            "csta_session_refused",
            "csta_session_unsupported",
            "csta_register_refused",
            "csta_unexpected_answer",
            "csta_engine_stopped",
        ];
        let failures = every_failure();
        let actual: Vec<&str> = failures.iter().map(LinkFailure::code).collect();
        assert_eq!(actual, codes);
        let distinct: BTreeSet<&str> = codes.into_iter().collect();
        assert_eq!(distinct.len(), codes.len(), "a code is used twice");
    }

    #[test]
    fn texts_are_those_the_link_always_gave() {
        let io = || Error::new(ErrorKind::ConnectionRefused, "connection refused");
        let texts = [
            (
                LinkFailure::ConnectTimeout {
                    host: "10.0.0.5".into(),
                    port: 1040,
                    timeout: Duration::from_secs(5),
                },
                "no connection to 10.0.0.5:1040 within 5s",
            ),
            (
                LinkFailure::Connect {
                    host: "10.0.0.5".into(),
                    port: 1040,
                    error: io(),
                },
                "connecting to 10.0.0.5:1040: connection refused",
            ),
            (
                LinkFailure::TlsHandshake(io()),
                "TLS handshake with the PBX failed: connection refused",
            ),
            (
                LinkFailure::TlsServerName {
                    name: "a b".into(),
                    error: InvalidDnsNameError,
                },
                "`a b` is not a valid TLS server name",
            ),
            (
                LinkFailure::PbxSilent {
                    silent: Duration::from_millis(91_700),
                },
                "the PBX has been silent for 91 s (heartbeat timeout)",
            ),
            (LinkFailure::PbxClosed, "the PBX closed the connection"),
            (
                LinkFailure::OutOfStep(FrameError::TooLarge {
                    length: 70_000,
                    max: 65_536,
                }),
                "the PBX sent a broken frame (CSTA frame of 70000 bytes exceeds the limit of 65536 bytes); reconnecting to get back in step",
            ),
            (
                LinkFailure::NoAnswer {
                    request: "StartApplicationSession".into(),
                    timeout: Duration::from_millis(1500),
                },
                "no answer to StartApplicationSession within 1.5s",
            ),
            (
                LinkFailure::InvokeIdsExhausted(PendingFull),
                "too many requests in flight (csta_invoke_ids_exhausted)",
            ),
            (
                LinkFailure::SessionRefused { reason: None },
                "the PBX refused the session: no reason given",
            ),
            (
                LinkFailure::SessionRefused {
                    reason: Some("invalidApplicationInfo".into()),
                },
                "the PBX refused the session: invalidApplicationInfo",
            ),
            (
                LinkFailure::SessionUnsupported(CstaErrorCode::new(
                    ErrorCategory::Operation,
                    "invalidMessageID",
                )),
                "the PBX refused StartApplicationSession: operation invalidMessageID",
            ),
            (
                LinkFailure::RegisterRefused(CstaErrorCode::new(
                    ErrorCategory::SystemResourceAvailability,
                    "resourceBusy",
                )),
                "SystemRegister refused: systemResourceAvailibility resourceBusy",
            ),
            (
                LinkFailure::UnexpectedAnswer {
                    request: "SystemRegister",
                    answer: "MonitorStartResponse".into(),
                },
                "unexpected answer to SystemRegister: MonitorStartResponse",
            ),
            (LinkFailure::EngineStopped, "the engine stopped"),
        ];
        for (failure, text) in texts {
            assert_eq!(failure.to_string(), text, "{}", failure.code());
        }
    }
}
