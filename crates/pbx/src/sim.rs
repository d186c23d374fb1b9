//! The CSTA PBX simulator: a small but correct switch speaking CSTA Phase III XML over
//! TCP, as the server side. It serves `ucplus sim-pbx` ([`run`]), the server's `sim` PBX
//! kind and demo, black-box tests of the CTI engine and load benchmarks ([`Simulator`]).
//!
//! # Model
//! - Devices are the ids of [`SimConfig::devices`] (ranges and lists, see [`DeviceSet`]);
//!   any other dialable number (1–32 of `0-9 * #`, optional leading `+`) is *external*,
//!   reached through the simulated trunk ([`TrunkConfig`]: by default numbers ending in
//!   0 are busy, ending in 9 never answer, others answer after 2 s).
//! - Calls have ids `1, 2, 3, …`, unique for the life of the simulator (also across
//!   [`Simulator::restart`]). A connection is a device in a call, in state `initiated`,
//!   `alerting`, `connected`, `hold` or `fail`; leaving a call is state `null`.
//! - A device is *busy* when it has a connection that is not on hold (no call waiting).
//!   A call to a busy device fails (`busy`) unless it forwards on busy; do-not-disturb
//!   fails it with `doNotDisturb`; immediate forwarding wins over both (at most 5 hops).
//! - A ringing connection is cleared after [`SimConfig::no_answer_timeout`] with cause
//!   `callNotAnswered`. A caller whose call failed hears the busy tone (state `fail`)
//!   until it hangs up or [`SimConfig::busy_tone_timeout`] passes.
//! - A call left with one connection is over: the switch clears that one too.
//! - `MakeCall` takes the calling device off-hook at once (as `autoOriginate
//!   doNotPrompt`); a calling device that is busy is refused.
//!
//! # Event sequences
//! Every event goes to every monitor of every device involved, with `localConnectionInfo`
//! the state of *that* device's connection in the call (`null` once it left) and a
//! `cause`; events with `callingDevice`/`calledDevice` in the schema carry them. Below,
//! `c/X` is the connection of device X in call c; "A, B:" lists whose monitors get it,
//! with their `localConnectionInfo`.
//!
//! | action | events |
//! |---|---|
//! | MakeCall A→B (`dial` is the same with cause `newCall`) | A (initiated): ServiceInitiated c/A `makeCall`; A (connected): Originated c/A, calling A, called B, `makeCall`; A (connected), B (alerting): Delivered c/B, alerting B, calling A, called B, `newCall` |
//! | B answers (AnswerCall, `answer`) | A, B (connected): Established c/B, answering B, `newCall` |
//! | A hangs up (ClearConnection, `hang_up`) | A (null), B (connected): ConnectionCleared c/A `normalClearing`; then B (null): ConnectionCleared c/B `normalClearing` |
//! | ClearCall | ConnectionCleared for each connection in joining order, as above |
//! | nobody answers | A (connected), B (null): ConnectionCleared c/B `callNotAnswered`; A (null): ConnectionCleared c/A `callNotAnswered` |
//! | B busy (or trunk number busy) | A: ServiceInitiated, Originated; A (fail): Failed c/B, failing B, calling A, called B, `busy`; later A (null): ConnectionCleared c/A `normalClearing` (hang-up or busy-tone timeout) |
//! | B has do-not-disturb on | as busy, with Failed cause `doNotDisturb` |
//! | HoldCall c/A (`hold`) | A (hold), B (connected): Held c/A `normal` |
//! | RetrieveCall c/A (`retrieve`) | A, B (connected): Retrieved c/A `normal` |
//! | ConsultationCall c1/A to C (`consult`) | A (hold), B (connected): Held c1/A `consultation`; A (initiated): ServiceInitiated c2/A `consultation`; A (connected): Originated c2/A `consultation`; A (connected), C (alerting): Delivered c2/C `consultation` |
//! | TransferCall held c1/A, active c2/A (`transfer`) | A (null), B (connected), C (connected, or alerting if not yet answered): TransferedEvent primaryOldCall c1/A, secondaryOldCall c2/A, transferring A, transferredTo C, transferredConnections c1/B←c1/B, c1/C←c2/C, `transfer`; the call goes on as c1 |
//! | SingleStepTransferCall c/A to C | A (null), B (connected): TransferedEvent primaryOldCall c/A, transferring A, transferredTo C, transferredConnections c/B, `singleStepTransfer`; B (connected), C (alerting): Delivered c/C, calling B, called C, lastRedirection A, `singleStepTransfer` |
//! | ConferenceCall held c1/A, active c2/A (`conference`) | A, B, C (connected): ConferencedEvent primaryOldCall c1/A, secondaryOldCall c2/A, conferencing A, addedParty C, conferenceConnections c1/A, c1/B, c1/C←c2/C, `conference`; the call goes on as c1 |
//! | DeflectCall c/B to D (`deflect`) | A (connected), B (null): Diverted c/B, diverting B, newDestination D, lastRedirection B, `redirected`; A (connected), D (alerting): Delivered c/D, called B, lastRedirection B, `redirected` |
//! | A calls B, B forwards immediately to F | A (connected), B (null): Diverted c/B, diverting B, newDestination F, `callForwardImmediate`; A, F: Delivered c/F, lastRedirection B, `callForwardImmediate` (on busy: `callForwardBusy`) |
//! | A calls external E | A: ServiceInitiated, Originated; A (connected): Delivered c/E; after the trunk's answer delay A (connected): Established c/E |
//! | `incoming_external(E, B)` | B (alerting): Delivered c/B, calling E, called B, `newCall` |
//! | SetDoNotDisturb / SetForwarding (a change) | the device: DoNotDisturbEvent / ForwardingEvent (no call, so no localConnectionInfo or cause) |
//!
//! # Errors
//! Refused requests get a `CSTAErrorCode` under their invoke id (see [`SimError`] for
//! the full list): unknown device `operation/invalidDeviceID` (MakeCall:
//! `invalidCallingDevice`), unknown call `operation/invalidCallID`, device not in the call
//! `operation/invalidConnectionID`, undialable number `operation/invalidDestination`,
//! nothing ringing `stateIncompatibility/noCallToAnswer`, not connected
//! `stateIncompatibility/noActiveCall`, nothing held `stateIncompatibility/noHeldCall`,
//! a call monitor `operation/requestIncompatibleWithObject`, another link's monitor
//! `operation/invalidCrossRefID`. A document that does not decode gets
//! `operation/generic`, an unknown document or an event `operation/invalidFeature`; the
//! link stays up. Only a broken frame (bad header, oversized) closes the link.
//!
//! # Sessions, framing, edition
//! Per [`SessionPattern`]: none, ECMA-354 (login, expiry, reset, stop) or OpenScape
//! (`SystemStatus` heartbeats); see `session.rs` for the exact rules. Framing is the
//! 8-byte header or NUL; every document is written in [`SimConfig::edition`] whatever
//! the client writes.
//!
//! # Concurrency
//! One task per client link, one timer task, one accept task. The switch state is one
//! `Switch` behind a `std::sync::Mutex`, locked for each operation and never across an
//! `.await`; events are cloned per monitor and queued on the link's bounded channel with
//! `try_send`, and the link task encodes and writes them in batches. A link whose queue
//! overflows, or whose socket does not take a write within the timeout, is dropped.
//! Device state exists only for devices with calls, monitors or features, so 100,000
//! configured devices cost nothing until used.

mod config;
mod control;
mod devices;
mod error;
pub(crate) mod events;
mod link;
mod requests;
mod rng;
mod session;
mod shared;
mod simulator;
mod stats;
mod switch;
mod timers;
mod traffic;

pub use config::{
    Ecma354Config, Limits, Login, OpenScapeConfig, SessionPattern, SimConfig, TrunkConfig,
};
pub use control::CallId;
pub use devices::{DeviceSet, DeviceSetError};
pub use error::SimError;
pub use simulator::{Simulator, run};
pub use stats::SimStats;
pub use traffic::{DurationRange, TrafficConfig, TrafficHandle, TrafficMix};
