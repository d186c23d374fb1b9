//! The engine on its own: a PBX runtime fed link events and snapshots, without a switch.

use std::collections::BTreeSet;
use std::time::Duration;

use ucplus_core::cti::{CallEvent, CallEventKind, LocalState, SnapshotCall};
use ucplus_core::{DeviceRecordId, PbxId, PbxKind, TenantId, UserId};

use super::*;
use crate::cti::link::channels;
use crate::cti::runtime::Created;

/// A PBX with devices 200 and 201 of one tenant, 200 being a user's.
fn runtime() -> (PbxRuntime, crate::cti::link::LinkChannels) {
    let tenant = TenantId::new();
    let pbx = ucplus_core::Pbx {
        id: PbxId::new(),
        name: "pbx".into(),
        kind: PbxKind::Sim,
        tenant_id: None,
        host: None,
        port: None,
        settings: serde_json::json!({}),
        created_at: Timestamp(0),
    };
    let devices: Vec<Device> = ["200", "201"]
        .iter()
        .map(|number| Device {
            id: DeviceRecordId::new(),
            tenant_id: tenant,
            pbx_id: pbx.id,
            device_id: (*number).into(),
            extension: None,
            name: format!("phone {number}"),
            user_id: (*number == "200").then(UserId::new),
            created_at: Timestamp(0),
            sip_username: None,
            sip_ha1: None,
        })
        .collect();
    let (engine, link) = channels(BTreeSet::new());
    let runtime = PbxRuntime::new(
        pbx,
        "node-1".to_string(),
        0,
        devices,
        engine.requests,
        engine.devices,
        engine.shutdown,
    );
    (runtime, link)
}

fn event(device: &str, call_id: &str, kind: CallEventKind, local: LocalState) -> LinkEvent {
    LinkEvent::Call(CallEvent {
        device: device.into(),
        call_id: call_id.into(),
        kind,
        local,
        calling: Some("+4930777".into()),
        called: Some(device.into()),
        other: Some("+4930777".into()),
        cause: None,
        merged_from: Vec::new(),
        parties: Vec::new(),
        sent_at_ns: None,
    })
}

fn up() -> LinkEvent {
    LinkEvent::State {
        state: LinkState::Up,
        error: None,
    }
}

fn kinds(effects: &[Effect]) -> Vec<&'static str> {
    effects
        .iter()
        .map(|e| match e {
            Effect::Call { .. } => "call",
            Effect::Ended { .. } => "ended",
            Effect::PhoneState { .. } => "phone",
            Effect::Link => "link",
        })
        .collect()
}

#[test]
fn a_call_rings_is_answered_and_ends_once() {
    let (runtime, _link) = runtime();
    let now = Timestamp(1_000);
    assert_eq!(
        kinds(&apply(&runtime, up(), now)),
        ["link", "phone", "phone"]
    );
    let ringing = apply(
        &runtime,
        event("200", "7", CallEventKind::Delivered, LocalState::Alerting),
        now,
    );
    assert_eq!(kinds(&ringing), ["call", "phone"]);
    let answered = apply(
        &runtime,
        event(
            "200",
            "7",
            CallEventKind::Established,
            LocalState::Connected,
        ),
        Timestamp(2_000),
    );
    assert_eq!(kinds(&answered), ["call", "phone"]);
    let ended = apply(
        &runtime,
        event("200", "7", CallEventKind::Cleared, LocalState::Null),
        Timestamp(5_000),
    );
    assert_eq!(kinds(&ended), ["ended", "phone"]);
    let Some(Effect::Ended { ended, .. }) = ended.first() else {
        panic!("an end");
    };
    assert_eq!(ended.call.answered_at, Some(Timestamp(2_000)));
    assert!(!ended.missed());
    // The same report again changes nothing; the call is gone from the index.
    let again = apply(
        &runtime,
        event("200", "7", CallEventKind::Cleared, LocalState::Null),
        Timestamp(6_000),
    );
    assert!(kinds(&again).is_empty(), "{:?}", kinds(&again));
    assert!(runtime.read().calls.is_empty());
    assert_eq!(runtime.read().recent_ends.len(), 1);
}

#[test]
fn reports_for_unknown_devices_change_nothing() {
    let (runtime, _link) = runtime();
    apply(&runtime, up(), Timestamp(0));
    let effects = apply(
        &runtime,
        event("999", "1", CallEventKind::Delivered, LocalState::Alerting),
        Timestamp(1),
    );
    assert!(effects.is_empty());
    assert!(runtime.read().calls.is_empty());
}

/// Phones turn unknown when the link goes and the memory of ended calls is cleared
/// when it reconnects (a restarted switch recycles call ids).
#[test]
fn a_link_drop_makes_phones_unknown_and_a_reconnect_forgets_old_ends() {
    let (runtime, _link) = runtime();
    apply(&runtime, up(), Timestamp(0));
    apply(
        &runtime,
        event("201", "3", CallEventKind::Failed, LocalState::Failed),
        Timestamp(1),
    );
    apply(
        &runtime,
        event("201", "3", CallEventKind::Cleared, LocalState::Null),
        Timestamp(2),
    );
    assert_eq!(runtime.read().recent_ends.len(), 1);
    let down = apply(
        &runtime,
        LinkEvent::State {
            state: LinkState::Down,
            error: Some("connection refused".into()),
        },
        Timestamp(3),
    );
    assert_eq!(kinds(&down), ["link", "phone", "phone"]);
    apply(
        &runtime,
        LinkEvent::State {
            state: LinkState::Connecting,
            error: None,
        },
        Timestamp(4),
    );
    assert!(runtime.read().recent_ends.is_empty());
}

/// A snapshot after a reconnect ends the calls the switch no longer has and adds the
/// ones it has.
#[test]
fn a_snapshot_resynchronises_a_device() {
    let (runtime, _link) = runtime();
    apply(&runtime, up(), Timestamp(0));
    apply(
        &runtime,
        event(
            "200",
            "1",
            CallEventKind::Established,
            LocalState::Connected,
        ),
        Timestamp(1),
    );
    let effects = apply(
        &runtime,
        LinkEvent::Snapshot {
            device: "200".into(),
            calls: vec![SnapshotCall {
                call_id: "2".into(),
                local: LocalState::Held,
            }],
        },
        Timestamp(2),
    );
    let mut seen = kinds(&effects);
    seen.sort_unstable();
    assert_eq!(seen, ["call", "ended", "phone"]);
    let state = runtime.read();
    let calls = &state.devices["200"].calls.calls;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].call_id, "2");
}

/// A request waiting for the call it created is woken by the engine's report; one
/// whose call failed at once learns the cause; an end from before the request does not
/// count (recycled call ids).
#[tokio::test]
async fn a_request_waiting_for_its_call_is_answered_by_the_report() {
    let (runtime, _link) = runtime();
    let runtime = std::sync::Arc::new(runtime);
    apply(&runtime, up(), Timestamp(0));
    // An earlier call 5 failed: it says nothing about the new call 5.
    apply(
        &runtime,
        event("200", "5", CallEventKind::Failed, LocalState::Failed),
        Timestamp(1),
    );
    apply(
        &runtime,
        event("200", "5", CallEventKind::Cleared, LocalState::Null),
        Timestamp(2),
    );
    let before = runtime.read().ends_seq;
    let waiting = {
        let runtime = runtime.clone();
        tokio::spawn(async move {
            runtime
                .created_call("200", Some("5"), before, Duration::from_secs(5))
                .await
        })
    };
    tokio::task::yield_now().await;
    step(
        &runtime,
        event("200", "5", CallEventKind::Originated, LocalState::Connected),
        Timestamp(3),
    );
    match waiting.await.unwrap() {
        Created::Call(call) => assert_eq!(call.call_id, "5"),
        other => panic!("{other:?}"),
    }
    let before = runtime.read().ends_seq;
    // The switch says why in the FailedEvent, then clears the call.
    let mut failed = event("201", "6", CallEventKind::Failed, LocalState::Failed);
    if let LinkEvent::Call(call) = &mut failed {
        call.cause = Some("busy".into());
    }
    apply(&runtime, failed, Timestamp(4));
    apply(
        &runtime,
        event("201", "6", CallEventKind::Cleared, LocalState::Null),
        Timestamp(5),
    );
    match runtime
        .created_call("201", Some("6"), before, Duration::from_secs(1))
        .await
    {
        Created::Ended(cause) => assert_eq!(cause.as_deref(), Some("busy")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        runtime
            .created_call("201", Some("8"), before, Duration::from_millis(50))
            .await,
        Created::NotSeen
    ));
}
