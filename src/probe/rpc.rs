//! The JSON-RPC messages a probe sends and the answers it reads, in rmcp's model types.

use rmcp::model::{
    InitializeResult, JsonObject, JsonRpcError, JsonRpcResponse, ListToolsResult, NumberOrString,
};
use serde_json::{Value, json};

use crate::net::era::{META_CAPABILITIES, META_CLIENT, META_SERVER, META_VERSION};
use crate::net::mcp::MODERN_VERSION;

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

fn client_info() -> Value {
    json!({"name": "mcp-connect-probe", "version": env!("CARGO_PKG_VERSION")})
}

pub fn initialize_params(protocol_version: &str) -> Value {
    json!({"protocolVersion": protocol_version, "capabilities": {}, "clientInfo": client_info()})
}

/// `params` of a 2026 request: `_meta` with the protocol version, the client's capabilities
/// (required) and who it is, added to whatever params the method takes.
pub fn with_meta(params: Option<Value>) -> Value {
    let mut params = match params {
        Some(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let meta = params.entry("_meta").or_insert_with(|| json!({}));
    if let Value::Object(meta) = meta {
        meta.insert(META_VERSION.to_owned(), json!(MODERN_VERSION));
        meta.insert(META_CAPABILITIES.to_owned(), json!({}));
        meta.insert(META_CLIENT.to_owned(), client_info());
    }
    Value::Object(params)
}

/// Reads a `server/discover` result: `supportedVersions` (which must hold the version the
/// probe spoke) and `_meta["io.modelcontextprotocol/serverInfo"]`.
pub fn discovery(result: &JsonObject) -> Result<ServerInfo, String> {
    let supported: Vec<String> = result
        .get("supportedVersions")
        .and_then(Value::as_array)
        .ok_or("the server/discover result has no supportedVersions")?
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    if !supported.iter().any(|v| v == MODERN_VERSION) {
        return Err(format!(
            "server/discover answered for {MODERN_VERSION} but lists only {supported:?}"
        ));
    }
    let info = result.get("_meta").and_then(|m| m.get(META_SERVER));
    let field = |name: &str| {
        info.and_then(|i| i.get(name)).and_then(Value::as_str).unwrap_or_default().to_owned()
    };
    Ok(ServerInfo {
        name: field("name"),
        version: field("version"),
        protocol_version: MODERN_VERSION.to_owned(),
        supported,
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
    /// The protocol versions it lists (`server/discover`); for `initialize`, the one it chose.
    /// Filled in by the session that spoke to it.
    #[serde(skip)]
    pub supported: Vec<String>,
}

pub fn server_info(result: JsonObject) -> Result<ServerInfo, String> {
    let result: InitializeResult = serde_json::from_value(Value::Object(result))
        .map_err(|e| format!("the initialize result is not valid MCP: {e}"))?;
    Ok(ServerInfo {
        name: result.server_info.name,
        version: result.server_info.version,
        protocol_version: result.protocol_version.to_string(),
        supported: vec![result.protocol_version.to_string()],
    })
}

pub fn tool_count(result: JsonObject) -> Result<usize, String> {
    let result: ListToolsResult = serde_json::from_value(Value::Object(result))
        .map_err(|e| format!("the tools/list result is not valid MCP: {e}"))?;
    Ok(result.tools.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_2026_request_carries_the_required_meta_beside_its_params() {
        let params = with_meta(Some(json!({"cursor": "c2"})));
        assert_eq!(params["cursor"], "c2");
        assert_eq!(params["_meta"][META_VERSION], MODERN_VERSION);
        assert_eq!(params["_meta"][META_CAPABILITIES], json!({}));
        assert_eq!(params["_meta"][META_CLIENT]["name"], "mcp-connect-probe");
    }

    #[test]
    fn discover_names_the_server_and_its_versions() {
        let result = json!({
            "supportedVersions": ["2025-11-25", "2026-07-28"],
            "capabilities": {"tools": {}},
            "_meta": {META_SERVER: {"name": "mcp", "version": "2.3.0"}},
        });
        let Value::Object(result) = result else { unreachable!() };
        let found = discovery(&result).unwrap();
        assert_eq!((found.name.as_str(), found.version.as_str()), ("mcp", "2.3.0"));
        assert_eq!(found.protocol_version, MODERN_VERSION);
        assert_eq!(found.supported, ["2025-11-25", "2026-07-28"]);
        let Value::Object(old) = json!({"supportedVersions": ["2025-11-25"]}) else {
            unreachable!()
        };
        assert!(discovery(&old).unwrap_err().contains("lists only"));
    }
}
