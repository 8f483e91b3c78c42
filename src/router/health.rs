//! Gateway health: what `/health` shows, and the active check (one kept MCP session per
//! gateway, a `ping` on it every interval, a new session when the gateway forgot the old one).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::eras::{discover, learn, router_meta};
use super::gateway::{Gateway, Judged, STALL, Upstream};
use super::pool::Shared;
use super::session::open_upstream;
use super::wire::read_answer;
use crate::net::era::Era;
use crate::trouble::Trouble;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GatewayState {
    /// In the rotation.
    Healthy,
    /// Out of the rotation: the last check or request failed.
    Down,
    /// Checks pass again; back in the rotation after one more.
    Probation,
}

/// `GET /health`: 200 while at least one gateway is healthy, else 503.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    /// `healthy` (every gateway), `degraded` (some) or `down` (none).
    pub status: String,
    pub pools: Vec<PoolHealth>,
    /// While no gateway is healthy: what a client is told (each gateway's cause, the fixes).
    #[serde(default)]
    pub unavailable: Option<Trouble>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolHealth {
    pub name: String,
    pub gateways: Vec<GatewayHealth>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayHealth {
    pub url: String,
    pub state: GatewayState,
    pub weight: u32,
    /// The last check's `ping` round trip, in milliseconds (0.1 ms resolution).
    pub latency_ms: Option<f64>,
    /// Client sessions open on it.
    pub sessions: usize,
    /// Why it last failed, if it ever did.
    pub last_failure: Option<String>,
    /// What to do about that failure.
    #[serde(default)]
    pub last_fix: Option<String>,
    /// The MCP era it is spoken to in, once known: `2026-07-28` when it answers
    /// `server/discover` (it may speak the handshake too), else `2025`.
    #[serde(default)]
    pub era: Option<Era>,
    /// The versions its `server/discover` listed, when it did.
    #[serde(default)]
    pub supported_versions: Option<Vec<String>>,
}

impl HealthReport {
    pub fn gateways(&self) -> impl Iterator<Item = &GatewayHealth> {
        self.pools.iter().flat_map(|pool| pool.gateways.iter())
    }

    /// Whether any gateway is healthy (new sessions can be served).
    pub fn serving(&self) -> bool {
        self.gateways().any(|g| g.state == GatewayState::Healthy)
    }

    /// The row of the gateway at `url`.
    pub fn gateway(&self, url: &str) -> Option<&GatewayHealth> {
        self.gateways().find(|g| g.url == url)
    }
}

pub(crate) fn report(shared: &Shared) -> HealthReport {
    let sessions = shared.sessions.per_gateway();
    let pools: Vec<PoolHealth> = shared
        .pools
        .iter()
        .map(|pool| PoolHealth {
            name: pool.name.clone(),
            gateways: (pool.gateways.iter())
                .map(|g| g.row(sessions.get(&g.label).copied().unwrap_or(0)))
                .collect(),
        })
        .collect();
    let mut report = HealthReport { status: String::new(), pools, unavailable: None };
    let healthy = report.gateways().filter(|g| g.state == GatewayState::Healthy).count();
    report.status = match (healthy, report.gateways().count()) {
        (0, _) => "down",
        (up, all) if up == all => "healthy",
        _ => "degraded",
    }
    .to_owned();
    if healthy == 0 {
        let (cause, fix) = shared.unavailable();
        report.unavailable = Some(Trouble::new(cause, fix));
    }
    report
}

/// Checks `gateway` every interval until `cancel`, and at once when a request has waited on it
/// a while (once per [`STALL`] at most, see [`super::gateway`]); ends its check session on the
/// way out.
pub(crate) async fn watch(gateway: Arc<Gateway>, cancel: CancellationToken) {
    let (interval, limit) = (gateway.health.interval, gateway.health.timeout);
    let mut kept: Option<Upstream> = None;
    loop {
        let checked = tokio::select! {
            _ = cancel.cancelled() => break,
            checked = tokio::time::timeout(limit, check(&gateway, &mut kept)) => checked,
        };
        let failed = match checked {
            Ok(Ok(latency)) => {
                gateway.check_ok(latency);
                None
            }
            Ok(Err(trouble)) => Some(trouble),
            Err(_) => Some(Trouble::new(
                format!(
                    "no answer to the health check within {}",
                    humantime::format_duration(limit)
                ),
                "check that the gateway is reachable from here and not stuck (its log); the \
                 router checks it again and takes it back once it answers",
            )),
        };
        if let Some(trouble) = failed {
            if let Some(session) = kept.take() {
                gateway.forget(&session).await;
            }
            gateway.mark_down(&trouble, Judged::Check);
        }
        let asked = async {
            tokio::time::sleep(STALL).await;
            gateway.suspected().await;
        };
        tokio::select! {
            _ = cancel.cancelled() => break,
            () = tokio::time::sleep(interval) => {}
            () = asked => {}
        }
    }
    if let Some(session) = kept {
        let delete = gateway.send(Method::DELETE, None, &session);
        let _ = tokio::time::timeout(Duration::from_secs(1), delete).await;
    }
}

/// One check: what the gateway speaks found out first (`server/discover`, see [`learn`]);
/// then on a 2026-only gateway a `server/discover`, on any other a `ping` on the kept session
/// (opened first when there is none); its round trip.
async fn check(gateway: &Gateway, kept: &mut Option<Upstream>) -> Result<Duration, Trouble> {
    if learn(gateway).await?.initialize {
        return check_in_session(gateway, kept).await;
    }
    let started = Instant::now();
    match discover(gateway, &router_meta()).await? {
        Some(_) => Ok(started.elapsed()),
        None => Err(gateway
            .place
            .other("it refused server/discover, yet it refused the initialize handshake too")),
    }
}

/// A `ping` on the kept session (opened first when there is none); its round trip.
async fn check_in_session(
    gateway: &Gateway,
    kept: &mut Option<Upstream>,
) -> Result<Duration, Trouble> {
    for _ in 0..2 {
        let session = match kept {
            Some(session) => session.clone(),
            None => kept.insert(open_upstream(gateway, &check_params()).await?).clone(),
        };
        match ping(gateway, &session).await {
            Ok(took) => return Ok(took),
            // The gateway forgot the session: a new one, once.
            Err(None) => *kept = None,
            Err(Some(cause)) => return Err(cause),
        }
    }
    Err(gateway.place.other("the gateway forgot the health check's session twice in a row"))
}

/// `Err(None)`: the session is unknown to the gateway (404).
async fn ping(gateway: &Gateway, session: &Upstream) -> Result<Duration, Option<Trouble>> {
    static PINGS: AtomicU64 = AtomicU64::new(1);
    let id = json!(format!("mcp-connect-router-ping-{}", PINGS.fetch_add(1, Ordering::Relaxed)));
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "ping"}).to_string();
    let started = Instant::now();
    let response = (gateway.send(Method::POST, Some(body.into()), session).await)
        .map_err(|e| Some(e.trouble))?;
    match response.status() {
        StatusCode::NOT_FOUND if session.id.is_some() => return Err(None),
        status if !status.is_success() => {
            return Err(Some(gateway.explain(response, "ping").await));
        }
        _ => {}
    }
    let answer = (read_answer(response, &id).await)
        .map_err(|e| Some(gateway.place.other(format!("ping: {e}"))))?;
    match answer.get("error") {
        Some(error) => {
            Err(Some(gateway.place.other(format!("ping was answered with an error: {error}"))))
        }
        None => Ok(started.elapsed()),
    }
}

fn check_params() -> Value {
    json!({
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "mcp-connect-router-health", "version": env!("CARGO_PKG_VERSION")},
    })
}
