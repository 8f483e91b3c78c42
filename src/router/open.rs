//! A client's `initialize`: a gateway chosen by weight, the client's own message sent there,
//! and the answer passed back under the router's own session id.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use reqwest::Method;
use serde_json::{Value, json};

use super::eras::{Way, open_translated, speaks_of_refusal, way};
use super::gateway::{Gateway, Judged, Upstream};
use super::metrics::Outcome;
use super::pool::Shared;
use super::wire::{self, NO_GATEWAY, read_answer};
use crate::net::era::Era;
use crate::net::mcp::SESSION;
use crate::trouble::Trouble;

/// Opens a client session: tries gateways (marking each that fails down) until one answers.
/// No gateway healthy → 503 with a JSON-RPC error naming every gateway and the fix. Each try
/// waits as [`Gateway::bounded`] lets it: not past the deadline, nor past the gateway being
/// judged down.
pub(crate) async fn initialize(
    shared: &Shared,
    message: &Value,
    body: Bytes,
    id: &Value,
) -> Response {
    let params = message.get("params").cloned().unwrap_or_else(|| json!({}));
    let mut tried = Vec::new();
    while let Some(gateway) = shared.pick(&tried) {
        let opened = open_on(shared, &gateway, &params, body.clone(), id);
        let failure = match gateway.bounded("initialize", opened).await {
            Ok(answer) => return answer,
            Err(failure) => failure,
        };
        gateway.counters.record(Outcome::Failed);
        gateway.mark_down(&failure, Judged::Request);
        tried.push(gateway);
    }
    let (cause, fix) = shared.unavailable();
    tracing::warn!(%cause, "a client initialize was refused: no gateway is healthy");
    let answer = wire::error(id, NO_GATEWAY, &cause, &fix);
    (StatusCode::SERVICE_UNAVAILABLE, Json(answer)).into_response()
}

/// The client's `initialize` on `gateway`: the answer to pass on (a session opened, or the
/// server's or the gateway's refusal), or why the gateway failed.
async fn open_on(
    shared: &Shared,
    gateway: &Arc<Gateway>,
    params: &Value,
    body: Bytes,
    id: &Value,
) -> Result<Response, Trouble> {
    if way(Era::Initialize, gateway.speaks().as_ref()) == Way::Translate {
        return open_translated_on(shared, gateway, params, id).await;
    }
    let started = Instant::now();
    let response = (gateway.send(Method::POST, Some(body), &Upstream::default()).await)
        .map_err(|error| error.trouble)?;
    gateway.counters.observe(started.elapsed());
    let status = response.status();
    if status == StatusCode::BAD_REQUEST {
        // A 2026-only gateway refuses the handshake (-32022): the router speaks it instead.
        let content_type = response.headers().get(reqwest::header::CONTENT_TYPE).cloned();
        let body = response.bytes().await.unwrap_or_default();
        let refusal = serde_json::from_slice::<Value>(&body).ok();
        if let Some(speaks) = refusal.as_ref().and_then(speaks_of_refusal) {
            gateway.learned(speaks);
            return open_translated_on(shared, gateway, params, id).await;
        }
        gateway.counters.record(Outcome::Rejected);
        let mut answer = (status, body).into_response();
        if let Some(content_type) = content_type {
            answer.headers_mut().insert(reqwest::header::CONTENT_TYPE, content_type);
        }
        return Ok(answer);
    }
    let refused = matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
    if status.is_server_error() || refused {
        return Err(gateway.explain(response, "initialize").await);
    }
    if !status.is_success() {
        gateway.counters.record(Outcome::Rejected);
        return Ok(pass_on(response).await);
    }
    let upstream_id = response.headers().get(SESSION).cloned();
    let answer = (read_answer(response, id).await)
        .map_err(|cause| gateway.place.other(format!("initialize: {cause}")))?;
    if let Some(speaks) = speaks_of_refusal(&answer) {
        // The same refusal of the handshake, with HTTP 200 (as rmcp gives it).
        gateway.learned(speaks);
        return open_translated_on(shared, gateway, params, id).await;
    }
    gateway.counters.record(Outcome::Ok);
    gateway.request_ok();
    let Some(version) = answer["result"]["protocolVersion"].as_str() else {
        // The server refused this initialize: no session.
        return Ok(Json(answer).into_response());
    };
    let upstream = Upstream { id: upstream_id, version: Some(version.to_owned()) };
    let session = shared.sessions.open(Arc::clone(gateway), upstream, params.clone());
    tracing::info!(%session, gateway = %gateway.label, "client session opened");
    Ok(([(SESSION, session)], Json(answer)).into_response())
}

/// A 2025 client's `initialize` on a 2026-only gateway: answered from the gateway's
/// `server/discover`, under a session of the router's own that the gateway never sees.
async fn open_translated_on(
    shared: &Shared,
    gateway: &Arc<Gateway>,
    params: &Value,
    id: &Value,
) -> Result<Response, Trouble> {
    let started = Instant::now();
    let result = open_translated(gateway, params).await?;
    gateway.counters.observe(started.elapsed());
    gateway.counters.record(Outcome::Ok);
    gateway.request_ok();
    let session = shared.sessions.open(Arc::clone(gateway), Upstream::modern(), params.clone());
    tracing::info!(%session, gateway = %gateway.label,
        "client session opened, translated to MCP 2026-07-28");
    let answer = json!({"jsonrpc": "2.0", "id": id, "result": result});
    Ok(([(SESSION, session)], Json(answer)).into_response())
}

/// A gateway's refusal (4xx), passed on as it is.
pub(crate) async fn pass_on(response: reqwest::Response) -> Response {
    let status = response.status();
    let content_type = response.headers().get(reqwest::header::CONTENT_TYPE).cloned();
    let body = response.bytes().await.unwrap_or_default();
    let mut answer = (status, body).into_response();
    if let Some(content_type) = content_type {
        answer.headers_mut().insert(reqwest::header::CONTENT_TYPE, content_type);
    }
    answer
}
