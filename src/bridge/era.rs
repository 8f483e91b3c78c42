//! The MCP era each side of the bridge speaks (see FACTS.md, "MCP 2026-07-28"), and what a
//! message becomes on its way to the server:
//!
//! - the client's era from its own messages (`initialize`, or `server/discover` and the 2026
//!   `_meta`); the server's from its answers: [`refuses_handshake`] (a 2026-only server) and
//!   [`refuses_2026`] (a 2025-only one);
//! - [`outgoing`]: the same era on both sides is relayed as it is (a 2026 request with the
//!   2026 headers, no session); a 2025 client in front of a 2026 server gets the 2026 headers
//!   and `_meta` of its `initialize` on every request; a 2026 client in front of a 2025 server
//!   has its requests sent in the bridge's own session, without the 2026 `_meta`.
//!
//! The translations themselves are `crate::net::era`'s, shared with the router.

use std::sync::Mutex;

use serde_json::Value;

use crate::net::era::{
    Era, era_of_request, meta_of_initialize, modern_headers, put_meta, strip_meta,
};
use crate::net::mcp::{
    HEADER_MISMATCH, MODERN_VERSION, UNSUPPORTED_VERSION, VERSION, answers, said_in,
};

/// JSON-RPC "method not found".
const METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC "invalid params": a 2026 server's answer to a request without its `_meta`.
const INVALID_PARAMS: i64 = -32602;

/// How a message goes to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Way {
    /// In the current session, with its id and version (the 2025 era).
    Session,
    /// Without a session: an `initialize`.
    Fresh,
    /// The 2026 era: these headers, no session.
    Modern(Vec<(&'static str, String)>),
}

/// What the bridge knows of both sides' eras.
#[derive(Debug, Default)]
pub struct Eras {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    client: Option<Era>,
    server: Option<Era>,
    /// For a 2026 client in front of a 2025 server: the server's `initialize` result of the
    /// bridge's own session, from which `server/discover` is answered.
    initialized: Option<Value>,
}

impl Eras {
    /// The era the client speaks in `message`, remembered when the message says it (a 2026
    /// `_meta`, `server/discover`, `initialize`); a message that does not say (a notification,
    /// a response) speaks the era the client spoke last.
    pub fn client_sends(&self, message: &Value) -> Era {
        let method = message.get("method").and_then(Value::as_str);
        let said = match era_of_request(None, message) {
            Era::Modern => Some(Era::Modern),
            Era::Initialize if method == Some("initialize") => Some(Era::Initialize),
            Era::Initialize => None,
        };
        self.lock(|state| {
            if said.is_some() {
                state.client = said;
            }
            state.client.unwrap_or(Era::Initialize)
        })
    }

    /// The era the client spoke last (the 2025 one until it says).
    pub fn client(&self) -> Era {
        self.lock(|state| state.client.unwrap_or(Era::Initialize))
    }

    /// The server's era, once known.
    pub fn server(&self) -> Option<Era> {
        self.lock(|state| state.server)
    }

    pub fn set_server(&self, era: Era) {
        self.lock(|state| state.server = Some(era));
    }

    /// The 2025 server's `initialize` result in the bridge's own session (for a 2026 client).
    pub fn initialized(&self) -> Option<Value> {
        self.lock(|state| state.initialized.clone())
    }

    pub fn set_initialized(&self, result: Value) {
        self.lock(|state| state.initialized = Some(result));
    }

    fn lock<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut state)
    }
}

/// What `message` (as the client sent it, `line`) becomes for the server: its body and the
/// way it goes. `client` is the era it speaks; `server` the server's, when known;
/// `initialize` the client's `initialize` params, when it sent one.
pub fn outgoing(
    client: Era,
    server: Option<Era>,
    mut message: Value,
    line: String,
    initialize: Option<&Value>,
) -> (String, Way) {
    match (client, server) {
        (Era::Initialize, Some(Era::Modern)) => {
            let empty = Value::Object(Default::default());
            put_meta(&mut message, &meta_of_initialize(initialize.unwrap_or(&empty)));
            let way = Way::Modern(headers_of(&message));
            (message.to_string(), way)
        }
        (Era::Modern, Some(Era::Initialize)) => {
            strip_meta(&mut message);
            (message.to_string(), Way::Session)
        }
        (Era::Modern, _) => {
            let way = Way::Modern(headers_of(&message));
            (line, way)
        }
        (Era::Initialize, _) => (line, Way::Session),
    }
}

/// The 2026 headers of `message`; a response to the server (no method) says its version only.
fn headers_of(message: &Value) -> Vec<(&'static str, String)> {
    let headers = modern_headers(message);
    if headers.is_empty() { vec![(VERSION, MODERN_VERSION.to_owned())] } else { headers }
}

/// The JSON-RPC error answering request `id` that `body` holds, as one line.
pub fn error_answering(body: &str, id: &Value) -> Option<String> {
    let message: Value = serde_json::from_str(body.trim()).ok()?;
    (answers(&message, id) && message.get("error").is_some()).then(|| message.to_string())
}

/// Whether the server's answer (`status`, `body`) to an `initialize` says it speaks only
/// 2026-07-28: -32022 listing only 2026 versions, with 400 (the TS SDK v2 with `legacy:
/// 'reject'`) or 200 (rmcp), or 404 -32601 (no such method). A -32022 listing a 2025 version
/// is a version the client asked wrongly, answered as it is.
pub fn refuses_handshake(status: u16, body: &str) -> bool {
    let Some(said) = said_in(body) else { return false };
    match (status, said.code) {
        (200 | 400, UNSUPPORTED_VERSION) => {
            !said.supported.is_empty()
                && said.supported.iter().all(|version| version.as_str() >= MODERN_VERSION)
        }
        (404, METHOD_NOT_FOUND) => true,
        _ => false,
    }
}

/// Whether the server's answer (`status`, `body`) to a 2026 `server/discover` says it speaks
/// only the 2025 era: a 400 or 404 (server-everything's -32000 "Server not initialized", a
/// "Missing session ID", -32601, an answer that is not MCP at all), unless it is a 2026
/// server's complaint about the request itself (-32020, -32602, or -32022 listing 2026).
pub fn refuses_2026(status: u16, body: &str) -> bool {
    if !matches!(status, 400 | 404) {
        return false;
    }
    let Some(said) = said_in(body) else { return true };
    match said.code {
        HEADER_MISMATCH | INVALID_PARAMS => false,
        UNSUPPORTED_VERSION => !said.supported.iter().any(|v| v.as_str() >= MODERN_VERSION),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::era::{META_CLIENT, META_VERSION};
    use crate::net::mcp::{METHOD, NAME, error};
    use serde_json::json;

    fn refusal(code: i64, data: Value) -> String {
        let mut answer = error(&json!(1), code, "refused", "x");
        answer["error"]["data"] = data;
        answer.to_string()
    }

    #[test]
    fn an_initialize_refused_for_2026_versions_only_means_a_2026_only_server() {
        let ts_v2 =
            refusal(-32022, json!({"supported": ["2026-07-28"], "requested": "2025-06-18"}));
        assert!(refuses_handshake(400, &ts_v2));
        assert!(refuses_handshake(200, &ts_v2), "as rmcp answers it");
        let not_found = refusal(-32601, json!(null));
        assert!(refuses_handshake(404, &not_found), "no initialize in the server's era");
    }

    #[test]
    fn other_refusals_of_initialize_are_answered_as_they_are() {
        let old = refusal(-32022, json!({"supported": ["2025-03-26", "2026-07-28"]}));
        assert!(!refuses_handshake(400, &old), "a 2025 version it speaks: the client's fault");
        let unlisted = refusal(-32022, json!({}));
        assert!(!refuses_handshake(400, &unlisted), "says no version");
        assert!(!refuses_handshake(404, "Not Found"), "a wrong path, not an era");
        assert!(!refuses_handshake(401, &refusal(-32601, json!(null))));
        assert!(!refuses_handshake(400, &refusal(-32000, json!(null))));
    }

    #[test]
    fn a_discover_refused_as_an_old_server_does_means_a_2025_only_server() {
        let everything = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Bad Request: Server not initialized"}}"#;
        assert!(refuses_2026(400, everything));
        assert!(refuses_2026(400, r#"{"error":{"code":-32600,"message":"Missing session ID"}}"#));
        assert!(refuses_2026(404, &refusal(-32601, json!(null))));
        assert!(refuses_2026(404, "Not Found"), "not MCP at all");
        let old_list = refusal(-32022, json!({"supported": ["2025-06-18"]}));
        assert!(refuses_2026(400, &old_list));
    }

    #[test]
    fn a_2026_servers_complaint_about_the_request_is_no_era_verdict() {
        assert!(!refuses_2026(400, &refusal(-32020, json!(null))), "Mcp-Method mismatch");
        assert!(!refuses_2026(400, &refusal(-32602, json!(null))), "missing _meta");
        let modern = refusal(-32022, json!({"supported": ["2026-07-28"]}));
        assert!(!refuses_2026(400, &modern));
        for status in [401, 403, 421, 500, 502] {
            assert!(!refuses_2026(status, "nope"), "{status} says nothing of the era");
        }
    }

    #[test]
    fn only_an_error_answering_the_request_is_passed_on_as_it_is() {
        let ping =
            r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32601,"message":"Method not found"}}"#;
        assert!(error_answering(ping, &json!(7)).unwrap().contains("-32601"));
        assert_eq!(error_answering(ping, &json!(8)), None, "another request's");
        assert_eq!(error_answering(r#"{"jsonrpc":"2.0","id":7,"result":{}}"#, &json!(7)), None);
        assert_eq!(error_answering("Not Found", &json!(7)), None);
    }

    #[test]
    fn the_client_keeps_the_era_it_last_said() {
        let eras = Eras::default();
        let note = json!({"jsonrpc": "2.0", "method": "notifications/cancelled"});
        assert_eq!(eras.client_sends(&note), Era::Initialize, "nothing said yet");
        let discover = json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover"});
        assert_eq!(eras.client_sends(&discover), Era::Modern);
        assert_eq!(eras.client_sends(&note), Era::Modern);
        let init = json!({"jsonrpc": "2.0", "id": 2, "method": "initialize", "params": {}});
        assert_eq!(eras.client_sends(&init), Era::Initialize);
        assert_eq!(eras.client_sends(&note), Era::Initialize);
    }

    #[test]
    fn each_pair_of_eras_sends_its_own_way() {
        let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "echo", "arguments": {}}});
        let line = call.to_string();
        let init = json!({"capabilities": {}, "clientInfo": {"name": "claude-code"}});

        let (body, way) = outgoing(Era::Initialize, None, call.clone(), line.clone(), None);
        assert_eq!((body.as_str(), way), (line.as_str(), Way::Session), "today's way");

        let (body, way) =
            outgoing(Era::Initialize, Some(Era::Modern), call.clone(), line.clone(), Some(&init));
        let sent: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(sent["params"]["_meta"][META_VERSION], MODERN_VERSION);
        assert_eq!(sent["params"]["_meta"][META_CLIENT]["name"], "claude-code");
        let Way::Modern(headers) = way else { panic!("{way:?}") };
        assert!(headers.contains(&(METHOD, "tools/call".to_owned())), "{headers:?}");
        assert!(headers.contains(&(NAME, "echo".to_owned())), "{headers:?}");

        let mut modern = call.clone();
        put_meta(&mut modern, &meta_of_initialize(&init));
        let modern_line = modern.to_string();
        let (body, way) = outgoing(Era::Modern, None, modern.clone(), modern_line.clone(), None);
        assert_eq!(body, modern_line, "relayed as it is");
        assert!(matches!(way, Way::Modern(h) if h.len() == 3));

        let (body, way) = outgoing(Era::Modern, Some(Era::Initialize), modern, modern_line, None);
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), call, "without the 2026 _meta");
        assert_eq!(way, Way::Session);

        let response = json!({"jsonrpc": "2.0", "id": "s-1", "result": {}});
        let (_, way) = outgoing(Era::Modern, None, response.clone(), response.to_string(), None);
        assert_eq!(way, Way::Modern(vec![(VERSION, MODERN_VERSION.to_owned())]));
    }
}
