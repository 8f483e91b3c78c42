//! The lab's MCP gateway: its JWT check refuses what mcp-bridge refuses and says why, admitted
//! sessions reach the backend unchanged (SSE streamed), its certificate is its own, and the
//! fake cluster's Service reaches it.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::IntoResponse;
use futures::StreamExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_connect::forward::{ForwardEvent, ForwardSpec, ForwardState};
use mcp_connect::lab::gateway::Gateway;
use mcp_connect::lab::kube::seed::GATEWAY;
use mcp_connect::lab::mcp::McpServerOptions;
use mcp_connect::lab::world::{Lab, LabOptions};
use mcp_connect::net::{Http, Target};
use mcp_connect::probe::{self, Hints, Outcome};
use mcp_connect::supervisor;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_util::sync::CancellationToken;

use crate::support::gateways::{lab_gateway, now};
use crate::support::mcp::McpSession;
use crate::support::{Home, mcp_server};

const SECRET: &str = "a-lab-gateway-secret-of-forty-characters";

fn mint_with(alg: Algorithm, secret: &str, claims: &Value) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&Header::new(alg), claims, &key).unwrap()
}

fn mint(claims: &Value) -> String {
    mint_with(Algorithm::HS256, SECRET, claims)
}

/// What the gateway wants: iss and aud `mcp-gateway`, an hour to live.
fn good_claims() -> Value {
    json!({"sub": "alice", "iss": "mcp-gateway", "aud": "mcp-gateway", "exp": now() + 3600})
}

/// `good_claims` with `changes` merged in; a `null` removes the claim.
fn claims_with(changes: Value) -> Value {
    let mut claims = good_claims();
    for (name, value) in changes.as_object().unwrap() {
        match value {
            Value::Null => claims.as_object_mut().unwrap().remove(name),
            _ => claims.as_object_mut().unwrap().insert(name.clone(), value.clone()),
        };
    }
    claims
}

/// `url`, trusting exactly the gateway's certificate, with the token if any.
fn pinned(gateway: &Gateway, url: &str, token: Option<&str>) -> Target {
    let mut target = Target::new(url.parse().unwrap());
    target.tls.pin_sha256 = Some(gateway.fingerprint_sha256.replace(':', "").to_lowercase());
    if let Some(token) = token {
        target.add_header(&format!("Authorization: Bearer {token}")).unwrap();
    }
    target
}

fn client(target: &Target) -> reqwest::Client {
    Http::new(target).unwrap().client
}

/// What a refused (or admitted) `initialize` got.
struct Answer {
    status: u16,
    challenge: String,
    retry_after: String,
    body: String,
}

/// POSTs `initialize` to the gateway's `/mcp` with `authorization` as the header, if any.
async fn initialize(gateway: &Gateway, authorization: Option<&str>) -> Answer {
    let client = client(&pinned(gateway, &gateway.mcp_url(), None));
    let message = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "lab-gateway-tests", "version": "0"}}});
    let mut request = client
        .post(gateway.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .json(&message);
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let response = request.send().await.expect("an answer from the gateway");
    let header = |name: &str| {
        response.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    };
    let (challenge, retry_after) = (header("www-authenticate"), header("retry-after"));
    let status = response.status().as_u16();
    Answer { status, challenge, retry_after, body: response.text().await.unwrap() }
}

fn bearer(claims: &Value) -> String {
    format!("Bearer {}", mint(claims))
}

#[tokio::test]
async fn a_good_token_initializes_through_the_gateway_and_the_session_lists_tools() {
    let backend = mcp_server(McpServerOptions::default()).await;
    let gateway = lab_gateway(backend.url(), SECRET, |_| {}).await;
    let token = mint(&good_claims());
    let target = pinned(&gateway, &gateway.mcp_url(), Some(&token));

    let mut session = McpSession::connect(&client(&target), &gateway.mcp_url())
        .await
        .expect("initialize through the gateway");
    assert_eq!(session.server_name(), "mcp-connect-lab");
    assert!(session.session_id().is_some_and(|id| !id.is_empty()), "the backend's session id");
    let tools = session.tools_list().await.expect("tools/list in the session");
    assert!(tools.iter().any(|t| t == "echo"), "{tools:?}");
    let echoed = session.call_tool("echo", json!({"text": "through the gateway"})).await.unwrap();
    assert!(echoed.to_string().contains("through the gateway"), "{echoed}");
    session.close().await.expect("DELETE ends the session");

    let Outcome::Healthy(report) = probe::check(&target, &Hints::default()).await.unwrap() else {
        panic!("the probe finds the gateway unhealthy")
    };
    assert_eq!(report.handshake.server.name, "mcp-connect-lab");
    assert_eq!(report.tools, 3);
    assert_eq!(report.certificate.unwrap().sha256, gateway.fingerprint_sha256);
    // Five in the session; the probe's server/discover and tools/list (2026-07-28: the gateway
    // passes Mcp-Method and Mcp-Name on, so the backend serves the probe's 2026 requests).
    assert!(gateway.forwarded() >= 7, "every request reached the backend");
}

#[tokio::test]
async fn each_bad_token_gets_401_naming_why_and_never_reaches_the_backend() {
    let backend = mcp_server(McpServerOptions::default()).await;
    let gateway = lab_gateway(backend.url(), SECRET, |_| {}).await;
    let hour_ago = now() - 3600;
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("no header", None, "missing bearer token"),
        ("not bearer", Some("Basic YWxpY2U6c2VjcmV0".into()), "invalid Authorization header"),
        ("not a JWT", Some("Bearer not-a-jwt".into()), "malformed token"),
        ("no iss", Some(bearer(&claims_with(json!({"iss": null})))), "invalid issuer"),
        ("wrong iss", Some(bearer(&claims_with(json!({"iss": "me"})))), "invalid issuer"),
        // The seed document's example payload.
        ("{sub, exp}", Some(bearer(&json!({"sub": "a", "exp": now() + 60}))), "invalid issuer"),
        ("no aud", Some(bearer(&claims_with(json!({"aud": null})))), "invalid audience"),
        ("wrong aud", Some(bearer(&claims_with(json!({"aud": ["api"]})))), "invalid audience"),
        ("expired", Some(bearer(&claims_with(json!({"exp": hour_ago})))), "token expired"),
        (
            "nbf ahead",
            Some(bearer(&claims_with(json!({"nbf": now() + 600})))),
            "token not yet valid",
        ),
        (
            "other secret",
            Some(format!("Bearer {}", mint_with(Algorithm::HS256, "other", &good_claims()))),
            "invalid signature",
        ),
    ];
    for (case, authorization, reason) in cases {
        let answer = initialize(&gateway, authorization.as_deref()).await;
        assert_eq!(answer.status, 401, "{case}: {}", answer.body);
        assert!(answer.body.starts_with(reason), "{case}: {}", answer.body);
        assert!(answer.challenge.starts_with("Bearer error=\"invalid_"), "{case}");
        assert!(answer.challenge.contains(&format!("error_description=\"{reason}")), "{case}");
    }
    let no_iss = initialize(&gateway, Some(&bearer(&claims_with(json!({"iss": null}))))).await;
    assert_eq!(no_iss.body, "invalid issuer: no iss; want \"mcp-gateway\"");
    assert_eq!(gateway.forwarded(), 0, "no refused request reached the backend");
}

#[tokio::test]
async fn hs384_hs512_an_audience_list_and_a_token_without_exp_are_admitted() {
    let backend = mcp_server(McpServerOptions::default()).await;
    let gateway = lab_gateway(backend.url(), SECRET, |_| {}).await;
    let tokens = [
        mint_with(Algorithm::HS384, SECRET, &good_claims()),
        mint_with(Algorithm::HS512, SECRET, &good_claims()),
        mint(&claims_with(json!({"aud": ["api", "mcp-gateway"]}))),
        mint(&claims_with(json!({"exp": null, "nbf": now() - 5}))),
    ];
    for token in tokens {
        let answer = initialize(&gateway, Some(&format!("Bearer {token}"))).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert!(answer.body.contains("mcp-connect-lab"), "{}", answer.body);
    }
}

/// A backend that tells what it received, and streams one SSE event on GET, then holds the
/// stream open.
async fn recording_backend() -> SocketAddr {
    async fn post(headers: HeaderMap) -> impl IntoResponse {
        let get = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
        let seen = json!({"user": get("x-mcp-user"), "authorization": get("authorization"),
            "session": get("mcp-session-id"), "version": get("mcp-protocol-version")});
        ([("mcp-session-id", "s-42"), ("mcp-protocol-version", "2025-06-18")], axum::Json(seen))
    }
    async fn get() -> impl IntoResponse {
        let first = futures::stream::once(async { Ok::<_, std::io::Error>("data: first\n\n") });
        let body = axum::body::Body::from_stream(first.chain(futures::stream::pending()));
        ([("content-type", "text/event-stream")], body)
    }
    let app = axum::Router::new().route(
        "/mcp",
        axum::routing::post(post).get(get).delete(|| async { axum::http::StatusCode::NO_CONTENT }),
    );
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test]
async fn the_backend_sees_the_user_not_the_token_and_an_sse_stream_is_not_held_back() {
    let backend = recording_backend().await;
    let gateway = lab_gateway(format!("http://{backend}/mcp"), SECRET, |_| {}).await;
    let token = mint(&good_claims());
    let http = client(&pinned(&gateway, &gateway.mcp_url(), Some(&token)));

    let response = http
        .post(gateway.mcp_url())
        .header("mcp-session-id", "s-42")
        .header("mcp-protocol-version", "2025-06-18")
        .json(&json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["mcp-session-id"], "s-42");
    assert_eq!(response.headers()["mcp-protocol-version"], "2025-06-18");
    let seen: Value = response.json().await.unwrap();
    assert_eq!(
        seen,
        json!({"user": "alice", "authorization": null, "session": "s-42", "version": "2025-06-18"})
    );

    let stream =
        http.get(gateway.mcp_url()).header("accept", "text/event-stream").send().await.unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut chunks = stream.bytes_stream();
    let first = tokio::time::timeout(Duration::from_secs(10), chunks.next())
        .await
        .expect("the first event arrives while the stream is still open")
        .unwrap()
        .unwrap();
    assert_eq!(&first[..], b"data: first\n\n");

    let deleted = http.delete(gateway.mcp_url()).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    let put = http.put(gateway.mcp_url()).send().await.unwrap();
    assert_eq!(put.status(), 405);
}

#[tokio::test]
async fn the_health_port_answers_healthy_over_plain_http() {
    let gateway = lab_gateway("http://127.0.0.1:9/mcp".into(), SECRET, |_| {}).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    for path in ["/health", "/healthz", "/ready"] {
        let response = http.get(format!("{}{path}", gateway.health_url)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.json::<Value>().await.unwrap(), json!({"status": "healthy"}));
    }
    let elsewhere = http.get(format!("{}/mcp", gateway.health_url)).send().await.unwrap();
    assert_eq!(elsewhere.status(), 404);
}

#[tokio::test]
async fn a_backend_that_is_down_is_a_502_naming_it() {
    let gateway = lab_gateway("http://127.0.0.1:9/mcp".into(), SECRET, |_| {}).await;
    let answer = initialize(&gateway, Some(&bearer(&good_claims()))).await;
    assert_eq!(answer.status, 502);
    assert!(answer.body.contains("cannot reach its MCP backend http://127.0.0.1:9/mcp"));
}

#[tokio::test]
async fn past_the_rate_limit_it_answers_429_with_retry_after_then_serves_again() {
    let backend = mcp_server(McpServerOptions::default()).await;
    let gateway = lab_gateway(backend.url(), SECRET, |o| o.rate_limit = Some(3)).await;
    let good = bearer(&good_claims());
    let mut answers = Vec::new();
    for _ in 0..10 {
        answers.push(initialize(&gateway, Some(&good)).await);
    }
    let limited: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    // One window, or two when the burst straddles a second: at most 6 pass.
    assert!(limited.len() >= 4, "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    assert!(answers.iter().all(|a| a.status == 200 || a.status == 429));
    assert_eq!(limited[0].retry_after, "1");
    assert!(limited[0].body.starts_with("rate limit exceeded"), "{}", limited[0].body);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(initialize(&gateway, Some(&good)).await.status, 200);
}

#[tokio::test]
async fn a_gateway_clock_ahead_or_behind_refuses_a_fresh_token() {
    let backend = mcp_server(McpServerOptions::default()).await;
    let fresh = bearer(&claims_with(json!({"nbf": now(), "iat": now()})));
    let in_step = lab_gateway(backend.url(), SECRET, |_| {}).await;
    assert_eq!(initialize(&in_step, Some(&fresh)).await.status, 200);

    let ahead = lab_gateway(backend.url(), SECRET, |o| o.clock_skew = 2 * 3600).await;
    let answer = initialize(&ahead, Some(&fresh)).await;
    assert_eq!(answer.status, 401);
    assert!(answer.body.starts_with("token expired"), "{}", answer.body);

    let behind = lab_gateway(backend.url(), SECRET, |o| o.clock_skew = -120).await;
    let answer = initialize(&behind, Some(&fresh)).await;
    assert_eq!(answer.status, 401);
    assert!(answer.body.starts_with("token not yet valid"), "{}", answer.body);
}

#[tokio::test]
async fn the_labs_gateway_presents_its_own_certificate_and_checks_the_secrets_key() {
    let lab = Lab::start(LabOptions::default()).await.expect("the lab starts");
    let gateway = &lab.gateway;
    let claims = good_claims();
    let token = mint_with(Algorithm::HS256, &lab.seeded.jwt_secret, &claims);

    // Trusting the API server's CA is not enough: the gateway's certificate is self-signed.
    let mut by_api_ca = Target::new(gateway.mcp_url().parse().unwrap());
    by_api_ca.add_header(&format!("Authorization: Bearer {token}")).unwrap();
    by_api_ca.tls.extra_roots =
        CertificateDer::pem_slice_iter(lab.api.ca_pem().as_bytes()).map(Result::unwrap).collect();
    let Outcome::Unhealthy { diagnosis, .. } =
        probe::check(&by_api_ca, &Hints::default()).await.unwrap()
    else {
        panic!("the API server's CA vouches for the gateway")
    };
    assert!(diagnosis.cause.contains("self-signed certificate no trusted CA signed"));
    assert!(diagnosis.cause.contains(&gateway.fingerprint_sha256), "{}", diagnosis.cause);

    let trusted = pinned(gateway, &gateway.mcp_url(), Some(&token));
    let Outcome::Healthy(report) = probe::check(&trusted, &Hints::default()).await.unwrap() else {
        panic!("the pinned gateway is refused")
    };
    assert_eq!(report.handshake.server.name, "mcp-connect-lab", "Serena's backend behind it");
    let cert = report.certificate.unwrap();
    assert!(cert.self_signed && cert.issuer.contains("mcp-gateway lab"), "{cert:?}");

    let other = mint(&claims);
    let answer = initialize(gateway, Some(&format!("Bearer {other}"))).await;
    assert_eq!(answer.status, 401, "a token of another secret");
}

/// Starts a port-forward to the gateway's Service `port`; answers its local URL.
async fn forward_to_gateway(lab: &Lab, port: u16, cancel: &CancellationToken) -> String {
    let spec = ForwardSpec {
        namespace: "mcp".into(),
        service: GATEWAY.into(),
        remote_port: port,
        local: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        scheme: if port == 8443 { "https" } else { "http" },
        path: String::new(),
        multiplexed: true,
    };
    let (tx, mut events) = mpsc::channel(1024);
    let kubeconfig = Some(lab.kubeconfig().to_path_buf());
    tokio::spawn(supervisor::run_forward(spec, None, kubeconfig, tx, cancel.clone()));
    let url = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match events.recv().await.expect("the forward runs") {
                ForwardEvent::State(ForwardState::Listening { url, .. }) => return url,
                ForwardEvent::State(ForwardState::Failed(t)) => {
                    panic!("the forward failed: {}; {}", t.cause, t.fix)
                }
                _ => {}
            }
        }
    })
    .await
    .expect("the forward listens within 15 s");
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_forward_to_the_gateway_service_reaches_the_gateway() {
    let lab = Lab::start(LabOptions::default()).await.expect("the lab starts");
    let cancel = CancellationToken::new();
    let _stop = cancel.clone().drop_guard();
    let https = forward_to_gateway(&lab, 8443, &cancel).await;
    let mcp = format!("{https}/mcp");

    let refused = client(&pinned(&lab.gateway, &mcp, None)).post(&mcp).send().await.unwrap();
    assert_eq!(refused.status(), 401, "TLS through the forward, then the JWT check");
    assert!(refused.text().await.unwrap().starts_with("missing bearer token"));

    let token = mint_with(Algorithm::HS256, &lab.seeded.jwt_secret, &good_claims());
    let target = pinned(&lab.gateway, &mcp, Some(&token));
    let Outcome::Healthy(report) = probe::check(&target, &Hints::default()).await.unwrap() else {
        panic!("MCP through the forward to the gateway fails")
    };
    assert_eq!(report.tools, 3);

    let health = forward_to_gateway(&lab, 8080, &cancel).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let ready = http.get(format!("{health}/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn mcp_connect_lab_prints_the_gateway_and_the_fingerprint_it_presents() {
    let home = Home::new();
    let mut child = home.command().arg("lab").stdout(Stdio::piped()).spawn().unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let printed: Vec<String> =
        lines.map(Result::unwrap).take_while(|line| line != "lab ready").collect();
    let find = |prefix: &str| {
        printed
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in {printed:#?}"))
            .split(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    let url = find("gateway: ");
    let sha = find("gateway certificate: self-signed, SHA-256 ");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    let mut target = Target::new(format!("{url}/mcp").parse().unwrap());
    target.tls.pin_sha256 = Some(sha.replace(':', "").to_lowercase());
    let answer = Http::new(&target).unwrap().client.post(target.url).send().await.unwrap();
    assert_eq!(answer.status(), 401, "the printed fingerprint is the one presented");
    assert_eq!(crate::support::stop(&mut child), 0);
}
