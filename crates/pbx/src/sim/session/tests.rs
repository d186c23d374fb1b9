use csta::{ApplicationInfo, SystemStatusResponse};

use super::*;

fn start(info: Option<&str>, duration: Option<u32>) -> Message {
    StartApplicationSession {
        application_info: ApplicationInfo {
            application_id: "ucplus".into(),
            application_specific_info: info.map(|xml| RawXml(xml.into())),
            extra: Default::default(),
        },
        requested_protocol_versions: None,
        requested_session_duration: duration,
        extra: Default::default(),
    }
    .into()
}

fn ecma(login: Option<Login>) -> Session {
    let config = Ecma354Config {
        login,
        default_duration: 60,
        max_duration: 120,
    };
    Session::new(&SessionPattern::Ecma354(config), Edition::Ed5, 3)
}

fn make_call() -> Message {
    csta::decode_str(
        "<MakeCall><callingDevice>200</callingDevice>\
         <calledDirectoryNumber>201</calledDirectoryNumber></MakeCall>",
    )
    .unwrap()
}

#[test]
fn finds_vendor_login_elements_with_any_prefix() {
    let avaya = r#"<ns1:SessionLoginInfo xmlns:ns1="http://www.avaya.com/csta">
        <ns1:userName>ucplus</ns1:userName><ns1:password>p&amp;w</ns1:password>
        </ns1:SessionLoginInfo>"#;
    assert_eq!(
        element_text(avaya, USER_ELEMENTS).as_deref(),
        Some("ucplus")
    );
    assert_eq!(
        element_text(avaya, PASSWORD_ELEMENTS).as_deref(),
        Some("p&w")
    );
    // ucplus's own shape: a `<login>` wrapper around `<user>` and `<password>`.
    let wrapped = "<login><user>ucplus</user><password>s3cret</password></login>";
    assert_eq!(
        element_text(wrapped, USER_ELEMENTS).as_deref(),
        Some("ucplus")
    );
    assert_eq!(
        element_text(wrapped, PASSWORD_ELEMENTS).as_deref(),
        Some("s3cret")
    );
    assert_eq!(
        element_text("<login>boss</login>", USER_ELEMENTS).as_deref(),
        Some("boss")
    );
    assert_eq!(element_text("<a/><b>x</b>", &["a"]), None);
    assert_eq!(element_text("<user", USER_ELEMENTS), None);
    assert_eq!(element_text("", USER_ELEMENTS), None);
}

#[test]
fn ecma354_login_duration_reset_and_stop() {
    let login = Login {
        user: "ucplus".into(),
        password: "secret".into(),
    };
    let mut session = ecma(Some(login));
    let now = Instant::now();
    assert!(matches!(
        session.on_message(&make_call(), Some(InvokeId::EVENT), now),
        Step::Answer(Message::CstaErrorCode(_))
    ));
    let wrong = start(
        Some("<userName>ucplus</userName><password>nope</password>"),
        None,
    );
    assert!(matches!(
        session.on_message(&wrong, None, now),
        Step::Answer(Message::StartApplicationSessionNegResponse(_))
    ));
    let right = start(
        Some("<userName>ucplus</userName><password>secret</password>"),
        Some(999),
    );
    let Step::Answer(Message::StartApplicationSessionPosResponse(pos)) =
        session.on_message(&right, None, now)
    else {
        panic!("no PosResponse");
    };
    assert_eq!(pos.session_id, "sim-3-1");
    assert_eq!(pos.actual_session_duration, Some(120));
    assert_eq!(
        pos.actual_protocol_version.as_deref(),
        Some(Edition::Ed5.namespace())
    );
    assert_eq!(session.on_message(&make_call(), None, now), Step::Serve);
    assert_eq!(session.deadline(), Some(now + Duration::from_secs(120)));

    let reset = |id: &str| -> Message {
        ResetApplicationSessionTimer {
            session_id: id.into(),
            requested_session_duration: Some(10),
            extra: Default::default(),
        }
        .into()
    };
    let later = now + Duration::from_secs(5);
    assert!(matches!(
        session.on_message(&reset("sim-3-1"), None, later),
        Step::Answer(Message::ResetApplicationSessionTimerPosResponse(_))
    ));
    assert_eq!(session.deadline(), Some(later + Duration::from_secs(10)));
    assert!(matches!(
        session.on_message(&reset("other"), None, later),
        Step::Answer(Message::ResetApplicationSessionTimerNegResponse(_))
    ));
    assert_eq!(session.on_deadline(later, false), Due::Nothing);
    assert_eq!(
        session.on_deadline(later + Duration::from_secs(10), false),
        Due::Expired
    );

    let stop: Message = StopApplicationSession {
        session_id: "sim-3-1".into(),
        session_end_reason: None,
        extra: Default::default(),
    }
    .into();
    assert!(matches!(
        session.on_message(&stop, None, later),
        Step::AnswerAndEnd(_)
    ));
    assert_eq!(session.deadline(), None);
    assert!(matches!(
        session.on_message(&stop, None, later),
        Step::Answer(Message::CstaErrorCode(_))
    ));
}

#[test]
fn openscape_counts_missed_heartbeats() {
    let config = OpenScapeConfig {
        heartbeat_interval: Duration::from_secs(1),
        missed_heartbeats: 2,
    };
    let mut session = Session::new(&SessionPattern::OpenScape(config), Edition::Ed3, 1);
    assert!(session.greets());
    let now = Instant::now();
    let id = InvokeId::new(1);
    session.heartbeat_sent(id, now);
    let answer: Message = SystemStatusResponse {
        extra: Default::default(),
    }
    .into();
    assert_eq!(session.on_message(&answer, id, now), Step::Nothing);
    assert_eq!(session.on_message(&make_call(), id, now), Step::Serve);
    let t1 = now + Duration::from_secs(1);
    assert_eq!(session.deadline(), Some(t1));
    assert_eq!(session.on_deadline(t1, false), Due::Heartbeat);
    session.heartbeat_sent(InvokeId::new(2), t1);
    let t2 = t1 + Duration::from_secs(1);
    assert_eq!(session.on_deadline(t2, false), Due::Heartbeat);
    session.heartbeat_sent(InvokeId::new(3), t2);
    // A silent switch neither sends nor counts.
    assert_eq!(session.on_deadline(t2, true), Due::Nothing);
    session.heartbeat_sent(InvokeId::new(4), t2);
    assert_eq!(session.on_deadline(t2, false), Due::Expired);
}

#[test]
fn open_session_serves_everything() {
    let mut session = Session::new(&SessionPattern::None, Edition::Ed3, 1);
    assert!(!session.greets());
    assert_eq!(session.deadline(), None);
    assert_eq!(
        session.on_message(&make_call(), None, Instant::now()),
        Step::Serve
    );
}
