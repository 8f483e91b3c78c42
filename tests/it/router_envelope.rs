//! The router in front of gateways that speak the mcp-bridge envelope over WebSocket (the lab
//! gateway doubles' `/ws`, each with its own certificate and JWT check, in front of its own lab
//! MCP server), while its clients speak standard streamable HTTP at `/mcp`: a whole session,
//! dropped connections, a killed gateway, a refused token, the gateway's "no endpoints"
//! answer, and a pool mixing an HTTP gateway and an envelope one.

use std::time::{Duration, Instant};

use mcp_connect::router::{GatewayState, Router};
use serde_json::{Value, json};

use crate::support::gateways::{Lab, kill_mid_session, start_router};
use crate::support::mcp::{McpError, McpSession, http_client};

/// Waits until `done` holds (10 s at most).
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn metrics(router: &Router) -> String {
    let url = format!("http://{}/metrics", router.addr);
    http_client().get(url).send().await.unwrap().text().await.unwrap()
}

/// POSTs a raw JSON-RPC message in `session`; the status and body.
async fn post(router: &Router, session: &McpSession, message: Value) -> (u16, String) {
    let response = http_client()
        .post(router.url())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", session.session_id().expect("a session id"))
        .header("mcp-protocol-version", session.protocol_version())
        .body(message.to_string())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_session_through_envelope_gateways() {
    let (alpha, beta) = (Lab::start("alpha").await, Lab::start("beta").await);
    let router = start_router(
        vec![alpha.settings_ws(1), beta.settings_ws(1)],
        true,
        Duration::from_millis(200),
    )
    .await;
    // `connect` also checks that notifications/initialized got 202.
    let mut session = McpSession::connect(&http_client(), &router.url()).await.unwrap();
    let name = session.server_name().to_owned();
    assert!(name == "alpha" || name == "beta", "{}", session.server_info());
    let (on, off) = if name == "alpha" { (&alpha, &beta) } else { (&beta, &alpha) };

    assert_eq!(session.tools_list().await.unwrap().len(), 3);
    let echoed = session.call_tool("echo", json!({"text": "über the envelope"})).await.unwrap();
    assert_eq!(echoed["content"][0]["text"], json!("über the envelope"));
    let note = json!({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"});
    assert_eq!(post(&router, &session, note).await, (202, String::new()));
    session.ping().await.unwrap();
    // The gateway sends nothing unasked: no server stream, as the spec says it (405).
    let id = session.session_id().unwrap();
    let stream = http_client().get(router.url()).header("mcp-session-id", id).send().await;
    assert_eq!(stream.unwrap().status(), 405);

    // Health checks ping over each gateway's WebSocket too.
    until("a latency for both gateways", || {
        router.health().gateways().all(|g| g.latency_ms.is_some())
    })
    .await;
    let report = router.health();
    for lab in [on, off] {
        let row = report.gateway(&lab.ws_url).expect("a row per WebSocket URL");
        assert_eq!(row.state, GatewayState::Healthy, "{row:?}");
        assert_eq!(row.sessions, usize::from(lab.name == name), "{row:?}");
        let gateway = lab.gateway.as_ref().unwrap();
        assert_eq!(gateway.forwarded(), 0, "nothing went to its standard /mcp");
    }
    let gateway = on.gateway.as_ref().unwrap();
    assert!(gateway.envelopes() >= 7, "{} envelopes", gateway.envelopes());
    // One connection for the client session, one for the health check.
    assert_eq!(gateway.ws_connections(), 2);
    let text = metrics(&router).await;
    let ok = format!("gateway=\"{}\",outcome=\"ok\"}} 6", on.ws_url);
    assert!(text.lines().any(|l| l.ends_with(&ok)), "no {ok:?} in\n{text}");

    session.close().await.unwrap();
    until("the session's connection to close", || gateway.ws_connections() == 1).await;
    assert_eq!(router.health().gateways().map(|g| g.sessions).sum::<usize>(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_the_gateway_drops_are_reopened_unseen() {
    let alpha = Lab::start("alpha").await;
    let router = start_router(vec![alpha.settings_ws(1)], true, Duration::from_millis(300)).await;
    let gateway = alpha.gateway.as_ref().unwrap();
    let mut session = McpSession::connect(&http_client(), &router.url()).await.unwrap();
    session.tools_list().await.unwrap();
    for round in 0..5 {
        gateway.drop_connections();
        if round % 2 == 0 {
            // Time for the router to see its connections end.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Odd rounds ask at once, most likely before the router has seen the drop.
        assert_eq!(session.tools_list().await.unwrap().len(), 3, "round {round}");
        let echoed = session.call_tool("echo", json!({"text": round.to_string()})).await.unwrap();
        assert_eq!(echoed["content"][0]["text"], json!(round.to_string()));
    }
    let text = metrics(&router).await;
    assert!(text.contains("mcp_router_failovers_total 0"), "{text}");
    let failed = format!("gateway=\"{}\",outcome=\"failed\"}} 0", alpha.ws_url);
    assert!(text.contains(&failed), "{text}");
    let row = router.health().gateway(&alpha.ws_url).unwrap().clone();
    assert_eq!((row.state, row.sessions), (GatewayState::Healthy, 1), "{row:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_under_open_requests_resends_the_safe_one_and_explains_the_other() {
    let alpha = Lab::start("alpha").await;
    // One gateway and no checks: only a resend on a new connection can answer the tools/list.
    let router = start_router(vec![alpha.settings_ws(1)], false, Duration::from_secs(30)).await;
    let session = McpSession::connect(&http_client(), &router.url()).await.unwrap();
    let (mut caller, mut lister) = (session.clone(), session.clone());
    // Long enough to be under way when the connection drops, however busy the machine: the
    // drop ends it at once.
    let call = tokio::spawn(async move { caller.call_tool("sleep", json!({"ms": 5000})).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Queued on the same connection, behind the call: the gateway answers in turn.
    let list = tokio::spawn(async move { lister.tools_list().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    alpha.gateway.as_ref().unwrap().drop_connections();
    assert_eq!(list.await.unwrap().expect("tools/list is sent again").len(), 3);
    match call.await.unwrap() {
        Err(McpError::Rpc { message, .. }) => {
            assert!(message.starts_with("tools/call could not be relayed: "), "{message}");
            assert!(message.contains("the gateway dropped the connection"), "{message}");
        }
        other => panic!("the dropped tools/call should get an error: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_envelope_gateway_fails_over_unseen_by_safe_requests() {
    let mut labs = [Lab::start("alpha").await, Lab::start("beta").await];
    let router = start_router(
        vec![labs[0].settings_ws(1), labs[1].settings_ws(1)],
        true,
        Duration::from_secs(1),
    )
    .await;
    let client = http_client();
    let mut session = McpSession::connect(&client, &router.url()).await.unwrap();
    let doomed = labs.iter().position(|l| l.name == session.server_name()).unwrap();
    let (doomed_url, survivor_url) = (labs[doomed].ws_url.clone(), labs[1 - doomed].ws_url.clone());
    // A session's requests share one connection, answered in turn: the long call gets its own.
    let caller = loop {
        let other = McpSession::connect(&client, &router.url()).await.unwrap();
        if other.server_name() == session.server_name() {
            break other;
        }
        other.close().await.unwrap();
    };
    let urls = (doomed_url.as_str(), survivor_url.as_str());
    kill_mid_session(&mut session, caller, &mut labs, doomed, urls).await;
    let report = router.health();
    assert_eq!(report.gateway(&survivor_url).unwrap().sessions, 2);
    assert_eq!(report.gateway(&doomed_url).unwrap().state, GatewayState::Down);
    assert!(metrics(&router).await.contains("mcp_router_failovers_total 2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_named_at_initialize() {
    let alpha = Lab::start_with_secret("alpha", "another-secret-the-router-does-not-have").await;
    let router = start_router(vec![alpha.settings_ws(1)], false, Duration::from_secs(30)).await;
    match McpSession::connect(&http_client(), &router.url()).await {
        Err(McpError::Http { status, body }) => {
            assert_eq!(status, 503);
            let answer: Value = serde_json::from_str(&body).unwrap();
            let message = answer["error"]["message"].as_str().unwrap();
            let down = format!(
                "{} (down: it refused the router's token (HTTP 401: the token was refused at \
                 the WebSocket upgrade: Bearer error=\"invalid_token\"",
                alpha.ws_url
            );
            assert!(message.contains(&down), "{message}");
            assert!(message.contains("invalid signature"), "{message}");
            assert!(message.contains("so its signature is not"), "{message}");
            assert!(message.contains("; fix: put the gateway's jwt-secret-key into"), "{message}");
        }
        other => panic!("initialize with a refused token should be 503: {:?}", other.err()),
    }
    let gateway = alpha.gateway.as_ref().unwrap();
    assert_eq!((gateway.envelopes(), gateway.ws_connections()), (0, 0));
    let row = router.health().gateway(&alpha.ws_url).unwrap().clone();
    assert_eq!(row.state, GatewayState::Down);
    assert!(row.last_failure.unwrap().contains("HTTP 401"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateways_no_endpoints_answer_names_the_namespace_and_the_fix() {
    let mut alpha = Lab::start("alpha").await;
    let router = start_router(vec![alpha.settings_ws(1)], false, Duration::from_secs(30)).await;
    let mut session = McpSession::connect(&http_client(), &router.url()).await.unwrap();
    alpha.backend.take().unwrap().shutdown().await;
    match session.tools_list().await {
        Err(McpError::Rpc { code, message }) => {
            assert_eq!(code, -32005);
            assert!(
                message.starts_with(
                    "the gateway has no MCP server registered for namespace \
                                     `system`; fix: register the MCP server (Serena)"
                ),
                "{message}"
            );
        }
        other => panic!("tools/list should get the explained error: {other:?}"),
    }
    // A new session cannot be opened there: the gateway is down, and says why.
    match McpSession::connect(&http_client(), &router.url()).await {
        Err(McpError::Http { status, body }) => {
            assert_eq!(status, 503);
            let answer: Value = serde_json::from_str(&body).unwrap();
            let message = answer["error"]["message"].as_str().unwrap();
            let down = format!(
                "{} (down: the gateway has no MCP server registered for namespace `system`); \
                 fix: register the MCP server (Serena)",
                alpha.ws_url
            );
            assert!(message.contains(&down), "{message}");
        }
        other => panic!("initialize should be refused: {:?}", other.err()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_of_an_http_and_an_envelope_gateway_serves_sessions_on_both() {
    let (alpha, beta) = (Lab::start("alpha").await, Lab::start("beta").await);
    let router = start_router(
        vec![alpha.settings(1), beta.settings_ws(1)],
        true,
        Duration::from_millis(200),
    )
    .await;
    let client = http_client();
    let mut names = Vec::new();
    for n in 0..20 {
        let mut session = McpSession::connect(&client, &router.url()).await.unwrap();
        assert_eq!(session.tools_list().await.unwrap().len(), 3);
        let echoed = session.call_tool("echo", json!({"text": n.to_string()})).await.unwrap();
        assert_eq!(echoed["content"][0]["text"], json!(n.to_string()));
        names.push(session.server_name().to_owned());
        session.close().await.unwrap();
    }
    let on = |name: &str| names.iter().filter(|n| *n == name).count();
    eprintln!("20 sessions: alpha (HTTP) {}, beta (envelope) {}", on("alpha"), on("beta"));
    assert!((5..=15).contains(&on("alpha")) && on("alpha") + on("beta") == 20, "{names:?}");
    let (http, ws) = (alpha.gateway.as_ref().unwrap(), beta.gateway.as_ref().unwrap());
    // Each gateway was spoken to in its own way only.
    assert!(http.forwarded() >= 4 * on("alpha") as u64 && http.envelopes() == 0);
    assert!(ws.envelopes() >= 4 * on("beta") as u64 && ws.forwarded() == 0);
    let report = router.health();
    assert_eq!(report.status, "healthy");
    assert!(report.gateway(&alpha.url).is_some() && report.gateway(&beta.ws_url).is_some());
}
