//! A `router` profile's settings: its pools, each gateway's transport, URL, token and TLS.
//!
//! A gateway's token comes from its own `auth` when it has one (the profile's `auth` shape),
//! else from the profile's `auth`: gateways of two clusters sign with two secrets.
//!
//! A gateway's transport is its own `transport`, else the profile's `endpoint.transport`:
//! `auto` and `streamable-http` are standard MCP, `mcp-bridge-ws` is the gateway's envelope
//! over a WebSocket, and nothing else is spoken to a gateway. Its URL is the gateway's base
//! URL with a path: `endpoint.path` when the transport is of the endpoint's kind (both MCP, or
//! both envelope), else that transport's usual path (`/mcp`, `/ws`); for the envelope the
//! scheme becomes `wss://` (`ws://` for an `http://` URL). So `endpoint: {path: /ws,
//! transport: mcp-bridge-ws}` makes every gateway an envelope one at `/ws`, and one gateway
//! with `transport: mcp-bridge-ws` in an MCP profile is reached at `wss://HOST:PORT/ws`.

use std::net::SocketAddr;

use url::Url;

use super::{default_path, health, tls_options};
use crate::auth::Tokens;
use crate::profile::{self, Link, Profile, Transport};
use crate::router::settings::{
    GatewaySettings, GatewayTransport, Origin, PoolSettings, RouterSettings,
};
use crate::supervisor::RunOptions;
use crate::trouble::Trouble;

/// The settings of a `router` profile: its `link.router`, its `auth` and `tls` (for the
/// gateways without their own; a token per gateway). `options.local_port` overrides the port.
pub fn from_profile(profile: &Profile, options: &RunOptions) -> Result<RouterSettings, Trouble> {
    let Link::Router(router) = &profile.link else {
        let kind = match &profile.link {
            Link::PortForward(_) => "port_forward",
            Link::Direct(_) => "direct",
            Link::Router(_) => "router",
        };
        return Err(Trouble::new(
            format!("profile {} has a {kind} link, not a router", profile.name),
            format!(
                "name a profile with `link: router` (e.g. router), or run this one with \
                 `mcp-connect up {}`",
                profile.name
            ),
        ));
    };
    if let Some(command) = &router.command {
        return Err(Trouble::new(
            format!(
                "profile {} runs another router (`command: {}`), not mcp-connect's",
                profile.name,
                shell_words::join(command)
            ),
            "run that command, or `mcp-connect tui` to have it started and watched",
        ));
    }
    let mut pools = Vec::new();
    for pool in &router.gateway_pools {
        let mut gateways = Vec::new();
        for gateway in &pool.gateways {
            let tls = tls_options(gateway.tls.as_ref().or(profile.tls.as_ref()), None).map_err(
                |cause| {
                    Trouble::new(
                        format!("profile {}, gateway {}: {cause}", profile.name, gateway.url),
                        format!("fix `tls.ca_file` in profile {}", profile.name),
                    )
                },
            )?;
            let tokens = match &gateway.auth {
                Some(auth) => {
                    let own = Profile { auth: auth.clone(), ..profile.clone() };
                    Tokens::for_profile(&own, options.kube())
                }
                None => Tokens::for_profile(profile, options.kube()),
            };
            gateways.push(GatewaySettings {
                url: endpoint(profile, gateway)?,
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
    let port = options.local_port.unwrap_or(router.local_port.get());
    let listen = SocketAddr::new(router.local_address, port);
    Ok(RouterSettings { listen, pools, origin: Origin::Profile(profile.name.to_string()) })
}

/// The URL the router reaches `gateway` at, its scheme telling the transport (see the
/// module's doc). `Err` names the gateway and a transport the router cannot speak to it.
fn endpoint(profile: &Profile, gateway: &profile::Gateway) -> Result<Url, Trouble> {
    let endpoint = &profile.endpoint;
    let (transport, from) = match gateway.transport {
        Some(own) => (own, "its `transport`"),
        None => (endpoint.transport, "the profile's `endpoint.transport`"),
    };
    let Some(kind) = kind_of(transport) else {
        return Err(Trouble::new(
            format!(
                "profile {}, gateway {}: transport `{}` (from {from}) is not one the router \
                 speaks to a gateway",
                profile.name,
                gateway.url,
                transport.as_str()
            ),
            format!(
                "give the gateway `transport: streamable-http` (standard MCP) or `transport: \
                 mcp-bridge-ws` (the gateway's envelope over a WebSocket) in profile {}",
                profile.name
            ),
        ));
    };
    let mut url = match kind_of(endpoint.transport) == Some(kind) {
        true => gateway.url.with_path(&endpoint.path),
        false => {
            let mut url = gateway.url.url().clone();
            url.set_path(default_path(kind));
            url
        }
    };
    if kind == GatewayTransport::EnvelopeWs {
        let scheme = if gateway.url.is_https() { "wss" } else { "ws" };
        // http(s) → ws(s) is always allowed: both are special schemes.
        let _ = url.set_scheme(scheme);
    }
    Ok(url)
}

/// What a profile's transport is for a gateway; `None` for one the router cannot speak.
fn kind_of(transport: Transport) -> Option<GatewayTransport> {
    match transport {
        Transport::Auto | Transport::StreamableHttp => Some(GatewayTransport::StreamableHttp),
        Transport::McpBridgeWs => Some(GatewayTransport::EnvelopeWs),
        Transport::Sse | Transport::McpBridgeHttp => None,
    }
}
