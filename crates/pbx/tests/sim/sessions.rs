//! The three session patterns, framing and edition.

use std::time::Duration;

use csta::{Edition, Framing, Message};
use pbx::sim::{Ecma354Config, Login, OpenScapeConfig, SessionPattern};
use tokio::time::Instant;

use crate::client::*;

fn start_session(password: &str, duration: u32) -> Message {
    xml(&format!(
        r#"<StartApplicationSession xmlns="http://www.ecma-international.org/standards/ecma-354/appl_session">
             <applicationInfo><applicationID>ucplus</applicationID>
               <applicationSpecificInfo><ns1:SessionLoginInfo xmlns:ns1="http://www.avaya.com/csta">
                 <ns1:userName>ucplus</ns1:userName><ns1:password>{password}</ns1:password>
               </ns1:SessionLoginInfo></applicationSpecificInfo>
             </applicationInfo>
             <requestedProtocolVersions><protocolVersion>http://www.ecma-international.org/standards/ecma-323/csta/ed3</protocolVersion></requestedProtocolVersions>
             <requestedSessionDuration>{duration}</requestedSessionDuration>
           </StartApplicationSession>"#
    ))
}

fn session_request(name: &str, session_id: &str) -> Message {
    xml(&format!(
        "<{name}><sessionID>{session_id}</sessionID></{name}>"
    ))
}

fn ecma354_config() -> pbx::sim::SimConfig {
    let mut config = config();
    config.session = SessionPattern::Ecma354(Ecma354Config {
        login: Some(Login {
            user: "ucplus".into(),
            password: "secret".into(),
        }),
        ..Ecma354Config::default()
    });
    config
}

#[tokio::test]
async fn ecma354_login_reset_and_stop() {
    let simulator = start(ecma354_config()).await;
    let mut client = Client::connect(simulator.local_addr()).await;

    let refused = client.request(monitor_start("200")).await;
    assert_eq!(error_of(&refused), "operation/securityViolation");

    let wrong = client.request(start_session("guess", 60)).await;
    let Message::StartApplicationSessionNegResponse(negative) = &wrong else {
        panic!("{wrong:?}")
    };
    let defined = negative
        .error_code
        .as_ref()
        .and_then(|e| e.defined_error.as_deref());
    assert_eq!(defined, Some("invalidApplicationInfo"));

    let accepted = client.request(start_session("secret", 60)).await;
    let Message::StartApplicationSessionPosResponse(positive) = &accepted else {
        panic!("{accepted:?}")
    };
    assert_eq!(positive.actual_session_duration, Some(60));
    let session_id = positive.session_id.clone();
    client.monitor("200").await;

    let reset = client
        .request(session_request("ResetApplicationSessionTimer", &session_id))
        .await;
    assert_eq!(reset.name(), "ResetApplicationSessionTimerPosResponse");
    let reset = client
        .request(session_request("ResetApplicationSessionTimer", "other"))
        .await;
    assert_eq!(reset.name(), "ResetApplicationSessionTimerNegResponse");

    let stop = client
        .request(session_request("StopApplicationSession", &session_id))
        .await;
    assert_eq!(stop.name(), "StopApplicationSessionPosResponse");
    // The session's monitors are gone and requests need a new session; the link stays.
    simulator.dial("200", "201").unwrap();
    client.no_more_events().await;
    let refused = client.request(monitor_start("200")).await;
    assert_eq!(error_of(&refused), "operation/securityViolation");
    assert_eq!(simulator.stats().connections_open, 1);
}

#[tokio::test]
async fn ecma354_session_expires_unless_reset() {
    let simulator = start(ecma354_config()).await;
    let mut client = Client::connect(simulator.local_addr()).await;
    let duration = Duration::from_secs(2);
    let accepted = client.request(start_session("secret", 2)).await;
    let answered = Instant::now();
    let Message::StartApplicationSessionPosResponse(positive) = &accepted else {
        panic!("{accepted:?}")
    };
    assert_eq!(positive.actual_session_duration, Some(2));
    // A quarter of the way in, the timer is reset...
    assert!(client.idle(duration / 4).await.is_none());
    let reset_sent = Instant::now();
    let reset = client
        .request(session_request(
            "ResetApplicationSessionTimer",
            &positive.session_id,
        ))
        .await;
    assert_eq!(reset.name(), "ResetApplicationSessionTimerPosResponse");
    // ...so the session ends a whole duration after the reset, not after the start: the
    // switch saw the reset no earlier than it was sent, and the start no later than it
    // was answered (a slow machine only makes the end come later).
    assert!(client.closed_within(duration + PATIENCE).await);
    assert!(
        reset_sent.elapsed() >= duration,
        "closed {:?} after the reset",
        reset_sent.elapsed()
    );
    assert!(answered.elapsed() >= duration + duration / 4);
}

#[tokio::test]
async fn openscape_heartbeats_and_missed_heartbeats() {
    let mut config = config();
    config.session = SessionPattern::OpenScape(OpenScapeConfig {
        heartbeat_interval: Duration::from_millis(150),
        missed_heartbeats: 2,
    });
    let simulator = start(config).await;
    let mut client = Client::connect(simulator.local_addr()).await;

    let register = client
        .request(xml(
            "<SystemRegister><requestTypes><systemStatus>true</systemStatus></requestTypes></SystemRegister>",
        ))
        .await;
    let Message::SystemRegisterResponse(registered) = &register else {
        panic!("{register:?}")
    };
    assert!(!registered.sys_stat_register_id.is_empty());
    assert!(
        client.heartbeats >= 1,
        "SystemStatus comes right after connect"
    );
    client.monitor("200").await;

    // Heartbeats keep coming while they are answered.
    let deadline = Instant::now() + PATIENCE;
    while client.heartbeats < 3 {
        assert!(
            Instant::now() < deadline,
            "{} heartbeats",
            client.heartbeats
        );
        assert!(client.idle(Duration::from_millis(50)).await.is_none());
    }

    // Unanswered, they end the link — not before the first of them is missed.
    client.answer_heartbeats = false;
    let stopped_answering = Instant::now();
    assert!(client.closed_within(PATIENCE).await);
    assert!(stopped_answering.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn nul_framing_and_the_switch_edition() {
    let mut config = config();
    config.framing = Framing::Nul;
    config.edition = Edition::Ed5;
    let simulator = start(config).await;
    let mut client = Client::connect_with(simulator.local_addr(), Framing::Nul, Edition::Ed2).await;
    client.monitor("200").await;
    assert_eq!(client.last_edition, Some(Edition::Ed5));
    let call = simulator.dial("200", "201").unwrap();
    let lines = client.events(3).await;
    assert_eq!(
        lines[0],
        format!("@200 ServiceInitiated {call}/200 initiated newCall")
    );
    assert_eq!(client.last_edition, Some(Edition::Ed5));
    let status = client.request(xml("<RequestSystemStatus/>")).await;
    let Message::RequestSystemStatusResponse(status) = status else {
        panic!("{status:?}")
    };
    assert_eq!(status.system_status.as_str(), "normal");
}
