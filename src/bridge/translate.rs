//! Between eras: what the bridge answers itself when its client and the server speak different
//! MCP eras (see [`super::era`]; the translations are `crate::net::era`'s).
//!
//! - A 2025 client in front of a 2026-only server (its `initialize` refused, see
//!   [`era::refuses_handshake`]): `initialize` is answered from the server's `server/discover`,
//!   `ping` with `{}`, and `notifications/initialized` goes nowhere; no session, no GET stream.
//! - A 2026 client in front of a 2025-only server (its `server/discover` refused, see
//!   [`era::refuses_2026`]): the bridge opens a session of its own with the client's
//!   capabilities and name, and answers `server/discover` from that session's `initialize`;
//!   the server's results reach the client as 2026 results (`resultType`, and the cache hints
//!   of the cacheable ones, see `Upstream::pass_on`).

use reqwest::Response;
use serde_json::{Value, json};

use super::answer::{self, Read};
use super::era::{self, Way};
use super::rpc::Problem;
use super::stdio::note;
use super::upstream::Upstream;
use crate::net::era::{
    Era, LATEST_WITH_INITIALIZE, as_2026_result, discover_result_of_initialize,
    initialize_params_of_meta, initialize_result_of_discover, meta_of_initialize, modern_headers,
};
use crate::net::mcp::{SESSION, answers};
use crate::net::snippet;

/// The id of the bridge's own `server/discover` (each goes in a request of its own).
const DISCOVER_ID: &str = "mcp-connect-bridge-discover";

impl Upstream {
    /// A 2025 client's `initialize`: relayed, and answered from `server/discover` when the
    /// server speaks only 2026-07-28.
    pub(super) async fn initialize(&self, line: String, message: Value, id: Value) {
        let params = message.get("params").cloned().unwrap_or_else(|| json!({}));
        if self.eras.server() != Some(Era::Modern) {
            let response = match self.exchange_any(&line, "initialize", &Way::Fresh).await {
                Ok(response) => response,
                Err(problem) => return self.fail(&id, "initialize", problem).await,
            };
            let status = response.status();
            let text = match status.is_success() {
                true => match self.handshake(response, params.clone(), &id).await {
                    Some(refusal) => refusal,
                    None => return,
                },
                false => response.text().await.unwrap_or_default(),
            };
            if !era::refuses_handshake(status.as_u16(), &text) {
                let problem = self.refused("initialize", status.as_u16(), &text).await;
                return self.fail(&id, "initialize", problem).await;
            }
            note(format!(
                "{} speaks only MCP 2026-07-28 (initialize got {}: {}); answering the client's \
                 initialize from its server/discover",
                self.url,
                status.as_u16(),
                snippet(&text)
            ));
            self.eras.set_server(Era::Modern);
        }
        let requested = params.get("protocolVersion").and_then(Value::as_str).map(str::to_owned);
        self.session.begin(None, Some(params.clone()));
        let meta = Value::Object(meta_of_initialize(&params));
        match self.discover(discover_request(Some(meta))).await {
            Ok(discovered) => {
                let result = initialize_result_of_discover(&discovered, requested.as_deref());
                let answer = json!({"jsonrpc": "2.0", "id": id, "result": result});
                let _ = self.out.send(answer.to_string()).await;
            }
            Err(problem) => self.fail(&id, "initialize", problem).await,
        }
    }

    /// Passes on the server's answer (200) to the client's `initialize` and begins the session
    /// it opened, unless the answer is a 2026-only server's refusal (rmcp answers it with
    /// 200): that one is answered, not passed on.
    async fn handshake(&self, response: Response, params: Value, id: &Value) -> Option<String> {
        let session_id = response.headers().get(SESSION).cloned();
        let mut messages = Vec::new();
        let read = answer::read(response, id, None, |message| messages.push(message.clone()));
        let read = read.await;
        let answer = messages.iter().find(|message| answers(message, id));
        if let Some(refusal) = answer.filter(|a| a.get("error").is_some()).map(Value::to_string)
            && era::refuses_handshake(200, &refusal)
        {
            return Some(refusal);
        }
        self.eras.set_server(Era::Initialize);
        let generation = self.session.begin(session_id, Some(params));
        for message in messages {
            if answers(&message, id)
                && let Some(version) = message["result"]["protocolVersion"].as_str()
            {
                self.session.set_version(generation, version);
            }
            if self.out.send(message.to_string()).await.is_err() {
                return None;
            }
        }
        let problem = match read {
            Ok(Read::Answered | Read::ClientGone) => return None,
            Ok(Read::Unanswered) => "the stream ended first".to_owned(),
            Err(detail) => detail,
        };
        self.fail(id, "initialize", self.explainer.bad_answer("initialize", &problem)).await;
        None
    }

    /// Learns the server's era for a 2026 client from a `server/discover`: the client's own
    /// `message` when it is one (its answer is passed on here), else the bridge's. A server
    /// that refuses it as a 2025 server does gets a session of the bridge's own. `Ok(true)`:
    /// relay `message` now; `Ok(false)`: it is answered.
    pub(super) async fn learn_era(&self, message: &Value, id: &Value) -> Result<bool, Problem> {
        let _one_at_a_time = self.learning.lock().await;
        if self.eras.server().is_some() {
            return Ok(true);
        }
        let own = message.get("method").and_then(Value::as_str) == Some("server/discover");
        let meta = message.pointer("/params/_meta").cloned();
        let discover = if own { message.clone() } else { discover_request(meta.clone()) };
        let way = Way::Modern(modern_headers(&discover));
        let response = self.exchange_any(&discover.to_string(), "server/discover", &way).await?;
        let status = response.status();
        if status.is_success() {
            self.eras.set_server(Era::Modern);
            if own {
                self.pass_on(response, id, "server/discover").await;
            }
            return Ok(!own);
        }
        let text = response.text().await.unwrap_or_default();
        if !era::refuses_2026(status.as_u16(), &text) {
            return Err(self.refused("server/discover", status.as_u16(), &text).await);
        }
        note(format!(
            "{} speaks only the 2025 era (server/discover got {}: {}); relaying in a session of \
             the bridge's own",
            self.url,
            status.as_u16(),
            snippet(&text)
        ));
        let relay = json!({"name": "mcp-connect-bridge", "version": env!("CARGO_PKG_VERSION")});
        let params = initialize_params_of_meta(meta.as_ref(), LATEST_WITH_INITIALIZE, &relay);
        let result = self.start_session(params, true).await.map_err(|mut problem| {
            problem.trouble.cause = format!(
                "{} refused server/discover as a 2025 server does, and then initialize: {}",
                self.url, problem.trouble.cause
            );
            problem
        })?;
        self.eras.set_initialized(result);
        self.eras.set_server(Era::Initialize);
        Ok(true)
    }

    /// Answers here what the server's era lacks: a 2025 client's `ping` to a 2026 server, a
    /// 2026 client's `server/discover` to a 2025 one. Whether it did.
    pub(super) async fn answer_here(&self, client: Era, method: &str, id: &Value) -> bool {
        let result = match (client, self.eras.server(), method) {
            (Era::Initialize, Some(Era::Modern), "ping") => json!({}),
            (Era::Modern, Some(Era::Initialize), "server/discover") => {
                match self.eras.initialized() {
                    Some(initialized) => discover_result_of_initialize(&initialized),
                    None => return false,
                }
            }
            _ => return false,
        };
        let mut answer = json!({"jsonrpc": "2.0", "id": id, "result": result});
        if client == Era::Modern {
            as_2026_result(&mut answer, method);
        }
        let _ = self.out.send(answer.to_string()).await;
        true
    }

    /// The result of the bridge's own `server/discover` request `body`.
    async fn discover(&self, body: Value) -> Result<Value, Problem> {
        let way = Way::Modern(modern_headers(&body));
        let response = self.exchange(&body.to_string(), "server/discover", &way).await?;
        let id = json!(DISCOVER_ID);
        let mut answer = None;
        let read = answer::read(response, &id, None, |message| {
            if answers(message, &id) {
                answer = Some(message.clone());
            }
        });
        read.await.map_err(|detail| self.explainer.bad_answer("server/discover", &detail))?;
        match answer {
            Some(answer) if answer["result"].is_object() => Ok(answer["result"].clone()),
            answer => {
                let said = answer.map_or("no answer".to_owned(), |a| a["error"].to_string());
                Err(self.explainer.bad_answer("server/discover", &said))
            }
        }
    }
}

/// The bridge's own `server/discover`, with the client's 2026 `_meta`.
fn discover_request(meta: Option<Value>) -> Value {
    let params = match meta {
        Some(meta) => json!({"_meta": meta}),
        None => json!({}),
    };
    json!({"jsonrpc": "2.0", "id": DISCOVER_ID, "method": "server/discover", "params": params})
}
