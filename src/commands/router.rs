//! `mcp-connect router --config FILE | PROFILE`: the local router in front of pools of
//! gateways, serving standard MCP at `http://127.0.0.1:PORT/mcp` until Ctrl-C or SIGTERM.

use std::path::Path;
use std::process::ExitCode;

use crate::profile::{Catalog, Profile};
use crate::router::RouterSettings;
use crate::router::config;
use crate::supervisor::RunOptions;
use crate::trouble::Trouble;

use super::{fail, find_profile, report, wait_for_shutdown};

/// Chooses the settings (`--config`'s file over the profile named `profile`) and gives the
/// router's run; a name that finds no profile is reported here, before anything runs.
pub fn start<'a>(
    catalog: &'a Catalog,
    profile: Option<&str>,
    config: Option<&'a Path>,
    options: RunOptions,
) -> Result<impl Future<Output = ExitCode>, ExitCode> {
    let from = match (config, profile) {
        (Some(file), _) => Settings::File(file),
        (None, Some(name)) => Settings::Profile(find_profile(catalog, name)?),
        (None, None) => return Err(report(&"no PROFILE or --config", "name what to run")),
    };
    Ok(run(from, options))
}

/// Where the router's settings come from.
#[derive(Debug, Clone, Copy)]
pub enum Settings<'a> {
    /// The seed's `router-config.yaml` shape.
    File(&'a Path),
    /// A profile with `link: router`.
    Profile(&'a Profile),
}

/// The settings, with `options.local_port` over the file's or profile's port.
pub fn resolve(from: Settings<'_>, options: &RunOptions) -> Result<RouterSettings, Trouble> {
    match from {
        Settings::File(path) => {
            let mut settings = config::from_file(path)?;
            if let Some(port) = options.local_port {
                settings.listen.set_port(port);
            }
            Ok(settings)
        }
        Settings::Profile(profile) => config::from_profile(profile, options),
    }
}

/// Exit 0 once a signal has stopped it; 2 when it cannot start (reported on stderr).
pub async fn run(from: Settings<'_>, options: RunOptions) -> ExitCode {
    let settings = match resolve(from, &options) {
        Ok(settings) => settings,
        Err(err) => return fail(&err),
    };
    // The signal handlers are installed at the first poll: before the line is printed, so that
    // a SIGTERM sent as soon as it is read stops the router rather than killing the process.
    let shutdown = wait_for_shutdown();
    tokio::pin!(shutdown);
    if futures::poll!(shutdown.as_mut()).is_ready() {
        return ExitCode::SUCCESS;
    }
    let pools = settings.pools.len();
    let gateways: usize = settings.pools.iter().map(|pool| pool.gateways.len()).sum();
    // Bound first, so that the line is only printed once clients can connect.
    let router = match crate::router::start(settings).await {
        Ok(router) => router,
        Err(err) => return fail(&err),
    };
    eprintln!(
        "router: serving {} ({gateways} gateway{} in {pools} pool{})",
        router.url(),
        plural(gateways),
        plural(pools)
    );
    shutdown.await;
    router.shutdown().await;
    ExitCode::SUCCESS
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
