//! `mcp-connect up PROFILE`: runs a route headless through the engine's route runner, and
//! prints the route's status each time it changes (with cause and fix when it is not serving),
//! the pod's or router's log, and what else the runner reports, one line each.

use std::io::{self, Write};
use std::process::ExitCode;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cli::HealthInterval;
use crate::clientconfig::Launcher;
use crate::probe::MonitorOptions;
use crate::profile::Catalog;
use crate::supervisor::{Phase, RouteEvent, RunOptions, Runner};

use super::{find_profile, wait_for_shutdown};

mod lines;

pub use lines::{json_line, text_line};

/// Finds the profile named `name` and gives its run; a name that finds none is reported here,
/// before anything runs.
pub fn start(
    catalog: &Catalog,
    name: &str,
    options: RunOptions,
    json: bool,
    health: HealthInterval,
    launcher: Launcher,
) -> Result<impl Future<Output = ExitCode>, ExitCode> {
    let profile = find_profile(catalog, name)?;
    let health = health.0.map(|interval| MonitorOptions { interval, ..Default::default() });
    let runner = Runner { profile: profile.clone(), options, launcher, health };
    Ok(run(runner, json))
}

/// Runs the route until Ctrl-C or SIGTERM (exit 0) or until it fails (exit 1).
pub async fn run(runner: Runner, json: bool) -> ExitCode {
    let (tx, mut rx) = mpsc::channel(1024);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(runner.run(tx, cancel.clone()));
    let shutdown = wait_for_shutdown();
    tokio::pin!(shutdown);
    let mut out = io::stdout().lock();
    let mut code = ExitCode::SUCCESS;
    loop {
        let event = tokio::select! {
            () = &mut shutdown, if !cancel.is_cancelled() => {
                cancel.cancel();
                continue;
            }
            event = rx.recv() => event,
        };
        let Some(event) = event else { break };
        // The status is news; the rest comes one per connection or check.
        match &event {
            RouteEvent::Status(status) => tracing::info!(?status, "route"),
            event => tracing::debug!(?event, "route"),
        }
        if let RouteEvent::Status(status) = &event
            && status.phase == Phase::Failed
        {
            code = ExitCode::from(1);
        }
        let line = if json { json_line(&event).map(|v| v.to_string()) } else { text_line(&event) };
        let Some(line) = line else { continue };
        // A closed stdout stops the run.
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            cancel.cancel();
        }
    }
    let _ = task.await;
    code
}
