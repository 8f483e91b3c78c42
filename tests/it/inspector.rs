//! MCP Inspector's CLI, an independent client, lists and calls tools through mcp-connect's
//! router, in the 2025 era and in `auto` (which asks `server/discover` first).

use std::time::Duration;

use serde_json::Value;

use crate::support::Home;
use crate::support::gateways::{Lab, start_router};
use crate::support::peers::inspector;

/// The tool names in an Inspector `tools/list` answer.
fn tool_names(stdout: &str) -> Vec<String> {
    let answer: Value = serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let tools = answer["tools"].as_array().cloned().unwrap_or_default();
    tools.iter().filter_map(|t| t["name"].as_str().map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inspector_lists_and_calls_tools_through_the_router() {
    let labs = [Lab::start("alpha").await, Lab::start("beta").await];
    let gateways = labs.iter().map(|lab| lab.settings(100)).collect();
    let router = start_router(gateways, true, Duration::from_secs(30)).await;
    let url = router.url();
    let home = Home::new();
    // The 2025 handshake, and `auto` (a 2026 request first, then the handshake).
    for era in ["legacy", "auto"] {
        let face = [url.as_str(), "--transport", "http", "--protocol-era", era];
        tokio::task::block_in_place(|| {
            let list = ["--method", "tools/list"];
            let (code, out, err) = inspector(home.path(), &[&face[..], &list].concat());
            assert_eq!(code, 0, "{era}: {out}\n{err}");
            let names = tool_names(&out);
            assert!(names.contains(&"echo".to_owned()), "{era}: {names:?}");

            let call = ["--method", "tools/call", "--tool-name", "echo"];
            let arg = ["--tool-arg", "text=through the router"];
            let (code, out, err) = inspector(home.path(), &[&face[..], &call, &arg].concat());
            assert_eq!(code, 0, "{era}: {out}\n{err}");
            assert!(out.contains("through the router"), "{era}: {out}");
        });
    }
}
