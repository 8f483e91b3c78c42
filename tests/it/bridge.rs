//! `mcp-connect bridge PROFILE` against the lab: the real binary as Claude Code runs it, JSON-RPC
//! lines on its stdin and stdout, through the gateway (forwarded by the bridge itself, or
//! direct), with sessions that expire, tokens that expire, and a secret that is missing.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use mcp_connect::lab::gateway::{Gateway, GatewayOptions};
use mcp_connect::lab::mcp::McpServerOptions;
use mcp_connect::lab::world::{Lab, LabOptions};
use serde_json::{Value, json};

use crate::support::bridge::{
    Bridge, KUBE_SECRET, direct_link, echo, forward_link, handshake_and_echo, initialize_params,
    profile,
};
use crate::support::{Home, free_port, mcp_server, rotate_gateway_secret};

/// Neither stderr nor any file under the home holds a token or the secret.
fn assert_nothing_leaked(home: &Home, stderr: &str, secret: &str) {
    assert!(!stderr.contains("eyJ") && !stderr.contains(secret), "stderr leaks: {stderr}");
    for file in crate::support::files_under(home.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(!text.contains("eyJ"), "{} holds a token", file.display());
        assert!(!text.contains(secret), "{} holds the secret", file.display());
    }
}

fn log_text(home: &Home) -> String {
    let logs = home.path().join("state/mcp-connect");
    crate::support::files_under(&logs)
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_forward_it_brings_up_itself_and_releases_at_exit() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let home = Home::new();
    let port = free_port();
    let yaml = profile(
        "lab-forward",
        &forward_link(port),
        KUBE_SECRET,
        "1h",
        &lab.gateway.fingerprint_sha256,
    );
    let dir = home.user_profiles();
    std::fs::write(dir.join("lab-forward.yaml"), yaml).unwrap();

    tokio::task::block_in_place(|| {
        let mut bridge = Bridge::start(&home, lab.kubeconfig(), &dir, "lab-forward");
        handshake_and_echo(&mut bridge);
        assert!(
            bridge.stderr().contains("starting the route to mcp/svc/"),
            "it ran the forward itself: {}",
            bridge.stderr()
        );
        let (code, rest, stderr) = bridge.close();
        assert_eq!(code, 0, "{stderr}");
        assert!(rest.is_empty(), "{rest:?}");
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok(), "the local port is free again");
        assert_nothing_leaked(&home, &stderr, &lab.seeded.jwt_secret);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_router_route_through_the_router_it_runs_itself_until_it_exits() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let home = Home::new();
    let port = free_port();
    let link = format!(
        "link:\n  router:\n    local_port: {port}\n    gateway_pools:\n      - name: lab\n        \
         gateways:\n          - url: {}\n",
        lab.gateway.url
    );
    let yaml = profile("lab-router", &link, KUBE_SECRET, "1h", &lab.gateway.fingerprint_sha256);
    let dir = home.user_profiles();
    std::fs::write(dir.join("lab-router.yaml"), yaml).unwrap();

    tokio::task::block_in_place(|| {
        let mut bridge = Bridge::start(&home, lab.kubeconfig(), &dir, "lab-router");
        handshake_and_echo(&mut bridge);
        let started = format!("the route serves at http://127.0.0.1:{port}/mcp");
        assert!(bridge.stderr().contains(&started), "{}", bridge.stderr());
        let (code, rest, stderr) = bridge.close();
        assert_eq!(code, 0, "{stderr}");
        assert!(rest.is_empty(), "{rest:?}");
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok(), "the router's port is free again");
        assert_nothing_leaked(&home, &stderr, &lab.seeded.jwt_secret);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_to_the_gateway_with_concurrent_requests_and_a_garbled_line() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let home = Home::new();
    let fp = &lab.gateway.fingerprint_sha256;
    let yaml = profile("lab-direct", &direct_link(&lab.gateway.url), KUBE_SECRET, "1h", fp);
    let dir = home.user_profiles();
    std::fs::write(dir.join("lab-direct.yaml"), yaml).unwrap();

    tokio::task::block_in_place(|| {
        let mut bridge = Bridge::start(&home, lab.kubeconfig(), &dir, "lab-direct");
        handshake_and_echo(&mut bridge);

        // Not JSON: a parse error with id null, and the bridge goes on.
        bridge.send_raw("this is not json");
        bridge.send_raw("");
        let error = bridge.next(Duration::from_secs(10));
        assert_eq!(
            (error["id"].clone(), error["error"]["code"].clone()),
            (Value::Null, json!(-32700))
        );

        // A long call does not hold up a ping sent after it.
        let sleep = json!({"name": "sleep", "arguments": {"ms": 1500}});
        bridge.send(json!({"jsonrpc": "2.0", "id": 10, "method": "tools/call", "params": sleep}));
        bridge.send(json!({"jsonrpc": "2.0", "id": 11, "method": "ping"}));
        let first = bridge.next(Duration::from_secs(10));
        assert_eq!(first["id"], 11, "the ping comes back first: {first}");
        let second = bridge.answer(10);
        assert_eq!(second["result"]["content"][0]["text"], "slept 1500 ms", "{second}");

        let (code, _, stderr) = bridge.close();
        assert_eq!(code, 0, "{stderr}");
        assert_nothing_leaked(&home, &stderr, &lab.seeded.jwt_secret);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_forgets_its_sessions_is_initialized_again_unseen() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let server = mcp_server(McpServerOptions::default()).await;
    let gateway = Gateway::start(GatewayOptions {
        backend: server.url(),
        secret: lab.seeded.jwt_secret.clone(),
        ..GatewayOptions::default()
    })
    .await
    .unwrap();
    let home = Home::new();
    let yaml = profile(
        "own-gateway",
        &direct_link(&gateway.url),
        KUBE_SECRET,
        "1h",
        &gateway.fingerprint_sha256,
    );
    let dir = home.user_profiles();
    std::fs::write(dir.join("own-gateway.yaml"), yaml).unwrap();

    let mut bridge =
        tokio::task::block_in_place(|| Bridge::start(&home, lab.kubeconfig(), &dir, "own-gateway"));
    tokio::task::block_in_place(|| handshake_and_echo(&mut bridge));
    assert!(server.expire_sessions().await >= 1, "a session to forget");
    let closed = tokio::task::block_in_place(|| {
        echo(&mut bridge, 4, "after the server forgot");
        echo(&mut bridge, 5, "and again");
        let stderr = bridge.stderr();
        assert!(stderr.contains("re-initialized with a new session"), "{stderr}");
        assert_eq!(stderr.matches("re-initialized").count(), 1, "once: {stderr}");
        let (code, rest, stderr) = bridge.close();
        assert_eq!(code, 0, "{stderr}");
        (rest, stderr)
    });
    let (rest, stderr) = closed;
    assert_eq!(server.expire_sessions().await, 0, "the bridge ended its session at exit (DELETE)");
    // The bridge's own initialize was swallowed, not passed to the client.
    let reinitialize = json!("mcp-connect-bridge-reinitialize-1");
    assert!(rest.iter().all(|m| m["id"] != reinitialize), "{rest:?}");
    assert_nothing_leaked(&home, &stderr, &lab.seeded.jwt_secret);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_that_expire_every_three_seconds_are_renewed_unseen() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let home = Home::new();
    let fp = &lab.gateway.fingerprint_sha256;
    let yaml = profile("lab-short", &direct_link(&lab.gateway.url), KUBE_SECRET, "3s", fp);
    let dir = home.user_profiles();
    std::fs::write(dir.join("lab-short.yaml"), yaml).unwrap();

    tokio::task::block_in_place(|| {
        let mut bridge = Bridge::start(&home, lab.kubeconfig(), &dir, "lab-short");
        handshake_and_echo(&mut bridge);
        let until = Instant::now() + Duration::from_secs(7);
        let mut id = 100;
        while Instant::now() < until {
            echo(&mut bridge, id, &format!("call {id}"));
            id += 1;
            std::thread::sleep(Duration::from_millis(400));
        }
        let (code, _, stderr) = bridge.close();
        assert_eq!(code, 0, "{stderr}");
        assert!(!stderr.contains("failed"), "{stderr}");
        let minted = log_text(&home).matches("minted a token").count();
        assert!(minted >= 3, "over two lifetimes, tokens were renewed ({minted} minted)");
        assert_nothing_leaked(&home, &stderr, &lab.seeded.jwt_secret);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_is_answered_with_its_fix_and_the_bridge_stays_up() {
    const VAR: &str = "MCP_CONNECT_BRIDGE_TEST_NOT_SET_VAR";
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let home = Home::new();
    let fp = &lab.gateway.fingerprint_sha256;
    let secret = format!("{{env: {VAR}}}");
    let yaml = profile("lab-nosecret", &direct_link(&lab.gateway.url), &secret, "1h", fp);
    let dir = home.user_profiles();
    std::fs::write(dir.join("lab-nosecret.yaml"), yaml).unwrap();

    tokio::task::block_in_place(|| {
        let mut bridge = Bridge::start(&home, lab.kubeconfig(), &dir, "lab-nosecret");
        for (id, method) in [(1, "initialize"), (2, "tools/list"), (3, "ping")] {
            let answer = bridge.call(id, method, initialize_params());
            let error = &answer["error"];
            let message = error["message"].as_str().unwrap_or_default();
            assert!((-32099..=-32000).contains(&error["code"].as_i64().unwrap()), "{answer}");
            assert!(
                message.contains(&format!("environment variable {VAR} is not set")),
                "{message}"
            );
            assert!(message.contains(&format!("fix: export {VAR}=")), "{message}");
        }
        let (code, _, stderr) = bridge.close();
        assert_eq!(code, 0, "it stayed up and stopped cleanly: {stderr}");
        assert_eq!(lab.gateway.forwarded(), 0, "nothing reached the server without a token");
        assert_nothing_leaked(&home, &stderr, &lab.seeded.jwt_secret);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_the_bridge_and_its_forward_on_the_port_asked_for() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let home = Home::new();
    let (profile_port, port) = (free_port(), free_port());
    let fp = &lab.gateway.fingerprint_sha256;
    let yaml = profile("lab-forward", &forward_link(profile_port), KUBE_SECRET, "1h", fp);
    let dir = home.user_profiles();
    std::fs::write(dir.join("lab-forward.yaml"), yaml).unwrap();

    tokio::task::block_in_place(|| {
        let args = ["bridge", "lab-forward", "--local-port", &port.to_string()];
        let mut bridge = Bridge::start_with(&home, lab.kubeconfig(), &dir, &args);
        handshake_and_echo(&mut bridge);
        assert!(TcpListener::bind(("127.0.0.1", port)).is_err(), "the forward listens on {port}");
        let (code, stderr) = bridge.terminate();
        assert_eq!(code, 0, "{stderr}");
        assert!(stderr.contains("stopping on a signal"), "{stderr}");
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok(), "the local port is free again");
        assert_nothing_leaked(&home, &stderr, &lab.seeded.jwt_secret);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_minted_again_and_a_refusal_that_stays_says_why() {
    const ROTATED: &str = "rotated-gateway-secret-0123456789";

    let lab = Lab::start(LabOptions::default()).await.unwrap();
    // A gateway that already checks tokens with the next secret; the cluster still holds the
    // old one.
    let gateway = Gateway::start(GatewayOptions {
        backend: lab.serena_url.clone(),
        secret: ROTATED.to_owned(),
        ..GatewayOptions::default()
    })
    .await
    .unwrap();
    let home = Home::new();
    let fp = &gateway.fingerprint_sha256;
    let yaml = profile("rotating", &direct_link(&gateway.url), KUBE_SECRET, "1h", fp);
    let dir = home.user_profiles();
    std::fs::write(dir.join("rotating.yaml"), yaml).unwrap();

    let mut bridge =
        tokio::task::block_in_place(|| Bridge::start(&home, lab.kubeconfig(), &dir, "rotating"));
    tokio::task::block_in_place(|| {
        let refused = bridge.call(1, "initialize", initialize_params());
        let message = refused["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(refused["error"]["code"], -32001, "{refused}");
        assert!(message.contains("invalid signature"), "the server's reason: {message}");
        assert!(message.contains("; fix: sign with the gateway's current secret"), "{message}");
    });

    rotate_gateway_secret(&lab, ROTATED);

    tokio::task::block_in_place(|| {
        // The cached token is refused; a new one, from the rotated secret, passes.
        handshake_and_echo(&mut bridge);
        let stderr = bridge.stderr();
        assert!(stderr.contains("minted a new one"), "{stderr}");
        let (code, _, stderr) = bridge.close();
        assert_eq!(code, 0, "{stderr}");
        assert_nothing_leaked(&home, &stderr, &lab.seeded.jwt_secret);
        assert_nothing_leaked(&home, &stderr, ROTATED);
    });
}
