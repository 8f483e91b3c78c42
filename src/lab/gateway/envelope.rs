//! The JSON envelope mcp-bridge's gateway speaks to its clients (WebSocket `/ws` and the HTTP
//! frontend `/api/v1/mcp`), and the backend exchange behind it, as its code does them:
//!
//! - in: `{"id", "timestamp", "source", "target_namespace", "auth_token", "mcp_payload"}`,
//!   only `mcp_payload` required;
//! - out (WebSocket): `{"id", "timestamp", "source": "gateway", "mcp_payload"}`, `id` the
//!   JSON-RPC answer's (its `target_namespace` and `auth_token` are empty, so left out);
//! - towards the backend: the bare JSON-RPC message POSTed as streamable HTTP (see
//!   [`Upstream`]); whatever goes wrong there reaches the client as the real gateway's
//!   `[router] UNAVAILABLE: no endpoints available for namespace: …` (-32603).

use std::time::{Duration, SystemTime};

use axum::http::{HeaderName, StatusCode, header};
use serde_json::{Value, json};

/// JSON-RPC's internal error, which the gateway answers every failure with.
pub const INTERNAL_ERROR: i64 = -32603;

/// The largest answer read from the backend.
const MAX_ANSWER: usize = 4 << 20;

/// The backend's session header.
const SESSION: HeaderName = HeaderName::from_static("mcp-session-id");

/// Who the gateway vouches for, as mcp-bridge tells its backends.
const USER: HeaderName = HeaderName::from_static("x-mcp-user");

/// The real gateway's HTTP client timeout towards a backend, request to last byte.
const BACKEND_TIMEOUT: Duration = Duration::from_secs(5);

/// An envelope the gateway took in.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// What an error answer carries as its `id`: the envelope's `id` unless it is null or
    /// absent, else the payload's (as the real gateway's `extractRequestID`), else null.
    pub id: Value,
    /// `target_namespace`, when given and not empty.
    pub namespace: Option<String>,
    /// `mcp_payload`, a JSON object: the bare JSON-RPC message.
    pub payload: Value,
}

/// An envelope the gateway could not route: answered as a -32603 error.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The `id` the error carries (see [`Request::id`]).
    pub id: Value,
    /// The error's `message`.
    pub message: String,
}

impl Request {
    /// The payload's `method`; empty when it has none.
    pub fn method(&self) -> &str {
        self.payload.get("method").and_then(Value::as_str).unwrap_or_default()
    }

    /// The namespace it is routed to: `target_namespace` if given, else the one its method
    /// names. The real gateway's `RouteRequest` extracts a namespace only when
    /// `target_namespace` is empty, so a given one wins.
    pub fn route(&self) -> String {
        self.namespace.clone().unwrap_or_else(|| namespace(self.method()).to_owned())
    }
}

/// Reads one envelope: a JSON object with an `mcp_payload` object.
pub fn parse(text: &str) -> Result<Request, Failure> {
    let refuse = |id: Value, message: String| Failure { id, message };
    let envelope: Value = serde_json::from_str(text)
        .map_err(|e| refuse(Value::Null, format!("invalid wire message: {e}")))?;
    let Some(fields) = envelope.as_object() else {
        return Err(refuse(Value::Null, "invalid wire message: not a JSON object".to_owned()));
    };
    let payload = fields.get("mcp_payload").cloned().unwrap_or(Value::Null);
    let id = match fields.get("id") {
        Some(id) if !id.is_null() => id.clone(),
        _ => payload.get("id").cloned().unwrap_or(Value::Null),
    };
    if payload.is_null() {
        return Err(refuse(id, "missing MCP payload".to_owned()));
    }
    if !payload.is_object() {
        return Err(refuse(id, "invalid MCP request: not a JSON object".to_owned()));
    }
    let namespace = match fields.get("target_namespace") {
        None | Some(Value::Null) => None,
        Some(Value::String(ns)) => Some(ns.clone()).filter(|ns| !ns.is_empty()),
        Some(other) => {
            let message = format!("invalid wire message: target_namespace {other} is not a string");
            return Err(refuse(Value::Null, message));
        }
    };
    Ok(Request { id, namespace, payload })
}

/// The namespace a method is routed to, as the router fills `target_namespace`: `system` for
/// `initialize`, `tools/list`, `tools/call` and `ping`; the part before the first dot of a
/// dotted method; else `default`.
pub fn namespace(method: &str) -> &str {
    match method {
        "initialize" | "tools/list" | "tools/call" | "ping" => "system",
        _ => method.split_once('.').map_or("default", |(ns, _)| ns),
    }
}

/// What the gateway says for every failure between it and the backend.
pub fn unavailable(namespace: &str) -> String {
    format!("[router] UNAVAILABLE: no endpoints available for namespace: {namespace}")
}

/// A JSON-RPC error answer, -32603.
pub fn error(id: Value, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": INTERNAL_ERROR, "message": message}})
}

/// The envelope a WebSocket answer goes in: `source` `gateway`, a fresh RFC 3339 timestamp
/// (seconds, UTC), and the JSON-RPC answer's `id`.
pub fn answer(payload: Value) -> Value {
    let id = payload.get("id").cloned().unwrap_or(Value::Null);
    let timestamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    json!({"id": id, "timestamp": timestamp, "source": "gateway", "mcp_payload": payload})
}

/// The backend, as one client's requests reach it.
pub struct Upstream {
    /// The gateway's HTTP client.
    pub client: reqwest::Client,
    /// The backend's streamable HTTP URL.
    pub url: String,
    /// The token's `sub`, sent as `X-MCP-User` (not sent when empty).
    pub user: String,
}

/// What the backend answered.
struct Answered {
    /// The JSON-RPC message.
    message: Value,
    /// Its `Mcp-Session-Id`, if it sent one.
    session: Option<String>,
}

impl Upstream {
    /// Routes the envelope in `text` to the backend in `session` (the backend's
    /// `Mcp-Session-Id`, once known) and returns the backend's JSON-RPC answer. A successful
    /// `initialize` replaces `session` with the one its answer names.
    pub async fn exchange(
        &self,
        session: &mut Option<String>,
        text: &str,
    ) -> Result<Value, Failure> {
        let request = parse(text)?;
        match self.post(&request.payload, session.as_deref()).await {
            Ok(answered) => {
                if request.method() == "initialize" && answered.session.is_some() {
                    *session = answered.session;
                }
                Ok(answered.message)
            }
            Err(cause) => {
                tracing::debug!(%cause, method = request.method(), "lab gateway: backend failed");
                Err(Failure { id: request.id.clone(), message: unavailable(&request.route()) })
            }
        }
    }

    /// POSTs `message` as mcp-bridge does: JSON in, `X-MCP-User`, `Mcp-Session-Id` when known,
    /// no `MCP-Protocol-Version`; anything but 200 with a JSON-RPC object is an error.
    async fn post(&self, message: &Value, session: Option<&str>) -> Result<Answered, String> {
        let mut request = self
            .client
            .post(&self.url)
            .timeout(BACKEND_TIMEOUT)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json, text/event-stream");
        if let Some(session) = session {
            request = request.header(SESSION, session);
        }
        if !self.user.is_empty() {
            request = request.header(USER, &self.user);
        }
        let response = request
            .body(message.to_string())
            .send()
            .await
            .map_err(|e| format!("cannot reach the backend {}: {e}", self.url))?;
        if response.status() != StatusCode::OK {
            return Err(format!("the backend answered {}", response.status()));
        }
        let session = response.headers().get(SESSION).and_then(|v| v.to_str().ok());
        let session = session.map(str::to_owned);
        Ok(Answered { message: read(response).await?, session })
    }
}

/// The JSON-RPC message of an answer: its JSON body, or the first data of its event stream
/// (read no further than that: the stream may stay open).
async fn read(mut response: reqwest::Response) -> Result<Value, String> {
    let sse = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let sse = sse.is_some_and(|v| v.starts_with("text/event-stream"));
    let mut body = Vec::new();
    loop {
        if sse && let Some(data) = first_data(&body) {
            return json_rpc(data.as_bytes());
        }
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() <= MAX_ANSWER => body.extend(chunk),
            Ok(Some(_)) => return Err(format!("the backend's answer is over {MAX_ANSWER} B")),
            Ok(None) if sse => return Err("the backend's event stream ended with no data".into()),
            Ok(None) => return json_rpc(&body),
            Err(e) => return Err(format!("reading the backend's answer: {e}")),
        }
    }
}

/// The first complete, non-empty `data:` line of an event stream. Empty ones are skipped:
/// rmcp opens each stream with a priming event whose data is empty.
fn first_data(stream: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stream);
    let complete = &text[..text.rfind('\n')?];
    complete.lines().find_map(|line| {
        let data = line.strip_prefix("data:")?.trim();
        (!data.is_empty()).then(|| data.to_owned())
    })
}

/// A JSON-RPC answer: a JSON object.
fn json_rpc(body: &[u8]) -> Result<Value, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(message) if message.is_object() => Ok(message),
        Ok(other) => Err(format!("the backend answered {other}, not a JSON-RPC object")),
        Err(e) => Err(format!("the backend's answer is not JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_gives_its_payload_id_and_namespace() {
        let text = r#"{"id": 7, "timestamp": "2025-01-01T00:00:00Z", "source": "local-router",
            "target_namespace": "serena", "auth_token": "t",
            "mcp_payload": {"jsonrpc": "2.0", "id": 7, "method": "tools/list"}}"#;
        let request = parse(text).unwrap();
        assert_eq!(request.id, json!(7));
        assert_eq!(request.method(), "tools/list");
        assert_eq!(request.route(), "serena", "a given target_namespace wins");
        assert_eq!(request.payload["method"], "tools/list");
    }

    #[test]
    fn only_the_payload_is_required_and_its_id_stands_in() {
        let request = parse(r#"{"mcp_payload": {"id": "a", "method": "ping"}}"#).unwrap();
        assert_eq!(request.id, json!("a"));
        assert_eq!(request.namespace, None);
        assert_eq!(request.route(), "system");
        let blank = parse(r#"{"target_namespace": "", "mcp_payload": {"method": "x.y"}}"#);
        assert_eq!(blank.unwrap().route(), "x", "an empty target_namespace is not given");
    }

    #[test]
    fn what_cannot_be_routed_says_why() {
        let missing = parse(r#"{"id": 3, "source": "local-router"}"#).unwrap_err();
        assert_eq!(missing, Failure { id: json!(3), message: "missing MCP payload".into() });
        let null = parse(r#"{"id": 4, "mcp_payload": null}"#).unwrap_err();
        assert_eq!(null.message, "missing MCP payload");
        let text = parse(r#"{"mcp_payload": "ping"}"#).unwrap_err();
        assert!(text.message.starts_with("invalid MCP request"), "{text:?}");
        for broken in ["not json", "[1, 2]", r#"{"target_namespace": 1, "mcp_payload": {}}"#] {
            let failure = parse(broken).unwrap_err();
            assert!(failure.message.starts_with("invalid wire message"), "{failure:?}");
            assert_eq!(failure.id, Value::Null);
        }
    }

    #[test]
    fn namespaces_follow_the_method() {
        for (method, ns) in [
            ("initialize", "system"),
            ("tools/list", "system"),
            ("tools/call", "system"),
            ("ping", "system"),
            ("serena.find_symbol", "serena"),
            ("a.b.c", "a"),
            ("notifications/initialized", "default"),
            ("resources/list", "default"),
            ("", "default"),
        ] {
            assert_eq!(namespace(method), ns, "{method}");
        }
    }

    #[test]
    fn answers_and_errors_have_the_gateways_shape() {
        let failure = error(json!(9), &unavailable("system"));
        assert_eq!(failure["error"]["code"], INTERNAL_ERROR);
        assert_eq!(
            failure["error"]["message"],
            "[router] UNAVAILABLE: no endpoints available for namespace: system"
        );
        let envelope = answer(failure);
        assert_eq!(envelope["id"], 9);
        assert_eq!(envelope["source"], "gateway");
        assert_eq!(envelope["mcp_payload"]["id"], 9);
        let stamp = envelope["timestamp"].as_str().unwrap();
        assert!(humantime::parse_rfc3339(stamp).is_ok() && stamp.ends_with('Z'), "{stamp}");
        assert!(envelope.get("target_namespace").is_none() && envelope.get("auth_token").is_none());
    }

    #[test]
    fn the_first_non_empty_data_line_of_a_stream_is_the_answer() {
        let stream = b"id: 0\nretry: 3000\ndata:\n\nevent: message\ndata: {\"id\":1}\n\n";
        assert_eq!(first_data(stream).as_deref(), Some("{\"id\":1}"));
        assert_eq!(first_data(b"data: {\"id\":1"), None, "an incomplete line waits");
        assert_eq!(first_data(b"data:\n\n"), None);
        assert!(json_rpc(b"[1]").is_err() && json_rpc(b"nope").is_err());
        assert_eq!(json_rpc(b"{\"id\":2}").unwrap(), json!({"id": 2}));
    }
}
