//! MCP over Streamable HTTP as every client here reads it: the headers, the media type of an
//! answer, the JSON-RPC message an SSE event carries, which message answers a request, and the
//! error answers mcp-connect gives in its own name ([`error`]) and reads back ([`said_in`]).

use reqwest::Response;
use serde_json::{Value, json};

/// The header that carries a 2025 session's id.
pub const SESSION: &str = "mcp-session-id";
/// The header that carries the negotiated protocol version.
pub const VERSION: &str = "mcp-protocol-version";
/// The header that names a 2026 request's method (`Mcp-Method`).
pub const METHOD: &str = "mcp-method";
/// The header that names the tool, resource or prompt a 2026 request is about (`Mcp-Name`).
pub const NAME: &str = "mcp-name";
/// The protocol version without `initialize` and sessions: `server/discover` instead.
pub const MODERN_VERSION: &str = "2026-07-28";
/// JSON-RPC error: the request's protocol version is not one the server supports (its `data`
/// holds `supported` and `requested`).
pub const UNSUPPORTED_VERSION: i64 = -32022;
/// JSON-RPC error: a 2026 request's `Mcp-Method` (or `Mcp-Name`) header is missing or does not
/// match its body.
pub const HEADER_MISMATCH: i64 = -32020;
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

/// A JSON-RPC error an endpoint answered with, read back: its cause and, when it carries one,
/// its fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub code: i64,
    pub cause: String,
    pub fix: Option<String>,
    /// The protocol versions the server supports, when it said (`data.supported`, with
    /// [`UNSUPPORTED_VERSION`]).
    pub supported: Vec<String>,
}

impl Said {
    /// `message` read as [`error`] writes it (`<cause>; fix: <fix>`); any other message is a
    /// cause without a fix.
    pub fn from_message(code: i64, message: &str) -> Said {
        match message.split_once("; fix: ") {
            Some((cause, fix)) if !cause.is_empty() && !fix.is_empty() => {
                let (cause, fix) = (cause.to_owned(), Some(fix.to_owned()));
                Said { code, cause, fix, supported: Vec::new() }
            }
            _ => Said { code, cause: message.to_owned(), fix: None, supported: Vec::new() },
        }
    }
}

/// The error `body` holds when it is a JSON-RPC error answer (or a bare error object): `cause`
/// and `fix` from its `data` when [`error`] put them there, else from its message.
pub fn said_in(body: &str) -> Option<Said> {
    let message: Value = serde_json::from_str(body.trim()).ok()?;
    let error = message.get("error").unwrap_or(&message);
    let code = error.get("code")?.as_i64()?;
    let text = error.get("message")?.as_str()?;
    let data = error.get("data");
    let field = |name: &str| {
        data.and_then(|d| d.get(name)).and_then(Value::as_str).filter(|v| !v.is_empty())
    };
    let mut said = match field("cause") {
        Some(cause) => Said {
            code,
            cause: cause.to_owned(),
            fix: field("fix").map(str::to_owned),
            supported: Vec::new(),
        },
        None => Said::from_message(code, text),
    };
    if let Some(Value::Array(versions)) = data.and_then(|d| d.get("supported")) {
        said.supported = versions.iter().filter_map(Value::as_str).map(str::to_owned).collect();
    }
    Some(said)
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

    #[test]
    fn an_error_is_read_back_as_its_cause_and_fix() {
        let made = error(&json!(1), -32011, "no gateway is \"up\"", "start one").to_string();
        let said = said_in(&made).unwrap();
        assert_eq!(said.cause, "no gateway is \"up\"", "unescaped");
        assert_eq!((said.code, said.fix.as_deref()), (-32011, Some("start one")));
        // Without `data`, from the message; a foreign message is all cause.
        let bare = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"a; fix: b"}}"#;
        assert_eq!(said_in(bare).unwrap().fix.as_deref(), Some("b"));
        let foreign = r#"{"error":{"code":-32000,"message":"Bad Request: Missing session ID"}}"#;
        let said = said_in(foreign).unwrap();
        assert_eq!((said.cause.as_str(), said.fix), ("Bad Request: Missing session ID", None));
        assert_eq!(said_in("Not Found"), None);
        assert_eq!(said_in(r#"{"detail":"Not Found"}"#), None);
        // Python `mcp` 2.3.0's answer to a version it does not speak.
        let unsupported = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32022,"message":"Unsupported protocol version: 2025-06-18","data":{"supported":["2026-07-28"],"requested":"2025-06-18"}}}"#;
        let said = said_in(unsupported).unwrap();
        assert_eq!(
            (said.code, said.supported),
            (UNSUPPORTED_VERSION, vec!["2026-07-28".to_owned()])
        );
    }
}
