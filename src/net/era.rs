//! Between the two MCP eras (see FACTS.md, "MCP 2026-07-28"): which one a client's request
//! speaks, the headers and `_meta` a 2026 request carries, and the translations a relay
//! (router, bridge) makes when its client and its server speak different eras:
//!
//! - a 2025 client in front of a 2026 server: its `initialize` is answered from the server's
//!   `server/discover` ([`initialize_result_of_discover`]), and every later request is sent
//!   with the 2026 headers and the `_meta` made from that `initialize` ([`meta_of_initialize`],
//!   [`modern_headers`], [`put_meta`]);
//! - a 2026 client in front of a 2025 server: the relay opens a session of its own with
//!   [`initialize_params_of_meta`], answers `server/discover` from its `initialize` result
//!   ([`discover_result_of_initialize`]), and sends requests in that session without the 2026
//!   `_meta` ([`strip_meta`]).
//!
//! Pure functions on JSON: no I/O here.

use serde_json::{Map, Value, json};

use super::mcp::{METHOD, MODERN_VERSION, NAME, VERSION};

/// `_meta` key of a 2026 request: the protocol version it speaks.
pub const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key of a 2026 request: the client's capabilities (required).
pub const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key of a 2026 request: who the client is.
pub const META_CLIENT: &str = "io.modelcontextprotocol/clientInfo";
/// `_meta` key of a `server/discover` result: who the server is.
pub const META_SERVER: &str = "io.modelcontextprotocol/serverInfo";

/// The newest version with the `initialize` handshake: what a relay agrees to with a 2025
/// client that asks for a version it does not know.
pub const LATEST_WITH_INITIALIZE: &str = "2025-11-25";
/// The versions with the handshake a relay agrees to as asked, oldest first.
pub const WITH_INITIALIZE: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

/// Which era a message speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Era {
    /// 2026-07-28: no handshake, no session; each request says its version.
    #[serde(rename = "2026-07-28")]
    Modern,
    /// 2025-11-25 and before: `initialize`, then requests in its session.
    #[serde(rename = "2025")]
    Initialize,
}

impl Era {
    pub fn as_str(self) -> &'static str {
        match self {
            Era::Modern => MODERN_VERSION,
            Era::Initialize => "2025",
        }
    }
}

/// The era of a request that came with `version` in its `MCP-Protocol-Version` header and
/// `message` as its body: 2026 when either the header or `params._meta` says 2026-07-28, or
/// when it asks `server/discover` (which only the 2026 era has).
pub fn era_of_request(version: Option<&str>, message: &Value) -> Era {
    let meta = message.pointer("/params/_meta").and_then(|m| m.get(META_VERSION));
    let modern = version == Some(MODERN_VERSION)
        || meta.and_then(Value::as_str) == Some(MODERN_VERSION)
        || message.get("method").and_then(Value::as_str) == Some("server/discover");
    if modern { Era::Modern } else { Era::Initialize }
}

/// What `Mcp-Name` carries for `method`: the tool or prompt's name, the resource's URI.
pub fn named<'a>(method: &str, params: Option<&'a Value>) -> Option<&'a str> {
    let field = match method {
        "tools/call" | "prompts/get" => "name",
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => "uri",
        _ => return None,
    };
    params?.get(field)?.as_str()
}

/// The headers a 2026 request for `message` carries: `MCP-Protocol-Version`, `Mcp-Method` and,
/// where the method names something, `Mcp-Name`. Empty for a response or a message without
/// a method.
pub fn modern_headers(message: &Value) -> Vec<(&'static str, String)> {
    let Some(method) = message.get("method").and_then(Value::as_str) else {
        return Vec::new();
    };
    let mut headers = vec![(VERSION, MODERN_VERSION.to_owned()), (METHOD, method.to_owned())];
    if let Some(name) = named(method, message.get("params")) {
        headers.push((NAME, name.to_owned()));
    }
    headers
}

/// The 2026 `_meta` of the client that sent `params` with its `initialize`: version 2026-07-28,
/// its capabilities and who it is.
pub fn meta_of_initialize(params: &Value) -> Map<String, Value> {
    let mut meta = Map::new();
    meta.insert(META_VERSION.to_owned(), json!(MODERN_VERSION));
    let capabilities = params.get("capabilities").cloned().unwrap_or_else(|| json!({}));
    meta.insert(META_CAPABILITIES.to_owned(), capabilities);
    if let Some(client) = params.get("clientInfo") {
        meta.insert(META_CLIENT.to_owned(), client.clone());
    }
    meta
}

/// Adds `meta` to the request `message`'s `params._meta`, keeping what it already holds under
/// the same keys. A response or a message whose params are not an object is left alone.
pub fn put_meta(message: &mut Value, meta: &Map<String, Value>) {
    if message.get("method").is_none() {
        return;
    }
    let Some(object) = message.as_object_mut() else { return };
    let params = object.entry("params").or_insert_with(|| json!({}));
    let Some(params) = params.as_object_mut() else { return };
    let existing = params.entry("_meta").or_insert_with(|| json!({}));
    let Some(existing) = existing.as_object_mut() else { return };
    for (key, value) in meta {
        existing.entry(key.clone()).or_insert_with(|| value.clone());
    }
}

/// Removes the 2026 keys from `message`'s `params._meta` (and `_meta` itself when nothing
/// else is left in it), for a server of the 2025 era.
pub fn strip_meta(message: &mut Value) {
    let Some(params) = message.get_mut("params").and_then(Value::as_object_mut) else { return };
    let Some(meta) = params.get_mut("_meta").and_then(Value::as_object_mut) else { return };
    for key in [META_VERSION, META_CAPABILITIES, META_CLIENT] {
        meta.remove(key);
    }
    if meta.is_empty() {
        params.remove("_meta");
    }
}

/// What a 2026 result says of itself when it is the final answer (`resultType`).
pub const RESULT_COMPLETE: &str = "complete";
/// The methods whose 2026 results are cacheable and must say for how long and for whom
/// (`ttlMs`, `cacheScope`; SEP-2549, as the TypeScript SDK v2 lists them).
pub const CACHEABLE: [&str; 6] = [
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "server/discover",
];

/// Makes the response `message` of a 2025 server to a `method` request into the result a 2026
/// client requires: `resultType: "complete"`, and for a cacheable method the conservative
/// cache hints the SDKs default to (`ttlMs: 0`, `cacheScope: "private"`). What the result
/// says already is kept; an error, a request or a notification is left alone.
pub fn as_2026_result(message: &mut Value, method: &str) {
    if message.get("method").is_some() {
        return;
    }
    let Some(result) = message.get_mut("result").and_then(Value::as_object_mut) else { return };
    result.entry("resultType").or_insert_with(|| json!(RESULT_COMPLETE));
    if CACHEABLE.contains(&method) {
        result.entry("ttlMs").or_insert_with(|| json!(0));
        result.entry("cacheScope").or_insert_with(|| json!("private"));
    }
}

/// The `params` of an `initialize` a relay sends for the 2026 client whose request carries
/// `meta` (its `params._meta`, or nothing): its capabilities and who it is, asking for
/// `version`.
pub fn initialize_params_of_meta(meta: Option<&Value>, version: &str, relay: &Value) -> Value {
    let field = |key: &str| meta.and_then(|m| m.get(key)).cloned();
    json!({
        "protocolVersion": version,
        "capabilities": field(META_CAPABILITIES).unwrap_or_else(|| json!({})),
        "clientInfo": field(META_CLIENT).unwrap_or_else(|| relay.clone()),
    })
}

/// The version a relay agrees to with a 2025 client that asked for `requested`: that one when
/// it has the handshake, else the newest that does.
pub fn agreed_version(requested: Option<&str>) -> &'static str {
    requested
        .and_then(|asked| WITH_INITIALIZE.iter().find(|known| **known == asked))
        .copied()
        .unwrap_or(LATEST_WITH_INITIALIZE)
}

/// The `initialize` result a relay gives a 2025 client that asked for `requested`, made from
/// a 2026 server's `server/discover` result: its capabilities, instructions and server info.
pub fn initialize_result_of_discover(discover: &Value, requested: Option<&str>) -> Value {
    let server = discover.pointer("/_meta").and_then(|m| m.get(META_SERVER));
    let mut result = json!({
        "protocolVersion": agreed_version(requested),
        "capabilities": discover.get("capabilities").cloned().unwrap_or_else(|| json!({})),
        "serverInfo": server.cloned().unwrap_or_else(|| json!({"name": "", "version": ""})),
    });
    if let Some(instructions) = discover.get("instructions").filter(|i| i.is_string()) {
        result["instructions"] = instructions.clone();
    }
    result
}

/// The `server/discover` result a relay gives a 2026 client, made from a 2025 server's
/// `initialize` result: 2026-07-28 supported (the relay speaks it), the server's capabilities,
/// instructions and server info.
pub fn discover_result_of_initialize(initialize: &Value) -> Value {
    let server = initialize.get("serverInfo").cloned().unwrap_or_else(|| json!({}));
    let mut result = json!({
        "supportedVersions": [MODERN_VERSION],
        "capabilities": initialize.get("capabilities").cloned().unwrap_or_else(|| json!({})),
        "_meta": {META_SERVER: server},
    });
    if let Some(instructions) = initialize.get("instructions").filter(|i| i.is_string()) {
        result["instructions"] = instructions.clone();
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_2026_by_its_header_its_meta_or_discover() {
        let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
        assert_eq!(era_of_request(None, &list), Era::Initialize);
        assert_eq!(era_of_request(Some("2025-06-18"), &list), Era::Initialize);
        assert_eq!(era_of_request(Some(MODERN_VERSION), &list), Era::Modern);
        let mut with_meta = list.clone();
        put_meta(&mut with_meta, &meta_of_initialize(&json!({})));
        assert_eq!(era_of_request(None, &with_meta), Era::Modern);
        let discover = json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover"});
        assert_eq!(era_of_request(None, &discover), Era::Modern);
    }

    #[test]
    fn headers_name_the_method_and_the_tool_or_resource() {
        let call = json!({"method": "tools/call", "params": {"name": "echo", "arguments": {}}});
        let headers = modern_headers(&call);
        assert_eq!(
            headers,
            [
                (VERSION, MODERN_VERSION.to_owned()),
                (METHOD, "tools/call".to_owned()),
                (NAME, "echo".to_owned())
            ]
        );
        let read = json!({"method": "resources/read", "params": {"uri": "file:///a"}});
        assert_eq!(modern_headers(&read)[2], (NAME, "file:///a".to_owned()));
        assert_eq!(modern_headers(&json!({"method": "tools/list"})).len(), 2);
        assert!(modern_headers(&json!({"id": 1, "result": {}})).is_empty());
    }

    #[test]
    fn meta_from_an_initialize_goes_beside_what_the_request_had() {
        let init = json!({"protocolVersion": "2025-06-18", "capabilities": {"roots": {}},
            "clientInfo": {"name": "claude-code", "version": "2.1.197"}});
        let meta = meta_of_initialize(&init);
        let mut call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "echo", "_meta": {"progressToken": 7}}});
        put_meta(&mut call, &meta);
        let got = &call["params"]["_meta"];
        assert_eq!(got[META_VERSION], MODERN_VERSION);
        assert_eq!(got[META_CAPABILITIES], json!({"roots": {}}));
        assert_eq!(got[META_CLIENT]["name"], "claude-code");
        assert_eq!(got["progressToken"], 7, "the request's own _meta is kept");
        let mut list = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"});
        put_meta(&mut list, &meta);
        assert_eq!(list["params"]["_meta"][META_VERSION], MODERN_VERSION, "params made");
        let mut answer = json!({"jsonrpc": "2.0", "id": 3, "result": {}});
        put_meta(&mut answer, &meta);
        assert_eq!(answer, json!({"jsonrpc": "2.0", "id": 3, "result": {}}));
    }

    #[test]
    fn stripping_keeps_the_requests_own_meta_only() {
        let mut call = json!({"method": "tools/call", "params": {"name": "echo"}});
        put_meta(&mut call, &meta_of_initialize(&json!({})));
        strip_meta(&mut call);
        assert_eq!(call, json!({"method": "tools/call", "params": {"name": "echo"}}));
        let mut with_token = json!({"method": "tools/call", "params": {"_meta": {"a": 1}}});
        put_meta(&mut with_token, &meta_of_initialize(&json!({})));
        strip_meta(&mut with_token);
        assert_eq!(with_token["params"]["_meta"], json!({"a": 1}));
    }

    #[test]
    fn a_relayed_2025_result_says_it_is_complete_and_how_long_a_list_keeps() {
        let mut list = json!({"jsonrpc": "2.0", "id": 1, "result": {"tools": []}});
        as_2026_result(&mut list, "tools/list");
        assert_eq!(list["result"]["resultType"], RESULT_COMPLETE);
        assert_eq!(
            (&list["result"]["ttlMs"], &list["result"]["cacheScope"]),
            (&json!(0), &json!("private"))
        );
        let mut call = json!({"jsonrpc": "2.0", "id": 2, "result": {"content": []}});
        as_2026_result(&mut call, "tools/call");
        assert_eq!(call["result"]["resultType"], RESULT_COMPLETE);
        assert!(call["result"].get("ttlMs").is_none(), "a call is not cacheable: {call}");
        let mut own = json!({"id": 1, "result": {"resultType": "input_required", "ttlMs": 5}});
        as_2026_result(&mut own, "resources/read");
        assert_eq!(own["result"]["resultType"], "input_required", "its own type kept");
        assert_eq!(own["result"]["ttlMs"], 5, "its own hint kept");
        for untouched in [
            json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "no"}}),
            json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {}}),
            json!({"jsonrpc": "2.0", "id": 2, "method": "sampling/createMessage", "result": {}}),
        ] {
            let mut message = untouched.clone();
            as_2026_result(&mut message, "tools/list");
            assert_eq!(message, untouched);
        }
    }

    #[test]
    fn an_initialize_for_a_2026_client_carries_its_capabilities_and_name() {
        let meta = json!({META_CAPABILITIES: {"sampling": {}}, META_CLIENT: {"name": "x"}});
        let relay = json!({"name": "mcp-connect", "version": "1"});
        let params = initialize_params_of_meta(Some(&meta), "2025-06-18", &relay);
        assert_eq!(params["protocolVersion"], "2025-06-18");
        assert_eq!(params["capabilities"], json!({"sampling": {}}));
        assert_eq!(params["clientInfo"], json!({"name": "x"}));
        let params = initialize_params_of_meta(None, "2025-06-18", &relay);
        assert_eq!((&params["capabilities"], &params["clientInfo"]), (&json!({}), &relay));
    }

    #[test]
    fn discover_and_initialize_results_translate_both_ways() {
        let discover = json!({"supportedVersions": ["2025-11-25", MODERN_VERSION],
            "capabilities": {"tools": {"listChanged": true}}, "instructions": "be kind",
            "ttlMs": 60000, "_meta": {META_SERVER: {"name": "serena", "version": "2.1.0"}}});
        let init = initialize_result_of_discover(&discover, Some("2025-06-18"));
        assert_eq!(init["protocolVersion"], "2025-06-18");
        assert_eq!(init["serverInfo"]["name"], "serena");
        assert_eq!(init["capabilities"]["tools"]["listChanged"], true);
        assert_eq!(init["instructions"], "be kind");
        let unknown = initialize_result_of_discover(&discover, Some("2030-01-01"));
        assert_eq!(unknown["protocolVersion"], LATEST_WITH_INITIALIZE);

        let back = discover_result_of_initialize(&init);
        assert_eq!(back["supportedVersions"], json!([MODERN_VERSION]));
        assert_eq!(back["_meta"][META_SERVER]["name"], "serena");
        assert_eq!(back["capabilities"], discover["capabilities"]);
        assert_eq!(back["instructions"], "be kind");
    }
}
