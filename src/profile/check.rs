//! Checks across fields, after each value has parsed on its own.

use std::net::IpAddr;

use super::model::{Auth, Link, Profile, Scheme, Tls};

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
        for (p, pool) in router.gateway_pools.iter().enumerate() {
            for (g, gateway) in pool.gateways.iter().enumerate() {
                let Some(tls) = &gateway.tls else { continue };
                let (p, g) = (p.to_string(), g.to_string());
                let at = ["link", "router", "gateway_pools", &p, "gateways", &g, "tls"];
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
