//! `mcp-connect bridge PROFILE`: the stdio MCP server Claude Code launches. Stdout is the
//! protocol channel: only JSON-RPC lines go there; everything for the human goes to stderr.

use std::process::ExitCode;

use crate::bridge::{self, stdio};
use crate::profile::{Catalog, Profile};
use crate::supervisor::RunOptions;

use super::{fail, find_profile, wait_for_shutdown};

/// Finds the profile named `name` and gives the bridge to it; a name that finds none is
/// reported here, before anything runs.
pub fn start(
    catalog: &Catalog,
    name: &str,
    options: RunOptions,
) -> Result<impl Future<Output = ExitCode>, ExitCode> {
    Ok(run(find_profile(catalog, name)?, options))
}

/// Exit 0 when the client closes stdin or a signal ends it; 2 when the profile cannot be
/// bridged at all (reported on stderr).
pub async fn run(profile: &Profile, options: RunOptions) -> ExitCode {
    let input = stdio::stdin_lines();
    match bridge::run(profile, options, input, std::io::stdout(), wait_for_shutdown()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => fail(&problem.trouble),
    }
}
