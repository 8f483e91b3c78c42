//! The probe target a profile describes: its local endpoint, transport, credentials and TLS.

use super::diagnose::Hints;
use super::http::Target;
use super::jwt::Expected;
use crate::auth::{KubeAccess, Tokens};
use crate::profile::Profile;
use crate::profile::{Auth, Link};

/// Why a profile cannot be probed as it stands: cause and fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotProbeable {
    pub cause: String,
    pub fix: String,
}

/// `local_port` overrides the profile's, as `up --local-port` does; `kube` is where a JWT's
/// signing secret is read from.
pub fn target(
    profile: &Profile,
    local_port: Option<u16>,
    kube: KubeAccess,
) -> Result<(Target, Hints), NotProbeable> {
    let mut url = profile.local_endpoint();
    if let Some(port) = local_port {
        let _ = url.set_port(Some(port));
    }
    let mut target = Target::new(url);
    target.transport = profile.endpoint.transport;
    let mut hints = Hints {
        profile: Some(profile.name.to_string()),
        forwarded: matches!(profile.link, Link::PortForward(_)),
        jwt: Expected::default(),
    };
    match &profile.auth {
        Auth::None => {}
        Auth::Bearer(bearer) => {
            let var = bearer.env.to_string();
            let token = std::env::var(&var).map_err(|_| NotProbeable {
                cause: format!(
                    "profile {} takes its bearer token from ${var}, which is not set",
                    profile.name
                ),
                fix: format!("export {var}=<token> and run again"),
            })?;
            target.add_header(&format!("Authorization: Bearer {}", token.trim())).map_err(
                |_| NotProbeable {
                    cause: format!("${var} holds characters a header cannot carry"),
                    fix: format!("set {var} to the bare token, without quotes or newlines"),
                },
            )?;
        }
        Auth::Jwt(jwt) => {
            hints.jwt =
                Expected { issuer: jwt.issuer.to_string(), audience: jwt.audience.to_string() };
            target.auth = Tokens::for_profile(profile, kube);
        }
    }
    if let Some(tls) = &profile.tls {
        if let Some(ca) = &tls.ca_file {
            target.tls.add_ca_file(ca).map_err(|cause| NotProbeable {
                cause,
                fix: format!("fix `tls.ca_file` in profile {}", profile.name),
            })?;
        }
        target.tls.pin_sha256 = tls.pin_sha256.as_ref().map(|pin| pin.to_string());
        target.tls.insecure = !tls.verify;
    }
    Ok((target, hints))
}
