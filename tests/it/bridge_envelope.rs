//! The bridge over the mcp-bridge gateway's own protocol (issue #10), the real binary against
//! the lab's gateway double speaking it as the real gateway does: the envelope over the
//! WebSocket at `/ws` and over the HTTP frontend, a notification the gateway answers with an
//! error kept from the client, a refused JWT explained, a dropped connection recovered, and a
//! message over the gateway's 1 MiB limit refused.

use mcp_connect::lab::world::{Lab, LabOptions};
use serde_json::json;

use crate::support::Home;
use crate::support::bridge::{Bridge, KUBE_SECRET, direct_link, echo, handshake_and_echo, profile};

/// Route 3 (the gateway's own address) with `endpoint` in place of the built-in's.
fn envelope_profile(lab: &Lab, name: &str, path: &str, transport: &str) -> String {
    let fp = &lab.gateway.fingerprint_sha256;
    profile(name, &direct_link(&lab.gateway.url), KUBE_SECRET, "1h", fp).replace(
        "endpoint:\n  path: /mcp\n  transport: auto\n",
        &format!("endpoint:\n  path: {path}\n  transport: {transport}\n"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_websocket_notifications_stay_quiet_and_a_dropped_connection_is_unseen() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let home = Home::new();
    let dir = home.user_profiles();
    let yaml = envelope_profile(&lab, "lab-ws", "/ws", "mcp-bridge-ws");
    std::fs::write(dir.join("lab-ws.yaml"), yaml).unwrap();

    tokio::task::block_in_place(|| {
        let mut bridge = Bridge::start(&home, lab.kubeconfig(), &dir, "lab-ws");
        // initialize, notifications/initialized (the gateway answers it with an error), tools/list
        // and an echo: the client sees only the answers to its requests.
        handshake_and_echo(&mut bridge);
        bridge.notify("notifications/roots/list_changed");
        let ping = bridge.call(4, "ping", json!({}));
        assert_eq!(ping["result"], json!({}), "{ping}");
        assert!(
            bridge.others.is_empty(),
            "nothing but answers reached the client: {:?}",
            bridge.others
        );
        assert_eq!(lab.gateway.ws_connections(), 1, "one connection carries the session");

        // The gateway drops the connection (1006): the next safe request is sent again on a new
        // connection, the client's initialize replayed first, and the session goes on.
        lab.gateway.drop_connections();
        let tools = bridge.call(5, "tools/list", json!({}));
        assert_eq!(tools["result"]["tools"].as_array().map(Vec::len), Some(3), "{tools}");
        echo(&mut bridge, 6, "after the drop");
        assert_eq!(lab.gateway.ws_connections(), 1, "a new connection in place of the dropped one");

        // Over the gateway's 1 MiB read limit: refused with the reason, and the session stays.
        let big = "x".repeat(2 << 20);
        let args = json!({"name": "echo", "arguments": {"text": big}});
        let refused = bridge.call(7, "tools/call", args);
        let message = refused["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("the gateway reads at most 1 MiB per message"), "{refused}");
        echo(&mut bridge, 8, "still there");

        let (code, rest, stderr) = bridge.close();
        assert_eq!(code, 0, "{stderr}");
        assert!(rest.is_empty(), "{rest:?}");
        assert!(!stderr.contains("eyJ"), "no token on stderr: {stderr}");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_http_frontend_the_same_session_works() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let home = Home::new();
    let dir = home.user_profiles();
    let yaml = envelope_profile(&lab, "lab-frontend", "/api/v1/mcp", "mcp-bridge-http");
    std::fs::write(dir.join("lab-frontend.yaml"), yaml).unwrap();
    tokio::task::block_in_place(|| {
        let mut bridge = Bridge::start(&home, lab.kubeconfig(), &dir, "lab-frontend");
        handshake_and_echo(&mut bridge);
        assert!(bridge.others.is_empty(), "{:?}", bridge.others);
        let (code, _, stderr) = bridge.close();
        assert_eq!(code, 0, "{stderr}");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_gateway_refuses_at_the_upgrade_is_explained() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let home = Home::new();
    let dir = home.user_profiles();
    let yaml = envelope_profile(&lab, "lab-ws", "/ws", "mcp-bridge-ws")
        .replace("issuer: mcp-gateway", "issuer: someone-else");
    std::fs::write(dir.join("lab-ws.yaml"), yaml).unwrap();
    tokio::task::block_in_place(|| {
        let mut bridge = Bridge::start(&home, lab.kubeconfig(), &dir, "lab-ws");
        let answer = bridge.call(1, "initialize", crate::support::bridge::initialize_params());
        assert_eq!(answer["error"]["code"], -32001, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("401"), "{message}");
        assert!(message.contains("iss"), "the diagnosis names the claim: {message}");
        let (code, _, _) = bridge.close();
        assert_eq!(code, 0);
    });
}
