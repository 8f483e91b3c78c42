//! The two MCP eras at the router (see [`crate::net::era`]): which way a client's message goes
//! to a gateway, as it is or translated ([`way`]); what a gateway speaks, found by
//! `server/discover` or by its refusal of `initialize`; a 2025 client's session on a 2026-only
//! gateway ([`open_for`], [`open_translated`]); and the session the router keeps on a 2025-only
//! gateway for the 2026 clients it sends there ([`kept_session`]).

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::gateway::{Gateway, Speaks, Upstream};
use super::session::{open_upstream, open_upstream_answered};
use super::wire::read_answer;
use crate::net::era::{
    Era, LATEST_WITH_INITIALIZE, WITH_INITIALIZE, initialize_params_of_meta,
    initialize_result_of_discover, meta_of_initialize,
};
use crate::net::mcp::UNSUPPORTED_VERSION;
use crate::trouble::Trouble;

/// How a client's message reaches a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Way {
    /// As it is: the gateway speaks the client's era (or is not known yet not to).
    Native,
    /// Translated into the gateway's era.
    Translate,
}

/// The way for a client of `client`'s era to a gateway that speaks `speaks` (`None`: not
/// found out yet, so spoken to in the client's era: a gateway that speaks both needs nothing).
pub(crate) fn way(client: Era, speaks: Option<&Speaks>) -> Way {
    let native = match (client, speaks) {
        (_, None) => true,
        (Era::Modern, Some(speaks)) => speaks.modern,
        (Era::Initialize, Some(speaks)) => speaks.initialize,
    };
    if native { Way::Native } else { Way::Translate }
}

/// What a gateway speaks, from its `server/discover` result: 2026, and the handshake too when
/// it lists a version that has it (or lists none).
pub(crate) fn speaks_of_discover(result: &Value) -> Speaks {
    let supported: Vec<String> = (result.get("supportedVersions").and_then(Value::as_array))
        .map(|versions| versions.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    let initialize =
        supported.is_empty() || supported.iter().any(|v| WITH_INITIALIZE.contains(&v.as_str()));
    Speaks { modern: true, initialize, supported }
}

/// What a gateway that does not answer `server/discover` speaks: the handshake only.
pub(crate) fn speaks_2025() -> Speaks {
    Speaks { modern: false, initialize: true, supported: Vec::new() }
}

/// What a gateway that answered `initialize` with `answer` speaks, when that is a refusal of
/// the handshake (-32022): 2026 only, and the versions it named.
pub(crate) fn speaks_of_refusal(answer: &Value) -> Option<Speaks> {
    let error = answer.get("error")?;
    if error.get("code").and_then(Value::as_i64) != Some(UNSUPPORTED_VERSION) {
        return None;
    }
    let supported: Vec<String> = (error.pointer("/data/supported").and_then(Value::as_array))
        .map(|versions| versions.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    Some(Speaks { modern: true, initialize: false, supported })
}

/// A `server/discover` result as the router's face answers it: the gateway's, with the
/// handshake versions added, since the router accepts `initialize` from 2025 clients whatever
/// the gateway speaks (it translates).
pub(crate) fn as_face(mut result: Value) -> Value {
    let listed: Vec<Value> =
        (result.get("supportedVersions").and_then(Value::as_array)).cloned().unwrap_or_default();
    let handshake = WITH_INITIALIZE.iter().map(|v| json!(v));
    let mut versions: Vec<Value> = handshake.filter(|v| !listed.contains(v)).collect();
    versions.extend(listed);
    result["supportedVersions"] = Value::Array(versions);
    result
}

/// Who the router is, where a client is not there to say.
pub(crate) fn router_info() -> Value {
    json!({"name": "mcp-connect-router", "version": env!("CARGO_PKG_VERSION")})
}

/// The router's own 2026 `_meta` (for its checks and its probes).
pub(crate) fn router_meta() -> Map<String, Value> {
    meta_of_initialize(&json!({"capabilities": {}, "clientInfo": router_info()}))
}

/// Asks `gateway` `server/discover` with `meta`: `Some(result)` when it speaks 2026, `None`
/// when it refused (a 4xx, or a JSON-RPC error: the 2025 era). `Err`: it failed (no answer, a
/// refused token, a server error).
pub(crate) async fn discover(
    gateway: &Gateway,
    meta: &Map<String, Value>,
) -> Result<Option<Value>, Trouble> {
    static ASKED: AtomicU64 = AtomicU64::new(1);
    let id =
        json!(format!("mcp-connect-router-discover-{}", ASKED.fetch_add(1, Ordering::Relaxed)));
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "server/discover",
        "params": {"_meta": meta}});
    let response = (gateway.send(Method::POST, Some(body.to_string().into()), &Upstream::modern()))
        .await
        .map_err(|e| e.trouble)?;
    let status = response.status();
    let refused = matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
    if status.is_server_error() || refused {
        return Err(gateway.explain(response, "server/discover").await);
    }
    if !status.is_success() {
        return Ok(None);
    }
    let answer = (read_answer(response, &id).await)
        .map_err(|e| gateway.place.other(format!("server/discover: {e}")))?;
    Ok(answer.get("result").filter(|r| r.is_object()).cloned())
}

/// What `gateway` speaks: as found out before, else asked now (`server/discover`, and the
/// handshake assumed when it refuses that).
pub(crate) async fn learn(gateway: &Gateway) -> Result<Speaks, Trouble> {
    if let Some(speaks) = gateway.speaks() {
        return Ok(speaks);
    }
    let speaks = match discover(gateway, &router_meta()).await? {
        Some(result) => speaks_of_discover(&result),
        None => speaks_2025(),
    };
    gateway.learned(speaks.clone());
    Ok(speaks)
}

/// The `initialize` result for a 2025 client (its `initialize` `params`) on a 2026-only
/// `gateway`, made from the gateway's `server/discover`.
pub(crate) async fn open_translated(gateway: &Gateway, params: &Value) -> Result<Value, Trouble> {
    let requested = params.get("protocolVersion").and_then(Value::as_str);
    match discover(gateway, &meta_of_initialize(params)).await? {
        Some(discovered) => Ok(initialize_result_of_discover(&discovered, requested)),
        None => Err(gateway.place.other(
            "it refused server/discover, yet it speaks only MCP 2026-07-28 (it refused the \
             initialize handshake)",
        )),
    }
}

/// Where a 2025 client's session (its `initialize` `params`) goes on `gateway`: a session
/// opened there with its `initialize` replayed; or, on a gateway that speaks only 2026,
/// no session ([`Upstream::modern`]): every request is translated.
pub(crate) async fn open_for(gateway: &Gateway, params: &Value) -> Result<Upstream, Trouble> {
    if way(Era::Initialize, gateway.speaks().as_ref()) == Way::Native {
        let opened = open_upstream(gateway, params).await;
        if opened.is_ok() || way(Era::Initialize, gateway.speaks().as_ref()) == Way::Native {
            return opened;
        }
    }
    open_translated(gateway, params).await.map(|_| Upstream::modern())
}

/// A session the router keeps on a 2025-only gateway for the 2026 clients it sends there: its
/// id and the gateway's `initialize` result.
#[derive(Debug, Clone)]
pub(crate) struct Kept {
    pub upstream: Upstream,
    pub result: Value,
}

/// The kept session on `gateway`, opened (with the capabilities and name of the client whose
/// `_meta` is `meta`) when there is none, or when the gateway forgot `stale`.
pub(crate) async fn kept_session(
    gateway: &Gateway,
    meta: Option<&Value>,
    stale: Option<&Upstream>,
) -> Result<Kept, Trouble> {
    let mut kept = gateway.kept.lock().await;
    if let Some(session) = kept.as_ref() {
        let forgotten = stale.is_some_and(|stale| stale.id == session.upstream.id);
        if !forgotten {
            return Ok(session.clone());
        }
    }
    let params = initialize_params_of_meta(meta, LATEST_WITH_INITIALIZE, &router_info());
    let (upstream, result) = open_upstream_answered(gateway, &params).await?;
    tracing::info!(gateway = %gateway.label, "opened a session for 2026 clients on a 2025 gateway");
    let session = Kept { upstream, result };
    *kept = Some(session.clone());
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::mcp::MODERN_VERSION;

    fn speaks(modern: bool, initialize: bool) -> Speaks {
        Speaks { modern, initialize, supported: Vec::new() }
    }

    #[test]
    fn a_client_is_spoken_to_in_its_own_era_where_the_gateway_speaks_it() {
        for client in [Era::Modern, Era::Initialize] {
            assert_eq!(way(client, None), Way::Native, "unknown: as it is");
            assert_eq!(way(client, Some(&speaks(true, true))), Way::Native, "both: as it is");
        }
        assert_eq!(way(Era::Modern, Some(&speaks(false, true))), Way::Translate);
        assert_eq!(way(Era::Initialize, Some(&speaks(true, false))), Way::Translate);
        assert_eq!(way(Era::Modern, Some(&speaks(true, false))), Way::Native);
        assert_eq!(way(Era::Initialize, Some(&speaks(false, true))), Way::Native);
    }

    #[test]
    fn discover_tells_whether_the_handshake_is_spoken_too() {
        let only = speaks_of_discover(&json!({"supportedVersions": [MODERN_VERSION]}));
        assert_eq!((only.modern, only.initialize), (true, false));
        assert_eq!(only.supported, [MODERN_VERSION]);
        let both =
            speaks_of_discover(&json!({"supportedVersions": ["2025-06-18", MODERN_VERSION]}));
        assert_eq!((both.modern, both.initialize), (true, true));
        let silent = speaks_of_discover(&json!({"capabilities": {}}));
        assert!(silent.initialize, "a server that lists nothing is not assumed to lack it");
    }

    #[test]
    fn the_face_lists_the_handshake_beside_what_the_gateway_speaks() {
        let only = as_face(json!({"supportedVersions": [MODERN_VERSION], "ttlMs": 1}));
        let versions = only["supportedVersions"].as_array().unwrap();
        assert_eq!(versions.len(), WITH_INITIALIZE.len() + 1);
        assert_eq!(
            (versions.first().unwrap(), versions.last().unwrap()),
            (&json!("2024-11-05"), &json!(MODERN_VERSION))
        );
        assert_eq!(only["ttlMs"], 1, "the rest as the gateway said");
        let both = as_face(json!({"supportedVersions": ["2025-06-18", MODERN_VERSION]}));
        assert_eq!(both["supportedVersions"].as_array().unwrap().len(), versions.len(), "no twice");
    }

    #[test]
    fn only_a_refusal_with_32022_says_2026_only() {
        let refusal = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32022,
            "message": "Unsupported protocol version",
            "data": {"supported": [MODERN_VERSION], "requested": "2025-06-18"}}});
        let speaks = speaks_of_refusal(&refusal).unwrap();
        assert_eq!((speaks.modern, speaks.initialize), (true, false));
        assert_eq!(speaks.supported, [MODERN_VERSION]);
        let other = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "x"}});
        assert_eq!(speaks_of_refusal(&other), None);
        assert_eq!(speaks_of_refusal(&json!({"result": {}})), None);
    }
}
