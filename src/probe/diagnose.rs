//! Turns a failure into one sentence of cause and one of fix. When the URL is merely the wrong
//! place, looks at the usual ones (`/mcp`, `/sse`, `/`) on the same server and names the right
//! URL: the seed's "404 problem" is a path, not a broken server.
//!
//! What happened is reasoned over before anything is guessed. The precedence, first match wins:
//!
//! 1. **The link failed**: nothing listened (refused), the connection was reset or closed
//!    before the answer, or no answer came in time. Said as a link problem, the reset or early
//!    close as transient (a forward switching pods, a restarting server); never a wrong path or
//!    transport, and no other path is tried: the answer never came, so it says nothing of the
//!    path.
//! 2. **TLS refused the certificate**: the certificate named (subject, SHA-256, self-signed or
//!    issued for another host) and how to pin it.
//! 3. **A JSON-RPC error that carries its own fix**, under any status (mcp-connect's router and
//!    bridge answer so, see [`crate::net::mcp::error`]): its cause and fix, as they are.
//! 4. **An MCP 2026-07-28 refusal**, read from its JSON-RPC error code: -32022 (the protocol
//!    version is not one the server supports: the versions it lists are named), -32020 (the
//!    `Mcp-Method` header is missing or does not match the body), -32601 under 404 (an MCP
//!    endpoint that does not know the method: not a wrong path).
//! 5. **A status with a meaning of its own**: 421 (the Host header), 401/403 (the token, claim by
//!    claim), 406/415 (the headers), 400 to a POST (the handshake); the server's words in it
//!    unescaped (a JSON-RPC error's message rather than its JSON).
//! 6. **Any other JSON-RPC error**, under any status or in a 200 answer: the server's message is
//!    the cause; the server is an MCP endpoint, so no other path is tried.
//! 7. **An HTTP answer that is not MCP** (404 or 405 without a JSON-RPC error, HTML, a body that
//!    is not JSON-RPC): only now are the usual paths and the other transport tried on the same
//!    server, and a working one is named.
//! 8. Otherwise, what was answered, and to check the URL.

use super::failure::Failure;
use super::jwt::{self, Expected};
use super::session::{Session, Wire};
use crate::mcpbridge::envelope;
use crate::net::mcp::{HEADER_MISMATCH, Said, UNSUPPORTED_VERSION};
use crate::net::tls::{self, Seen};
use crate::net::{Http, Target};
use crate::profile::Transport;
use crate::trouble::Trouble;

/// What the caller knows that makes a fix more exact.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    /// The profile probed, when it was one.
    pub profile: Option<String>,
    /// Whether the profile's link is a port-forward mcp-connect runs.
    pub forwarded: bool,
    pub jwt: Expected,
}

/// The usual places an MCP server answers, in the order they are tried; last, the mcp-bridge
/// gateway's own faces (its envelope WebSocket at `/ws` or `/`, its HTTP frontend).
const KNOWN: [(&str, Transport); 6] = [
    ("/mcp", Transport::StreamableHttp),
    ("/sse", Transport::Sse),
    ("/", Transport::StreamableHttp),
    ("/ws", Transport::McpBridgeWs),
    ("/", Transport::McpBridgeWs),
    ("/api/v1/mcp", Transport::McpBridgeHttp),
];

/// Explains `failure`, looking around the server first when it is a wrong place (rule 7 of the
/// module's precedence).
pub async fn diagnose(http: &Http, target: &Target, failure: &Failure, hints: &Hints) -> Trouble {
    if failure.is_wrong_place()
        && let Some(found) = look_around(http, target).await
    {
        return found.explain(target, failure, hints);
    }
    explain(target, failure, hints)
}

/// Explains `failure` from what it says alone, by the module's precedence (all but the
/// looking around).
pub fn explain(target: &Target, failure: &Failure, hints: &Hints) -> Trouble {
    let d = Trouble::new;
    match failure {
        // 1. The link.
        Failure::Connect { authority, detail, refused } => {
            let cause = if *refused {
                format!("nothing is listening at {authority} (connection refused)")
            } else if detail.contains("lookup") || detail.contains("resolve") {
                format!("cannot resolve the host of {authority}: {detail}")
            } else {
                format!("cannot connect to {authority}: {detail}")
            };
            d(cause, start_fix(hints))
        }
        Failure::Dropped { url, how, during, detail } => {
            dropped(url, how.as_str(), during, detail, hints)
        }
        Failure::Timeout { url, after } => d(
            format!("no answer from {url} within {}", humantime::format_duration(*after)),
            "check that the host is reachable from here (VPN, firewall, security group) and \
             that the server is not stuck"
                .to_owned(),
        ),
        // 2. The certificate.
        Failure::Tls { url, seen } => tls(url, seen, hints),
        // 3. An error that says its own fix.
        Failure::Status { said: Some(said), .. } if said.fix.is_some() => {
            d(said.cause.clone(), said.fix.clone().unwrap_or_default())
        }
        // 4. The 2026-07-28 refusals.
        Failure::Status { status, url, said: Some(said), .. }
            if let Some(trouble) = modern_refusal(*status, url, said) =>
        {
            trouble
        }
        // 5. Statuses with a meaning of their own.
        Failure::Status { status: 421, url, .. } => d(
            format!(
                "{url} rejects Host {:?} (421 Invalid Host header): the server is bound to \
                 localhost and accepts only Host 127.0.0.1, localhost or [::1]",
                target.host_header()
            ),
            "start it listening on all interfaces, e.g. `serena start-mcp-server --transport \
             streamable-http --host 0.0.0.0 --port 8080`"
                .to_owned(),
        ),
        Failure::Status { status: status @ (401 | 403), url, .. } => {
            auth(target, url, &status_text(*status, failure), hints)
        }
        Failure::Status { status: 406, url, .. } => d(
            format!("{url} refused the request's Accept header (406 Not Acceptable)"),
            "an MCP client must send `Accept: application/json, text/event-stream` with every \
             POST"
                .to_owned(),
        ),
        Failure::Status { status: 415, url, .. } => d(
            format!("{url} refused the request's Content-Type (415 Unsupported Media Type)"),
            "an MCP client must send `Content-Type: application/json` with every POST".to_owned(),
        ),
        Failure::Status { method: "POST", status: 400, url, .. } => d(
            format!("{url} refused the request as malformed ({})", status_text(400, failure)),
            "an MCP client must POST JSON-RPC `initialize` first (with `Content-Type: \
             application/json`), then send the `Mcp-Session-Id` it got and a protocol version \
             the server supports (`MCP-Protocol-Version`) with every request"
                .to_owned(),
        ),
        // 6. Any other JSON-RPC error.
        Failure::Status { method, status, url, said: Some(said), .. } => d(
            format!(
                "{method} {url} answered {status} with JSON-RPC error {}: {}",
                said.code, said.cause
            ),
            "the endpoint speaks MCP and refused the request; the server's log says why".to_owned(),
        ),
        // 7 and 8: answered, not as MCP; the looking around found nothing.
        Failure::Status { method, status, url, body, wanted, said: None } => d(
            format!(
                "{method} {url} answered {status}{}, not {wanted}; no MCP endpoint found at \
                     /mcp, /sse or / either",
                quoted(body)
            ),
            "check the URL: the server's MCP endpoint is usually /mcp (streamable HTTP) or /sse \
             (legacy)"
                .to_owned(),
        ),
        Failure::SessionExpired => d(
            "the server forgot the session (404 with a session id) and a new one could not be \
             started"
                .to_owned(),
            "retry; if it keeps happening the server is restarting or dropping sessions".to_owned(),
        ),
        Failure::Rpc { message, .. } if envelope::unavailable_in(message).is_some() => {
            let namespace = envelope::unavailable_in(message).unwrap_or_default();
            let (cause, fix) = envelope::explain_unavailable(namespace);
            d(cause, fix)
        }
        Failure::Rpc { method, code, message } => match Said::from_message(*code, message) {
            Said { cause, fix: Some(fix), .. } => d(cause, fix),
            Said { cause, .. } => d(
                format!("{} answered {method} with JSON-RPC error {code}: {cause}", target.url),
                "the request was well-formed MCP; the server's log says why it refused".to_owned(),
            ),
        },
        Failure::Protocol { url, detail } => d(
            format!("{url} answered, but not as an MCP server: {detail}"),
            "point the URL at the MCP endpoint (usually /mcp, or /sse for the legacy transport)"
                .to_owned(),
        ),
    }
}

/// The refusals of MCP 2026-07-28 (as Python `mcp` 2.3 and the TypeScript SDK v2 answer them).
fn modern_refusal(status: u16, url: &str, said: &Said) -> Option<Trouble> {
    let versions = |list: &[String]| match list {
        [] => "a list it did not give".to_owned(),
        list => list.join(", "),
    };
    let trouble = match (said.code, status) {
        (UNSUPPORTED_VERSION, _) => Trouble::new(
            format!(
                "{url} does not speak the protocol version the request named ({status}, JSON-RPC \
                 {}: {}); it supports {}",
                said.code,
                said.cause,
                versions(&said.supported)
            ),
            format!(
                "use a client that speaks one of {} (mcp-connect's probe speaks 2026-07-28, \
                 2025-06-18 and 2024-11-05); a 2026-only server refuses `initialize`",
                versions(&said.supported)
            ),
        ),
        (HEADER_MISMATCH, _) => {
            let how = match said.cause.to_ascii_lowercase().contains("missing") {
                true => "is missing",
                false => "does not match the JSON-RPC method in the body",
            };
            Trouble::new(
                format!(
                    "{url} refused the request because its `Mcp-Method` header {how} ({status}, \
                     JSON-RPC {}: {})",
                    said.code, said.cause
                ),
                "a 2026-07-28 request must carry `Mcp-Method: <method>` (and `Mcp-Name` for a \
                 tool, resource or prompt) equal to its body; check that no proxy on the way \
                 drops or rewrites `Mcp-*` headers"
                    .to_owned(),
            )
        }
        (-32601, 404) => Trouble::new(
            format!(
                "{url} is an MCP endpoint but does not know the method (404 with JSON-RPC -32601 \
                 Method not found: {}); the path is right",
                said.cause
            ),
            "a 2026-07-28 server has no `initialize` or `ping`: send `server/discover` with \
             `MCP-Protocol-Version: 2026-07-28`; an older one answers `initialize` without that \
             header"
                .to_owned(),
        ),
        _ => return None,
    };
    Some(trouble)
}

/// The connection broke under a request: the link's doing, and transient.
fn dropped(url: &str, how: &str, during: &str, detail: &str, hints: &Hints) -> Trouble {
    let during = if during.is_empty() { "a request was under way" } else { during };
    let (likely, check) = match (&hints.profile, hints.forwarded) {
        (Some(name), true) => (
            "the port-forward may be switching pods",
            format!("check the pods behind the Service (`mcp-connect up {name}` names the pod)"),
        ),
        _ => (
            "the server may be restarting, or something on the way (a proxy, a load balancer) \
             dropped it",
            "check the server's log and what sits between (proxy, load balancer)".to_owned(),
        ),
    };
    Trouble::new(
        format!("the connection to {url} was {how} while {during} ({detail}); {likely}"),
        format!(
            "transient: retry (a running route checks again by itself); if it keeps happening, \
             {check}"
        ),
    )
}
fn start_fix(hints: &Hints) -> String {
    match (&hints.profile, hints.forwarded) {
        (Some(name), true) => {
            format!("start the route's port-forward: `mcp-connect up {name}` (or its TUI entry)")
        }
        _ => "check the address and port, and that the server (or the port-forward to it) is \
              running"
            .to_owned(),
    }
}

/// ` ("<body>")`, or nothing for an empty body.
fn quoted(body: &str) -> String {
    if body.is_empty() { String::new() } else { format!(" (\"{body}\")") }
}

/// `401`, or `401: invalid issuer` when the server said why (a JSON-RPC error's message
/// rather than its JSON).
fn status_text(status: u16, failure: &Failure) -> String {
    let said = match failure {
        Failure::Status { said: Some(said), .. } => said.cause.as_str(),
        Failure::Status { body, .. } => body.as_str(),
        _ => "",
    };
    if said.is_empty() { status.to_string() } else { format!("{status}: {said}") }
}

fn tls(url: &str, seen: &Seen, hints: &Hints) -> Trouble {
    let sha256 = &seen.cert.sha256;
    let pin = match &hints.profile {
        Some(name) => format!(
            "run `mcp-connect trust {name}` (it shows the certificate and pins it), or set \
             `tls: {{pin_sha256: \"{sha256}\"}}` in profile {name}"
        ),
        None => format!("pass --ca with the PEM that signed it, or pin SHA-256 {sha256}"),
    };
    tls::refused(url, seen, &pin)
}

/// A refused token (`status`: `401: <what the server said>`), claim by claim.
fn auth(target: &Target, url: &str, status: &str, hints: &Hints) -> Trouble {
    let Some(token) = target.bearer() else {
        return Trouble {
            cause: format!("{url} needs authentication ({status}) and no bearer token was sent"),
            fix: "send `Authorization: Bearer <JWT>` (--header), or use a profile with `auth: jwt`"
                .to_owned(),
        };
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    match jwt::problems(token, &hints.jwt, now) {
        Ok(problems) if !problems.is_empty() => Trouble {
            cause: format!("{url} refused the bearer token ({status}): {}", problems.join("; ")),
            fix: format!(
                "mint a token with iss {:?}, aud {:?} and an exp in the future, signed with the \
                 gateway's secret",
                hints.jwt.issuer, hints.jwt.audience
            ),
        },
        // The claims are what the profile asks for, and the server names one it refuses: the
        // profile asks for the wrong one.
        Ok(_) if let Some((claim, setting, value)) = named_claim(status, hints) => Trouble {
            cause: format!(
                "{url} refused the bearer token ({status}): its `{claim}` is {value:?}, as the \
                 profile's auth.jwt.{setting} says, and the server checks for another"
            ),
            fix: format!(
                "set auth.jwt.{setting} in {} to the {setting} the gateway checks (mcp-bridge \
                 checks \"mcp-gateway\" unless set otherwise), then restart the route",
                hints
                    .profile
                    .as_deref()
                    .map_or("the profile".to_owned(), |p| format!("profile {p}"))
            ),
        },
        Ok(_) => Trouble {
            cause: format!(
                "{url} refused a bearer token whose claims look right ({status}): the \
                 signature does not match the server's secret"
            ),
            fix: "sign with the gateway's current secret (Secret mcp-gateway-mcp-bridge-secrets, \
                  key jwt-secret-key)"
                .to_owned(),
        },
        Err(unreadable) => Trouble {
            cause: format!("{url} refused the bearer token ({status}): {unreadable}"),
            fix: "send a JWT (three base64url parts) minted from the gateway's secret".to_owned(),
        },
    }
}

/// The claim a server's refusal names (`invalid issuer`, `invalid audience`), with the
/// profile setting behind it and the value sent.
fn named_claim(said: &str, hints: &Hints) -> Option<(&'static str, &'static str, String)> {
    let said = said.to_ascii_lowercase();
    if said.contains("issuer") {
        return Some(("iss", "issuer", hints.jwt.issuer.clone()));
    }
    if said.contains("audience") {
        return Some(("aud", "audience", hints.jwt.audience.clone()));
    }
    None
}

/// An MCP endpoint found elsewhere on the same server.
struct Found {
    url: String,
    wire: Wire,
}

async fn look_around(http: &Http, target: &Target) -> Option<Found> {
    for (path, transport) in KNOWN {
        let auto = target.transport == Transport::Auto && !transport.is_envelope();
        let tried_already = target.url.path() == path && (target.transport == transport || auto);
        if tried_already {
            continue;
        }
        let candidate = Target { transport, ..target.at_path(path) };
        if let Ok(session) = Session::open(http, &candidate).await {
            let found = Found { url: candidate.url.to_string(), wire: session.handshake.wire };
            session.close().await;
            return Some(found);
        }
    }
    None
}

impl Found {
    fn explain(&self, target: &Target, failure: &Failure, hints: &Hints) -> Trouble {
        let got = match failure {
            Failure::Status { method, status, .. } => format!("{method} answered {status}"),
            Failure::Protocol { detail, .. } => detail.clone(),
            _ => "no MCP answer".to_owned(),
        };
        let path = url::Url::parse(&self.url).map(|u| u.path().to_owned()).unwrap_or_default();
        let setting = match &hints.profile {
            Some(name) => format!(" (profile {name}: set `endpoint.path: {path}`)"),
            None => String::new(),
        };
        match self.wire {
            Wire::StreamableHttp => Trouble {
                cause: format!(
                    "{got} at {}: the server serves streamable HTTP at {path}",
                    target.url
                ),
                fix: format!(
                    "use {}{setting}; in Claude Code: {{\"type\":\"http\",\"url\":\"{}\"}}",
                    self.url, self.url
                ),
            },
            Wire::McpBridgeWs | Wire::McpBridgeHttp => {
                let (transport, face) = match self.wire {
                    Wire::McpBridgeWs => ("mcp-bridge-ws", "its envelope over a WebSocket"),
                    _ => ("mcp-bridge-http", "its envelope over its HTTP frontend"),
                };
                let setting = match &hints.profile {
                    Some(name) => format!(
                        "in profile {name} set `endpoint: {{path: {path}, transport: {transport}}}`"
                    ),
                    None => format!("set `endpoint: {{path: {path}, transport: {transport}}}`"),
                };
                Trouble {
                    cause: format!(
                        "{got} at {}: this is the mcp-bridge gateway, which speaks not standard \
                         MCP but {face} at {path}",
                        target.url
                    ),
                    fix: format!(
                        "{setting}; Claude Code reaches it through `mcp-connect bridge`, which \
                         speaks that protocol"
                    ),
                }
            }
            Wire::Sse => Trouble {
                cause: format!(
                    "{got} at {}: the server speaks only the legacy HTTP+SSE transport, at {path}",
                    target.url
                ),
                fix: format!(
                    "use {} with transport sse{setting}; in Claude Code: \
                     {{\"type\":\"sse\",\"url\":\"{}\"}}",
                    self.url, self.url
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    use super::*;
    use crate::net::Broke;

    fn status(status: u16, body: &str) -> Failure {
        Failure::status("POST", "https://gw:8443/mcp".into(), status, body, "200 with the answer")
    }

    fn target(headers: &[&str]) -> Target {
        let mut target = Target::new("https://gw:8443/mcp".parse().unwrap());
        for header in headers {
            target.add_header(header).unwrap();
        }
        target
    }

    #[test]
    fn unauthorized_without_a_token_asks_for_one() {
        let d = explain(&target(&[]), &status(401, "Unauthorized"), &Hints::default());
        assert_eq!(
            d.cause,
            "https://gw:8443/mcp needs authentication (401: Unauthorized) and no bearer token was \
             sent"
        );
        assert!(d.fix.contains("Authorization: Bearer"), "{}", d.fix);
    }

    #[test]
    fn the_seeds_token_is_refused_for_its_missing_claims() {
        let claims =
            URL_SAFE_NO_PAD.encode(json!({"sub": "dev", "exp": 4_000_000_000u64}).to_string());
        let token = format!("eyJhbGciOiJIUzI1NiJ9.{claims}.c2ln");
        let auth = format!("Authorization: Bearer {token}");
        let d = explain(&target(&[&auth]), &status(401, "invalid issuer"), &Hints::default());
        assert!(d.cause.contains("refused the bearer token (401: invalid issuer)"), "{}", d.cause);
        assert!(d.cause.contains("`iss` is missing; it must be \"mcp-gateway\""), "{}", d.cause);
        assert!(d.cause.contains("`aud` is missing"), "{}", d.cause);
        assert!(!d.cause.contains(&token) && !d.fix.contains(&token), "the token is not repeated");
    }

    #[test]
    fn header_refusals_say_what_a_client_must_send() {
        let hints = Hints::default();
        let d = explain(&target(&[]), &status(406, ""), &hints);
        assert!(d.fix.contains("Accept: application/json, text/event-stream"), "{}", d.fix);
        let d = explain(&target(&[]), &status(415, ""), &hints);
        assert!(d.fix.contains("Content-Type: application/json"), "{}", d.fix);
        let d = explain(
            &target(&[]),
            &status(400, "Bad Request: unsupported protocol version"),
            &hints,
        );
        assert!(d.cause.contains("unsupported protocol version"), "{}", d.cause);
        assert!(d.fix.contains("MCP-Protocol-Version"), "{}", d.fix);
    }

    fn dropped(how: Broke, during: &str) -> Failure {
        Failure::Dropped {
            url: "http://127.0.0.1:8080/mcp".into(),
            how,
            during: during.into(),
            detail: "connection reset by peer".into(),
        }
    }

    /// What mcp-connect's router answers when no gateway is healthy.
    fn router_503() -> Failure {
        let cause = "no gateway is healthy: https://gw:8443/mcp is down: the gateway refused \
                     the token (HTTP 401: invalid issuer)";
        let body = crate::net::mcp::error(&json!(1), -32011, cause, "mint it with iss \"x\"");
        Failure::status("POST", "http://127.0.0.1:8080/mcp".into(), 503, &body.to_string(), "200")
    }

    #[test]
    fn a_reset_while_waiting_for_the_answer_is_the_link_not_a_path_nor_a_transport() {
        let reset = dropped(Broke::Reset, "waiting for the answer to initialize");
        assert!(!reset.is_wrong_place() && reset.is_transient());
        let d = explain(&target(&[]), &reset, &Hints::default());
        assert_eq!(
            d.cause,
            "the connection to http://127.0.0.1:8080/mcp was reset while waiting for the answer \
             to initialize (connection reset by peer); the server may be restarting, or \
             something on the way (a proxy, a load balancer) dropped it"
        );
        assert!(d.fix.starts_with("transient: retry (a running route checks again by itself)"));
        assert!(!d.cause.contains("/sse") && !d.fix.contains("point the URL"), "{d:?}");
    }

    #[test]
    fn a_connection_closed_through_a_forward_says_the_forward_may_be_switching_pods() {
        let hints =
            Hints { profile: Some("serena-direct".into()), forwarded: true, ..Hints::default() };
        let d = explain(&target(&[]), &dropped(Broke::Closed, "sending ping"), &hints);
        assert!(d.cause.contains("was closed while sending ping"), "{}", d.cause);
        assert!(d.cause.ends_with("the port-forward may be switching pods"), "{}", d.cause);
        assert!(d.fix.contains("`mcp-connect up serena-direct` names the pod"), "{}", d.fix);
    }

    #[test]
    fn a_json_rpc_error_that_carries_a_fix_is_taken_as_it_is_under_any_status() {
        let answered = router_503();
        assert!(!answered.is_wrong_place(), "an MCP endpoint answered: no path is guessed");
        let d = explain(&target(&[]), &answered, &Hints::default());
        assert_eq!(
            d.cause,
            "no gateway is healthy: https://gw:8443/mcp is down: the gateway refused the token \
             (HTTP 401: invalid issuer)"
        );
        assert_eq!(d.fix, "mint it with iss \"x\"", "unescaped");
    }

    #[test]
    fn a_json_rpc_error_without_a_fix_is_the_cause_unescaped_and_no_path_is_guessed() {
        let body = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"Unknown \"x\""}}"#;
        let refused = status(404, body);
        assert!(!refused.is_wrong_place());
        let d = explain(&target(&[]), &refused, &Hints::default());
        assert_eq!(
            d.cause,
            "POST https://gw:8443/mcp answered 404 with JSON-RPC error -32603: Unknown \"x\""
        );
        assert!(!d.fix.contains("check the URL"), "{}", d.fix);
        // A 400's own meaning stays, with the message rather than the JSON.
        let body = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Bad Request: Missing session ID"}}"#;
        let d = explain(&target(&[]), &status(400, body), &Hints::default());
        assert_eq!(
            d.cause,
            "https://gw:8443/mcp refused the request as malformed (400: Bad Request: Missing \
             session ID)"
        );
        // In a 200 answer too: a fix said in the message is read back out.
        let rpc = Failure::Rpc {
            method: "initialize".into(),
            code: -32011,
            message: "no gateway is healthy; fix: start one".into(),
        };
        let d = explain(&target(&[]), &rpc, &Hints::default());
        assert_eq!((d.cause.as_str(), d.fix.as_str()), ("no gateway is healthy", "start one"));
    }

    #[test]
    fn only_an_http_answer_that_is_not_mcp_sends_the_probe_looking_elsewhere() {
        let protocol = |detail: &str| Failure::Protocol { url: "u".into(), detail: detail.into() };
        let wrong = [
            status(404, "Not Found"),
            status(405, ""),
            status(404, r#"{"detail":"Not Found"}"#),
            protocol("the answer to initialize has Content-Type \"text/html\""),
        ];
        for failure in wrong {
            assert!(failure.is_wrong_place(), "{failure:?}");
        }
        let timeout =
            Failure::Timeout { url: "u".into(), after: std::time::Duration::from_secs(1) };
        let refused =
            Failure::Connect { authority: "a:1".into(), detail: String::new(), refused: true };
        let not = [
            dropped(Broke::Reset, ""),
            dropped(Broke::Closed, ""),
            timeout,
            refused,
            status(401, "Unauthorized"),
            status(503, "overloaded"),
            router_503(),
        ];
        for failure in not {
            assert!(!failure.is_wrong_place(), "{failure:?}");
        }
    }

    #[test]
    fn a_timeout_and_a_refused_forward_name_what_to_check() {
        let timeout = Failure::Timeout {
            url: "http://lb:8443/mcp".into(),
            after: std::time::Duration::from_secs(10),
        };
        let d = explain(&target(&[]), &timeout, &Hints::default());
        assert_eq!(d.cause, "no answer from http://lb:8443/mcp within 10s");
        let refused = Failure::Connect {
            authority: "127.0.0.1:8080".into(),
            detail: String::new(),
            refused: true,
        };
        let hints =
            Hints { profile: Some("serena-direct".into()), forwarded: true, ..Hints::default() };
        let d = explain(&target(&[]), &refused, &hints);
        assert!(d.fix.contains("`mcp-connect up serena-direct`"), "{}", d.fix);
    }

    /// Python `mcp` 2.3.0's and the TypeScript SDK v2's 2026-07-28 refusals, as answered.
    #[test]
    fn an_unsupported_version_names_the_versions_the_server_supports() {
        let body = r#"{"jsonrpc":"2.0","error":{"code":-32022,"message":"Unsupported protocol version: 2025-06-18","data":{"supported":["2026-07-28"],"requested":"2025-06-18"}},"id":1}"#;
        let refused = status(400, body);
        assert!(!refused.is_wrong_place(), "an MCP endpoint answered");
        let d = explain(&target(&[]), &refused, &Hints::default());
        assert_eq!(
            d.cause,
            "https://gw:8443/mcp does not speak the protocol version the request named (400, \
             JSON-RPC -32022: Unsupported protocol version: 2025-06-18); it supports 2026-07-28"
        );
        assert!(d.fix.starts_with("use a client that speaks one of 2026-07-28 "), "{}", d.fix);
        let two = body.replace(r#"["2026-07-28"]"#, r#"["2026-07-28","2027-01-01"]"#);
        let d = explain(&target(&[]), &status(400, &two), &Hints::default());
        assert!(d.cause.ends_with("it supports 2026-07-28, 2027-01-01"), "{}", d.cause);
    }

    #[test]
    fn a_missing_or_mismatched_mcp_method_header_is_named() {
        let said = |message: &str| {
            let body = json!({"jsonrpc": "2.0", "id": 1,
                "error": {"code": -32020, "message": message}});
            explain(&target(&[]), &status(400, &body.to_string()), &Hints::default())
        };
        let d = said("Mcp-Method header 'tools/call' does not match body method 'tools/list'");
        assert!(
            d.cause.contains("its `Mcp-Method` header does not match the JSON-RPC method"),
            "{}",
            d.cause
        );
        assert!(d.fix.contains("no proxy on the way drops or rewrites `Mcp-*` headers"));
        let d = said("Missing Mcp-Method header");
        assert!(d.cause.contains("its `Mcp-Method` header is missing (400"), "{}", d.cause);
    }

    #[test]
    fn method_not_found_under_404_is_a_method_not_a_path() {
        let body =
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}"#;
        let refused = status(404, body);
        assert!(!refused.is_wrong_place(), "no other path is tried");
        let d = explain(&target(&[]), &refused, &Hints::default());
        assert!(d.cause.contains("is an MCP endpoint but does not know the method"), "{}", d.cause);
        assert!(d.cause.ends_with("the path is right"), "{}", d.cause);
        assert!(d.fix.contains("server/discover"), "{}", d.fix);
        // Under another status it stays the generic JSON-RPC error.
        let d = explain(&target(&[]), &status(400, body), &Hints::default());
        assert!(!d.cause.contains("the path is right"), "{}", d.cause);
    }
}
