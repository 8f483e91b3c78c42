//! What the screen knows about one route, derived from the engine's events alone.

mod keys;
mod row;

use std::time::Duration;

pub use keys::in_keys;
pub use row::{Overrides, Row};

use crate::probe::stats::LatencySummary;
use crate::probe::{Outcome, ProbeEvent};
use crate::supervisor::router::{GatewayRow, RouterEvent};
use crate::supervisor::status::Server;
use crate::supervisor::{Phase, RouteEvent, RouteStatus};
use crate::trouble::Trouble;

/// A route's state as the list shows it: the engine's phase, or a profile that does not load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Stopped,
    Starting,
    Waiting,
    Serving,
    Degraded,
    Down,
    Failed,
    /// The profile file does not load: nothing can run.
    Invalid,
}

impl From<Phase> for Status {
    fn from(phase: Phase) -> Status {
        match phase {
            Phase::Stopped => Status::Stopped,
            Phase::Starting => Status::Starting,
            Phase::Waiting => Status::Waiting,
            Phase::Serving => Status::Serving,
            Phase::Degraded => Status::Degraded,
            Phase::Down => Status::Down,
            Phase::Failed => Status::Failed,
        }
    }
}

impl Status {
    /// One cell, distinct without colour.
    pub fn glyph(self) -> &'static str {
        match self {
            Status::Stopped => "○",
            Status::Starting => "◌",
            Status::Waiting => "◔",
            Status::Serving => "●",
            Status::Degraded => "◐",
            Status::Down => "▼",
            Status::Failed => "✖",
            Status::Invalid => "!",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Invalid => "invalid",
            Status::Stopped => Phase::Stopped.as_str(),
            Status::Starting => Phase::Starting.as_str(),
            Status::Waiting => Phase::Waiting.as_str(),
            Status::Serving => Phase::Serving.as_str(),
            Status::Degraded => Phase::Degraded.as_str(),
            Status::Down => Phase::Down.as_str(),
            Status::Failed => Phase::Failed.as_str(),
        }
    }
}

/// The last answer to `d` (diagnose).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diagnosis {
    Pending,
    Healthy {
        url: String,
        server: Server,
        took: Duration,
    },
    Unhealthy {
        url: String,
        problem: Trouble,
    },
    /// The probe could not start.
    Error(String),
}

impl Diagnosis {
    pub fn from_outcome(outcome: &Result<Outcome, String>) -> Diagnosis {
        match outcome {
            Ok(Outcome::Healthy(report)) => Diagnosis::Healthy {
                url: report.url.clone(),
                server: Server::new(&report.handshake.server, report.handshake.wire, report.tools),
                took: report.ping_time,
            },
            Ok(Outcome::Unhealthy { url, diagnosis }) => {
                Diagnosis::Unhealthy { url: url.clone(), problem: diagnosis.clone() }
            }
            Err(why) => Diagnosis::Error(why.clone()),
        }
    }
}

/// One route's live view: the engine's status, and the details the panes draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteView {
    /// The engine's verdict, as it last reported it.
    pub status: RouteStatus,
    pub latency: LatencySummary,
    pub diagnosis: Option<Diagnosis>,
    /// A router route's gateways, as its `/health` last showed them.
    pub gateways: Vec<GatewayRow>,
}

impl Default for RouteView {
    fn default() -> Self {
        RouteView {
            status: RouteStatus::stopped(),
            latency: LatencySummary::default(),
            diagnosis: None,
            gateways: Vec::new(),
        }
    }
}

impl RouteView {
    /// Takes in one event of this route.
    pub fn apply(&mut self, event: &RouteEvent) {
        match event {
            RouteEvent::Status(status) => self.status(status),
            RouteEvent::Probe(ProbeEvent::Latency(summary)) if self.status.phase.live() => {
                self.latency = summary.clone();
            }
            RouteEvent::Router(RouterEvent::Gateways { rows, .. }) => self.gateways = rows.clone(),
            RouteEvent::Router(RouterEvent::Exited { .. }) => self.gateways.clear(),
            RouteEvent::Probe(_)
            | RouteEvent::Forward(_)
            | RouteEvent::Router(_)
            | RouteEvent::Repeated { .. } => {}
        }
    }

    fn status(&mut self, status: &RouteStatus) {
        // A diagnosis tells of the route as it was: a route that changed phase, pod or address
        // makes it old news.
        let moved = status.phase != self.status.phase
            || status.pod != self.status.pod
            || status.url != self.status.url;
        if moved {
            self.diagnosis = self.diagnosis.take().filter(|d| *d == Diagnosis::Pending);
        }
        // A run starting anew starts its figures anew.
        if !self.status.phase.live() && status.phase.live() {
            self.latency = LatencySummary::default();
            self.gateways.clear();
        }
        self.status = status.clone();
    }

    /// A failed route is stopped; once the user has read the failure, show it as such.
    pub fn dismiss_failure(&mut self) {
        if self.status.phase == Phase::Failed {
            self.status = RouteStatus::stopped();
        }
    }
}

/// A duration as the screen shows latency: `0.42ms`, `12.3ms`, `340ms`, `1.25s`.
pub fn millis(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1.0 {
        format!("{ms:.2}ms")
    } else if ms < 100.0 {
        format!("{ms:.1}ms")
    } else if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_reads_at_every_scale() {
        let ms = |n: u64| Duration::from_micros(n);
        assert_eq!(millis(ms(420)), "0.42ms");
        assert_eq!(millis(ms(12_340)), "12.3ms");
        assert_eq!(millis(ms(340_000)), "340ms");
        assert_eq!(millis(ms(1_250_000)), "1.25s");
    }

    fn route_status(phase: Phase) -> RouteEvent {
        RouteEvent::Status(RouteStatus { phase, ..RouteStatus::stopped() })
    }

    #[test]
    fn the_view_shows_the_engine_s_status_as_it_comes() {
        let mut view = RouteView::default();
        let failed = RouteStatus::failed(Trouble::new("no context", "pick one"));
        view.apply(&RouteEvent::Status(failed.clone()));
        assert_eq!(view.status, failed);
        // Latency still in flight once the route failed is not drawn.
        view.apply(&RouteEvent::Probe(ProbeEvent::Latency(LatencySummary {
            last: Some(Duration::from_millis(1)),
            ..LatencySummary::default()
        })));
        assert_eq!(view.latency, LatencySummary::default());
        view.dismiss_failure();
        assert_eq!(view.status.phase, Phase::Stopped);
    }

    #[test]
    fn a_diagnosis_goes_when_the_route_changes() {
        let mut view = RouteView::default();
        view.apply(&route_status(Phase::Down));
        view.diagnosis = Some(Diagnosis::Error("old".into()));
        view.apply(&RouteEvent::Status(RouteStatus {
            evidence: "another word".into(),
            ..view.status.clone()
        }));
        assert!(view.diagnosis.is_some(), "the same phase keeps it");
        view.apply(&route_status(Phase::Serving));
        assert_eq!(view.diagnosis, None);
        // One asked for and not yet answered stays.
        view.diagnosis = Some(Diagnosis::Pending);
        view.apply(&route_status(Phase::Down));
        assert_eq!(view.diagnosis, Some(Diagnosis::Pending));
    }

    #[test]
    fn a_diagnosis_goes_when_the_route_moves_to_another_pod_or_address() {
        let mut view = RouteView::default();
        let on = |pod: &str, url: &str| {
            RouteEvent::Status(RouteStatus {
                phase: Phase::Serving,
                pod: Some(pod.into()),
                url: Some(url.into()),
                ..RouteStatus::stopped()
            })
        };
        view.apply(&on("pod-a", "http://127.0.0.1:1/mcp"));
        view.diagnosis = Some(Diagnosis::Error("of pod-a".into()));
        view.apply(&on("pod-b", "http://127.0.0.1:1/mcp"));
        assert_eq!(view.diagnosis, None, "a pod switch makes it old news");
        view.diagnosis = Some(Diagnosis::Error("of port 1".into()));
        view.apply(&on("pod-b", "http://127.0.0.1:2/mcp"));
        assert_eq!(view.diagnosis, None, "a port change makes it old news");
    }
}
