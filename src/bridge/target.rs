//! The endpoint a profile names, as the bridge reaches it: URL, TLS (a pin, a CA file or the
//! system's roots; never off unless the profile says `verify: false`), and the hints that make
//! a diagnosis exact.

use super::rpc::{NO_ROUTE, Problem};
use crate::net::Target;
use crate::probe::diagnose::Hints;
use crate::probe::from_profile;
use crate::profile::{Profile, Transport};
use crate::supervisor::RunOptions;

/// The target of `profile`'s local endpoint (the options' local port overriding a forward's),
/// always streamable HTTP, with the profile's credentials. `Err` when the bridge cannot relay
/// to it at all.
pub fn of(profile: &Profile, options: &RunOptions) -> Result<(Target, Hints), Problem> {
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
    let (mut target, hints) = from_profile::target(profile, options.local_port, options.kube())
        .map_err(|trouble| Problem { code: NO_ROUTE, trouble })?;
    // The gateway's envelope protocol is carried as the profile says; MCP itself always goes
    // as streamable HTTP.
    if !target.transport.is_envelope() {
        target.transport = Transport::StreamableHttp;
    }
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
        let (target, hints) = of(&profile, &RunOptions::default()).unwrap();
        assert_eq!(target.url.as_str(), "https://127.0.0.1:8443/mcp");
        let moved = RunOptions { local_port: Some(18443), ..RunOptions::default() };
        let (moved, _) = of(&profile, &moved).unwrap();
        assert_eq!(moved.url.as_str(), "https://127.0.0.1:18443/mcp");
        assert!(!target.tls.insecure);
        assert!(target.auth.is_some(), "the JWT is minted per connection");
        assert!(hints.forwarded);
        assert_eq!(hints.profile.as_deref(), Some("gateway-port-forward"));
    }
}
