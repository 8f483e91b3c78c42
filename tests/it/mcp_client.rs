//! The test-support MCP client (`support::mcp`) against the lab's reference MCP server, and
//! against a canned server whose SSE framing is awkward on purpose.

use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mcp_connect::lab::mcp::McpServerOptions;
use serde_json::{Value, json};

use crate::support::mcp::{McpError, McpSession, http_client};
use crate::support::mcp_server;

/// Each test as a whole must finish within this: only a hang takes so long.
const PATIENCE: Duration = Duration::from_secs(30);

async fn in_time<T>(work: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, work).await.expect("finished in time")
}

fn text_of(result: &Value) -> &str {
    result["content"][0]["text"].as_str().expect("a text content")
}

#[tokio::test]
async fn a_session_lists_calls_pings_and_closes() {
    let server = mcp_server(McpServerOptions::default()).await;
    in_time(async {
        let mut session = McpSession::connect(&http_client(), &server.url()).await.unwrap();
        assert_eq!(session.server_name(), "mcp-connect-lab");
        assert_eq!(session.protocol_version(), "2025-06-18");
        assert!(session.session_id().is_some_and(|id| !id.is_empty()));

        let mut tools = session.tools_list().await.unwrap();
        tools.sort();
        assert_eq!(tools, ["blob", "echo", "sleep"]);

        let echoed = session.call_tool("echo", json!({"text": "héllo, lab"})).await.unwrap();
        assert_eq!(text_of(&echoed), "héllo, lab");
        let blob = session.call_tool("blob", json!({"bytes": 200_000})).await.unwrap();
        assert_eq!(text_of(&blob).len(), 200_000);
        let slept = session.call_tool("sleep", json!({"ms": 20})).await.unwrap();
        assert_eq!(text_of(&slept), "slept 20 ms");
        session.ping().await.unwrap();

        let mut stale = session.clone();
        session.close().await.unwrap();
        match stale.ping().await {
            Err(McpError::Http { status, .. }) => assert_eq!(status, StatusCode::NOT_FOUND),
            other => panic!("a closed session answered {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn rpc_and_tool_errors_come_back_as_such() {
    let server = mcp_server(McpServerOptions::default()).await;
    in_time(async {
        let mut session = McpSession::connect(&http_client(), &server.url()).await.unwrap();
        match session.request("no/such/method", json!({})).await {
            Err(McpError::Rpc { code, .. }) => assert_eq!(code, -32601, "method not found"),
            other => panic!("an unknown method answered {other:?}"),
        }
        // A tool's own failure is a result with `isError`, not a JSON-RPC error.
        let too_big = session.call_tool("blob", json!({"bytes": 17 << 20})).await.unwrap();
        assert_eq!(too_big["isError"], true);
        // The session survives both.
        session.ping().await.unwrap();
        session.close().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn twenty_concurrent_sessions_share_one_client() {
    let server = mcp_server(McpServerOptions::default()).await;
    let client = http_client();
    in_time(async {
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (client, url) = (client.clone(), server.url());
                tokio::spawn(async move {
                    let mut session = McpSession::connect(&client, &url).await?;
                    for _ in 0..5 {
                        assert_eq!(session.tools_list().await?.len(), 3);
                    }
                    let id = session.session_id().unwrap().to_owned();
                    session.close().await?;
                    Ok::<_, McpError>(id)
                })
            })
            .collect();
        let mut ids = Vec::new();
        for task in tasks {
            ids.push(task.await.unwrap().unwrap());
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 20, "every session has its own id");
    })
    .await;
}

/// A server that negotiates 2025-03-26 and answers every request with SSE cut into 7-byte
/// chunks: CRLF line ends, a priming event, a comment, a notification, a response to another
/// id, then the answer split over two `data:` lines, the last one unterminated. `ping` gets
/// plain JSON. Requests without the session and version headers get 400.
async fn canned(headers: HeaderMap, body: String) -> Response {
    let message: Value = serde_json::from_str(&body).unwrap();
    let Some(id) = message.get("id").cloned() else {
        return StatusCode::ACCEPTED.into_response();
    };
    let result = match message["method"].as_str().unwrap() {
        "initialize" => json!({"protocolVersion": "2025-03-26", "capabilities": {},
            "serverInfo": {"name": "canned", "version": "0"}}),
        _ if headers.get("mcp-session-id").is_none_or(|v| v != "canned-session")
            || headers.get("mcp-protocol-version").is_none_or(|v| v != "2025-03-26") =>
        {
            return (StatusCode::BAD_REQUEST, "missing session headers").into_response();
        }
        "ping" => {
            let answer = json!({"jsonrpc": "2.0", "id": id, "result": {}}).to_string();
            return ([("content-type", "application/json")], answer).into_response();
        }
        "tools/list" => json!({"tools": [{"name": "only"}]}),
        _ => json!({"echo": message["params"]}),
    };
    let answer = json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string();
    let (first, second) = answer.split_at(answer.find(",\"result\"").unwrap() + 1);
    let notification = json!({"jsonrpc": "2.0", "method": "notifications/message",
        "params": {"level": "info", "data": "hello"}});
    let text = format!(
        "id: 0\r\ndata:\r\n\r\n: comment\r\nevent: message\r\ndata: {notification}\r\n\r\n\
         data: {{\"jsonrpc\":\"2.0\",\"id\":999,\"result\":{{}}}}\r\n\r\n\
         data: {first}\r\ndata:{second}"
    );
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        text.as_bytes().chunks(7).map(|c| Ok(c.to_vec())).collect();
    let mut response = Body::from_stream(futures::stream::iter(chunks)).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", "text/event-stream".parse().unwrap());
    headers.insert("mcp-session-id", "canned-session".parse().unwrap());
    response
}

#[tokio::test]
async fn sse_framing_is_read_event_by_event() {
    let app = axum::Router::new().route("/mcp", axum::routing::post(canned));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    in_time(async {
        let mut session = McpSession::connect(&http_client(), &url).await.unwrap();
        assert_eq!(session.server_name(), "canned");
        assert_eq!(session.session_id(), Some("canned-session"));
        assert_eq!(session.protocol_version(), "2025-03-26");
        assert_eq!(session.tools_list().await.unwrap(), ["only"]);
        let echoed = session.request("x/echo", json!({"a": [1, 2]})).await.unwrap();
        assert_eq!(echoed, json!({"echo": {"a": [1, 2]}}));
        session.ping().await.unwrap();
        // No DELETE route: axum answers 405, which the spec allows.
        session.close().await.unwrap();
    })
    .await;
}
