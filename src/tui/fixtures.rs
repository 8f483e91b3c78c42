//! Test fixtures: an [`App`] over the built-in profiles, keys, and the engine events of each
//! route state, with fixed figures so that screens are deterministic.

use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jiff::Timestamp;

use super::{App, Header};
use crate::clientconfig::Outcome;
use crate::forward::{ForwardEvent, ForwardState};
use crate::net::CertInfo;
use crate::probe::rpc::ServerInfo;
use crate::probe::stats::LatencySummary;
use crate::probe::{Health, ProbeEvent, Wire};
use crate::profile::Catalog;
use crate::router::GatewayState;
use crate::supervisor::hub::{Certificate, ConfigWritten, Event, RouteEvent};
use crate::supervisor::router::{GatewayRow, RouterEvent};
use crate::supervisor::status::{Facts, HealthFact, LinkFact, decide};
use crate::trouble::Trouble;
use crate::tui::theme::Theme;

pub const DIR: &str = "/demo/project";
pub const ROUTE: &str = "serena-direct";

/// The four built-in routes, a lab kubeconfig with two contexts, no colour; the clock at
/// [`T0`], times shown in UTC.
pub fn app() -> App {
    let header = Header {
        kubeconfig_files: vec![PathBuf::from("/lab/kubeconfig")],
        current_context: Some("lab".to_owned()),
        contexts: vec!["lab".to_owned(), "staging".to_owned()],
    };
    let mut app =
        App::from_catalog(&Catalog::builtin(), header, PathBuf::from(DIR), Theme::plain());
    app.clock(t0());
    app
}

/// The fixtures' clock: 2026-03-04 12:34:56 UTC.
pub const T0: &str = "2026-03-04T12:34:56Z";

pub fn t0() -> Timestamp {
    T0.parse().expect("a timestamp")
}

/// Takes in `events`, the clock one second further for each, from [`T0`].
pub fn feed(app: &mut App, events: Vec<Event>) {
    for (i, event) in events.into_iter().enumerate() {
        let i = i64::try_from(i).unwrap_or(0);
        app.clock(t0().checked_add(jiff::SignedDuration::from_secs(i)).expect("in range"));
        app.on_event(event);
    }
}

/// A self-signed certificate as the engine shows it, refused for `refusal` (or trusted).
pub fn certificate(refusal: Option<&str>) -> Certificate {
    Certificate {
        url: "https://127.0.0.1:8443/mcp".into(),
        cert: CertInfo {
            subject: "CN=mcp-gateway".into(),
            issuer: "CN=mcp-gateway".into(),
            not_before: "Jan  1 00:00:00 2026 +00:00".into(),
            not_after: "Jan  1 00:00:00 2036 +00:00".into(),
            names: vec!["127.0.0.1".into(), "localhost".into()],
            sha256: "AB:".repeat(31) + "AB",
            self_signed: true,
        },
        refusal: refusal.map(str::to_owned),
        pinned: false,
    }
}

/// A built-in profile by name.
pub fn profile(name: &str) -> crate::profile::Profile {
    Catalog::builtin().get(name).and_then(|e| e.profile.clone().ok()).expect("a built-in")
}

pub fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

pub fn ch(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

/// Types `text` key by key, asserting no key sends a command.
pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        assert_eq!(app.on_key(ch(c)), []);
    }
}

pub fn route(event: RouteEvent) -> Event {
    Event::Route { profile: ROUTE.to_owned(), event }
}

/// The status the engine decides from `facts`.
pub fn decided(facts: &Facts) -> Event {
    route(RouteEvent::Status(decide(facts)))
}

/// A forward's link up on the fixture pod, with this health.
fn up(health: HealthFact) -> Facts {
    Facts {
        link: LinkFact::Up,
        health,
        url: Some("http://127.0.0.1:8080/mcp".to_owned()),
        pod: Some("serena-mcp-7d9f6b5c4-x2x7q".to_owned()),
        ..Facts::starting("")
    }
}

pub fn forward(state: ForwardState) -> Event {
    route(RouteEvent::Forward(ForwardEvent::State(state)))
}

pub fn probe(event: ProbeEvent) -> Event {
    route(RouteEvent::Probe(event))
}

fn server() -> ServerInfo {
    ServerInfo {
        name: "mcp-connect-lab".to_owned(),
        version: "0.1.0".to_owned(),
        protocol_version: "2025-06-18".to_owned(),
        supported: vec!["2025-06-18".to_owned()],
    }
}

/// Fixed latency figures: a gentle wave around 0.4 ms, one spike.
pub fn latency() -> LatencySummary {
    let history_us: Vec<u64> =
        (0..60).map(|i| 350 + (i * 37 % 9) * 25 + if i == 41 { 900 } else { 0 }).collect();
    LatencySummary {
        last: Some(Duration::from_micros(420)),
        p50: Some(Duration::from_micros(410)),
        p95: Some(Duration::from_micros(1_250)),
        history_us,
    }
}

/// A route starting: the forward waits for a Ready pod.
pub fn starting() -> Vec<Event> {
    let waiting = ForwardState::WaitingForPod {
        service: "serena-mcp".to_owned(),
        namespace: "mcp".to_owned(),
        selector: "app=serena-mcp".to_owned(),
    };
    let trouble = waiting.trouble().expect("waiting says why");
    vec![
        decided(&Facts::starting("connecting to the cluster")),
        forward(ForwardState::Starting),
        forward(waiting),
        decided(&Facts { link: LinkFact::Waiting(trouble), ..Facts::starting("") }),
    ]
}

/// A route serving, before any health check.
pub fn listening() -> Vec<Event> {
    let mut events = starting();
    events.extend([
        forward(ForwardState::Listening {
            url: "http://127.0.0.1:8080/mcp".to_owned(),
            pod: "serena-mcp-7d9f6b5c4-x2x7q".to_owned(),
        }),
        decided(&up(HealthFact::Unchecked)),
        // As the lab's pod writes it: its own time and name first.
        route(RouteEvent::Forward(ForwardEvent::PodLog {
            pod: "serena-mcp-7d9f6b5c4-x2x7q".to_owned(),
            line: "2026-03-04T12:30:01.123456789Z serena-mcp-7d9f6b5c4-x2x7q: container serena \
                   started, serving mcp:8080"
                .to_owned(),
        })),
        route(RouteEvent::Forward(ForwardEvent::PodLog {
            pod: "serena-mcp-7d9f6b5c4-x2x7q".to_owned(),
            line: "INFO POST /mcp 200".to_owned(),
        })),
    ]);
    events
}

/// The events of one check that says `health`, and the status it makes.
fn checked(health: Health) -> [Event; 2] {
    let facts = up(HealthFact::Checked(health.clone()));
    [probe(ProbeEvent::Health(health)), decided(&facts)]
}

pub fn healthy() -> Vec<Event> {
    let mut events = listening();
    events.extend(checked(Health::Healthy {
        server: server(),
        wire: Wire::StreamableHttp,
        tools: 3,
    }));
    events.push(probe(ProbeEvent::Latency(latency())));
    events
}

pub fn slow() -> Vec<Event> {
    let mut events = healthy();
    let threshold = Duration::from_millis(500);
    let health = Health::Slow { server: server(), wire: Wire::StreamableHttp, tools: 3, threshold };
    let mut figures = latency();
    figures.last = Some(Duration::from_millis(742));
    figures.history_us.push(742_000);
    events.push(probe(ProbeEvent::Latency(figures)));
    events.extend(checked(health));
    events
}

pub fn down() -> Vec<Event> {
    let mut events = healthy();
    let diagnosis = Trouble {
        cause: "connection refused at 127.0.0.1:8080".to_owned(),
        fix: "start the forward: mcp-connect up serena-direct".to_owned(),
    };
    events.extend(checked(Health::Down(diagnosis)));
    events
}

/// The route's check refused by TLS: a long cause (the certificate named) and a long fix.
pub fn tls_refused() -> Vec<Event> {
    let mut events = healthy();
    let diagnosis = Trouble {
        cause: "TLS refused the certificate of https://127.0.0.1:8443/mcp: CN=mcp-gateway.mcp.svc \
                (SHA-256 4f:1c:9a:0e:77:b2:3d:58:c1:2e:aa:90:4b:6f:13:d7:8e:05:29:c4:71:bb:e6:3a:\
                90:1f:7d:42:c8:5e:0b:96), self-signed: no CA this machine trusts signed it"
            .to_owned(),
        fix: "run `mcp-connect trust serena-direct` (it shows the certificate and pins it), or set \
              `tls: {pin_sha256: \"4f1c9a0e77b23d58c12eaa904b6f13d78e0529c471bbe63a901f7d42c85e0b96\"}` \
              in profile serena-direct"
            .to_owned(),
    };
    events.extend(checked(Health::Down(diagnosis)));
    events
}

pub fn failed() -> Vec<Event> {
    let trouble = Trouble::new(
        "RBAC denies `create` on `pods/portforward` in namespace mcp",
        "ask for a Role granting create on pods/portforward in mcp",
    );
    let mut events = starting();
    events.extend([
        forward(ForwardState::Failed(trouble.clone())),
        decided(&Facts { link: LinkFact::Failed(trouble), ..Facts::starting("") }),
    ]);
    events
}

/// The engine's answer to a dry run of serena-direct in the project scope.
pub fn preview() -> ConfigWritten {
    let file = PathBuf::from(DIR).join(".mcp.json");
    let diff = "--- /demo/project/.mcp.json\n+++ /demo/project/.mcp.json\n@@ -0,0 +1,8 @@\n\
        +{\n+  \"mcpServers\": {\n+    \"serena\": {\n+      \"type\": \"http\",\n\
        +      \"url\": \"http://127.0.0.1:8080/mcp\"\n+    }\n+  }\n+}\n"
        .to_owned();
    ConfigWritten {
        file,
        outcome: Outcome::Added,
        diff,
        dry_run: true,
        backup: None,
        claude_command: "cd /demo/project && claude mcp add --scope project --transport http \
            serena http://127.0.0.1:8080/mcp"
            .to_owned(),
    }
}

/// The built-in router route serving, its process started, one gateway healthy.
pub fn router() -> Vec<Event> {
    let on = |event: RouteEvent| Event::Route { profile: "router".to_owned(), event };
    let url = "http://127.0.0.1:8080/mcp".to_owned();
    let gateway = GatewayRow {
        pool: "staging-pool".to_owned(),
        url: "https://k8s-mcp-mcpgatew-dae950c5b5-2f1dace9a3e601aa.elb.us-west-2.amazonaws.com:8443/mcp"
            .to_owned(),
        state: GatewayState::Healthy,
        weight: 100,
        latency: Some(Duration::from_micros(2_340)),
        sessions: 1,
        last_failure: None,
        last_fix: None,
    };
    let command = "mcp-connect router router --local-port 8080".to_owned();
    let health = Health::Healthy { server: server(), wire: Wire::StreamableHttp, tools: 3 };
    let serving = Facts {
        link: LinkFact::Up,
        url: Some(url),
        health: HealthFact::Checked(health.clone()),
        gateways: Some(vec![gateway.clone()]),
        ..Facts::starting("")
    };
    let starting = Facts::starting(format!("starting the router: {command}"));
    vec![
        on(RouteEvent::Status(decide(&starting))),
        on(RouteEvent::Router(RouterEvent::Started { pid: 4242, command })),
        on(RouteEvent::Router(RouterEvent::Log("INFO router listening".to_owned()))),
        on(RouteEvent::Probe(ProbeEvent::Health(health))),
        on(RouteEvent::Probe(ProbeEvent::Latency(latency()))),
        on(RouteEvent::Router(RouterEvent::Gateways { rows: vec![gateway], unavailable: None })),
        on(RouteEvent::Status(decide(&serving))),
    ]
}
