//! The MCP probe against the lab's reference server: health, latency, the seed's wrong paths,
//! expired sessions, live monitoring, and the command line.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mcp_connect::lab::mcp::McpServerOptions;
use mcp_connect::net::{Http, Target};
use mcp_connect::probe::{self, Era, Health, Hints, MonitorOptions, Outcome, ProbeEvent, Wire};
use mcp_connect::profile::Transport;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::support::link::{Cut, FaultyLink};
use crate::support::{Home, free_port, mcp_server};

fn target(url: &str) -> Target {
    Target::new(url.parse().unwrap())
}

async fn outcome(target: &Target) -> Outcome {
    probe::check(target, &Hints::default()).await.unwrap()
}

fn unhealthy(outcome: Outcome) -> (String, String) {
    match outcome {
        Outcome::Unhealthy { diagnosis, .. } => (diagnosis.cause, diagnosis.fix),
        Outcome::Healthy(report) => panic!("expected a diagnosis, got {report:?}"),
    }
}

#[tokio::test]
async fn a_working_endpoint_is_healthy_with_server_protocol_transport_and_tools() {
    let lab =
        mcp_server(McpServerOptions { name: "lab-serena".into(), ..Default::default() }).await;
    let Outcome::Healthy(report) = outcome(&target(&lab.url())).await else { panic!("unhealthy") };
    assert_eq!(report.handshake.server.name, "lab-serena");
    // The lab's server (rmcp 3.11) serves both eras: it is spoken to in the newer one.
    assert_eq!(report.handshake.era, Era::Modern);
    assert_eq!(report.handshake.server.protocol_version, "2026-07-28");
    assert_eq!(report.handshake.wire, Wire::StreamableHttp);
    assert_eq!(report.tools, 3, "echo, sleep, blob");
    assert!(report.certificate.is_none(), "plain http has no certificate");
}

#[tokio::test]
async fn the_seeds_wrong_paths_are_pointed_at_mcp() {
    let lab = mcp_server(McpServerOptions::default()).await;
    let base = format!("http://{}", lab.addr());
    for path in ["/", "/message"] {
        let (cause, fix) = unhealthy(outcome(&target(&format!("{base}{path}"))).await);
        assert!(cause.contains("answered 404"), "{path}: {cause}");
        assert!(cause.contains("serves streamable HTTP at /mcp"), "{path}: {cause}");
        assert!(fix.starts_with(&format!("use {base}/mcp")), "{path}: {fix}");
        assert!(fix.contains(r#"{"type":"http","url":""#), "{path}: {fix}");
    }
}

#[tokio::test]
async fn legacy_sse_is_spoken_when_asked_for_and_as_the_fallback() {
    let lab = mcp_server(McpServerOptions::default()).await;
    let sse = format!("http://{}/sse", lab.addr());
    for transport in [Transport::Sse, Transport::Auto] {
        let target = Target { transport, ..target(&sse) };
        let Outcome::Healthy(report) = outcome(&target).await else { panic!("{transport:?}") };
        assert_eq!(report.handshake.wire, Wire::Sse, "{transport:?}");
        assert_eq!(report.handshake.server.protocol_version, "2024-11-05");
        assert_eq!(report.tools, 3);
    }
    // Told to speak streamable HTTP only, /sse is the wrong place, and the probe says where
    // the streamable endpoint is.
    let strict = Target { transport: Transport::StreamableHttp, ..target(&sse) };
    let (cause, _) = unhealthy(outcome(&strict).await);
    assert!(cause.contains("serves streamable HTTP at /mcp"), "{cause}");
}

#[tokio::test]
async fn nothing_listening_is_named_with_the_address() {
    let port = free_port();
    let (cause, fix) = unhealthy(outcome(&target(&format!("http://127.0.0.1:{port}/mcp"))).await);
    assert_eq!(cause, format!("nothing is listening at 127.0.0.1:{port} (connection refused)"));
    assert!(fix.contains("port-forward"), "{fix}");
}

#[tokio::test]
async fn a_localhost_bound_server_rejecting_the_host_gets_the_421_diagnosis() {
    let lab = mcp_server(McpServerOptions { localhost_only: true, ..Default::default() }).await;
    let mut foreign = target(&lab.url());
    foreign.add_header("Host: serena-mcp:8080").unwrap();
    let (cause, fix) = unhealthy(outcome(&foreign).await);
    assert!(cause.contains(r#"rejects Host "serena-mcp:8080" (421"#), "{cause}");
    assert!(fix.contains("--host 0.0.0.0"), "{fix}");
}

/// A link that cuts the first connection (a forward switching pods) used to send the probe
/// looking elsewhere: it found the lab's legacy endpoint through the healed link and said the
/// server speaks only SSE; a link that kept cutting was "not an MCP server". Both are the link.
#[tokio::test]
async fn a_link_that_breaks_under_the_request_is_named_as_the_link_not_a_path_or_transport() {
    let lab = mcp_server(McpServerOptions::default()).await;
    for (cut, breaks, how) in
        [(Cut::Reset, 1, "reset"), (Cut::Close, 1, "closed"), (Cut::Reset, usize::MAX, "reset")]
    {
        let link = FaultyLink::start(lab.addr(), cut, breaks).await;
        let url = format!("http://{}/mcp", link.addr);
        let (cause, fix) = unhealthy(outcome(&target(&url)).await);
        let said = format!(
            "the connection to {url} was {how} while waiting for the answer to \
                            server/discover ("
        );
        assert!(cause.starts_with(&said), "{cut:?} ×{breaks}: {cause}");
        assert!(
            cause.ends_with(
                "the server may be restarting, or something on the way (a proxy, a \
                             load balancer) dropped it"
            ),
            "{cause}"
        );
        assert!(
            fix.starts_with("transient: retry (a running route checks again by itself)"),
            "{fix}"
        );
        // Healed, the same link serves the probe.
        if breaks == 1 {
            assert!(matches!(outcome(&target(&url)).await, Outcome::Healthy(_)), "{cut:?}");
        }
    }
}

/// The least disturbed of `samples`, in ms: on a loaded machine (CI builds beside the tests, on
/// two cores) scheduling only ever adds time, so the minimum is the probe's own measure.
fn best_ms(samples: impl IntoIterator<Item = Duration>) -> f64 {
    samples.into_iter().min().unwrap().as_secs_f64() * 1000.0
}

/// Only lower bounds and order: how close the figures come is `cargo bench`'s business, as a
/// busy machine adds time to any of them.
#[tokio::test]
async fn a_sleep_of_d_ms_is_measured_as_at_least_d_and_a_longer_one_as_longer() {
    let lab = mcp_server(McpServerOptions::default()).await;
    let http = Http::new(&target(&lab.url())).unwrap();
    let mut session = probe::Session::open(&http, &target(&lab.url())).await.unwrap();
    let mut measured = Vec::new();
    for d in [50u64, 120, 300] {
        let mut samples = Vec::new();
        for _ in 0..5 {
            samples.push(session.call_tool("sleep", json!({"ms": d})).await.unwrap().1);
        }
        let ms = best_ms(samples);
        assert!(ms >= d as f64, "sleep {d} ms measured {ms:.1} ms (best of 5)");
        measured.push(ms);
    }
    assert!(measured[2] > measured[0], "300 ms measured longer than 50 ms: {measured:?}");
    session.close().await;

    // A server 80 ms away: every exchange of a probe takes at least that much longer.
    let far =
        mcp_server(McpServerOptions { delay: Duration::from_millis(80), ..Default::default() })
            .await;
    let mut session = probe::Session::open(&http, &target(&far.url())).await.unwrap();
    let mut samples = Vec::new();
    for _ in 0..5 {
        samples.push(session.ping().await.unwrap());
    }
    let ping = best_ms(samples);
    assert!(ping >= 80.0, "ping measured {ping:.1} ms (best of 5)");
    session.close().await;
}

#[tokio::test]
async fn an_expired_session_is_initialized_again_without_an_error() {
    let lab = mcp_server(McpServerOptions::default()).await;
    let http = Http::new(&target(&lab.url())).unwrap();
    // Sessions are the 2025 era's: spoken in it.
    let in_2025 = Some(Era::Initialize);
    let mut session = probe::Session::open_in(&http, &target(&lab.url()), in_2025).await.unwrap();
    session.ping().await.unwrap();
    assert_eq!(lab.expire_sessions().await, 1);
    session.ping().await.expect("a ping after the server forgot the session");
    assert_eq!(session.reinitialized, 1);
    let (tools, _) = session.tool_count().await.unwrap();
    assert_eq!((tools, session.reinitialized), (3, 1));
    session.close().await;
}

async fn next_health(events: &mut mpsc::Receiver<ProbeEvent>) -> Health {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv()).await;
        match event.expect("an event in time").expect("the monitor runs") {
            ProbeEvent::Health(health) => return health,
            ProbeEvent::Latency(_) | ProbeEvent::Note(_) => {}
        }
    }
}

#[tokio::test]
async fn the_monitor_reports_healthy_slow_recovery_and_down() {
    let near = mcp_server(McpServerOptions::default()).await;
    // The near server must answer within `slow_after` to be healthy: a generous threshold, so
    // that a busy machine does not make it slow. The far one is slower than it by construction.
    // Sessions (and their expiry) are the 2025 era's: spoken in it.
    let options = MonitorOptions {
        interval: Duration::from_millis(100),
        slow_after: Duration::from_secs(1),
        era: Some(Era::Initialize),
        ..MonitorOptions::default()
    };
    let (tx, mut events) = mpsc::channel(256);
    let cancel = CancellationToken::new();
    let watched =
        tokio::spawn(probe::monitor(target(&near.url()), options.clone(), tx, cancel.clone()));
    let Health::Healthy { server: info, wire, tools } = next_health(&mut events).await else {
        panic!("first state is not healthy")
    };
    assert_eq!((info.name.as_str(), wire, tools), ("mcp-connect-lab", Wire::StreamableHttp, 3));

    // Latency figures follow each ping; an expired session is a note, not a state change.
    near.expire_sessions().await;
    let (mut note, mut summary) = (None, None);
    while note.is_none()
        || summary.as_ref().is_none_or(|s: &probe::stats::LatencySummary| s.history_us.len() < 4)
    {
        match tokio::time::timeout(Duration::from_secs(10), events.recv()).await.unwrap().unwrap() {
            ProbeEvent::Note(text) => note = Some(text),
            ProbeEvent::Latency(latency) => summary = Some(latency),
            ProbeEvent::Health(health) => panic!("unexpected change to {health:?}"),
        }
    }
    assert!(note.unwrap().contains("forgotten the session"));
    let summary = summary.unwrap();
    assert!(summary.p50.unwrap() <= summary.p95.unwrap());
    assert!(summary.last.is_some() && summary.history_us.len() >= 4);

    // The server goes away: down, with the address.
    let addr = near.addr();
    near.shutdown().await;
    let Health::Down(diagnosis) = next_health(&mut events).await else { panic!("not down") };
    assert!(diagnosis.cause.contains(&format!("nothing is listening at {addr}")), "{diagnosis:?}");
    cancel.cancel();
    watched.await.unwrap();

    // A server slower than the threshold is Slow.
    let far =
        mcp_server(McpServerOptions { delay: Duration::from_millis(1200), ..Default::default() })
            .await;
    let (tx, mut events) = mpsc::channel(256);
    let cancel = CancellationToken::new();
    let watched = tokio::spawn(probe::monitor(target(&far.url()), options, tx, cancel.clone()));
    let Health::Slow { threshold, .. } = next_health(&mut events).await else { panic!("not slow") };
    assert_eq!(threshold, Duration::from_secs(1));
    cancel.cancel();
    watched.await.unwrap();
}

/// A relay to `to` on a port of its own that counts the connections it accepts.
async fn counting_relay(to: std::net::SocketAddr) -> (String, std::sync::Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if let Ok(mut server) = tokio::net::TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    (format!("http://{addr}/mcp"), accepted)
}

#[tokio::test]
async fn every_health_check_runs_on_a_new_connection() {
    // A link that can no longer open connections must fail the check even while a connection
    // kept from before still answers: so no check may reuse one.
    let server = mcp_server(McpServerOptions::default()).await;
    let (url, accepted) = counting_relay(server.addr()).await;
    let options = MonitorOptions { interval: Duration::from_millis(50), ..Default::default() };
    let (tx, mut events) = mpsc::channel(256);
    let cancel = CancellationToken::new();
    let watched = tokio::spawn(probe::monitor(target(&url), options, tx, cancel.clone()));
    let mut pings = 0;
    while pings < 5 {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv()).await;
        if let ProbeEvent::Latency(_) = event.expect("an event in time").expect("it runs") {
            pings += 1;
        }
    }
    let before = accepted.load(Ordering::SeqCst);
    // The lab serves 2026-07-28: the first sample is server/discover and tools/list, two
    // requests; each check after it is two more (server/discover, tools/list).
    assert!(before >= 2 + 4 * 2, "{before} connections for 2 requests and 4 checks of 2");
    cancel.cancel();
    watched.await.unwrap();
}

#[tokio::test]
async fn the_command_prints_health_or_the_diagnosis_and_exits_accordingly() {
    let lab = mcp_server(McpServerOptions::default()).await;
    let home = Home::new();
    let url = lab.url();
    let root = format!("http://{}/", lab.addr());
    let run = tokio::task::spawn_blocking(move || {
        let healthy = home.run(&["probe", &url]);
        let json = home.run(&["probe", &url, "--json"]);
        let wrong = home.run(&["probe", &root, "--json"]);
        let bad_header = home.run(&["probe", &url, "-H", "no colon"]);
        (healthy, json, wrong, bad_header)
    });
    let (healthy, json, wrong, bad_header) = run.await.unwrap();

    assert_eq!(healthy.code(), 0, "{}", healthy.stderr());
    let text = healthy.stdout();
    assert!(text.starts_with(&format!("healthy: {}\n", lab.url())), "{text}");
    assert!(text.contains("  server     mcp-connect-lab 0.1.0\n"), "{text}");
    assert!(text.contains("  transport  streamable-http\n  tools      3\n"), "{text}");
    assert!(text.contains("  era        2026-07-28 (server/discover, no session)\n"), "{text}");

    assert_eq!(json.code(), 0);
    let report: Value = serde_json::from_str(&json.stdout()).unwrap();
    assert_eq!(report["healthy"], true);
    assert_eq!(report["server"]["name"], "mcp-connect-lab");
    assert_eq!(report["tools"], 3);
    // The lab serves 2026-07-28, which has no ping: its round trip is server/discover's.
    assert_eq!(report["era"], "2026-07-28");
    assert!(report["latency_ms"]["discover"].as_f64().unwrap() > 0.0);

    assert_eq!(wrong.code(), 1);
    let report: Value = serde_json::from_str(&wrong.stdout()).unwrap();
    assert_eq!(report["healthy"], false);
    assert!(report["fix"].as_str().unwrap().starts_with(&format!("use {}", lab.url())));

    assert_eq!(bad_header.code(), 2);
    assert!(
        bad_header.stderr().contains("header \"no colon\" has no colon"),
        "{}",
        bad_header.stderr()
    );
}

#[tokio::test]
async fn a_profile_whose_forward_is_not_running_says_to_start_it() {
    let home = Home::new();
    let port = free_port().to_string();
    let run = tokio::task::spawn_blocking(move || {
        home.run(&["probe", "--profile", "serena-direct", "--local-port", &port])
    });
    let run = run.await.unwrap();
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(run.stdout().contains("nothing is listening at 127.0.0.1:"), "{}", run.stdout());
    assert!(run.stdout().contains("`mcp-connect up serena-direct`"), "{}", run.stdout());
}

#[tokio::test]
async fn a_check_asked_for_is_answered_at_once_even_when_nothing_changed() {
    let lab = mcp_server(McpServerOptions::default()).await;
    let poke = std::sync::Arc::new(tokio::sync::Notify::new());
    let options = MonitorOptions {
        interval: Duration::from_secs(3600),
        check_now: Some(poke.clone()),
        // Healthy, not slow, on a busy machine too.
        slow_after: Duration::from_secs(10),
        ..MonitorOptions::default()
    };
    let (tx, mut events) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let watched = tokio::spawn(probe::monitor(target(&lab.url()), options, tx, cancel.clone()));
    assert!(matches!(next_health(&mut events).await, Health::Healthy { .. }));
    // An hour to the next check: only the poke can bring an answer within the deadline.
    poke.notify_one();
    assert!(matches!(next_health(&mut events).await, Health::Healthy { .. }));
    cancel.cancel();
    watched.await.unwrap();
}
