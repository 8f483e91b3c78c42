//! The JSON-RPC side of the bridge: what a line from the client is, and the error answers the
//! bridge gives itself when a message cannot be relayed.

use serde_json::{Value, json};

use crate::trouble::Trouble;

/// The server could not be reached: connection, TLS, or the forward.
pub const UNREACHABLE: i64 = -32000;
/// No token could be had, or the server refused it.
pub const UNAUTHORIZED: i64 = -32001;
/// The server answered an HTTP error.
pub const HTTP_STATUS: i64 = -32002;
/// The server's answer was not MCP, or its stream broke before the answer.
pub const BAD_ANSWER: i64 = -32003;
/// The route is not available (the forward failed to come up).
pub const NO_ROUTE: i64 = -32004;

/// What a line from the client holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// Expects an answer: a request (`id` and `method`), or a batch holding one (`id` null).
    Request { id: Value, method: String },
    /// Expects none: a notification, or a response to a request of the server.
    Notification { method: Option<String> },
}

/// Why a message could not be relayed: the trouble, under a JSON-RPC error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: i64,
    pub trouble: Trouble,
}

impl Problem {
    pub fn new(code: i64, cause: impl Into<String>, fix: impl Into<String>) -> Problem {
        Problem { code, trouble: Trouble::new(cause, fix) }
    }

    /// `<cause>; fix: <fix>`.
    pub fn message(&self) -> String {
        self.trouble.to_string()
    }

    /// The JSON-RPC error answering request `id`, as one line.
    pub fn answer(&self, id: &Value) -> String {
        let Trouble { cause, fix } = &self.trouble;
        crate::net::mcp::error(id, self.code, cause, fix).to_string()
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// Reads one line from the client: the message and what it is, or the error line to answer.
pub fn classify(line: &str) -> Result<(Value, Incoming), String> {
    let message: Value = match serde_json::from_str(line) {
        Ok(message) => message,
        Err(e) => return Err(error_line(&Value::Null, -32700, &format!("Parse error: {e}"))),
    };
    let incoming = match &message {
        Value::Object(object) => {
            let method = object.get("method").and_then(Value::as_str).map(str::to_owned);
            let id = object.get("id").filter(|id| !id.is_null()).cloned();
            let answer = object.contains_key("result") || object.contains_key("error");
            match (method, id) {
                (Some(method), Some(id)) => Incoming::Request { id, method },
                (Some(method), None) => Incoming::Notification { method: Some(method) },
                (None, Some(_)) if answer => Incoming::Notification { method: None },
                (None, id) => {
                    let id = id.unwrap_or(Value::Null);
                    let why = "Invalid Request: not a JSON-RPC request, notification or response";
                    return Err(error_line(&id, -32600, why));
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let asks = items.iter().any(|m| m.get("method").is_some() && has_id(m));
            match asks {
                true => Incoming::Request { id: Value::Null, method: "batch".to_owned() },
                false => Incoming::Notification { method: None },
            }
        }
        _ => {
            let why = "Invalid Request: expected a JSON-RPC object";
            return Err(error_line(&Value::Null, -32600, why));
        }
    };
    Ok((message, incoming))
}

fn has_id(message: &Value) -> bool {
    message.get("id").is_some_and(|id| !id.is_null())
}

/// A JSON-RPC error line without cause/fix data (parse errors and invalid requests).
pub fn error_line(id: &Value, code: i64, message: &str) -> String {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_told_apart() {
        let (_, kind) = classify(r#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#).unwrap();
        assert_eq!(kind, Incoming::Request { id: json!(7), method: "tools/list".into() });
        let (_, kind) =
            classify(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap();
        assert_eq!(
            kind,
            Incoming::Notification { method: Some("notifications/initialized".into()) }
        );
        let (_, kind) = classify(r#"{"jsonrpc":"2.0","id":"s-1","result":{}}"#).unwrap();
        assert_eq!(kind, Incoming::Notification { method: None });
        let (_, kind) = classify(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#).unwrap();
        assert_eq!(kind, Incoming::Request { id: Value::Null, method: "batch".into() });
    }

    #[test]
    fn a_line_that_is_not_json_gets_a_parse_error_with_id_null() {
        let line = classify("hello").unwrap_err();
        let error: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(error["id"], Value::Null);
        assert_eq!(error["error"]["code"], -32700);
        let line = classify(r#"{"jsonrpc":"2.0","id":3}"#).unwrap_err();
        let error: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            (error["id"].clone(), error["error"]["code"].clone()),
            (json!(3), json!(-32600))
        );
        assert!(classify("42").is_err() && classify("[]").is_err());
    }

    #[test]
    fn a_problem_answers_with_cause_and_fix() {
        let problem = Problem::new(UNAUTHORIZED, "no token", "export X");
        let answer: Value = serde_json::from_str(&problem.answer(&json!("a"))).unwrap();
        assert_eq!(answer["id"], "a");
        assert_eq!(answer["error"]["code"], -32001);
        assert_eq!(answer["error"]["message"], "no token; fix: export X");
        assert_eq!(answer["error"]["data"]["fix"], "export X");
    }
}
