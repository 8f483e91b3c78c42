//! The lab's MCP gateway: what mcp-bridge's gateway looks like to a client that reaches it by
//! its LoadBalancer or a port-forward to port 8443, with standard streamable HTTP behind it.
//!
//! - HTTPS with a self-signed certificate of its own (not the API server's CA), as a gateway
//!   deployed with its own certificate presents: clients must pin it or trust it.
//! - `/mcp`: `Authorization: Bearer <jwt>` checked as the real gateway checks it (see
//!   [`auth`]); refused → 401 with the reason. Admitted → passed to the backend MCP URL with
//!   `X-MCP-User: <sub>`, the answer streamed back (see [`proxy`]).
//! - `/ws` and `POST /api/v1/mcp`: the real gateway's own client faces, which speak its JSON
//!   envelope rather than standard MCP (see [`envelope`], [`ws`], [`frontend`]); the same
//!   token check, and the same backend behind them, reached as the real gateway reaches it.
//! - Optionally a limit on requests per second to `/mcp` (see [`limit`]) and a skewed clock.
//! - `/health`, `/healthz`, `/ready` on a second, plain-HTTP port (the pod's 8080).
//! - [`Gateway::freeze`]: both ports stand still, sockets open, as `kill -STOP` leaves a
//!   process (see [`freeze`]); [`Gateway::thaw`] lets them go on.
//!
//! Every other path answers 404.

pub mod auth;
pub mod envelope;
pub mod freeze;
pub mod frontend;
pub mod limit;
pub mod proxy;
pub mod ws;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::tls::LabTls;
use crate::net::tls::fingerprint;
use freeze::{Freezer, accept_loop};

/// How the gateway behaves.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// The streamable HTTP URL admitted requests go to, e.g. `http://127.0.0.1:PORT/mcp`.
    pub backend: String,
    /// The HMAC secret tokens must be signed with (the Secret's `jwt-secret-key`).
    pub secret: String,
    /// What `iss` must equal; empty: not checked.
    pub issuer: String,
    /// What `aud` must contain; empty: not checked.
    pub audience: String,
    /// Seconds added to this machine's clock when `exp` and `nbf` are judged: a gateway whose
    /// clock runs ahead (positive) or behind (negative).
    pub clock_skew: i64,
    /// At most this many requests to `/mcp` per second; the rest get 429. `None`: no limit.
    pub rate_limit: Option<u32>,
    /// How often `/ws` pings each connection (the real gateway: every 30 s).
    pub ws_ping_interval: Duration,
    /// Whether `/mcp` serves standard MCP too (the lab's own addition; the real gateway
    /// serves only its envelope faces).
    pub standard_mcp: bool,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            backend: String::new(),
            secret: String::new(),
            issuer: "mcp-gateway".to_owned(),
            audience: "mcp-gateway".to_owned(),
            clock_skew: 0,
            rate_limit: None,
            ws_ping_interval: Duration::from_secs(30),
            standard_mcp: true,
        }
    }
}

/// A running gateway. Stops when dropped, closing every open connection.
#[derive(Debug)]
pub struct Gateway {
    /// `https://127.0.0.1:PORT`; MCP is at [`Gateway::mcp_url`].
    pub url: String,
    /// `http://127.0.0.1:PORT`, the health port.
    pub health_url: String,
    pub addr: SocketAddr,
    pub health_addr: SocketAddr,
    /// The self-signed certificate it presents, PEM.
    pub cert_pem: String,
    /// Its SHA-256, as `AB:CD:…` (as the probe prints fingerprints).
    pub fingerprint_sha256: String,
    forwarded: Arc<AtomicU64>,
    envelopes: Arc<AtomicU64>,
    connections: Arc<ws::Connections>,
    freezer: Arc<Freezer>,
    stopping: CancellationToken,
}

/// What every request shares.
struct Shared {
    policy: auth::Policy,
    limiter: Option<limit::Limiter>,
    backend: String,
    client: reqwest::Client,
    forwarded: Arc<AtomicU64>,
    /// Envelopes admitted by `/ws` (text frames) and `/api/v1/mcp` (POSTs).
    envelopes: Arc<AtomicU64>,
    /// `/ws`'s open connections.
    ws: Arc<ws::Connections>,
    /// How often `/ws` pings.
    ws_ping_interval: Duration,
    /// The backend session `/api/v1/mcp` uses, once an `initialize` has made one.
    frontend_session: Mutex<Option<String>>,
}

impl Gateway {
    /// Listens on two free ports of 127.0.0.1 (HTTPS and health) and serves until dropped.
    pub async fn start(options: GatewayOptions) -> io::Result<Gateway> {
        if url::Url::parse(&options.backend).is_err() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the gateway's backend {:?} is not a URL", options.backend),
            ));
        }
        let tls = LabTls::self_signed("mcp-gateway lab").map_err(io::Error::other)?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(io::Error::other)?;
        let forwarded = Arc::new(AtomicU64::new(0));
        let envelopes = Arc::new(AtomicU64::new(0));
        let stopping = CancellationToken::new();
        let connections = Arc::new(ws::Connections::new(stopping.clone()));
        let shared = Arc::new(Shared {
            policy: auth::Policy::new(
                &options.secret,
                options.issuer,
                options.audience,
                options.clock_skew,
            ),
            limiter: options.rate_limit.map(limit::Limiter::new),
            backend: options.backend,
            client,
            forwarded: forwarded.clone(),
            envelopes: envelopes.clone(),
            ws: connections.clone(),
            ws_ping_interval: options.ws_ping_interval,
            frontend_session: Mutex::new(None),
        });
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let health = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let (addr, health_addr) = (listener.local_addr()?, health.local_addr()?);
        let mut app = Router::new();
        if options.standard_mcp {
            app = app.route("/mcp", any(mcp));
        }
        let app = app
            .route("/ws", any(ws::upgrade))
            .route("/api/v1/mcp", any(frontend::post))
            .with_state(shared);
        let acceptor = Some(TlsAcceptor::from(tls.server.clone()));
        let freezer = Arc::new(Freezer::default());
        tokio::spawn(accept_loop(listener, acceptor, app, stopping.clone(), freezer.clone()));
        let health_app = health_router();
        tokio::spawn(accept_loop(health, None, health_app, stopping.clone(), freezer.clone()));
        Ok(Gateway {
            url: format!("https://{addr}"),
            health_url: format!("http://{health_addr}"),
            addr,
            health_addr,
            cert_pem: tls.ca_pem,
            fingerprint_sha256: fingerprint(&tls.leaf_der),
            forwarded,
            envelopes,
            connections,
            freezer,
            stopping,
        })
    }

    /// The streamable HTTP endpoint clients use, `https://127.0.0.1:PORT/mcp`.
    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.url)
    }

    /// The WebSocket face, `wss://127.0.0.1:PORT/ws`.
    pub fn ws_url(&self) -> String {
        format!("wss://{}/ws", self.addr)
    }

    /// The HTTP frontend, `https://127.0.0.1:PORT/api/v1/mcp`.
    pub fn frontend_url(&self) -> String {
        format!("{}/api/v1/mcp", self.url)
    }

    /// How many requests to `/mcp` were admitted and passed to the backend.
    pub fn forwarded(&self) -> u64 {
        self.forwarded.load(Ordering::Relaxed)
    }

    /// How many envelopes `/ws` (text frames) and `/api/v1/mcp` (POSTs) admitted.
    pub fn envelopes(&self) -> u64 {
        self.envelopes.load(Ordering::Relaxed)
    }

    /// How many `/ws` connections are open.
    pub fn ws_connections(&self) -> usize {
        self.connections.open()
    }

    /// Drops every open `/ws` connection as the real gateway does on shutdown: the TCP
    /// connection goes, no close frame (the client sees 1006). Later connections are served.
    pub fn drop_connections(&self) {
        self.connections.drop_all();
    }

    /// Stops answering, as a frozen process does: connections stay open and new ones are
    /// accepted, but nothing is read or written on any of them (TLS handshakes included) until
    /// [`Gateway::thaw`].
    pub fn freeze(&self) {
        self.freezer.freeze();
    }

    /// Answers again; what waited goes on where it stopped.
    pub fn thaw(&self) {
        self.freezer.thaw();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.stopping.cancel();
    }
}

/// `/mcp`: the rate limit, then the token, then the backend.
async fn mcp(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    if let Some(limiter) = &shared.limiter
        && let Err(limited) = limiter.admit()
    {
        return limited.into_response();
    }
    let user = match shared.policy.admit(request.headers()) {
        Ok(user) => user,
        Err(refusal) => {
            tracing::debug!(%refusal, "lab gateway refused a request");
            return refusal.into_response();
        }
    };
    shared.forwarded.fetch_add(1, Ordering::Relaxed);
    proxy::forward(&shared.client, &shared.backend, &user, request).await
}

/// The health port's routes, as the gateway's chart probes them.
fn health_router() -> Router {
    let healthy = || async { Json(serde_json::json!({"status": "healthy"})) };
    Router::new()
        .route("/health", get(healthy))
        .route("/healthz", get(healthy))
        .route("/ready", get(healthy))
}
