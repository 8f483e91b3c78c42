//! The endpoint a profile names, as the bridge reaches it: URL, TLS (a pin, a CA file or the
//! system's roots; never off unless the profile says `verify: false`), and the hints that make
//! a diagnosis exact.

use super::rpc::{NO_ROUTE, Problem};
use crate::probe::Target;
use crate::probe::diagnose::Hints;
use crate::probe::jwt::Expected;
use crate::profile::{Auth, Link, Profile, Transport};

/// The target of `profile`'s local endpoint (`local_port` overriding a forward's port). `Err`
/// when the bridge cannot relay to it at all.
pub fn of(profile: &Profile, local_port: Option<u16>) -> Result<(Target, Hints), Problem> {
    if profile.endpoint.transport == Transport::Sse {
        return Err(Problem::new(
            NO_ROUTE,
            format!(
                "profile {} speaks the legacy HTTP+SSE transport, which the bridge does not relay",
                profile.name
            ),
            "set `endpoint.transport: streamable-http` (or auto): Serena and the gateway serve \
             it at /mcp",
        ));
    }
    let mut url = profile.local_endpoint();
    if let Some(port) = local_port.filter(|_| matches!(profile.link, Link::PortForward(_))) {
        let _ = url.set_port(Some(port));
    }
    let mut target = Target::new(url);
    target.transport = Transport::StreamableHttp;
    if let Some(tls) = &profile.tls {
        if let Some(ca) = &tls.ca_file {
            target.tls.add_ca_file(ca).map_err(|cause| {
                Problem::new(
                    NO_ROUTE,
                    cause,
                    format!("fix `tls.ca_file` in profile {}", profile.name),
                )
            })?;
        }
        target.tls.pin_sha256 = tls.pin_sha256.as_ref().map(ToString::to_string);
        target.tls.insecure = !tls.verify;
    }
    let jwt = match &profile.auth {
        Auth::Jwt(jwt) => {
            Expected { issuer: jwt.issuer.to_string(), audience: jwt.audience.to_string() }
        }
        Auth::None | Auth::Bearer(_) => Expected::default(),
    };
    let hints = Hints {
        profile: Some(profile.name.to_string()),
        forwarded: matches!(profile.link, Link::PortForward(_)),
        jwt,
    };
    Ok((target, hints))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Catalog;

    #[test]
    fn the_gateway_route_keeps_tls_verification_on() {
        let catalog = Catalog::builtin();
        let profile = catalog.get("gateway-port-forward").unwrap().profile.clone().unwrap();
        let (target, hints) = of(&profile, None).unwrap();
        assert_eq!(target.url.as_str(), "https://127.0.0.1:8443/mcp");
        let (moved, _) = of(&profile, Some(18443)).unwrap();
        assert_eq!(moved.url.as_str(), "https://127.0.0.1:18443/mcp");
        assert!(!target.tls.insecure);
        assert!(hints.forwarded);
        assert_eq!(hints.profile.as_deref(), Some("gateway-port-forward"));
    }
}
