//! `/ws`: the real gateway's WebSocket face. The token is checked at the upgrade (refused →
//! 401 `Unauthorized`, with the reason in `WWW-Authenticate` as `/mcp` gives it; no
//! subprotocol). Then one envelope per text frame (binary frames ignored, at most 1 MiB: a
//! larger message gets close 1009 and the connection dropped, as gorilla's read limit does),
//! answered with exactly one envelope each, in order, one at a time: every frame waits for
//! the answer to the one before. Each connection keeps one backend MCP session (see
//! [`Upstream`]). A ping goes out every [`GatewayOptions::ws_ping_interval`]; the client's
//! pings are answered (tungstenite does it). Nothing else is sent unasked.
//!
//! [`GatewayOptions::ws_ping_interval`]: super::GatewayOptions::ws_ping_interval

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::envelope::{self, Upstream};

/// The real gateway's read limit: a message past it ends the connection.
pub const MAX_MESSAGE: usize = 1 << 20;

/// The close code for a message over the limit ("message too big").
const TOO_BIG: u16 = 1009;

/// The open WebSocket connections: how many, and a way to drop them all at once.
#[derive(Debug)]
pub struct Connections {
    /// The gateway's own: cancelled when it stops, which drops every connection too.
    stopping: CancellationToken,
    /// Cancelled by [`Connections::drop_all`]; each connection holds the one current when it
    /// opened.
    current: Mutex<CancellationToken>,
    /// How many are open now.
    open: AtomicUsize,
}

impl Connections {
    /// None open yet; all are dropped when `stopping` is cancelled.
    pub fn new(stopping: CancellationToken) -> Connections {
        let current = Mutex::new(stopping.child_token());
        Connections { stopping, current, open: AtomicUsize::new(0) }
    }

    /// How many connections are open.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Drops every open connection's TCP connection, no close frame (the client sees 1006);
    /// connections opened afterwards are served as usual.
    pub fn drop_all(&self) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        current.cancel();
        *current = self.stopping.child_token();
    }

    /// The token that drops a connection opening now.
    fn token(&self) -> CancellationToken {
        self.current.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// Counts a connection as open while it lives.
struct Open<'a>(&'a AtomicUsize);

impl<'a> Open<'a> {
    fn new(open: &'a AtomicUsize) -> Open<'a> {
        open.fetch_add(1, Ordering::Relaxed);
        Open(open)
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `/ws`: the token, then the upgrade.
pub(super) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let user = match shared.policy.admit(&headers) {
        Ok(user) => user,
        Err(refusal) => {
            tracing::debug!(%refusal, "lab gateway refused a WebSocket upgrade");
            // The real gateway's body is `http.Error(w, "Unauthorized", 401)`'s.
            let mut response = refusal.into_response();
            *response.body_mut() = Body::from("Unauthorized\n");
            return response;
        }
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let upstream = Upstream { client: shared.client.clone(), url: shared.backend.clone(), user };
    upgrade
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| connection(socket, upstream, shared))
}

/// One connection, until the client closes it, it breaks, or it is dropped (with its socket:
/// the TCP connection goes without a close frame).
async fn connection(socket: WebSocket, upstream: Upstream, shared: Arc<Shared>) {
    let _open = Open::new(&shared.ws.open);
    let dropped = shared.ws.token();
    tokio::select! {
        () = dropped.cancelled() => tracing::debug!("lab gateway dropped a WebSocket connection"),
        () = converse(socket, &upstream, &shared.envelopes, shared.ws_ping_interval) => {}
    }
}

/// Reads envelopes and answers each before reading the next; pings every `ping_every`.
async fn converse(
    mut socket: WebSocket,
    upstream: &Upstream,
    envelopes: &AtomicU64,
    ping_every: Duration,
) {
    let mut session = None;
    let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let text = tokio::select! {
            received = socket.recv() => match received {
                Some(Ok(Message::Text(text))) => text,
                // Binary frames are ignored; pings, pongs and a close are tungstenite's to
                // answer, after which the stream ends.
                Some(Ok(_)) => continue,
                None => return,
                Some(Err(error)) => return refuse(socket, &error).await,
            },
            _ = ping.tick() => {
                if socket.send(Message::Ping("keepalive".into())).await.is_err() {
                    return;
                }
                continue;
            }
        };
        envelopes.fetch_add(1, Ordering::Relaxed);
        let answer = match upstream.exchange(&mut session, text.as_str()).await {
            Ok(message) => message,
            Err(failure) => envelope::error(failure.id, &failure.message),
        };
        let frame = envelope::answer(answer).to_string();
        if socket.send(Message::Text(frame.into())).await.is_err() {
            return;
        }
    }
}

/// After a read error: for a message over the limit, close 1009 (best effort) before the
/// connection is dropped; otherwise just drop it.
async fn refuse(mut socket: WebSocket, error: &axum::Error) {
    tracing::debug!(%error, "lab gateway: WebSocket read failed");
    // axum's tungstenite is not this crate's, so its `Capacity` error is known by its text.
    if error.to_string().starts_with("Space limit exceeded") {
        let close = CloseFrame { code: TOO_BIG, reason: "message too big".into() };
        let sent = socket.send(Message::Close(Some(close)));
        let _ = tokio::time::timeout(Duration::from_secs(1), sent).await;
    }
}
