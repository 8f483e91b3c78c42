//! Checks across fields, after each value has parsed on its own.

use std::net::IpAddr;

use super::model::{Auth, Link, Profile, Scheme};

/// A failed check: the keys of the value to point at, and what is wrong.
#[derive(Debug)]
pub struct Failed {
    pub keys: &'static [&'static str],
    pub message: String,
}

fn fail(keys: &'static [&'static str], message: impl Into<String>) -> Result<(), Failed> {
    Err(Failed { keys, message: message.into() })
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
        if !tls.verify && tls.pin_sha256.is_some() {
            return fail(
                &["tls", "verify"],
                "`verify: false` with `pin_sha256` set, expected `verify: true`: a pin is how the \
                 certificate gets verified",
            );
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
