//! The answers rmcp 3.11 gives otherwise than the real servers do, as an axum middleware in
//! front of `/mcp`. rmcp serves MCP 2026-07-28 itself (`server/discover`, session-less
//! requests, -32022 / -32020 / -32602, `ping` → 404); this gate answers the rest first:
//!
//! - `initialize` with a 2026 `MCP-Protocol-Version`: 404 -32601, as Python `mcp` 2.3.0 (rmcp:
//!   400 -32600 "header does not match").
//! - [`Eras::Only2026`], an `initialize`: 400 -32022 `{supported, requested}`, as the TS SDK v2
//!   with `legacy: 'reject'` (rmcp: the same error with HTTP 200).
//! - [`Eras::Only2025`], without a session, `server/discover` or a request with a 2026 header:
//!   400 -32000 "Bad Request: Server not initialized", as server-everything (rmcp would
//!   answer it).
//!
//! Everything else goes to rmcp untouched (the body read here is handed on).

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::model::{ErrorCode, ErrorData, ProtocolVersion};
use serde_json::{Value, json};

use super::eras::Eras;

/// The largest body read here, as rmcp's own limit; a larger one gets rmcp's 413.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// How a request is refused before rmcp sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 404 -32601: the method does not exist in the era the request names.
    MethodNotFound,
    /// 400 -32022 with the supported versions: the server has no handshake.
    Unsupported,
    /// 400 -32000: a 2025-only server without a session for this request.
    NotInitialized,
}

/// What the request says about itself, for [`decide`].
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    /// The `MCP-Protocol-Version` header.
    pub header_version: Option<&'a str>,
    /// Whether it carries an `Mcp-Session-Id`.
    pub session: bool,
    /// The body's JSON-RPC method.
    pub method: &'a str,
}

/// Whether (and how) a server of `eras` refuses `asked` before rmcp serves it. Precedence: a
/// 2025-only server refuses whatever is 2026 except `initialize` (rmcp's header check answers
/// that); a server speaking 2026 refuses `initialize` under a 2026 header (no such method in
/// that era) before a 2026-only server refuses the handshake itself.
pub fn decide(eras: Eras, asked: Asked) -> Option<Refusal> {
    let modern_header = asked.header_version.is_some_and(is_modern);
    let initialize = asked.method == "initialize";
    match eras {
        Eras::Only2025 => {
            let modern = modern_header || asked.method == "server/discover";
            (modern && !initialize && !asked.session).then_some(Refusal::NotInitialized)
        }
        Eras::Both | Eras::Only2026 if initialize && modern_header => Some(Refusal::MethodNotFound),
        Eras::Only2026 if initialize => Some(Refusal::Unsupported),
        Eras::Both | Eras::Only2026 => None,
    }
}

/// Whether `version` names 2026-07-28 or later (dated versions sort as text).
fn is_modern(version: &str) -> bool {
    version >= ProtocolVersion::V_2026_07_28.as_str()
}

/// Whether [`decide`] could refuse a POST with these headers, so its body must be read: on a
/// server of both eras only under a 2026 header, on a 2025-only one only without a session.
fn may_refuse(eras: Eras, headers: &HeaderMap) -> bool {
    match eras {
        Eras::Both => header(headers, "mcp-protocol-version").is_some_and(is_modern),
        Eras::Only2025 => !headers.contains_key("mcp-session-id"),
        Eras::Only2026 => true,
    }
}

/// The middleware: answers a refused request itself, hands every other one on to rmcp.
pub async fn gate(State(eras): State<Eras>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST || !may_refuse(eras, request.headers()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large").into_response();
    };
    if let Ok(message) = serde_json::from_slice::<Value>(&bytes)
        && let Some(method) = message["method"].as_str()
    {
        let asked = Asked {
            header_version: header(&parts.headers, "mcp-protocol-version"),
            session: parts.headers.contains_key("mcp-session-id"),
            method,
        };
        if let Some(refusal) = decide(eras, asked) {
            return answer(refusal, eras, &message);
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The JSON-RPC error answer of `refusal` to `message`.
fn answer(refusal: Refusal, eras: Eras, message: &Value) -> Response {
    let (status, error) = match refusal {
        Refusal::MethodNotFound => (
            StatusCode::NOT_FOUND,
            ErrorData::new(ErrorCode::METHOD_NOT_FOUND, "Method not found", None),
        ),
        Refusal::Unsupported => {
            let requested = message["params"]["protocolVersion"].clone();
            let supported = eras.supported_versions();
            let data = json!({"supported": supported, "requested": requested});
            let error = "Unsupported protocol version";
            (
                StatusCode::BAD_REQUEST,
                ErrorData::new(ErrorCode::UNSUPPORTED_PROTOCOL_VERSION, error, Some(data)),
            )
        }
        Refusal::NotInitialized => (
            StatusCode::BAD_REQUEST,
            ErrorData::new(ErrorCode(-32000), "Bad Request: Server not initialized", None),
        ),
    };
    let body = json!({"jsonrpc": "2.0", "id": message["id"], "error": error});
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::{Asked, Eras, Refusal, decide, may_refuse};

    fn asked<'a>(header_version: Option<&'a str>, method: &'a str) -> Asked<'a> {
        Asked { header_version, session: false, method }
    }

    const MODERN: Option<&str> = Some("2026-07-28");

    #[test]
    fn a_2026_request_other_than_initialize_goes_to_rmcp_when_2026_is_spoken() {
        for eras in [Eras::Both, Eras::Only2026] {
            for method in ["server/discover", "tools/list", "tools/call", "ping"] {
                assert_eq!(decide(eras, asked(MODERN, method)), None, "{eras:?} {method}");
            }
        }
    }

    #[test]
    fn initialize_under_a_2026_header_is_a_method_not_found() {
        for eras in [Eras::Both, Eras::Only2026] {
            let refusal = decide(eras, asked(MODERN, "initialize"));
            assert_eq!(refusal, Some(Refusal::MethodNotFound), "{eras:?}");
        }
    }

    #[test]
    fn the_handshake_passes_both_and_only_2025_and_is_unsupported_by_only_2026() {
        for version in [None, Some("2025-06-18")] {
            assert_eq!(decide(Eras::Both, asked(version, "initialize")), None);
            assert_eq!(decide(Eras::Only2025, asked(version, "initialize")), None);
            let refusal = decide(Eras::Only2026, asked(version, "initialize"));
            assert_eq!(refusal, Some(Refusal::Unsupported));
        }
    }

    #[test]
    fn only_2025_refuses_discover_and_2026_requests_without_a_session() {
        let not_initialized = Some(Refusal::NotInitialized);
        assert_eq!(decide(Eras::Only2025, asked(None, "server/discover")), not_initialized);
        assert_eq!(decide(Eras::Only2025, asked(MODERN, "tools/list")), not_initialized);
        // The old era's own requests go on to rmcp (a missing session is its 400 to give).
        assert_eq!(decide(Eras::Only2025, asked(None, "tools/list")), None);
        let in_session = Asked { session: true, ..asked(MODERN, "tools/list") };
        assert_eq!(decide(Eras::Only2025, in_session), None);
    }

    #[test]
    fn a_server_of_both_eras_reads_a_body_only_under_a_2026_header() {
        let mut headers = HeaderMap::new();
        assert!(!may_refuse(Eras::Both, &headers));
        assert!(may_refuse(Eras::Only2025, &headers));
        assert!(may_refuse(Eras::Only2026, &headers));
        headers.insert("mcp-protocol-version", HeaderValue::from_static("2025-06-18"));
        headers.insert("mcp-session-id", HeaderValue::from_static("abc"));
        assert!(!may_refuse(Eras::Both, &headers));
        assert!(!may_refuse(Eras::Only2025, &headers));
        headers.insert("mcp-protocol-version", HeaderValue::from_static("2026-07-28"));
        assert!(may_refuse(Eras::Both, &headers));
    }
}
