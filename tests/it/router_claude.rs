//! Issue #9 end to end, with the real Claude Code CLI: real Serena behind two gateway doubles
//! (the lab's, and a second in front of the same Serena), each with its own self-signed
//! certificate, pooled by a router profile. Claude Code connects through `mcp-connect router`
//! (its http entry, as `config write` writes it) and through `mcp-connect bridge` (a stdio
//! entry, the bridge running its own router) and through a router reaching the gateways over
//! their own protocol (the envelope on a WebSocket); with one gateway gone, it still connects.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use mcp_connect::lab::gateway::{Gateway, GatewayOptions};
use serde_json::{Value, json};

use crate::support::bridge::KUBE_SECRET;
use crate::support::peers::{Claude, lab_with_real_serena};
use crate::support::{Home, free_port};

fn assert_connected(list: &str, name: &str) {
    let found =
        list.lines().any(|l| l.starts_with(&format!("{name}: ")) && l.ends_with("✔ Connected"));
    assert!(found, "{name} is not connected:\n{list}");
}

fn gateway_entry(url: &str, pin: &str) -> String {
    format!(
        "          - url: {url}\n            weight: 100\n            tls:\n              verify: true\n              \
         pin_sha256: \"{pin}\"\n"
    )
}

/// `mcp-connect router NAME` as the TUI runs it, once it says it serves.
fn start_router(home: &Home, kubeconfig: &str, name: &str) -> Child {
    let mut child = home
        .command()
        .args(["--kubeconfig", kubeconfig, "router", name])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    loop {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if line.starts_with("router: serving ") => return child,
            Ok(_) => {}
            Err(_) => {
                let _ = child.kill();
                panic!("the router did not say it serves");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_connects_through_the_router_and_its_stdio_bridge_and_after_a_gateway_dies() {
    let lab = lab_with_real_serena().await;
    let second = GatewayOptions {
        backend: lab.serena_url.clone(),
        secret: lab.seeded.jwt_secret.clone(),
        ..GatewayOptions::default()
    };
    let second = Gateway::start(second).await.expect("the second gateway starts");
    let (router_port, bridge_port) = (free_port(), free_port());
    tokio::task::block_in_place(|| {
        let home = Home::new();
        let claude = Claude::new(home.path());
        let dir = claude.cwd().canonicalize().unwrap();
        let (dir_arg, kubeconfig) = (dir.to_str().unwrap(), lab.kubeconfig().to_str().unwrap());
        home.write(".claude/settings.json", r#"{"enableAllProjectMcpServers": true}"#);
        let gateways = gateway_entry(&lab.gateway.url, &lab.gateway.fingerprint_sha256)
            + &gateway_entry(&second.url, &second.fingerprint_sha256);
        let profile = format!(
            "name: router-lab\ntitle: Router over two lab gateways\nlink:\n  router:\n    \
             local_port: {router_port}\n    gateway_pools:\n      - name: lab\n        gateways:\n\
             {gateways}        health_check:\n          enabled: true\n          interval: 500ms\n\
             endpoint:\n  path: /mcp\nauth:\n  jwt:\n    secret: {KUBE_SECRET}\n"
        );
        let profiles = home.user_profiles();
        // Route 4 again, its gateways reached over their own protocol (the envelope on a
        // WebSocket), on another port.
        let ws_port = free_port();
        let over_ws = profile
            .replace("name: router-lab", "name: router-ws")
            .replace(&format!("local_port: {router_port}"), &format!("local_port: {ws_port}"))
            .replace(
                "endpoint:\n  path: /mcp\n",
                "endpoint:\n  path: /ws\n  transport: mcp-bridge-ws\n",
            );
        assert!(over_ws.contains("transport: mcp-bridge-ws"), "{over_ws}");
        std::fs::write(profiles.join("router-lab.yaml"), profile).unwrap();
        std::fs::write(profiles.join("router-ws.yaml"), over_ws).unwrap();
        let write = ["--kubeconfig", kubeconfig, "config", "write", "router-ws"];
        let scope = ["--name", "serena-router-ws", "--scope", "project", "--dir", dir_arg];
        let written = home.run(&[&write[..], &scope].concat());
        assert_eq!(written.code(), 0, "{}", written.stderr());

        // The http entry, as mcp-connect writes it: the router's face, no credential.
        let write = ["--kubeconfig", kubeconfig, "config", "write", "router-lab"];
        let scope = ["--name", "serena-router", "--scope", "project", "--dir", dir_arg];
        let written = home.run(&[&write[..], &scope].concat());
        assert_eq!(written.code(), 0, "{}", written.stderr());
        let mcp_json = dir.join(".mcp.json");
        let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&mcp_json).unwrap())
            .expect("the written .mcp.json parses");
        let url = format!("http://127.0.0.1:{router_port}/mcp");
        assert_eq!(config["mcpServers"]["serena-router"], json!({"type": "http", "url": url}));
        // And a stdio entry through the bridge, on a port where no router runs yet.
        config["mcpServers"]["serena-router-stdio"] = json!({
            "type": "stdio",
            "command": env!("CARGO_BIN_EXE_mcp-connect"),
            "args": ["--kubeconfig", kubeconfig, "--profiles", profiles.to_str().unwrap(),
                     "bridge", "router-lab", "--local-port", bridge_port.to_string()],
            "env": {}
        });
        std::fs::write(&mcp_json, config.to_string()).unwrap();

        let mut router = start_router(&home, kubeconfig, "router-lab");
        let mut router_ws = start_router(&home, kubeconfig, "router-ws");
        // Both Claude Codes: the pinned one (initialize) and the newest (server/discover first).
        for claude in Claude::both(home.path()) {
            let list = claude.run_ok(&["mcp", "list"]);
            eprintln!("claude {} mcp list:\n{list}", claude.version());
            assert_connected(&list, "serena-router");
            assert_connected(&list, "serena-router-stdio");
            assert_connected(&list, "serena-router-ws");
        }
        // Route 4 carries a real tool call from each, over http and through the bridge.
        for server in ["serena-router", "serena-router-stdio"] {
            crate::support::messages::both_call_serena(home.path(), server);
        }
        assert!(
            lab.gateway.envelopes() + second.envelopes() > 0,
            "route 4 over the envelope went through the gateways' WebSocket"
        );

        // One gateway gone: the router's checks take it out, and Claude Code still connects.
        drop(second);
        std::thread::sleep(Duration::from_millis(1500));
        for claude in Claude::both(home.path()) {
            let list = claude.run_ok(&["mcp", "list"]);
            eprintln!("claude {} mcp list, one gateway gone:\n{list}", claude.version());
            assert_connected(&list, "serena-router");
            assert_connected(&list, "serena-router-stdio");
            assert_connected(&list, "serena-router-ws");
        }
        assert_eq!(crate::support::stop(&mut router), 0, "the router stops on SIGTERM");
        assert_eq!(crate::support::stop(&mut router_ws), 0, "the envelope router stops on SIGTERM");
    });
}
