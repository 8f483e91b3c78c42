//! An admitted request, passed to the backend MCP server as standard streamable HTTP: method,
//! body and the MCP headers in, plus `X-MCP-User`; status, MCP headers and body out. The answer
//! is streamed as it comes, so an SSE stream reaches the client event by event, never held
//! back until it ends.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Who the gateway vouches for, as mcp-bridge tells its backends.
const USER_HEADER: HeaderName = HeaderName::from_static("x-mcp-user");

/// Request headers the backend needs (`Authorization` stays at the gateway); a 2026-07-28
/// request names its method and tool in `Mcp-Method` and `Mcp-Name`, which a 2026 server checks.
const TO_BACKEND: [HeaderName; 7] = [
    header::ACCEPT,
    header::CONTENT_TYPE,
    HeaderName::from_static("mcp-session-id"),
    HeaderName::from_static("mcp-protocol-version"),
    HeaderName::from_static("last-event-id"),
    HeaderName::from_static("mcp-method"),
    HeaderName::from_static("mcp-name"),
];

/// Response headers the client needs.
const TO_CLIENT: [HeaderName; 5] = [
    header::CONTENT_TYPE,
    header::CACHE_CONTROL,
    header::ALLOW,
    HeaderName::from_static("mcp-session-id"),
    HeaderName::from_static("mcp-protocol-version"),
];

/// MCP messages are small; a body past this is refused (413) rather than held in memory.
const MAX_BODY: usize = 4 << 20;

/// Sends `request` to `backend` on behalf of `user` (the token's `sub`) and streams the answer
/// back.
pub async fn forward(
    client: &reqwest::Client,
    backend: &str,
    user: &str,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    if ![Method::POST, Method::GET, Method::DELETE].contains(&parts.method) {
        let allow = [(header::ALLOW, "GET, POST, DELETE")];
        return (StatusCode::METHOD_NOT_ALLOWED, allow, "use POST, GET or DELETE").into_response();
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        let refusal = format!("request body larger than {} MiB", MAX_BODY >> 20);
        return (StatusCode::PAYLOAD_TOO_LARGE, refusal).into_response();
    };
    let mut upstream = client.request(parts.method, backend);
    for name in TO_BACKEND {
        for value in parts.headers.get_all(&name) {
            upstream = upstream.header(&name, value);
        }
    }
    if !user.is_empty() {
        upstream = upstream.header(USER_HEADER, user);
    }
    let answer = match upstream.body(body).send().await {
        Ok(answer) => answer,
        Err(error) => {
            let cause =
                std::error::Error::source(&error).map_or(String::new(), |s| format!(": {s}"));
            let body = format!(
                "the gateway cannot reach its MCP backend {backend} ({error}{cause}); start the \
                 backend, or give the gateway its address"
            );
            return (StatusCode::BAD_GATEWAY, body).into_response();
        }
    };
    let mut response = Response::builder().status(answer.status());
    for name in TO_CLIENT {
        for value in answer.headers().get_all(&name) {
            response = response.header(&name, value);
        }
    }
    response
        .body(Body::from_stream(answer.bytes_stream()))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}
