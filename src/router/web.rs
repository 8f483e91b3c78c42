//! The router's faces on its one listener: streamable HTTP at `/mcp` (POST, GET for the
//! server stream, DELETE), `/health` (JSON) and `/metrics` (Prometheus text).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::StreamExt;
use reqwest::Method;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::gateway::Judged;
use super::health::report;
use super::metrics;
use super::modern::relay_modern;
use super::open::{initialize, pass_on};
use super::pool::Shared;
use super::relay::{Incoming, relay};
use super::reply::Out;
use super::session::{ClientSession, Why, recover};
use super::wire::{self, INVALID, Message, classify};
use crate::net::era::{Era, era_of_request};
use crate::net::mcp::{MODERN_VERSION, SESSION, VERSION};

/// MCP messages are small; a larger body is refused (413).
const MAX_BODY: usize = 16 << 20;

pub(crate) fn app(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/mcp", get(server_stream).post(post).delete(delete))
        .route("/health", get(health))
        .route("/metrics", get(prometheus))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

async fn post(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let (message, kind) = match classify(&body) {
        Ok(classified) => classified,
        Err(answer) => return (StatusCode::BAD_REQUEST, Json(answer)).into_response(),
    };
    let version = headers.get(VERSION).and_then(|v| v.to_str().ok());
    if era_of_request(version, &message) == Era::Modern {
        // No session: a gateway for this request alone.
        let (id, method) = match kind {
            Message::Request { id, method } => (Some(id), Some(method)),
            Message::Notice { method } => (None, method),
        };
        let (out, answers) = mpsc::channel(64);
        let incoming = Incoming { body, id, method };
        tokio::spawn(relay_modern(shared, message, incoming, out));
        return answer(answers).await;
    }
    let (id, method) = match kind {
        Message::Request { id, method } if method == "initialize" => {
            return initialize(&shared, &message, body, &id).await;
        }
        Message::Request { id, method } => (Some(id), Some(method)),
        Message::Notice { method } => (None, method),
    };
    let session = match session_of(&shared, &headers, id.as_ref()) {
        Ok(session) => session,
        Err(refusal) => return refusal.into_response(),
    };
    let (out, answers) = mpsc::channel(64);
    // Its own task: a call goes on (and its failover with it) even if the client hangs up.
    tokio::spawn(relay(shared, session, Incoming { body, id, method }, out));
    answer(answers).await
}

/// The HTTP answer the relay task writes to `answers`: whole, or an SSE stream.
async fn answer(mut answers: mpsc::Receiver<Out>) -> Response {
    match answers.recv().await {
        Some(Out::Whole { status, content_type, body }) => {
            let mut response = (status, body).into_response();
            if let Some(content_type) = content_type {
                response.headers_mut().insert(header::CONTENT_TYPE, content_type);
            }
            response
        }
        Some(Out::Stream) => {
            let events = ReceiverStream::new(answers).filter_map(|out| async move {
                match out {
                    Out::Message(message) => Some(Ok::<_, Infallible>(
                        Event::default().event("message").data(message.to_string()),
                    )),
                    Out::Whole { .. } | Out::Stream => None,
                }
            });
            Sse::new(events).into_response()
        }
        Some(Out::Message(_)) | None => {
            (StatusCode::INTERNAL_SERVER_ERROR, "the relay ended without an answer").into_response()
        }
    }
}

/// `GET /mcp`: the session's server stream on its gateway, passed through as it comes.
/// MCP 2026-07-28 has no server stream: a 2026 client, or a session translated to that era,
/// gets 405.
async fn server_stream(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let version = headers.get(VERSION).and_then(|v| v.to_str().ok());
    if version == Some(MODERN_VERSION) {
        return no_stream();
    }
    let session = match session_of(&shared, &headers, None) {
        Ok(session) => session,
        Err(refusal) => return refusal.into_response(),
    };
    for _ in 0..2 {
        let binding = session.binding();
        if binding.upstream.is_modern() {
            return no_stream();
        }
        let gateway = binding.gateway.clone();
        let why = match gateway.send(Method::GET, None, &binding.upstream).await {
            Ok(r) if r.status() == StatusCode::NOT_FOUND && binding.upstream.id.is_some() => {
                Why::Forgotten
            }
            Ok(r) if r.status().is_success() => {
                let mut response = Response::new(Body::empty());
                for name in [header::CONTENT_TYPE, header::CACHE_CONTROL] {
                    if let Some(value) = r.headers().get(&name) {
                        response.headers_mut().insert(name, value.clone());
                    }
                }
                *response.body_mut() = Body::from_stream(r.bytes_stream());
                return response;
            }
            Ok(r) if !r.status().is_server_error() => return pass_on(r).await,
            Ok(r) => {
                let trouble = gateway.explain(r, "GET (the server stream)").await;
                gateway.mark_down(&trouble, Judged::Request);
                Why::Failed
            }
            Err(error) => {
                gateway.mark_down(&error.trouble, Judged::Request);
                Why::Failed
            }
        };
        if let Err((cause, fix)) = recover(&shared, &session, &binding, why).await {
            let text = format!("{cause}; fix: {fix}");
            return (StatusCode::SERVICE_UNAVAILABLE, text).into_response();
        }
    }
    let text = "no server stream could be opened on the session's gateway; try again";
    (StatusCode::SERVICE_UNAVAILABLE, text).into_response()
}

fn no_stream() -> Response {
    let text = "no server stream: the gateway speaks MCP 2026-07-28, which has none";
    (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "POST, DELETE")], text).into_response()
}

/// `DELETE /mcp`: ends the client session, and its session on the gateway.
async fn delete(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let session = match session_of(&shared, &headers, None) {
        Ok(session) => session,
        Err(refusal) => return refusal.into_response(),
    };
    shared.sessions.remove(&session.id);
    let binding = session.binding();
    let ending = binding.gateway.send(Method::DELETE, None, &binding.upstream);
    if binding.upstream.id.is_some()
        && let Ok(Err(error)) = tokio::time::timeout(Duration::from_secs(2), ending).await
    {
        tracing::info!(gateway = %binding.gateway.label, cause = %error.trouble.cause,
            "the gateway's session could not be ended; left to expire");
    }
    tracing::info!(session = %session.id, "client session ended");
    StatusCode::OK.into_response()
}

async fn health(State(shared): State<Arc<Shared>>) -> Response {
    let report = report(&shared);
    let status = if report.serving() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(report)).into_response()
}

async fn prometheus(State(shared): State<Arc<Shared>>) -> Response {
    let content_type = [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")];
    (content_type, metrics::render(&shared)).into_response()
}

/// The client session a request names; else the answer to give (400 without an id, 404 for
/// an unknown one, as the spec wants).
fn session_of(
    shared: &Shared,
    headers: &HeaderMap,
    id: Option<&Value>,
) -> Result<Arc<ClientSession>, (StatusCode, Json<Value>)> {
    let id = id.unwrap_or(&Value::Null);
    let Some(named) = headers.get(SESSION).and_then(|v| v.to_str().ok()) else {
        let cause = "the request carries no Mcp-Session-Id";
        let answer = wire::error(id, INVALID, cause, "send initialize first, then its session id");
        return Err((StatusCode::BAD_REQUEST, Json(answer)));
    };
    shared.sessions.get(named).ok_or_else(|| {
        let cause =
            format!("session {named} is not known to the router (ended, or the router restarted)");
        let answer = wire::error(id, INVALID, &cause, "initialize a new session");
        (StatusCode::NOT_FOUND, Json(answer))
    })
}
