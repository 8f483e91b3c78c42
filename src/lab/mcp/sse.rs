//! The legacy HTTP+SSE transport (MCP 2024-11-05). rmcp 3.x has no server side for it, so
//! only the HTTP framing lives here: each `GET /sse` gets a session whose messages travel over
//! channels, and rmcp serves the handler over that Sink/Stream pair
//! (`rmcp::transport::sink_stream`), so the protocol logic stays rmcp's.
//!
//! - `GET /sse` → `event: endpoint` / `data: /messages?session_id=ID`, then each server message
//!   as `event: message` / `data: {json}`. The session ends when this stream is dropped.
//! - `POST /messages?session_id=ID` (also `/messages/`, as Serena spells it) → 202, 404 for an
//!   unknown session, 400 for a body that is not a JSON-RPC message.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::channel::mpsc::{self, UnboundedSender};
use futures::{Stream, StreamExt};
use rmcp::ServiceExt;
use rmcp::model::ClientJsonRpcMessage;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::eras::Eras;
use super::tools::LabTools;

type Sessions = Arc<Mutex<HashMap<String, UnboundedSender<ClientJsonRpcMessage>>>>;

/// What the SSE routes share.
#[derive(Clone)]
struct SseState {
    name: Arc<str>,
    sessions: Sessions,
    stopping: CancellationToken,
}

/// The routes `/sse`, `/messages` and `/messages/`. Sessions end when `stopping` is cancelled.
pub fn router(name: Arc<str>, stopping: CancellationToken) -> Router {
    let state = SseState { name, sessions: Sessions::default(), stopping };
    Router::new()
        .route("/sse", get(open_stream))
        .route("/messages", post(post_message))
        .route("/messages/", post(post_message))
        .with_state(state)
}

/// Removes its session from the table when the SSE response is dropped (client gone).
struct SessionGuard {
    id: String,
    sessions: Sessions,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.id);
    }
}

async fn open_stream(
    State(state): State<SseState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let id = format!("{:032x}", rand::random::<u128>());
    let (to_server, from_client) = mpsc::unbounded::<ClientJsonRpcMessage>();
    let (to_client, from_server) = mpsc::unbounded();
    state.sessions.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), to_server);

    // This transport is the handshake era's (2024-11-05) whatever `/mcp` speaks.
    let handler = LabTools::new(state.name.clone(), Eras::Only2025);
    let session_ct = state.stopping.child_token();
    tokio::spawn(async move {
        match handler.serve_with_ct((to_client, from_client), session_ct).await {
            Ok(running) => {
                let _ = running.waiting().await;
            }
            Err(error) => tracing::debug!(%error, "lab SSE session ended before initialize"),
        }
    });

    let guard = SessionGuard { id: id.clone(), sessions: state.sessions.clone() };
    let endpoint = Event::default().event("endpoint").data(format!("/messages?session_id={id}"));
    let messages = from_server.map(move |message: rmcp::model::ServerJsonRpcMessage| {
        let _session = &guard;
        let json = serde_json::to_string(&message).expect("a JSON-RPC message serializes");
        Event::default().event("message").data(json)
    });
    let events = futures::stream::once(async { endpoint })
        .chain(messages)
        .map(Ok)
        .take_until(state.stopping.cancelled_owned());
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// The query of `POST /messages`.
#[derive(Deserialize)]
struct SessionQuery {
    session_id: String,
}

async fn post_message(
    State(state): State<SseState>,
    Query(query): Query<SessionQuery>,
    body: Bytes,
) -> Response {
    let Some(session) =
        state.sessions.lock().unwrap_or_else(|e| e.into_inner()).get(&query.session_id).cloned()
    else {
        return (StatusCode::NOT_FOUND, "Could not find session").into_response();
    };
    let message = match serde_json::from_slice::<ClientJsonRpcMessage>(&body) {
        Ok(message) => message,
        Err(error) => {
            return (StatusCode::BAD_REQUEST, format!("Could not parse message: {error}"))
                .into_response();
        }
    };
    if session.unbounded_send(message).is_err() {
        return (StatusCode::NOT_FOUND, "Could not find session").into_response();
    }
    (StatusCode::ACCEPTED, "Accepted").into_response()
}
