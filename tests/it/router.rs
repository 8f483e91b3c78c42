//! The router in front of lab gateways (each HTTPS with its own certificate, checking JWTs, in
//! front of its own lab MCP server): weights, failover a client does not notice, a gateway's
//! return, `/health` and `/metrics`, and a gateway that forgets its sessions.

use std::time::{Duration, Instant};

use futures::StreamExt;
use mcp_connect::router::{GatewaySettings, GatewayState, HealthReport, Router};
use serde_json::{Value, json};

use crate::support::free_port;
use crate::support::gateways::{Lab, kill_mid_session, start_router};
use crate::support::mcp::{McpError, McpSession, http_client};

/// Polls the router's health until `done` holds (10 s at most); answers the states seen.
async fn until(
    router: &Router,
    url: &str,
    done: impl Fn(&HealthReport) -> bool,
) -> Vec<GatewayState> {
    let (deadline, mut seen) = (Instant::now() + Duration::from_secs(10), Vec::new());
    loop {
        let report = router.health();
        let state = report.gateway(url).expect("the gateway is listed").state;
        if seen.last() != Some(&state) {
            seen.push(state);
        }
        if done(&report) {
            return seen;
        }
        assert!(Instant::now() < deadline, "gave up waiting; states seen {seen:?}: {report:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn state_of(url: &str, state: GatewayState) -> impl Fn(&HealthReport) -> bool {
    move |report| report.gateway(url).is_some_and(|g| g.state == state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_sessions_follow_the_weights_within_ten_percent() {
    let (alpha, beta) = (Lab::start("alpha").await, Lab::start("beta").await);
    let router =
        start_router(vec![alpha.settings(100), beta.settings(300)], true, Duration::from_secs(5))
            .await;
    let (client, url) = (http_client(), router.url());
    let names: Vec<String> = futures::stream::iter(0..1000)
        .map(|_| async {
            let session = McpSession::connect(&client, &url).await.expect("a session");
            let name = session.server_name().to_owned();
            session.close().await.expect("DELETE");
            name
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let on = |name: &str| names.iter().filter(|n| *n == name).count();
    let (a, b) = (on("alpha"), on("beta"));
    eprintln!("1,000 sessions at weights 100/300: alpha {a}, beta {b}");
    assert!((225..=275).contains(&a) && (675..=825).contains(&b), "alpha {a}, beta {b}");
    assert_eq!(router.health().gateways().map(|g| g.sessions).sum::<usize>(), 0);
    assert!(alpha.gateway.as_ref().unwrap().forwarded() >= 3 * a as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_mid_session_fails_over_unseen_by_safe_requests() {
    let mut labs = [Lab::start("alpha").await, Lab::start("beta").await];
    let router =
        start_router(vec![labs[0].settings(1), labs[1].settings(1)], true, Duration::from_secs(1))
            .await;
    let mut session = McpSession::connect(&http_client(), &router.url()).await.unwrap();
    let doomed = labs.iter().position(|l| l.name == session.server_name()).unwrap();
    let (doomed_url, survivor_url) = (labs[doomed].url.clone(), labs[1 - doomed].url.clone());
    let caller = session.clone();
    let urls = (doomed_url.as_str(), survivor_url.as_str());
    kill_mid_session(&mut session, caller, &mut labs, doomed, urls).await;
    let report = router.health();
    assert_eq!(report.gateway(&survivor_url).unwrap().sessions, 1);
    assert_eq!(report.gateway(&doomed_url).unwrap().state, GatewayState::Down);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_gateway_is_taken_back_after_two_checks() {
    let mut alpha = Lab::start("alpha").await;
    let beta = Lab::start("beta").await;
    let router =
        start_router(vec![alpha.settings(1), beta.settings(1)], true, Duration::from_millis(200))
            .await;
    let client = http_client();
    let mut idle = loop {
        let session = McpSession::connect(&client, &router.url()).await.unwrap();
        if session.server_name() == "alpha" {
            break session;
        }
        session.close().await.unwrap();
    };
    alpha.backend.take().unwrap().shutdown().await;
    until(&router, &alpha.url, state_of(&alpha.url, GatewayState::Down)).await;
    // Its check found alpha down: the idle session moves before its next request is sent.
    assert_eq!(idle.tools_list().await.unwrap().len(), 3);
    assert_eq!(router.health().gateway(&beta.url).unwrap().sessions, 1);
    for _ in 0..6 {
        let session = McpSession::connect(&client, &router.url()).await.unwrap();
        assert_eq!(session.server_name(), "beta", "a down gateway is out of the rotation");
        session.close().await.unwrap();
    }
    let down_since = Instant::now();
    alpha.restart_backend().await;
    let seen = until(&router, &alpha.url, state_of(&alpha.url, GatewayState::Healthy)).await;
    eprintln!("states after the backend's return {seen:?} in {:?}", down_since.elapsed());
    assert!(seen.contains(&GatewayState::Probation), "{seen:?}");
    let mut names = Vec::new();
    for _ in 0..10 {
        let session = McpSession::connect(&client, &router.url()).await.unwrap();
        names.push(session.server_name().to_owned());
        session.close().await.unwrap();
    }
    assert!(names.iter().any(|n| n == "alpha"), "new sessions go to it again: {names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_checks_a_failed_gateway_is_tried_again_after_the_interval() {
    let mut alpha = Lab::start("alpha").await;
    let beta = Lab::start("beta").await;
    let router =
        start_router(vec![alpha.settings(1), beta.settings(1)], false, Duration::from_millis(300))
            .await;
    let client = http_client();
    let mut sessions = Vec::new();
    while !sessions.iter().any(|s: &McpSession| s.server_name() == "alpha") {
        sessions.push(McpSession::connect(&client, &router.url()).await.unwrap());
    }
    alpha.backend.take().unwrap().shutdown().await;
    for session in &mut sessions {
        session.tools_list().await.expect("passive detection moves the session");
    }
    assert_eq!(router.health().gateway(&alpha.url).unwrap().state, GatewayState::Down);
    alpha.restart_backend().await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    let mut back = false;
    for _ in 0..10 {
        let session = McpSession::connect(&client, &router.url()).await.unwrap();
        back |= session.server_name() == "alpha";
    }
    assert!(back, "{:?}", router.health());
    assert_eq!(router.health().gateway(&alpha.url).unwrap().state, GatewayState::Healthy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_unknown_sessions_and_no_gateway_answer_as_documented() {
    let (alpha, beta) = (Lab::start("alpha").await, Lab::start("beta").await);
    let router = start_router(
        vec![alpha.settings(100), beta.settings(300)],
        true,
        Duration::from_millis(200),
    )
    .await;
    let client = http_client();
    let mut session = McpSession::connect(&client, &router.url()).await.unwrap();
    session.tools_list().await.unwrap();
    let on = if session.server_name() == "alpha" { &alpha.url } else { &beta.url };
    until(&router, &alpha.url, |r| r.gateways().all(|g| g.latency_ms.is_some())).await;

    let base = format!("http://{}", router.addr);
    let response = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let health: Value = response.json().await.unwrap();
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["pools"][0]["name"], "lab-pool");
    let rows = health["pools"][0]["gateways"].as_array().unwrap();
    assert_eq!(rows.iter().map(|g| g["weight"].as_u64().unwrap()).collect::<Vec<_>>(), [100, 300]);
    for row in rows {
        assert_eq!(row["state"], "healthy");
        assert!(row["latency_ms"].as_f64().is_some(), "{row}");
        assert_eq!(row["sessions"], json!(u8::from(row["url"] == json!(on))), "{row}");
    }

    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    let label = |url: &str| format!("pool=\"lab-pool\",gateway=\"{url}\"");
    for line in [
        format!("mcp_router_sessions{{{}}} 1", label(on)),
        format!("mcp_router_gateway_up{{{}}} 1", label(&alpha.url)),
        format!("mcp_router_requests_total{{{},outcome=\"ok\"}} 3", label(on)),
        "mcp_router_failovers_total 0".to_owned(),
        format!("mcp_router_request_duration_seconds_count{{{}}} 3", label(on)),
        "# TYPE mcp_router_request_duration_seconds histogram".to_owned(),
    ] {
        assert!(metrics.lines().any(|l| l == line), "no line {line:?} in\n{metrics}");
    }

    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    let unknown = client.post(router.url()).header("mcp-session-id", "not-a-session");
    let unknown = unknown.header("content-type", "application/json").body(ping).send().await;
    assert_eq!(unknown.unwrap().status(), 404);
    let mut ended = session.clone();
    session.close().await.unwrap();
    assert!(matches!(ended.ping().await, Err(McpError::Http { status, .. }) if status == 404));

    // Nothing listens at either gateway of this router.
    let closed = || {
        let port = free_port();
        let url = format!("https://127.0.0.1:{port}/mcp");
        GatewaySettings {
            url: url.parse().unwrap(),
            weight: 1,
            tokens: None,
            own_auth: false,
            tls: Default::default(),
        }
    };
    let dead = start_router(vec![closed(), closed()], true, Duration::from_secs(30)).await;
    match McpSession::connect(&client, &dead.url()).await {
        Err(McpError::Http { status, body }) => {
            assert_eq!(status, 503);
            let answer: Value = serde_json::from_str(&body).unwrap();
            let message = answer["error"]["message"].as_str().unwrap();
            for gateway in dead.health().gateways() {
                assert!(message.contains(&format!("{} (down: ", gateway.url)), "{message}");
            }
            assert!(
                message.contains("(connection refused)")
                    && message.contains("fix: start the gateway (or the port-forward to it)"),
                "{message}"
            );
        }
        other => panic!("initialize with no gateway up should be 503: {:?}", other.err()),
    }
    let health = client.get(format!("http://{}/health", dead.addr)).send().await.unwrap();
    assert_eq!(health.status(), 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_that_forgets_sessions_is_reinitialized_without_a_404() {
    let alpha = Lab::start("alpha").await;
    let router = start_router(vec![alpha.settings(1)], true, Duration::from_secs(30)).await;
    let mut session = McpSession::connect(&http_client(), &router.url()).await.unwrap();
    session.tools_list().await.unwrap();
    let forgotten = alpha.backend.as_ref().unwrap().expire_sessions().await;
    assert!(forgotten >= 1, "the lab server had the session");
    assert_eq!(session.tools_list().await.unwrap().len(), 3);
    session.ping().await.unwrap();
    let metrics = http_client().get(format!("http://{}/metrics", router.addr)).send().await;
    let metrics = metrics.unwrap();
    let metrics = metrics.text().await.unwrap();
    let expired = format!("gateway=\"{}\",outcome=\"expired\"}} 1", alpha.url);
    assert!(metrics.contains(&expired), "{metrics}");
    assert!(metrics.contains("mcp_router_failovers_total 0"), "{metrics}");
    assert_eq!(router.health().gateway(&alpha.url).unwrap().sessions, 1);
    // The server stream (GET) reaches the new session on the gateway.
    let id = session.session_id().unwrap();
    let stream = http_client().get(router.url()).header("mcp-session-id", id).send().await;
    let stream = stream.unwrap();
    assert_eq!(stream.status(), 200);
    assert!(stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
}
