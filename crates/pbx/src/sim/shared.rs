//! [`Shared`]: what the listener, the links, the timer driver, the traffic generator and
//! the control API of one simulator share.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::config::SimConfig;
use super::stats::Stats;
use super::switch::Switch;

pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    pub(crate) stats: Arc<Stats>,
    /// Wakes the timer driver when a timer earlier than all others is scheduled.
    pub(crate) timer_wakeup: Arc<Notify>,
    switch: Mutex<Switch>,
    stamp_events: AtomicBool,
    /// Silence ends at `epoch` + this many nanoseconds.
    silent_until: AtomicU64,
    epoch: Instant,
    last_link: AtomicU64,
}

impl Shared {
    pub(crate) fn new(config: SimConfig) -> Shared {
        let stats = Arc::new(Stats::default());
        let timer_wakeup = Arc::new(Notify::new());
        let switch = Switch::new(&config, stats.clone(), timer_wakeup.clone());
        Shared {
            stamp_events: AtomicBool::new(config.stamp_events),
            config,
            stats,
            timer_wakeup,
            switch: Mutex::new(switch),
            silent_until: AtomicU64::new(0),
            epoch: Instant::now(),
            last_link: AtomicU64::new(0),
        }
    }

    /// Locks the switch. Never held across an `.await`. A panic while it was held would
    /// poison it; the state is still consistent enough to go on, so poisoning is ignored.
    pub(crate) fn switch(&self) -> MutexGuard<'_, Switch> {
        self.switch.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn next_link_id(&self) -> u64 {
        self.last_link.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn stamp_events(&self) -> bool {
        self.stamp_events.load(Ordering::Relaxed)
    }

    pub(crate) fn set_stamp_events(&self, on: bool) {
        self.stamp_events.store(on, Ordering::Relaxed);
    }

    /// Whether the switch is silent (sends nothing) now.
    pub(crate) fn is_silent(&self) -> bool {
        let now = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        now < self.silent_until.load(Ordering::Relaxed)
    }

    pub(crate) fn go_silent(&self, duration: Duration) {
        let until = self.epoch.elapsed().saturating_add(duration);
        let until = u64::try_from(until.as_nanos()).unwrap_or(u64::MAX);
        self.silent_until.store(until, Ordering::Relaxed);
    }
}

/// Completes once `stop` turns true (or its sender is gone): the shutdown signal.
pub(crate) async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    // The guard `wait_for` returns is dropped here, not held across the caller's awaits.
    let _ = stop.wait_for(|stop| *stop).await;
}
