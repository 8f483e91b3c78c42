//! The bridge's way to the mcp-bridge gateway's own protocol (`endpoint.transport:
//! mcp-bridge-ws` or `mcp-bridge-http`): each client message wrapped in the gateway's envelope,
//! each answer unwrapped, the id-null error it sends back for a notification dropped, its "no
//! endpoints" error explained, and a dropped connection recovered for requests that are safe
//! to send again.

use std::sync::Arc;

use serde_json::Value;

use super::explain::Explainer;
use super::link::LinkHealth;
use super::rpc::{BAD_ANSWER, NO_ROUTE, Problem, UNAUTHORIZED, UNREACHABLE};
use super::stdio::{Out, warn};
use super::target;
use super::upstream::{LEARNS_WITHIN, WAIT_FOR_ROUTE};
use crate::auth::Tokens;
use crate::mcpbridge::envelope::{explain_unavailable, unavailable_namespace};
use crate::mcpbridge::frontend::Frontend;
use crate::mcpbridge::ws::{WsClient, WsError, WsSettings};
use crate::net::Http;
use crate::profile::{Profile, Transport};
use crate::supervisor::RunOptions;

/// The gateway said no endpoint serves the namespace.
const UNAVAILABLE: i64 = -32005;

#[derive(Clone)]
pub(super) struct EnvelopeUpstream(Arc<Inner>);

struct Inner {
    carrier: Carrier,
    tokens: Option<Tokens>,
    explainer: Explainer,
    out: Out,
    /// The status of the route the bridge runs, if it runs one.
    health: LinkHealth,
}

enum Carrier {
    Ws(WsClient),
    Frontend(Frontend),
}

impl EnvelopeUpstream {
    pub fn new(
        profile: &Profile,
        options: &RunOptions,
        health: LinkHealth,
        out: Out,
    ) -> Result<Self, Problem> {
        let (target, hints) = target::of(profile, options)?;
        let setup = |cause: String| Problem::new(NO_ROUTE, cause, "check the profile's `tls`");
        let carrier = match target.transport {
            Transport::McpBridgeHttp => Carrier::Frontend(Frontend::new(&target).map_err(setup)?),
            _ => {
                let mut url = target.url.clone();
                let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
                let _ = url.set_scheme(scheme);
                let ws = WsClient::new(WsSettings {
                    url,
                    tls: target.tls.clone(),
                    tokens: target.auth.clone(),
                    ping_every: std::time::Duration::from_secs(30),
                    answer_within: std::time::Duration::from_secs(30),
                });
                Carrier::Ws(ws.map_err(setup)?)
            }
        };
        let seen = Http::new(&target).map_err(setup)?.seen;
        let tokens = target.auth.clone();
        let explainer = Explainer { target, hints, seen };
        Ok(EnvelopeUpstream(Arc::new(Inner { carrier, tokens, explainer, out, health })))
    }

    /// Relays a request and passes its answer on; answers an error when it cannot.
    pub async fn request(&self, message: Value, id: Value, method: String) {
        let safe = crate::router::SAFE.contains(&method.as_str());
        let mut refreshed = false;
        let mut resent = false;
        // A link that is down: the request waits for it a while, then gets the route's words.
        if let Some(problem) = self.0.health.serving(WAIT_FOR_ROUTE).await {
            let _ = self.0.out.send(problem.answer(&id)).await;
            return;
        }
        let answer = loop {
            match self.send(&message).await {
                Ok(answer) => break Ok(answer),
                Err(WsError::Refused { status: 401, .. }) if !refreshed && self.refresh().await => {
                    refreshed = true;
                }
                Err(WsError::Dropped(why)) if safe && !resent => {
                    warn(format!(
                        "the gateway dropped the connection ({why}); sending {method} again"
                    ));
                    resent = true;
                }
                Err(error) => match self.0.health.failure_soon(LEARNS_WITHIN).await {
                    Some(link_down) => break Err(link_down),
                    None => break Err(self.problem(&method, error).await),
                },
            }
        };
        let line = match answer {
            Ok(answer) => match unavailable_namespace(&answer) {
                Some(namespace) => {
                    let (cause, fix) = explain_unavailable(namespace);
                    Problem::new(UNAVAILABLE, cause, fix).answer(&id)
                }
                None => answer.to_string(),
            },
            Err(problem) => problem.answer(&id),
        };
        let _ = self.0.out.send(line).await;
    }

    /// Relays a notification (or a response); what the gateway answers to it is dropped.
    pub async fn notify(&self, line: String, method: Option<String>) {
        let what = method.as_deref().unwrap_or("a response to the server");
        let Ok(message) = serde_json::from_str::<Value>(&line) else { return };
        let sent = match &self.0.carrier {
            Carrier::Ws(ws) => ws.notify(&message).await,
            Carrier::Frontend(frontend) => frontend.send(&message).await.map(drop),
        };
        if let Err(error) = sent {
            let problem = self.problem(what, error).await;
            warn(format!("{what} could not be relayed: {}", problem.message()));
        }
    }

    pub async fn close(&self) {
        if let Carrier::Ws(ws) = &self.0.carrier {
            ws.close().await;
        }
    }

    async fn send(&self, message: &Value) -> Result<Value, WsError> {
        match &self.0.carrier {
            Carrier::Ws(ws) => ws.call(message).await,
            Carrier::Frontend(frontend) => frontend.send(message).await,
        }
    }

    /// A fresh token after a refusal; whether there is one.
    async fn refresh(&self) -> bool {
        match &self.0.tokens {
            Some(tokens) => tokens.refresh().await.is_ok(),
            None => false,
        }
    }

    async fn problem(&self, what: &str, error: WsError) -> Problem {
        let url = &self.0.explainer.target.url;
        match error {
            WsError::Refused { status, body } => {
                // The token sent, so that the diagnosis can name a claim the gateway refused.
                let bearer = match &self.0.tokens {
                    Some(tokens) => tokens.bearer().await.ok(),
                    None => None,
                };
                let problem = self.0.explainer.status(what, status, &body, bearer.as_ref());
                match status {
                    401 | 403 => Problem { code: UNAUTHORIZED, ..problem },
                    _ => problem,
                }
            }
            WsError::Connect(why) => Problem::new(
                UNREACHABLE,
                format!("cannot reach the gateway at {url}: {why}"),
                "check that the route runs (`mcp-connect up PROFILE` or the TUI) and that the \
                 gateway serves its WebSocket at this path (usually /ws)",
            ),
            WsError::Token(trouble) => Problem::new(
                UNAUTHORIZED,
                format!("no token for the gateway: {}", trouble.cause),
                trouble.fix,
            ),
            WsError::TooLarge { .. } => Problem::new(
                BAD_ANSWER,
                format!("{what} was not sent: {error}"),
                "send smaller messages (the gateway closes the connection on larger ones)",
            ),
            WsError::Dropped(_) => Problem::new(
                UNREACHABLE,
                format!("{error} during {what}; not sent again, since it may have run"),
                "check whether it took effect, then retry; the next request reconnects",
            ),
            WsError::Timeout(_) | WsError::BadAnswer(_) => {
                self.0.explainer.bad_answer(what, &error.to_string())
            }
        }
    }
}
