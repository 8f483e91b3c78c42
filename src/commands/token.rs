//! `mcp-connect token PROFILE [--headers]`: the profile's current token on stdout, for
//! scripts and for Claude Code's `headersHelper`. Nothing is written to any file.

use std::io::{self, Write};
use std::process::ExitCode;

use crate::auth::{Bearer, KubeAccess, Tokens};
use crate::profile::{Catalog, Profile};

use super::{fail, find_profile, report};

/// Finds the profile named `name` and gives the printing of its token; a name that finds none
/// is reported here, before anything runs.
pub fn start(
    catalog: &Catalog,
    name: &str,
    kube: KubeAccess,
    headers: bool,
) -> Result<impl Future<Output = ExitCode>, ExitCode> {
    Ok(run(find_profile(catalog, name)?, kube, headers))
}

pub async fn run(profile: &Profile, kube: KubeAccess, headers: bool) -> ExitCode {
    let Some(tokens) = Tokens::for_profile(profile, kube) else {
        let cause = format!("profile {} needs no token (it has auth: none)", profile.name);
        return report(
            &cause,
            "connect to it without one, or ask for the token of a profile with auth: jwt or \
             bearer (e.g. gateway-port-forward)",
        );
    };
    let bearer = match tokens.bearer().await {
        Ok(bearer) => bearer,
        Err(err) => return fail(&err),
    };
    let text = if headers { headers_json(&bearer) } else { bearer.token().to_owned() };
    let mut out = io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => report(&err, "check that stdout is writable"),
    }
}

/// `{"Authorization":"Bearer …"}`: what a `headersHelper` prints.
pub fn headers_json(bearer: &Bearer) -> String {
    serde_json::json!({ "Authorization": bearer.header_value() }).to_string()
}
