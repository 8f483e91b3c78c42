//! The JSON-RPC messages a probe sends and the answers it reads, in rmcp's model types.

use rmcp::model::{
    InitializeResult, JsonObject, JsonRpcError, JsonRpcResponse, ListToolsResult, NumberOrString,
};
use serde_json::{Value, json};

/// Offered on streamable HTTP. Servers answer with the version they speak.
pub const PROTOCOL_VERSION: &str = "2025-06-18";
/// The version of the legacy HTTP+SSE transport.
pub const LEGACY_PROTOCOL_VERSION: &str = "2024-11-05";

pub fn request(id: i64, method: &str, params: Option<Value>) -> Value {
    let mut message = json!({"jsonrpc": "2.0", "id": id, "method": method});
    if let Some(params) = params {
        message["params"] = params;
    }
    message
}

pub fn notification(method: &str) -> Value {
    json!({"jsonrpc": "2.0", "method": method})
}

pub fn initialize_params(protocol_version: &str) -> Value {
    json!({
        "protocolVersion": protocol_version,
        "capabilities": {},
        "clientInfo": {"name": "mcp-connect-probe", "version": env!("CARGO_PKG_VERSION")},
    })
}

/// A JSON-RPC error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
}

/// The answer to request `id` if `message` is one: its result, or its error.
pub fn answer_for(message: &Value, id: i64) -> Option<Result<JsonObject, RpcError>> {
    let wanted = NumberOrString::Number(id);
    if message.get("error").is_some() {
        let error: JsonRpcError = serde_json::from_value(message.clone()).ok()?;
        // A parse error may come without an id; it answers whatever was sent.
        if error.id.as_ref().is_some_and(|got| *got != wanted) {
            return None;
        }
        return Some(Err(RpcError {
            code: error.error.code.0.into(),
            message: error.error.message.into(),
        }));
    }
    let response: JsonRpcResponse<JsonObject> = serde_json::from_value(message.clone()).ok()?;
    (response.id == wanted).then_some(Ok(response.result))
}

/// Who answered `initialize`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServerInfo {
    pub name: String,
    pub version: String,
    pub protocol_version: String,
}

pub fn server_info(result: JsonObject) -> Result<ServerInfo, String> {
    let result: InitializeResult = serde_json::from_value(Value::Object(result))
        .map_err(|e| format!("the initialize result is not valid MCP: {e}"))?;
    Ok(ServerInfo {
        name: result.server_info.name,
        version: result.server_info.version,
        protocol_version: result.protocol_version.to_string(),
    })
}

pub fn tool_count(result: JsonObject) -> Result<usize, String> {
    let result: ListToolsResult = serde_json::from_value(Value::Object(result))
        .map_err(|e| format!("the tools/list result is not valid MCP: {e}"))?;
    Ok(result.tools.len())
}
