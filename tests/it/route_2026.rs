//! Route 1 to a server that speaks only MCP 2026-07-28 — a real SDK's server (the TypeScript
//! SDK v2 with the old handshake rejected) behind the lab's `svc/serena-mcp` — as a client sees
//! it: `up` serves it and names the era; the newest Claude Code connects to the entry `config
//! write` wrote and calls a tool through it; the pinned one, which speaks only the 2025
//! handshake, is refused by that server, and connects through the stdio bridge, which
//! translates.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use mcp_connect::lab::world::{Lab, LabOptions, SerenaBackend};
use serde_json::json;

use crate::support::messages::Messages;
use crate::support::peers::{Claude, Peer};
use crate::support::{Home, free_port};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_1_carries_the_newest_claude_code_to_a_2026_only_server() {
    let server = Peer::modern_only();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, server.port()));
    let options = LabOptions { serena: SerenaBackend::Running { addr }, ..LabOptions::default() };
    let lab = Lab::start(options).await.expect("the lab starts");
    // Everything below blocks (child processes); the lab keeps serving on the other worker.
    tokio::task::block_in_place(|| {
        let home = Home::new();
        let port = free_port();
        let local_port = ["--local-port", &port.to_string()];
        let (mut up, lines) = home.up(lab.kubeconfig(), "serena-direct", &local_port);
        // A watchdog, not a measurement: should `up` never serve, the test fails, not hangs.
        let serving = loop {
            match lines.recv_timeout(READY_TIMEOUT) {
                Ok(line) if line.starts_with("serving: ") => break line,
                Ok(_) => {}
                Err(why) => {
                    let _ = up.kill();
                    panic!("up did not serve ({why}); the server's log:\n{}", server.log());
                }
            }
        };
        let url = format!("http://127.0.0.1:{port}/mcp");
        assert!(
            serving.starts_with(&format!("serving: {url} (pod "))
                && serving.ends_with(
                    "era-2026-only 1.0.0 (streamable-http, protocol 2026-07-28, 2 tools)"
                ),
            "{serving}"
        );

        let [pinned, newest] = Claude::both(home.path());
        // The engine says what that means for older clients, under the serving line.
        let note = lines.recv_timeout(READY_TIMEOUT).expect("a note under the serving line");
        assert!(
            note.starts_with(
                "  note: it speaks only MCP 2026-07-28: a client of the 2025 \
                              handshake (Claude Code 2.1.197,"
            ) && note.contains("`mcp-connect bridge PROFILE`"),
            "{note}"
        );

        let dir = pinned.cwd().to_str().unwrap();
        let port = port.to_string();
        let write = ["config", "write", "serena-direct", "--scope", "local", "--dir", dir];
        let written = home.run(&[&write[..], &["--local-port", &port]].concat());
        assert_eq!(written.code(), 0, "{}", written.stderr());

        let list = newest.run_ok(&["mcp", "list"]);
        let connected = format!("serena: {url} (HTTP) - ✔ Connected");
        assert!(list.lines().any(|l| l.trim_end() == connected), "{}:\n{list}", newest.version());
        // 2.1.197 sends only `initialize`, which this server refuses (400 -32022).
        let list = pinned.run_ok(&["mcp", "list"]);
        let failed = format!("serena: {url} (HTTP) - ✘ Failed to connect");
        assert!(list.lines().any(|l| l.starts_with(&failed)), "{}:\n{list}", pinned.version());

        // What the note says to do: the stdio bridge translates, and 2.1.197 connects.
        let bin = env!("CARGO_BIN_EXE_mcp-connect");
        let kubeconfig = lab.kubeconfig().to_str().unwrap();
        let bridge = ["--kubeconfig", kubeconfig, "bridge", "serena-direct", "--local-port", &port];
        let add = ["mcp", "add", "--scope", "local", "serena-bridge", "--", bin];
        pinned.run_ok(&[&add[..], &bridge].concat());
        for claude in [&pinned, &newest] {
            let list = claude.run_ok(&["mcp", "list"]);
            let bridged = list.lines().find(|l| l.starts_with("serena-bridge: "));
            let bridged = bridged.unwrap_or_else(|| panic!("no serena-bridge in:\n{list}"));
            assert!(bridged.ends_with("- ✔ Connected"), "{}: {bridged}", claude.version());
        }

        // A real tool call through the route, in the 2026 era end to end.
        let tool = "mcp__serena__echo";
        let api = Messages::start(tool, json!({}));
        let out = api.run(&newest, tool);
        let seen = api.seen();
        assert_eq!(seen.result.as_deref(), Some("hello"), "{seen:?}\n{out}");
        assert!(!seen.is_error, "{seen:?}");

        assert_eq!(crate::support::stop(&mut up), 0);
        let rest: Vec<String> = lines.iter().collect();
        assert_eq!(rest.last().map(String::as_str), Some("stopped"), "{rest:?}");
    });
    drop(server);
}

/// How long `up` may take to serve before the test gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
