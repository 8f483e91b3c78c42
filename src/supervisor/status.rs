//! A route's status, decided in one place from what its runner knows: the link's state, the
//! last health check, the last new connection that failed, and (router routes) the router's own
//! view of its gateways. Faces render it; none decides a phase or a cause of its own.
//!
//! The precedence, in words (each rule is a test below):
//! 1. A link that cannot run fails the route, with the link's cause.
//! 2. A link that broke (API server gone, pod lost, router died) makes the route down with the
//!    link's cause, whatever a check on a connection kept from before says.
//! 3. No Ready pod yet is waiting; a link still coming up is starting.
//! 4. Once the link is up: a router with no healthy gateway is down with the router's own
//!    words for it; a new connection that failed, with none carried since, is down with the
//!    connection's cause (a connection kept from before proves nothing); then the check's own
//!    diagnosis; then gateways partly down or a slow check (degraded); then serving.
//! 5. A link up whose health is not checked yet is starting; not watched at all, serving.

use serde::Serialize;

use crate::probe::rpc::ServerInfo;
use crate::probe::{Health, Wire};
use crate::router::GatewayState;
use crate::trouble::Trouble;

use super::router::GatewayRow;

/// Where a route stands, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Stopped,
    /// The link is coming up, or its first health check is under way.
    Starting,
    /// Nothing to forward to yet (no Ready pod); the route goes on by itself when there is.
    Waiting,
    Serving,
    /// It serves, but something is wrong: slow, a gateway down, a new connection failed.
    Degraded,
    /// It does not serve now; it keeps trying.
    Down,
    /// It cannot run without the user: the cause says what to do.
    Failed,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Stopped => "stopped",
            Phase::Starting => "starting",
            Phase::Waiting => "waiting",
            Phase::Serving => "serving",
            Phase::Degraded => "degraded",
            Phase::Down => "down",
            Phase::Failed => "failed",
        }
    }

    /// Whether the route runs (its link is up or being brought up).
    pub fn live(self) -> bool {
        !matches!(self, Phase::Stopped | Phase::Failed)
    }
}

/// Who answered the last health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Server {
    pub name: String,
    pub version: String,
    pub protocol: String,
    pub transport: &'static str,
    pub tools: usize,
    /// What a client needs to know about it beyond its health: that it refuses the 2025
    /// handshake, say.
    pub note: Option<String>,
}

/// The engine's verdict on one route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteStatus {
    pub phase: Phase,
    /// Why it waits, is degraded, down or failed: cause and fix.
    pub trouble: Option<Trouble>,
    /// What the phase rests on, in a few words.
    pub evidence: String,
    /// Where it serves (kept while it is down: the same port comes back).
    pub url: Option<String>,
    /// The pod a forward is on.
    pub pod: Option<String>,
    /// Who answered the last check that passed, while it serves.
    pub server: Option<Server>,
    /// The trouble is the link's: nothing can reach the endpoint now (a request would fail
    /// before the server sees it). Else it is what the endpoint answered, or nothing.
    pub link_down: bool,
    /// The link is being brought back on its own (a pod to come, an API server to answer, a
    /// router restarting, a gateway to pass its checks): a request can wait for the status to
    /// change rather than try now.
    pub awaits_link: bool,
}

impl RouteStatus {
    pub fn stopped() -> RouteStatus {
        RouteStatus {
            phase: Phase::Stopped,
            trouble: None,
            evidence: "stopped".to_owned(),
            url: None,
            pod: None,
            server: None,
            link_down: false,
            awaits_link: false,
        }
    }

    /// A route that cannot run, for the reason given.
    pub fn failed(trouble: Trouble) -> RouteStatus {
        RouteStatus {
            phase: Phase::Failed,
            trouble: Some(trouble),
            evidence: "the route cannot run".to_owned(),
            ..RouteStatus::stopped()
        }
    }
}

/// What the runner knows of its link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkFact {
    Stopped,
    /// Coming up: what it is doing.
    Starting(String),
    /// No Ready pod to forward to: the hint as cause and fix.
    Waiting(Trouble),
    Up,
    /// It broke and is being brought back on its own.
    Broken(Trouble),
    /// It cannot run without the user.
    Failed(Trouble),
}

/// What the runner knows of the endpoint's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthFact {
    /// It is not watched: why.
    Unwatched(String),
    /// No check has answered since the link came up.
    Unchecked,
    Checked(Health),
}

/// Everything the status is decided from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub link: LinkFact,
    pub health: HealthFact,
    /// A new connection failed since the last check that passed.
    pub new_connection: Option<Trouble>,
    /// The router's gateways as its `/health` last showed them (router routes).
    pub gateways: Option<Vec<GatewayRow>>,
    /// What the router tells its clients while no gateway is healthy.
    pub unavailable: Option<Trouble>,
    pub url: Option<String>,
    pub pod: Option<String>,
}

impl Facts {
    pub fn starting(doing: impl Into<String>) -> Facts {
        Facts {
            link: LinkFact::Starting(doing.into()),
            health: HealthFact::Unchecked,
            new_connection: None,
            gateways: None,
            unavailable: None,
            url: None,
            pod: None,
        }
    }
}

/// The status the facts make, by the precedence in the module's documentation.
pub fn decide(facts: &Facts) -> RouteStatus {
    let (phase, trouble, evidence) = verdict(facts);
    let link_down = match &facts.link {
        LinkFact::Up => facts.unavailable.is_some() || facts.new_connection.is_some(),
        LinkFact::Waiting(_) | LinkFact::Broken(_) | LinkFact::Failed(_) => true,
        LinkFact::Starting(_) | LinkFact::Stopped => false,
    };
    // A failed new connection is only cleared by another carried: waiting would not help.
    let awaits_link = match &facts.link {
        LinkFact::Waiting(_) | LinkFact::Broken(_) => true,
        LinkFact::Up => link_down && facts.new_connection.is_none(),
        LinkFact::Starting(_) | LinkFact::Stopped | LinkFact::Failed(_) => false,
    };
    let server = match (&facts.health, phase) {
        (HealthFact::Checked(health), Phase::Serving | Phase::Degraded) => server(health),
        _ => None,
    };
    let (url, pod) = match phase {
        Phase::Stopped | Phase::Failed => (None, None),
        _ => (facts.url.clone(), facts.pod.clone()),
    };
    RouteStatus { phase, trouble, evidence, url, pod, server, link_down, awaits_link }
}

fn verdict(facts: &Facts) -> (Phase, Option<Trouble>, String) {
    let trouble =
        |phase, t: &Trouble, evidence: &str| (phase, Some(t.clone()), evidence.to_owned());
    match &facts.link {
        LinkFact::Stopped => return (Phase::Stopped, None, "stopped".to_owned()),
        LinkFact::Failed(t) => return trouble(Phase::Failed, t, "the route cannot run"),
        LinkFact::Broken(t) => return trouble(Phase::Down, t, "the link is being brought back"),
        LinkFact::Waiting(t) => return trouble(Phase::Waiting, t, "nothing to forward to yet"),
        LinkFact::Starting(doing) => return (Phase::Starting, None, doing.clone()),
        LinkFact::Up => {}
    }
    let gateways = facts.gateways.as_deref().unwrap_or_default();
    let down: Vec<&GatewayRow> =
        gateways.iter().filter(|g| g.state == GatewayState::Down).collect();
    // The router's own words for its clients while no gateway is healthy (its `/health` says
    // them whenever none is).
    if let Some(t) = &facts.unavailable {
        let evidence = "the router's /health: no gateway is healthy".to_owned();
        return (Phase::Down, Some(t.clone()), evidence);
    }
    let check_failed = match &facts.health {
        HealthFact::Checked(Health::Down(t)) => Some(t),
        _ => None,
    };
    if let Some(t) = &facts.new_connection {
        return trouble(Phase::Down, t, "a new connection failed, and none was carried since");
    }
    if let Some(t) = check_failed {
        return trouble(Phase::Down, t, "the health check failed on a new connection");
    }
    if !down.is_empty() {
        let evidence =
            format!("the router's /health: {} of {} gateways down", down.len(), gateways.len());
        return (Phase::Degraded, Some(gateways_trouble(&down)), evidence);
    }
    let url = facts.url.as_deref().unwrap_or("its URL");
    match &facts.health {
        HealthFact::Unwatched(why) => (Phase::Serving, None, format!("health not watched: {why}")),
        HealthFact::Unchecked => {
            (Phase::Starting, None, format!("serving at {url}; first health check…"))
        }
        HealthFact::Checked(Health::Slow { server, threshold, .. }) => (
            Phase::Degraded,
            Some(Trouble::new(
                format!("{} took over {} ms to answer a ping", server.name, threshold.as_millis()),
                "nothing to do if it passes: the server or the link is busy; the latency figures \
                 show how much",
            )),
            "the last health check was slow".to_owned(),
        ),
        HealthFact::Checked(Health::Healthy { .. }) => {
            (Phase::Serving, None, "a check on a new connection passed".to_owned())
        }
        HealthFact::Checked(Health::Down(_)) => unreachable!("a failed check is decided above"),
    }
}

/// The cause the router's health checks found for its gateways, and its fix when the router
/// wrote one (`cause; fix: fix`).
fn gateways_trouble(down: &[&GatewayRow]) -> Trouble {
    let first = down[0];
    let why = first.last_failure.as_deref().unwrap_or("it fails its health checks");
    let fix = first.last_fix.clone().unwrap_or_else(|| {
        "fix what the cause names; the router takes a gateway back once it passes a check"
            .to_owned()
    });
    let more = match down.len() {
        1 => String::new(),
        n => format!(" (and {} more down)", n - 1),
    };
    Trouble::new(format!("gateway {} is down: {why}{more}", first.url), fix)
}

fn server(health: &Health) -> Option<Server> {
    let (Health::Healthy { server, wire, tools } | Health::Slow { server, wire, tools, .. }) =
        health
    else {
        return None;
    };
    Some(Server::new(server, *wire, *tools))
}

impl Server {
    /// Who answered a check (`info`, on `wire`, with `tools`), as every face shows it.
    pub fn new(info: &ServerInfo, wire: Wire, tools: usize) -> Server {
        Server {
            name: info.name.clone(),
            version: info.version.clone(),
            protocol: info.protocol_version.clone(),
            transport: wire.as_str(),
            tools,
            note: era_note(&info.supported),
        }
    }
}

/// Said of a server whose versions are all 2026-07-28 or later: the clients of December 2026
/// that speak only the 2025 handshake cannot use it directly (FACTS.md, "MCP 2026-07-28").
fn era_note(supported: &[String]) -> Option<String> {
    let handshake = |v: &String| v.as_str() < crate::net::mcp::MODERN_VERSION;
    if supported.is_empty() || supported.iter().any(handshake) {
        return None;
    }
    Some(
        "it speaks only MCP 2026-07-28: a client of the 2025 handshake (Claude Code 2.1.197, \
         Gemini CLI 0.61, Codex CLI 0.171) is refused by it; give such a client the stdio \
         bridge (`mcp-connect bridge PROFILE`), which translates"
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::probe::Wire;
    use crate::probe::rpc::ServerInfo;

    fn healthy() -> HealthFact {
        let server = ServerInfo {
            name: "serena".into(),
            version: "1".into(),
            protocol_version: "2025-06-18".into(),
            supported: vec!["2025-06-18".into()],
        };
        HealthFact::Checked(Health::Healthy { server, wire: Wire::StreamableHttp, tools: 3 })
    }

    fn check_down() -> HealthFact {
        HealthFact::Checked(Health::Down(Trouble::new("answered 404 at /", "use /mcp")))
    }

    fn up(health: HealthFact) -> Facts {
        Facts {
            link: LinkFact::Up,
            health,
            url: Some("http://127.0.0.1:8080/mcp".into()),
            pod: Some("serena-0".into()),
            ..Facts::starting("")
        }
    }

    fn gateway(url: &str, state: GatewayState, failure: Option<&str>) -> GatewayRow {
        GatewayRow {
            pool: "p".into(),
            url: url.into(),
            state,
            weight: 1,
            latency: None,
            sessions: 0,
            last_failure: failure.map(str::to_owned),
            last_fix: None,
        }
    }

    fn cause(status: &RouteStatus) -> Option<&str> {
        status.trouble.as_ref().map(|t| t.cause.as_str())
    }

    #[test]
    fn a_link_that_cannot_run_fails_the_route_with_its_cause() {
        let facts = Facts { link: LinkFact::Failed(Trouble::new("rbac", "ask")), ..up(healthy()) };
        let status = decide(&facts);
        assert_eq!((status.phase, cause(&status)), (Phase::Failed, Some("rbac")));
        assert_eq!((status.url, status.server), (None, None));
    }

    #[test]
    fn a_broken_link_is_down_whatever_a_kept_connection_says() {
        let lost = Trouble::new("pod serena-0 is no longer Ready", "nothing to do");
        let facts = Facts { link: LinkFact::Broken(lost), ..up(healthy()) };
        let status = decide(&facts);
        assert_eq!(status.phase, Phase::Down);
        assert_eq!(cause(&status), Some("pod serena-0 is no longer Ready"));
        assert_eq!(status.url.as_deref(), Some("http://127.0.0.1:8080/mcp"), "the port stays");
        assert_eq!((status.server, status.link_down, status.awaits_link), (None, true, true));
    }

    #[test]
    fn the_link_is_reasoned_over_before_the_check_s_diagnosis() {
        let unreachable = Trouble::new("cannot reach the API server", "check the VPN");
        let facts = Facts { link: LinkFact::Broken(unreachable), ..up(check_down()) };
        assert_eq!(cause(&decide(&facts)), Some("cannot reach the API server"));
    }

    #[test]
    fn no_ready_pod_waits_and_a_link_coming_up_starts() {
        let waiting = Trouble::new("waiting for a Ready pod", "kubectl get pods");
        let facts = Facts { link: LinkFact::Waiting(waiting), ..Facts::starting("") };
        assert_eq!(decide(&facts).phase, Phase::Waiting);
        let starting = decide(&Facts::starting("connecting to the cluster"));
        assert_eq!(
            (starting.phase, starting.evidence.as_str()),
            (Phase::Starting, "connecting to the cluster")
        );
    }

    #[test]
    fn a_link_up_starts_until_its_first_check_and_serves_when_it_passes() {
        let first = decide(&up(HealthFact::Unchecked));
        assert_eq!(first.phase, Phase::Starting);
        assert_eq!(first.evidence, "serving at http://127.0.0.1:8080/mcp; first health check…");
        let serving = decide(&up(healthy()));
        assert_eq!((serving.phase, serving.trouble.is_none()), (Phase::Serving, true));
        assert_eq!(serving.server.map(|s| s.tools), Some(3));
        let unwatched = decide(&up(HealthFact::Unwatched("no token".into())));
        assert_eq!(unwatched.phase, Phase::Serving);
    }

    #[test]
    fn a_failed_check_is_down_with_its_diagnosis() {
        let status = decide(&up(check_down()));
        assert_eq!((status.phase, cause(&status)), (Phase::Down, Some("answered 404 at /")));
        assert!(!status.link_down, "the endpoint answered: the link carries requests");
    }

    #[test]
    fn a_new_connection_that_failed_is_down_whatever_an_older_check_said() {
        let refused = Trouble::new("the API server refused the stream", "log in again");
        let facts = Facts { new_connection: Some(refused.clone()), ..up(healthy()) };
        let status = decide(&facts);
        assert_eq!((status.phase, status.link_down), (Phase::Down, true));
        assert_eq!(cause(&status), Some("the API server refused the stream"));
        assert!(!status.awaits_link, "only another connection carried clears it: try it");
        // With the check failing as well, the connection's cause comes first.
        let facts = Facts { new_connection: Some(refused), ..up(check_down()) };
        let status = decide(&facts);
        assert_eq!(
            (status.phase, cause(&status)),
            (Phase::Down, Some("the API server refused the stream"))
        );
    }

    #[test]
    fn a_router_with_no_healthy_gateway_is_down_with_the_router_s_own_words() {
        let gateways = vec![
            gateway("https://a/mcp", GatewayState::Down, Some("JWT_SECRET_KEY unset")),
            gateway("https://b/mcp", GatewayState::Down, None),
        ];
        // The check's 503 says less than what the router tells its clients, word for word.
        let told = Trouble::new("no gateway is healthy: a; b", "export JWT_SECRET_KEY; …");
        let facts =
            Facts { gateways: Some(gateways), unavailable: Some(told.clone()), ..up(check_down()) };
        let status = decide(&facts);
        assert_eq!(
            (status.phase, status.trouble, status.link_down),
            (Phase::Down, Some(told), true)
        );
    }

    #[test]
    fn a_router_with_a_gateway_down_is_degraded_while_another_serves() {
        let gateways = vec![
            gateway("https://a/mcp", GatewayState::Down, Some("connection refused")),
            gateway("https://b/mcp", GatewayState::Healthy, None),
        ];
        let status = decide(&Facts { gateways: Some(gateways), ..up(healthy()) });
        assert_eq!(status.phase, Phase::Degraded);
        assert_eq!(cause(&status), Some("gateway https://a/mcp is down: connection refused"));
        assert_eq!(status.evidence, "the router's /health: 1 of 2 gateways down");
    }

    #[test]
    fn only_a_server_without_the_handshake_gets_the_era_note() {
        let note = |versions: &[&str]| {
            era_note(&versions.iter().map(|v| v.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(note(&[]), None, "nothing known");
        assert_eq!(note(&["2025-06-18"]), None);
        assert_eq!(note(&["2025-11-25", "2026-07-28"]), None, "both eras");
        let only = note(&["2026-07-28"]).expect("a note");
        assert!(only.contains("Claude Code 2.1.197") && only.contains("bridge"), "{only}");
    }

    #[test]
    fn a_slow_check_degrades_the_route() {
        let server = ServerInfo {
            name: "serena".into(),
            version: "1".into(),
            protocol_version: "p".into(),
            supported: vec!["p".into()],
        };
        let threshold = Duration::from_millis(500);
        let slow = Health::Slow { server, wire: Wire::StreamableHttp, tools: 3, threshold };
        let status = decide(&up(HealthFact::Checked(slow)));
        assert_eq!(status.phase, Phase::Degraded);
        assert_eq!(cause(&status), Some("serena took over 500 ms to answer a ping"));
        assert!(status.server.is_some());
    }

    #[test]
    fn a_stopped_link_is_stopped_and_shows_nothing_of_before() {
        let facts = Facts { link: LinkFact::Stopped, ..up(healthy()) };
        assert_eq!(decide(&facts), RouteStatus::stopped());
    }
}
