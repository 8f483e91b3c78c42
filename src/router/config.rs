//! Router settings from the seed's `router-config.yaml` (`mcp-connect router --config FILE`)
//! or from a `router` profile (`mcp-connect router PROFILE`).
//!
//! The file is read in the seed's shape as written:
//!
//! ```yaml
//! server:
//!   port: 8080
//!   protocol: http          # optional; the only one served (MCP at http://HOST:PORT/mcp)
//!   host: 127.0.0.1         # optional
//! gateway_pools:
//!   - name: staging-pool
//!     gateways:
//!       - url: https://gateway.example.com:8443   # MCP at /mcp unless the URL has a path
//!         weight: 100                             # optional, 100
//!       - url: wss://gateway.example.com:8443     # mcp-connect's extension: the gateway's
//!                                                 # envelope over WebSocket, at /ws unless
//!                                                 # the URL has a path
//!         tls: {verify: true, pin_sha256: …, ca_file: …}   # optional, mcp-connect's extension
//!         auth: {jwt: {secret_key_env: OTHER_KEY}}          # optional, mcp-connect's extension
//!     health_check: {enabled: true, interval: 30s, timeout: 3s}   # optional
//!     request_timeout: 5m   # optional, mcp-connect's extension
//! auth:                     # optional: without it the gateways get no credentials
//!   jwt:
//!     secret_key_env: JWT_SECRET_KEY
//! ```
//!
//! Unknown keys are errors, and every error names `FILE:LINE:COL` and what was expected, as
//! profiles do (the same parser, value types and messages). The JWT sent to each gateway is
//! the one a profile's `auth: jwt` mints (HS256, `iss` and `aud` `mcp-gateway`, one hour),
//! signed with the secret in `secret_key_env`, which is read when a token is minted, not here.
//! A gateway's own `auth` (the top level's shape) replaces the top level's for that gateway:
//! gateways of two clusters sign with two secrets.
//!
//! How long things wait (the same keys in a router profile's pools):
//!
//! - `health_check.interval` (30s): between two checks (a `ping` on a session the router keeps
//!   on each gateway). While a request has waited a second for its answer, its gateway is
//!   checked every second instead.
//! - `health_check.timeout` (3s): a check unanswered for this long finds the gateway down;
//!   every request open on it is then failed over at once: a safe one (`tools/list`, `ping`,
//!   …) is sent again on another gateway, any other is answered with error -32010 (the call
//!   may have run). A frozen gateway is so found within about `1 s + timeout`.
//! - `request_timeout` (5m): how long one request waits for its answer, at most. Past it, a
//!   gateway that answered nothing else meanwhile is down (as above); one that did is slow on
//!   this request alone, answered with error -32012 (the call may still be running). With
//!   checks off (`enabled: false`), this deadline is what finds a frozen gateway.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use url::Url;

use super::settings::{
    DEFAULT_REQUEST_TIMEOUT, GatewaySettings, GatewayTransport, HealthSettings, Origin,
    PoolSettings, RouterSettings,
};
use crate::auth::{KubeAccess, Tokens};
use crate::net::TlsOptions;
use crate::profile::{
    self, Auth, EnvVar, HealthCheck, Jwt, Link, Port, Position, Profile, ProfileError, ProfileName,
    Text, Tls, locate,
};
use crate::trouble::Trouble;

mod router_profile;
pub use router_profile::from_profile;

/// The seed's `router-config.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterConfig {
    pub server: Server,
    #[serde(deserialize_with = "profile::non_empty")]
    pub gateway_pools: Vec<Pool>,
    #[serde(default)]
    pub auth: Option<AuthConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub port: Port,
    #[serde(default)]
    pub protocol: Protocol,
    #[serde(default = "loopback", deserialize_with = "profile::ip_addr")]
    pub host: IpAddr,
}

/// What the router speaks to its clients: streamable HTTP at `/mcp`, nothing else.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Protocol {
    #[default]
    Http,
}

impl<'de> Deserialize<'de> for Protocol {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        profile::parse_str(d, "`http`", |raw| match raw {
            "http" => Ok(Protocol::Http),
            other => Err(format!(
                "protocol {other:?} is not supported, expected `http`: the router serves \
                 streamable HTTP at http://HOST:PORT/mcp; a stdio client reaches it through \
                 `mcp-connect bridge router`"
            )),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    pub name: Text,
    #[serde(deserialize_with = "profile::non_empty")]
    pub gateways: Vec<Gateway>,
    #[serde(default)]
    pub health_check: HealthCheck,
    /// mcp-connect's extension: how long a request waits for its answer, at most.
    #[serde(default = "default_request_timeout", deserialize_with = "profile::positive_duration")]
    pub request_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    pub url: GatewayUrl,
    #[serde(default = "default_weight")]
    pub weight: NonZeroU32,
    /// mcp-connect's extension: how this gateway's certificate is verified.
    #[serde(default)]
    pub tls: Option<Tls>,
    /// mcp-connect's extension: this gateway's credentials, over the top level's `auth`.
    #[serde(default)]
    pub auth: Option<AuthConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub jwt: JwtConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// The environment variable holding the gateway's signing secret.
    pub secret_key_env: EnvVar,
}

/// A gateway's endpoint. `http(s)://host[:port][/path]`: standard MCP (streamable HTTP), the
/// path `/mcp` when absent. `ws(s)://host[:port][/path]`: the mcp-bridge gateway's envelope
/// over a WebSocket, the path `/ws` when absent (as its staging values serve it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayUrl(Url);

impl GatewayUrl {
    fn parse(raw: &str) -> Result<GatewayUrl, String> {
        let expected = "expected an http(s):// URL with a host for standard MCP, e.g. \
                        \"https://gateway.example.com:8443\" (MCP at /mcp), or a ws(s):// one \
                        for the mcp-bridge gateway's envelope, e.g. \
                        \"wss://gateway.example.com:8443\" (at /ws)";
        let mut url =
            Url::parse(raw).map_err(|e| format!("invalid URL {raw:?} ({e}), {expected}"))?;
        let Some(transport) = GatewayTransport::of(&url) else {
            return Err(format!("URL scheme {:?} is not supported, {expected}", url.scheme()));
        };
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("URL {raw:?} has no host, {expected}"));
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err(format!("URL {raw:?} carries a query, fragment or user name, {expected}"));
        }
        if url.path() == "/" {
            url.set_path(default_path(transport));
        }
        Ok(GatewayUrl(url))
    }

    pub fn url(&self) -> &Url {
        &self.0
    }

    /// Whether it speaks TLS (`https://` or `wss://`).
    pub fn is_https(&self) -> bool {
        matches!(self.0.scheme(), "https" | "wss")
    }
}

/// The path a gateway serves a transport at when its URL names none.
pub(crate) fn default_path(transport: GatewayTransport) -> &'static str {
    match transport {
        GatewayTransport::StreamableHttp => "/mcp",
        GatewayTransport::EnvelopeWs => "/ws",
    }
}

impl<'de> Deserialize<'de> for GatewayUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        profile::parse_str(d, "an http(s):// or ws(s):// URL", GatewayUrl::parse)
    }
}

impl fmt::Display for GatewayUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// The settings in the router config file at `path`.
pub fn from_file(path: &Path) -> Result<RouterSettings, Trouble> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Trouble::new(
            format!("cannot read the router config {}: {e}", path.display()),
            "give --config the path of a readable YAML file (the seed's router-config.yaml)",
        )
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    from_text(&text, &path.display().to_string(), dir)
}

/// The settings in a router config's `text`; `file` names it in errors, and a relative
/// `tls.ca_file` is read from `dir`.
pub fn from_text(text: &str, file: &str, dir: &Path) -> Result<RouterSettings, Trouble> {
    let at = |position: Position, message: String| {
        let cause = ProfileError { file: file.to_owned(), position, message }.to_string();
        Trouble::new(cause, format!("fix {file} at the position shown"))
    };
    if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        let message = "the file is empty, expected a router config: a mapping with `server` and \
                       `gateway_pools`";
        return Err(at(Position::START, message.to_owned()));
    }
    let config: RouterConfig = serde_yaml::from_str(text).map_err(|e| {
        at(e.location().map(Position::from).unwrap_or(Position::START), profile::explain(&e))
    })?;
    let located = |keys: &[String], message: String| {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        at(locate(text, &keys).unwrap_or(Position::START), message)
    };
    let mut pools = Vec::new();
    for (p, pool) in config.gateway_pools.iter().enumerate() {
        let mut gateways = Vec::new();
        for (g, gateway) in pool.gateways.iter().enumerate() {
            let keys = |rest: &[&str]| -> Vec<String> {
                let head = ["gateway_pools", &p.to_string(), "gateways", &g.to_string()]
                    .map(str::to_owned);
                head.into_iter().chain(rest.iter().map(|k| (*k).to_owned())).collect()
            };
            if let Some(tls) = &gateway.tls {
                let at_tls = keys(&["tls"]);
                let at_tls: Vec<&str> = at_tls.iter().map(String::as_str).collect();
                profile::check_gateway_tls(tls, gateway.url.is_https(), &at_tls)
                    .map_err(|failed: profile::Failed| located(&failed.keys, failed.message))?;
            }
            let tls = tls_options(gateway.tls.as_ref(), Some(dir))
                .map_err(|message| located(&keys(&["tls", "ca_file"]), message))?;
            let auth = gateway.auth.as_ref().or(config.auth.as_ref());
            let tokens = auth.and_then(|auth| {
                Tokens::for_profile(&jwt_profile(&auth.jwt, &config.server), KubeAccess::default())
            });
            gateways.push(GatewaySettings {
                url: gateway.url.url().clone(),
                weight: gateway.weight.get(),
                tokens,
                own_auth: gateway.auth.is_some(),
                tls,
            });
        }
        pools.push(PoolSettings {
            name: pool.name.to_string(),
            gateways,
            health: health(&pool.health_check),
            request_timeout: pool.request_timeout,
        });
    }
    let listen = SocketAddr::new(config.server.host, config.server.port.get());
    Ok(RouterSettings { listen, pools, origin: Origin::File(file.into()) })
}

/// An in-memory profile whose `auth` mints what the gateway accepts, signed with the secret in
/// `secret_key_env`: the one minting path profiles use.
fn jwt_profile(jwt: &JwtConfig, server: &Server) -> Profile {
    // The variable's name is checked (letters, digits, '_'): nothing to quote.
    let yaml = format!(
        "secret: {{env: {}}}\nissuer: mcp-gateway\naudience: mcp-gateway\nttl: 1h\n",
        jwt.secret_key_env
    );
    let jwt: Jwt = serde_yaml::from_str(&yaml).expect("a well-formed jwt section");
    Profile {
        name: ProfileName::try_from("router-config").expect("a valid profile name"),
        title: Text::try_from("router config file").expect("a non-empty title"),
        summary: String::new(),
        pros: Vec::new(),
        cons: Vec::new(),
        when_to_use: String::new(),
        link: Link::Router(profile::Router {
            local_port: server.port,
            local_address: server.host,
            gateway_pools: Vec::new(),
            command: None,
        }),
        endpoint: profile::Endpoint::default(),
        auth: Auth::Jwt(jwt),
        tls: None,
        client: profile::Client::default(),
    }
}

/// A profile's `tls` as the HTTP client takes it: a relative `ca_file` is read from `dir`
/// when given.
fn tls_options(tls: Option<&Tls>, dir: Option<&Path>) -> Result<TlsOptions, String> {
    let mut options = TlsOptions::default();
    let Some(tls) = tls else { return Ok(options) };
    if let Some(ca) = &tls.ca_file {
        let path: PathBuf = match dir {
            Some(dir) if ca.is_relative() => dir.join(ca),
            _ => ca.clone(),
        };
        options.add_ca_file(&path)?;
    }
    options.pin_sha256 = tls.pin_sha256.as_ref().map(|pin| pin.as_str().to_owned());
    options.insecure = !tls.verify;
    Ok(options)
}

fn health(check: &HealthCheck) -> HealthSettings {
    HealthSettings { enabled: check.enabled, interval: check.interval, timeout: check.timeout }
}

fn default_request_timeout() -> Duration {
    DEFAULT_REQUEST_TIMEOUT
}

fn loopback() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

fn default_weight() -> NonZeroU32 {
    NonZeroU32::new(100).expect("100 is not zero")
}
