//! What the screen knows about one route, derived from the engine's events alone.

mod row;

use std::time::Duration;

pub use row::{Overrides, Row};

use crate::forward::{ForwardEvent, ForwardState};
use crate::probe::stats::LatencySummary;
use crate::probe::{Health, Outcome, ProbeEvent};
use crate::supervisor::hub::{Lifecycle, RouteEvent};
use crate::supervisor::router::{GatewayRow, RouterEvent};
use crate::trouble::Trouble;

/// A route's state as the list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Stopped,
    Starting,
    /// Running, with its health not watched.
    Running,
    Healthy,
    Slow,
    Down,
    Failed,
    /// The profile file does not load: nothing can run.
    Invalid,
}

impl Status {
    /// One cell, distinct without colour.
    pub fn glyph(self) -> &'static str {
        match self {
            Status::Stopped => "○",
            Status::Starting => "◌",
            Status::Running => "◎",
            Status::Healthy => "●",
            Status::Slow => "◐",
            Status::Down => "▼",
            Status::Failed => "✖",
            Status::Invalid => "!",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Stopped => "stopped",
            Status::Starting => "starting",
            Status::Running => "running",
            Status::Healthy => "healthy",
            Status::Slow => "slow",
            Status::Down => "down",
            Status::Failed => "failed",
            Status::Invalid => "invalid",
        }
    }

    /// Whether the route is running (its health events still count).
    fn live(self) -> bool {
        matches!(
            self,
            Status::Starting | Status::Running | Status::Healthy | Status::Slow | Status::Down
        )
    }
}

/// What a healthy check said about the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub name: String,
    pub version: String,
    pub protocol: String,
    pub transport: &'static str,
    pub tools: usize,
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
                server: Server {
                    name: report.handshake.server.name.clone(),
                    version: report.handshake.server.version.clone(),
                    protocol: report.handshake.server.protocol_version.clone(),
                    transport: report.handshake.wire.as_str(),
                    tools: report.tools,
                },
                took: report.ping_time,
            },
            Ok(Outcome::Unhealthy { url, diagnosis }) => {
                Diagnosis::Unhealthy { url: url.clone(), problem: diagnosis.clone() }
            }
            Err(why) => Diagnosis::Error(why.clone()),
        }
    }
}

/// One route's live view state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteView {
    pub status: Status,
    /// Where it serves, once running.
    pub url: Option<String>,
    /// The pod a forward is on.
    pub pod: Option<String>,
    /// What is happening right now (waiting for a pod, reconnecting…).
    pub hint: Option<String>,
    pub server: Option<Server>,
    /// Why it is down or failed.
    pub problem: Option<Trouble>,
    /// Set while Slow: the threshold a ping went over.
    pub slow_after: Option<Duration>,
    pub latency: LatencySummary,
    pub diagnosis: Option<Diagnosis>,
    /// A router route's gateways, as its `/health` last showed them.
    pub gateways: Vec<GatewayRow>,
    /// Set while the forward has lost the pod it served on: new connections have nowhere to
    /// go, so a check that passes on a connection kept from before does not make it healthy.
    link_lost: Option<Trouble>,
}

impl Default for RouteView {
    fn default() -> Self {
        RouteView {
            status: Status::Stopped,
            url: None,
            pod: None,
            hint: None,
            server: None,
            problem: None,
            slow_after: None,
            latency: LatencySummary::default(),
            diagnosis: None,
            gateways: Vec::new(),
            link_lost: None,
        }
    }
}

impl RouteView {
    /// Takes in one event of this route.
    pub fn apply(&mut self, event: &RouteEvent) {
        match event {
            RouteEvent::Lifecycle(lifecycle) => self.lifecycle(lifecycle),
            RouteEvent::Forward(event) => self.forward(event),
            RouteEvent::Probe(event) => self.probe(event),
            RouteEvent::Router(event) => self.router(event),
        }
    }

    fn router(&mut self, event: &RouterEvent) {
        match event {
            RouterEvent::Gateways(rows) => self.gateways = rows.clone(),
            // Down until it serves again: a check that passed before it died says nothing.
            RouterEvent::Exited { cause, restart_in } if self.status.live() => {
                let problem = Trouble {
                    cause: cause.clone(),
                    fix: format!(
                        "nothing to do if it comes back: it is started again in {}; if it keeps \
                         dying, its log (t: router) says why",
                        millis(*restart_in)
                    ),
                };
                self.status = Status::Down;
                self.problem = Some(problem.clone());
                self.link_lost = Some(problem);
                self.gateways.clear();
                self.hint = None;
            }
            RouterEvent::Started { .. } | RouterEvent::Log(_) | RouterEvent::Exited { .. } => {}
        }
    }

    fn lifecycle(&mut self, lifecycle: &Lifecycle) {
        match lifecycle {
            Lifecycle::Starting => {
                let diagnosis = self.diagnosis.take();
                *self = RouteView { status: Status::Starting, diagnosis, ..RouteView::default() };
                self.hint = Some("starting".to_owned());
            }
            Lifecycle::Running { url } => {
                self.url = Some(url.clone());
                // A router serving again after a restart.
                self.link_lost = None;
                if self.status == Status::Starting {
                    self.hint = Some(format!("serving at {url}; first health check…"));
                }
            }
            Lifecycle::Unwatched { reason } => {
                self.status = Status::Running;
                self.hint = Some(format!("health not watched: {reason}"));
            }
            Lifecycle::Failed(trouble) => {
                self.status = Status::Failed;
                self.problem = Some(trouble.clone());
                self.hint = None;
            }
            // A failed route stops right after failing: the failure is what the user needs.
            Lifecycle::Stopped if self.status == Status::Failed => {}
            Lifecycle::Stopped => {
                let diagnosis = self.diagnosis.take();
                *self = RouteView { diagnosis, ..RouteView::default() };
            }
        }
    }

    /// A failed route is stopped; once the user has read the failure, show it as such.
    pub fn dismiss_failure(&mut self) {
        if self.status == Status::Failed {
            let diagnosis = self.diagnosis.take();
            *self = RouteView { diagnosis, ..RouteView::default() };
        }
    }

    fn forward(&mut self, event: &ForwardEvent) {
        let ForwardEvent::State(state) = event else { return };
        match state {
            ForwardState::Listening { url, pod } => {
                self.url = Some(url.clone());
                self.pod = Some(pod.clone());
                self.link_lost = None;
                if self.status != Status::Starting {
                    self.hint = None;
                }
            }
            ForwardState::Failed(trouble) => {
                self.problem = Some(trouble.clone());
            }
            ForwardState::Stopped => {}
            // The link lost its pod under a working route: down now, not at the next check.
            ForwardState::WaitingForPod { .. } | ForwardState::Reconnecting { .. }
                if matches!(self.status, Status::Healthy | Status::Slow | Status::Running) =>
            {
                let problem = Trouble {
                    cause: state.hint(),
                    fix: "nothing to do if a pod comes back: the forward follows it on its own"
                        .to_owned(),
                };
                self.status = Status::Down;
                self.problem = Some(problem.clone());
                self.link_lost = Some(problem);
                self.hint = None;
            }
            ForwardState::Starting
            | ForwardState::WaitingForPod { .. }
            | ForwardState::Reconnecting { .. } => self.hint = Some(state.hint()),
        }
    }

    fn probe(&mut self, event: &ProbeEvent) {
        // Health still in flight when the route stopped or failed says nothing.
        if !self.status.live() {
            return;
        }
        match event {
            ProbeEvent::Health(health) => self.health(health),
            ProbeEvent::Latency(summary) => self.latency = summary.clone(),
            ProbeEvent::Note(_) => {}
        }
    }

    fn health(&mut self, health: &Health) {
        self.slow_after = None;
        match health {
            Health::Healthy { server, wire, tools } | Health::Slow { server, wire, tools, .. } => {
                self.server = Some(Server {
                    name: server.name.clone(),
                    version: server.version.clone(),
                    protocol: server.protocol_version.clone(),
                    transport: wire.as_str(),
                    tools: *tools,
                });
                self.problem = None;
                self.hint = None;
                self.status = Status::Healthy;
                if let Health::Slow { threshold, .. } = health {
                    self.status = Status::Slow;
                    self.slow_after = Some(*threshold);
                }
                if let Some(lost) = &self.link_lost {
                    self.status = Status::Down;
                    self.problem = Some(lost.clone());
                }
            }
            Health::Down(diagnosis) => {
                self.status = Status::Down;
                self.problem = Some(diagnosis.clone());
            }
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

    #[test]
    fn a_failure_outlives_the_stop_that_follows_it() {
        let mut view = RouteView::default();
        view.apply(&RouteEvent::Lifecycle(Lifecycle::Starting));
        let failed = Lifecycle::Failed(Trouble::new("no context", "pick one"));
        view.apply(&RouteEvent::Lifecycle(failed));
        view.apply(&RouteEvent::Lifecycle(Lifecycle::Stopped));
        assert_eq!(view.status, Status::Failed);
        assert_eq!(view.problem.as_ref().map(|p| p.fix.as_str()), Some("pick one"));
        // Health still in flight is ignored once stopped or failed.
        view.apply(&RouteEvent::Probe(ProbeEvent::Latency(LatencySummary {
            last: Some(Duration::from_millis(1)),
            ..LatencySummary::default()
        })));
        assert_eq!(view.latency, LatencySummary::default());
    }

    #[test]
    fn a_healthy_route_that_loses_its_pod_is_down_at_once_and_comes_back() {
        use crate::probe::rpc::ServerInfo;
        use crate::probe::{Health, Wire};
        let mut view = RouteView::default();
        view.apply(&RouteEvent::Lifecycle(Lifecycle::Starting));
        let server =
            ServerInfo { name: "s".into(), version: "1".into(), protocol_version: "p".into() };
        let healthy = Health::Healthy { server, wire: Wire::StreamableHttp, tools: 3 };
        view.apply(&RouteEvent::Probe(ProbeEvent::Health(healthy.clone())));
        assert_eq!(view.status, Status::Healthy);
        let why = "pod serena-mcp-1 is no longer Ready".to_owned();
        view.apply(&RouteEvent::Forward(ForwardEvent::State(ForwardState::Reconnecting { why })));
        assert_eq!(view.status, Status::Down);
        let cause = view.problem.as_ref().map(|p| p.cause.as_str());
        assert_eq!(cause, Some("reconnecting: pod serena-mcp-1 is no longer Ready"));
        // A check that passes on a connection kept from before does not bring it back...
        view.apply(&RouteEvent::Probe(ProbeEvent::Health(healthy.clone())));
        assert_eq!(view.status, Status::Down);
        let still = view.problem.as_ref().map(|p| p.cause.as_str());
        assert_eq!(still, Some("reconnecting: pod serena-mcp-1 is no longer Ready"));
        // ...a pod does, with the check that follows it.
        let (url, pod) = ("http://127.0.0.1:8080/mcp".to_owned(), "serena-mcp-2".to_owned());
        view.apply(&RouteEvent::Forward(ForwardEvent::State(ForwardState::Listening { url, pod })));
        view.apply(&RouteEvent::Probe(ProbeEvent::Health(healthy)));
        assert_eq!((view.status, view.problem.is_none()), (Status::Healthy, true));
    }
}
