//! A small MCP 2026-07-28 client for tests and benchmarks: no session, each request a POST
//! with `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name` and the client's `_meta`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use super::mcp::McpError;

pub const MODERN: &str = "2026-07-28";

/// A 2026 client of the server at `url`. A clone shares its request-id counter.
#[derive(Clone)]
pub struct Modern {
    client: Client,
    url: String,
    next_id: Arc<AtomicU64>,
}

impl Modern {
    pub fn new(client: &Client, url: &str) -> Modern {
        Modern { client: client.clone(), url: url.to_owned(), next_id: Arc::new(AtomicU64::new(1)) }
    }

    /// One request; its `result`, or its `error` as [`McpError::Rpc`], or the HTTP status of a
    /// refusal as [`McpError::Http`].
    pub async fn request(&self, method: &str, mut params: Value) -> Result<Value, McpError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "mcp-connect-tests", "version": "0"},
        });
        let name = match method {
            "tools/call" | "prompts/get" => params["name"].as_str(),
            "resources/read" => params["uri"].as_str(),
            _ => None,
        };
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let mut post = (self.client.post(&self.url))
            .header(ACCEPT, "application/json, text/event-stream")
            .header(CONTENT_TYPE, "application/json")
            .header("mcp-protocol-version", MODERN)
            .header("mcp-method", method);
        if let Some(name) = name {
            post = post.header("mcp-name", name);
        }
        let response = post.body(message.to_string()).send().await?;
        let status = response.status();
        let sse = (response.headers().get(CONTENT_TYPE))
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let body = response.text().await?;
        if status != StatusCode::OK {
            return Err(McpError::Http { status, body });
        }
        let answer = match sse {
            false => serde_json::from_str::<Value>(&body).ok().filter(|a| a["id"] == id),
            true => (body.lines())
                .filter_map(|line| line.strip_prefix("data:"))
                .filter_map(|data| serde_json::from_str::<Value>(data.trim()).ok())
                .find(|message| message["id"] == id),
        };
        let answer = answer
            .ok_or_else(|| McpError::Protocol(format!("no answer to request {id} in {body}")))?;
        if let Some(error) = answer.get("error") {
            let code = error["code"].as_i64().unwrap_or(0);
            let message = error["message"].as_str().unwrap_or("").to_owned();
            return Err(McpError::Rpc { code, message });
        }
        Ok(answer["result"].clone())
    }

    /// `server/discover`'s result.
    pub async fn discover(&self) -> Result<Value, McpError> {
        self.request("server/discover", json!({})).await
    }

    /// The names of the server's tools (first page only).
    pub async fn tools_list(&self) -> Result<Vec<String>, McpError> {
        let result = self.request("tools/list", json!({})).await?;
        let tools = (result["tools"].as_array())
            .ok_or_else(|| McpError::Protocol(format!("no tools array in {result}")))?;
        Ok(tools.iter().filter_map(|t| t["name"].as_str().map(str::to_owned)).collect())
    }

    /// `tools/call`; the result as is.
    pub async fn call_tool(&self, name: &str, args: Value) -> Result<Value, McpError> {
        self.request("tools/call", json!({"name": name, "arguments": args})).await
    }
}
