//! What went wrong talking to an endpoint, as observed: before any explanation. The diagnosis
//! ([`super::diagnose`]) turns these into a cause and a fix.

use std::time::Duration;

use crate::net::tls::{Seen, SeenHandle};
use crate::net::{innermost, io_kind};

#[derive(Debug, Clone)]
pub enum Failure {
    /// Nothing answered at the address: refused, unreachable, or no such host.
    Connect { authority: String, detail: String, refused: bool },
    /// No answer in time.
    Timeout { url: String, after: Duration },
    /// The TLS handshake refused the server's certificate.
    Tls { url: String, seen: Box<Seen> },
    /// An HTTP status other than the one the protocol calls for.
    Status { method: &'static str, url: String, status: u16, body: String, wanted: &'static str },
    /// The server no longer knows the session (404 on a request that carried its id).
    SessionExpired,
    /// A JSON-RPC error answer.
    Rpc { method: String, code: i64, message: String },
    /// The answer is not MCP: wrong content type, invalid JSON, missing fields, stream ended.
    Protocol { url: String, detail: String },
}

impl Failure {
    /// Whether this looks like "wrong place" rather than "nothing there" or "not allowed":
    /// worth trying the other transport or the usual paths.
    pub fn is_wrong_place(&self) -> bool {
        match self {
            Failure::Status { status, .. } => matches!(status, 400 | 404 | 405 | 406 | 415),
            Failure::Protocol { .. } => true,
            _ => false,
        }
    }

    /// Classifies a reqwest error, using the certificate the handshake recorded.
    pub fn from_reqwest(
        error: reqwest::Error,
        url: &str,
        seen: &SeenHandle,
        timeout: Duration,
    ) -> Failure {
        // Every handshake overwrites what was seen; a refused TCP connection had none.
        let refused = io_kind(&error) == Some(std::io::ErrorKind::ConnectionRefused);
        if let Some(seen) = seen.last().filter(|s| s.refusal.is_some())
            && error.is_connect()
            && !refused
        {
            return Failure::Tls { url: url.to_owned(), seen: Box::new(seen) };
        }
        if error.is_timeout() {
            return Failure::Timeout { url: url.to_owned(), after: timeout };
        }
        let authority = reqwest::Url::parse(url)
            .ok()
            .map(|u| {
                format!("{}:{}", u.host_str().unwrap_or(""), u.port_or_known_default().unwrap_or(0))
            })
            .unwrap_or_else(|| url.to_owned());
        if error.is_connect() {
            return Failure::Connect { authority, detail: innermost(&error), refused };
        }
        Failure::Protocol { url: url.to_owned(), detail: innermost(&error) }
    }
}
