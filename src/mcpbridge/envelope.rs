//! The envelope the gateway wraps every JSON-RPC message in, as its code reads and writes it:
//! `{id, timestamp, source, target_namespace, auth_token, mcp_payload}` in, the same with
//! `source: "gateway"` and the JSON-RPC answer as `mcp_payload` out.

use std::time::SystemTime;

use serde_json::{Value, json};

/// What a client of the gateway calls itself (the gateway's own router does the same).
pub const SOURCE: &str = "local-router";
/// The namespace of methods that name none, as the gateway's router defaults it.
pub const DEFAULT_NAMESPACE: &str = "default";
/// The most the gateway reads of one message.
pub const MAX_MESSAGE: usize = 1 << 20;

/// The namespace a method is routed to: MCP's own methods go to `system`, `ns.method` to `ns`,
/// anything else to the default.
pub fn namespace(method: Option<&str>) -> &str {
    match method {
        Some("initialize" | "tools/list" | "tools/call" | "ping") => "system",
        Some(method) => match method.split_once('.') {
            Some((namespace, _)) if !namespace.is_empty() => namespace,
            _ => DEFAULT_NAMESPACE,
        },
        None => DEFAULT_NAMESPACE,
    }
}

/// `payload` wrapped for the gateway, with the raw JWT when there is one.
pub fn wrap(payload: &Value, token: Option<&str>) -> Value {
    let method = payload.get("method").and_then(Value::as_str);
    let mut envelope = json!({
        "id": payload.get("id").cloned().unwrap_or(Value::Null),
        "timestamp": humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        "source": SOURCE,
        "target_namespace": namespace(method),
        "mcp_payload": payload,
    });
    if let Some(token) = token {
        envelope["auth_token"] = Value::String(token.to_owned());
    }
    envelope
}

/// The JSON-RPC message inside an answer envelope.
pub fn unwrap(frame: &str) -> Result<Value, String> {
    let envelope: Value = serde_json::from_str(frame)
        .map_err(|e| format!("the gateway sent a frame that is not JSON: {e}"))?;
    match envelope.get("mcp_payload") {
        Some(payload) if payload.is_object() => Ok(payload.clone()),
        _ => Err("the gateway sent a frame without `mcp_payload`".to_owned()),
    }
}

/// Whether `answer` is what the gateway sends back for a notification: an error with id null.
pub fn is_notification_echo(answer: &Value) -> bool {
    answer.get("id").is_none_or(Value::is_null) && answer.get("error").is_some()
}

/// The namespace a "no endpoints available for namespace: NS" error answer names, if it is one.
pub fn unavailable_namespace(answer: &Value) -> Option<&str> {
    unavailable_in(answer["error"]["message"].as_str()?)
}

/// The namespace an error message such as the gateway's "[router] UNAVAILABLE: no endpoints
/// available for namespace: NS" names.
pub fn unavailable_in(message: &str) -> Option<&str> {
    let (_, namespace) = message.split_once("no endpoints available for namespace: ")?;
    Some(namespace.trim())
}

/// The cause and fix for the gateway's "no endpoints" answer.
pub fn explain_unavailable(namespace: &str) -> (String, String) {
    (
        format!("the gateway has no MCP server registered for namespace `{namespace}`"),
        format!(
            "register the MCP server (Serena) with the gateway under namespace `{namespace}` \
             (its router config's endpoints), or check that the server's pods are up"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_follow_the_gateways_rules() {
        assert_eq!(namespace(Some("initialize")), "system");
        assert_eq!(namespace(Some("tools/call")), "system");
        assert_eq!(namespace(Some("serena.find_symbol")), "serena");
        assert_eq!(namespace(Some("notifications/initialized")), "default");
        assert_eq!(namespace(Some(".odd")), "default");
        assert_eq!(namespace(None), "default");
    }

    #[test]
    fn a_request_is_wrapped_with_its_id_and_token_and_unwrapped_from_the_answer() {
        let payload = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"});
        let envelope = wrap(&payload, Some("a.b.c"));
        assert_eq!(envelope["id"], 7);
        assert_eq!(envelope["source"], "local-router");
        assert_eq!(envelope["target_namespace"], "system");
        assert_eq!(envelope["auth_token"], "a.b.c");
        assert_eq!(envelope["mcp_payload"], payload);
        let stamp = envelope["timestamp"].as_str().unwrap();
        assert!(humantime::parse_rfc3339(stamp).is_ok() && stamp.ends_with('Z'), "{stamp}");
        assert!(wrap(&payload, None).get("auth_token").is_none());

        let answer =
            r#"{"id":7,"source":"gateway","mcp_payload":{"jsonrpc":"2.0","id":7,"result":{}}}"#;
        assert_eq!(unwrap(answer).unwrap(), json!({"jsonrpc": "2.0", "id": 7, "result": {}}));
        assert!(unwrap(r#"{"id":7}"#).unwrap_err().contains("without `mcp_payload`"));
        assert!(unwrap("not json").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn the_gateways_own_answers_are_recognised() {
        let echo = json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32603, "message": "x"}});
        assert!(is_notification_echo(&echo));
        assert!(!is_notification_echo(&json!({"jsonrpc": "2.0", "id": 1, "error": {}})));
        let none = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32603,
            "message": "[router] UNAVAILABLE: no endpoints available for namespace: system"}});
        assert_eq!(unavailable_namespace(&none), Some("system"));
        assert_eq!(unavailable_namespace(&echo), None);
        assert!(explain_unavailable("system").0.contains("namespace `system`"));
    }
}
