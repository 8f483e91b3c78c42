//! The profile model: one YAML file per route.
//!
//! Every struct denies unknown fields, so a misspelt key is an error with its position, not
//! a silently ignored setting.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
// Enums are written `link: {port_forward: {…}}` and `auth: none`, not with YAML tags.
use serde_yaml::with::singleton_map;

use super::types::{
    BaseUrl, EnvVar, KubeName, Port, ProfileName, ServerName, Sha256Pin, Text, UrlPath, ip_addr,
    non_empty, positive_duration, serialize_duration, some_non_empty,
};

/// One route from Claude Code to Serena.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: ProfileName,
    pub title: Text,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub pros: Vec<String>,
    #[serde(default)]
    pub cons: Vec<String>,
    #[serde(default)]
    pub when_to_use: String,
    #[serde(with = "singleton_map")]
    pub link: Link,
    #[serde(default)]
    pub endpoint: Endpoint,
    #[serde(default, with = "singleton_map")]
    pub auth: Auth,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    #[serde(default)]
    pub client: Client,
}

/// How the local machine reaches the MCP server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// A native port-forward to a Service's Ready pod.
    PortForward(PortForward),
    /// A URL reachable as it is (a LoadBalancer, an ingress).
    Direct(Direct),
    /// A local router in front of a pool of gateways.
    Router(Router),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortForward {
    /// The kubeconfig context; the current context when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    pub namespace: KubeName,
    pub service: KubeName,
    /// The Service's port (resolved to the pod's target port).
    pub remote_port: Port,
    pub local_port: Port,
    #[serde(default = "loopback", deserialize_with = "ip_addr")]
    pub local_address: IpAddr,
    /// Whether the forwarded server speaks TLS (the gateway does, Serena does not).
    #[serde(default)]
    pub scheme: Scheme,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    #[default]
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Direct {
    pub url: BaseUrl,
}

/// The router's settings, in the shape of the seed's `router-config.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Router {
    pub local_port: Port,
    #[serde(default = "loopback", deserialize_with = "ip_addr")]
    pub local_address: IpAddr,
    /// mcp-connect's own router: its pools of gateways. Empty when `command` names another.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "non_empty")]
    pub gateway_pools: Vec<GatewayPool>,
    /// Another router to run in place of mcp-connect's own: program and arguments. It must
    /// serve streamable HTTP at `http://local_address:local_port/mcp`; its stderr is its log.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "some_non_empty")]
    pub command: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayPool {
    pub name: Text,
    #[serde(deserialize_with = "non_empty")]
    pub gateways: Vec<Gateway>,
    #[serde(default)]
    pub health_check: HealthCheck,
    /// How long a request sent to one of its gateways waits for the answer, at most (5 min).
    #[serde(
        default = "default_request_timeout",
        deserialize_with = "positive_duration",
        serialize_with = "serialize_duration",
        skip_serializing_if = "is_default_request_timeout"
    )]
    pub request_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    pub url: BaseUrl,
    #[serde(default = "default_weight")]
    pub weight: NonZeroU32,
    /// How this gateway's certificate is verified, over the profile's `tls` (each gateway may
    /// present its own self-signed certificate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    /// How the router speaks to this gateway, over the profile's `endpoint.transport`:
    /// `streamable-http` or `auto` (standard MCP), or `mcp-bridge-ws` (the gateway's envelope
    /// over a WebSocket). The path is `endpoint.path` when this transport is of the endpoint's
    /// kind (both MCP, or both envelope), else the transport's usual one: `/mcp` for MCP, `/ws`
    /// for the envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// The credentials sent to this gateway, over the profile's `auth` (gateways of two
    /// clusters sign with two secrets): the same shape, `none`, `jwt: {…}` or `bearer: {…}`.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "singleton_map")]
    pub auth: Option<Auth>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(
        default = "default_interval",
        deserialize_with = "positive_duration",
        serialize_with = "serialize_duration"
    )]
    pub interval: Duration,
    /// How long a check waits for its answer (3 s): past it the gateway is down.
    #[serde(
        default = "default_check_timeout",
        deserialize_with = "positive_duration",
        serialize_with = "serialize_duration",
        skip_serializing_if = "is_default_check_timeout"
    )]
    pub timeout: Duration,
}

impl Default for HealthCheck {
    fn default() -> Self {
        Self { enabled: true, interval: default_interval(), timeout: default_check_timeout() }
    }
}

/// Where on the server the MCP endpoint is, and how it speaks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    #[serde(default)]
    pub path: UrlPath,
    #[serde(default)]
    pub transport: Transport,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// Streamable HTTP first, legacy SSE as the fallback.
    #[default]
    Auto,
    StreamableHttp,
    Sse,
    /// The mcp-bridge gateway's own client protocol: JSON-RPC in its envelope, over a
    /// WebSocket (`wss://…/ws`, the endpoint's URL with the scheme mapped).
    McpBridgeWs,
    /// The same envelope POSTed to the gateway's HTTP frontend (`/api/v1/mcp`).
    McpBridgeHttp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Auto => "auto",
            Transport::StreamableHttp => "streamable-http",
            Transport::Sse => "sse",
            Transport::McpBridgeWs => "mcp-bridge-ws",
            Transport::McpBridgeHttp => "mcp-bridge-http",
        }
    }

    /// Whether it is the gateway's envelope protocol rather than MCP's own transports.
    pub fn is_envelope(self) -> bool {
        matches!(self, Transport::McpBridgeWs | Transport::McpBridgeHttp)
    }
}

/// The credentials a request carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    #[default]
    None,
    /// An HS256 token minted locally from a shared secret, as the MCP gateway expects.
    Jwt(Jwt),
    /// A ready-made bearer token from the environment.
    Bearer(Bearer),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jwt {
    #[serde(with = "singleton_map")]
    pub secret: SecretSource,
    /// `iss`; the gateway accepts only `mcp-gateway`.
    #[serde(default = "gateway_claim")]
    pub issuer: Text,
    /// `aud`; the gateway requires it to contain `mcp-gateway`.
    #[serde(default = "gateway_claim")]
    pub audience: Text,
    /// `sub`; git `user.email`, else `$USER`, when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Text>,
    #[serde(
        default = "default_ttl",
        deserialize_with = "positive_duration",
        serialize_with = "serialize_duration"
    )]
    pub ttl: Duration,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
}

/// Where the JWT signing secret comes from. The secret itself never sits in a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSource {
    Kubernetes(SecretRef),
    Env(EnvVar),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    pub namespace: KubeName,
    pub name: KubeName,
    pub key: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bearer {
    pub env: EnvVar,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    #[serde(default = "yes")]
    pub verify: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_sha256: Option<Sha256Pin>,
}

/// How the route appears in Claude Code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    #[serde(default)]
    pub server_name: ServerName,
}

fn loopback() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

fn yes() -> bool {
    true
}

fn default_weight() -> NonZeroU32 {
    NonZeroU32::new(100).expect("100 is not zero")
}

fn default_interval() -> Duration {
    Duration::from_secs(30)
}

fn default_check_timeout() -> Duration {
    Duration::from_secs(3)
}

fn is_default_check_timeout(timeout: &Duration) -> bool {
    *timeout == default_check_timeout()
}

fn default_request_timeout() -> Duration {
    Duration::from_secs(300)
}

fn is_default_request_timeout(timeout: &Duration) -> bool {
    *timeout == default_request_timeout()
}

fn default_ttl() -> Duration {
    Duration::from_secs(3600)
}

fn gateway_claim() -> Text {
    Text::try_from("mcp-gateway").expect("a non-empty literal")
}

/// The scopes the gateway's own token tool grants.
fn default_scopes() -> Vec<String> {
    vec!["mcp:*:read".to_owned(), "mcp:*:write".to_owned()]
}
