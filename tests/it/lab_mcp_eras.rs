//! The lab's reference MCP server in each of its eras (`Eras::Both | Only2025 | Only2026`), on
//! the wire: raw HTTP with reqwest, each exchange with its HTTP status and JSON-RPC code as
//! Python `mcp` 2.3.0, server-everything and the TS SDK v2 answer them (FACTS.md, "MCP
//! 2026-07-28").

use std::time::Duration;

use mcp_connect::lab::mcp::{Eras, McpServer, McpServerOptions};
use mcp_connect::lab::world::{Lab, LabOptions};
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

use crate::support::mcp_server;

const ACCEPT_BOTH: &str = "application/json, text/event-stream";
const MODERN: &str = "2026-07-28";
const OLD: &str = "2025-06-18";
/// No single exchange may take longer than this: only a hang takes so long.
const PATIENCE: Duration = Duration::from_secs(10);

async fn server(eras: Eras) -> McpServer {
    mcp_server(McpServerOptions { eras, ..McpServerOptions::default() }).await
}

/// The `_meta` a 2026 client puts in every request's params.
fn meta(version: &str) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "lab-test", "version": "0"},
    })
}

/// A 2026 request body: `params` with the `_meta` of `version` added.
fn modern_body(id: u64, method: &str, mut params: Value, version: &str) -> Value {
    params["_meta"] = meta(version);
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// A POST to `/mcp` with a body and the two content headers, nothing else.
fn post(client: &Client, server_url: &str, body: &Value) -> RequestBuilder {
    client
        .post(server_url)
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .body(body.to_string())
}

/// A POST as a 2026 client sends it: `MCP-Protocol-Version`, `Mcp-Method` (from the body) and
/// `Mcp-Name` for a tool call.
fn post_modern(client: &Client, server_url: &str, body: &Value) -> RequestBuilder {
    let version = body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"]
        .as_str()
        .unwrap_or(MODERN);
    let method = body["method"].as_str().unwrap();
    let builder = post(client, server_url, body)
        .header("mcp-protocol-version", version)
        .header("mcp-method", method);
    match body["params"]["name"].as_str() {
        Some(name) => builder.header("mcp-name", name),
        None => builder,
    }
}

async fn send(builder: RequestBuilder) -> Response {
    tokio::time::timeout(PATIENCE, builder.send()).await.expect("answer in time").unwrap()
}

/// The one JSON-RPC message of an answer, whether a JSON body or an SSE stream.
async fn message(response: Response) -> Value {
    let sse = response.headers().get("content-type").is_some_and(|t| t == "text/event-stream");
    let body =
        tokio::time::timeout(PATIENCE, response.text()).await.expect("body in time").unwrap();
    if !sse {
        return serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    }
    let mut messages: Vec<Value> = body
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter(|data| !data.trim().is_empty())
        .map(|data| serde_json::from_str(data.trim()).unwrap())
        .collect();
    assert_eq!(messages.len(), 1, "{body}");
    messages.remove(0)
}

/// The answer's HTTP status and its JSON-RPC error code (asserting it is an error).
async fn error_of(response: Response) -> (StatusCode, i64, Value) {
    let status = response.status();
    let message = message(response).await;
    let code = message["error"]["code"].as_i64().unwrap_or_else(|| panic!("{message}"));
    (status, code, message["error"].clone())
}

fn initialize(version: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": version, "capabilities": {},
        "clientInfo": {"name": "lab-test", "version": "0"}}})
}

fn text_of(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap_or_else(|| panic!("{result}"))
}

#[tokio::test]
async fn server_discover_answers_versions_capabilities_and_server_info_without_a_session() {
    let server = server(Eras::Both).await;
    let client = Client::new();
    let discover = modern_body(1, "server/discover", json!({}), MODERN);
    let response = send(post_modern(&client, &server.url(), &discover)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("mcp-session-id").is_none());
    let answer = message(response).await;
    assert_eq!(answer["id"], 1);
    let result = &answer["result"];
    let versions = result["supportedVersions"].as_array().unwrap();
    assert!(versions.contains(&json!(MODERN)) && versions.contains(&json!(OLD)), "{result}");
    assert!(result["capabilities"]["tools"].is_object(), "{result}");
    assert!(result["instructions"].as_str().is_some_and(|text| text.contains("echo")));
    assert!(result["ttlMs"].is_u64(), "{result}");
    assert!(result["cacheScope"].is_string(), "{result}");
    assert!(result["resultType"].is_string(), "{result}");
    let info = &result["_meta"]["io.modelcontextprotocol/serverInfo"];
    assert_eq!(info["name"], "mcp-connect-lab");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn tools_list_and_call_echo_without_a_session_in_the_2026_era() {
    for eras in [Eras::Both, Eras::Only2026] {
        let server = server(eras).await;
        let client = Client::new();
        let list = modern_body(2, "tools/list", json!({}), MODERN);
        let response = send(post_modern(&client, &server.url(), &list)).await;
        assert_eq!(response.status(), StatusCode::OK, "{eras:?}");
        assert!(response.headers().get("mcp-session-id").is_none());
        let tools = message(response).await["result"]["tools"].clone();
        let mut names: Vec<&str> =
            tools.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        names.sort_unstable();
        assert_eq!(names, ["blob", "echo", "sleep"], "{eras:?}");

        let echo = json!({"name": "echo", "arguments": {"text": "hi 2026"}});
        let call = modern_body(3, "tools/call", echo, MODERN);
        let response = send(post_modern(&client, &server.url(), &call)).await;
        assert_eq!(response.status(), StatusCode::OK, "{eras:?}");
        let answer = message(response).await;
        assert_eq!(answer["id"], 3);
        assert_eq!(text_of(&answer["result"]), "hi 2026", "{eras:?}");
    }
}

#[tokio::test]
async fn an_unknown_version_is_400_32022_with_the_supported_list() {
    for eras in [Eras::Both, Eras::Only2026] {
        let server = server(eras).await;
        let list = modern_body(4, "tools/list", json!({}), "2099-01-01");
        let response = send(post_modern(&Client::new(), &server.url(), &list)).await;
        let (status, code, error) = error_of(response).await;
        assert_eq!((status, code), (StatusCode::BAD_REQUEST, -32022), "{eras:?}: {error}");
        assert_eq!(error["data"]["requested"], "2099-01-01");
        let supported: Vec<&str> = eras.supported_versions().iter().map(|v| v.as_str()).collect();
        assert_eq!(error["data"]["supported"], json!(supported));
    }
}

#[tokio::test]
async fn an_mcp_method_header_that_is_not_the_body_method_is_400_32020() {
    let server = server(Eras::Both).await;
    let list = modern_body(5, "tools/list", json!({}), MODERN);
    let request = post_modern(&Client::new(), &server.url(), &list);
    let response = send(request.header("mcp-method", "server/discover")).await;
    let (status, code, error) = error_of(response).await;
    assert_eq!((status, code), (StatusCode::BAD_REQUEST, -32020), "{error}");
}

#[tokio::test]
async fn a_2026_request_without_meta_is_400_32602() {
    let server = server(Eras::Both).await;
    let list = json!({"jsonrpc": "2.0", "id": 6, "method": "tools/list", "params": {}});
    let response = send(post_modern(&Client::new(), &server.url(), &list)).await;
    let (status, code, error) = error_of(response).await;
    assert_eq!((status, code), (StatusCode::BAD_REQUEST, -32602), "{error}");
}

#[tokio::test]
async fn initialize_or_ping_with_the_2026_header_is_404_32601() {
    for eras in [Eras::Both, Eras::Only2026] {
        let server = server(eras).await;
        let client = Client::new();
        let ping = modern_body(7, "ping", json!({}), MODERN);
        let init = initialize(OLD);
        for body in [&ping, &init] {
            let request = post(&client, &server.url(), body)
                .header("mcp-protocol-version", MODERN)
                .header("mcp-method", body["method"].as_str().unwrap());
            let response = send(request).await;
            assert!(response.headers().get("mcp-session-id").is_none());
            let (status, code, error) = error_of(response).await;
            assert_eq!(
                (status, code),
                (StatusCode::NOT_FOUND, -32601),
                "{eras:?} {}: {error}",
                body["method"]
            );
        }
    }
}

#[tokio::test]
async fn without_a_version_header_or_session_a_request_is_400_missing_session() {
    let server = server(Eras::Both).await;
    let list = json!({"jsonrpc": "2.0", "id": 8, "method": "tools/list", "params": {}});
    let response = send(post(&Client::new(), &server.url(), &list)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response.text().await.unwrap();
    assert!(body.to_lowercase().contains("session id"), "{body}");
}

/// Opens a session with `initialize` 2025-06-18 and calls `echo` in it.
async fn handshake_then_echo(client: &Client, url: &str) -> Value {
    let response = send(post(client, url, &initialize(OLD))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let session = response.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let result = message(response).await["result"].clone();
    assert_eq!(result["protocolVersion"], OLD);
    let with_session = |body: &Value| {
        post(client, url, body)
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", OLD)
    };
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(send(with_session(&initialized)).await.status(), StatusCode::ACCEPTED);
    let echo = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "hi 2025"}}});
    let answer = message(send(with_session(&echo)).await).await;
    assert_eq!(text_of(&answer["result"]), "hi 2025");
    result["serverInfo"].clone()
}

#[tokio::test]
async fn the_2025_handshake_still_works_with_the_same_server_info_as_discover() {
    let server = server(Eras::Both).await;
    let client = Client::new();
    let old_info = handshake_then_echo(&client, &server.url()).await;
    let discover = modern_body(1, "server/discover", json!({}), MODERN);
    let answer = message(send(post_modern(&client, &server.url(), &discover)).await).await;
    let new_info = &answer["result"]["_meta"]["io.modelcontextprotocol/serverInfo"];
    assert_eq!(old_info["name"], "mcp-connect-lab");
    assert_eq!(
        (&old_info["name"], &old_info["version"]),
        (&new_info["name"], &new_info["version"])
    );
}

#[tokio::test]
async fn only_2026_refuses_initialize_with_400_32022_opens_no_session_and_has_no_sse() {
    let server = server(Eras::Only2026).await;
    let response = send(post(&Client::new(), &server.url(), &initialize(OLD))).await;
    assert!(response.headers().get("mcp-session-id").is_none());
    let (status, code, error) = error_of(response).await;
    assert_eq!((status, code), (StatusCode::BAD_REQUEST, -32022), "{error}");
    assert_eq!(error["data"]["supported"], json!([MODERN]));
    assert_eq!(error["data"]["requested"], OLD);
    // Nor the legacy HTTP+SSE transport (2024-11-05), which is a handshake too.
    let sse = Client::new().get(format!("http://{}/sse", server.addr()));
    assert_eq!(
        send(sse.header("accept", "text/event-stream")).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn only_2026_serves_no_request_that_does_not_say_its_version() {
    let server = server(Eras::Only2026).await;
    let list = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {}});
    let response = send(post(&Client::new(), &server.url(), &list)).await;
    let (status, code, error) = error_of(response).await;
    assert_eq!((status, code), (StatusCode::BAD_REQUEST, -32020), "{error}");
    let request = post(&Client::new(), &server.url(), &list)
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", "tools/list");
    let (status, code, error) = error_of(send(request).await).await;
    assert_eq!((status, code), (StatusCode::BAD_REQUEST, -32602), "{error}");
}

#[tokio::test]
async fn only_2025_answers_a_2026_request_as_server_everything_does() {
    let server = server(Eras::Only2025).await;
    let client = Client::new();
    let discover = modern_body(1, "server/discover", json!({}), MODERN);
    let list = modern_body(2, "tools/list", json!({}), MODERN);
    for body in [&discover, &list] {
        let response = send(post_modern(&client, &server.url(), body)).await;
        let (status, code, error) = error_of(response).await;
        assert_eq!((status, code), (StatusCode::BAD_REQUEST, -32000), "{}", body["method"]);
        let text = error["message"].as_str().unwrap();
        assert!(text.contains("Server not initialized"), "{text}");
    }
    handshake_then_echo(&client, &server.url()).await;
}

#[tokio::test]
async fn a_lab_can_put_a_2026_only_server_behind_serenas_service() {
    let lab = Lab::start(LabOptions { eras: Eras::Only2026, ..LabOptions::default() })
        .await
        .expect("the lab starts");
    let client = Client::new();
    let refused = send(post(&client, &lab.serena_url, &initialize(OLD))).await;
    assert_eq!(error_of(refused).await.1, -32022);
    let discover = modern_body(1, "server/discover", json!({}), MODERN);
    let answer = message(send(post_modern(&client, &lab.serena_url, &discover)).await).await;
    assert_eq!(answer["result"]["supportedVersions"], json!([MODERN]));
}
