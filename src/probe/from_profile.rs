//! The probe target a profile describes: its local endpoint, transport, credentials and TLS.

use super::diagnose::Hints;
use super::jwt::Expected;
use crate::auth::{KubeAccess, Tokens};
use crate::net::Target;
use crate::profile::Profile;
use crate::profile::{Auth, Link, Transport};
use crate::trouble::Trouble;

/// `local_port` overrides the port a forward or router serves on, as `up --local-port` does;
/// credentials (a JWT minted from the secret `kube` reaches, or a ready bearer token) are put
/// into [`Target::auth`], to be sent fresh with every connection.
pub fn target(
    profile: &Profile,
    local_port: Option<u16>,
    kube: KubeAccess,
) -> Result<(Target, Hints), Trouble> {
    let mut url = profile.local_endpoint();
    if let Some(port) = local_port.filter(|_| !matches!(profile.link, Link::Direct(_))) {
        let _ = url.set_port(Some(port));
    }
    let mut target = Target::new(url);
    // The router holds the gateways' credentials and TLS; its own face is plain local MCP.
    if matches!(profile.link, Link::Router(_)) {
        target.transport = Transport::StreamableHttp;
        let hints = Hints { profile: Some(profile.name.to_string()), ..Hints::default() };
        return Ok((target, hints));
    }
    target.transport = profile.endpoint.transport;
    target.auth = Tokens::for_profile(profile, kube);
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
    if let Some(tls) = &profile.tls {
        if let Some(ca) = &tls.ca_file {
            target.tls.add_ca_file(ca).map_err(|cause| Trouble {
                cause,
                fix: format!("fix `tls.ca_file` in profile {}", profile.name),
            })?;
        }
        target.tls.pin_sha256 = tls.pin_sha256.as_ref().map(|pin| pin.to_string());
        target.tls.insecure = !tls.verify;
    }
    Ok((target, hints))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Catalog;

    #[test]
    fn the_router_is_probed_at_its_own_face_without_the_gateways_credentials_or_tls() {
        let router = Catalog::builtin().get("router").unwrap().profile.clone().unwrap();
        let (target, hints) = target(&router, Some(18080), KubeAccess::default()).unwrap();
        assert_eq!(target.url.as_str(), "http://127.0.0.1:18080/mcp");
        assert!(target.auth.is_none(), "no JWT goes to the router");
        assert_eq!(target.tls.pin_sha256, None);
        assert!(!target.tls.insecure);
        assert_eq!(target.transport, Transport::StreamableHttp);
        assert!(!hints.forwarded);
    }
}
