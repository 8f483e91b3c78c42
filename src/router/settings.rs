//! What a running router needs, resolved: where it listens, and its pools of gateways with their
//! weights, credentials and TLS. Built from the seed's `router-config.yaml` or from a `router`
//! profile (see `config`); the router itself knows nothing of either file format.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::auth::Tokens;
use crate::net::TlsOptions;

/// A router, ready to run.
#[derive(Debug, Clone)]
pub struct RouterSettings {
    /// The listener for its faces: streamable HTTP at `/mcp`, `/health` and `/metrics`.
    pub listen: SocketAddr,
    pub pools: Vec<PoolSettings>,
    /// Where the settings were read from: a fix that changes a setting names it.
    pub origin: Origin,
}

/// Where a router's settings were read from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Origin {
    /// A config file in the seed's shape (`mcp-connect router --config FILE`).
    File(PathBuf),
    /// A profile with `link: router`, by name.
    Profile(String),
    /// Made by a program (tests, benchmarks): settings are named by their keys alone.
    #[default]
    Unnamed,
}

#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub name: String,
    pub gateways: Vec<GatewaySettings>,
    pub health: HealthSettings,
    /// How long a request sent to one of its gateways waits for the answer, at most (see
    /// [`DEFAULT_REQUEST_TIMEOUT`]).
    pub request_timeout: Duration,
}

/// A request's deadline on a gateway unless the settings give another: past it the request is
/// answered with an error, and the gateway judged down unless a check then passes (see the
/// router's `gateway::wait`). Long, so that slow tool calls (a test run, say) finish: a gateway
/// that stops answering is found sooner by its checks, which run every second while a request
/// waits (see [`HealthSettings::timeout`]).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// One upstream gateway. How the router speaks to it follows from its URL's scheme (see
/// [`GatewaySettings::transport`]).
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// The gateway's endpoint: its MCP endpoint (streamable HTTP), e.g. `https://gw:8443/mcp`,
    /// or its envelope WebSocket, e.g. `wss://gw:8443/ws`.
    pub url: Url,
    /// Its share of new sessions, relative to the others of its pool.
    pub weight: u32,
    /// The credentials sent to it (a JWT minted per connection), if any.
    pub tokens: Option<Tokens>,
    /// Whether `tokens` come from the gateway's own `auth` rather than the top level's: fixes
    /// then name the gateway's section.
    pub own_auth: bool,
    /// How its certificate is verified (a pin, extra roots, or the system's roots).
    pub tls: TlsOptions,
}

impl GatewaySettings {
    /// How the router speaks to this gateway; `None` for a URL scheme it cannot use.
    pub fn transport(&self) -> Option<GatewayTransport> {
        GatewayTransport::of(&self.url)
    }
}

/// What a gateway speaks, told by its URL's scheme: the scheme is where the wire differs
/// (HTTP requests or one WebSocket), so the two cannot disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayTransport {
    /// Standard MCP over streamable HTTP: `http://` and `https://` URLs.
    StreamableHttp,
    /// The mcp-bridge gateway's own protocol, JSON-RPC in its envelope over a WebSocket:
    /// `ws://` and `wss://` URLs. One WebSocket connection per MCP session.
    EnvelopeWs,
}

impl GatewayTransport {
    /// The transport a gateway URL's scheme selects; `None` for any other scheme.
    pub fn of(url: &Url) -> Option<GatewayTransport> {
        match url.scheme() {
            "http" | "https" => Some(GatewayTransport::StreamableHttp),
            "ws" | "wss" => Some(GatewayTransport::EnvelopeWs),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSettings {
    /// Active checks (`ping`); passive failure detection runs either way.
    pub enabled: bool,
    /// Between two checks while no request waits. While one has waited a second for its
    /// answer, the gateway is checked every second (a frozen gateway is found within about
    /// `1 s + timeout`).
    pub interval: Duration,
    /// How long a check waits for the `ping`'s answer: past it the gateway is down, and every
    /// request open on it is failed over at once.
    pub timeout: Duration,
}

/// A check's answer time unless the settings give another.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(3);

impl Default for HealthSettings {
    fn default() -> Self {
        HealthSettings {
            enabled: true,
            interval: Duration::from_secs(30),
            timeout: DEFAULT_CHECK_TIMEOUT,
        }
    }
}
