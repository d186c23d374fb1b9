//! The switch's timers (ringing, far-end answer, busy tone) in one queue, driven by one
//! task: no task per timer, and a stale timer costs one heap entry until it is due.
//!
//! A timer names the connection it is for and the connection's *token*: every state
//! change gives a connection a new token, so a timer whose connection has moved on
//! simply finds no match when it fires (no cancellation needed).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Duration;

use tokio::time::Instant;

/// `now + duration`, capped at a year from now: configured durations may be huge, and
/// instant arithmetic must not overflow.
pub(crate) fn after(now: Instant, duration: Duration) -> Instant {
    const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);
    now + duration.min(YEAR)
}

/// What happens when a timer is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Nobody answered: clear the ringing connection (`callNotAnswered`).
    NoAnswer {
        call: u64,
        device: String,
        token: u64,
    },
    /// The external far end picks up.
    FarEndAnswers {
        call: u64,
        device: String,
        token: u64,
    },
    /// The caller stopped listening to the busy tone: clear the failed connection.
    BusyTone {
        call: u64,
        device: String,
        token: u64,
    },
}

struct Entry {
    at: Instant,
    sequence: u64,
    timer: Timer,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.sequence) == (other.at, other.sequence)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Reversed: `BinaryHeap` is a max-heap and the earliest entry must come out first.
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.sequence).cmp(&(self.at, self.sequence))
    }
}

/// Timers ordered by due time, then by scheduling order.
#[derive(Default)]
pub(crate) struct TimerQueue {
    heap: BinaryHeap<Entry>,
    sequence: u64,
}

impl TimerQueue {
    /// Adds a timer; true when it is now the earliest (the driver must re-arm).
    pub(crate) fn schedule(&mut self, at: Instant, timer: Timer) -> bool {
        self.sequence += 1;
        let earliest = self.next_deadline().is_none_or(|next| at < next);
        self.heap.push(Entry {
            at,
            sequence: self.sequence,
            timer,
        });
        earliest
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|entry| entry.at)
    }

    /// The earliest timer due at `now`, removed from the queue.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Timer> {
        if self.heap.peek()?.at > now {
            return None;
        }
        self.heap.pop().map(|entry| entry.timer)
    }

    pub(crate) fn clear(&mut self) {
        self.heap.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_due_order_and_only_when_due() {
        let now = Instant::now();
        let mut queue = TimerQueue::default();
        let timer = |call| Timer::NoAnswer {
            call,
            device: "200".into(),
            token: 0,
        };
        assert!(queue.schedule(now + Duration::from_secs(2), timer(2)));
        assert!(queue.schedule(now + Duration::from_secs(1), timer(1)));
        assert!(!queue.schedule(now + Duration::from_secs(1), timer(3)));
        assert_eq!(queue.pop_due(now), None);
        let later = now + Duration::from_secs(5);
        assert_eq!(queue.pop_due(later), Some(timer(1)));
        assert_eq!(queue.pop_due(later), Some(timer(3)));
        assert_eq!(queue.pop_due(later), Some(timer(2)));
        assert_eq!(queue.next_deadline(), None);
        queue.schedule(now, timer(4));
        queue.clear();
        assert_eq!(queue.pop_due(later), None);
        assert!(after(now, Duration::MAX) > now);
    }
}
