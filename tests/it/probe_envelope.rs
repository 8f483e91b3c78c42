//! The probe and the mcp-bridge gateway's own protocol (issue #10): a gateway double that, as
//! the real one, serves no standard MCP — only its envelope WebSocket at `/ws` and its HTTP
//! frontend. Probed on those transports it is healthy; probed as a standard MCP server it is
//! recognised, and the diagnosis says which transport to set; with no backend, the gateway's
//! "no endpoints" answer is explained.

use mcp_connect::lab::gateway::{Gateway, GatewayOptions};
use mcp_connect::lab::mcp::{McpServer, McpServerOptions};
use mcp_connect::net::Target;
use mcp_connect::probe::diagnose::Hints;
use mcp_connect::probe::session::Wire;
use mcp_connect::probe::{self, Outcome};
use mcp_connect::profile::Transport;

use crate::support::gateways::{SECRET, tokens};
use crate::support::mcp_server;

/// A gateway double without `/mcp`, in front of a lab MCP server (or of nothing).
async fn gateway(backend: Option<&McpServer>) -> Gateway {
    let backend = backend.map_or("http://127.0.0.1:9/mcp".to_owned(), McpServer::url);
    let options = GatewayOptions {
        backend,
        secret: SECRET.into(),
        standard_mcp: false,
        ..Default::default()
    };
    Gateway::start(options).await.expect("the gateway starts")
}

fn target(gateway: &Gateway, path: &str, transport: Transport) -> Target {
    let mut target = Target::new(format!("{}{path}", gateway.url).parse().unwrap());
    target.transport = transport;
    target.auth = Some(tokens());
    target.tls.pin_sha256 = Some(gateway.fingerprint_sha256.replace(':', "").to_lowercase());
    target
}

fn hints() -> Hints {
    Hints { profile: Some("gw".to_owned()), ..Hints::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_its_own_transports_the_gateway_is_healthy() {
    let backend = mcp_server(McpServerOptions::default()).await;
    let gateway = gateway(Some(&backend)).await;
    for (path, transport, wire) in [
        ("/ws", Transport::McpBridgeWs, Wire::McpBridgeWs),
        ("/api/v1/mcp", Transport::McpBridgeHttp, Wire::McpBridgeHttp),
    ] {
        let outcome = probe::check(&target(&gateway, path, transport), &hints()).await.unwrap();
        let Outcome::Healthy(report) = outcome else { panic!("{path}: {outcome:?}") };
        assert_eq!(report.handshake.wire, wire);
        assert_eq!(report.handshake.server.name, "mcp-connect-lab");
        assert_eq!(report.tools, 3, "{path}");
    }
    assert!(gateway.envelopes() >= 8, "every message went in an envelope");
    // Another pin: the certificate the WebSocket's handshake refused is named.
    let mut pinned_wrong = target(&gateway, "/ws", Transport::McpBridgeWs);
    pinned_wrong.tls.pin_sha256 = Some("ab".repeat(32));
    let outcome = probe::check(&pinned_wrong, &hints()).await.unwrap();
    let Outcome::Unhealthy { diagnosis, .. } = outcome else { panic!("{outcome:?}") };
    assert!(diagnosis.cause.contains("a certificate other than the pinned one"), "{diagnosis:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probed_as_a_standard_mcp_server_it_is_recognised_and_the_transport_named() {
    let backend = mcp_server(McpServerOptions::default()).await;
    let gateway = gateway(Some(&backend)).await;
    let outcome = probe::check(&target(&gateway, "/mcp", Transport::Auto), &hints()).await.unwrap();
    let Outcome::Unhealthy { diagnosis, .. } = outcome else { panic!("{outcome:?}") };
    assert!(diagnosis.cause.contains("this is the mcp-bridge gateway"), "{diagnosis:?}");
    assert!(diagnosis.cause.contains("envelope over a WebSocket at /ws"), "{diagnosis:?}");
    assert_eq!(
        diagnosis.fix,
        "in profile gw set `endpoint: {path: /ws, transport: mcp-bridge-ws}`; Claude Code reaches \
         it through `mcp-connect bridge`, which speaks that protocol"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_backend_the_gateways_no_endpoints_answer_is_explained() {
    let gateway = gateway(None).await;
    let outcome =
        probe::check(&target(&gateway, "/ws", Transport::McpBridgeWs), &hints()).await.unwrap();
    let Outcome::Unhealthy { diagnosis, .. } = outcome else { panic!("{outcome:?}") };
    assert_eq!(
        diagnosis.cause, "the gateway has no MCP server registered for namespace `system`",
        "{diagnosis:?}"
    );
    assert!(diagnosis.fix.contains("namespace `system`"), "{diagnosis:?}");
}
