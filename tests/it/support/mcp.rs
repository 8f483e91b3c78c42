//! A small MCP client over streamable HTTP (spec 2025-06-18), for tests and benchmarks that
//! run many real sessions through a local URL.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

/// The protocol version offered on `initialize`.
pub const PROTOCOL_VERSION: &str = "2025-06-18";
const ACCEPT_BOTH: &str = "application/json, text/event-stream";
const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";

#[derive(Debug, thiserror::Error)]
pub enum McpError {
    #[error("HTTP {status}: {body}")]
    Http { status: StatusCode, body: String },
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("protocol: {0}")]
    Protocol(String),
    #[error("JSON-RPC error {code}: {message}")]
    Rpc { code: i64, message: String },
}

/// A reqwest client suited to many short sessions against 127.0.0.1 (no proxy, TCP_NODELAY,
/// idle connections kept for reuse).
pub fn http_client() -> Client {
    Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .expect("a reqwest client")
}

/// One initialized MCP session. A clone is another handle on the same session (same id, same
/// request-id counter).
#[derive(Clone)]
pub struct McpSession {
    client: Client,
    url: String,
    session_id: Option<String>,
    protocol_version: String,
    server_info: Value,
    next_id: Arc<AtomicU64>,
}

impl McpSession {
    /// `initialize`, then `notifications/initialized` (which must get 202).
    pub async fn connect(client: &Client, url: &str) -> Result<McpSession, McpError> {
        let mut session = McpSession {
            client: client.clone(),
            url: url.to_owned(),
            session_id: None,
            protocol_version: PROTOCOL_VERSION.to_owned(),
            server_info: Value::Null,
            next_id: Arc::new(AtomicU64::new(1)),
        };
        let params = json!({"protocolVersion": PROTOCOL_VERSION, "capabilities": {},
            "clientInfo": {"name": "mcp-connect-tests", "version": "0"}});
        let (headers, result) = session.exchange("initialize", params).await?;
        session.session_id = match headers.get(SESSION_HEADER) {
            Some(id) => Some(id.to_str().map_err(|_| protocol("session id not ASCII"))?.into()),
            None => None,
        };
        match result["protocolVersion"].as_str() {
            Some(version) => session.protocol_version = version.to_owned(),
            None => return Err(protocol("initialize result without protocolVersion")),
        }
        session.server_info = result["serverInfo"].clone();
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let response = session.post(&note).send().await?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(http_error(response).await);
        }
        Ok(session)
    }

    pub fn server_name(&self) -> &str {
        self.server_info["name"].as_str().unwrap_or("")
    }
    pub fn server_info(&self) -> &Value {
        &self.server_info
    }
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }
    pub fn protocol_version(&self) -> &str {
        &self.protocol_version
    }

    /// One JSON-RPC request; its `result`, or its `error` as [`McpError::Rpc`].
    pub async fn request(&mut self, method: &str, params: Value) -> Result<Value, McpError> {
        Ok(self.exchange(method, params).await?.1)
    }

    /// The names of the server's tools (first page only).
    pub async fn tools_list(&mut self) -> Result<Vec<String>, McpError> {
        let result = self.request("tools/list", json!({})).await?;
        let tools = result["tools"].as_array().ok_or_else(|| protocol("no tools array"))?;
        let names = tools.iter().map(|t| t["name"].as_str().map(str::to_owned));
        names.collect::<Option<_>>().ok_or_else(|| protocol("a tool without a name"))
    }

    /// `tools/call`; the result as is (a tool error is `isError: true`, not an `Err`).
    pub async fn call_tool(&mut self, name: &str, args: Value) -> Result<Value, McpError> {
        self.request("tools/call", json!({"name": name, "arguments": args})).await
    }

    pub async fn ping(&mut self) -> Result<(), McpError> {
        self.request("ping", json!({})).await.map(drop)
    }

    /// Ends the session with DELETE (a 405, "termination not offered", also counts as done).
    pub async fn close(self) -> Result<(), McpError> {
        if self.session_id.is_none() {
            return Ok(());
        }
        let response = self.headers(self.client.delete(&self.url)).send().await?;
        match response.status() {
            s if s.is_success() || s == StatusCode::METHOD_NOT_ALLOWED => Ok(()),
            _ => Err(http_error(response).await),
        }
    }

    fn headers(&self, builder: RequestBuilder) -> RequestBuilder {
        let builder = builder.header(VERSION_HEADER, &self.protocol_version);
        match &self.session_id {
            Some(id) => builder.header(SESSION_HEADER, id),
            None => builder,
        }
    }

    fn post(&self, message: &Value) -> RequestBuilder {
        let builder = self.client.post(&self.url).header(ACCEPT, ACCEPT_BOTH);
        let builder = builder.header(CONTENT_TYPE, "application/json").body(message.to_string());
        // `initialize` goes out before a version is agreed, and without a session.
        if message["method"] == "initialize" { builder } else { self.headers(builder) }
    }

    /// Sends a request; returns the response headers and the JSON-RPC result.
    async fn exchange(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<(HeaderMap, Value), McpError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let mut response = self.post(&message).send().await?;
        if !response.status().is_success() {
            return Err(http_error(response).await);
        }
        let headers = response.headers().clone();
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let answer = if content_type.starts_with("text/event-stream") {
            sse_answer(&mut response, id).await?
        } else if content_type.starts_with("application/json") {
            serde_json::from_slice(&response.bytes().await?)
                .map_err(|e| protocol(&format!("JSON body: {e}")))?
        } else {
            return Err(protocol(&format!("content type {content_type:?}")));
        };
        if answer["id"] != id {
            return Err(protocol(&format!("answer to id {} for request {id}", answer["id"])));
        }
        if let Some(error) = answer.get("error") {
            let code = error["code"].as_i64().unwrap_or(0);
            let message = error["message"].as_str().unwrap_or("").to_owned();
            return Err(McpError::Rpc { code, message });
        }
        let result = answer.get("result").ok_or_else(|| protocol("neither result nor error"))?;
        Ok((headers, result.clone()))
    }
}

/// Reads SSE events until the one carrying the response to `id`; skips priming events (empty
/// `data:`) and any other message (server requests, notifications).
async fn sse_answer(response: &mut Response, id: u64) -> Result<Value, McpError> {
    let (mut pending, mut data) = (Vec::<u8>::new(), String::new());
    while let Some(chunk) = response.chunk().await? {
        pending.extend_from_slice(&chunk);
        while let Some(n) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=n).collect();
            if sse_line(&line, &mut data)?
                && let Some(answer) = sse_event(&mut data, id)?
            {
                return Ok(answer);
            }
        }
    }
    // The stream ended; its last line and event may lack their terminators.
    sse_line(&pending, &mut data)?;
    sse_event(&mut data, id)?
        .ok_or_else(|| protocol(&format!("SSE stream ended without the answer to {id}")))
}

/// Adds a `data:` line to `data`; true when the line is blank (the end of an event).
fn sse_line(line: &[u8], data: &mut String) -> Result<bool, McpError> {
    let line = std::str::from_utf8(line).map_err(|_| protocol("SSE not UTF-8"))?;
    let line = line.trim_end_matches(['\n', '\r']);
    if let Some(value) = line.strip_prefix("data:") {
        data.push_str(value.strip_prefix(' ').unwrap_or(value));
        data.push('\n');
    }
    Ok(line.is_empty())
}

/// Takes the event's data: the JSON-RPC response to `id`, or None for anything else.
fn sse_event(data: &mut String, id: u64) -> Result<Option<Value>, McpError> {
    let data = std::mem::take(data);
    if data.trim().is_empty() {
        return Ok(None);
    }
    let message: Value =
        serde_json::from_str(&data).map_err(|e| protocol(&format!("SSE data: {e}")))?;
    let is_response = message.get("result").is_some() || message.get("error").is_some();
    Ok((is_response && message["id"] == id).then_some(message))
}

fn protocol(what: &str) -> McpError {
    McpError::Protocol(what.to_owned())
}

async fn http_error(response: Response) -> McpError {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    McpError::Http { status, body }
}
