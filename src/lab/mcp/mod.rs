//! The lab's reference MCP server: what a Serena in the cluster looks like on the wire, with
//! test tools instead of Serena's.
//!
//! - `/mcp`: streamable HTTP, served by rmcp's `StreamableHttpService` (stateful sessions).
//! - `/sse` + `/messages`: the legacy HTTP+SSE transport (see [`sse`]).
//! - Tools `echo`, `sleep`, `blob` (see [`tools`]).
//! - Optionally Serena's localhost-only Host check (see [`host_check`]).
//!
//! Every other path answers 404.

pub mod host_check;
mod serve;
pub mod sse;
pub mod tools;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use tools::LabTools;

/// How the lab server behaves.
#[derive(Debug, Clone)]
pub struct McpServerOptions {
    /// Behave like Serena bound to 127.0.0.1: answer `421 Invalid Host header` to any `Host`
    /// other than `127.0.0.1:*`, `localhost:*`, `[::1]:*`. Off: any Host is served.
    pub localhost_only: bool,
    /// The `serverInfo.name` it announces.
    pub name: String,
}

impl Default for McpServerOptions {
    fn default() -> Self {
        McpServerOptions { localhost_only: false, name: "mcp-connect-lab".to_owned() }
    }
}

/// A running lab MCP server. Stops on [`McpServer::shutdown`] or when dropped; either way every
/// open connection is closed.
#[derive(Debug)]
pub struct McpServer {
    addr: SocketAddr,
    stopping: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl McpServer {
    /// Listens on `addr` (port 0 picks a free port) and serves until stopped.
    pub async fn start(addr: SocketAddr, opts: McpServerOptions) -> io::Result<McpServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let stopping = CancellationToken::new();
        let app = router(&opts, stopping.clone());
        let task = tokio::spawn(serve::accept_loop(listener, app, stopping.clone()));
        Ok(McpServer { addr, stopping, task: Some(task) })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The streamable HTTP endpoint, `http://ADDR/mcp`.
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
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

/// All routes, behind the Host check when asked for.
fn router(opts: &McpServerOptions, stopping: CancellationToken) -> Router {
    let name: Arc<str> = opts.name.as_str().into();
    // rmcp has its own Host allow-list (403 for non-loopback by default); the lab does
    // Serena's check (421) itself, so rmcp's is turned off.
    let config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .with_cancellation_token(stopping.child_token());
    let factory_name = name.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(LabTools::new(factory_name.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let app = Router::new().route_service("/mcp", mcp).merge(sse::router(name, stopping));
    if opts.localhost_only {
        app.layer(axum::middleware::from_fn(host_check::require_loopback_host))
    } else {
        app
    }
}
