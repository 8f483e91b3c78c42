//! Waits between retries: doubling from a first wait up to a ceiling, and back to the first on
//! [`Backoff::reset`]. The forward (and the kube watcher under it) and the router's supervisor
//! each set their own bounds on this one helper.

use std::time::Duration;

/// An endless series of doubling waits, capped.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    most: Duration,
    next: Duration,
}

impl Backoff {
    pub const fn new(first: Duration, most: Duration) -> Backoff {
        Backoff { first, most, next: first }
    }

    /// The next wait starts at the first again.
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let wait = self.next;
        self.next = (self.next * 2).min(self.most);
        Some(wait)
    }
}

/// kube's watcher retries with it too.
impl kube::runtime::utils::Backoff for Backoff {
    fn reset(&mut self) {
        Backoff::reset(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_its_ceiling_and_starts_over_on_reset() {
        let mut b = Backoff::new(Duration::from_millis(250), Duration::from_secs(5));
        let waits: Vec<u128> = b.by_ref().take(7).map(|d| d.as_millis()).collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 5000, 5000]);
        b.reset();
        assert_eq!(b.next(), Some(Duration::from_millis(250)));
    }
}
