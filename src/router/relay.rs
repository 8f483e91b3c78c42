//! One client message in an open session, relayed to the session's gateway and its answer
//! passed back as it comes (JSON whole, SSE event by event). When the gateway fails, the
//! session moves (see [`super::session::recover`]) and the message is sent again if that is
//! safe; otherwise the client gets a JSON-RPC error saying what happened.
//!
//! The message waits on its gateway as [`Gateway::guard`] bounds it: it gives up at once when
//! the gateway is judged down by a check or another request's deadline, and at its own
//! deadline (the pool's `request_timeout`), when the gateway is judged down too, unless a check
//! just passed: then only this message is answered, with [`NO_ANSWER`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode};
use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use sse_stream::SseStream;
use tokio::sync::mpsc;

use super::gateway::{Gateway, Interrupted, Judged, Upstream};
use super::metrics::Outcome;
use super::pool::Shared;
use super::reply::{Out, Reply};
use super::session::{ClientSession, Why, recover};
use super::wire::{self, GATEWAY_LOST, NO_ANSWER, NO_GATEWAY, SAFE};
use crate::net::era::{meta_of_initialize, put_meta};
use crate::net::mcp::{answers, media_type, message_of};
use crate::trouble::Trouble;

/// Sends of one message, at most (the first, and after each move of the session).
const ATTEMPTS: usize = 4;
/// How long the rest of an answer stream is read after the answer, at most.
const DRAIN_WITHIN: Duration = Duration::from_secs(5);

/// A client message: a request when `id` is set, else a notification or a response.
pub(crate) struct Incoming {
    pub body: Bytes,
    pub id: Option<Value>,
    pub method: Option<String>,
}

/// Relays `incoming` in `session` until it is answered, writing the answer to `out`.
pub(crate) async fn relay(
    shared: Arc<Shared>,
    session: Arc<ClientSession>,
    incoming: Incoming,
    out: mpsc::Sender<Out>,
) {
    let mut reply = Reply::new(out);
    let method = incoming.method.as_deref().unwrap_or("a response to the server");
    let id = incoming.id.clone().unwrap_or(Value::Null);
    let safe = incoming.id.is_none() || SAFE.contains(&method);
    for _ in 0..ATTEMPTS {
        let binding = session.binding();
        let gateway = binding.gateway.clone();
        // On a 2026-only gateway the session is the router's: it answers what has no 2026
        // counterpart, and sends the rest translated.
        let translated;
        let incoming = match binding.upstream.is_modern() {
            false => &incoming,
            true => match translate(&incoming, &session.params) {
                Translated::Accepted => return reply.accepted().await,
                Translated::Answer(answer) => return reply.answer(answer, false).await,
                Translated::Send(modern) => {
                    translated = modern;
                    &translated
                }
            },
        };
        // Taken before `serves` is asked: a judgement in between is seen.
        let mut downs = gateway.downs();
        let attempt = match gateway.serves() {
            false => Attempt::Known { cause: gateway.describe(), delivered: false },
            true => {
                let sent = send(&gateway, &binding.upstream, incoming, &mut reply);
                match guarded(&gateway, method, &id, &mut downs, sent).await {
                    Ok(attempt) => attempt,
                    // Slow on this message alone: the session stays where it is.
                    Err(error) => return reply.answer(error, incoming.id.is_none()).await,
                }
            }
        };
        let (why, cause, delivered) = match attempt {
            Attempt::Done => return,
            Attempt::Forgotten => (Why::Forgotten, String::new(), false),
            Attempt::Failed { trouble, delivered } => {
                gateway.mark_down(&trouble, Judged::Request);
                (Why::Failed, trouble.cause, delivered)
            }
            Attempt::Known { cause, delivered } => (Why::Failed, cause, delivered),
        };
        let next = match recover(&shared, &session, &binding, why).await {
            Ok(next) => next,
            Err((cause, fix)) => {
                let cause = format!("{method} could not be relayed: {cause}");
                // A request gets its JSON-RPC error; a notification has none: 503.
                let error = wire::error(&id, NO_GATEWAY, &cause, &fix);
                return reply.answer(error, incoming.id.is_none()).await;
            }
        };
        if incoming.id.is_none() && method == "notifications/initialized" {
            // The new session was sent one when it was opened.
            return reply.accepted().await;
        }
        if !delivered || safe {
            tracing::info!(session = %session.id, gateway = %next.gateway.label, "resending {method}");
            continue;
        }
        let cause = format!(
            "gateway {} went down during {method} ({cause}); the call was not retried because it \
             may have run; the session continues on gateway {}",
            gateway.label, next.gateway.label
        );
        let fix = "check whether the call took effect, then call it again if it did not";
        return reply.answer(wire::error(&id, GATEWAY_LOST, &cause, fix), false).await;
    }
    let cause = format!("{method} failed on {ATTEMPTS} gateways or sessions in a row");
    let fix = "check the gateways' health at /health and the router's log";
    reply.answer(wire::error(&id, GATEWAY_LOST, &cause, fix), false).await;
}

pub(crate) enum Attempt {
    /// Answered (or the client left).
    Done,
    /// The gateway no longer knows the session (404); it never saw the message.
    Forgotten,
    /// The gateway failed; `delivered`: the message may have reached it.
    Failed { trouble: Trouble, delivered: bool },
    /// The gateway was known to be down (by a check, or another request), before the message
    /// was sent or while it waited.
    Known { cause: String, delivered: bool },
}

/// What a 2025 client's message becomes on a 2026-only gateway.
enum Translated {
    /// `notifications/initialized`: nothing to tell a server without sessions.
    Accepted,
    /// `ping`: answered by the router (2026 has none).
    Answer(Value),
    /// Anything else: sent with the 2026 `_meta` of the client's `initialize`.
    Send(Incoming),
}

fn translate(incoming: &Incoming, params: &Value) -> Translated {
    match (&incoming.id, incoming.method.as_deref()) {
        (None, Some("notifications/initialized")) => return Translated::Accepted,
        (Some(id), Some("ping")) => {
            return Translated::Answer(json!({"jsonrpc": "2.0", "id": id, "result": {}}));
        }
        _ => {}
    }
    let body = match serde_json::from_slice::<Value>(&incoming.body) {
        Ok(mut message) => {
            put_meta(&mut message, &meta_of_initialize(params));
            Bytes::from(message.to_string())
        }
        Err(_) => incoming.body.clone(),
    };
    Translated::Send(Incoming { body, id: incoming.id.clone(), method: incoming.method.clone() })
}

/// One send to a gateway in `upstream` (a session, or none in 2026), its answer passed on as
/// it comes.
/// `sent` on `gateway` under its guard ([`Gateway::guard`]): the attempt, or, when it ran past
/// its deadline on a gateway that still answers, the error that answers this message alone.
pub(crate) async fn guarded(
    gateway: &Gateway,
    method: &str,
    id: &Value,
    downs: &mut tokio::sync::watch::Receiver<u64>,
    sent: impl Future<Output = Attempt>,
) -> Result<Attempt, Value> {
    match gateway.guard(method, downs, sent).await {
        Ok(attempt) => Ok(attempt),
        Err(Interrupted::Down) => {
            Ok(Attempt::Known { cause: gateway.found_down().cause, delivered: true })
        }
        Err(late @ Interrupted::Late { alive }) => {
            gateway.counters.record(Outcome::Failed);
            let trouble = gateway.interrupted(late, method);
            if alive {
                return Err(wire::error(id, NO_ANSWER, &trouble.cause, &trouble.fix));
            }
            // The deadline judged the gateway down (see `guard`).
            Ok(Attempt::Known { cause: trouble.cause, delivered: true })
        }
    }
}

pub(crate) async fn send(
    gateway: &Gateway,
    upstream: &Upstream,
    incoming: &Incoming,
    reply: &mut Reply,
) -> Attempt {
    let started = Instant::now();
    let body = Some(incoming.body.clone());
    let response = match gateway.send(Method::POST, body, upstream).await {
        Ok(response) => response,
        Err(error) => {
            gateway.counters.record(Outcome::Failed);
            return Attempt::Failed { trouble: error.trouble, delivered: error.delivered };
        }
    };
    gateway.counters.observe(started.elapsed());
    let status = response.status();
    if status == StatusCode::NOT_FOUND && upstream.id.is_some() {
        gateway.counters.record(Outcome::Expired);
        return Attempt::Forgotten;
    }
    let refused = matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
    if status.is_server_error() || refused {
        gateway.counters.record(Outcome::Failed);
        let delivered = !refused && status != StatusCode::SERVICE_UNAVAILABLE;
        let what = incoming.method.as_deref().unwrap_or("a response to the server");
        return Attempt::Failed { trouble: gateway.explain(response, what).await, delivered };
    }
    if !status.is_success() {
        gateway.counters.record(Outcome::Rejected);
        let content_type = response.headers().get(reqwest::header::CONTENT_TYPE).cloned();
        let body = response.bytes().await.unwrap_or_default();
        reply.whole(status, content_type, body).await;
        return Attempt::Done;
    }
    let Some(id) = &incoming.id else {
        gateway.counters.record(Outcome::Ok);
        gateway.request_ok();
        reply.accepted().await;
        return Attempt::Done;
    };
    if media_type(&response) == "text/event-stream" {
        return pass_stream(gateway, response, id, reply).await;
    }
    let content_type = response.headers().get(reqwest::header::CONTENT_TYPE).cloned();
    match response.bytes().await {
        Ok(body) => {
            gateway.counters.record(Outcome::Ok);
            gateway.request_ok();
            reply.whole(status, content_type, body).await;
            Attempt::Done
        }
        Err(error) => {
            gateway.counters.record(Outcome::Failed);
            Attempt::Failed {
                trouble: gateway.place.dropped(&wire::broke(&error)),
                delivered: true,
            }
        }
    }
}

/// Passes an SSE answer on. When the answer is its first message, as it mostly is, the client
/// gets it as one JSON answer (the spec lets the server choose); else the stream, as it comes.
async fn pass_stream(
    gateway: &Gateway,
    response: reqwest::Response,
    id: &Value,
    reply: &mut Reply,
) -> Attempt {
    let mut events = Box::pin(SseStream::from_bytes_stream(response.bytes_stream()));
    while let Some(event) = events.next().await {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                gateway.counters.record(Outcome::Failed);
                let cause = format!("the answer stream broke off: {error}");
                return Attempt::Failed { trouble: gateway.place.dropped(&cause), delivered: true };
            }
        };
        let Some(message) = message_of(event) else { continue };
        let answered = answers(&message, id);
        // Counted before the client can see the answer (and read the metrics after it).
        if answered {
            gateway.counters.record(Outcome::Ok);
            gateway.request_ok();
        }
        let passed = if answered && !reply.streaming {
            let json = Some(HeaderValue::from_static("application/json"));
            reply.whole(StatusCode::OK, json, message.to_string().into()).await;
            true
        } else {
            reply.stream().await;
            reply.message(message).await
        };
        if answered || !passed {
            if !answered {
                gateway.counters.record(Outcome::Ok);
                gateway.request_ok();
            }
            // The rest (the stream's end, mostly) is read apart: the connection goes back to
            // the pool instead of being closed half read.
            tokio::spawn(tokio::time::timeout(DRAIN_WITHIN, async move {
                while events.next().await.is_some() {}
            }));
            return Attempt::Done;
        }
    }
    gateway.counters.record(Outcome::Failed);
    let trouble = gateway.place.dropped("the answer stream ended before the answer");
    Attempt::Failed { trouble, delivered: true }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::era::{META_CLIENT, META_VERSION};
    use crate::net::mcp::MODERN_VERSION;

    fn incoming(message: Value) -> Incoming {
        let id = message.get("id").cloned();
        let method = message["method"].as_str().map(str::to_owned);
        Incoming { body: message.to_string().into(), id, method }
    }

    #[test]
    fn a_2025_session_on_a_2026_gateway_is_answered_or_sent_with_its_initialize_as_meta() {
        let params = json!({"protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "claude-code", "version": "2.1.197"}});
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert!(matches!(translate(&incoming(note), &params), Translated::Accepted));
        let ping = json!({"jsonrpc": "2.0", "id": 4, "method": "ping"});
        let Translated::Answer(pong) = translate(&incoming(ping), &params) else { panic!() };
        assert_eq!(pong, json!({"jsonrpc": "2.0", "id": 4, "result": {}}));
        let call = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "hi"}}});
        let Translated::Send(sent) = translate(&incoming(call), &params) else { panic!() };
        let sent: Value = serde_json::from_slice(&sent.body).unwrap();
        assert_eq!(sent["params"]["_meta"][META_VERSION], MODERN_VERSION);
        assert_eq!(sent["params"]["_meta"][META_CLIENT]["name"], "claude-code");
        assert_eq!(sent["params"]["arguments"]["text"], "hi");
    }
}
