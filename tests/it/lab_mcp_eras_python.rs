//! A real, independent client against the lab server's eras: the Python MCP SDK (PyPI `mcp`
//! 2.3.0, installed on first use, see `support::peers`) runs `fixtures/mcp_era_client.py`,
//! which connects, lists the tools and calls `echo`, and prints the version it agreed on.

use std::path::Path;
use std::time::Duration;

use mcp_connect::lab::mcp::{Eras, McpServerOptions};
use serde_json::Value;
use tokio::process::Command;

use crate::support::mcp_server;
use crate::support::peers::python_mcp_bin;

/// Time for the Python interpreter to start, import `mcp` and make three exchanges.
const PATIENCE: Duration = Duration::from_secs(60);

/// What the Python client saw connecting to `url` in `mode`, or its error output.
async fn python_client(url: &str, mode: &str) -> Result<Value, String> {
    let python = tokio::task::spawn_blocking(python_mcp_bin).await.unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/mcp_era_client.py");
    let run = Command::new(python).arg(script).args([url, mode]).kill_on_drop(true).output();
    let out = tokio::time::timeout(PATIENCE, run).await.expect("the client ends in time").unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    Ok(serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}")))
}

async fn seen_by_python(eras: Eras, mode: &str) -> Result<Value, String> {
    let server = mcp_server(McpServerOptions { eras, ..McpServerOptions::default() }).await;
    python_client(&server.url(), mode).await
}

/// Asserts the client agreed on `version`, saw the three tools and got its echo; in `auto`
/// mode also our name and version (a pinned version asks the server nothing about itself).
fn assert_served(seen: &Value, version: &str, mode: &str) {
    assert_eq!(seen["protocolVersion"], version, "{seen}");
    if mode == "auto" {
        assert_eq!(seen["serverInfo"]["name"], "mcp-connect-lab", "{seen}");
        assert_eq!(seen["serverInfo"]["version"], env!("CARGO_PKG_VERSION"), "{seen}");
    }
    assert_eq!(seen["tools"], serde_json::json!(["blob", "echo", "sleep"]), "{seen}");
    assert_eq!(seen["echo"], format!("hi from python, {mode}"), "{seen}");
}

#[tokio::test]
async fn python_mcp_in_auto_mode_speaks_2026_to_a_server_of_both_eras() {
    let seen = seen_by_python(Eras::Both, "auto").await.unwrap();
    assert_served(&seen, "2026-07-28", "auto");
}

#[tokio::test]
async fn python_mcp_auto_or_pinned_to_2026_is_served_by_a_2026_only_server_and_legacy_refused() {
    for mode in ["auto", "2026-07-28"] {
        let seen = seen_by_python(Eras::Only2026, mode).await.unwrap();
        assert_served(&seen, "2026-07-28", mode);
    }
    let refused = seen_by_python(Eras::Only2026, "legacy").await.unwrap_err();
    assert!(refused.contains("Unsupported protocol version"), "{refused}");
}

#[tokio::test]
async fn python_mcp_in_auto_mode_falls_back_to_the_handshake_on_a_2025_only_server() {
    let seen = seen_by_python(Eras::Only2025, "auto").await.unwrap();
    assert_served(&seen, "2025-11-25", "auto");
}
