//! One MCP session over either transport: the handshake, timed requests, and a fresh
//! `initialize` when the server has forgotten the session (404).

use std::time::{Duration, Instant};

use rmcp::model::JsonObject;
use serde_json::{Value, json};

use super::envelope::Envelope;
use super::failure::Failure;
use super::legacy::Legacy;
use super::rpc::{self, ServerInfo};
use super::streamable::Streamable;
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

/// What `initialize` told us.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Handshake {
    pub server: ServerInfo,
    pub wire: Wire,
    /// The URL the session lives at (the SSE URL for the legacy transport).
    pub url: String,
}

enum Conn {
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
        let (conn, handshake) = match target.transport {
            Transport::StreamableHttp => streamable(http, target).await?,
            Transport::Sse => legacy(http, target).await?,
            Transport::McpBridgeWs | Transport::McpBridgeHttp => envelope(http, target).await?,
            Transport::Auto => match streamable(http, target).await {
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
            Conn::Streamable(s) => s.request(id, method, params).await?,
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
        let fresh = Session::open(&self.http, &target).await?;
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

    pub async fn ping(&mut self) -> Result<Duration, Failure> {
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
            Conn::Legacy(_) => {}
        }
    }

    fn protocol(&self, detail: String) -> Failure {
        Failure::Protocol { url: self.handshake.url.clone(), detail }
    }
}

async fn streamable(http: &Http, target: &Target) -> Result<(Conn, Handshake), Failure> {
    let url = target.url.to_string();
    let mut conn = Streamable::new(http.clone(), &url);
    let params = Some(rpc::initialize_params(rpc::PROTOCOL_VERSION));
    let server = initialized(conn.request(1, "initialize", params).await?, &url)?;
    conn.set_protocol_version(&server.protocol_version);
    conn.notify("notifications/initialized").await?;
    Ok((Conn::Streamable(conn), Handshake { server, wire: Wire::StreamableHttp, url }))
}

async fn legacy(http: &Http, target: &Target) -> Result<(Conn, Handshake), Failure> {
    let url = target.url.to_string();
    let mut conn = Legacy::connect(http.clone(), &target.url).await?;
    let params = Some(rpc::initialize_params(rpc::LEGACY_PROTOCOL_VERSION));
    let server = initialized(conn.request(1, "initialize", params).await?, &url)?;
    conn.notify("notifications/initialized").await?;
    Ok((Conn::Legacy(conn), Handshake { server, wire: Wire::Sse, url }))
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
    Ok((Conn::Envelope(conn), Handshake { server, wire, url }))
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
