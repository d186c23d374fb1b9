//! Generated traffic for demos and load tests: calls started at a steady rate, each
//! following a script of user actions (dial, ring, answer, talk, hang up, …) picked from
//! a weighted mix, on random idle devices. Reproducible for a seed; bounded by a number
//! of calls and a duration; stopped (its calls cleared) when the handle is dropped.
//!
//! | scenario     | script                                                                  |
//! |--------------|-------------------------------------------------------------------------|
//! | internal     | A dials B, B answers after the ring time, talk, A or B hangs up          |
//! | external in  | a trunk number calls B, B answers after the ring time, talk, B hangs up  |
//! | external out | A dials a trunk number that answers (trunk answer delay), talk, A hangs up |
//! | busy         | A dials a busy trunk number, hears the busy tone for the ring time, hangs up |
//! | no answer    | A dials B, nobody answers: the switch clears the call (no-answer timeout) |
//! | transfer     | A calls B, B answers; A consults C, C answers; A transfers; B hangs up   |
//! | conference   | as transfer, but A conferences; A then B hang up                         |

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use csta::EventCause;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, MissedTickBehavior, interval, sleep, sleep_until};

use super::config::FarEnd;
use super::error::SimError;
use super::rng::Rng;
use super::shared::Shared;
use super::simulator::Simulator;
use super::switch::Switch;
use super::timers::after;

/// What traffic to generate; see the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficConfig {
    /// New calls per second (0.001 to 100,000; not a number counts as 1).
    pub calls_per_second: f64,
    pub mix: TrafficMix,
    /// How long a called device rings before the script answers.
    pub ring_time: DurationRange,
    /// How long the parties talk.
    pub talk_time: DurationRange,
    /// Same seed, same choices of scenarios, devices and times.
    pub seed: u64,
    /// No more calls than this are started.
    pub max_calls: u64,
    /// No call is started after this time.
    pub max_duration: Duration,
}

impl Default for TrafficConfig {
    fn default() -> Self {
        TrafficConfig {
            calls_per_second: 10.0,
            mix: TrafficMix::default(),
            ring_time: DurationRange::new(Duration::from_secs(1), Duration::from_secs(3)),
            talk_time: DurationRange::new(Duration::from_secs(5), Duration::from_secs(30)),
            seed: 1,
            max_calls: 1000,
            max_duration: Duration::from_secs(60),
        }
    }
}

/// Relative weights of the scenarios (0 leaves one out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrafficMix {
    pub internal: u32,
    pub external_in: u32,
    pub external_out: u32,
    pub busy: u32,
    pub no_answer: u32,
    pub transfer: u32,
    pub conference: u32,
}

impl Default for TrafficMix {
    fn default() -> Self {
        TrafficMix {
            internal: 40,
            external_in: 20,
            external_out: 20,
            busy: 5,
            no_answer: 5,
            transfer: 5,
            conference: 5,
        }
    }
}

/// `min..=max`; a time is drawn uniformly, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationRange {
    pub min: Duration,
    pub max: Duration,
}

impl DurationRange {
    pub fn new(min: Duration, max: Duration) -> DurationRange {
        DurationRange { min, max }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Internal,
    ExternalIn,
    ExternalOut,
    Busy,
    NoAnswer,
    Transfer,
    Conference,
}

impl TrafficMix {
    fn pick(&self, rng: &mut Rng) -> Option<Scenario> {
        let weighted = [
            (self.internal, Scenario::Internal),
            (self.external_in, Scenario::ExternalIn),
            (self.external_out, Scenario::ExternalOut),
            (self.busy, Scenario::Busy),
            (self.no_answer, Scenario::NoAnswer),
            (self.transfer, Scenario::Transfer),
            (self.conference, Scenario::Conference),
        ];
        let total: u64 = weighted.iter().map(|(weight, _)| u64::from(*weight)).sum();
        let mut point = rng.below(total);
        for (weight, scenario) in weighted {
            if point < u64::from(weight) {
                return Some(scenario);
            }
            point -= u64::from(weight);
        }
        None
    }
}

/// How far the traffic got.
#[derive(Debug, Default)]
struct Progress {
    started: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    skipped: AtomicU64,
}

/// Running traffic; dropping it stops the traffic and clears the calls it made.
pub struct TrafficHandle {
    task: JoinHandle<()>,
    progress: Arc<Progress>,
}

impl TrafficHandle {
    /// Scripts started (each makes one or two calls).
    pub fn started(&self) -> u64 {
        self.progress.started.load(Ordering::Relaxed)
    }

    /// Scripts that ran to their end.
    pub fn completed(&self) -> u64 {
        self.progress.completed.load(Ordering::Relaxed)
    }

    /// Scripts stopped by a refused action (e.g. a user acted on the device meanwhile).
    pub fn failed(&self) -> u64 {
        self.progress.failed.load(Ordering::Relaxed)
    }

    /// Scripts not started for lack of idle devices.
    pub fn skipped(&self) -> u64 {
        self.progress.skipped.load(Ordering::Relaxed)
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits until every call is started and every script has ended.
    pub async fn finished(mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Drop for TrafficHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Simulator {
    /// Starts generating traffic; see [`TrafficConfig`].
    pub fn start_traffic(&self, config: TrafficConfig) -> TrafficHandle {
        let progress = Arc::new(Progress::default());
        let task = self
            .runtime
            .spawn(drive(self.shared.clone(), config, progress.clone()));
        TrafficHandle { task, progress }
    }
}

/// Starts scripts at the configured rate until the count or the time is up, then waits
/// for the scripts in flight.
async fn drive(shared: Arc<Shared>, config: TrafficConfig, progress: Arc<Progress>) {
    let mut rng = Rng::new(config.seed);
    let mut scripts = JoinSet::new();
    let rate = match config.calls_per_second {
        rate if rate.is_finite() => rate.clamp(0.001, 100_000.0),
        _ => 1.0,
    };
    let mut ticks = interval(Duration::from_secs_f64(1.0 / rate));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let end = after(Instant::now(), config.max_duration);
    'calls: for _ in 0..config.max_calls {
        // Reaps finished scripts while waiting for the next tick: at most one turn per
        // script started so far, plus the tick.
        loop {
            tokio::select! {
                biased;
                _ = sleep_until(end) => break 'calls,
                _ = ticks.tick() => break,
                Some(_) = scripts.join_next() => {}
            }
        }
        let Some(scenario) = config.mix.pick(&mut rng) else {
            break;
        };
        progress.started.fetch_add(1, Ordering::Relaxed);
        let script = Script {
            shared: shared.clone(),
            rng: Rng::new(rng.next_u64()),
            config: config.clone(),
            calls: Vec::with_capacity(2),
        };
        scripts.spawn(run(script, scenario, progress.clone()));
    }
    while scripts.join_next().await.is_some() {}
}

async fn run(mut script: Script, scenario: Scenario, progress: Arc<Progress>) {
    let outcome = match scenario {
        Scenario::Internal => script.internal().await,
        Scenario::ExternalIn => script.external_in().await,
        Scenario::ExternalOut => script.external_out().await,
        Scenario::Busy => script.busy().await,
        Scenario::NoAnswer => script.no_answer().await,
        Scenario::Transfer => script.consult_and_join(false).await,
        Scenario::Conference => script.consult_and_join(true).await,
    };
    let counter = match outcome {
        Ok(()) => &progress.completed,
        Err(Stop::NoIdleDevice) => &progress.skipped,
        Err(Stop::Refused) => &progress.failed,
    };
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Why a script ended early.
enum Stop {
    NoIdleDevice,
    Refused,
}

impl From<SimError> for Stop {
    fn from(_: SimError) -> Stop {
        Stop::Refused
    }
}

/// One script's state: its random source and the calls it made (cleared when it ends,
/// however it ends).
struct Script {
    shared: Arc<Shared>,
    rng: Rng,
    config: TrafficConfig,
    calls: Vec<u64>,
}

/// How many random devices are tried to find an idle one.
const IDLE_TRIES: usize = 16;

impl Script {
    fn ring_time(&mut self) -> Duration {
        let range = self.config.ring_time;
        self.rng.duration(range.min, range.max)
    }

    fn talk_time(&mut self) -> Duration {
        let range = self.config.talk_time;
        self.rng.duration(range.min, range.max)
    }

    /// A random idle device other than `except`.
    fn idle_device(&mut self, switch: &Switch, except: &[&str]) -> Result<String, Stop> {
        let devices = switch.devices();
        for _ in 0..IDLE_TRIES {
            let Some(device) = devices.nth(self.rng.below(devices.len())) else {
                continue;
            };
            if switch.is_idle(&device) && !except.contains(&device.as_str()) {
                return Ok(device);
            }
        }
        Err(Stop::NoIdleDevice)
    }

    /// A trunk number whose far end behaves as `wanted`, if the trunk rules allow one.
    fn external_number(&mut self, switch: &Switch, wanted: FarEnd) -> Result<String, Stop> {
        let base = format!("0049301{:06}", self.rng.below(1_000_000));
        let trunk = switch.trunk();
        let suffixes = [
            trunk.busy_suffix.as_deref(),
            trunk.no_answer_suffix.as_deref(),
        ];
        let candidates = suffixes
            .into_iter()
            .flatten()
            .map(|suffix| format!("{base}{suffix}"))
            .chain((0..10).map(|digit| format!("{base}{digit}")));
        let mut numbers = candidates.filter(|number| !switch.is_device(number));
        numbers
            .find(|number| trunk.far_end(number) == wanted)
            .ok_or(Stop::NoIdleDevice)
    }

    async fn internal(&mut self) -> Result<(), Stop> {
        let (call, a, b) = {
            let shared = self.shared.clone();
            let mut switch = shared.switch();
            let a = self.idle_device(&switch, &[])?;
            let b = self.idle_device(&switch, &[&a])?;
            let call = switch.make_call(&a, &b, EventCause::NewCall)?;
            (call, a, b)
        };
        self.calls.push(call);
        sleep(self.ring_time()).await;
        self.shared.switch().answer(call, &b)?;
        sleep(self.talk_time()).await;
        let hangs_up = if self.rng.below(2) == 0 { a } else { b };
        self.hang_up(call, &hangs_up)
    }

    async fn external_in(&mut self) -> Result<(), Stop> {
        let (call, b) = {
            let shared = self.shared.clone();
            let mut switch = shared.switch();
            let b = self.idle_device(&switch, &[])?;
            let from = self.external_number(&switch, FarEnd::Answers)?;
            (switch.incoming_external(&from, &b)?, b)
        };
        self.calls.push(call);
        sleep(self.ring_time()).await;
        self.shared.switch().answer(call, &b)?;
        sleep(self.talk_time()).await;
        self.hang_up(call, &b)
    }

    async fn external_out(&mut self) -> Result<(), Stop> {
        let (call, a) = self.dial_external(FarEnd::Answers)?;
        let answered = self.shared.config.trunk.answer_delay;
        sleep(answered.saturating_add(self.talk_time())).await;
        self.hang_up(call, &a)
    }

    async fn busy(&mut self) -> Result<(), Stop> {
        let (call, a) = self.dial_external(FarEnd::Busy)?;
        sleep(self.ring_time()).await;
        self.hang_up(call, &a)
    }

    fn dial_external(&mut self, far_end: FarEnd) -> Result<(u64, String), Stop> {
        let shared = self.shared.clone();
        let mut switch = shared.switch();
        let a = self.idle_device(&switch, &[])?;
        let to = self.external_number(&switch, far_end)?;
        let call = switch.make_call(&a, &to, EventCause::NewCall)?;
        self.calls.push(call);
        Ok((call, a))
    }

    async fn no_answer(&mut self) -> Result<(), Stop> {
        {
            let shared = self.shared.clone();
            let mut switch = shared.switch();
            let a = self.idle_device(&switch, &[])?;
            let b = self.idle_device(&switch, &[&a])?;
            let call = switch.make_call(&a, &b, EventCause::NewCall)?;
            self.calls.push(call);
        }
        // The switch clears the call; stay until then so that nothing clears it early.
        let timeout = self.shared.config.no_answer_timeout;
        sleep(timeout.saturating_add(Duration::from_millis(100))).await;
        Ok(())
    }

    /// A calls B, consults C, then transfers (B and C stay) or conferences (all stay).
    async fn consult_and_join(&mut self, conference: bool) -> Result<(), Stop> {
        let (call, a, b) = {
            let shared = self.shared.clone();
            let mut switch = shared.switch();
            let a = self.idle_device(&switch, &[])?;
            let b = self.idle_device(&switch, &[&a])?;
            let call = switch.make_call(&a, &b, EventCause::NewCall)?;
            (call, a, b)
        };
        self.calls.push(call);
        sleep(self.ring_time()).await;
        self.shared.switch().answer(call, &b)?;
        sleep(self.talk_time() / 2).await;
        let (consultation, c) = {
            let shared = self.shared.clone();
            let mut switch = shared.switch();
            let c = self.idle_device(&switch, &[&a, &b])?;
            (switch.consult(call, &a, &c)?, c)
        };
        self.calls.push(consultation);
        sleep(self.ring_time()).await;
        self.shared.switch().answer(consultation, &c)?;
        sleep(self.ring_time()).await;
        if conference {
            self.shared.switch().conference(call, consultation, &a)?;
            sleep(self.talk_time()).await;
            self.hang_up(call, &a)?;
        } else {
            self.shared.switch().transfer(call, consultation, &a)?;
            sleep(self.talk_time() / 2).await;
        }
        self.hang_up(call, &b)
    }

    fn hang_up(&mut self, call: u64, device: &str) -> Result<(), Stop> {
        let mut switch = self.shared.switch();
        switch.clear_connection(call, device, EventCause::NormalClearing)?;
        Ok(())
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let mut switch = self.shared.switch();
        for call in self.calls.drain(..) {
            // Calls that ended already are unknown by now: nothing to do for them.
            let _ = switch.clear_call(call);
        }
    }
}
