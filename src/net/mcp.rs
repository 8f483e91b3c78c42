//! MCP over Streamable HTTP as every client here reads it: the headers, the media type of an
//! answer, the JSON-RPC message an SSE event carries, which message answers a request, and the
//! error answers mcp-connect gives in its own name.

use reqwest::Response;
use serde_json::{Value, json};

/// The header that carries a 2025 session's id.
pub const SESSION: &str = "mcp-session-id";
/// The header that carries the negotiated protocol version.
pub const VERSION: &str = "mcp-protocol-version";
/// What a client accepts: a single JSON answer or an SSE stream.
pub const ACCEPT_BOTH: &str = "application/json, text/event-stream";

/// The media type of a response, without parameters, lowercase.
pub fn media_type(response: &Response) -> String {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The JSON-RPC message an SSE event carries: `message` events (or untyped ones) with data.
pub fn message_of(event: sse_stream::Sse) -> Option<Value> {
    if event.event.as_deref().is_some_and(|kind| kind != "message") {
        return None;
    }
    let data = event.data.filter(|d| !d.trim().is_empty())?;
    match serde_json::from_str::<Value>(&data) {
        Ok(message) => Some(message),
        Err(error) => {
            tracing::warn!(%error, "an SSE event from the server is not JSON; passed over");
            None
        }
    }
}

/// Whether `message` is the response (result or error) to the request `id`.
pub fn answers(message: &Value, id: &Value) -> bool {
    !id.is_null()
        && message.get("method").is_none()
        && message.get("id") == Some(id)
        && (message.get("result").is_some() || message.get("error").is_some())
}

/// A JSON-RPC error answering `id`: `<cause>; fix: <fix>` as its message, both also under
/// `data`, so that a client shows the whole of it and a program can read either.
pub fn error(id: &Value, code: i64, cause: &str, fix: &str) -> Value {
    let error = json!({
        "code": code,
        "message": format!("{cause}; fix: {fix}"),
        "data": {"cause": cause, "fix": fix},
    });
    json!({"jsonrpc": "2.0", "id": id, "error": error})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_result_or_error_with_the_same_id_answers() {
        let id = json!(4);
        assert!(answers(&json!({"jsonrpc": "2.0", "id": 4, "result": {}}), &id));
        assert!(answers(&json!({"jsonrpc": "2.0", "id": 4, "error": {"code": 1}}), &id));
        assert!(!answers(&json!({"jsonrpc": "2.0", "id": 4, "method": "x"}), &id));
        assert!(!answers(&json!({"jsonrpc": "2.0", "id": 5, "result": {}}), &id));
        assert!(!answers(&json!({"jsonrpc": "2.0", "id": null, "result": {}}), &Value::Null));
    }

    #[test]
    fn errors_carry_cause_and_fix() {
        let e = error(&json!(3), -32011, "nothing up", "start one");
        assert_eq!(e["id"], json!(3));
        assert_eq!(e["error"]["message"], json!("nothing up; fix: start one"));
        assert_eq!(e["error"]["data"]["fix"], json!("start one"));
    }
}
