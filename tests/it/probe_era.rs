//! The probe finds the MCP era as the clients do (`server/discover` in the 2026-07-28 way
//! first, `initialize` when that is refused) against real servers of each kind: a 2026-only one
//! (the TypeScript SDK v2 with `legacy: 'reject'`), a 2025-only one (server-everything over
//! streamable HTTP) and one that serves both (Serena 2.1.0, on Python `mcp` 2.2: its
//! `server/discover` lists only 2026-07-28, and it answers `initialize` too).

use std::time::Duration;

use mcp_connect::net::{Http, Target};
use mcp_connect::probe::failure::Failure;
use mcp_connect::probe::{
    Era, Health, Hints, MonitorOptions, ProbeEvent, Session, diagnose, monitor,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::support::Home;
use crate::support::peers::{Peer, SERENA_VERSION};

/// `mcp-connect probe ARGS`, with its exit code and stdout.
async fn probe_text(args: Vec<String>) -> (i32, String) {
    tokio::task::spawn_blocking(move || {
        let home = Home::new();
        let mut all: Vec<&str> = vec!["probe"];
        all.extend(args.iter().map(String::as_str));
        let run = home.run(&all);
        (run.code(), format!("{}{}", run.stdout(), run.stderr()))
    })
    .await
    .unwrap()
}

/// `mcp-connect probe --json ARGS`, with its exit code.
async fn probe(url: String) -> (i32, Value) {
    let (code, out) = probe_text(vec!["--json".into(), url]).await;
    let report = serde_json::from_str(out.lines().next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {out}"));
    (code, report)
}

#[tokio::test]
async fn a_2026_only_server_is_healthy_through_discover_and_tools_list() {
    let server = Peer::modern_only();
    let (code, report) = probe(server.url()).await;
    assert_eq!(code, 0, "{report}\nits log:\n{}", server.log());
    assert_eq!(report["era"], "2026-07-28");
    assert_eq!(report["protocol"], "2026-07-28");
    assert_eq!(report["supported_versions"], json!(["2026-07-28"]));
    assert_eq!(report["server"], json!({"name": "era-2026-only", "version": "1.0.0"}));
    assert_eq!(report["transport"], "streamable-http");
    assert_eq!(report["tools"], 2, "echo, add");
    let latency = &report["latency_ms"];
    assert!(latency["discover"].is_number() && latency["tools_list"].is_number(), "{report}");
    assert!(latency.get("ping").is_none(), "a 2026 server has no ping: {report}");

    let (code, text) = probe_text(vec![server.url()]).await;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("  era        2026-07-28 (server/discover, no session)"), "{text}");
    assert!(text.contains("  latency    server/discover "), "{text}");
}

#[tokio::test]
async fn a_2025_only_server_refuses_discover_and_is_healthy_through_initialize() {
    let server = Peer::everything_streamable();
    let (code, report) = probe(server.url()).await;
    assert_eq!(code, 0, "{report}\nits log:\n{}", server.log());
    assert_eq!(report["era"], "2025");
    let protocol = report["protocol"].as_str().unwrap();
    assert!(protocol.starts_with("2025-"), "{report}");
    assert_eq!(report["supported_versions"], json!([protocol]));
    assert_eq!(report["server"]["name"], "mcp-servers/everything");
    assert_eq!(report["transport"], "streamable-http");
    assert!(report["tools"].as_u64().unwrap() > 5, "{report}");
    assert!(report["latency_ms"]["ping"].is_number(), "{report}");
}

#[tokio::test]
async fn serena_serves_both_eras_and_is_spoken_to_in_2026() {
    let serena = Peer::serena(None);
    let (code, report) = probe(serena.url()).await;
    assert_eq!(code, 0, "{report}\nSerena's log:\n{}", serena.log());
    assert_eq!(report["era"], "2026-07-28");
    assert_eq!(report["server"]["name"], "Serena");
    assert_eq!(report["server"]["version"], SERENA_VERSION);
    let supported: Vec<&str> = report["supported_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(supported, ["2026-07-28"], "what Serena's server/discover lists: {report}");
    assert!(report["tools"].as_u64().unwrap() > 0, "{report}");

    // It also answers `initialize`: the 2025 era, with a session.
    let target = Target::new(serena.url().parse().unwrap());
    let http = Http::new(&target).unwrap();
    let mut session = Session::open_in(&http, &target, Some(Era::Initialize)).await.unwrap();
    assert_eq!(session.era(), Era::Initialize);
    assert!(session.handshake.server.protocol_version.starts_with("2025-"));
    let (tools, _) = session.tool_count().await.unwrap();
    assert_eq!(report["tools"], tools, "the same tools in both eras");
    session.ping().await.expect("a 2025 session has ping");
    session.close().await;
}

#[tokio::test]
async fn the_monitor_checks_a_2026_server_the_2026_way() {
    let server = Peer::modern_only();
    let target = Target::new(server.url().parse().unwrap());
    let options = MonitorOptions { interval: Duration::from_millis(100), ..Default::default() };
    let (send, mut events) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let watching = tokio::spawn(monitor(target, options, send, cancel.clone()));
    let (mut health, mut samples) = (None, 0);
    while samples < 3 {
        let event = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .expect("an event within 20 s")
            .expect("the monitor runs");
        match event {
            ProbeEvent::Health(h) => health = Some(h),
            ProbeEvent::Latency(_) => samples += 1,
            ProbeEvent::Note(note) => panic!("no note expected: {note}"),
        }
    }
    cancel.cancel();
    watching.await.unwrap();
    match health {
        Some(Health::Healthy { server: info, tools, .. }) => {
            assert_eq!(
                (info.name.as_str(), info.protocol_version.as_str()),
                ("era-2026-only", "2026-07-28")
            );
            assert_eq!(tools, 2);
        }
        other => panic!("expected healthy, got {other:?}\nits log:\n{}", server.log()),
    }
}

/// The real 2026-only server's answer to an old `initialize`, diagnosed.
#[tokio::test]
async fn an_unsupported_version_answer_is_diagnosed_with_the_servers_versions() {
    let server = Peer::modern_only();
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}});
    let answer = reqwest::Client::new()
        .post(server.url())
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(initialize.to_string())
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let body = answer.text().await.unwrap();
    assert_eq!(status, 400, "{body}");
    let failure = Failure::status("POST", server.url(), status, &body, "200 with the answer");
    let target = Target::new(server.url().parse().unwrap());
    let d = diagnose::explain(&target, &failure, &Hints::default());
    assert!(d.cause.contains("does not speak the protocol version"), "{}", d.cause);
    assert!(d.cause.ends_with("it supports 2026-07-28"), "{}", d.cause);
    assert!(d.fix.contains("one of 2026-07-28"), "{}", d.fix);
}
