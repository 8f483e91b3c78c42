//! A 2026-07-28 request: no session, so each one goes to a gateway chosen by weight for it
//! alone. A safe one (see [`SAFE`], and `server/discover`) that fails there is sent to another;
//! an unsafe one that may have reached the failed gateway is answered with [`GATEWAY_LOST`], as
//! in a session.
//!
//! A gateway that speaks 2026 gets the request as it is. A 2025-only one gets it in the session
//! the router keeps there ([`kept_session`]), without the 2026 `_meta`; its `server/discover`
//! is answered from that session's `initialize` result.

use std::sync::Arc;

use axum::body::Bytes;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::eras::{Way, as_face, discover, kept_session, learn, way};
use super::gateway::{Gateway, Judged, Upstream};
use super::metrics::Outcome;
use super::pool::Shared;
use super::relay::{Attempt, Incoming, guarded, send};
use super::reply::{Out, Reply};
use super::wire::{self, GATEWAY_LOST, NO_GATEWAY, SAFE};
use crate::net::era::{Era, discover_result_of_initialize, strip_meta};

/// Relays the 2026 request `message` (as `incoming`) to a gateway until it is answered,
/// writing the answer to `out`.
pub(crate) async fn relay_modern(
    shared: Arc<Shared>,
    message: Value,
    incoming: Incoming,
    out: mpsc::Sender<Out>,
) {
    let mut reply = Reply::new(out);
    let method = incoming.method.as_deref().unwrap_or("a response to the server");
    let id = incoming.id.clone().unwrap_or(Value::Null);
    let safe = incoming.id.is_none() || SAFE.contains(&method) || method == "server/discover";
    let mut tried: Vec<Arc<Gateway>> = Vec::new();
    while let Some(gateway) = shared.pick(&tried) {
        let mut downs = gateway.downs();
        let sent = attempt(&gateway, &message, &incoming, &mut reply);
        let attempt = match guarded(&gateway, method, &id, &mut downs, sent).await {
            Ok(attempt) => attempt,
            Err(error) => return reply.answer(error, incoming.id.is_none()).await,
        };
        let (cause, delivered) = match attempt {
            Attempt::Done => return,
            Attempt::Forgotten => (String::from("it forgot the router's session"), false),
            Attempt::Failed { trouble, delivered } => {
                gateway.mark_down(&trouble, Judged::Request);
                (trouble.cause, delivered)
            }
            Attempt::Known { cause, delivered } => (cause, delivered),
        };
        if delivered && !safe {
            let cause = format!(
                "gateway {} went down during {method} ({cause}); the call was not retried \
                 because it may or may not have run",
                gateway.label
            );
            let fix = "check whether the call took effect, then call it again if it did not";
            return reply.answer(wire::error(&id, GATEWAY_LOST, &cause, fix), false).await;
        }
        tracing::info!(gateway = %gateway.label, %cause, "{method} sent to another gateway");
        tried.push(gateway);
    }
    let (cause, fix) = shared.unavailable();
    let cause = format!("{method} could not be relayed: {cause}");
    let error = wire::error(&id, NO_GATEWAY, &cause, &fix);
    reply.answer(error, true).await;
}

/// One try on `gateway`, in its era.
async fn attempt(
    gateway: &Gateway,
    message: &Value,
    incoming: &Incoming,
    reply: &mut Reply,
) -> Attempt {
    let speaks = match learn(gateway).await {
        Ok(speaks) => speaks,
        Err(trouble) => return Attempt::Failed { trouble, delivered: false },
    };
    match way(Era::Modern, Some(&speaks)) {
        Way::Native if incoming.method.as_deref() == Some("server/discover") => {
            discover_on(gateway, message, incoming, reply).await
        }
        Way::Native => send(gateway, &Upstream::modern(), incoming, reply).await,
        Way::Translate => in_kept_session(gateway, message, incoming, reply).await,
    }
}

/// `server/discover` on a gateway that speaks 2026, answered as the router's face
/// ([`as_face`]).
async fn discover_on(
    gateway: &Gateway,
    message: &Value,
    incoming: &Incoming,
    reply: &mut Reply,
) -> Attempt {
    let meta = message.pointer("/params/_meta").and_then(Value::as_object).cloned();
    let found = match discover(gateway, &meta.unwrap_or_default()).await {
        Ok(Some(result)) => result,
        Ok(None) => {
            let trouble =
                gateway.place.other("it refused server/discover, which it answered before");
            return Attempt::Failed { trouble, delivered: false };
        }
        Err(trouble) => return Attempt::Failed { trouble, delivered: false },
    };
    gateway.counters.record(Outcome::Ok);
    let id = incoming.id.clone().unwrap_or(Value::Null);
    reply.answer(json!({"jsonrpc": "2.0", "id": id, "result": as_face(found)}), false).await;
    Attempt::Done
}

/// A 2026 request on a 2025-only gateway, in the session the router keeps there (opened
/// again once if the gateway forgot it).
async fn in_kept_session(
    gateway: &Gateway,
    message: &Value,
    incoming: &Incoming,
    reply: &mut Reply,
) -> Attempt {
    let meta = message.pointer("/params/_meta");
    let mut stripped = message.clone();
    strip_meta(&mut stripped);
    let incoming = Incoming {
        body: Bytes::from(stripped.to_string()),
        id: incoming.id.clone(),
        method: incoming.method.clone(),
    };
    let mut stale = None;
    for _ in 0..2 {
        let kept = match kept_session(gateway, meta, stale.as_ref()).await {
            Ok(kept) => kept,
            Err(trouble) => return Attempt::Failed { trouble, delivered: false },
        };
        if let (Some(id), Some("server/discover")) = (&incoming.id, incoming.method.as_deref()) {
            let result = as_face(discover_result_of_initialize(&kept.result));
            reply.answer(json!({"jsonrpc": "2.0", "id": id, "result": result}), false).await;
            return Attempt::Done;
        }
        match send(gateway, &kept.upstream, &incoming, reply).await {
            Attempt::Forgotten => stale = Some(kept.upstream),
            other => return other,
        }
    }
    let trouble = gateway.place.other("it forgot the router's session twice in a row");
    Attempt::Failed { trouble, delivered: false }
}
