//! `mcp-connect bridge PROFILE`: the stdio MCP server Claude Code launches. Stdout is the
//! protocol channel: only JSON-RPC lines go there; everything for the human goes to stderr.

use std::process::ExitCode;

use crate::bridge::{self, stdio};
use crate::clientconfig::Launcher;
use crate::profile::{Catalog, Profile};
use crate::supervisor::RunOptions;

use super::{fail, find_profile, wait_for_shutdown};

/// Finds the profile named `name` and gives the bridge to it; a name that finds none is
/// reported here, before anything runs.
pub fn start(
    catalog: &Catalog,
    name: &str,
    options: RunOptions,
    launcher: Launcher,
) -> Result<impl Future<Output = ExitCode>, ExitCode> {
    Ok(run(find_profile(catalog, name)?, options, launcher))
}

/// Exit 0 when the client closes stdin or a signal ends it; 2 when the profile cannot be
/// bridged at all (reported on stderr).
pub async fn run(profile: &Profile, options: RunOptions, launcher: Launcher) -> ExitCode {
    let input = stdio::stdin_lines();
    let output = std::io::stdout();
    match bridge::run(profile, options, &launcher, input, output, wait_for_shutdown()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => fail(&problem.trouble),
    }
}
