//! The lab gateway's own client faces, as mcp-bridge's gateway has them: `/ws` (the JSON
//! envelope over WebSocket, token checked at the upgrade, one answer per text frame, in
//! order) and `POST /api/v1/mcp` (envelope in, bare JSON-RPC out, always 200), with the
//! backend reached as the real gateway reaches it. A real WebSocket client over TLS that
//! trusts exactly the gateway's certificate.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use futures::{SinkExt, StreamExt};
use jsonwebtoken::{EncodingKey, Header};
use mcp_connect::lab::gateway::{Gateway, GatewayOptions};
use mcp_connect::lab::mcp::McpServerOptions;
use mcp_connect::net::{Http, Target};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{WebSocketStream, client_async};

use crate::support::gateways::{lab_gateway, now};
use crate::support::mcp_server;

const SECRET: &str = "a-lab-gateway-ws-secret-of-forty-chars!!";

type Ws = WebSocketStream<TlsStream<TcpStream>>;

fn mint(secret: &str, claims: &Value) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&Header::default(), claims, &key).unwrap()
}

/// What the gateway admits: iss and aud `mcp-gateway`, sub `alice`, an hour to live.
fn token() -> String {
    let claims =
        json!({"sub": "alice", "iss": "mcp-gateway", "aud": "mcp-gateway", "exp": now() + 3600});
    mint(SECRET, &claims)
}

/// A TLS connection to the gateway that trusts its certificate and nothing else.
async fn tls(gateway: &Gateway) -> TlsStream<TcpStream> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(gateway.cert_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(gateway.addr).await.unwrap();
    let name = ServerName::IpAddress(Ipv4Addr::LOCALHOST.into());
    TlsConnector::from(Arc::new(config)).connect(name, tcp).await.expect("the TLS handshake")
}

/// Opens `/ws` with `token` as the bearer, if any.
async fn open(gateway: &Gateway, token: Option<&str>) -> Result<Ws, WsError> {
    let mut request = gateway.ws_url().into_client_request().unwrap();
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().unwrap();
        request.headers_mut().insert("authorization", value);
    }
    let (ws, response) = client_async(request, tls(gateway).await).await?;
    assert!(response.headers().get("sec-websocket-protocol").is_none(), "no subprotocol");
    Ok(ws)
}

async fn connect(gateway: &Gateway) -> Ws {
    open(gateway, Some(&token())).await.expect("the upgrade is admitted")
}

/// An envelope as mcp-bridge's router sends it.
fn envelope(payload: Value) -> Value {
    json!({
        "id": payload.get("id").cloned().unwrap_or(Value::Null),
        "timestamp": humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        "source": "local-router",
        "target_namespace": "system",
        "auth_token": token(),
        "mcp_payload": payload,
    })
}

fn request(id: Value, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

fn initialize(id: Value) -> Value {
    let params = json!({"protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "lab-gateway-ws-tests", "version": "0"}});
    request(id, "initialize", params)
}

fn initialized() -> Value {
    json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
}

fn echo(id: Value, text: &str) -> Value {
    request(id, "tools/call", json!({"name": "echo", "arguments": {"text": text}}))
}

async fn send(ws: &mut Ws, frame: &Value) {
    ws.send(Message::text(frame.to_string())).await.expect("the frame is sent");
}

/// The next text frame as JSON, pings and pongs skipped; fails after ten seconds (a hang).
async fn answer(ws: &mut Ws) -> Value {
    let next = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("wanted a text frame, got {other:?}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), next).await.expect("an answer within 10 s")
}

/// Whether anything but pings and pongs arrives within `wait`.
async fn silent_for(ws: &mut Ws, wait: Duration) -> bool {
    let next = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => return other,
            }
        }
    };
    tokio::time::timeout(wait, next).await.is_err()
}

/// `initialize` and `notifications/initialized`, as a router opens a session.
async fn handshake(ws: &mut Ws) -> Value {
    send(ws, &envelope(initialize(json!(1)))).await;
    let initialized_answer = answer(ws).await;
    send(ws, &envelope(initialized())).await;
    let notification = answer(ws).await;
    assert_eq!(notification["mcp_payload"]["id"], Value::Null, "{notification}");
    initialized_answer
}

/// The -32603 error inside an answer envelope, as `(id, message)`.
fn failure(envelope: &Value) -> (Value, String) {
    let payload = &envelope["mcp_payload"];
    assert_eq!(payload["error"]["code"], -32603, "{envelope}");
    let message = payload["error"]["message"].as_str().unwrap().to_owned();
    (payload["id"].clone(), message)
}

fn no_endpoints(namespace: &str) -> String {
    format!("[router] UNAVAILABLE: no endpoints available for namespace: {namespace}")
}

#[tokio::test]
async fn without_a_token_or_with_a_bad_one_the_upgrade_is_401_unauthorized() {
    let backend = mcp_server(McpServerOptions::default()).await;
    let gateway = lab_gateway(backend.url(), SECRET, |_| {}).await;
    let no_iss = mint(SECRET, &json!({"sub": "alice", "aud": "mcp-gateway"}));
    let cases = [
        (None, "missing bearer token"),
        (Some(mint("another-secret-of-forty-characters-long!", &json!({}))), "invalid signature"),
        (Some(no_iss), "invalid issuer"),
    ];
    for (token, reason) in cases {
        match open(&gateway, token.as_deref()).await {
            Err(WsError::Http(response)) => {
                assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{reason}");
                let challenge = response.headers()["www-authenticate"].to_str().unwrap();
                assert!(challenge.contains(reason), "{challenge}");
                let body = String::from_utf8(response.body().clone().unwrap()).unwrap();
                assert_eq!(body.trim(), "Unauthorized");
            }
            Err(other) => panic!("{reason}: wanted a 401, got {other}"),
            Ok(_) => panic!("{reason}: the upgrade was admitted"),
        }
    }
    assert_eq!(gateway.ws_connections(), 0);
    assert_eq!(gateway.envelopes(), 0);
}

#[tokio::test]
async fn a_session_initializes_lists_and_calls_tools_through_envelopes() {
    let backend = mcp_server(McpServerOptions::default()).await;
    let gateway = lab_gateway(backend.url(), SECRET, |_| {}).await;
    let mut ws = connect(&gateway).await;
    wait_until(|| gateway.ws_connections() == 1).await;

    send(&mut ws, &envelope(initialize(json!(1)))).await;
    let init = answer(&mut ws).await;
    assert_eq!(init["source"], "gateway", "{init}");
    assert_eq!(init["id"], 1);
    let stamp = init["timestamp"].as_str().unwrap();
    assert!(humantime::parse_rfc3339(stamp).is_ok(), "an RFC 3339 timestamp: {stamp}");
    assert_eq!(init["mcp_payload"]["jsonrpc"], "2.0");
    assert_eq!(init["mcp_payload"]["id"], 1);
    assert_eq!(init["mcp_payload"]["result"]["serverInfo"]["name"], "mcp-connect-lab");

    send(&mut ws, &envelope(initialized())).await;
    let notification = answer(&mut ws).await;
    assert_eq!(notification["source"], "gateway");
    assert_eq!(notification["id"], Value::Null);
    let (id, message) = failure(&notification);
    assert_eq!(id, Value::Null, "a notification's answer has no id");
    assert!(message.contains("UNAVAILABLE"), "{message}");

    // Only the backend session made by `initialize` lets these through.
    send(&mut ws, &envelope(request(json!(2), "tools/list", json!({})))).await;
    let list = answer(&mut ws).await;
    assert_eq!(list["id"], 2);
    let tools = list["mcp_payload"]["result"]["tools"].as_array().expect("tools").clone();
    assert!(tools.iter().any(|t| t["name"] == "echo"), "{list}");
    send(&mut ws, &envelope(echo(json!("three"), "over the envelope"))).await;
    let echoed = answer(&mut ws).await;
    assert_eq!(echoed["id"], "three", "a string id is echoed as is");
    let content = &echoed["mcp_payload"]["result"]["content"][0]["text"];
    assert_eq!(content, "over the envelope", "{echoed}");
    assert_eq!(gateway.envelopes(), 4);
}

#[tokio::test]
async fn frames_sent_at_once_are_answered_one_each_in_order_and_binary_is_ignored() {
    let backend = mcp_server(McpServerOptions::default()).await;
    let gateway = lab_gateway(backend.url(), SECRET, |_| {}).await;
    let mut ws = connect(&gateway).await;
    handshake(&mut ws).await;

    // The first is slow: answered concurrently, it would come last.
    let sleep =
        request(json!(10), "tools/call", json!({"name": "sleep", "arguments": {"ms": 300}}));
    send(&mut ws, &envelope(sleep)).await;
    for id in 11..=13 {
        send(&mut ws, &envelope(echo(json!(id), &format!("frame {id}")))).await;
    }
    let binary = envelope(echo(json!(99), "in a binary frame")).to_string();
    ws.send(Message::binary(binary.into_bytes())).await.unwrap();
    send(&mut ws, &envelope(echo(json!(14), "frame 14"))).await;

    let mut ids = Vec::new();
    for _ in 10..=14 {
        let answered = answer(&mut ws).await;
        assert!(answered["mcp_payload"].get("result").is_some(), "{answered}");
        ids.push(answered["id"].as_i64().unwrap());
    }
    assert_eq!(ids, [10, 11, 12, 13, 14]);
    assert!(silent_for(&mut ws, Duration::from_millis(500)).await, "no answer to binary");
    assert_eq!(gateway.envelopes(), 2 + 5, "the binary frame was not admitted");
}

#[tokio::test]
async fn a_message_over_one_mib_ends_the_connection_and_one_under_is_served() {
    let backend = mcp_server(McpServerOptions::default()).await;
    let gateway = lab_gateway(backend.url(), SECRET, |_| {}).await;
    let mut ws = connect(&gateway).await;
    handshake(&mut ws).await;
    let half = "x".repeat(512 << 10);
    send(&mut ws, &envelope(echo(json!(2), &half))).await;
    let echoed = answer(&mut ws).await;
    assert_eq!(echoed["mcp_payload"]["result"]["content"][0]["text"], half.as_str());

    let big = envelope(echo(json!(3), &"x".repeat(2 << 20))).to_string();
    let ended = async {
        if ws.send(Message::text(big)).await.is_err() {
            return "the send failed".to_owned();
        }
        loop {
            match ws.next().await {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map(|f| f.code);
                    assert_eq!(code, Some(CloseCode::Size), "message too big");
                    return "closed".to_owned();
                }
                Some(Ok(other)) => panic!("an answer to a message over the limit: {other:?}"),
                Some(Err(error)) => return format!("broken: {error}"),
                None => return "ended".to_owned(),
            }
        }
    };
    let how = tokio::time::timeout(Duration::from_secs(10), ended).await;
    let how = how.expect("the connection ends within 10 s, not a hang");
    eprintln!("after 2 MiB: {how}");
    wait_until(|| gateway.ws_connections() == 0).await;
}

#[tokio::test]
async fn a_backend_that_is_down_or_a_frame_without_payload_gets_a_32603_answer() {
    let gateway = lab_gateway("http://127.0.0.1:9/mcp".into(), SECRET, |_| {}).await;
    let mut ws = connect(&gateway).await;

    send(&mut ws, &envelope(initialize(json!(1)))).await;
    let init = answer(&mut ws).await;
    assert_eq!((init["id"].clone(), init["source"].clone()), (json!(1), json!("gateway")));
    assert_eq!(failure(&init), (json!(1), no_endpoints("system")));

    // Without target_namespace the method names it; with one, that one wins.
    let mut dotted = envelope(request(json!(2), "serena.find_symbol", json!({})));
    dotted.as_object_mut().unwrap().remove("target_namespace");
    send(&mut ws, &dotted).await;
    assert_eq!(failure(&answer(&mut ws).await), (json!(2), no_endpoints("serena")));
    let mut plain = envelope(request(json!(3), "resources/list", json!({})));
    plain.as_object_mut().unwrap().remove("target_namespace");
    send(&mut ws, &plain).await;
    assert_eq!(failure(&answer(&mut ws).await), (json!(3), no_endpoints("default")));
    let mut targeted = envelope(request(json!(4), "serena.find_symbol", json!({})));
    targeted["target_namespace"] = json!("tools");
    send(&mut ws, &targeted).await;
    assert_eq!(failure(&answer(&mut ws).await), (json!(4), no_endpoints("tools")));

    send(&mut ws, &json!({"id": 5, "source": "local-router"})).await;
    let missing = answer(&mut ws).await;
    assert_eq!(failure(&missing), (json!(5), "missing MCP payload".to_owned()));
    ws.send(Message::text("not json")).await.unwrap();
    let (id, message) = failure(&answer(&mut ws).await);
    assert_eq!(id, Value::Null);
    assert!(message.starts_with("invalid wire message"), "{message}");
}

#[tokio::test]
async fn dropped_connections_end_without_a_close_frame_and_new_ones_are_served() {
    let backend = mcp_server(McpServerOptions::default()).await;
    let gateway = lab_gateway(backend.url(), SECRET, |_| {}).await;
    let (mut first, mut second) = (connect(&gateway).await, connect(&gateway).await);
    handshake(&mut first).await;
    wait_until(|| gateway.ws_connections() == 2).await;

    gateway.drop_connections();
    for ws in [&mut first, &mut second] {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next()).await;
        match next.expect("the stream ends within 10 s") {
            Some(Ok(message)) => panic!("wanted the TCP connection gone, got {message:?}"),
            Some(Err(error)) => eprintln!("dropped: {error}"),
            None => {}
        }
    }
    wait_until(|| gateway.ws_connections() == 0).await;

    let mut third = connect(&gateway).await;
    let init = handshake(&mut third).await;
    assert_eq!(init["mcp_payload"]["result"]["serverInfo"]["name"], "mcp-connect-lab");
    assert_eq!(gateway.ws_connections(), 1);
}

#[tokio::test]
async fn the_gateway_pings_on_its_interval_and_answers_pings() {
    let backend = mcp_server(McpServerOptions::default()).await;
    let gateway =
        lab_gateway(backend.url(), SECRET, |o| o.ws_ping_interval = Duration::from_millis(100))
            .await;
    let mut ws = connect(&gateway).await;
    ws.send(Message::Ping(b"are you there".to_vec().into())).await.unwrap();
    let (mut pinged, mut ponged) = (0, false);
    let watch = async {
        while pinged < 2 || !ponged {
            match ws.next().await {
                Some(Ok(Message::Ping(_))) => pinged += 1,
                Some(Ok(Message::Pong(data))) => ponged = &data[..] == b"are you there",
                other => panic!("wanted pings and a pong, got {other:?}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), watch).await.expect("pings and a pong");
    assert_eq!(GatewayOptions::default().ws_ping_interval, Duration::from_secs(30));
}

/// Polls `done` for up to ten seconds (a hang).
async fn wait_until(done: impl Fn() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not within 10 s");
}

/// A reqwest client trusting exactly the gateway's certificate.
fn https(gateway: &Gateway) -> reqwest::Client {
    let mut target = Target::new(gateway.frontend_url().parse().unwrap());
    target.tls.pin_sha256 = Some(gateway.fingerprint_sha256.replace(':', "").to_lowercase());
    Http::new(&target).unwrap().client
}

/// POSTs `body` to the frontend with `token`, if any: status and JSON answer.
async fn post(
    gateway: &Gateway,
    token: Option<&str>,
    body: &Value,
) -> (StatusCode, HeaderMap, Value) {
    let mut request = https(gateway).post(gateway.frontend_url()).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("an answer from the frontend");
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.json().await.expect("a JSON answer"))
}

#[tokio::test]
async fn the_http_frontend_takes_an_envelope_and_answers_bare_json_rpc_always_200() {
    let backend = mcp_server(McpServerOptions::default()).await;
    let gateway = lab_gateway(backend.url(), SECRET, |_| {}).await;
    let token = token();

    let (status, _, init) = post(&gateway, Some(&token), &envelope(initialize(json!(1)))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(init["jsonrpc"], "2.0", "bare JSON-RPC: {init}");
    assert!(init.get("mcp_payload").is_none() && init.get("source").is_none(), "{init}");
    assert_eq!(init["id"], 1);
    assert_eq!(init["result"]["serverInfo"]["name"], "mcp-connect-lab");

    let (status, _, note) = post(&gateway, Some(&token), &envelope(initialized())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((note["id"].clone(), note["error"]["code"].clone()), (Value::Null, json!(-32603)));

    // The session `initialize` made is reused.
    let list = envelope(request(json!(2), "tools/list", json!({})));
    let (status, _, tools) = post(&gateway, Some(&token), &list).await;
    assert_eq!(status, StatusCode::OK);
    assert!(tools["result"]["tools"].as_array().unwrap().iter().any(|t| t["name"] == "echo"));
    let (_, _, echoed) = post(&gateway, Some(&token), &envelope(echo(json!(3), "posted"))).await;
    assert_eq!(echoed["result"]["content"][0]["text"], "posted", "{echoed}");

    let missing = json!({"id": 4, "source": "local-router"});
    let (status, _, refused) = post(&gateway, Some(&token), &missing).await;
    assert_eq!(status, StatusCode::OK);
    let error = json!({"code": -32603, "message": "missing MCP payload"});
    assert_eq!(refused, json!({"jsonrpc": "2.0", "id": null, "error": error}));

    let (status, headers, body) = post(&gateway, None, &envelope(initialize(json!(5)))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!({"error": "unauthorized"}));
    assert!(headers["www-authenticate"].to_str().unwrap().contains("missing bearer token"));
    assert_eq!(gateway.envelopes(), 5, "the refused POST was not admitted");
}

#[tokio::test]
async fn the_http_frontend_answers_a_backend_that_is_down_with_200_and_no_endpoints() {
    let gateway = lab_gateway("http://127.0.0.1:9/mcp".into(), SECRET, |_| {}).await;
    let (status, _, answer) = post(&gateway, Some(&token()), &envelope(initialize(json!(1)))).await;
    assert_eq!(status, StatusCode::OK);
    let error = json!({"code": -32603, "message": no_endpoints("system")});
    assert_eq!(answer, json!({"jsonrpc": "2.0", "id": null, "error": error}));
}

/// What a scripted backend saw of one POST: its headers and body.
type Seen = Arc<Mutex<Vec<(HeaderMap, Value)>>>;

/// A backend that records every POST and answers by method: `initialize` JSON with a session
/// id, notifications 202, `tools/list` an event stream opened by an empty priming event,
/// `boom` 500, `garbage` a body that is not JSON.
async fn scripted_backend() -> (SocketAddr, Seen) {
    let seen = Seen::default();
    let record = seen.clone();
    let post = move |headers: HeaderMap, body: String| async move {
        let message: Value = serde_json::from_str(&body).unwrap();
        record.lock().unwrap().push((headers, message.clone()));
        let id = message["id"].clone();
        let result = json!({"jsonrpc": "2.0", "id": id, "result": {"method": message["method"]}});
        match message["method"].as_str().unwrap_or_default() {
            "initialize" => ([("mcp-session-id", "s-1")], axum::Json(result)).into_response(),
            "tools/list" => {
                let stream =
                    format!("id: 0\nretry: 3000\ndata:\n\nevent: message\ndata: {result}\n\n");
                ([("content-type", "text/event-stream")], stream).into_response()
            }
            "boom" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
            "garbage" => "not json".into_response(),
            _ if id.is_null() => StatusCode::ACCEPTED.into_response(),
            _ => axum::Json(result).into_response(),
        }
    };
    let app = axum::Router::new().route("/mcp", axum::routing::post(post));
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

#[tokio::test]
async fn the_backend_gets_bare_json_rpc_with_the_user_and_session_and_no_protocol_version() {
    let (backend, seen) = scripted_backend().await;
    let gateway = lab_gateway(format!("http://{backend}/mcp"), SECRET, |_| {}).await;
    let mut ws = connect(&gateway).await;

    send(&mut ws, &envelope(initialize(json!(1)))).await;
    assert_eq!(answer(&mut ws).await["mcp_payload"]["result"]["method"], "initialize");
    send(&mut ws, &envelope(initialized())).await;
    let (id, message) = failure(&answer(&mut ws).await);
    assert_eq!((id, message), (Value::Null, no_endpoints("system")), "202 is an error");
    send(&mut ws, &envelope(request(json!(2), "tools/list", json!({})))).await;
    let listed = answer(&mut ws).await;
    assert_eq!(listed["mcp_payload"]["result"]["method"], "tools/list", "{listed}");
    for (id, method) in [(3, "boom"), (4, "garbage")] {
        send(&mut ws, &envelope(request(json!(id), method, json!({})))).await;
        assert_eq!(failure(&answer(&mut ws).await), (json!(id), no_endpoints("system")));
    }

    let seen = seen.lock().unwrap().clone();
    let methods: Vec<_> = seen.iter().map(|(_, m)| m["method"].as_str().unwrap()).collect();
    assert_eq!(
        methods,
        ["initialize", "notifications/initialized", "tools/list", "boom", "garbage"]
    );
    for (index, (headers, message)) in seen.iter().enumerate() {
        let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(header("x-mcp-user").as_deref(), Some("alice"));
        assert_eq!(header("content-type").as_deref(), Some("application/json"));
        let accept = header("accept").unwrap_or_default();
        assert!(accept.contains("application/json") && accept.contains("text/event-stream"));
        assert_eq!(header("mcp-protocol-version"), None);
        assert_eq!(header("authorization"), None, "the token stays at the gateway");
        let session = if index == 0 { None } else { Some("s-1".to_owned()) };
        assert_eq!(header("mcp-session-id"), session, "{}", message["method"]);
        assert!(message.get("mcp_payload").is_none() && message["jsonrpc"] == "2.0");
    }
}
