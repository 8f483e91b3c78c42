//! One MCP session over either transport: the handshake, timed requests, and a fresh
//! `initialize` when the server has forgotten the session (404).
//!
//! On streamable HTTP the era is found as the clients find it: `server/discover` in the
//! 2026-07-28 way first; when the answer says the server does not speak it (a 400 or 404, a
//! JSON-RPC error such as -32000 "Server not initialized", or no MCP answer), `initialize`.

use std::time::{Duration, Instant};

use rmcp::model::JsonObject;
use serde_json::{Value, json};

use super::envelope::Envelope;
use super::failure::Failure;
use super::legacy::Legacy;
use super::rpc::{self, ServerInfo};
use super::streamable::Streamable;
pub use crate::net::era::Era;
use crate::net::mcp::UNSUPPORTED_VERSION;
use crate::net::{Http, Target};
use crate::profile::Transport;

/// The transport a session ended up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Wire {
    StreamableHttp,
    Sse,
    /// The mcp-bridge gateway's envelope over its WebSocket.
    McpBridgeWs,
    /// The mcp-bridge gateway's envelope over its HTTP frontend.
    McpBridgeHttp,
}

impl Wire {
    pub fn as_str(self) -> &'static str {
        match self {
            Wire::StreamableHttp => "streamable-http",
            Wire::Sse => "sse",
            Wire::McpBridgeWs => "mcp-bridge-ws",
            Wire::McpBridgeHttp => "mcp-bridge-http",
        }
    }
}

/// What `initialize` (or `server/discover`) told us.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Handshake {
    pub server: ServerInfo,
    pub wire: Wire,
    /// The URL the session lives at (the SSE URL for the legacy transport).
    pub url: String,
    pub era: Era,
}

enum Conn {
    /// 2026-07-28: nothing is kept on the server between requests.
    Modern(Streamable),
    Streamable(Streamable),
    Legacy(Legacy),
    Envelope(Envelope),
}

pub struct Session {
    conn: Conn,
    http: Http,
    target: Target,
    next_id: i64,
    pub handshake: Handshake,
    /// How often the server forgot the session and it was initialized again.
    pub reinitialized: u32,
}

impl Session {
    /// Initializes a session at `target`, on the transport it names (`auto`: streamable HTTP,
    /// then legacy SSE when the URL does not take POSTs).
    pub async fn open(http: &Http, target: &Target) -> Result<Session, Failure> {
        Session::open_in(http, target, None).await
    }

    /// [`Session::open`] in `era` when given: streamable HTTP then speaks only that one
    /// (`server/discover`, or `initialize`); `None` finds it.
    pub async fn open_in(
        http: &Http,
        target: &Target,
        era: Option<Era>,
    ) -> Result<Session, Failure> {
        let streamable_http = async || match era {
            None => either_era(http, target).await,
            Some(Era::Modern) => modern(http, target).await,
            Some(Era::Initialize) => streamable(http, target).await,
        };
        let (conn, handshake) = match target.transport {
            Transport::StreamableHttp => streamable_http().await?,
            Transport::Sse => legacy(http, target).await?,
            Transport::McpBridgeWs | Transport::McpBridgeHttp => envelope(http, target).await?,
            Transport::Auto => match streamable_http().await {
                Ok(opened) => opened,
                Err(first) if first.is_wrong_place() => {
                    legacy(http, target).await.map_err(|_| first)?
                }
                Err(first) => return Err(first),
            },
        };
        Ok(Session {
            conn,
            http: http.clone(),
            target: target.clone(),
            next_id: 2,
            handshake,
            reinitialized: 0,
        })
    }

    /// A request, timed; initializes again once if the server lost the session.
    pub async fn request(
        &mut self,
        method: &str,
        params: Option<Value>,
    ) -> Result<(JsonObject, Duration), Failure> {
        match self.request_once(method, params.clone()).await {
            Err(Failure::SessionExpired) => {
                self.reopen().await?;
                self.request_once(method, params).await
            }
            other => other,
        }
    }

    async fn request_once(
        &mut self,
        method: &str,
        params: Option<Value>,
    ) -> Result<(JsonObject, Duration), Failure> {
        let id = self.next_id;
        self.next_id += 1;
        let started = Instant::now();
        let answer = match &mut self.conn {
            Conn::Streamable(s) | Conn::Modern(s) => s.request(id, method, params).await?,
            Conn::Legacy(l) => l.request(id, method, params).await?,
            Conn::Envelope(e) => e.request(id, method, params).await?,
        };
        let took = started.elapsed();
        answer.map(|result| (result, took)).map_err(|e| Failure::Rpc {
            method: method.to_owned(),
            code: e.code,
            message: e.message,
        })
    }

    async fn reopen(&mut self) -> Result<(), Failure> {
        let target = Target { transport: self.handshake_transport(), ..self.target.clone() };
        let fresh = Session::open_in(&self.http, &target, Some(self.handshake.era)).await?;
        self.conn = fresh.conn;
        self.handshake = fresh.handshake;
        self.reinitialized += 1;
        Ok(())
    }

    fn handshake_transport(&self) -> Transport {
        match self.handshake.wire {
            Wire::StreamableHttp => Transport::StreamableHttp,
            Wire::Sse => Transport::Sse,
            Wire::McpBridgeWs => Transport::McpBridgeWs,
            Wire::McpBridgeHttp => Transport::McpBridgeHttp,
        }
    }

    /// The era the session speaks.
    pub fn era(&self) -> Era {
        self.handshake.era
    }

    /// A liveness round trip: `ping`, or for a 2026 server (which has no `ping`)
    /// `server/discover`, whose answer refreshes what the handshake says of the server.
    pub async fn ping(&mut self) -> Result<Duration, Failure> {
        if self.handshake.era == Era::Modern {
            let (result, took) = self.request("server/discover", None).await?;
            let found = rpc::discovery(&result).map_err(|detail| self.protocol(detail))?;
            self.handshake.server = found;
            return Ok(took);
        }
        self.request("ping", None).await.map(|(_, took)| took)
    }

    /// The number of tools, across pages; and the time of the first page.
    pub async fn tool_count(&mut self) -> Result<(usize, Duration), Failure> {
        let (mut total, mut first, mut cursor) = (0, None, None::<String>);
        for _ in 0..50 {
            let params = cursor.take().map(|c| json!({"cursor": c}));
            let (result, took) = self.request("tools/list", params).await?;
            first.get_or_insert(took);
            cursor = result.get("nextCursor").and_then(Value::as_str).map(str::to_owned);
            total += rpc::tool_count(result).map_err(|detail| self.protocol(detail))?;
            if cursor.is_none() {
                break;
            }
        }
        Ok((total, first.unwrap_or_default()))
    }

    pub async fn call_tool(
        &mut self,
        name: &str,
        arguments: Value,
    ) -> Result<(JsonObject, Duration), Failure> {
        self.request("tools/call", Some(json!({"name": name, "arguments": arguments}))).await
    }

    /// Ends the session on the server.
    pub async fn close(mut self) {
        match &mut self.conn {
            Conn::Streamable(s) => s.close().await,
            Conn::Envelope(e) => e.close().await,
            Conn::Legacy(_) | Conn::Modern(_) => {}
        }
    }

    fn protocol(&self, detail: String) -> Failure {
        Failure::Protocol { url: self.handshake.url.clone(), detail }
    }
}

/// `server/discover` first; `initialize` when the answer says the server does not speak
/// 2026-07-28 (see [`speaks_2026_not`]). When `initialize` is then refused as an unsupported
/// version, the server speaks only a later era and the `server/discover` failure says why it
/// failed (a proxy that drops `Mcp-Method`, say): that one is returned.
async fn either_era(http: &Http, target: &Target) -> Result<(Conn, Handshake), Failure> {
    let modern_failure = match modern(http, target).await {
        Ok(opened) => return Ok(opened),
        Err(failure) if !speaks_2026_not(&failure) => return Err(failure),
        Err(failure) => failure,
    };
    match streamable(http, target).await {
        Err(Failure::Status { said: Some(said), .. })
            if said.code == UNSUPPORTED_VERSION
                && matches!(modern_failure, Failure::Status { said: Some(_), .. }) =>
        {
            Err(modern_failure)
        }
        other => other,
    }
}

/// Whether `server/discover`'s failure may mean an older server, worth an `initialize`: any
/// answer but a refused token (401, 403) or Host (421), which `initialize` would get too;
/// not when the link failed (nothing answered).
fn speaks_2026_not(failure: &Failure) -> bool {
    match failure {
        Failure::Status { status, .. } => !matches!(status, 401 | 403 | 421),
        Failure::Rpc { .. } | Failure::Protocol { .. } | Failure::SessionExpired => true,
        Failure::Connect { .. }
        | Failure::Timeout { .. }
        | Failure::Tls { .. }
        | Failure::Dropped { .. } => false,
    }
}

async fn modern(http: &Http, target: &Target) -> Result<(Conn, Handshake), Failure> {
    let url = target.url.to_string();
    let mut conn = Streamable::modern(http.clone(), &url);
    let answer = conn.request(1, "server/discover", None).await?;
    let result = answer.map_err(|e| Failure::Rpc {
        method: "server/discover".to_owned(),
        code: e.code,
        message: e.message,
    })?;
    let found =
        rpc::discovery(&result).map_err(|detail| Failure::Protocol { url: url.clone(), detail })?;
    let handshake = Handshake { server: found, wire: Wire::StreamableHttp, url, era: Era::Modern };
    Ok((Conn::Modern(conn), handshake))
}

async fn streamable(http: &Http, target: &Target) -> Result<(Conn, Handshake), Failure> {
    let url = target.url.to_string();
    let mut conn = Streamable::new(http.clone(), &url);
    let params = Some(rpc::initialize_params(rpc::PROTOCOL_VERSION));
    let server = initialized(conn.request(1, "initialize", params).await?, &url)?;
    conn.set_protocol_version(&server.protocol_version);
    conn.notify("notifications/initialized").await?;
    Ok((Conn::Streamable(conn), handshaken(server, Wire::StreamableHttp, url)))
}

fn handshaken(server: ServerInfo, wire: Wire, url: String) -> Handshake {
    Handshake { server, wire, url, era: Era::Initialize }
}

async fn legacy(http: &Http, target: &Target) -> Result<(Conn, Handshake), Failure> {
    let url = target.url.to_string();
    let mut conn = Legacy::connect(http.clone(), &target.url).await?;
    let params = Some(rpc::initialize_params(rpc::LEGACY_PROTOCOL_VERSION));
    let server = initialized(conn.request(1, "initialize", params).await?, &url)?;
    conn.notify("notifications/initialized").await?;
    Ok((Conn::Legacy(conn), handshaken(server, Wire::Sse, url)))
}

/// The handshake in the gateway's envelope; the gateway's error answer to the notification is
/// dropped, as its own router should.
async fn envelope(http: &Http, target: &Target) -> Result<(Conn, Handshake), Failure> {
    let url = target.url.to_string();
    let mut conn = Envelope::new(http, target, target.transport)?;
    let params = Some(rpc::initialize_params(rpc::PROTOCOL_VERSION));
    let server = initialized(conn.request(1, "initialize", params).await?, &url)?;
    conn.notify("notifications/initialized").await?;
    let wire = match target.transport {
        Transport::McpBridgeHttp => Wire::McpBridgeHttp,
        _ => Wire::McpBridgeWs,
    };
    Ok((Conn::Envelope(conn), handshaken(server, wire, url)))
}

fn initialized(
    answer: Result<JsonObject, rpc::RpcError>,
    url: &str,
) -> Result<ServerInfo, Failure> {
    let result = answer.map_err(|e| Failure::Rpc {
        method: "initialize".to_owned(),
        code: e.code,
        message: e.message,
    })?;
    rpc::server_info(result).map_err(|detail| Failure::Protocol { url: url.to_owned(), detail })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initialize_is_tried_after_a_refused_discover_but_not_after_a_failed_link() {
        let answered = |status: u16, body: &str| {
            Failure::status("POST", "http://h/mcp".into(), status, body, "200 with the answer")
        };
        // server-everything 2026.8.31 (TS SDK 1.32), a stateless server, a plain web server.
        let not_initialized = r#"{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: Server not initialized"},"id":null}"#;
        assert!(speaks_2026_not(&answered(400, not_initialized)));
        assert!(speaks_2026_not(&answered(404, "Not Found")));
        let unknown = Failure::Rpc {
            method: "server/discover".into(),
            code: -32601,
            message: "Method not found".into(),
        };
        assert!(speaks_2026_not(&unknown));
        assert!(speaks_2026_not(&Failure::Protocol { url: "u".into(), detail: "html".into() }));
        // `initialize` would be refused the same way, or nothing answered at all.
        assert!(!speaks_2026_not(&answered(401, "Unauthorized")));
        assert!(!speaks_2026_not(&answered(421, "Invalid Host header")));
        let refused =
            Failure::Connect { authority: "h:80".into(), detail: String::new(), refused: true };
        assert!(!speaks_2026_not(&refused));
    }
}
