//! The lab's reference MCP server: what a Serena in the cluster looks like on the wire, with
//! test tools instead of Serena's.
//!
//! - `/mcp`: streamable HTTP, served by rmcp's `StreamableHttpService`: the `initialize`
//!   handshake with stateful sessions, and session-less MCP 2026-07-28, or only one of them
//!   (see [`eras`]), behind [`era_gate`] where rmcp answers otherwise than the real servers.
//! - `/sse` + `/messages`: the legacy HTTP+SSE transport (see [`sse`]); not on a 2026-only
//!   server.
//! - Tools `echo`, `sleep`, `blob` (see [`tools`]).
//! - Optionally Serena's localhost-only Host check (see [`host_check`]), HTTPS, and a fixed
//!   delay before every answer (see [`delay`]).
//! - [`McpServer::expire_sessions`] forgets every streamable HTTP session, as a restarted
//!   server does: the next request with an old `Mcp-Session-Id` gets 404.
//!
//! Every other path answers 404.

pub mod delay;
pub mod era_gate;
pub mod eras;
pub mod host_check;
pub(crate) mod serve;
pub mod sse;
pub mod tools;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_util::sync::CancellationToken;

pub use eras::Eras;
use tools::LabTools;

/// How the lab server behaves.
#[derive(Debug, Clone)]
pub struct McpServerOptions {
    /// Behave like Serena bound to 127.0.0.1: answer `421 Invalid Host header` to any `Host`
    /// other than `127.0.0.1:*`, `localhost:*`, `[::1]:*`. Off: any Host is served.
    pub localhost_only: bool,
    /// The `serverInfo.name` it announces.
    pub name: String,
    /// Serve HTTPS with this configuration (see `lab::tls` for certificates): every connection
    /// starts with a TLS handshake, and one that fails it is closed. `None`: plain HTTP.
    pub tls: Option<Arc<ServerConfig>>,
    /// How long every request waits before it is served, standing for a server far away: each
    /// answer comes this much later (see [`delay`]). Zero: no wait.
    pub delay: Duration,
    /// The MCP eras it speaks on `/mcp`: both by default.
    pub eras: Eras,
}

impl Default for McpServerOptions {
    fn default() -> Self {
        McpServerOptions {
            localhost_only: false,
            name: "mcp-connect-lab".to_owned(),
            tls: None,
            delay: Duration::ZERO,
            eras: Eras::Both,
        }
    }
}

/// A running lab MCP server. Stops on [`McpServer::shutdown`] or when dropped; either way every
/// open connection is closed.
#[derive(Debug)]
pub struct McpServer {
    addr: SocketAddr,
    https: bool,
    sessions: Arc<LocalSessionManager>,
    stopping: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl McpServer {
    /// Listens on `addr` (port 0 picks a free port) and serves until stopped.
    pub async fn start(addr: SocketAddr, opts: McpServerOptions) -> io::Result<McpServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let stopping = CancellationToken::new();
        let sessions = Arc::new(LocalSessionManager::default());
        let app = router(&opts, sessions.clone(), stopping.clone());
        let tls = opts.tls.clone().map(TlsAcceptor::from);
        let task = tokio::spawn(serve::accept_loop(listener, tls, app, stopping.clone()));
        let https = opts.tls.is_some();
        Ok(McpServer { addr, https, sessions, stopping, task: Some(task) })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The streamable HTTP endpoint, `http://ADDR/mcp` (`https://` when serving TLS).
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}/mcp", self.addr)
    }

    /// Ends every live streamable HTTP session, as a server restart does: the next request
    /// carrying one of their `Mcp-Session-Id`s gets 404, and the client must initialize
    /// again. Returns how many sessions there were. Legacy SSE sessions are not touched.
    pub async fn expire_sessions(&self) -> usize {
        let ids: Vec<_> = self.sessions.sessions.read().await.keys().cloned().collect();
        for id in &ids {
            // It is out of the table before this fails: an error only means its worker had
            // already stopped.
            if let Err(error) = self.sessions.close_session(id).await {
                tracing::debug!(%error, "lab session {id} was already ending");
            }
        }
        ids.len()
    }

    /// Stops listening, ends all sessions and closes all connections.
    pub async fn shutdown(mut self) {
        self.stopping.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for McpServer {
    fn drop(&mut self) {
        self.stopping.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// All routes, behind the Host check and the delay when asked for.
fn router(
    opts: &McpServerOptions,
    sessions: Arc<LocalSessionManager>,
    stopping: CancellationToken,
) -> Router {
    let name: Arc<str> = opts.name.as_str().into();
    // rmcp has its own Host allow-list (403 for non-loopback by default); the lab does
    // Serena's check (421) itself, so rmcp's is turned off.
    // Without the handshake there are no sessions: every request is served on its own, and
    // must say its version (header and `_meta`), not be taken for a 2025-03-26 one.
    let config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .with_legacy_session_mode(opts.eras.handshake())
        .with_stateless_protocol_metadata_required(!opts.eras.handshake())
        .with_cancellation_token(stopping.child_token());
    let (factory_name, eras) = (name.clone(), opts.eras);
    let mcp = StreamableHttpService::new(
        move || Ok(LabTools::new(factory_name.clone(), eras)),
        sessions,
        config,
    );
    let gate = axum::middleware::from_fn_with_state(eras, era_gate::gate);
    let mut app = Router::new().route_service("/mcp", mcp).layer(gate);
    if eras.handshake() {
        app = app.merge(sse::router(name, stopping));
    }
    if opts.localhost_only {
        app = app.layer(axum::middleware::from_fn(host_check::require_loopback_host));
    }
    if !opts.delay.is_zero() {
        app = app.layer(axum::middleware::from_fn_with_state(opts.delay, delay::hold_back));
    }
    app
}
