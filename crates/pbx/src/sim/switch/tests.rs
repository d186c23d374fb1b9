//! The switch without sockets: event sequences at one monitoring link, and random
//! operation sequences that must never break the state's invariants.

use std::sync::Arc;
use std::time::Duration;

use csta::{EventCause, ForwardingType, Message};
use proptest::prelude::*;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use super::*;
use crate::sim::config::SimConfig;
use crate::sim::devices::DeviceSet;

const LINK: LinkId = 1;

/// A switch with devices 200-204, all monitored by one link.
fn monitored_switch() -> (Switch, mpsc::Receiver<Outbound>) {
    let config = SimConfig::new(DeviceSet::parse("200-204").unwrap());
    let mut switch = Switch::new(&config, Arc::default(), Arc::new(Notify::new()));
    let (outbound, events) = mpsc::channel(10_000);
    switch.add_link(LINK, outbound, Arc::new(Notify::new()));
    for device in ["200", "201", "202", "203", "204"] {
        switch.monitor_start(LINK, device).unwrap();
    }
    (switch, events)
}

/// `Name cross-ref connection lci cause` of every queued event.
fn drain(events: &mut mpsc::Receiver<Outbound>) -> Vec<String> {
    let mut seen = Vec::new();
    while let Ok(Outbound::Event(event)) = events.try_recv() {
        seen.push(summary(&event));
    }
    seen
}

fn summary(message: &Message) -> String {
    let (cross_ref, connection, lci, cause) = match message {
        Message::DeliveredEvent(e) => (
            &e.monitor_cross_ref_id,
            Some(&e.connection),
            &e.local_connection_info,
            &e.cause,
        ),
        Message::EstablishedEvent(e) => (
            &e.monitor_cross_ref_id,
            Some(&e.established_connection),
            &e.local_connection_info,
            &e.cause,
        ),
        Message::ConnectionClearedEvent(e) => (
            &e.monitor_cross_ref_id,
            Some(&e.dropped_connection),
            &e.local_connection_info,
            &e.cause,
        ),
        Message::ServiceInitiatedEvent(e) => (
            &e.monitor_cross_ref_id,
            Some(&e.initiated_connection),
            &e.local_connection_info,
            &e.cause,
        ),
        Message::OriginatedEvent(e) => (
            &e.monitor_cross_ref_id,
            Some(&e.originated_connection),
            &e.local_connection_info,
            &e.cause,
        ),
        Message::FailedEvent(e) => (
            &e.monitor_cross_ref_id,
            Some(&e.failed_connection),
            &e.local_connection_info,
            &e.cause,
        ),
        Message::HeldEvent(e) => (
            &e.monitor_cross_ref_id,
            Some(&e.held_connection),
            &e.local_connection_info,
            &e.cause,
        ),
        other => return other.name().to_string(),
    };
    let connection = connection.map_or(String::new(), |c| {
        format!(
            "{}/{}",
            c.call_id.as_deref().unwrap_or_default(),
            c.device_id.as_ref().map_or("", |d| d.raw())
        )
    });
    let lci = lci.as_ref().map_or("-", |lci| lci.as_str());
    let cause = cause.as_ref().map_or("-", |cause| cause.as_str());
    format!("{} @{cross_ref} {connection} {lci} {cause}", message.name())
}

#[test]
fn basic_call_at_one_link() {
    let (mut switch, mut events) = monitored_switch();
    let call = switch
        .make_call("200", "201", EventCause::MakeCall)
        .unwrap();
    assert_eq!(
        drain(&mut events),
        [
            "ServiceInitiatedEvent @1 1/200 initiated makeCall",
            "OriginatedEvent @1 1/200 connected makeCall",
            "DeliveredEvent @1 1/201 connected newCall",
            "DeliveredEvent @2 1/201 alerting newCall",
        ]
    );
    switch.answer(call, "201").unwrap();
    assert_eq!(
        drain(&mut events),
        [
            "EstablishedEvent @1 1/201 connected newCall",
            "EstablishedEvent @2 1/201 connected newCall",
        ]
    );
    switch
        .clear_connection(call, "201", EventCause::NormalClearing)
        .unwrap();
    assert_eq!(
        drain(&mut events),
        [
            "ConnectionClearedEvent @1 1/201 connected normalClearing",
            "ConnectionClearedEvent @2 1/201 null normalClearing",
            "ConnectionClearedEvent @1 1/200 null normalClearing",
        ]
    );
    assert_eq!(switch.call_count(), 0);
    assert!(switch.devices.values().all(|state| state.calls.is_empty()));
}

#[test]
fn timers_clear_unanswered_and_failed_calls() {
    let (mut switch, mut events) = monitored_switch();
    let ringing = switch
        .make_call("200", "201", EventCause::MakeCall)
        .unwrap();
    let busy = switch
        .make_call("202", "0301230", EventCause::MakeCall)
        .unwrap();
    drain(&mut events);
    assert_eq!(switch.state_of(busy, "202"), Ok(PartyState::Fail));
    let later = Instant::now() + Duration::from_secs(3600);
    assert_eq!(switch.fire_due(later, 100), None);
    assert_eq!(
        drain(&mut events),
        [
            "ConnectionClearedEvent @3 2/202 null normalClearing",
            "ConnectionClearedEvent @1 1/201 connected callNotAnswered",
            "ConnectionClearedEvent @2 1/201 null callNotAnswered",
            "ConnectionClearedEvent @1 1/200 null callNotAnswered",
        ]
    );
    assert_eq!(switch.state_of(ringing, "200"), Err(SimError::InvalidCall));
}

#[test]
fn far_end_answers_and_stale_timers_do_nothing() {
    let (mut switch, mut events) = monitored_switch();
    let call = switch
        .make_call("200", "0301231", EventCause::MakeCall)
        .unwrap();
    drain(&mut events);
    let later = Instant::now() + Duration::from_secs(5);
    switch.fire_due(later, 100);
    assert_eq!(
        drain(&mut events),
        ["EstablishedEvent @1 1/0301231 connected newCall"]
    );
    // The no-answer timer of the answered connection is stale by now.
    switch.fire_due(later + Duration::from_secs(3600), 100);
    assert_eq!(drain(&mut events), Vec::<String>::new());
    assert_eq!(switch.state_of(call, "0301231"), Ok(PartyState::Connected));
}

#[test]
fn restart_forgets_calls_and_monitors_but_not_features() {
    let (mut switch, mut events) = monitored_switch();
    switch.set_do_not_disturb("203", true).unwrap();
    switch
        .make_call("200", "201", EventCause::MakeCall)
        .unwrap();
    drain(&mut events);
    switch.restart();
    assert_eq!(
        (
            switch.call_count(),
            switch.monitor_count(),
            switch.link_count()
        ),
        (0, 0, 0)
    );
    assert!(
        switch
            .devices
            .get("203")
            .is_some_and(|state| state.do_not_disturb)
    );
    assert_eq!(switch.devices.len(), 1);
    // Like a real switch, call ids start from the beginning again: clients must not take
    // an id for unique across a restart.
    let (outbound, _events) = mpsc::channel(10);
    switch.add_link(2, outbound, Arc::new(Notify::new()));
    assert_eq!(switch.make_call("200", "201", EventCause::MakeCall), Ok(1));
}

#[test]
fn a_full_queue_drops_the_link_once() {
    let config = SimConfig::new(DeviceSet::parse("200-201").unwrap());
    let stats = Arc::new(crate::sim::stats::Stats::default());
    let mut switch = Switch::new(&config, stats.clone(), Arc::new(Notify::new()));
    let (outbound, _events) = mpsc::channel(1);
    let close = Arc::new(Notify::new());
    switch.add_link(LINK, outbound, close.clone());
    switch.monitor_start(LINK, "200").unwrap();
    switch
        .make_call("200", "201", EventCause::MakeCall)
        .unwrap();
    let snapshot = stats.snapshot(0, 0);
    assert_eq!(snapshot.slow_links_dropped, 1);
    assert_eq!(snapshot.events_dropped, 2);
}

/// One random action; devices and numbers are indexes into small tables.
#[derive(Debug, Clone)]
enum Action {
    Dial(usize, usize),
    Incoming(usize, usize),
    Answer(usize),
    HangUp(usize),
    Hold(usize),
    Retrieve(usize),
    Consult(usize, usize),
    Transfer(usize),
    Conference(usize),
    SingleStep(usize, usize),
    Deflect(usize, usize),
    DoNotDisturb(usize, bool),
    Forward(usize, bool, Option<usize>),
    ClearCall(u64),
    AnswerRaw(u64, usize),
    Timers(u64),
    MonitorStop(u64),
}

const DEVICES: [&str; 5] = ["200", "201", "202", "203", "204"];
const NUMBERS: [&str; 9] = [
    "200", "201", "202", "203", "204", "0301", "0300", "0309", "x9",
];

fn action() -> impl Strategy<Value = Action> {
    let device = 0..DEVICES.len();
    let number = 0..NUMBERS.len();
    prop_oneof![
        (device.clone(), number.clone()).prop_map(|(d, n)| Action::Dial(d, n)),
        (number.clone(), device.clone()).prop_map(|(n, d)| Action::Incoming(n, d)),
        device.clone().prop_map(Action::Answer),
        device.clone().prop_map(Action::HangUp),
        device.clone().prop_map(Action::Hold),
        device.clone().prop_map(Action::Retrieve),
        (device.clone(), number.clone()).prop_map(|(d, n)| Action::Consult(d, n)),
        device.clone().prop_map(Action::Transfer),
        device.clone().prop_map(Action::Conference),
        (device.clone(), number.clone()).prop_map(|(d, n)| Action::SingleStep(d, n)),
        (device.clone(), number.clone()).prop_map(|(d, n)| Action::Deflect(d, n)),
        (device.clone(), any::<bool>()).prop_map(|(d, on)| Action::DoNotDisturb(d, on)),
        (device.clone(), any::<bool>(), proptest::option::of(number))
            .prop_map(|(d, busy, n)| Action::Forward(d, busy, n)),
        (0u64..12).prop_map(Action::ClearCall),
        (0u64..12, device).prop_map(|(c, d)| Action::AnswerRaw(c, d)),
        (0u64..40).prop_map(Action::Timers),
        (0u64..8).prop_map(Action::MonitorStop),
    ]
}

fn apply(switch: &mut Switch, action: &Action, now: &mut Instant) {
    use PartyState::*;
    let first = |switch: &Switch, device: &str, states: &[PartyState]| {
        switch.find_connection(device, states)
    };
    // Refusals are expected: only the invariants matter here.
    let _ = match *action {
        Action::Dial(d, n) => switch
            .make_call(DEVICES[d], NUMBERS[n], EventCause::NewCall)
            .map(drop),
        Action::Incoming(n, d) => switch.incoming_external(NUMBERS[n], DEVICES[d]).map(drop),
        Action::Answer(d) => match first(switch, DEVICES[d], &[Alerting]) {
            Some(call) => switch.answer(call, DEVICES[d]),
            None => Ok(()),
        },
        Action::HangUp(d) => match first(
            switch,
            DEVICES[d],
            &[Connected, Fail, Initiated, Alerting, Hold],
        ) {
            Some(call) => switch.clear_connection(call, DEVICES[d], EventCause::NormalClearing),
            None => Ok(()),
        },
        Action::Hold(d) => match first(switch, DEVICES[d], &[Connected]) {
            Some(call) => switch.hold(call, DEVICES[d], EventCause::Normal),
            None => Ok(()),
        },
        Action::Retrieve(d) => match first(switch, DEVICES[d], &[Hold]) {
            Some(call) => switch.retrieve(call, DEVICES[d]),
            None => Ok(()),
        },
        Action::Consult(d, n) => match first(switch, DEVICES[d], &[Connected]) {
            Some(call) => switch.consult(call, DEVICES[d], NUMBERS[n]).map(drop),
            None => Ok(()),
        },
        Action::Transfer(d) | Action::Conference(d) => {
            let held = first(switch, DEVICES[d], &[Hold]);
            let active = first(switch, DEVICES[d], &[Connected, Alerting, Fail]);
            match (held, active) {
                (Some(held), Some(active)) if matches!(action, Action::Transfer(_)) => {
                    switch.transfer(held, active, DEVICES[d]).map(drop)
                }
                (Some(held), Some(active)) => switch.conference(held, active, DEVICES[d]).map(drop),
                _ => Ok(()),
            }
        }
        Action::SingleStep(d, n) => match first(switch, DEVICES[d], &[Connected, Hold]) {
            Some(call) => switch
                .single_step_transfer(call, DEVICES[d], NUMBERS[n])
                .map(drop),
            None => Ok(()),
        },
        Action::Deflect(d, n) => match first(switch, DEVICES[d], &[Alerting, Connected]) {
            Some(call) => switch.deflect(call, DEVICES[d], NUMBERS[n]),
            None => Ok(()),
        },
        Action::DoNotDisturb(d, on) => switch.set_do_not_disturb(DEVICES[d], on),
        Action::Forward(d, busy, n) => {
            let kind = if busy {
                ForwardingType::Busy
            } else {
                ForwardingType::Immediate
            };
            switch.set_forwarding(DEVICES[d], kind, n.is_some(), n.map(|n| NUMBERS[n]))
        }
        Action::ClearCall(call) => switch.clear_call(call),
        Action::AnswerRaw(call, d) => switch.answer(call, DEVICES[d]),
        Action::Timers(seconds) => {
            *now += Duration::from_secs(seconds);
            switch.fire_due(*now, 10_000);
            Ok(())
        }
        Action::MonitorStop(cross_ref) => switch.monitor_stop(LINK, &cross_ref.to_string()),
    };
}

/// What must hold after every operation.
fn check_invariants(switch: &Switch) -> Result<(), TestCaseError> {
    for (id, call) in &switch.calls {
        prop_assert!(!call.parties.is_empty(), "call {id} has no parties");
        if let [only] = call.parties.as_slice() {
            prop_assert_eq!(
                only.state,
                PartyState::Fail,
                "call {} has one live party",
                id
            );
            prop_assert!(only.internal, "call {id} is only a trunk party");
        }
        for (index, party) in call.parties.iter().enumerate() {
            let duplicates = call.parties[index + 1..]
                .iter()
                .any(|p| p.device == party.device);
            prop_assert!(!duplicates, "{} twice in call {}", party.device, id);
            if party.internal {
                let listed = switch
                    .devices
                    .get(&party.device)
                    .is_some_and(|s| s.calls.contains(id));
                prop_assert!(listed, "call {id} missing from {}", party.device);
            }
        }
    }
    for (device, state) in &switch.devices {
        prop_assert!(!state.is_idle_default(), "idle entry for {device}");
        for (index, call) in state.calls.iter().enumerate() {
            prop_assert!(!state.calls[index + 1..].contains(call));
            let party = switch.calls.get(call).and_then(|c| c.party(device));
            prop_assert!(
                party.is_some_and(|p| p.internal),
                "{device} lists call {call}"
            );
        }
        let busy_connections = switch
            .device_calls(device)
            .filter(|(_, s)| *s != PartyState::Hold)
            .count();
        prop_assert!(
            busy_connections <= 1,
            "{device} is in {busy_connections} active calls"
        );
    }
    for (id, monitor) in &switch.monitors {
        let listed = switch
            .devices
            .get(&monitor.device)
            .is_some_and(|s| s.monitors.contains(id));
        prop_assert!(listed);
    }
    Ok(())
}

proptest! {
    #[test]
    fn random_operations_keep_the_switch_consistent(actions in proptest::collection::vec(action(), 1..80)) {
        let (mut switch, mut events) = monitored_switch();
        let mut now = Instant::now();
        for action in &actions {
            apply(&mut switch, action, &mut now);
            check_invariants(&switch)?;
            drain(&mut events);
        }
        switch.fire_due(now + Duration::from_secs(86_400), 100_000);
        for device in DEVICES {
            let calls: Vec<u64> = switch.device_calls(device).map(|(call, _)| call).collect();
            for call in calls {
                let _ = switch.clear_call(call);
            }
        }
        check_invariants(&switch)?;
        prop_assert_eq!(switch.call_count(), 0);
    }
}
