//! The MCP wire as the router speaks it: what a POST from the client is, reading one answer out
//! of a JSON or SSE body, and the JSON-RPC error codes the router answers with itself.

use futures::StreamExt;
use serde_json::Value;
use sse_stream::SseStream;

use crate::net::innermost;
pub(crate) use crate::net::mcp::error;
use crate::net::mcp::{answers, media_type, message_of};

/// Requests that change nothing on the server: sent again on another gateway after a failover.
pub(crate) const SAFE: [&str; 6] =
    ["ping", "tools/list", "resources/list", "resources/read", "prompts/list", "initialize"];

/// The session's gateway went down while it had the request; not retried.
pub(crate) const GATEWAY_LOST: i64 = -32010;
/// No gateway of any pool is healthy.
pub(crate) const NO_GATEWAY: i64 = -32011;
/// The session's gateway left the request unanswered past its deadline while it answered
/// others: the call may still be running there; not retried.
pub(crate) const NO_ANSWER: i64 = -32012;
/// The router cannot relay what the client sent.
pub(crate) const INVALID: i64 = -32600;

/// What a POST from the client holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Message {
    /// A request: it gets an answer.
    Request { id: Value, method: String },
    /// A notification, or the client's answer to a request of the server: 202.
    Notice { method: Option<String> },
}

/// Classifies a POST body; `Err` is the JSON-RPC error to answer with 400.
pub(crate) fn classify(body: &[u8]) -> Result<(Value, Message), Value> {
    let invalid = |cause: &str, fix: &str| error(&Value::Null, INVALID, cause, fix);
    let message: Value = serde_json::from_slice(body).map_err(|e| {
        invalid(&format!("the body is not JSON ({e})"), "send one JSON-RPC message per POST")
    })?;
    if message.is_array() {
        return Err(invalid(
            "the router does not relay JSON-RPC batches (MCP 2025-06-18 removed them)",
            "send one JSON-RPC message per POST",
        ));
    }
    let method = message.get("method").and_then(Value::as_str).map(str::to_owned);
    let classified = match (message.get("id"), method) {
        (Some(id), Some(method)) if !id.is_null() => Message::Request { id: id.clone(), method },
        (_, method) if method.is_some() || message.get("id").is_some() => {
            Message::Notice { method }
        }
        _ => {
            return Err(invalid(
                "the body is not a JSON-RPC message (neither method nor id)",
                "send a JSON-RPC 2.0 request, notification or response",
            ));
        }
    };
    Ok((message, classified))
}

/// Reads the message answering `id` out of a JSON or SSE body, passing over the rest.
pub(crate) async fn read_answer(response: reqwest::Response, id: &Value) -> Result<Value, String> {
    match media_type(&response).as_str() {
        "application/json" => {
            let body = response.bytes().await.map_err(|e| broke(&e))?;
            let message: Value = serde_json::from_slice(&body)
                .map_err(|e| format!("the answer is not valid JSON: {e}"))?;
            let found = match message {
                Value::Array(items) => items.into_iter().find(|m| answers(m, id)),
                single => answers(&single, id).then_some(single),
            };
            found.ok_or_else(|| "the answer does not answer the request".to_owned())
        }
        "text/event-stream" => {
            let mut events = Box::pin(SseStream::from_bytes_stream(response.bytes_stream()));
            while let Some(event) = events.next().await {
                let event = event.map_err(|e| format!("the answer stream broke off: {e}"))?;
                if let Some(message) = message_of(event)
                    && answers(&message, id)
                {
                    return Ok(message);
                }
            }
            Err("the answer stream ended before the answer".to_owned())
        }
        other => Err(format!(
            "the answer has Content-Type {other:?}, not application/json or text/event-stream"
        )),
    }
}

/// What broke a body being read.
pub(crate) fn broke(error: &reqwest::Error) -> String {
    format!("the answer broke off: {}", innermost(error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn posts_are_told_apart() {
        let request = br#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#;
        let (_, kind) = classify(request).unwrap();
        assert_eq!(kind, Message::Request { id: json!(7), method: "tools/list".into() });
        let note = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        let (_, kind) = classify(note).unwrap();
        assert_eq!(kind, Message::Notice { method: Some("notifications/initialized".into()) });
        let answer = br#"{"jsonrpc":"2.0","id":"s1","result":{}}"#;
        assert_eq!(classify(answer).unwrap().1, Message::Notice { method: None });
        let batch = classify(b"[]").unwrap_err();
        assert!(batch["error"]["message"].as_str().unwrap().contains("batches"), "{batch}");
        assert_eq!(classify(b"nope").unwrap_err()["error"]["code"], json!(INVALID));
    }
}
