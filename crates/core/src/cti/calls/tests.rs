use super::*;

fn event(kind: CallEventKind, call: &str, local: LocalState) -> CallEvent {
    CallEvent {
        device: "201".into(),
        call_id: call.into(),
        kind,
        local,
        calling: None,
        called: None,
        other: None,
        cause: None,
        merged_from: Vec::new(),
        parties: Vec::new(),
        sent_at_ns: None,
    }
}

fn t(ms: i64) -> Timestamp {
    Timestamp(ms)
}

#[test]
fn an_outgoing_call_dials_until_the_far_end_answers() {
    let mut phone = DeviceCalls::new("201");
    let mut e = event(CallEventKind::ServiceInitiated, "c1", LocalState::Initiated);
    phone.apply(&e, t(0));
    assert_eq!(phone.phone_state(), PhoneState::Dialing);
    e = event(CallEventKind::Originated, "c1", LocalState::Connected);
    e.calling = Some("201".into());
    e.called = Some("202".into());
    phone.apply(&e, t(10));
    e = event(CallEventKind::Delivered, "c1", LocalState::Connected);
    e.other = Some("202".into());
    let outcome = phone.apply(&e, t(20));
    let call = &outcome.changed[0];
    assert_eq!(
        (call.state, call.direction),
        (CallState::Dialing, CallDirection::Outgoing)
    );
    assert_eq!(call.other_number.as_deref(), Some("202"));
    e = event(CallEventKind::Established, "c1", LocalState::Connected);
    e.other = Some("202".into());
    phone.apply(&e, t(5_000));
    assert_eq!(phone.phone_state(), PhoneState::Talking);
    let mut cleared = event(CallEventKind::Cleared, "c1", LocalState::Null);
    cleared.cause = Some("normalClearing".into());
    let outcome = phone.apply(&cleared, t(65_000));
    let ended = &outcome.ended[0];
    assert_eq!(ended.call.answered_at, Some(t(5_000)));
    assert_eq!(ended.call.started_at, t(0));
    assert!(!ended.missed());
    assert_eq!(phone.phone_state(), PhoneState::Idle);
}

#[test]
fn an_unanswered_incoming_call_is_missed() {
    let mut phone = DeviceCalls::new("201");
    let mut e = event(CallEventKind::Delivered, "c9", LocalState::Alerting);
    e.calling = Some("+4930123".into());
    e.called = Some("201".into());
    phone.apply(&e, t(0));
    assert_eq!(phone.phone_state(), PhoneState::Ringing);
    assert_eq!(phone.calls[0].other_number.as_deref(), Some("+4930123"));
    let outcome = phone.apply(
        &event(CallEventKind::Cleared, "c9", LocalState::Null),
        t(30_000),
    );
    assert!(outcome.ended[0].missed());
}

#[test]
fn a_deflected_call_is_not_missed_and_a_busy_call_fails() {
    let mut phone = DeviceCalls::new("201");
    phone.apply(
        &event(CallEventKind::Delivered, "c2", LocalState::Alerting),
        t(0),
    );
    let outcome = phone.apply(
        &event(CallEventKind::Diverted, "c2", LocalState::Null),
        t(1),
    );
    assert!(!outcome.ended[0].missed());
    // A call that fails before anything else was seen still ends (for the log).
    let mut failed = event(CallEventKind::Failed, "c3", LocalState::Failed);
    failed.calling = Some("201".into());
    failed.called = Some("202".into());
    failed.cause = Some("busy".into());
    let outcome = phone.apply(&failed, t(2));
    assert!(outcome.ended[0].failed);
    assert_eq!(outcome.ended[0].call.direction, CallDirection::Outgoing);
    assert!(phone.calls.is_empty());
}

#[test]
fn a_transfer_merges_calls_and_keeps_the_call_identity() {
    // 201 talks to 300 (c1), is transferred by 300 to 400: c1 becomes c7.
    let mut phone = DeviceCalls::new("201");
    let mut e = event(CallEventKind::Established, "c1", LocalState::Connected);
    e.calling = Some("300".into());
    phone.apply(&e, t(0));
    let id = phone.calls[0].id;
    let mut transferred = event(CallEventKind::Transferred, "c7", LocalState::Connected);
    transferred.merged_from = vec!["c1".into(), "c6".into()];
    transferred.other = Some("400".into());
    let outcome = phone.apply(&transferred, t(10));
    assert_eq!(phone.calls.len(), 1);
    let call = &outcome.changed[0];
    assert_eq!((call.id, call.call_id.as_str()), (id, "c7"));
    assert_eq!(call.other_number.as_deref(), Some("400"));
    assert_eq!(call.transferred, ["300"]);
    // The transferring party leaves: its merged calls end, naming where they went.
    let mut doer = DeviceCalls::new("300");
    doer.apply(&event(CallEventKind::Held, "c1", LocalState::Held), t(0));
    doer.apply(
        &event(CallEventKind::Established, "c6", LocalState::Connected),
        t(1),
    );
    let mut left = event(CallEventKind::Transferred, "c7", LocalState::Null);
    left.merged_from = vec!["c1".into(), "c6".into()];
    left.other = Some("400".into());
    let outcome = doer.apply(&left, t(2));
    assert_eq!(
        outcome.ended.len(),
        2,
        "both of the transferring party's calls end"
    );
    assert_eq!(outcome.ended[0].call.call_id, "c1");
    assert_eq!(outcome.ended[0].call.transferred, ["400"]);
    assert_eq!(outcome.ended[1].call.call_id, "c6");
    assert!(doer.calls.is_empty());
}

#[test]
fn resync_ends_stale_calls_and_adopts_unknown_ones() {
    let mut phone = DeviceCalls::new("201");
    phone.apply(
        &event(CallEventKind::Established, "old", LocalState::Connected),
        t(0),
    );
    phone.apply(&event(CallEventKind::Held, "kept", LocalState::Held), t(0));
    let outcome = phone.resync(
        &[
            SnapshotCall {
                call_id: "kept".into(),
                local: LocalState::Connected,
            },
            SnapshotCall {
                call_id: "new".into(),
                local: LocalState::Alerting,
            },
        ],
        t(100),
    );
    assert_eq!(outcome.ended.len(), 1);
    assert!(outcome.ended[0].stale);
    assert_eq!(outcome.ended[0].call.call_id, "old");
    let states: Vec<_> = phone
        .calls
        .iter()
        .map(|c| (c.call_id.as_str(), c.state))
        .collect();
    assert_eq!(
        states,
        [("kept", CallState::Connected), ("new", CallState::Ringing)]
    );
    // An empty snapshot clears everything: no ghost call survives a reconnect.
    let outcome = phone.resync(&[], t(200));
    assert_eq!(outcome.ended.len(), 2);
    assert_eq!(phone.phone_state(), PhoneState::Idle);
}

#[test]
fn dnd_shows_when_idle() {
    let mut phone = DeviceCalls::new("201");
    phone.dnd = true;
    assert_eq!(phone.phone_state(), PhoneState::Dnd);
    phone.apply(
        &event(CallEventKind::Delivered, "c1", LocalState::Alerting),
        t(0),
    );
    assert_eq!(phone.phone_state(), PhoneState::Ringing);
}
