//! What went wrong talking to an endpoint, as observed: before any explanation. The diagnosis
//! ([`super::diagnose`]) turns these into a cause and a fix.

use std::time::Duration;

use crate::net::mcp::{Said, said_in};
use crate::net::tls::{Seen, SeenHandle};
use crate::net::{Broke, broke_off, innermost, io_kind, snippet};

#[derive(Debug, Clone)]
pub enum Failure {
    /// Nothing answered at the address: refused, unreachable, or no such host.
    Connect { authority: String, detail: String, refused: bool },
    /// No answer in time.
    Timeout { url: String, after: Duration },
    /// The TLS handshake refused the server's certificate.
    Tls { url: String, seen: Box<Seen> },
    /// The connection broke under an exchange: reset, or closed before the answer was whole.
    /// The link's doing (a forward switching pods, a proxy, a restarting server), not a sign
    /// of a wrong path or transport. `during`: what was under way ("waiting for the answer to
    /// initialize").
    Dropped { url: String, how: Broke, during: String, detail: String },
    /// An HTTP status other than the one the protocol calls for. `body`: its start, on one
    /// line; `said`: the JSON-RPC error the body holds, if it is one (see [`Failure::status`]).
    Status {
        method: &'static str,
        url: String,
        status: u16,
        body: String,
        wanted: &'static str,
        said: Option<Box<Said>>,
    },
    /// The server no longer knows the session (404 on a request that carried its id).
    SessionExpired,
    /// A JSON-RPC error answer.
    Rpc { method: String, code: i64, message: String },
    /// The answer is not MCP: wrong content type, invalid JSON, missing fields, stream ended.
    Protocol { url: String, detail: String },
}

impl Failure {
    /// A status answer, its whole `body` read for a JSON-RPC error before it is cut short.
    pub fn status(
        method: &'static str,
        url: String,
        status: u16,
        body: &str,
        wanted: &'static str,
    ) -> Failure {
        Failure::Status {
            method,
            url,
            status,
            body: snippet(body),
            wanted,
            said: said_in(body).map(Box::new),
        }
    }

    /// Whether this looks like "wrong place" rather than "nothing there", "not allowed" or
    /// "the link broke": the endpoint answered HTTP, but not as MCP (a 4xx without a JSON-RPC
    /// error, HTML, a body that is not JSON-RPC). Only then are the other transport and the
    /// usual paths worth trying.
    pub fn is_wrong_place(&self) -> bool {
        match self {
            Failure::Status { status, said: None, .. } => {
                matches!(status, 400 | 404 | 405 | 406 | 415)
            }
            Failure::Protocol { .. } => true,
            _ => false,
        }
    }

    /// Whether the link broke or went quiet (reset, closed early, no answer in time): likely
    /// to pass by itself, worth checking again at once.
    pub fn is_transient(&self) -> bool {
        matches!(self, Failure::Dropped { .. } | Failure::Timeout { .. })
    }

    /// Says what was under way when the connection broke, when that is not said yet.
    pub fn during(mut self, what: impl FnOnce() -> String) -> Failure {
        if let Failure::Dropped { during, .. } = &mut self
            && during.is_empty()
        {
            *during = what();
        }
        self
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
        if let Some(how) = broke_off(&error).filter(|_| !refused) {
            let during = if error.is_connect() { "connecting".to_owned() } else { String::new() };
            return Failure::Dropped {
                url: url.to_owned(),
                how,
                during,
                detail: innermost(&error),
            };
        }
        if error.is_connect() {
            return Failure::Connect { authority, detail: innermost(&error), refused };
        }
        Failure::Protocol { url: url.to_owned(), detail: innermost(&error) }
    }
}
