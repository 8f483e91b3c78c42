//! Lab gateways for the tests: one with the options a test needs, and for the router's tests
//! labs of a gateway each, HTTPS with its own certificate, checking JWTs signed with one
//! secret, in front of its own lab MCP server.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mcp_connect::auth::{KubeAccess, Tokens};
use mcp_connect::lab::gateway::{Gateway, GatewayOptions};
use mcp_connect::lab::mcp::{Eras, McpServer, McpServerOptions};
use mcp_connect::net::TlsOptions;
use mcp_connect::router::{
    self, DEFAULT_REQUEST_TIMEOUT, GatewaySettings, HealthSettings, PoolSettings, Router,
    RouterSettings,
};
use serde_json::json;

use super::mcp::{McpError, McpSession};

/// Seconds since the Unix epoch, as JWT claims count time.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A lab gateway in front of `backend`, checking tokens signed with `secret`, its other options
/// as `tweak` sets them.
pub async fn lab_gateway(
    backend: String,
    secret: &str,
    tweak: impl FnOnce(&mut GatewayOptions),
) -> Gateway {
    let mut options = GatewayOptions { backend, secret: secret.into(), ..Default::default() };
    tweak(&mut options);
    Gateway::start(options).await.expect("the gateway starts")
}

pub const SECRET: &str = "a-router-test-secret-of-forty-characters";
pub const SECRET_VAR: &str = "MCP_CONNECT_TEST_ROUTER_JWT_SECRET";

/// A lab gateway and the MCP server behind it, which announces itself as `name`.
pub struct Lab {
    pub name: String,
    pub backend: Option<McpServer>,
    pub backend_addr: SocketAddr,
    pub gateway: Option<Gateway>,
    /// Its standard MCP endpoint, `https://127.0.0.1:PORT/mcp`.
    pub url: String,
    /// Its envelope WebSocket, `wss://127.0.0.1:PORT/ws`.
    pub ws_url: String,
    pub pin: String,
    /// The MCP eras its server speaks.
    pub eras: Eras,
}

impl Lab {
    pub async fn start(name: &str) -> Lab {
        Lab::start_with_secret(name, SECRET).await
    }

    /// A lab whose gateway checks tokens against `secret` (the router's are signed with
    /// [`SECRET`]).
    pub async fn start_with_secret(name: &str, secret: &str) -> Lab {
        Lab::start_full(name, secret, Eras::Both).await
    }

    /// A lab whose MCP server speaks only `eras` (see `lab::mcp::Eras`).
    pub async fn start_speaking(name: &str, eras: Eras) -> Lab {
        Lab::start_full(name, SECRET, eras).await
    }

    async fn start_full(name: &str, secret: &str, eras: Eras) -> Lab {
        let backend = backend(name, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), eras).await;
        let options =
            GatewayOptions { backend: backend.url(), secret: secret.into(), ..Default::default() };
        let gateway = Gateway::start(options).await.expect("the gateway starts");
        Lab {
            name: name.to_owned(),
            backend_addr: backend.addr(),
            backend: Some(backend),
            url: gateway.mcp_url(),
            ws_url: gateway.ws_url(),
            pin: gateway.fingerprint_sha256.replace(':', "").to_lowercase(),
            gateway: Some(gateway),
            eras,
        }
    }

    pub fn settings(&self, weight: u32) -> GatewaySettings {
        GatewaySettings {
            url: self.url.parse().unwrap(),
            weight,
            tokens: Some(tokens()),
            own_auth: false,
            tls: TlsOptions { pin_sha256: Some(self.pin.clone()), ..Default::default() },
        }
    }

    /// The router's settings for its envelope WebSocket (`wss://…/ws`), as [`Lab::settings`]
    /// gives them for its `/mcp`.
    pub fn settings_ws(&self, weight: u32) -> GatewaySettings {
        GatewaySettings { url: self.ws_url.parse().unwrap(), ..self.settings(weight) }
    }

    /// The backend again, on the same address.
    pub async fn restart_backend(&mut self) {
        self.backend = Some(backend(&self.name, self.backend_addr, self.eras).await);
    }
}

async fn backend(name: &str, addr: SocketAddr, eras: Eras) -> McpServer {
    let options = McpServerOptions { name: name.into(), eras, ..Default::default() };
    McpServer::start(addr, options).await.expect("the lab MCP server starts")
}

/// A router on a free port of 127.0.0.1 over one pool, `lab-pool`, of `gateways`, with active
/// health checks every `every` when `checks`.
pub async fn start_router(gateways: Vec<GatewaySettings>, checks: bool, every: Duration) -> Router {
    let health = HealthSettings { enabled: checks, interval: every, ..Default::default() };
    start_pool(PoolSettings {
        name: "lab-pool".into(),
        gateways,
        health,
        request_timeout: DEFAULT_REQUEST_TIMEOUT,
    })
    .await
}

/// A router on a free port of 127.0.0.1 over `pool`.
pub async fn start_pool(pool: PoolSettings) -> Router {
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    router::start(RouterSettings { listen, pools: vec![pool], origin: Default::default() })
        .await
        .expect("the router starts")
}

/// Credentials as a profile names them: a JWT signed with the secret in an env variable.
pub fn tokens() -> Tokens {
    static SET: std::sync::Once = std::sync::Once::new();
    // SAFETY: set once, to one value, before any token of this binary is minted.
    SET.call_once(|| unsafe { std::env::set_var(SECRET_VAR, SECRET) });
    let yaml = format!(
        "name: router-test\ntitle: Router test\nlink:\n  direct:\n    url: https://127.0.0.1:1\n\
         auth:\n  jwt:\n    secret:\n      env: {SECRET_VAR}\n    subject: router-test\n"
    );
    let profile = mcp_connect::profile::parse(&yaml, "router-test.yaml").unwrap();
    Tokens::for_profile(&profile, KubeAccess::default()).unwrap()
}

/// A request every 50 ms on `session` (ping and tools/list in turn), the gateway at
/// `labs[doomed]` killed after 1 s: asserts that none failed, also across the kill, that a
/// 4 s `tools/call` `caller` started on the killed gateway got the error that explains it, and
/// that `session` still echoes afterwards. The requests go on for 3 s, and after that until one
/// was answered after the kill (30 s at most, which only catches a failover that never
/// happens). The failover's gap, from the last answer before the kill to the first after it,
/// is printed: how short it is, P7 of `cargo bench --bench router` measures.
pub async fn kill_mid_session(
    session: &mut McpSession,
    mut caller: McpSession,
    labs: &mut [Lab],
    doomed: usize,
    urls: (&str, &str),
) {
    let (doomed_url, survivor_url) = urls;
    let call = tokio::spawn(async move { caller.call_tool("sleep", json!({"ms": 4000})).await });
    let started = Instant::now();
    let (mut answers, mut failures, mut killed) = (Vec::new(), Vec::new(), None);
    for n in 0.. {
        let answered_after_kill = killed.is_some_and(|k| answers.last().is_some_and(|a| *a >= k));
        if started.elapsed() > Duration::from_secs(3)
            && (answered_after_kill || !failures.is_empty())
        {
            break;
        }
        let waited = started.elapsed();
        assert!(waited < Duration::from_secs(30), "no answer after the kill: {failures:?}");
        if killed.is_none() && started.elapsed() >= Duration::from_secs(1) {
            drop(labs[doomed].gateway.take());
            killed = Some(Instant::now());
        }
        let answer = match n % 2 {
            0 => session.ping().await,
            _ => session.tools_list().await.map(drop),
        };
        match answer {
            Ok(()) => answers.push(Instant::now()),
            Err(error) => failures.push(error.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(failures.is_empty(), "safe requests failed: {failures:?}");
    let killed = killed.unwrap();
    let last_old = answers.iter().filter(|t| **t < killed).max().unwrap();
    let first_new = answers.iter().filter(|t| **t >= killed).min().unwrap();
    let gap = *first_new - *last_old;
    eprintln!("{} safe requests, 0 failed; failover gap {gap:?}", answers.len());

    match call.await.unwrap() {
        Err(McpError::Rpc { message, .. }) => {
            let said = format!("gateway {doomed_url} went down during tools/call");
            assert!(message.contains(&said), "{message}");
            assert!(message.contains("was not retried because it may have run"), "{message}");
            let continues = format!("the session continues on gateway {survivor_url}");
            assert!(message.contains(&continues), "{message}");
        }
        other => panic!("the in-flight tools/call should get the explaining error: {other:?}"),
    }
    let echoed = session.call_tool("echo", json!({"text": "still here"})).await.unwrap();
    assert_eq!(echoed["content"][0]["text"], json!("still here"));
}
