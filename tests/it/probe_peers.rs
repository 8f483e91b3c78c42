//! The probe against the real peers: Serena 2.1.0 (streamable HTTP at `/mcp` only, Host check
//! when bound to localhost) and `@modelcontextprotocol/server-everything` in legacy SSE mode.

use serde_json::Value;

use crate::support::Home;
use crate::support::peers::{Peer, SERENA_VERSION};

/// `mcp-connect probe ARGS --json`, with its exit code.
async fn probe(args: Vec<String>) -> (i32, Value) {
    let run = tokio::task::spawn_blocking(move || {
        let home = Home::new();
        let mut all: Vec<&str> = vec!["probe", "--json"];
        all.extend(args.iter().map(String::as_str));
        home.run(&all)
    })
    .await
    .unwrap();
    let report = serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("{e}: {} / {}", run.stdout(), run.stderr()));
    (run.code(), report)
}

#[tokio::test]
async fn serena_is_healthy_at_mcp_and_the_seeds_urls_are_pointed_there() {
    let serena = Peer::serena(None);
    let base = format!("http://127.0.0.1:{}", serena.port());

    let (code, report) = probe(vec![serena.url()]).await;
    assert_eq!(code, 0, "{report}\nSerena's log:\n{}", serena.log());
    assert_eq!(report["server"]["name"], "Serena");
    assert_eq!(report["server"]["version"], SERENA_VERSION);
    assert_eq!(report["transport"], "streamable-http");
    assert!(report["tools"].as_u64().unwrap() > 0, "{report}");

    // The seed's "Current Limitations": 404 at /, /sse and /message.
    for path in ["/", "/sse", "/message"] {
        let (code, report) = probe(vec![format!("{base}{path}")]).await;
        assert_eq!(code, 1, "{path}: {report}");
        let cause = report["cause"].as_str().unwrap();
        assert!(cause.contains("answered 404"), "{path}: {cause}");
        assert!(cause.ends_with("the server serves streamable HTTP at /mcp"), "{path}: {cause}");
        let fix = report["fix"].as_str().unwrap();
        assert!(fix.starts_with(&format!("use {base}/mcp;")), "{path}: {fix}");
    }
}

#[tokio::test]
async fn serena_bound_to_localhost_rejects_a_foreign_host_and_the_probe_says_why() {
    let serena = Peer::serena(None);
    let (code, report) =
        probe(vec![serena.url(), "-H".into(), "Host: serena-mcp:8080".into()]).await;
    assert_eq!(code, 1, "{report}");
    let cause = report["cause"].as_str().unwrap();
    assert!(
        cause.contains(r#"rejects Host "serena-mcp:8080" (421 Invalid Host header)"#),
        "{cause}"
    );
    let fix = report["fix"].as_str().unwrap();
    assert!(fix.contains("serena start-mcp-server --transport streamable-http --host 0.0.0.0"));
}

#[tokio::test]
async fn the_everything_server_in_sse_mode_is_detected_as_legacy_and_healthy() {
    let everything = Peer::everything_sse();
    let (code, report) = probe(vec![everything.url()]).await;
    assert_eq!(code, 0, "{report}\nits log:\n{}", everything.log());
    assert_eq!(report["transport"], "sse");
    assert_eq!(report["protocol"], "2024-11-05");
    assert_eq!(report["server"]["name"], "mcp-servers/everything");
    assert!(report["tools"].as_u64().unwrap() > 5, "{report}");

    // Pointed at /mcp, as for a streamable server: the probe finds the legacy endpoint.
    let mcp = format!("http://127.0.0.1:{}/mcp", everything.port());
    let (code, report) = probe(vec![mcp]).await;
    assert_eq!(code, 1, "{report}");
    let cause = report["cause"].as_str().unwrap();
    assert!(cause.ends_with("speaks only the legacy HTTP+SSE transport, at /sse"), "{cause}");
    assert!(report["fix"].as_str().unwrap().contains(r#"{"type":"sse","url":""#));
}
