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
                Event::to(device.tenant_id, audience, Payload::Call(view))
                    .sent_at(sent_at_ns)
                    .from_link(runtime.id, runtime.epoch),
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
            cti.bus.publish(
                Event::to(device.tenant_id, audience, Payload::CallEnded(view))
                    .from_link(runtime.id, runtime.epoch),
            );
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
                    Event::tenant(device.tenant_id, Payload::DeviceState(view))
                        .sent_at(sent_at_ns)
                        .from_link(runtime.id, runtime.epoch),
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
                    cti.bus.publish(
                        Event::to(tenant, audience, Payload::Link(link.clone()))
                            .from_link(runtime.id, runtime.epoch),
                    );
                }
            }
            cti.bus
                .publish(Event::system(Payload::Link(view)).from_link(runtime.id, runtime.epoch));
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
mod tests;
