//! A small seeded random number generator (SplitMix64) for the traffic generator: the
//! same seed gives the same traffic, and no dependency is needed for it.

use std::time::Duration;

/// SplitMix64; not for cryptography.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (0 when `bound` is 0).
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        // Multiply-shift: unbiased enough for traffic, and never loops.
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// A duration in `min..=max` (`min` when `max < min`).
    pub(crate) fn duration(&mut self, min: Duration, max: Duration) -> Duration {
        let span = max.saturating_sub(min).as_millis();
        let span = u64::try_from(span).unwrap_or(u64::MAX - 1);
        min.saturating_add(Duration::from_millis(self.below(span + 1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_within_bounds() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..1000 {
            let x = a.below(10);
            assert_eq!(x, b.below(10));
            assert!(x < 10);
            let d = a.duration(Duration::from_millis(5), Duration::from_millis(9));
            b.duration(Duration::from_millis(5), Duration::from_millis(9));
            assert!((5..=9).contains(&d.as_millis()));
        }
        assert_eq!(a.below(0), 0);
        let min = Duration::from_secs(3);
        assert_eq!(a.duration(min, Duration::from_secs(1)), min);
    }
}
