//! Serena's DNS-rebinding guard, as an axum middleware: when Serena binds 127.0.0.1 it answers
//! `421 Invalid Host header` to any `Host` other than `127.0.0.1:*`, `localhost:*` or
//! `[::1]:*` (the Python MCP SDK's rule: a port is required, any port matches).

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The hosts a localhost-bound Serena accepts, each followed by `:PORT`.
const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "localhost", "[::1]"];

/// Whether `authority` (a `Host` header value) names a loopback host with a port.
pub fn is_loopback_authority(authority: &str) -> bool {
    let Some((host, port)) = authority.rsplit_once(':') else {
        return false;
    };
    LOOPBACK_HOSTS.contains(&host) && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
}

/// The middleware: passes loopback hosts on, answers 421 to the rest (a missing Host too).
pub async fn require_loopback_host(request: Request, next: Next) -> Response {
    let host = match request.headers().get(header::HOST) {
        Some(value) => value.to_str().ok().map(str::to_owned),
        None => request.uri().authority().map(|a| a.as_str().to_owned()),
    };
    if host.as_deref().is_some_and(is_loopback_authority) {
        next.run(request).await
    } else {
        (StatusCode::MISDIRECTED_REQUEST, "Invalid Host header").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback_authority;

    #[test]
    fn loopback_hosts_with_a_port_pass() {
        assert!(is_loopback_authority("127.0.0.1:8080"));
        assert!(is_loopback_authority("localhost:1"));
        assert!(is_loopback_authority("[::1]:24282"));
    }

    #[test]
    fn other_hosts_and_portless_loopback_fail() {
        assert!(!is_loopback_authority("serena-mcp:8080"));
        assert!(!is_loopback_authority("127.0.0.1"));
        assert!(!is_loopback_authority("localhost:"));
        assert!(!is_loopback_authority("127.0.0.2:80"));
        assert!(!is_loopback_authority("[::1]"));
    }
}
