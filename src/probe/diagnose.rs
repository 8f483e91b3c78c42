//! Turns a failure into one sentence of cause and one of fix. When the URL is merely the wrong
//! place, looks at the usual ones (`/mcp`, `/sse`, `/`) on the same server and names the right
//! URL: the seed's "404 problem" is a path, not a broken server.

use super::failure::Failure;
use super::jwt::{self, Expected};
use super::session::{Session, Wire};
use crate::mcpbridge::envelope;
use crate::net::tls::{Refusal, Seen};
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

pub async fn diagnose(http: &Http, target: &Target, failure: &Failure, hints: &Hints) -> Trouble {
    if failure.is_wrong_place()
        && let Some(found) = look_around(http, target).await
    {
        return found.explain(target, failure, hints);
    }
    explain(target, failure, hints)
}

/// Explains `failure` from what it says alone.
pub fn explain(target: &Target, failure: &Failure, hints: &Hints) -> Trouble {
    let d = Trouble::new;
    match failure {
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
        Failure::Timeout { url, after } => d(
            format!("no answer from {url} within {}", humantime::format_duration(*after)),
            "check that the host is reachable from here (VPN, firewall, security group) and \
             that the server is not stuck"
                .to_owned(),
        ),
        Failure::Tls { url, seen } => tls(url, seen, hints),
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
        Failure::Status { status: status @ (401 | 403), url, body, .. } => {
            auth(target, url, *status, body, hints)
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
        Failure::Status { method: "POST", status: 400, url, body, .. } => d(
            format!("{url} refused the request as malformed ({})", status_text(400, body)),
            "an MCP client must POST JSON-RPC `initialize` first (with `Content-Type: \
             application/json`), then send the `Mcp-Session-Id` it got and a protocol version \
             the server supports (`MCP-Protocol-Version`) with every request"
                .to_owned(),
        ),
        Failure::Status { method, status, url, body, wanted } => d(
            format!(
                "{method} {url} answered {status}{}, not {wanted}; no MCP endpoint found at \
                     /mcp, /sse or / either",
                said(body)
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
        Failure::Rpc { method, code, message } => d(
            format!("{} answered {method} with JSON-RPC error {code}: {message}", target.url),
            "the request was well-formed MCP; the server's log says why it refused".to_owned(),
        ),
        Failure::Protocol { url, detail } => d(
            format!("{url} answered, but not as an MCP server: {detail}"),
            "point the URL at the MCP endpoint (usually /mcp, or /sse for the legacy transport)"
                .to_owned(),
        ),
    }
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

fn said(body: &str) -> String {
    if body.is_empty() { String::new() } else { format!(" ({body:?})") }
}

/// `401`, or `401: "invalid issuer"` when the server said why.
fn status_text(status: u16, body: &str) -> String {
    if body.is_empty() { status.to_string() } else { format!("{status}: {body:?}") }
}

fn tls(url: &str, seen: &Seen, hints: &Hints) -> Trouble {
    let c = &seen.cert;
    let who = format!(
        "subject {}, issuer {}, valid {} to {}, SHA-256 {}",
        c.subject, c.issuer, c.not_before, c.not_after, c.sha256
    );
    let pin = match &hints.profile {
        Some(name) => format!(
            "run `mcp-connect trust {name}` (it shows the certificate and pins it), or set \
             `tls: {{pin_sha256: \"{}\"}}` in profile {name}",
            c.sha256
        ),
        None => format!("pass --ca with the PEM that signed it, or pin SHA-256 {}", c.sha256),
    };
    let (cause, fix) = match seen.refusal.as_ref() {
        Some(Refusal::UnknownIssuer) => (
            format!(
                "{url} presented a {} certificate no trusted CA signed ({who})",
                if c.self_signed { "self-signed" } else { "privately issued" }
            ),
            format!("if that fingerprint is the server's, trust it: {pin}"),
        ),
        Some(Refusal::WrongName { host }) => (
            format!(
                "{url} presented a certificate for {}, not for {host} ({who})",
                if c.names.is_empty() { "no names".to_owned() } else { c.names.join(", ") }
            ),
            format!(
                "connect by one of its names, reissue it with {host} in subjectAltName, or {pin}"
            ),
        ),
        Some(Refusal::Expired) => (
            format!("{url} presented a certificate that expired on {} ({who})", c.not_after),
            "renew the server's certificate (or correct this machine's clock)".to_owned(),
        ),
        Some(Refusal::NotYetValid) => (
            format!("{url} presented a certificate not valid before {} ({who})", c.not_before),
            "correct the clock of this machine or of the server that issued it".to_owned(),
        ),
        Some(Refusal::PinMismatch { pinned }) => (
            format!(
                "{url} presented a certificate other than the pinned one ({who}; pinned {pinned})"
            ),
            "if the server's certificate was renewed on purpose, pin the new fingerprint; \
             otherwise something is intercepting the connection"
                .to_owned(),
        ),
        Some(Refusal::Other(detail)) => {
            (format!("{url} presented a certificate that was refused: {detail} ({who})"), pin)
        }
        None => (format!("the TLS handshake with {url} failed ({who})"), pin),
    };
    Trouble { cause, fix }
}

fn auth(target: &Target, url: &str, code: u16, body: &str, hints: &Hints) -> Trouble {
    let status = status_text(code, body);
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

    fn status(status: u16, body: &str) -> Failure {
        Failure::Status {
            method: "POST",
            url: "https://gw:8443/mcp".into(),
            status,
            body: body.into(),
            wanted: "200 with the answer",
        }
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
            "https://gw:8443/mcp needs authentication (401: \"Unauthorized\") and no bearer token \
             was sent"
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
        assert!(
            d.cause.contains("refused the bearer token (401: \"invalid issuer\")"),
            "{}",
            d.cause
        );
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
}
