//! `mcp-connect bridge` between the MCP eras (issue #20): the real binary with a client of one
//! era on its stdin and a server of one era, or both, behind it. The same era on both sides is
//! relayed as it is; a 2025 client in front of a 2026-only server has its `initialize` answered
//! from `server/discover`; a 2026 client in front of a 2025-only server is served in a session
//! of the bridge's own. Real Claude Code (both versions) and the MCP Inspector connect through
//! it to a 2026-only server.

use mcp_connect::lab::mcp::tools::LabTools;
use mcp_connect::lab::mcp::{Eras, McpServer, McpServerOptions};
use serde_json::{Value, json};

use crate::support::bridge::{Bridge, echo, initialize_params, modern, start_plain};
use crate::support::peers::{Claude, Peer, inspector};
use crate::support::{Home, mcp_server};

const MODERN: &str = "2026-07-28";

async fn server(eras: Eras) -> McpServer {
    mcp_server(McpServerOptions { eras, ..McpServerOptions::default() }).await
}

fn tool_names(tools: &Value) -> Vec<&str> {
    let list = tools["result"]["tools"].as_array();
    let mut names: Vec<&str> =
        list.into_iter().flatten().filter_map(|t| t["name"].as_str()).collect();
    names.sort_unstable();
    names
}

/// A 2026 client's `tools/call echo`.
fn modern_echo(bridge: &mut Bridge, id: u64, text: &str) {
    let args = modern(json!({"name": "echo", "arguments": {"text": text}}));
    let answer = bridge.call(id, "tools/call", args);
    assert_eq!(answer["result"]["content"][0]["text"], text, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2025_client_is_served_by_a_2026_only_server() {
    let server = server(Eras::Only2026).await;
    let home = Home::new();
    tokio::task::block_in_place(|| {
        let mut bridge = start_plain(&home, "only-2026", &server.url());
        let init = bridge.call(1, "initialize", initialize_params());
        let result = &init["result"];
        assert_eq!(result["protocolVersion"], "2025-06-18", "the version the client asked: {init}");
        assert_eq!(result["serverInfo"]["name"], "mcp-connect-lab", "from discover: {init}");
        assert!(result["capabilities"]["tools"].is_object(), "{init}");
        assert!(result["instructions"].as_str().is_some_and(|i| i.contains("echo")), "{init}");
        bridge.notify("notifications/initialized");
        let tools = bridge.call(2, "tools/list", json!({}));
        assert_eq!(tool_names(&tools), ["blob", "echo", "sleep"], "{tools}");
        echo(&mut bridge, 3, "a 2025 client, a 2026 server");
        let ping = bridge.call(4, "ping", json!({}));
        assert_eq!(ping["result"], json!({}), "answered by the bridge: {ping}");
        let (code, rest, stderr) = bridge.close();
        assert_eq!(code, 0, "{stderr}");
        assert!(rest.is_empty(), "nothing but answers: {rest:?}");
        assert!(stderr.contains("speaks only MCP 2026-07-28 (initialize got 400"), "{stderr}");
        assert!(!stderr.contains("failed"), "{stderr}");
    });
}

/// rmcp's own 2026-only server, without the lab's gate in front: it refuses `initialize` with
/// HTTP 200 and -32022 (where the TS SDK v2 answers 400).
async fn rmcp_2026_only() -> (String, tokio::task::JoinHandle<()>) {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};

    let config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .with_legacy_session_mode(false)
        .with_stateless_protocol_metadata_required(true);
    let service = StreamableHttpService::new(
        || Ok(LabTools::new("rmcp-2026-only".into(), Eras::Only2026)),
        std::sync::Arc::new(LocalSessionManager::default()),
        config,
    );
    let app = axum::Router::new().route_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2025_client_is_served_by_an_rmcp_server_that_refuses_initialize_with_200() {
    let (url, server) = rmcp_2026_only().await;
    let refusal = reqwest::Client::new()
        .post(&url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": initialize_params()})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(refusal.status(), 200, "rmcp's way of refusing the handshake");
    let home = Home::new();
    tokio::task::block_in_place(|| {
        let mut bridge = start_plain(&home, "rmcp-2026", &url);
        let init = bridge.call(1, "initialize", initialize_params());
        assert_eq!(init["result"]["serverInfo"]["name"], "rmcp-2026-only", "{init}");
        bridge.notify("notifications/initialized");
        echo(&mut bridge, 2, "past a refusal in a 200");
        let (code, _, stderr) = bridge.close();
        assert_eq!(code, 0, "{stderr}");
        assert!(stderr.contains("speaks only MCP 2026-07-28 (initialize got 200"), "{stderr}");
    });
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2026_client_is_served_by_a_2025_only_server_in_a_session_of_the_bridges_own() {
    let server = server(Eras::Only2025).await;
    let home = Home::new();
    let mut bridge = tokio::task::block_in_place(|| {
        let mut bridge = start_plain(&home, "only-2025", &server.url());
        let discover = bridge.call(1, "server/discover", modern(json!({})));
        let result = &discover["result"];
        assert_eq!(result["supportedVersions"], json!([MODERN]), "{discover}");
        let info = &result["_meta"]["io.modelcontextprotocol/serverInfo"];
        assert_eq!(info["name"], "mcp-connect-lab", "from initialize: {discover}");
        assert!(result["capabilities"]["tools"].is_object(), "{discover}");
        // Results as 2026 ones: final, and a list says how long it keeps (the SDKs' defaults).
        for hint in ["resultType", "ttlMs", "cacheScope"] {
            assert!(result.get(hint).is_some(), "{hint}: {discover}");
        }
        let tools = bridge.call(2, "tools/list", modern(json!({})));
        assert_eq!(tool_names(&tools), ["blob", "echo", "sleep"], "{tools}");
        let hints = (&tools["result"]["resultType"], &tools["result"]["cacheScope"]);
        assert_eq!(hints, (&json!("complete"), &json!("private")), "{tools}");
        modern_echo(&mut bridge, 3, "a 2026 client, a 2025 server");
        bridge
    });
    assert_eq!(server.expire_sessions().await, 1, "the bridge's one session, now forgotten");
    tokio::task::block_in_place(|| {
        modern_echo(&mut bridge, 4, "after the server forgot");
        let again = bridge.call(5, "server/discover", modern(json!({})));
        assert_eq!(again["result"]["supportedVersions"], json!([MODERN]), "{again}");
    });
    let (code, rest, stderr) = tokio::task::block_in_place(|| bridge.close());
    assert_eq!(code, 0, "{stderr}");
    assert!(rest.is_empty(), "{rest:?}");
    assert!(stderr.contains("speaks only the 2025 era (server/discover got 400"), "{stderr}");
    assert_eq!(stderr.matches("re-initialized with a new session").count(), 1, "{stderr}");
    assert_eq!(server.expire_sessions().await, 0, "the bridge ended its session at exit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2026_client_that_skips_discover_is_served_by_a_server_of_either_single_era() {
    for (eras, says) in [(Eras::Only2025, "speaks only the 2025 era"), (Eras::Only2026, "")] {
        let server = server(eras).await;
        let home = Home::new();
        tokio::task::block_in_place(|| {
            let mut bridge = start_plain(&home, "skips", &server.url());
            let tools = bridge.call(1, "tools/list", modern(json!({})));
            assert_eq!(tool_names(&tools), ["blob", "echo", "sleep"], "{eras:?}: {tools}");
            modern_echo(&mut bridge, 2, "no discover first");
            let (code, rest, stderr) = bridge.close();
            assert_eq!(code, 0, "{stderr}");
            assert!(rest.is_empty(), "the bridge's own discover is not passed on: {rest:?}");
            assert_eq!(stderr.contains("speaks only"), !says.is_empty(), "{eras:?}: {stderr}");
            assert!(stderr.contains(says), "{eras:?}: {stderr}");
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_of_both_eras_gets_each_client_in_its_own_era() {
    let server = server(Eras::Both).await;
    let home = Home::new();
    // A 2026 client: its own discover, relayed (a translated one would list 2026-07-28 only);
    // `ping`, which 2026 does not have, is the server's 404 -32601; and no session.
    let bridge = tokio::task::block_in_place(|| {
        let mut bridge = start_plain(&home, "both", &server.url());
        let discover = bridge.call(1, "server/discover", modern(json!({})));
        let versions = discover["result"]["supportedVersions"].as_array().unwrap();
        assert!(versions.contains(&json!("2025-06-18")), "the server's own list: {discover}");
        assert!(versions.contains(&json!(MODERN)), "{discover}");
        modern_echo(&mut bridge, 2, "2026 as it is");
        let ping = bridge.call(3, "ping", modern(json!({})));
        assert_eq!(ping["error"]["code"], -32601, "the server's own 2026 answer: {ping}");
        bridge
    });
    assert_eq!(server.expire_sessions().await, 0, "a 2026 client opens no session");
    tokio::task::block_in_place(|| bridge.close());
    // A 2025 client: its handshake, in a session the server keeps, where `ping` exists.
    let mut bridge = tokio::task::block_in_place(|| {
        let mut bridge = start_plain(&home, "both", &server.url());
        let init = bridge.call(1, "initialize", initialize_params());
        assert_eq!(init["result"]["protocolVersion"], "2025-06-18", "{init}");
        bridge.notify("notifications/initialized");
        echo(&mut bridge, 2, "2025 as it is");
        let ping = bridge.call(3, "ping", json!({}));
        assert_eq!(ping["result"], json!({}), "{ping}");
        bridge
    });
    assert_eq!(server.expire_sessions().await, 1, "the client's own session");
    tokio::task::block_in_place(|| {
        echo(&mut bridge, 4, "re-initialized as before");
        let (code, _, stderr) = bridge.close();
        assert_eq!(code, 0, "{stderr}");
        assert!(!stderr.contains("speaks only"), "no translation: {stderr}");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_path_is_explained_to_a_client_of_either_era_not_taken_for_an_era() {
    let server = server(Eras::Both).await;
    let wrong = server.url().replace("/mcp", "/wrong");
    let home = Home::new();
    tokio::task::block_in_place(|| {
        let mut bridge = start_plain(&home, "wrong-path", &wrong);
        let init = bridge.call(1, "initialize", initialize_params());
        let message = init["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("refused initialize with 404"), "{init}");
        assert!(message.contains("fix: check that the profile's `endpoint.path`"), "{init}");
        let (_, _, stderr) = bridge.close();
        assert!(!stderr.contains("speaks only"), "a 404 without -32601 is no era: {stderr}");

        // A 2026 client: discover's 404 may be an older server, so initialize is tried; its
        // 404 says what is wrong.
        let mut bridge = start_plain(&home, "wrong-path", &wrong);
        let discover = bridge.call(1, "server/discover", modern(json!({})));
        let message = discover["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("refused server/discover as a 2025 server does"), "{discover}");
        assert!(message.contains("refused initialize with 404"), "{discover}");
        assert!(message.contains("fix: check that the profile's `endpoint.path`"), "{discover}");
        let list = bridge.call(2, "tools/list", modern(json!({})));
        assert!(list["error"]["message"].as_str().is_some(), "still an explained error: {list}");
        let (code, _, stderr) = bridge.close();
        assert_eq!(code, 0, "{stderr}");
    });
}

/// What every mcp-connect run under `home` wrote to its log file.
fn log_text(home: &Home) -> String {
    let logs = home.path().join("state/mcp-connect");
    let files = crate::support::files_under(&logs);
    files.iter().map(|f| std::fs::read_to_string(f).unwrap_or_default()).collect()
}

/// The `claude mcp list` line of `name` says Connected.
fn assert_connected(list: &str, name: &str) {
    let found =
        list.lines().any(|l| l.starts_with(&format!("{name}: ")) && l.ends_with("✔ Connected"));
    assert!(found, "{name} is not connected:\n{list}");
}

/// A stdio entry running `mcp-connect bridge NAME` with `home`'s profiles.
fn stdio_entry(home: &Home, name: &str) -> Value {
    let profiles = home.user_profiles();
    json!({
        "type": "stdio",
        "command": env!("CARGO_BIN_EXE_mcp-connect"),
        "args": ["--profiles", profiles.to_str().unwrap(), "bridge", name],
        "env": {}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_of_either_era_connects_through_the_bridge_to_servers_of_one_era() {
    let (lab, old) = (server(Eras::Only2026).await, server(Eras::Only2025).await);
    let both = server(Eras::Both).await;
    tokio::task::block_in_place(|| {
        let sdk = Peer::modern_only();
        let home = Home::new();
        let dir = home.user_profiles();
        let servers = [
            ("ts-2026", sdk.url()),
            ("lab-2026", lab.url()),
            ("lab-2025", old.url()),
            ("lab-both", both.url()),
        ];
        for (name, url) in servers {
            let yaml = crate::support::bridge::plain_profile(name, &url);
            std::fs::write(dir.join(format!("{name}.yaml")), yaml).unwrap();
        }
        let claude = Claude::new(home.path());
        home.write(".claude/settings.json", r#"{"enableAllProjectMcpServers": true}"#);
        let servers = json!({"mcpServers": {
            "ts-2026": stdio_entry(&home, "ts-2026"),
            "lab-2026": stdio_entry(&home, "lab-2026"),
            "lab-2025": stdio_entry(&home, "lab-2025"),
            "lab-both": stdio_entry(&home, "lab-both"),
        }});
        std::fs::write(claude.cwd().join(".mcp.json"), servers.to_string()).unwrap();
        // 2.1.197 sends only initialize; 2.1.332 sends server/discover first, which the bridge
        // answers itself in front of the 2025-only server.
        // The bridges' log (Claude Code runs them in this home) says which translation each
        // Claude Code needed: one per server of the other era, none for the server of both.
        let [old_claude, new_claude] = Claude::both(home.path());
        let list = old_claude.run_ok(&["mcp", "list"]);
        eprintln!("claude {} mcp list:\n{list}", old_claude.version());
        for name in ["ts-2026", "lab-2026", "lab-2025", "lab-both"] {
            assert_connected(&list, name);
        }
        let log = log_text(&home);
        assert_eq!(log.matches("speaks only MCP 2026-07-28").count(), 2, "{log}");
        assert!(!log.contains("speaks only the 2025 era"), "2.1.197 sends no discover: {log}");
        let list = new_claude.run_ok(&["mcp", "list"]);
        eprintln!("claude {} mcp list:\n{list}", new_claude.version());
        for name in ["ts-2026", "lab-2026", "lab-2025", "lab-both"] {
            assert_connected(&list, name);
        }
        let log = log_text(&home);
        assert!(log.contains("speaks only the 2025 era"), "discover answered by the bridge: {log}");
        assert_eq!(log.matches("speaks only MCP 2026-07-28").count(), 2, "none new: {log}");
        // And the SDK server really refuses the handshake the old Claude Code speaks.
        let (code, out, _) = inspector(home.path(), &[&sdk.url(), "--method", "tools/list"]);
        assert_ne!(code, 0, "legacy to a 2026-only server fails without the bridge: {out}");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inspector_of_either_era_lists_and_calls_through_the_bridges_stdio_face() {
    let sdk = tokio::task::block_in_place(Peer::modern_only);
    let old = server(Eras::Only2025).await;
    let home = Home::new();
    let dir = home.user_profiles();
    for (name, url) in [("ts-2026", sdk.url()), ("lab-2025", old.url())] {
        let yaml = crate::support::bridge::plain_profile(name, &url);
        std::fs::write(dir.join(format!("{name}.yaml")), yaml).unwrap();
    }
    let bin = env!("CARGO_BIN_EXE_mcp-connect");
    let profiles = dir.to_str().unwrap();
    tokio::task::block_in_place(|| {
        // The SDK server's echo says "hello"; the lab's says its text back.
        for (name, says) in [("ts-2026", "hello"), ("lab-2025", "hi")] {
            for era in ["legacy", "modern"] {
                let face = ["--transport", "stdio", "--protocol-era", era, "--"];
                let command = [bin, "--profiles", profiles, "bridge", name];
                let list = ["--method", "tools/list"];
                let (code, out, err) =
                    inspector(home.path(), &[&list[..], &face, &command].concat());
                assert_eq!(code, 0, "{name} {era}: {out}\n{err}");
                assert!(out.contains("\"echo\""), "{name} {era}: {out}");

                let call =
                    ["--method", "tools/call", "--tool-name", "echo", "--tool-arg", "text=hi"];
                let (code, out, err) =
                    inspector(home.path(), &[&call[..], &face, &command].concat());
                assert_eq!(code, 0, "{name} {era}: {out}\n{err}");
                assert!(out.contains(says), "{name} {era}: {out}");
            }
        }
    });
}
