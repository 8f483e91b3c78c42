//! The forward's multiplexed mode: every local connection a pair of SPDY streams on one
//! connection to the API server (as `kubectl port-forward` does), one WebSocket per connection
//! where the API server lacks SPDY, and a new tunnel when the pod is replaced.

use std::time::{Duration, Instant};

use mcp_connect::forward::{ForwardEvent, ForwardSpec, ForwardState, MAX_TUNNEL_AGE};

use crate::forward::{Running, lab, spec};
use crate::support::mcp::{McpSession, http_client};

/// `n` MCP sessions at once, each on connections of its own, each listing the tools.
async fn sessions_at_once(url: &str, n: usize) {
    let sessions = (0..n).map(|_| {
        let url = url.to_owned();
        tokio::spawn(async move {
            let client = http_client();
            let mut session =
                McpSession::connect(&client, &url).await.map_err(|e| e.to_string())?;
            session.tools_list().await.map_err(|e| e.to_string())?;
            session.close().await.map_err(|e| e.to_string())
        })
    });
    let errors: Vec<String> = futures::future::join_all(sessions)
        .await
        .into_iter()
        .filter_map(|r| r.expect("the session's task").err())
        .collect();
    assert!(errors.is_empty(), "{} of {n} sessions failed: {errors:?}", errors.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_connections_are_streams_of_one_api_server_connection() {
    let lab = lab().await;
    let started = Instant::now();
    let mut forward = Running::start(&lab, spec(0), None);
    let (url, _) = forward.ready().await;
    sessions_at_once(&url, 30).await;
    let upgrades = lab.api.faults().upgrades();
    assert_eq!(upgrades.websocket, 0, "{upgrades:?}");
    // One tunnel, and a new one each time it grew too old to take new streams (on a slow
    // machine the sessions may outlast it), never one per connection.
    let tunnels = 1 + started.elapsed().as_millis() / MAX_TUNNEL_AGE.as_millis();
    assert!((1..=tunnels as usize).contains(&upgrades.spdy), "{upgrades:?}, at most {tunnels}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_server_without_spdy_gets_one_websocket_per_connection() {
    let lab = lab().await;
    lab.api.faults().refuse_spdy();
    let mut forward = Running::start(&lab, spec(0), None);
    let (url, _) = forward.ready().await;
    sessions_at_once(&url, 10).await;
    let upgrades = lab.api.faults().upgrades();
    assert_eq!(upgrades.spdy, 0);
    // Each session's connections (at least one each) had a WebSocket of their own.
    assert!(upgrades.websocket >= 10, "{upgrades:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_pod_gets_a_tunnel_of_its_own() {
    let lab = lab().await;
    let mut forward = Running::start(&lab, spec(0), None);
    let (url, old) = forward.ready().await;
    sessions_at_once(&url, 5).await;
    let before = lab.api.faults().upgrades();
    assert!(before.spdy >= 1 && before.websocket == 0, "{before:?}");

    lab.cluster().delete_pod("mcp", &old).unwrap();
    forward
        .until("the replacement", |e| match e {
            ForwardEvent::State(ForwardState::Listening { pod, .. }) if *pod != old => Some(()),
            _ => None,
        })
        .await;
    // Until the forward has left the old pod's tunnel behind a connection may fail; it serves
    // from the replacement on its own.
    let deadline = Instant::now() + Duration::from_secs(15);
    while let Err(e) = McpSession::connect(&http_client(), &url).await {
        assert!(Instant::now() < deadline, "no session through the replacement: {e}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sessions_at_once(&url, 5).await;
    // The old pod's tunnel ended with it: the replacement's sessions went over a new one.
    let after = lab.api.faults().upgrades();
    assert!(after.spdy > before.spdy && after.websocket == 0, "{before:?} then {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_server_without_the_websocket_tunnel_gets_the_plain_spdy_upgrade() {
    let lab = lab().await;
    lab.api.faults().refuse_spdy_tunnel();
    let mut forward = Running::start(&lab, spec(0), None);
    let (url, _) = forward.ready().await;
    sessions_at_once(&url, 10).await;
    let upgrades = lab.api.faults().upgrades();
    assert!(upgrades.spdy >= 1 && upgrades.websocket == 0, "{upgrades:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forward_told_not_to_multiplex_opens_a_websocket_per_connection() {
    let lab = lab().await;
    let spec = ForwardSpec { multiplexed: false, ..spec(0) };
    let mut forward = Running::start(&lab, spec, None);
    let (url, _) = forward.ready().await;
    sessions_at_once(&url, 10).await;
    let upgrades = lab.api.faults().upgrades();
    assert!(upgrades.spdy == 0 && upgrades.websocket >= 10, "{upgrades:?}");
}
