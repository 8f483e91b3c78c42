//! `POST /api/v1/mcp`: the real gateway's HTTP frontend. The real one listens on a port of its
//! own (8080 by default); the lab serves it on the gateway's HTTPS port, next to `/mcp` and
//! `/ws`. The bearer token as `/mcp` checks it (refused → 401 `{"error":"unauthorized"}`,
//! the reason in `WWW-Authenticate`); then the request envelope in, the **bare** JSON-RPC
//! answer out, always 200, every failure a -32603 error with `id` null.
//!
//! Each POST is one backend exchange. The frontend keeps one backend MCP session for all its
//! clients (the lab's choice; the real one keeps none): an `initialize` answered with an
//! `Mcp-Session-Id` replaces it, and every later request carries it.

use std::sync::{Arc, PoisonError};

use axum::Json;
use axum::extract::{Request, State};
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Shared;
use super::envelope::{self, Upstream};

/// The largest envelope read; a larger body gets 400, as a body the real one cannot read.
const MAX_BODY: usize = super::ws::MAX_MESSAGE;

/// `/api/v1/mcp`: the method, the token, then the envelope.
pub(super) async fn post(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    if request.method() != Method::POST {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    }
    let user = match shared.policy.admit(request.headers()) {
        Ok(user) => user,
        Err(refusal) => {
            tracing::debug!(%refusal, "lab gateway's frontend refused a request");
            let challenge = refusal.into_response().headers().get(WWW_AUTHENTICATE).cloned();
            let mut response = refuse(StatusCode::UNAUTHORIZED, "unauthorized");
            response.headers_mut().extend(challenge.map(|c| (WWW_AUTHENTICATE, c)));
            return response;
        }
    };
    let Ok(body) = axum::body::to_bytes(request.into_body(), MAX_BODY).await else {
        return refuse(StatusCode::BAD_REQUEST, "invalid request body");
    };
    shared.envelopes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let upstream = Upstream { client: shared.client.clone(), url: shared.backend.clone(), user };
    let lock = || shared.frontend_session.lock().unwrap_or_else(PoisonError::into_inner);
    let before = lock().clone();
    let mut session = before.clone();
    let answer = upstream.exchange(&mut session, &String::from_utf8_lossy(&body)).await;
    if session != before {
        *lock() = session;
    }
    match answer {
        Ok(message) => Json(message).into_response(),
        Err(failure) => Json(envelope::error(Value::Null, &failure.message)).into_response(),
    }
}

/// A refusal as the real frontend words it: `{"error": why}` with `status`.
fn refuse(status: StatusCode, why: &str) -> Response {
    (status, Json(json!({"error": why}))).into_response()
}
