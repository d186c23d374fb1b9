//! The engine of one PBX: applies the link's reports to the call model, then tells the
//! right sessions (and only them) what changed and writes finished calls to the call log.
//!
//! The model is updated under the PBX's own lock, which is released before anything slow
//! (directory lookups, the database, fan-out) happens.

use std::sync::Arc;

use tokio::sync::mpsc;
use ucplus_core::cti::{CallEnded, DeviceCall, LinkEvent, LinkState, PhoneState};
use ucplus_core::{CallLogEntry, Device, LogDirection, Timestamp};

use super::Cti;
use super::runtime::{LinkStatus, PbxRuntime, RecentEnd};
use ucplus_core::cti::views::{CallEndedView, CallView, Party};
use ucplus_core::event::{Audience, Event, Payload};

/// What one report changed, captured under the lock and acted on after it.
enum Effect {
    Call {
        device: Device,
        call: DeviceCall,
        sent_at_ns: Option<i64>,
    },
    Ended {
        device: Device,
        ended: CallEnded,
        /// The far party as the call's views named it (the number it was named for).
        party: Option<(Option<String>, Party)>,
    },
    PhoneState {
        device: Device,
        sent_at_ns: Option<i64>,
    },
    Link,
}

/// Runs until the link closes its event channel.
pub async fn run(cti: Arc<Cti>, runtime: Arc<PbxRuntime>, mut events: mpsc::Receiver<LinkEvent>) {
    while let Some(event) = events.recv().await {
        let kind = match &event {
            LinkEvent::State { .. } | LinkEvent::Session { .. } => "link",
            LinkEvent::Snapshot { .. } => "snapshot",
            LinkEvent::Call(_) => "call",
            LinkEvent::DoNotDisturb { .. } | LinkEvent::Forwarding { .. } => "feature",
        };
        metrics::counter!("ucplus_pbx_events_total", "kind" => kind).increment(1);
        let effects = step(&runtime, event, Timestamp::now());
        for effect in effects {
            act(&cti, &runtime, effect).await;
        }
    }
}

fn remember_end(
    recent: &mut std::collections::VecDeque<RecentEnd>,
    seq: &mut u64,
    device: &str,
    ended: &CallEnded,
) {
    if recent.len() >= super::runtime::RECENT_ENDS {
        recent.pop_front();
    }
    *seq += 1;
    recent.push_back(RecentEnd {
        seq: *seq,
        device: device.to_string(),
        call_id: ended.call.call_id.clone(),
        cause: ended.cause.clone(),
    });
}

/// Applies one report and wakes the requests waiting for a call to appear or end.
fn step(runtime: &PbxRuntime, event: LinkEvent, now: Timestamp) -> Vec<Effect> {
    let effects = apply(runtime, event, now);
    if effects
        .iter()
        .any(|e| matches!(e, Effect::Call { .. } | Effect::Ended { .. }))
    {
        runtime.calls_changed.notify_waiters();
    }
    effects
}

/// Applies one report under the PBX's lock.
fn apply(runtime: &PbxRuntime, event: LinkEvent, now: Timestamp) -> Vec<Effect> {
    let mut effects = Vec::new();
    let mut state = runtime.write();
    let state = &mut *state;
    match event {
        LinkEvent::State { state: link, error } => {
            if link == LinkState::Connecting {
                // A new connection may be to a restarted switch that hands out the same
                // call ids again: what ended before says nothing about calls to come.
                state.recent_ends.clear();
            }
            if state.link.state != link || state.link.error != error {
                let was_up = state.link.state == LinkState::Up;
                state.link = LinkStatus {
                    state: link,
                    since: now,
                    error,
                    session: state.link.session.take(),
                };
                metrics::gauge!("ucplus_pbx_link_up", "pbx" => runtime.id.to_string())
                    .set(if link == LinkState::Up { 1.0 } else { 0.0 });
                effects.push(Effect::Link);
                // Every phone of the PBX turns unknown when the link goes, and back.
                if was_up != (link == LinkState::Up) {
                    effects.extend(state.devices.values().map(|entry| Effect::PhoneState {
                        device: entry.record.clone(),
                        sent_at_ns: None,
                    }));
                }
            }
        }
        LinkEvent::Session { mode } => {
            if state.link.session.as_deref() != Some(mode.as_str()) {
                state.link.session = Some(mode);
                effects.push(Effect::Link);
            }
        }
        LinkEvent::Call(call_event) => {
            let Some(entry) = state.devices.get_mut(&call_event.device) else {
                return effects;
            };
            let before = entry.calls.phone_state();
            let outcome = entry.calls.apply(&call_event, now);
            for call in &outcome.changed {
                state.calls.insert(call.id, call_event.device.clone());
                effects.push(Effect::Call {
                    device: entry.record.clone(),
                    call: call.clone(),
                    sent_at_ns: call_event.sent_at_ns,
                });
            }
            for ended in outcome.ended {
                state.calls.remove(&ended.call.id);
                remember_end(
                    &mut state.recent_ends,
                    &mut state.ends_seq,
                    &entry.record.device_id,
                    &ended,
                );
                let party = entry.parties.remove(&ended.call.id);
                effects.push(Effect::Ended {
                    device: entry.record.clone(),
                    ended,
                    party,
                });
            }
            if entry.calls.phone_state() != before {
                effects.push(Effect::PhoneState {
                    device: entry.record.clone(),
                    sent_at_ns: call_event.sent_at_ns,
                });
            }
        }
        LinkEvent::Snapshot { device, calls } => {
            let Some(entry) = state.devices.get_mut(&device) else {
                return effects;
            };
            let before = entry.calls.phone_state();
            let outcome = entry.calls.resync(&calls, now);
            for call in outcome.changed {
                state.calls.insert(call.id, device.clone());
                effects.push(Effect::Call {
                    device: entry.record.clone(),
                    call,
                    sent_at_ns: None,
                });
            }
            for ended in outcome.ended {
                state.calls.remove(&ended.call.id);
                remember_end(
                    &mut state.recent_ends,
                    &mut state.ends_seq,
                    &entry.record.device_id,
                    &ended,
                );
                let party = entry.parties.remove(&ended.call.id);
                effects.push(Effect::Ended {
                    device: entry.record.clone(),
                    ended,
                    party,
                });
            }
            if entry.calls.phone_state() != before {
                effects.push(Effect::PhoneState {
                    device: entry.record.clone(),
                    sent_at_ns: None,
                });
            }
        }
        LinkEvent::DoNotDisturb { device, on } => {
            if let Some(entry) = state.devices.get_mut(&device) {
                let before = entry.calls.phone_state();
                entry.calls.dnd = on;
                if entry.calls.phone_state() != before || before == PhoneState::Dnd || on {
                    effects.push(Effect::PhoneState {
                        device: entry.record.clone(),
                        sent_at_ns: None,
                    });
                }
            }
        }
        LinkEvent::Forwarding { device, on, to } => {
            if let Some(entry) = state.devices.get_mut(&device) {
                entry.calls.forwarding_to = if on { to } else { None };
                effects.push(Effect::PhoneState {
                    device: entry.record.clone(),
                    sent_at_ns: None,
                });
            }
        }
    }
    effects
}

async fn act(cti: &Cti, runtime: &PbxRuntime, effect: Effect) {
    match effect {
        Effect::Call {
            device,
            call,
            sent_at_ns,
        } => {
            let party = cti.resolve_party(runtime, &device, &call);
            let view = CallView::new(&call, device.id, device.user_id, runtime.id, party);
            let audience = device.user_id.map_or(Audience::Admins, Audience::User);
            cti.bus.publish(
                Event::to(device.tenant_id, audience, Payload::Call(view)).sent_at(sent_at_ns),
            );
        }
        Effect::Ended {
            device,
            ended,
            party,
        } => {
            let view = CallEndedView {
                id: ended.call.id,
                device_id: device.id,
                user_id: device.user_id,
                ended_at: ended.ended_at,
                cause: ended.cause.clone(),
                missed: ended.missed(),
            };
            let audience = device.user_id.map_or(Audience::Admins, Audience::User);
            cti.bus.publish(Event::to(
                device.tenant_id,
                audience,
                Payload::CallEnded(view),
            ));
            if let Some(user) = device.user_id {
                let party = match party {
                    Some((number, party)) if number == ended.call.other_number => party,
                    _ => cti.lookup_party(runtime, &device, ended.call.other_number.as_deref()),
                };
                let entry = log_entry(cti, runtime, &device, user, &ended, party);
                cti.call_log.write(entry).await;
            }
        }
        Effect::PhoneState { device, sent_at_ns } => {
            if let Some(view) = cti.device_state(runtime, &device.device_id) {
                cti.bus.publish(
                    Event::tenant(device.tenant_id, Payload::DeviceState(view)).sent_at(sent_at_ns),
                );
            }
            if let Some(user) = device.user_id {
                cti.phone_changed(device.tenant_id, user).await;
            }
        }
        Effect::Link => {
            // A stopped runtime (replaced after a settings change) says nothing more: its
            // successor owns the link state of this PBX now.
            if !cti
                .runtime(runtime.id)
                .is_some_and(|current| std::ptr::eq(current.as_ref(), runtime))
            {
                return;
            }
            let view = runtime.link_view();
            let plain = view.plain();
            let owner = runtime.owner();
            for tenant in cti.tenants_of(runtime) {
                // A tenant's admins see why their own PBX is down; everyone else is told
                // plainly that the telephone system cannot be reached.
                let audiences = if owner == Some(tenant) {
                    vec![(Audience::Admins, &view), (Audience::Members, &plain)]
                } else {
                    vec![(Audience::Everyone, &plain)]
                };
                for (audience, link) in audiences {
                    cti.bus
                        .publish(Event::to(tenant, audience, Payload::Link(link.clone())));
                }
            }
            cti.bus.publish(Event::system(Payload::Link(view)));
        }
    }
}

fn log_entry(
    cti: &Cti,
    runtime: &PbxRuntime,
    device: &Device,
    user: ucplus_core::UserId,
    ended: &CallEnded,
    party: Party,
) -> CallLogEntry {
    let call = &ended.call;
    let outgoing = call.direction == ucplus_core::cti::CallDirection::Outgoing;
    let direction = if party.internal {
        LogDirection::Internal
    } else if outgoing {
        LogDirection::Out
    } else {
        LogDirection::In
    };
    let answered = call.answered_at.is_some();
    let answered_by = match (answered, outgoing) {
        (false, _) => None,
        (true, false) => cti.user_name(user).or_else(|| Some(device.name.clone())),
        (true, true) => party.name.clone().or_else(|| party.number.clone()),
    };
    let ring_until = call.answered_at.unwrap_or(ended.ended_at);
    CallLogEntry {
        id: ucplus_core::ids::new_uuid().to_string(),
        tenant_id: device.tenant_id,
        user_id: user,
        device_id: device.id,
        pbx_id: runtime.id,
        direction,
        outgoing,
        missed: ended.missed(),
        answered,
        other_number: party.number,
        other_name: party.name,
        answered_by,
        started_at: call.started_at,
        answered_at: call.answered_at,
        ended_at: ended.ended_at,
        ring_ms: (ring_until.0 - call.started_at.0).max(0),
        talk_ms: call
            .answered_at
            .map_or(0, |a| (ended.ended_at.0 - a.0).max(0)),
        transferred: call
            .transferred
            .iter()
            .map(|n| cti.display_number(runtime, device.tenant_id, n))
            .collect(),
        cause: ended.cause.clone(),
    }
}

#[cfg(test)]
mod tests {
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
}
