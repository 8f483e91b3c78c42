//! Bursts of one per-connection event told once a second: when a pod goes away, every
//! connection it carried is cut at once, and a hundred identical "connection lost" lines say
//! nothing the first one and a count do not.
//!
//! The first of a kind is shown at once and opens a one-second window; more of the same within
//! it are counted, and when it closes each count is reported on one line. A kind still coming
//! when its window closes stays counted, so a steady stream makes one line a second.

use std::time::Duration;

use tokio::time::Instant;

use crate::forward::ForwardEvent;

/// How long identical events are counted before their count is reported.
pub const WINDOW: Duration = Duration::from_secs(1);

/// The per-connection events seen in the window under way.
#[derive(Debug, Default)]
pub struct Bursts {
    /// When the window under way closes.
    closes: Option<Instant>,
    /// Each kind seen in it, with how many more came after the first.
    seen: Vec<(ForwardEvent, u32)>,
}

impl Bursts {
    /// Whether `event` is shown now; if not, it is counted for the line at the window's close.
    /// Events that come one per connection are counted; every other event is always shown.
    pub fn admit(&mut self, event: &ForwardEvent, now: Instant) -> bool {
        if !per_connection(event) {
            return true;
        }
        self.closes.get_or_insert(now + WINDOW);
        match self.seen.iter_mut().find(|(seen, _)| seen == event) {
            Some((_, more)) => {
                *more += 1;
                false
            }
            None => {
                self.seen.push((event.clone(), 0));
                true
            }
        }
    }

    /// When the window under way closes, if one is open.
    pub fn closes(&self) -> Option<Instant> {
        self.closes
    }

    /// Closes the window: each event that came more than once, with how many more came. Those
    /// are counted on in a new window; the others are forgotten.
    pub fn close(&mut self, now: Instant) -> Vec<(ForwardEvent, u32)> {
        let seen = std::mem::take(&mut self.seen);
        let (counted, _): (Vec<_>, Vec<_>) = seen.into_iter().partition(|(_, more)| *more > 0);
        self.seen = counted.iter().map(|(event, _)| (event.clone(), 0)).collect();
        self.closes = (!self.seen.is_empty()).then_some(now + WINDOW);
        counted
    }
}

/// The events a forward reports once per connection.
fn per_connection(event: &ForwardEvent) -> bool {
    matches!(
        event,
        ForwardEvent::ConnectionLost { .. }
            | ForwardEvent::ConnectionError { .. }
            | ForwardEvent::Refused { .. }
            | ForwardEvent::PodClosed { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lost(pod: &str) -> ForwardEvent {
        ForwardEvent::ConnectionLost { pod: pod.to_owned(), message: "pod went away".to_owned() }
    }

    #[test]
    fn a_hundred_cut_connections_are_one_line_and_a_count() {
        let (mut bursts, start) = (Bursts::default(), Instant::now());
        let shown = (0..100).filter(|_| bursts.admit(&lost("a"), start)).count();
        assert_eq!(shown, 1);
        assert_eq!(bursts.closes(), Some(start + WINDOW));
        assert_eq!(bursts.close(start + WINDOW), vec![(lost("a"), 99)]);
    }

    #[test]
    fn a_steady_stream_makes_one_line_a_second_and_ends_when_it_stops() {
        let (mut bursts, start) = (Bursts::default(), Instant::now());
        assert!(bursts.admit(&lost("a"), start));
        assert!(!bursts.admit(&lost("a"), start));
        assert_eq!(bursts.close(start + WINDOW), vec![(lost("a"), 1)]);
        // Still coming: counted, not shown again.
        assert!(!bursts.admit(&lost("a"), start + WINDOW));
        assert_eq!(bursts.close(start + WINDOW * 2), vec![(lost("a"), 1)]);
        // A quiet window ends the burst: the next one is shown at once.
        assert_eq!(bursts.close(start + WINDOW * 3), vec![]);
        assert_eq!(bursts.closes(), None);
        assert!(bursts.admit(&lost("a"), start + WINDOW * 4));
    }

    #[test]
    fn different_events_and_events_that_are_not_per_connection_are_each_shown() {
        let (mut bursts, now) = (Bursts::default(), Instant::now());
        assert!(bursts.admit(&lost("a"), now));
        assert!(bursts.admit(&lost("b"), now));
        let log = ForwardEvent::PodLog { pod: "a".to_owned(), line: "same".to_owned() };
        assert!(bursts.admit(&log, now) && bursts.admit(&log, now));
        assert_eq!(bursts.close(now + WINDOW), vec![]);
    }
}
