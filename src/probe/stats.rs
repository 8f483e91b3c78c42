//! Latency samples: the last one, p50 and p95 over a recent window, and a longer history for a
//! sparkline. Bounded memory whatever the run time.

use std::collections::VecDeque;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Latency {
    window: VecDeque<Duration>,
    window_len: usize,
    history: VecDeque<Duration>,
    history_len: usize,
}

/// A copy of the figures, for faces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatencySummary {
    pub last: Option<Duration>,
    pub p50: Option<Duration>,
    pub p95: Option<Duration>,
    /// Oldest first, in microseconds (sparklines take integers).
    pub history_us: Vec<u64>,
}

impl Latency {
    /// Percentiles over the last `window` samples; `history` samples kept for drawing.
    pub fn new(window: usize, history: usize) -> Latency {
        Latency {
            window: VecDeque::with_capacity(window.max(1)),
            window_len: window.max(1),
            history: VecDeque::with_capacity(history.max(1)),
            history_len: history.max(1),
        }
    }

    pub fn record(&mut self, sample: Duration) {
        if self.window.len() == self.window_len {
            self.window.pop_front();
        }
        self.window.push_back(sample);
        if self.history.len() == self.history_len {
            self.history.pop_front();
        }
        self.history.push_back(sample);
    }

    pub fn last(&self) -> Option<Duration> {
        self.window.back().copied()
    }

    /// The `p`th percentile (nearest rank) of the window.
    pub fn percentile(&self, p: u8) -> Option<Duration> {
        if self.window.is_empty() {
            return None;
        }
        let mut sorted: Vec<Duration> = self.window.iter().copied().collect();
        sorted.sort_unstable();
        let rank = (usize::from(p.min(100)) * sorted.len()).div_ceil(100).max(1);
        Some(sorted[rank - 1])
    }

    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            last: self.last(),
            p50: self.percentile(50),
            p95: self.percentile(95),
            history_us: self
                .history
                .iter()
                .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_follow_the_window_and_history_stays_bounded() {
        let mut latency = Latency::new(20, 30);
        assert_eq!(latency.summary(), LatencySummary::default());
        for n in 1..=100 {
            latency.record(ms(n));
        }
        // The window holds 81..=100.
        assert_eq!(latency.last(), Some(ms(100)));
        assert_eq!(latency.percentile(50), Some(ms(90)));
        assert_eq!(latency.percentile(95), Some(ms(99)));
        assert_eq!(latency.percentile(100), Some(ms(100)));
        let summary = latency.summary();
        assert_eq!(summary.history_us.len(), 30);
        assert_eq!(summary.history_us.first(), Some(&71_000));
    }

    #[test]
    fn one_sample_is_every_percentile() {
        let mut latency = Latency::new(5, 5);
        latency.record(ms(7));
        assert_eq!((latency.percentile(50), latency.percentile(95)), (Some(ms(7)), Some(ms(7))));
    }
}
