//! Item 1 of #18: a gateway that stops answering — a frozen process, a network black hole —
//! held the requests open on it until its next health check (a `tools/list` waited 31.5 s, a
//! `tools/call` failed after 28 s). Every request open on it is now failed over as soon as it
//! is judged down, by whichever signal comes first (a check asked for while requests wait, a
//! request's own deadline): safe ones sent again on another gateway, tool calls answered with
//! the error that says they may have run.

use std::time::Duration;

use mcp_connect::router::{
    DEFAULT_REQUEST_TIMEOUT, GatewayState, HealthSettings, PoolSettings, Router,
};
use serde_json::json;

use crate::support::freeze::{self, Run};
use crate::support::gateways::{Lab, start_pool};
use crate::support::mcp::{McpSession, http_client};

/// 20 sessions through a router over `labs` with `pool`'s settings; the gateway of the first
/// session frozen mid-run.
async fn frozen_under_load(
    labs: &[Lab],
    health: HealthSettings,
    request_timeout: Duration,
) -> (Router, Run) {
    let gateways = labs.iter().map(|lab| lab.settings(1)).collect();
    let pool = PoolSettings { name: "lab-pool".into(), gateways, health, request_timeout };
    let router = start_pool(pool).await;
    let run = freeze::run(&router.url(), 20, |name| {
        let lab = labs.iter().find(|lab| lab.name == name).expect("a lab of that name");
        lab.gateway.as_ref().expect("running").freeze();
    })
    .await;
    (router, run)
}

/// What every run must show: no safe request failed, every tool call that failed got the
/// failover error, the caller's among them, naming both gateways; and no request waited
/// `bound` (far below the 28–31 s it took).
fn assert_failed_over(run: &Run, labs: &[Lab], bound: Duration) {
    let frozen = labs.iter().find(|lab| lab.name == run.frozen).unwrap();
    let survivor = labs.iter().find(|lab| lab.name != run.frozen).unwrap();
    assert!(run.failed_safe().is_empty(), "safe requests failed: {:?}", run.failed_safe());
    assert!(run.unexplained_calls().is_empty(), "{:?}", run.unexplained_calls());
    // The caller's call was open on it; and the sessions on it kept sending: one of their
    // requests was open at the freeze, or sent in the second after it (before any check could
    // judge the gateway), and so was held by it.
    assert!(run.in_flight().any(|r| r.on_frozen), "the caller was open on it");
    let within = run.frozen_at + Duration::from_secs(1);
    let held = run.requests.iter().filter(|r| r.on_frozen && r.ended > run.frozen_at);
    let held = held.filter(|r| r.started < within).count();
    assert!(held >= 1, "a session's request was held by the frozen gateway");
    let Err((-32010, message)) = &run.caller.answer else {
        panic!("the open tool call should get the failover error: {:?}", run.caller.answer)
    };
    let went_down = format!("gateway {} went down during tools/call", frozen.url);
    assert!(message.contains(&went_down), "{message}");
    let continues = format!("the session continues on gateway {}", survivor.url);
    assert!(message.contains(&continues), "{message}");
    assert!(run.longest_wait() < bound, "a request waited {:?}", run.longest_wait());
    eprintln!(
        "{} requests, {} held by the frozen gateway; all answered {:?} after the freeze",
        run.requests.len() + 1,
        held + 1,
        run.all_answered_after()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_frozen_under_twenty_sessions_is_failed_over_within_seconds_by_default() {
    let labs = [Lab::start("alpha").await, Lab::start("beta").await];
    let (router, run) =
        frozen_under_load(&labs, HealthSettings::default(), DEFAULT_REQUEST_TIMEOUT).await;
    // Found by a check asked for while requests waited: 1 s, then the check's 3 s.
    assert_failed_over(&run, &labs, Duration::from_secs(10));
    let frozen = labs.iter().find(|lab| lab.name == run.frozen).unwrap();
    let row = router.health().gateway(&frozen.url).unwrap().clone();
    assert_eq!(row.state, GatewayState::Down);
    assert_eq!(row.last_failure.as_deref(), Some("no answer to the health check within 3s"));

    // The sessions go on, on the other gateway.
    let mut session = McpSession::connect(&http_client(), &router.url()).await.unwrap();
    let echoed = session.call_tool("echo", json!({"text": "after"})).await.unwrap();
    assert_eq!(echoed["content"][0]["text"], json!("after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_checks_off_the_request_deadline_fails_a_frozen_gateway_over() {
    let labs = [Lab::start("alpha").await, Lab::start("beta").await];
    let health = HealthSettings { enabled: false, ..HealthSettings::default() };
    let deadline = Duration::from_secs(2);
    let (_router, run) = frozen_under_load(&labs, health, deadline).await;
    // Without checks nothing else ends the wait: the deadline, then the failover.
    assert_failed_over(&run, &labs, deadline + Duration::from_secs(8));
    let Err((_, message)) = &run.caller.answer else { unreachable!() };
    assert!(
        message.contains("no answer to tools/call within 2s (the request deadline)"),
        "{message}"
    );
}

/// The lab's double of a frozen gateway: connections stay open and new ones are taken, but
/// nothing is answered, not even a TLS handshake, until it is thawed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lab_gateway_frozen_answers_nothing_until_thawed() {
    let lab = Lab::start("alpha").await;
    let gateway = lab.gateway.as_ref().unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let health = format!("{}/health", gateway.health_url);
    assert!(client.get(&health).send().await.unwrap().status().is_success());
    gateway.freeze();
    let pending = tokio::spawn({
        let (client, health) = (client.clone(), health.clone());
        async move { client.get(&health).send().await.map(|r| r.status()) }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!pending.is_finished(), "a frozen gateway answers nothing");
    // A new TCP connection is taken (the kernel's), its TLS handshake never answered.
    let tcp = tokio::net::TcpStream::connect(gateway.addr).await.expect("connected");
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_millis(300), tcp.peek(&mut byte)).await;
    assert!(read.is_err(), "nothing is written while frozen");
    gateway.thaw();
    let status = tokio::time::timeout(Duration::from_secs(5), pending).await;
    assert!(status.unwrap().unwrap().unwrap().is_success(), "what waited goes on once thawed");
}

/// A call that outlives its deadline on a gateway that still answers its checks is slow, not
/// gone: it alone is answered (-32012, naming the setting to raise), and the session and the
/// gateway stay as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_past_its_deadline_on_a_live_gateway_is_answered_alone() {
    let labs = [Lab::start("alpha").await];
    let pool = PoolSettings {
        name: "lab-pool".into(),
        gateways: vec![labs[0].settings(1)],
        health: HealthSettings::default(),
        request_timeout: Duration::from_secs(2),
    };
    let router = start_pool(pool).await;
    let mut session = McpSession::connect(&http_client(), &router.url()).await.unwrap();
    let started = std::time::Instant::now();
    let late = session.call_tool("sleep", json!({"ms": 20_000})).await;
    let waited = started.elapsed();
    let Err(crate::support::mcp::McpError::Rpc { code: -32012, message }) = late else {
        panic!("the late call should get -32012: {late:?}")
    };
    let said = format!(
        "tools/call got no answer from gateway {} within 2s (the request deadline); the gateway \
         still answers its checks, so the call may still be running there",
        labs[0].url
    );
    assert!(message.starts_with(&said), "{message}");
    assert!(message.contains("set `request_timeout: 4s` in pool lab-pool's settings"), "{message}");
    assert!(waited < Duration::from_secs(12), "answered at its deadline, not the call's end");
    assert_eq!(router.health().gateway(&labs[0].url).unwrap().state, GatewayState::Healthy);
    session.ping().await.expect("the session goes on where it was");
}

/// The seed's file with `pool_lines` after its pool's `interval`.
fn seed_with(pool_lines: &str) -> String {
    let seed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/fixtures/seed-router-config.yaml"),
    )
    .unwrap();
    seed.replace("      interval: 30s\n", &format!("      interval: 30s\n{pool_lines}"))
}

/// Both waits are read from the config file and from a router profile (defaults when absent:
/// the seed's file stays as it was); a zero is refused at its place.
#[test]
fn the_deadline_and_the_check_timeout_are_settings_of_each_pool() {
    use mcp_connect::router::{DEFAULT_CHECK_TIMEOUT, config};
    use mcp_connect::supervisor::RunOptions;

    let dir = std::path::Path::new("/");
    let seed = config::from_text(&seed_with(""), "r.yaml", dir).unwrap();
    assert_eq!(seed.pools[0].request_timeout, DEFAULT_REQUEST_TIMEOUT);
    assert_eq!(seed.pools[0].health.timeout, DEFAULT_CHECK_TIMEOUT);
    assert_eq!(DEFAULT_REQUEST_TIMEOUT, Duration::from_secs(300));

    let set = seed_with("      timeout: 1500ms\n    request_timeout: 90s\n");
    let settings = config::from_text(&set, "r.yaml", dir).unwrap();
    assert_eq!(settings.pools[0].health.timeout, Duration::from_millis(1500));
    assert_eq!(settings.pools[0].request_timeout, Duration::from_secs(90));
    let zero = seed_with("    request_timeout: 0s\n");
    let err = config::from_text(&zero, "r.yaml", dir).unwrap_err();
    assert!(
        err.cause.starts_with("r.yaml:13:22: gateway_pools[0].request_timeout: invalid duration"),
        "{}",
        err.cause
    );

    let builtin = mcp_connect::profile::Catalog::builtin();
    let router = builtin.get("router").unwrap().profile.clone().unwrap();
    let settings = config::from_profile(&router, &RunOptions::default()).unwrap();
    assert_eq!(settings.pools[0].request_timeout, DEFAULT_REQUEST_TIMEOUT);
    assert_eq!(settings.pools[0].health.timeout, DEFAULT_CHECK_TIMEOUT);
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/router.yaml"),
    )
    .unwrap()
    .replace(
        "          interval: 30s\n",
        "          interval: 30s\n          timeout: 2s\n        request_timeout: 10m\n",
    );
    let profile = mcp_connect::profile::parse(&text, "router.yaml").unwrap();
    let settings = config::from_profile(&profile, &RunOptions::default()).unwrap();
    assert_eq!(settings.pools[0].health.timeout, Duration::from_secs(2));
    assert_eq!(settings.pools[0].request_timeout, Duration::from_secs(600));
    let saved = serde_yaml::to_string(&profile).unwrap();
    assert!(saved.contains("request_timeout: 10m") && saved.contains("timeout: 2s"), "{saved}");
    assert_eq!(mcp_connect::profile::parse(&saved, "again.yaml").unwrap(), profile);
}
