//! `mcp-connect router`: standard MCP (streamable HTTP) on 127.0.0.1 in front of weighted pools
//! of MCP gateways, with health checks and failover the client never notices.
//!
//! - [`web`]: the faces, `/mcp`, `/health`, `/metrics`; [`open`]: a client's `initialize`;
//!   [`relay`]: every later message, failover included; [`reply`]: its answer, whole or SSE.
//! - Both MCP eras, on the face and towards the gateways: [`modern`] routes a session-less
//!   2026-07-28 request to a gateway chosen for it alone (safe ones retried elsewhere);
//!   [`eras`] finds out what each gateway speaks and decides when a client's messages are
//!   translated: a 2025 session on a 2026-only gateway (its `initialize` answered from
//!   `server/discover`, its requests sent with the 2026 headers and `_meta`), and a 2026
//!   request on a 2025-only gateway (in a session the router keeps there).
//! - [`session`]: router session ids mapped to a gateway's session, and moving them;
//!   [`pool`]: the weighted choice; [`gateway`]: one upstream, its client, token and state, and
//!   how long a request waits on it (its deadline, checks asked for while it waits, every
//!   request open on it failed over at once when it is judged down);
//!   [`envelope`]: a gateway that speaks the mcp-bridge envelope over WebSocket (a `ws(s)://`
//!   URL), made to answer as a streamable HTTP one; [`health`]: the active checks and
//!   `/health`; [`metrics`]: `/metrics`.
//!
//! Logs go to tracing; a token is never logged (its fingerprint at most).

pub mod config;
pub mod settings;

mod envelope;
mod eras;
mod fault;
mod gateway;
mod health;
mod metrics;
mod modern;
mod open;
mod pool;
mod relay;
mod reply;
mod session;
mod web;
mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use reqwest::Method;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::forward::bind::{BindError, bind};
use crate::trouble::Trouble;
pub use health::{GatewayHealth, GatewayState, HealthReport, PoolHealth};
use pool::Shared;
pub use settings::{
    DEFAULT_CHECK_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, GatewaySettings, GatewayTransport,
    HealthSettings, Origin, PoolSettings, RouterSettings,
};
pub(crate) use wire::SAFE;

/// Runs the router until `shutdown` resolves. Binds `settings.listen` first (`Err` names the
/// busy port and the fix).
pub async fn serve(
    settings: RouterSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Trouble> {
    let router = start(settings).await?;
    shutdown.await;
    router.shutdown().await;
    Ok(())
}

/// Binds `settings.listen` (port 0: any free port) and starts serving and checking; answers a
/// handle to read its state and stop it.
pub async fn start(settings: RouterSettings) -> Result<Router, Trouble> {
    let shared = Arc::new(Shared::new(&settings)?);
    let listener = bind(settings.listen).await.map_err(bind_error)?;
    let addr = listener.local_addr().map_err(|e| {
        Trouble::new(format!("the router's listener has no address: {e}"), "try again")
    })?;
    let cancel = CancellationToken::new();
    let checks = (shared.gateways())
        .filter(|g| g.health.enabled)
        .map(|g| tokio::spawn(health::watch(g.clone(), cancel.clone())))
        .collect();
    // Small JSON-RPC messages: no waiting to fill packets.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let app = web::app(shared.clone());
    let stopped = cancel.clone().cancelled_owned();
    let server = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
            tracing::error!(%error, "the router's listener failed");
        }
    });
    let gateways = shared.gateways().count();
    tracing::info!(%addr, gateways, "router listening: MCP at http://{addr}/mcp");
    Ok(Router { addr, shared, cancel, server: Some(server), checks })
}

/// A running router. Stops on [`Router::shutdown`], or (without ending sessions) when dropped.
pub struct Router {
    /// Where it listens: MCP at `http://ADDR/mcp`.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    server: Option<JoinHandle<()>>,
    checks: Vec<JoinHandle<()>>,
}

impl Router {
    /// `http://ADDR/mcp`.
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// Each gateway's state, weight, latency and sessions, as `/health` shows them.
    pub fn health(&self) -> HealthReport {
        health::report(&self.shared)
    }

    /// Stops listening and checking, and ends every session on its gateway (best effort, a
    /// few seconds at most).
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        let ending = self.shared.sessions.drain().into_iter().map(|session| async move {
            let binding = session.binding();
            if binding.upstream.id.is_some() {
                let _ = binding.gateway.send(Method::DELETE, None, &binding.upstream).await;
            }
        });
        // And the sessions it kept on 2025-only gateways for 2026 clients.
        let kept = self.shared.gateways().map(|gateway| async move {
            if let Some(kept) = gateway.kept.lock().await.take() {
                let _ = gateway.send(Method::DELETE, None, &kept.upstream).await;
            }
        });
        let all = futures::future::join(
            futures::future::join_all(ending),
            futures::future::join_all(kept),
        );
        let _ = tokio::time::timeout(Duration::from_secs(2), all).await;
        for check in std::mem::take(&mut self.checks) {
            let _ = tokio::time::timeout(Duration::from_secs(1), check).await;
        }
        if let Some(mut server) = self.server.take() {
            // Open SSE streams hold a graceful shutdown: they get a moment, no more.
            if tokio::time::timeout(Duration::from_secs(1), &mut server).await.is_err() {
                server.abort();
            }
        }
        tracing::info!(addr = %self.addr, "router stopped");
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Why the router cannot listen, and the fix (the holder of a busy port, a free one).
pub(crate) fn bind_error(error: BindError) -> Trouble {
    let port = error.addr().port();
    let fix = match &error {
        BindError::Busy { next_free: Some(free), holder, .. } => format!(
            "{}, or give the router another port (server.port in the config, local_port in \
             the profile); {free} is free",
            if holder.is_some() { "stop that process" } else { "stop its holder" }
        ),
        BindError::Busy { .. } => "stop its holder, or give the router another port".to_owned(),
        BindError::Denied { .. } if port < 1024 => {
            format!("use a port of 1024 or above (port {port} needs root)")
        }
        _ => "listen on 127.0.0.1 and a free port".to_owned(),
    };
    Trouble::new(format!("the router cannot listen: {error}"), fix)
}
