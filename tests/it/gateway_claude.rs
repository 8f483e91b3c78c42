//! Issue #8 end to end, with the real Claude Code CLI: the lab runs real Serena behind its MCP
//! gateway (own self-signed certificate, JWT checked as mcp-bridge checks it). `mcp-connect
//! trust` pins the gateway's certificate for route 2 (a port-forward to the gateway Service)
//! and route 3 (the gateway's own address), `config write` puts both into Claude Code's
//! project scope as stdio bridge entries, and `claude mcp list` connects to both: TLS verified
//! against the pin, the token minted from the lab's Secret, no token in any file.

use crate::support::peers::{Claude, lab_with_real_serena};
use crate::support::{Home, free_port};

/// Fails, showing all of `output`, unless a line starts with `start` and ends with `end`.
fn assert_line(output: &str, start: &str, end: &str) {
    let found = output.lines().any(|l| l.starts_with(start) && l.trim_end().ends_with(end));
    assert!(found, "no line {start:?}…{end:?} in:\n{output}");
}

/// Whether `text` holds something shaped like a JWT: `eyJ…` base64url, a dot, more, a dot.
fn holds_jwt(text: &str) -> bool {
    let b64 = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices("eyJ").any(|(at, _)| {
        let mut parts = text[at..].split('.');
        let (header, claims) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        header.chars().all(b64) && claims.starts_with("eyJ") && parts.next().is_some()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_connects_through_the_gateway_by_port_forward_and_directly() {
    let lab = lab_with_real_serena().await;
    tokio::task::block_in_place(|| {
        let home = Home::new();
        let claude = Claude::new(home.path());
        let dir = claude.cwd().canonicalize().unwrap();
        let (dir_arg, kubeconfig) = (dir.to_str().unwrap(), lab.kubeconfig().to_str().unwrap());
        home.write(".claude/settings.json", r#"{"enableAllProjectMcpServers": true}"#);
        // Route 3: the lab gateway's own address stands for the LoadBalancer.
        let route_3 = std::fs::read_to_string("profiles/gateway-loadbalancer.yaml")
            .unwrap()
            .replace("name: gateway-loadbalancer", "name: gateway-lab")
            .replace(
                "https://k8s-mcp-mcpgatew-dae950c5b5-2f1dace9a3e601aa.elb.us-west-2.amazonaws.com:8443",
                &lab.gateway.url,
            );
        // Route 3 again, over the gateway's own protocol: the envelope on its WebSocket (#10).
        let route_3_ws = route_3.replace("name: gateway-lab", "name: gateway-ws").replace(
            "endpoint:\n  path: /mcp\n  transport: auto\n",
            "endpoint:\n  path: /ws\n  transport: mcp-bridge-ws\n",
        );
        assert!(route_3_ws.contains("transport: mcp-bridge-ws"), "{route_3_ws}");
        std::fs::write(home.user_profiles().join("gateway-lab.yaml"), route_3).unwrap();
        std::fs::write(home.user_profiles().join("gateway-ws.yaml"), route_3_ws).unwrap();
        // And route 2 over it: the port-forward to the gateway Service, the envelope on top.
        let route_2_ws = std::fs::read_to_string("profiles/gateway-port-forward.yaml")
            .unwrap()
            .replace("name: gateway-port-forward", "name: gateway-pf-ws")
            .replace(
                "endpoint:\n  path: /mcp\n  transport: auto\n",
                "endpoint:\n  path: /ws\n  transport: mcp-bridge-ws\n",
            );
        assert!(route_2_ws.contains("transport: mcp-bridge-ws"), "{route_2_ws}");
        std::fs::write(home.user_profiles().join("gateway-pf-ws.yaml"), route_2_ws).unwrap();
        let ws_port = free_port().to_string();

        let port = free_port().to_string();
        for (profile, name, extra) in [
            ("gateway-port-forward", "serena-gw", vec!["--local-port", port.as_str()]),
            ("gateway-lab", "serena-lb", vec![]),
            ("gateway-ws", "serena-ws", vec![]),
            ("gateway-pf-ws", "serena-pf-ws", vec!["--local-port", ws_port.as_str()]),
        ] {
            let trust = home.run(&["--kubeconfig", kubeconfig, "trust", profile, "--yes"]);
            assert_eq!(trust.code(), 0, "{}{}", trust.stdout(), trust.stderr());
            assert!(trust.stdout().contains(&lab.gateway.fingerprint_sha256), "{}", trust.stdout());
            let write = ["--kubeconfig", kubeconfig, "config", "write", profile, "--name", name];
            let scope = ["--scope", "project", "--dir", dir_arg];
            let written = home.run(&[&write[..], &scope, &extra].concat());
            assert_eq!(written.code(), 0, "{}", written.stderr());
        }
        let mcp_json = std::fs::read_to_string(dir.join(".mcp.json")).unwrap();
        eprintln!(".mcp.json:\n{mcp_json}");
        assert!(mcp_json.contains("\"bridge\""), "{mcp_json}");

        // Both Claude Codes: the pinned one (initialize) and the newest (server/discover first).
        for claude in Claude::both(home.path()) {
            let list = claude.run_ok(&["mcp", "list"]);
            eprintln!("claude {} mcp list:\n{list}", claude.version());
            assert_line(&list, "serena-gw: ", "- ✔ Connected");
            assert_line(&list, "serena-lb: ", "- ✔ Connected");
            assert_line(&list, "serena-ws: ", "- ✔ Connected");
            assert_line(&list, "serena-pf-ws: ", "- ✔ Connected");
        }
        // Routes 2 and 3 carry a real tool call from each (through the stdio bridge).
        for server in ["serena-gw", "serena-lb"] {
            crate::support::messages::both_call_serena(home.path(), server);
        }
        let get = claude.run_ok(&["mcp", "get", "serena-lb"]);
        eprintln!("claude mcp get serena-lb:\n{get}");
        assert!(get.contains("Status: ✔ Connected"), "{get}");
        assert!(get.contains("Type: stdio"), "{get}");

        // Nothing written anywhere under the home holds a token or the secret: configs,
        // profiles, certificates, mcp-connect's logs, Claude Code's own files.
        for file in crate::support::files_under(home.path()) {
            let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
            assert!(!text.contains(&lab.seeded.jwt_secret), "the secret is in {}", file.display());
            assert!(!holds_jwt(&text), "a token is in {}", file.display());
        }
    });
}
