//! A scripted Anthropic Messages API on 127.0.0.1, so that real Claude Code (`claude -p`) makes
//! one real MCP tool call offline: the first turn answers with a `tool_use` of the tool asked
//! for, the turn that carries its `tool_result` with a short text and `end_turn`. What Claude
//! Code sent is kept: the tools it loaded and the tool's result.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use super::peers::Claude;

/// What the double saw.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// The tool names of each request's `tools`.
    pub tools: Vec<Vec<String>>,
    /// The text of the `tool_result` Claude Code sent back, once it did.
    pub result: Option<String>,
    /// Whether that result was marked as an error.
    pub is_error: bool,
}

#[derive(Clone)]
struct Script {
    tool: String,
    input: Value,
    seen: Arc<Mutex<Seen>>,
}

/// The double, serving until dropped.
pub struct Messages {
    pub url: String,
    seen: Arc<Mutex<Seen>>,
    /// Dropped with the double: its server ends.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Messages {
    /// Starts a double that asks for `tool` (`mcp__SERVER__TOOL`) with `input`. Runs on its own
    /// thread's runtime, so that it serves while the caller blocks on `claude`.
    pub fn start(tool: &str, input: Value) -> Messages {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let script = Script { tool: tool.to_owned(), input, seen: seen.clone() };
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the Messages double");
        std::thread::spawn(move || {
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr: SocketAddr = listener.local_addr().unwrap();
                let app = Router::new()
                    .route("/v1/messages", post(messages))
                    .route("/v1/messages/count_tokens", post(count_tokens))
                    .with_state(script);
                tx.send(addr).unwrap();
                let stopped = async { drop(stopped.await) };
                axum::serve(listener, app).with_graceful_shutdown(stopped).await.unwrap();
            })
        });
        let addr = rx.recv().expect("the double listens");
        Messages { url: format!("http://{addr}"), seen, _stop: stop }
    }

    pub fn seen(&self) -> Seen {
        self.seen.lock().unwrap().clone()
    }

    /// Runs `claude -p` against this double, allowed only `tool`; answers its stdout (JSON).
    pub fn run(&self, claude: &Claude, tool: &str) -> String {
        let mut command = claude.command();
        command
            .env("ANTHROPIC_BASE_URL", &self.url)
            .env("ANTHROPIC_API_KEY", "sk-ant-offline-test")
            // The newest defers MCP tools behind its tool search: offered up front instead.
            .env("ENABLE_TOOL_SEARCH", "false")
            .args(["-p", "call the tool once", "--allowedTools", tool])
            .args(["--output-format", "json"]);
        let out = claude.run_command(command);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "claude -p: {}\n{stdout}\n{stderr}", out.status);
        stdout
    }
}

async fn count_tokens() -> Response {
    axum::Json(json!({"input_tokens": 1})).into_response()
}

async fn messages(State(script): State<Script>, body: axum::body::Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    let tools = request["tools"].as_array().map(|tools| {
        tools.iter().filter_map(|t| t["name"].as_str().map(str::to_owned)).collect::<Vec<_>>()
    });
    let result = tool_result(&request);
    {
        let mut seen = script.seen.lock().unwrap();
        seen.tools.extend(tools);
        if let Some((text, is_error)) = &result {
            seen.result = Some(text.clone());
            seen.is_error = *is_error;
        }
    }
    let asks_for_tool = request["tools"]
        .as_array()
        .is_some_and(|tools| tools.iter().any(|t| t["name"] == script.tool.as_str()));
    let block = match (&result, asks_for_tool) {
        (None, true) => {
            json!({"type": "tool_use", "id": "toolu_01", "name": script.tool, "input": {}})
        }
        _ => json!({"type": "text", "text": ""}),
    };
    let stop = if block["type"] == "tool_use" { "tool_use" } else { "end_turn" };
    if request["stream"] != true {
        let mut content = block.clone();
        match stop {
            "tool_use" => content["input"] = script.input.clone(),
            _ => content["text"] = json!("done"),
        }
        return axum::Json(json!({
            "id": "msg_01", "type": "message", "role": "assistant", "model": request["model"],
            "content": [content], "stop_reason": stop, "stop_sequence": null,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }))
        .into_response();
    }
    let delta = match stop {
        "tool_use" => json!({"type": "input_json_delta", "partial_json": script.input.to_string()}),
        _ => json!({"type": "text_delta", "text": "done"}),
    };
    let events = [
        json!({"type": "message_start", "message": {
            "id": "msg_01", "type": "message", "role": "assistant", "model": request["model"],
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 1, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": block}),
        json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
               "usage": {"output_tokens": 1}}),
        json!({"type": "message_stop"}),
    ];
    let sse: String = events
        .iter()
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap_or_default()))
        .collect();
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from(sse))
        .unwrap()
}

/// The text of the last message's `tool_result` block, and whether it is an error.
fn tool_result(request: &Value) -> Option<(String, bool)> {
    let last = request["messages"].as_array()?.last()?;
    let block = last["content"].as_array()?.iter().find(|b| b["type"] == "tool_result")?;
    let text = match &block["content"] {
        Value::String(text) => text.clone(),
        Value::Array(parts) => {
            parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join("\n")
        }
        other => other.to_string(),
    };
    Some((text, block["is_error"] == true))
}

/// Each Claude Code (the pinned and the newest) in `home` calls Serena's `initial_instructions`
/// through the MCP server `server` of its config, driven by a scripted Messages API, and gets
/// Serena's answer back: the route carries a real tool call, not only a connection.
pub fn both_call_serena(home: &std::path::Path, server: &str) {
    let tool = format!("mcp__{server}__initial_instructions");
    for claude in Claude::both(home) {
        let api = Messages::start(&tool, json!({}));
        let out = api.run(&claude, &tool);
        let seen = api.seen();
        let version = claude.version();
        let offered = seen.tools.iter().any(|t| t.contains(&tool));
        assert!(offered, "{version}: {tool} not among the tools Claude Code loaded: {seen:?}");
        let result = seen.result.unwrap_or_else(|| panic!("{version}: no tool result\n{out}"));
        assert!(!seen.is_error, "{version}: {tool} failed: {result}");
        assert!(result.len() > 100, "{version}: Serena's instructions through {server}: {result}");
    }
}
