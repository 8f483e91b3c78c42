//! Client sessions: the router's own session id, mapped to a gateway and the session open on
//! it; and moving a session when its gateway forgets it (same gateway) or fails (another one),
//! replaying the client's `initialize` so that the client never sees the change.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::eras::{open_for, speaks_of_refusal};
use super::gateway::{Gateway, Judged, Upstream};
use super::pool::Shared;
use super::wire::read_answer;
use crate::net::mcp::{SESSION, Said};
use crate::trouble::Trouble;

/// Where a client session lives now. `generation` counts moves, so that many requests failing
/// on the same binding move the session only once.
#[derive(Clone)]
pub(crate) struct Binding {
    pub gateway: Arc<Gateway>,
    pub upstream: Upstream,
    pub generation: u64,
}

pub(crate) struct ClientSession {
    pub id: String,
    /// The client's `initialize` params, replayed on every new upstream session.
    pub params: Value,
    binding: Mutex<Binding>,
    moving: tokio::sync::Mutex<()>,
}

impl ClientSession {
    pub(crate) fn binding(&self) -> Binding {
        self.binding.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn rebind(&self, gateway: Arc<Gateway>, upstream: Upstream) -> Binding {
        let mut binding = self.binding.lock().unwrap_or_else(|p| p.into_inner());
        *binding = Binding { gateway, upstream, generation: binding.generation + 1 };
        binding.clone()
    }
}

/// The table of client sessions, by router session id.
#[derive(Default)]
pub(crate) struct Sessions(Mutex<HashMap<String, Arc<ClientSession>>>);

impl Sessions {
    /// A new client session on `gateway`, under a fresh random id.
    pub(crate) fn open(&self, gateway: Arc<Gateway>, upstream: Upstream, params: Value) -> String {
        let id = format!("{:032x}", rand::random::<u128>());
        let binding = Mutex::new(Binding { gateway, upstream, generation: 0 });
        let moving = tokio::sync::Mutex::new(());
        let session = Arc::new(ClientSession { id: id.clone(), params, binding, moving });
        self.lock().insert(id.clone(), session);
        id
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<ClientSession>> {
        self.lock().get(id).cloned()
    }

    pub(crate) fn remove(&self, id: &str) -> Option<Arc<ClientSession>> {
        self.lock().remove(id)
    }

    pub(crate) fn drain(&self) -> Vec<Arc<ClientSession>> {
        self.lock().drain().map(|(_, session)| session).collect()
    }

    /// Open sessions per gateway label.
    pub(crate) fn per_gateway(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for session in self.lock().values() {
            *counts.entry(session.binding().gateway.label.clone()).or_default() += 1;
        }
        counts
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ClientSession>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Opens a session on `gateway` with these `initialize` params: initialize, then
/// `notifications/initialized`. `Err` explains what failed.
pub(crate) async fn open_upstream(gateway: &Gateway, params: &Value) -> Result<Upstream, Trouble> {
    open_upstream_answered(gateway, params).await.map(|(upstream, _)| upstream)
}

/// [`open_upstream`], with the `initialize` result the gateway gave. A gateway that refuses
/// the handshake for MCP 2026-07-28 (400 -32022) is learned to speak only that.
pub(crate) async fn open_upstream_answered(
    gateway: &Gateway,
    params: &Value,
) -> Result<(Upstream, Value), Trouble> {
    static OPENED: AtomicU64 = AtomicU64::new(1);
    let n = OPENED.fetch_add(1, Ordering::Relaxed);
    let id = json!(format!("mcp-connect-router-initialize-{n}"));
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": params});
    let response =
        (gateway.send(Method::POST, Some(body.to_string().into()), &Upstream::default()))
            .await
            .map_err(|e| e.trouble)?;
    if response.status() == StatusCode::BAD_REQUEST {
        return Err(refused_handshake(gateway, response).await);
    }
    if !response.status().is_success() {
        return Err(gateway.explain(response, "initialize").await);
    }
    let mut upstream = Upstream { id: response.headers().get(SESSION).cloned(), version: None };
    let answer = (read_answer(response, &id).await)
        .map_err(|e| gateway.place.other(format!("initialize: {e}")))?;
    if let Some(speaks) = speaks_of_refusal(&answer) {
        gateway.learned(speaks);
        return Err(gateway
            .place
            .other("it speaks only MCP 2026-07-28: it refused the initialize handshake (-32022)"));
    }
    let Some(version) = answer["result"]["protocolVersion"].as_str() else {
        let error = &answer["error"];
        return Err(match error["message"].as_str().map(|m| Said::from_message(0, m)) {
            Some(Said { cause, fix: Some(fix), .. }) => Trouble::new(cause, fix),
            _ => gateway.place.other(format!("initialize was answered with {error}")),
        });
    };
    upstream.version = Some(version.to_owned());
    let result = answer["result"].clone();
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
    let failure = match gateway.send(Method::POST, Some(note.into()), &upstream).await {
        Ok(response) if response.status().is_success() => return Ok((upstream, result)),
        Ok(response) => gateway.explain(response, "notifications/initialized").await,
        Err(error) => error.trouble,
    };
    gateway.forget(&upstream).await;
    Err(failure)
}

/// A 400 to `initialize`, explained; when it is -32022 (no handshake: MCP 2026-07-28 only),
/// the gateway is learned to speak only that.
async fn refused_handshake(gateway: &Gateway, response: reqwest::Response) -> Trouble {
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.bytes().await.unwrap_or_default();
    if let Ok(answer) = serde_json::from_slice::<Value>(&body)
        && let Some(speaks) = speaks_of_refusal(&answer)
    {
        gateway.learned(speaks);
        return gateway
            .place
            .other("it speaks only MCP 2026-07-28: it refused the initialize handshake (-32022)");
    }
    let mut again = axum::http::Response::new(body);
    *again.status_mut() = status;
    *again.headers_mut() = headers;
    gateway.explain(reqwest::Response::from(again), "initialize").await
}

/// Why a session must move.
pub(crate) enum Why {
    /// Its gateway answered 404: it forgot the session. A new one on the same gateway.
    Forgotten,
    /// Its gateway failed: another gateway.
    Failed,
}

/// Moves `session` off binding `stale` (when no other request has already) and answers the
/// binding to use now. `Err`: no gateway could take it (cause, fix).
pub(crate) async fn recover(
    shared: &Shared,
    session: &ClientSession,
    stale: &Binding,
    why: Why,
) -> Result<Binding, (String, String)> {
    let _one_at_a_time = session.moving.lock().await;
    let now = session.binding();
    if now.generation != stale.generation {
        return Ok(now);
    }
    let old = now.gateway;
    if let Why::Forgotten = why {
        match old.bounded("initialize", open_for(&old, &session.params)).await {
            Ok(upstream) => {
                tracing::info!(
                    session = %session.id, gateway = %old.label,
                    "the gateway forgot the session; re-initialized it there"
                );
                return Ok(session.rebind(old, upstream));
            }
            Err(trouble) => old.mark_down(&trouble, Judged::Request),
        }
    }
    let mut tried = vec![old.clone()];
    while let Some(next) = shared.pick(&tried) {
        match next.bounded("initialize", open_for(&next, &session.params)).await {
            Ok(upstream) => {
                shared.failed_over();
                tracing::info!(
                    session = %session.id, from = %old.label, to = %next.label,
                    translated = upstream.is_modern(),
                    "failed over: the client's initialize replayed on another gateway"
                );
                // Best effort: the old gateway may be alive after all (a check that timed out).
                let (gone, stale) = (old.clone(), stale.upstream.clone());
                tokio::spawn(async move {
                    if stale.id.is_none() {
                        return;
                    }
                    let delete = gone.send(Method::DELETE, None, &stale);
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), delete).await;
                });
                return Ok(session.rebind(next, upstream));
            }
            Err(trouble) => {
                next.mark_down(&trouble, Judged::Request);
                tried.push(next);
            }
        }
    }
    Err(shared.unavailable())
}
