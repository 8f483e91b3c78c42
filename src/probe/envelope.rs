//! The mcp-bridge gateway's own protocol as a probe transport: the same handshake and timed
//! requests, each message in the gateway's envelope, over its WebSocket or HTTP frontend.

use std::time::Duration;

use rmcp::model::JsonObject;
use serde_json::Value;

use super::failure::Failure;
use super::rpc::{self, RpcError};
use crate::mcpbridge::frontend::Frontend;
use crate::mcpbridge::ws::{WsClient, WsError, WsSettings};
use crate::net::tls::Seen;
use crate::net::{Broke, Http, Target};
use crate::profile::Transport;

/// The gateway's keepalive interval, as its own router keeps it.
const PING_EVERY: Duration = Duration::from_secs(30);

pub struct Envelope {
    carrier: Carrier,
    url: String,
    timeout: Duration,
}

enum Carrier {
    Ws(WsClient),
    Frontend(Frontend),
}

impl Envelope {
    /// For `target` on `transport` (one of the envelope transports): a WebSocket at the
    /// target's URL with the scheme mapped (`https` → `wss`), or its HTTP frontend.
    pub fn new(http: &Http, target: &Target, transport: Transport) -> Result<Envelope, Failure> {
        let url = target.url.to_string();
        let carrier = match transport {
            Transport::McpBridgeHttp => {
                let frontend = Frontend::new(target)
                    .map_err(|detail| Failure::Protocol { url: url.clone(), detail })?;
                Carrier::Frontend(frontend)
            }
            _ => {
                let mut ws = target.url.clone();
                let _ = ws.set_scheme(if ws.scheme() == "https" { "wss" } else { "ws" });
                let ws = WsClient::new(WsSettings {
                    url: ws,
                    tls: target.tls.clone(),
                    tokens: target.auth.clone(),
                    ping_every: PING_EVERY,
                    answer_within: http.timeout,
                });
                Carrier::Ws(ws.map_err(|detail| Failure::Protocol { url: url.clone(), detail })?)
            }
        };
        Ok(Envelope { carrier, url, timeout: http.timeout })
    }

    /// A request and its answer: its result, or its JSON-RPC error.
    pub async fn request(
        &mut self,
        id: i64,
        method: &str,
        params: Option<Value>,
    ) -> Result<Result<JsonObject, RpcError>, Failure> {
        let answer = self.send(&rpc::request(id, method, params)).await?;
        rpc::answer_for(&answer, id).ok_or_else(|| Failure::Protocol {
            url: self.url.clone(),
            detail: format!("the gateway's answer to {method} is not a JSON-RPC response to it"),
        })
    }

    /// A notification; the error the gateway answers it with is dropped.
    pub async fn notify(&mut self, method: &str) -> Result<(), Failure> {
        self.send(&rpc::notification(method)).await.map(drop)
    }

    pub async fn close(&mut self) {
        if let Carrier::Ws(ws) = &self.carrier {
            ws.close().await;
        }
    }

    async fn send(&self, message: &Value) -> Result<Value, Failure> {
        let sent = match &self.carrier {
            Carrier::Ws(ws) if message.get("id").is_some() => ws.call(message).await,
            Carrier::Ws(ws) => ws.notify(message).await.map(|()| Value::Null),
            Carrier::Frontend(frontend) => frontend.send(message).await,
        };
        sent.map_err(|error| self.failure(error))
    }

    /// The certificate the WebSocket's handshake refused, if it did.
    fn refused_certificate(&self) -> Option<Seen> {
        let Carrier::Ws(ws) = &self.carrier else { return None };
        ws.seen().last().filter(|seen| seen.refusal.is_some())
    }

    fn failure(&self, error: WsError) -> Failure {
        let url = self.url.clone();
        match error {
            WsError::Connect(_) if let Some(seen) = self.refused_certificate() => {
                Failure::Tls { url, seen: Box::new(seen) }
            }
            WsError::Connect(detail) => {
                let authority = url::Url::parse(&url)
                    .ok()
                    .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
                    .unwrap_or_else(|| url.clone());
                let refused = detail.contains("refused");
                Failure::Connect { authority, detail, refused }
            }
            WsError::Refused { status, body } => {
                let (method, wanted) = match &self.carrier {
                    Carrier::Ws(_) => ("GET", "101 Switching Protocols"),
                    Carrier::Frontend(_) => ("POST", "200 with the answer"),
                };
                Failure::status(method, url, status, &body, wanted)
            }
            WsError::Timeout(after) => Failure::Timeout { url, after: after.max(self.timeout) },
            WsError::Dropped(detail) => {
                let during = "waiting for the gateway's answer".to_owned();
                let detail = format!("the gateway dropped the connection: {detail}");
                Failure::Dropped { url, how: Broke::Closed, during, detail }
            }
            other => Failure::Protocol { url, detail: other.to_string() },
        }
    }
}
