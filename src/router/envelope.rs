//! A gateway that speaks the mcp-bridge envelope over WebSocket (a `ws://` or `wss://` URL)
//! rather than MCP, made to look like a streamable HTTP one to the rest of the router: each
//! send is answered with a `reqwest::Response` made here, so that opening, relaying,
//! failover and health checks run unchanged.
//!
//! - An upstream session is one [`WsClient`], one WebSocket connection: the gateway keeps one
//!   backend session per connection. `initialize` without a session opens a new one and, when
//!   it succeeds, answers under a session id of the router's making (`ws-N`).
//! - A request is answered 200 `application/json`; a notification or response 202; `GET`
//!   405 (the gateway sends nothing unasked); `DELETE` closes the connection. An unknown
//!   session id is 404, so the relay re-initializes.
//! - Failures: no connection or no token → not delivered; a dropped connection or no answer
//!   in time → delivered (a safe request is first sent again on a new connection, with the
//!   client's `initialize` replayed); the token refused at the upgrade → 401, so the
//!   gateway's fresh-token path runs.
//! - The gateway's "no endpoints available for namespace: NS" is explained: for `initialize`
//!   it is a failure of the gateway (the next one is tried); for anything else the client
//!   gets a JSON-RPC error naming the namespace and the fix.
//!
//! The gateway answers one frame at a time per connection, so one session's requests are
//! answered one after the other.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use url::Url;

use super::fault::Place;
use super::gateway::{SendError, Upstream};
use super::wire::{self, INVALID, SAFE};
use crate::auth::Tokens;
use crate::mcpbridge::envelope::{explain_unavailable, unavailable_namespace};
use crate::mcpbridge::ws::{WsClient, WsError, WsSettings, WsTls};
use crate::net::TlsOptions;
use crate::net::mcp::SESSION;
use crate::net::tls::{Seen, SeenHandle};
use crate::trouble::Trouble;

/// The gateway said no MCP server serves the namespace (the bridge answers the same code).
const NO_SERVER: i64 = -32005;

/// Keepalive pings on each connection, as the gateway's own router sends them.
const PING_EVERY: Duration = Duration::from_secs(30);
/// How long an answer may take (the gateway gives its backend 5 s).
const ANSWER_WITHIN: Duration = Duration::from_secs(30);
/// How often a safe request is sent again after its connection dropped, at most.
const RESENDS: usize = 2;

/// One envelope gateway's upstream sessions, by the ids the router gave them.
pub(crate) struct Envelope {
    settings: WsSettings,
    /// How failures name the gateway.
    place: Place,
    /// Made once: every session's connection shares it.
    tls: WsTls,
    sessions: Mutex<HashMap<String, WsClient>>,
    opened: AtomicU64,
}

impl Envelope {
    /// For the WebSocket at `url`; `Err` when the TLS settings cannot be used.
    pub(crate) fn new(
        url: &Url,
        tls: &TlsOptions,
        tokens: Option<Tokens>,
        place: Place,
    ) -> Result<Envelope, String> {
        let made = WsTls::new(tls)?;
        let settings = WsSettings {
            url: url.clone(),
            tls: tls.clone(),
            tokens,
            ping_every: PING_EVERY,
            answer_within: ANSWER_WITHIN,
        };
        let sessions = Mutex::default();
        Ok(Envelope { settings, place, tls: made, sessions, opened: AtomicU64::new(1) })
    }

    /// What the handshakes of its connections saw.
    pub(crate) fn seen(&self) -> SeenHandle {
        self.tls.seen()
    }

    /// One HTTP exchange as a streamable HTTP gateway would answer it (see the module's doc).
    pub(crate) async fn send(
        &self,
        method: &Method,
        body: Option<&Bytes>,
        session: &Upstream,
    ) -> Result<Response, SendError> {
        match (method, body) {
            (&Method::POST, Some(body)) => self.post(body, session).await,
            (&Method::DELETE, _) => {
                self.forget(session).await;
                Ok(made(StatusCode::OK, None, String::new()))
            }
            _ => {
                let text = "the gateway's WebSocket sends no messages unasked: no server stream";
                Ok(made(StatusCode::METHOD_NOT_ALLOWED, Some("text/plain"), text.to_owned()))
            }
        }
    }

    /// Closes and forgets the session's connection, if it has one here.
    pub(crate) async fn forget(&self, session: &Upstream) {
        let Some(id) = session.id.as_ref().and_then(|id| id.to_str().ok()) else { return };
        let client = self.lock().remove(id);
        if let Some(client) = client {
            client.close().await;
        }
    }

    async fn post(&self, body: &Bytes, session: &Upstream) -> Result<Response, SendError> {
        let Ok(message) = serde_json::from_slice::<Value>(body) else {
            let answer = wire::error(&Value::Null, INVALID, "the body is not JSON", "send JSON");
            return Ok(json(StatusCode::BAD_REQUEST, &answer, None));
        };
        let method = message.get("method").and_then(Value::as_str).map(str::to_owned);
        let id = message.get("id").filter(|id| !id.is_null()).cloned();
        let known = session.id.as_ref().and_then(|id| id.to_str().ok());
        let client = match known {
            Some(key) => match self.lock().get(key).cloned() {
                Some(client) => client,
                None => return Ok(made(StatusCode::NOT_FOUND, None, String::new())),
            },
            None if method.as_deref() == Some("initialize") && id.is_some() => {
                return self.initialize(&message).await;
            }
            None => {
                let cause = "a message outside a session (the gateway's WebSocket needs one)";
                let answer = wire::error(&Value::Null, INVALID, cause, "send initialize first");
                return Ok(json(StatusCode::BAD_REQUEST, &answer, None));
            }
        };
        let (Some(id), Some(method)) = (id, method) else {
            return match client.notify(&message).await {
                Ok(()) => Ok(made(StatusCode::ACCEPTED, None, String::new())),
                Err(error) => self.failed(error, None),
            };
        };
        let mut answer = client.call(&message).await;
        // Twice: a connection that broke while being written may look open once more.
        for _ in 0..RESENDS {
            let Err(WsError::Dropped(why)) = &answer else { break };
            if !SAFE.contains(&method.as_str()) {
                break;
            }
            tracing::info!(gateway = %self.settings.url, %why,
                "the gateway dropped the connection; {method} sent again on a new one");
            answer = client.call(&message).await;
        }
        match answer {
            Ok(answer) => Ok(json(StatusCode::OK, &explained(answer, &id), None)),
            Err(error) => self.failed(error, Some(&id)),
        }
    }

    /// A new connection, the client's `initialize` on it, and the session registered when
    /// the answer opens one.
    async fn initialize(&self, message: &Value) -> Result<Response, SendError> {
        let client = WsClient::with_tls(self.settings.clone(), self.tls.clone());
        let answer = match client.call(message).await {
            Ok(answer) => answer,
            Err(error) => {
                client.close().await;
                return self.failed(error, message.get("id"));
            }
        };
        if let Some(namespace) = unavailable_namespace(&answer) {
            client.close().await;
            let (cause, fix) = explain_unavailable(namespace);
            return Err(SendError { trouble: Trouble::new(cause, fix), delivered: true });
        }
        if !answer["result"].is_object() {
            // Refused: no session.
            client.close().await;
            return Ok(json(StatusCode::OK, &answer, None));
        }
        let key = format!("ws-{}", self.opened.fetch_add(1, Ordering::Relaxed));
        let header = HeaderValue::from_str(&key).ok();
        self.lock().insert(key, client);
        Ok(json(StatusCode::OK, &answer, header))
    }

    /// A client error as the router's HTTP code takes it; `id`: the request's, if it is one.
    fn failed(&self, error: WsError, id: Option<&Value>) -> Result<Response, SendError> {
        let url = &self.settings.url;
        let place = &self.place;
        let (trouble, delivered) = match error {
            WsError::Refused { status: status @ (401 | 403), body } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED);
                let text = format!("the token was refused at the WebSocket upgrade: {body}");
                return Ok(made(status, Some("text/plain"), text));
            }
            WsError::Refused { status, body } => (
                Trouble::new(
                    format!(
                        "the WebSocket upgrade at {url} got HTTP {status}: {}",
                        crate::net::first_line(&body)
                    ),
                    "check that the gateway serves its WebSocket at this path (usually /ws)",
                ),
                false,
            ),
            WsError::Token(trouble) => (place.no_token(&trouble), false),
            WsError::Connect(why)
                if why.starts_with("TLS with")
                    && let Some(seen) = self.refused_certificate() =>
            {
                (place.certificate(&seen), false)
            }
            WsError::Connect(why) if why.contains("refused") => (place.refused(), false),
            WsError::Connect(why) => (place.unreachable(&why), false),
            error @ WsError::TooLarge { .. } => {
                let fix =
                    "send smaller messages (the gateway closes the connection on larger ones)";
                let cause = format!("the message was not sent: {error}");
                let answer = wire::error(id.unwrap_or(&Value::Null), INVALID, &cause, fix);
                let status =
                    if id.is_some() { StatusCode::OK } else { StatusCode::PAYLOAD_TOO_LARGE };
                return Ok(json(status, &answer, None));
            }
            error @ WsError::Dropped(_) => (place.dropped(&error.to_string()), true),
            error @ (WsError::Timeout(_) | WsError::BadAnswer(_)) => {
                (place.other(error.to_string()), true)
            }
        };
        Err(SendError { trouble, delivered })
    }

    /// The certificate a handshake refused, if one did.
    fn refused_certificate(&self) -> Option<Seen> {
        self.tls.seen().last().filter(|seen| seen.refusal.is_some())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, WsClient>> {
        self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The answer to request `id`, with the gateway's "no endpoints" error explained.
fn explained(answer: Value, id: &Value) -> Value {
    match unavailable_namespace(&answer) {
        Some(namespace) => {
            let (cause, fix) = explain_unavailable(namespace);
            wire::error(id, NO_SERVER, &cause, &fix)
        }
        None => answer,
    }
}

/// An `application/json` answer, with the session id header when one is given.
fn json(status: StatusCode, answer: &Value, session: Option<HeaderValue>) -> Response {
    let mut response = made(status, Some("application/json"), answer.to_string());
    if let Some(session) = session {
        response.headers_mut().insert(SESSION, session);
    }
    response
}

/// An HTTP answer made here, as if the gateway had sent it.
fn made(status: StatusCode, content_type: Option<&'static str>, body: String) -> Response {
    let mut response = axum::http::Response::new(body);
    *response.status_mut() = status;
    if let Some(content_type) = content_type {
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    Response::from(response)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn websocket_failures_become_what_the_relay_understands() {
        let url: Url = "wss://127.0.0.1:1/ws".parse().unwrap();
        let place = Place {
            url: url.clone(),
            origin: Default::default(),
            token: None,
            own_auth: false,
            pool: "p".into(),
        };
        let envelope = Envelope::new(&url, &TlsOptions::default(), None, place).unwrap();
        let body = "Bearer error=\"invalid_token\"; Unauthorized".to_owned();
        let refused = envelope.failed(WsError::Refused { status: 401, body }, None).unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "so a fresh token is tried");
        assert!(refused.text().await.unwrap().contains("invalid_token"));
        let not_found = WsError::Refused { status: 404, body: "404 page not found".into() };
        let error = envelope.failed(not_found, None).unwrap_err();
        assert!(!error.delivered && error.trouble.fix.contains("(usually /ws)"), "{error:?}");
        let error = envelope.failed(WsError::Connect("refused".into()), None).unwrap_err();
        assert!(!error.delivered, "{error:?}");
        for sent in [WsError::Dropped("1006".into()), WsError::Timeout(Duration::from_secs(1))] {
            assert!(envelope.failed(sent, None).unwrap_err().delivered);
        }
        let large = envelope.failed(WsError::TooLarge { bytes: 3 << 20 }, Some(&json!(4))).unwrap();
        let answer: Value = large.json().await.unwrap();
        assert_eq!(
            (answer["id"].clone(), answer["error"]["code"].clone()),
            (json!(4), json!(-32600))
        );
    }

    #[test]
    fn the_no_endpoints_answer_is_explained_and_others_pass() {
        let none = json!({"jsonrpc": "2.0", "id": 9, "error": {"code": -32603,
            "message": "[router] UNAVAILABLE: no endpoints available for namespace: serena"}});
        let answer = explained(none, &json!(9));
        assert_eq!(answer["error"]["code"], json!(NO_SERVER));
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("namespace `serena`; fix: register"), "{message}");
        let fine = json!({"jsonrpc": "2.0", "id": 9, "result": {}});
        assert_eq!(explained(fine.clone(), &json!(9)), fine);
    }
}
