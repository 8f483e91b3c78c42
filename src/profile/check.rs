//! Checks across fields, after each value has parsed on its own.

use std::net::IpAddr;

use super::model::{Auth, Link, Profile, Scheme, Tls, Transport};

/// A failed check: the keys of the value to point at (digits index a sequence), and what is
/// wrong.
#[derive(Debug)]
pub struct Failed {
    pub keys: Vec<String>,
    pub message: String,
}

fn fail(keys: &[&str], message: impl Into<String>) -> Result<(), Failed> {
    Err(Failed { keys: keys.iter().map(|k| (*k).to_owned()).collect(), message: message.into() })
}

pub fn check(profile: &Profile) -> Result<(), Failed> {
    if let Some(tls) = &profile.tls {
        if !speaks_tls(&profile.link) {
            return fail(
                &["tls"],
                "`tls` is set but the link speaks plain HTTP, expected `scheme: https` on a \
                 port_forward link, an https:// URL, or no `tls` section",
            );
        }
        check_pin(tls, &["tls", "verify"])?;
    }
    if let Link::Router(router) = &profile.link {
        match (&router.command, router.gateway_pools.is_empty()) {
            (None, true) => {
                return fail(
                    &["link", "router"],
                    "a router link without `gateway_pools`, expected a list of pools of \
                     gateways for mcp-connect's router, or a `command` that runs another router",
                );
            }
            (Some(_), false) => {
                return fail(
                    &["link", "router", "command"],
                    "both `command` and `gateway_pools` are set, expected one: `command` runs \
                     another router, which reads its gateways from its own config",
                );
            }
            _ => {}
        }
        for (p, pool) in router.gateway_pools.iter().enumerate() {
            for (g, gateway) in pool.gateways.iter().enumerate() {
                let (p, g) = (p.to_string(), g.to_string());
                let at = ["link", "router", "gateway_pools", &p, "gateways", &g];
                if let Some(transport) = gateway.transport {
                    let at: Vec<&str> = at.iter().copied().chain(["transport"]).collect();
                    check_gateway_transport(transport, &gateway.url.to_string(), &at)?;
                }
                let Some(tls) = &gateway.tls else { continue };
                let at: Vec<&str> = at.iter().copied().chain(["tls"]).collect();
                check_gateway_tls(tls, gateway.url.is_https(), &at)?;
            }
        }
    }
    if let Link::Direct(direct) = &profile.link {
        let host = direct.url.url().host_str().unwrap_or_default();
        let loopback = host == "localhost"
            || host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if profile.auth != Auth::None && !direct.url.is_https() && !loopback {
            return fail(
                &["link", "direct", "url"],
                format!(
                    "credentials would cross the network in clear text to {host}, expected an \
                     https:// URL when `auth` is set"
                ),
            );
        }
    }
    Ok(())
}

/// A gateway's own `tls` (at the keys `at`, ending in `tls`): only on an https:// URL, and no
/// pin with verification off.
pub(crate) fn check_gateway_tls(tls: &Tls, https: bool, at: &[&str]) -> Result<(), Failed> {
    if !https {
        return fail(
            at,
            "`tls` is set but this gateway's URL is plain http://, expected an https:// URL or \
             no `tls` section",
        );
    }
    let verify: Vec<&str> = at.iter().copied().chain(["verify"]).collect();
    check_pin(tls, &verify)
}

/// A router gateway's `transport` (at the keys `at`): only those the router speaks to a
/// gateway, `streamable-http`, `auto` or `mcp-bridge-ws`.
fn check_gateway_transport(transport: Transport, gateway: &str, at: &[&str]) -> Result<(), Failed> {
    match transport {
        Transport::Auto | Transport::StreamableHttp | Transport::McpBridgeWs => Ok(()),
        Transport::Sse | Transport::McpBridgeHttp => fail(
            at,
            format!(
                "transport `{}` is not one the router speaks to gateway {gateway}, expected \
                 `streamable-http` (or `auto`: standard MCP) or `mcp-bridge-ws` (the gateway's \
                 envelope over a WebSocket)",
                transport.as_str()
            ),
        ),
    }
}

fn check_pin(tls: &Tls, verify_at: &[&str]) -> Result<(), Failed> {
    if !tls.verify && tls.pin_sha256.is_some() {
        return fail(
            verify_at,
            "`verify: false` with `pin_sha256` set, expected `verify: true`: a pin is how the \
             certificate gets verified",
        );
    }
    Ok(())
}

fn speaks_tls(link: &Link) -> bool {
    match link {
        Link::PortForward(pf) => pf.scheme == Scheme::Https,
        Link::Direct(direct) => direct.url.is_https(),
        Link::Router(router) => router
            .gateway_pools
            .iter()
            .flat_map(|pool| &pool.gateways)
            .any(|gateway| gateway.url.is_https()),
    }
}

#[cfg(test)]
mod tests {
    use crate::profile::parse;

    const HEAD: &str = "name: r\ntitle: R\nlink:\n  router:\n    local_port: 9000\n";

    #[test]
    fn a_router_link_runs_either_its_pools_or_another_routers_command() {
        let pools = "    gateway_pools:\n      - name: p\n        gateways:\n          - url: https://gw:8443\n";
        let command = "    command: [mcp-router, --config, r.yaml]\n";
        assert!(parse(&format!("{HEAD}{pools}"), "r.yaml").is_ok());
        assert!(parse(&format!("{HEAD}{command}"), "r.yaml").is_ok());

        let neither = parse(HEAD, "r.yaml").unwrap_err().to_string();
        assert!(neither.starts_with("r.yaml:5:5: "), "{neither}");
        assert!(neither.contains("without `gateway_pools`"), "{neither}");
        let both = parse(&format!("{HEAD}{pools}{command}"), "r.yaml").unwrap_err().to_string();
        assert!(both.starts_with("r.yaml:10:14: "), "{both}");
        assert!(both.contains("both `command` and `gateway_pools`"), "{both}");
        let empty = parse(&format!("{HEAD}    command: []\n"), "r.yaml").unwrap_err().to_string();
        assert!(empty.contains("expected at least one entry"), "{empty}");
    }
}
