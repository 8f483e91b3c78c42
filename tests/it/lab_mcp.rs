//! The lab's reference MCP server, seen on the wire: raw HTTP with reqwest, so each test shows
//! the status codes, headers and SSE framing a client meets.

use std::time::{Duration, Instant};

use mcp_connect::lab::mcp::{McpServer, McpServerOptions};
use mcp_connect::lab::tls::{LabCa, LabTls};
use reqwest::{Certificate, Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

use crate::support::{EventReader, mcp_server};

const ACCEPT_BOTH: &str = "application/json, text/event-stream";
const VERSION: &str = "2025-06-18";
/// No single exchange may take longer than this: only a hang takes so long.
const PATIENCE: Duration = Duration::from_secs(10);

fn initialize(version: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": version, "capabilities": {},
        "clientInfo": {"name": "lab-test", "version": "0"}}})
}

fn request(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

fn call(id: u64, tool: &str, arguments: Value) -> Value {
    request(id, "tools/call", json!({"name": tool, "arguments": arguments}))
}

/// A POST to `/mcp` with the headers a streamable HTTP client sends.
fn post(
    client: &Client,
    server: &McpServer,
    session: Option<&str>,
    body: &Value,
) -> RequestBuilder {
    let builder = client
        .post(server.url())
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .body(body.to_string());
    match session {
        Some(id) => builder.header("mcp-session-id", id).header("mcp-protocol-version", VERSION),
        None => builder,
    }
}

async fn send(builder: RequestBuilder) -> Response {
    tokio::time::timeout(PATIENCE, builder.send()).await.expect("answer in time").unwrap()
}

/// The JSON-RPC messages in an SSE body (`data:` lines; rmcp's priming events are empty).
async fn sse_messages(response: Response) -> Vec<Value> {
    let body =
        tokio::time::timeout(PATIENCE, response.text()).await.expect("body in time").unwrap();
    body.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter(|data| !data.trim().is_empty())
        .map(|data| serde_json::from_str(data.trim()).unwrap())
        .collect()
}

/// The one JSON-RPC answer of an SSE body.
async fn answer(response: Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut messages = sse_messages(response).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    messages.remove(0)
}

/// Initializes a streamable HTTP session; returns its id.
async fn open_session(client: &Client, server: &McpServer) -> String {
    let response = send(post(client, server, None, &initialize(VERSION))).await;
    let session = response.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    answer(response).await;
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let response = send(post(client, server, Some(&session), &initialized)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    session
}

fn text_of(result: &Value) -> &str {
    result["result"]["content"][0]["text"].as_str().unwrap()
}

#[tokio::test]
async fn a_streamable_http_session_from_initialize_to_delete() {
    let server = mcp_server(McpServerOptions::default()).await;
    let client = Client::new();

    let response = send(post(&client, &server, None, &initialize(VERSION))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let session = response.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    assert!(!session.is_empty());
    let init = answer(response).await;
    assert_eq!(init["id"], 1);
    assert_eq!(init["result"]["serverInfo"]["name"], "mcp-connect-lab");
    assert_eq!(init["result"]["protocolVersion"], VERSION);
    assert!(init["result"]["capabilities"]["tools"].is_object());

    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let response = send(post(&client, &server, Some(&session), &initialized)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let list = answer(
        send(post(&client, &server, Some(&session), &request(2, "tools/list", json!({})))).await,
    )
    .await;
    let mut names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["blob", "echo", "sleep"]);

    let echo = call(3, "echo", json!({"text": "héllo, lab"}));
    let echoed = answer(send(post(&client, &server, Some(&session), &echo)).await).await;
    assert_eq!(echoed["id"], 3);
    assert_eq!(text_of(&echoed), "héllo, lab");

    let delete = client.delete(server.url()).header("mcp-session-id", &session);
    assert_eq!(send(delete).await.status(), StatusCode::ACCEPTED);
    let after = send(post(&client, &server, Some(&session), &request(4, "ping", json!({})))).await;
    assert_eq!(after.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn blob_returns_exactly_the_bytes_asked_for_up_to_16_mib() {
    let server = mcp_server(McpServerOptions::default()).await;
    let client = Client::new();
    let session = open_session(&client, &server).await;

    let blob = answer(
        send(post(&client, &server, Some(&session), &call(2, "blob", json!({"bytes": 100_000}))))
            .await,
    )
    .await;
    let text = text_of(&blob);
    assert_eq!(text.len(), 100_000);
    assert!(text.bytes().all(|b| b == b'x'));

    let too_big = call(3, "blob", json!({"bytes": 16 * 1024 * 1024 + 1}));
    let refused = answer(send(post(&client, &server, Some(&session), &too_big)).await).await;
    assert_eq!(refused["result"]["isError"], true);
    assert!(text_of(&refused).contains("limit"), "{refused}");
}

#[tokio::test]
async fn sleep_waits_before_answering() {
    let server = mcp_server(McpServerOptions::default()).await;
    let client = Client::new();
    let session = open_session(&client, &server).await;

    let started = Instant::now();
    let slept = answer(
        send(post(&client, &server, Some(&session), &call(2, "sleep", json!({"ms": 150})))).await,
    )
    .await;
    assert_eq!(text_of(&slept), "slept 150 ms");
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn what_rmcp_answers_to_requests_it_cannot_serve() {
    let server = mcp_server(McpServerOptions::default()).await;
    let client = Client::new();
    let init = initialize(VERSION);

    let with = |accept: Option<&str>, content_type: &str| {
        let builder = client.post(server.url()).header("content-type", content_type);
        let builder = match accept {
            Some(accept) => builder.header("accept", accept),
            None => builder,
        };
        send(builder.body(init.to_string()))
    };
    let json = "application/json";
    // reqwest sends `Accept: */*` when none is set: not enough for rmcp.
    assert_eq!(with(None, json).await.status(), StatusCode::NOT_ACCEPTABLE);
    assert_eq!(with(Some(json), json).await.status(), StatusCode::NOT_ACCEPTABLE);
    let text_plain = with(Some(ACCEPT_BOTH), "text/plain").await;
    assert_eq!(text_plain.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let garbage = client.post(server.url()).header("accept", ACCEPT_BOTH);
    let garbage = garbage.header("content-type", json).body("{not json");
    // rmcp answers a body that is not a JSON-RPC message with 415, not 400.
    assert_eq!(send(garbage).await.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // A request other than initialize without a session: 400; with an unknown one: 404.
    let list = request(2, "tools/list", json!({}));
    assert_eq!(send(post(&client, &server, None, &list)).await.status(), StatusCode::BAD_REQUEST);
    let unknown = send(post(&client, &server, Some("no-such-session"), &list)).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // GET /mcp: reqwest's `Accept: */*` is not enough (406); with SSE accepted, no session → 400.
    assert_eq!(send(client.get(server.url())).await.status(), StatusCode::NOT_ACCEPTABLE);
    let get_sse = client.get(server.url()).header("accept", "text/event-stream");
    assert_eq!(send(get_sse).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(send(client.put(server.url())).await.status(), StatusCode::METHOD_NOT_ALLOWED);

    for path in ["/", "/healthz", "/message", "/mcp/"] {
        let response = send(client.get(format!("http://{}{path}", server.addr()))).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "GET {path}");
    }
}

#[tokio::test]
async fn legacy_sse_sends_the_endpoint_then_answers_as_message_events() {
    let server = mcp_server(McpServerOptions::default()).await;
    let client = Client::new();
    let base = format!("http://{}", server.addr());

    let response = send(client.get(format!("{base}/sse"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut events = EventReader::new(response);
    let (event, endpoint) = events.next().await;
    assert_eq!(event, "endpoint");
    assert!(endpoint.starts_with("/messages?session_id="), "{endpoint}");

    let to_session = |body: &Value| {
        client
            .post(format!("{base}{endpoint}"))
            .header("content-type", "application/json")
            .body(body.to_string())
    };
    let posted = send(to_session(&initialize("2024-11-05"))).await;
    assert_eq!(posted.status(), StatusCode::ACCEPTED);
    let (event, data) = events.next().await;
    assert_eq!(event, "message");
    let init: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(init["id"], 1);
    assert_eq!(init["result"]["protocolVersion"], "2024-11-05");
    assert_eq!(init["result"]["serverInfo"]["name"], "mcp-connect-lab");

    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(send(to_session(&initialized)).await.status(), StatusCode::ACCEPTED);
    let echo = call(2, "echo", json!({"text": "over sse"}));
    assert_eq!(send(to_session(&echo)).await.status(), StatusCode::ACCEPTED);
    let (event, data) = events.next().await;
    assert_eq!(event, "message");
    assert_eq!(text_of(&serde_json::from_str(&data).unwrap()), "over sse");

    let unknown = client.post(format!("{base}/messages?session_id=nope")).body(echo.to_string());
    assert_eq!(send(unknown).await.status(), StatusCode::NOT_FOUND);

    // Closing the stream ends the session (as soon as the server sees the connection go).
    drop(events);
    let deadline = Instant::now() + PATIENCE;
    while send(to_session(&echo)).await.status() != StatusCode::NOT_FOUND {
        assert!(Instant::now() < deadline, "the session outlives its stream");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn localhost_only_answers_421_to_other_hosts_like_serena() {
    let server = mcp_server(McpServerOptions { localhost_only: true, ..Default::default() }).await;
    let client = Client::new();
    let init = initialize(VERSION);

    let foreign = send(post(&client, &server, None, &init).header("host", "serena-mcp:8080")).await;
    assert_eq!(foreign.status(), StatusCode::MISDIRECTED_REQUEST);
    assert_eq!(foreign.text().await.unwrap(), "Invalid Host header");
    let sse = client.get(format!("http://{}/sse", server.addr())).header("host", "serena-mcp:8080");
    assert_eq!(send(sse).await.status(), StatusCode::MISDIRECTED_REQUEST);

    let loopback = format!("127.0.0.1:{}", server.addr().port());
    let local = send(post(&client, &server, None, &init).header("host", loopback)).await;
    assert_eq!(local.status(), StatusCode::OK);
    assert_eq!(answer(local).await["result"]["serverInfo"]["name"], "mcp-connect-lab");
}

#[tokio::test]
async fn without_localhost_only_any_host_is_served_and_the_name_is_ours() {
    let opts = McpServerOptions { name: "Serena".to_owned(), ..Default::default() };
    let server = mcp_server(opts).await;
    let client = Client::new();
    let init = initialize(VERSION);
    let response =
        send(post(&client, &server, None, &init).header("host", "serena-mcp:8080")).await;
    assert_eq!(answer(response).await["result"]["serverInfo"]["name"], "Serena");
}

#[tokio::test]
async fn shutdown_closes_the_port_and_open_connections() {
    let server = mcp_server(McpServerOptions::default()).await;
    let client = Client::new();
    let url = server.url();
    let addr = server.addr();
    let sse = send(client.get(format!("http://{addr}/sse"))).await;
    let mut events = EventReader::new(sse);
    assert_eq!(events.next().await.0, "endpoint");

    server.shutdown().await;
    let after =
        tokio::time::timeout(PATIENCE, events.response.chunk()).await.expect("closed in time");
    assert!(!matches!(after, Ok(Some(_))), "the SSE stream ends: {after:?}");
    let refused = tokio::time::timeout(PATIENCE, client.request(Method::POST, url).send()).await;
    assert!(refused.expect("refused in time").is_err());
}

#[tokio::test]
async fn expired_sessions_answer_404_and_a_new_initialize_works() {
    let server = mcp_server(McpServerOptions::default()).await;
    let client = Client::new();
    let first = open_session(&client, &server).await;
    let second = open_session(&client, &server).await;
    let ping = request(2, "ping", json!({}));
    assert_eq!(send(post(&client, &server, Some(&first), &ping)).await.status(), StatusCode::OK);

    assert_eq!(server.expire_sessions().await, 2);
    for old in [&first, &second] {
        let after = send(post(&client, &server, Some(old), &ping)).await;
        assert_eq!(after.status(), StatusCode::NOT_FOUND, "session {old}");
    }
    let fresh = open_session(&client, &server).await;
    assert_ne!(fresh, first);
    let pong = answer(send(post(&client, &server, Some(&fresh), &ping)).await).await;
    assert_eq!(pong["id"], 2);
    assert_eq!(server.expire_sessions().await, 1);
}

#[tokio::test]
async fn a_delay_holds_back_every_answer() {
    let delay = Duration::from_millis(300);
    let server = mcp_server(McpServerOptions { delay, ..Default::default() }).await;
    let client = Client::new();

    let started = Instant::now();
    let response = send(post(&client, &server, None, &initialize(VERSION))).await;
    let took = started.elapsed();
    assert_eq!(answer(response).await["result"]["serverInfo"]["name"], "mcp-connect-lab");
    assert!(took >= delay, "initialize answered after {took:?}, before the {delay:?} delay");

    // Errors too: a wrong path is a late 404.
    let started = Instant::now();
    let missing = send(client.get(format!("http://{}/nowhere", server.addr()))).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(started.elapsed() >= delay, "the 404 came after {:?}", started.elapsed());
}

/// A client that trusts only `pem` (no system roots).
fn trusting(pem: &str) -> reqwest::ClientBuilder {
    let cert = Certificate::from_pem(pem.as_bytes()).expect("a PEM certificate");
    Client::builder().no_proxy().tls_certs_only([cert])
}

/// The whole error chain of a failed request, as a user would read it.
fn refusal(error: reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// The name the server gives on `initialize` sent by `client`.
async fn initialize_with(client: &Client, server: &McpServer) -> String {
    let response = send(post(client, server, None, &initialize(VERSION))).await;
    answer(response).await["result"]["serverInfo"]["name"].as_str().unwrap().to_owned()
}

/// Why `client` gave up on `initialize` to `server` (the TLS handshake must fail).
async fn refused_by(client: &Client, server: &McpServer) -> String {
    let sent = post(client, server, None, &initialize(VERSION)).send();
    match tokio::time::timeout(PATIENCE, sent).await.expect("an outcome in time") {
        Ok(response) => panic!("the TLS handshake succeeded: HTTP {}", response.status()),
        Err(error) => refusal(error),
    }
}

#[tokio::test]
async fn https_with_the_labs_ca_and_refused_without_it() {
    let tls = LabTls::issue("lab MCP test CA").unwrap();
    let opts = McpServerOptions { tls: Some(tls.server.clone()), ..Default::default() };
    let server = mcp_server(opts).await;
    assert_eq!(server.url(), format!("https://{}/mcp", server.addr()));

    let stranger = LabCa::new("some other CA").unwrap();
    let refused = refused_by(&trusting(stranger.pem()).build().unwrap(), &server).await;
    assert!(refused.contains("UnknownIssuer"), "{refused}");
    // A plain-HTTP client gets no answer: the server drops what is not a TLS handshake.
    let plain = client_for_plain_http(&server).await;
    assert!(plain.is_err(), "plain HTTP to the TLS port: {plain:?}");

    // The failed handshakes did not stop the server.
    let client = trusting(&tls.ca_pem).build().unwrap();
    assert_eq!(initialize_with(&client, &server).await, "mcp-connect-lab");
    let leaf = Certificate::from_der(&tls.leaf_der);
    assert!(leaf.is_ok(), "the leaf DER parses");
}

/// `POST http://ADDR/mcp` to a server that speaks TLS.
async fn client_for_plain_http(server: &McpServer) -> Result<StatusCode, String> {
    let url = format!("http://{}/mcp", server.addr());
    let sent = Client::new().post(url).header("accept", ACCEPT_BOTH).send();
    let outcome = tokio::time::timeout(PATIENCE, sent).await.expect("an outcome in time");
    outcome.map(|r| r.status()).map_err(refusal)
}

#[tokio::test]
async fn a_self_signed_certificate_is_trusted_only_by_itself() {
    let tls = LabTls::self_signed("lab self-signed").unwrap();
    let server = mcp_server(McpServerOptions { tls: Some(tls.server), ..Default::default() }).await;

    let other = LabTls::self_signed("another self-signed").unwrap();
    let refused = refused_by(&trusting(&other.ca_pem).build().unwrap(), &server).await;
    assert!(refused.contains("UnknownIssuer"), "{refused}");
    let client = trusting(&tls.ca_pem).build().unwrap();
    assert_eq!(initialize_with(&client, &server).await, "mcp-connect-lab");
}

#[tokio::test]
async fn a_certificate_for_another_host_is_a_name_mismatch_on_127_0_0_1() {
    let ca = LabCa::new("lab gateway CA").unwrap();
    let tls = ca.issue(&["gateway.example.internal"]).unwrap();
    let server = mcp_server(McpServerOptions { tls: Some(tls.server), ..Default::default() }).await;
    assert_eq!(tls.ca_pem, ca.pem());

    let refused = refused_by(&trusting(ca.pem()).build().unwrap(), &server).await;
    assert!(refused.contains("not valid for name \"127.0.0.1\""), "{refused}");
    assert!(refused.contains("gateway.example.internal"), "{refused}");

    // Dialled by the name it was issued for, the same certificate is accepted.
    let by_name = trusting(ca.pem()).resolve("gateway.example.internal", server.addr());
    let by_name = by_name.build().unwrap();
    let url = format!("https://gateway.example.internal:{}/mcp", server.addr().port());
    let response = by_name
        .post(url)
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .body(initialize(VERSION).to_string());
    assert_eq!(
        answer(send(response).await).await["result"]["serverInfo"]["name"],
        "mcp-connect-lab"
    );
}

#[tokio::test]
async fn an_expired_certificate_is_refused_as_expired() {
    let ca = LabCa::new("lab expiry CA").unwrap();
    let tls = ca.issue_expired(&["127.0.0.1", "localhost"]).unwrap();
    let server = mcp_server(McpServerOptions { tls: Some(tls.server), ..Default::default() }).await;

    let refused = refused_by(&trusting(ca.pem()).build().unwrap(), &server).await;
    assert!(refused.contains("certificate expired"), "{refused}");

    // A good certificate from the same CA on another server: accepted.
    let good = ca.issue(&["127.0.0.1"]).unwrap();
    let server =
        mcp_server(McpServerOptions { tls: Some(good.server), ..Default::default() }).await;
    let client = trusting(ca.pem()).build().unwrap();
    assert_eq!(initialize_with(&client, &server).await, "mcp-connect-lab");
}
