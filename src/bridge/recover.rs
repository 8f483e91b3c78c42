//! Recovery the client does not see: a new session when the server forgot the old one, and
//! which broken connections may be tried again.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use super::answer::{self, Read};
use super::era::Way;
use super::rpc::{self, Problem};
use super::stdio::{note, warn};
use super::upstream::Upstream;
use crate::net::era::Era;
use crate::net::mcp::{SESSION, answers};
use crate::net::{innermost, io_kind};

impl Upstream {
    /// Starts a new session with the client's own `initialize` params after the server forgot
    /// session `stale`; its answer is not passed on. Only the first of many callers does it.
    pub(super) async fn reinitialize(&self, stale: u64, what: &str) -> Result<(), Problem> {
        let _one_at_a_time = self.reinit.lock().await;
        if self.session.snapshot().generation != stale {
            return Ok(());
        }
        let Some(params) = self.session.initialize_params() else {
            return Err(Problem::new(
                rpc::HTTP_STATUS,
                "the server does not know the session (404) and the client never initialized \
                 through this bridge",
                "reconnect the MCP server in the client (in Claude Code: /mcp, then reconnect)",
            ));
        };
        Box::pin(self.start_session(params, false)).await?;
        note(format!(
            "the server forgot the session (404 on {what}); re-initialized with a new session \
             and retrying {what}"
        ));
        if self.eras.client() == Era::Initialize {
            self.open_server_stream();
        }
        Ok(())
    }

    /// Starts a session with `initialize` `params` (kept for a later re-initialization when
    /// `keep`) and `notifications/initialized`; its answer is not passed on but answered here:
    /// the server's `initialize` result.
    pub(super) async fn start_session(&self, params: Value, keep: bool) -> Result<Value, Problem> {
        let n = self.reinits.fetch_add(1, Ordering::Relaxed) + 1;
        let id = json!(format!("mcp-connect-bridge-reinitialize-{n}"));
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": params});
        let response = self.exchange(&body.to_string(), "initialize", &Way::Fresh).await?;
        let session_id = response.headers().get(SESSION).cloned();
        let generation = self.session.begin(session_id, keep.then_some(params));
        let mut answer = None;
        let read = answer::read(response, &id, None, |message| {
            if answers(message, &id) {
                answer = Some(message.clone());
            }
        });
        let read = read.await.map_err(|detail| self.explainer.bad_answer("initialize", &detail))?;
        let result = match (read, answer) {
            (Read::Answered, Some(answer)) if answer.get("result").is_some() => answer,
            (_, answer) => {
                let said = answer.map_or("no answer".to_owned(), |a| a["error"].to_string());
                return Err(self.explainer.bad_answer("a new initialize", &said));
            }
        };
        if let Some(version) = result["result"]["protocolVersion"].as_str() {
            self.session.set_version(generation, version);
        }
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let session = self.session.snapshot();
        let bearer = self.bearer().await?;
        match self.post(&initialized.to_string(), &session, bearer).await {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => warn(format!("notifications/initialized got {}", response.status())),
            Err(error) => warn(format!("notifications/initialized failed: {}", innermost(&error))),
        }
        Ok(result["result"].clone())
    }

    /// Whether a request that failed so may be sent again: nothing answered at all, or (through
    /// a forward, whose connections break when its pod goes) the connection broke.
    pub(super) fn may_retry(&self, error: &reqwest::Error) -> bool {
        use std::io::ErrorKind::*;
        match io_kind(error) {
            Some(ConnectionRefused) => true,
            Some(ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof) => {
                self.forwarded
            }
            // A kept connection the forward closed before the answer (its pod's side went
            // away): as a reset, tried once on a new one, which says what the link says now.
            _ => self.forwarded && crate::net::broke_off(error).is_some(),
        }
    }
}
