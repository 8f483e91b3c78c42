//! The wire below everything that talks MCP: the HTTP client and the endpoint it talks to
//! ([`http`]), TLS with the certificate it was shown ([`tls`]), the Streamable HTTP framing every
//! MCP client here reads ([`mcp`]), the two MCP eras and the translation between them
//! ([`era`]), SPDY/3 frames as kubectl's port-forward speaks them ([`spdy`]), and the words
//! errors are explained in.
//!
//! `probe`, `router`, `bridge`, `mcpbridge`, `forward` and the lab build on this module and it
//! on none of them.

pub mod era;
pub mod http;
pub mod mcp;
pub mod spdy;
pub mod tls;

pub use http::{Http, Target};
pub use tls::{CertInfo, TlsOptions};

/// The deepest cause's text: "Connection refused (os error 111)" rather than "error sending
/// request". Takes any error: a `reqwest::Error` as the probe and bridge see it, a `kube::Error`
/// as the forward does.
pub fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = cause.to_string();
        source = cause.source();
    }
    text
}

/// The kind of the I/O error under `error`, if one is.
pub fn io_kind(error: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = cause.source();
    }
    None
}

/// How a connection broke under an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broke {
    /// Reset or aborted, by the peer or by something on the way.
    Reset,
    /// Closed before the answer was whole (end of file, a half-read message or stream).
    Closed,
}

impl Broke {
    pub fn as_str(self) -> &'static str {
        match self {
            Broke::Reset => "reset",
            Broke::Closed => "closed",
        }
    }
}

/// Whether `error` is the connection breaking (reset, or closed before the answer), and how:
/// a fault of the link, not an answer of the server.
pub fn broke_off(error: &(dyn std::error::Error + 'static)) -> Option<Broke> {
    use std::io::ErrorKind::{
        BrokenPipe, ConnectionAborted, ConnectionReset, NotConnected, UnexpectedEof,
    };
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                ConnectionReset | ConnectionAborted => Some(Broke::Reset),
                BrokenPipe | UnexpectedEof | NotConnected => Some(Broke::Closed),
                _ => None,
            };
        }
        if let Some(hyper) = cause.downcast_ref::<hyper::Error>()
            && (hyper.is_incomplete_message() || hyper.is_closed() || hyper.is_canceled())
            && std::error::Error::source(hyper).is_none()
        {
            return Some(Broke::Closed);
        }
        source = cause.source();
    }
    None
}

/// The start of a body, on one line (whitespace runs made one space), at most 200 characters.
pub fn snippet(body: &str) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    cut(flat)
}

/// The first line of `text`, trimmed, at most 200 characters.
pub fn first_line(text: &str) -> String {
    cut(text.trim().lines().next().unwrap_or("").to_owned())
}

fn cut(line: String) -> String {
    match line.char_indices().nth(200) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snippet_is_one_line_and_a_first_line_only_the_first() {
        assert_eq!(snippet("  a\n  b "), "a b");
        assert_eq!(first_line("  a\nb"), "a");
        let long = "x".repeat(250);
        assert_eq!(snippet(&long).chars().count(), 201);
        assert!(first_line(&long).ends_with('…'));
    }
}
