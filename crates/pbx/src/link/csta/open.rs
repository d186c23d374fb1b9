//! Opening the session: ECMA-354 StartApplicationSession, the OpenScape-style SystemStatus
//! + SystemRegister, or none; and the blocking request/answer exchange they use.

use std::time::Instant;

use csta::{
    ApplicationInfo, CstaErrorCode, Message, MessageKind, ProtocolVersions, RawXml, RequestTypes,
    StartApplicationSession, SystemRegister,
};

use super::{LinkFailure, Purpose, Session, SessionPattern};

impl Session<'_> {
    /// Reads until the answer to `id` arrives (session start only), answering heartbeats.
    async fn call(&mut self, message: Message) -> Result<Message, LinkFailure> {
        let id = self
            .pending
            .insert(
                Purpose::Internal,
                Instant::now() + self.config.request_timeout,
            )
            .map_err(LinkFailure::NoInvokeId)?;
        self.connection
            .send(id, &message)
            .await
            .map_err(LinkFailure::Write)?;
        let deadline = tokio::time::Instant::now() + self.config.request_timeout;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.connection.read_frame())
                .await
                .map_err(|_| LinkFailure::NoAnswer {
                    request: message.name().to_string(),
                    timeout: self.config.request_timeout,
                })??;
            self.last_heard = Instant::now();
            let Ok(answer) = csta::decode(&frame.xml) else {
                continue;
            };
            if let Message::SystemStatus(_) = answer {
                self.answer_system_status(frame.invoke_id).await?;
                continue;
            }
            if frame.invoke_id.is_none_or(|i| i == id)
                && !matches!(answer.kind(), MessageKind::Event)
            {
                self.pending.complete(id);
                return Ok(answer);
            }
        }
    }

    /// Opens the session the switch expects.
    pub(super) async fn open(&mut self) -> Result<(), LinkFailure> {
        self.session = match self.config.session {
            SessionPattern::Ecma354 => {
                self.start_ecma354()
                    .await?
                    .map_err(LinkFailure::SessionUnsupported)?;
                SessionPattern::Ecma354
            }
            SessionPattern::Auto => match self.start_ecma354().await? {
                Ok(()) => SessionPattern::Ecma354,
                Err(error) => {
                    tracing::info!(host = %self.config.host, port = self.config.port, error = %format!("{} {}", error.category.as_str(), error.value), "the PBX does not open ECMA-354 sessions; going on without a session");
                    SessionPattern::None
                }
            },
            SessionPattern::SystemStatus => {
                self.register_system_status().await?;
                SessionPattern::SystemStatus
            }
            SessionPattern::None => SessionPattern::None,
        };
        Ok(())
    }

    /// ECMA-354 StartApplicationSession. `Ok(Err(error))`: the switch answered with a CSTA
    /// error (it has no sessions); `Err`: it refused us (login) or did not answer.
    async fn start_ecma354(&mut self) -> Result<Result<(), CstaErrorCode>, LinkFailure> {
        let login = self.config.login.as_ref().map(|(user, password)| {
            RawXml(format!(
                "<applicationSpecificInfo><login><user>{}</user><password>{}</password></login></applicationSpecificInfo>",
                escape(user),
                escape(password)
            ))
        });
        let start: Message = StartApplicationSession {
            application_info: ApplicationInfo {
                application_id: self.config.application_id.clone(),
                application_specific_info: login,
                extra: Default::default(),
            },
            requested_protocol_versions: Some(ProtocolVersions {
                versions: vec![self.config.edition.namespace().to_string()],
                extra: Default::default(),
            }),
            requested_session_duration: Some(self.session_duration()),
            extra: Default::default(),
        }
        .into();
        match self.call(start).await? {
            Message::StartApplicationSessionPosResponse(ok) => {
                self.session_id = Some(ok.session_id);
                Ok(Ok(()))
            }
            Message::StartApplicationSessionNegResponse(refused) => {
                Err(LinkFailure::SessionRefused {
                    reason: refused.error_code.and_then(|c| c.defined_error),
                })
            }
            Message::CstaErrorCode(e) => Ok(Err(e)),
            other => Err(LinkFailure::UnexpectedAnswer {
                request: "StartApplicationSession",
                answer: other.name().to_string(),
            }),
        }
    }

    /// The OpenScape pattern: the switch's SystemStatus first, then our SystemRegister.
    async fn register_system_status(&mut self) -> Result<(), LinkFailure> {
        {
            {
                // The switch speaks first.
                let deadline = tokio::time::Instant::now() + self.config.request_timeout;
                loop {
                    let frame = tokio::time::timeout_at(deadline, self.connection.read_frame())
                        .await
                        .map_err(|_| LinkFailure::NoSystemStatus)??;
                    if let Ok(Message::SystemStatus(_)) = csta::decode(&frame.xml) {
                        self.answer_system_status(frame.invoke_id).await?;
                        break;
                    }
                }
                let register: Message = SystemRegister {
                    request_types: Some(RequestTypes {
                        system_status: Some(true),
                        extra: Default::default(),
                    }),
                    extra: Default::default(),
                }
                .into();
                match self.call(register).await? {
                    Message::SystemRegisterResponse(_) => Ok(()),
                    Message::CstaErrorCode(e) => Err(LinkFailure::RegisterRefused(e)),
                    other => Err(LinkFailure::UnexpectedAnswer {
                        request: "SystemRegister",
                        answer: other.name().to_string(),
                    }),
                }
            }
        }
    }

    /// Seconds requested for an ECMA-354 session: two keep-alive periods.
    pub(super) fn session_duration(&self) -> u32 {
        u32::try_from(
            self.config
                .heartbeat_interval
                .as_secs()
                .saturating_mul(2)
                .max(10),
        )
        .unwrap_or(u32::MAX)
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
