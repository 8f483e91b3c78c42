//! The router speaks both MCP eras (2025 with `initialize` and sessions, 2026-07-28 without),
//! on its face and towards its gateways: a 2025-only and a 2026-only gateway (lab gateway
//! doubles in front of lab servers that speak only that era) serve clients of either era,
//! `/health` names each gateway's era, a 2025 session fails over to a 2026-only gateway unseen,
//! and a 2026 request is sent to another gateway when its own is down.

use std::time::{Duration, Instant};

use mcp_connect::lab::mcp::Eras;
use mcp_connect::net::era::Era;
use mcp_connect::router::{GatewayState, HealthReport, Router};
use serde_json::json;

use crate::support::gateways::{Lab, start_router};
use crate::support::mcp::{McpError, McpSession, http_client};
use crate::support::modern::{MODERN, Modern};

/// Polls the router's health until `done` holds (10 s at most).
async fn until(router: &Router, done: impl Fn(&HealthReport) -> bool) -> HealthReport {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let report = router.health();
        if done(&report) {
            return report;
        }
        assert!(Instant::now() < deadline, "gave up waiting: {report:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn eras_known(report: &HealthReport) -> bool {
    report.gateways().all(|g| g.era.is_some())
}

/// A 2025 session and 2026 requests through `router`, all of them served by the lab `name`.
async fn both_eras_served_by(router: &Router, name: &str) {
    let client = http_client();
    let mut session = McpSession::connect(&client, &router.url()).await.expect("a 2025 session");
    assert_eq!(session.server_name(), name);
    assert!(session.tools_list().await.unwrap().contains(&"echo".to_owned()));
    let echoed = session.call_tool("echo", json!({"text": "from 2025"})).await.unwrap();
    assert_eq!(echoed["content"][0]["text"], "from 2025");
    session.ping().await.expect("ping in either era's session");
    session.close().await.unwrap();

    let modern = Modern::new(&client, &router.url());
    let discovered = modern.discover().await.expect("server/discover");
    assert_eq!(discovered["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], name);
    let versions = discovered["supportedVersions"].as_array().unwrap();
    assert!(versions.contains(&json!(MODERN)), "{discovered}");
    // Its face takes the handshake too, whatever the gateway speaks: it translates.
    assert!(versions.contains(&json!("2025-11-25")), "{discovered}");
    assert!(modern.tools_list().await.unwrap().contains(&"echo".to_owned()));
    let echoed = modern.call_tool("echo", json!({"text": "from 2026"})).await.unwrap();
    assert_eq!(echoed["content"][0]["text"], "from 2026");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_both_eras_are_served_by_a_2026_only_and_a_2025_only_gateway() {
    let modern = Lab::start_speaking("modern", Eras::Only2026).await;
    let old = Lab::start_speaking("old", Eras::Only2025).await;
    let every = Duration::from_secs(1);
    for (weights, name) in [((1, 0), "modern"), ((0, 1), "old")] {
        let gateways = vec![modern.settings(weights.0), old.settings(weights.1)];
        let router = start_router(gateways, true, every).await;
        let report = until(&router, eras_known).await;
        let row = |url: &str| report.gateway(url).unwrap().clone();
        assert_eq!(row(&modern.url).era, Some(Era::Modern));
        assert_eq!(row(&modern.url).supported_versions, Some(vec![MODERN.to_owned()]));
        assert_eq!(row(&old.url).era, Some(Era::Initialize));
        let json = reqwest::get(format!("http://{}/health", router.addr)).await.unwrap();
        let json: serde_json::Value = json.json().await.unwrap();
        let eras: Vec<&str> = (json["pools"][0]["gateways"].as_array().unwrap().iter())
            .map(|g| g["era"].as_str().unwrap())
            .collect();
        assert_eq!(eras, ["2026-07-28", "2025"]);
        both_eras_served_by(&router, name).await;
        router.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_eras_are_learned_from_answers_without_checks() {
    let modern = Lab::start_speaking("modern", Eras::Only2026).await;
    let old = Lab::start_speaking("old", Eras::Only2025).await;
    for (weights, name) in [((1, 0), "modern"), ((0, 1), "old")] {
        let gateways = vec![modern.settings(weights.0), old.settings(weights.1)];
        let router = start_router(gateways, false, Duration::from_secs(30)).await;
        both_eras_served_by(&router, name).await;
        let served = if name == "modern" { &modern.url } else { &old.url };
        let era = router.health().gateway(served).unwrap().era;
        assert_eq!(era, Some(if name == "modern" { Era::Modern } else { Era::Initialize }));
        router.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2025_session_moves_from_a_dead_2025_gateway_to_a_2026_only_one_unseen() {
    let modern = Lab::start_speaking("modern", Eras::Only2026).await;
    let mut old = Lab::start_speaking("old", Eras::Only2025).await;
    let gateways = vec![modern.settings(1), old.settings(1)];
    let router = start_router(gateways, true, Duration::from_secs(1)).await;
    until(&router, eras_known).await;
    let client = http_client();
    let mut session = None;
    for _ in 0..40 {
        let opened = McpSession::connect(&client, &router.url()).await.unwrap();
        if opened.server_name() == "old" {
            session = Some(opened);
            break;
        }
        opened.close().await.unwrap();
    }
    let mut session = session.expect("one of 40 sessions on the 2025 gateway");
    session.tools_list().await.unwrap();
    drop(old.gateway.take());
    // A safe request first: one that the dying gateway may have taken is sent again (a
    // `tools/call` it took would be answered -32010, as it may have run).
    assert!(session.tools_list().await.unwrap().contains(&"echo".to_owned()));
    let echoed = session.call_tool("echo", json!({"text": "moved"})).await.expect("echo");
    assert_eq!(echoed["content"][0]["text"], "moved");
    session.ping().await.expect("ping, answered by the router");
    let report = router.health();
    assert_eq!(report.gateway(&modern.url).unwrap().sessions, 1, "{report:?}");
    assert_eq!(report.gateway(&old.url).unwrap().state, GatewayState::Down);
    session.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2026_request_whose_gateway_is_down_is_sent_to_another() {
    let alpha = Lab::start_speaking("alpha", Eras::Only2026).await;
    let mut beta = Lab::start_speaking("beta", Eras::Only2026).await;
    let gateways = vec![alpha.settings(1), beta.settings(1)];
    // No checks: only the requests find beta down.
    let router = start_router(gateways, false, Duration::from_secs(30)).await;
    let modern = Modern::new(&http_client(), &router.url());
    assert!(modern.tools_list().await.is_ok());
    drop(beta.gateway.take());
    for n in 0..6 {
        let names = modern.tools_list().await.unwrap_or_else(|e| panic!("request {n}: {e}"));
        assert!(names.contains(&"echo".to_owned()));
        let text = format!("call {n}");
        let echoed = modern.call_tool("echo", json!({"text": text})).await.unwrap();
        assert_eq!(echoed["content"][0]["text"], text, "a call never delivered is sent again");
    }
    let report = router.health();
    assert_eq!(report.gateway(&beta.url).unwrap().state, GatewayState::Down, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2026_call_whose_gateway_dies_mid_way_is_not_sent_again() {
    let mut labs = [
        Lab::start_speaking("alpha", Eras::Only2026).await,
        Lab::start_speaking("beta", Eras::Only2026).await,
    ];
    let gateways = vec![labs[0].settings(1), labs[1].settings(1)];
    // The first checks find out the eras; the next are 30 s away: till then nothing but the
    // calls goes through the gateways.
    let router = start_router(gateways, true, Duration::from_secs(30)).await;
    until(&router, eras_known).await;
    let modern = Modern::new(&http_client(), &router.url());
    let reached = |labs: &[Lab]| -> Vec<u64> {
        labs.iter().map(|l| l.gateway.as_ref().unwrap().forwarded()).collect()
    };
    // Slow calls, one at a time, until each gateway has one open; which one each reached,
    // its gateway double's count tells.
    let (mut calls, mut on_beta) = (Vec::new(), 0);
    while calls.len() < 20 && (calls.len() == on_beta || on_beta == 0) {
        let before = reached(&labs);
        let caller = modern.clone();
        let call = async move { caller.call_tool("sleep", json!({"ms": 3000})).await };
        calls.push(tokio::spawn(call));
        let deadline = Instant::now() + Duration::from_secs(10);
        let now = loop {
            let now = reached(&labs);
            if now != before {
                break now;
            }
            assert!(Instant::now() < deadline, "call {} reached no gateway", calls.len());
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        if now[1] > before[1] {
            on_beta += 1;
        }
    }
    eprintln!("{on_beta} of {} calls on beta", calls.len());
    assert!(on_beta > 0 && on_beta < calls.len(), "{on_beta} of {} calls on beta", calls.len());
    let doomed_url = labs[1].url.clone();
    drop(labs[1].gateway.take());
    let mut outcomes = Vec::new();
    for call in calls {
        outcomes.push(call.await.unwrap());
    }
    let lost: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert_eq!(lost.len(), on_beta, "{outcomes:?}");
    for error in lost {
        let McpError::Rpc { code, message } = error else { panic!("{error}") };
        assert_eq!(*code, -32010);
        let said = format!("gateway {doomed_url} went down during tools/call");
        assert!(
            message.contains(&said) && message.contains("may or may not have run"),
            "{message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_of_both_eras_is_spoken_to_in_each_clients_own_era() {
    let both = Lab::start("both").await;
    let router = start_router(vec![both.settings(1)], true, Duration::from_secs(30)).await;
    let report = until(&router, eras_known).await;
    let row = report.gateway(&both.url).unwrap();
    assert_eq!(row.era, Some(Era::Modern));
    let supported = row.supported_versions.clone().unwrap();
    assert!(supported.contains(&"2025-06-18".to_owned()) && supported.contains(&MODERN.to_owned()));
    let client = http_client();
    let session = McpSession::connect(&client, &router.url()).await.unwrap();
    // A session on the gateway itself, not translated: its server stream is there (a 2026-only
    // gateway has none: 405).
    let stream = (client.get(router.url()))
        .header("accept", "text/event-stream")
        .header("mcp-session-id", session.session_id().unwrap())
        .header("mcp-protocol-version", session.protocol_version())
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    drop(stream);
    let modern = Modern::new(&client, &router.url());
    assert_eq!(
        modern.discover().await.unwrap()["supportedVersions"].as_array().unwrap().len(),
        supported.len()
    );
    session.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2025_session_on_a_2026_only_gateway_has_no_server_stream() {
    let modern = Lab::start_speaking("modern", Eras::Only2026).await;
    let router = start_router(vec![modern.settings(1)], true, Duration::from_secs(30)).await;
    until(&router, eras_known).await;
    let client = http_client();
    let session = McpSession::connect(&client, &router.url()).await.unwrap();
    let stream = (client.get(router.url()))
        .header("accept", "text/event-stream")
        .header("mcp-session-id", session.session_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 405);
    session.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_kept_for_2026_clients_on_a_2025_gateway_is_opened_again_when_forgotten() {
    let mut old = Lab::start_speaking("old", Eras::Only2025).await;
    let router = start_router(vec![old.settings(1)], false, Duration::from_secs(30)).await;
    let modern = Modern::new(&http_client(), &router.url());
    let discovered = modern.discover().await.unwrap();
    assert_eq!(discovered["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "old");
    // The router's face speaks both eras, whatever the gateway speaks (it translates).
    let versions = discovered["supportedVersions"].as_array().unwrap();
    assert!(versions.contains(&json!(MODERN)) && versions.contains(&json!("2025-06-18")));
    assert!(modern.tools_list().await.unwrap().contains(&"echo".to_owned()));
    // A new server on the same address: it knows no session.
    old.backend.take().unwrap().shutdown().await;
    old.restart_backend().await;
    let echoed = modern.call_tool("echo", json!({"text": "again"})).await.expect("echo");
    assert_eq!(echoed["content"][0]["text"], "again");
    assert_eq!(router.health().gateway(&old.url).unwrap().state, GatewayState::Healthy);
}

/// Real clients through the router to a real 2026-only server (the TypeScript SDK v2 with
/// `legacy: 'reject'`) behind a lab gateway double.
#[cfg(unix)]
mod peers {
    use std::time::Duration;

    use mcp_connect::lab::gateway::Gateway;
    use mcp_connect::net::TlsOptions;
    use mcp_connect::net::era::Era;
    use mcp_connect::router::{GatewaySettings, Router};
    use serde_json::{Value, json};

    use crate::support::Home;
    use crate::support::gateways::{SECRET, lab_gateway, start_router, tokens};
    use crate::support::mcp::{McpSession, http_client};
    use crate::support::modern::Modern;
    use crate::support::peers::{Claude, Peer, inspector};

    /// The TS 2026-only server, a gateway double in front of it, and a router over that
    /// gateway whose check has found out its era.
    async fn router_to_ts_2026_only() -> (Peer, Gateway, Router) {
        let peer = tokio::task::block_in_place(Peer::modern_only);
        let gateway = lab_gateway(peer.url(), SECRET, |_| {}).await;
        let settings = GatewaySettings {
            url: gateway.mcp_url().parse().unwrap(),
            weight: 1,
            tokens: Some(tokens()),
            own_auth: false,
            tls: TlsOptions {
                pin_sha256: Some(gateway.fingerprint_sha256.replace(':', "").to_lowercase()),
                ..Default::default()
            },
        };
        let router = start_router(vec![settings], true, Duration::from_secs(30)).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while router.health().gateways().any(|g| g.era.is_none()) {
            assert!(std::time::Instant::now() < deadline, "{:?}\n{}", router.health(), peer.log());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(router.health().gateways().next().unwrap().era, Some(Era::Modern));
        (peer, gateway, router)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_2025_session_and_2026_requests_reach_the_typescript_2026_only_server() {
        let (peer, _gateway, router) = router_to_ts_2026_only().await;
        let client = http_client();
        let mut session = McpSession::connect(&client, &router.url())
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", peer.log()));
        assert_eq!(session.server_name(), "era-2026-only");
        let echoed = session.call_tool("echo", json!({})).await.unwrap();
        assert_eq!(echoed["content"][0]["text"], "hello");
        let modern = Modern::new(&client, &router.url());
        assert_eq!(modern.tools_list().await.unwrap(), ["echo", "add"]);
        let added = modern.call_tool("add", json!({})).await.unwrap();
        assert_eq!(added["content"][0]["text"], "2");
    }

    fn tool_names(stdout: &str) -> Vec<String> {
        let answer: Value =
            serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        let tools = answer["tools"].as_array().cloned().unwrap_or_default();
        tools.iter().filter_map(|t| t["name"].as_str().map(str::to_owned)).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_inspector_lists_tools_through_the_router_in_either_era_from_a_2026_only_server() {
        let (peer, _gateway, router) = router_to_ts_2026_only().await;
        let (url, home) = (router.url(), Home::new());
        for era in ["modern", "legacy"] {
            let face = [url.as_str(), "--transport", "http", "--protocol-era", era];
            tokio::task::block_in_place(|| {
                let list = ["--method", "tools/list"];
                let (code, out, err) = inspector(home.path(), &[&face[..], &list].concat());
                assert_eq!(code, 0, "{era}: {out}\n{err}\n{}", peer.log());
                assert_eq!(tool_names(&out), ["echo", "add"], "{era}");
            });
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn claude_code_old_and_new_connects_through_the_router_to_a_2026_only_server() {
        let (peer, _gateway, router) = router_to_ts_2026_only().await;
        let home = Home::new();
        let url = router.url();
        tokio::task::block_in_place(|| {
            let [old, newest] = Claude::both(home.path());
            old.run_ok(&["mcp", "add", "--transport", "http", "era-router", &url]);
            for claude in [old, newest] {
                let list = claude.run_ok(&["mcp", "list"]);
                let connected = list
                    .lines()
                    .any(|l| l.starts_with("era-router: ") && l.ends_with("✔ Connected"));
                assert!(connected, "claude {}:\n{list}\n{}", claude.version(), peer.log());
            }
        });
    }
}
