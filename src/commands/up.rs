//! `mcp-connect up PROFILE`: runs a profile's link headless, one line per event.

use std::io::{self, Write};
use std::process::ExitCode;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cli::HealthInterval;
use crate::forward::{ForwardEvent, ForwardState};
use crate::probe::{self, MonitorOptions};
use crate::profile::{Catalog, Profile};
use crate::supervisor::{self, Plan, RunOptions};

use super::{find_profile, health, report, wait_for_shutdown};

/// Finds the profile named `name` and gives its run; a name that finds none is reported here,
/// before anything runs.
pub fn start(
    catalog: &Catalog,
    name: &str,
    options: RunOptions,
    json: bool,
    health: HealthInterval,
) -> Result<impl Future<Output = ExitCode>, ExitCode> {
    let profile = find_profile(catalog, name)?;
    let health = health.0.map(|interval| MonitorOptions { interval, ..Default::default() });
    Ok(run(profile, options, json, health))
}

/// `health`: watch the route's MCP endpoint once it listens, and print its state changes.
pub async fn run(
    profile: &Profile,
    options: RunOptions,
    json: bool,
    health: Option<MonitorOptions>,
) -> ExitCode {
    let (spec, context) = match supervisor::plan(profile, &options) {
        Plan::Forward { spec, context } => (spec, context),
        Plan::Direct { url } => {
            let event = json!({"event": "ready", "url": url, "pod": null});
            let line = if json {
                event.to_string()
            } else {
                format!("ready: {url} (direct: nothing runs locally)")
            };
            println!("{line}");
            return ExitCode::SUCCESS;
        }
        Plan::Router => {
            let cause =
                format!("profile {} is a router route, which `up` does not run", profile.name);
            let fix = format!(
                "run `mcp-connect router {}` (or start it in `mcp-connect tui`, which watches and \
                 restarts it)",
                profile.name
            );
            return report(&cause, &fix);
        }
    };
    let (tx, mut rx) = mpsc::channel(1024);
    let cancel = CancellationToken::new();
    let forward = tokio::spawn(supervisor::run_forward(
        spec,
        context,
        options.kubeconfig.clone(),
        tx,
        cancel.clone(),
    ));
    let shutdown = wait_for_shutdown();
    tokio::pin!(shutdown);
    let (mut code, mut stopping) = (ExitCode::SUCCESS, false);
    let mut out = io::stdout().lock();
    let (health_tx, mut health_rx) = mpsc::channel(64);
    // Taken when the monitor starts, so that it starts once.
    let mut health = health.map(|options| (options, health_tx));
    loop {
        let event = tokio::select! {
            _ = &mut shutdown, if !stopping => {
                stopping = true;
                cancel.cancel();
                continue;
            }
            Some(event) = health_rx.recv(), if !stopping => {
                tracing::info!(?event, "health");
                let line = if json {
                    health::json_line(&event).map(|v| v.to_string())
                } else {
                    health::text_line(&event)
                };
                if let Some(line) = line {
                    emit(&mut out, &line, &cancel);
                }
                continue;
            }
            event = rx.recv() => event,
        };
        let Some(event) = event else { break };
        tracing::info!(?event, "forward");
        // Routine (idle connections closed by the server): logged, not printed.
        if matches!(event, ForwardEvent::PodClosed { .. }) {
            continue;
        }
        let line = if json { json_line(&event).to_string() } else { text_line(&event) };
        emit(&mut out, &line, &cancel);
        if let ForwardEvent::State(ForwardState::Listening { .. }) = &event
            && let Some((monitor_options, tx)) = health.take()
        {
            match probe::from_profile::target(profile, options.local_port, options.kube()) {
                Ok((target, hints)) => {
                    let monitor_options = MonitorOptions { hints, ..monitor_options };
                    tokio::spawn(probe::monitor(target, monitor_options, tx, cancel.clone()));
                }
                Err(why) => {
                    let line = if json {
                        json!({"event": "warning", "message": format!("health not watched: {}", why.cause)})
                            .to_string()
                    } else {
                        format!("warning: health not watched: {}", why.cause)
                    };
                    emit(&mut out, &line, &cancel);
                }
            }
        }
        match event {
            ForwardEvent::State(ForwardState::Failed { .. }) => {
                code = ExitCode::from(1);
                cancel.cancel();
                break;
            }
            ForwardEvent::State(ForwardState::Stopped) => break,
            _ => {}
        }
    }
    let _ = forward.await;
    code
}

/// Writes one line; a closed stdout stops the run.
fn emit(out: &mut impl Write, line: &str, cancel: &CancellationToken) {
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        cancel.cancel();
    }
}

/// The event as one line of text.
pub fn text_line(event: &ForwardEvent) -> String {
    match event {
        ForwardEvent::State(state) => match state {
            ForwardState::Starting => "starting: connecting to the cluster".into(),
            ForwardState::WaitingForPod { .. } => format!("waiting: {}", state.hint()),
            ForwardState::Listening { url, pod } => format!("ready: {url} (pod {pod})"),
            ForwardState::Reconnecting { why } => format!("reconnecting: {why}"),
            ForwardState::Failed(t) => format!("failed: {}\n  fix: {}", t.cause, t.fix),
            ForwardState::Stopped => "stopped".into(),
        },
        ForwardEvent::PodLog { pod, line } => format!("log [{pod}] {line}"),
        ForwardEvent::ConnectionError { pod, message } if pod.is_empty() => {
            format!("connection error: {message}")
        }
        ForwardEvent::ConnectionError { pod, message } => {
            format!("connection error [{pod}]: {message}")
        }
        ForwardEvent::Warning { message } => format!("warning: {message}"),
        ForwardEvent::PodClosed { pod } => format!("closed by the pod's side [{pod}]"),
    }
}

/// The event as one JSON object; the line that matters is `{"event":"ready","url":…,"pod":…}`.
pub fn json_line(event: &ForwardEvent) -> Value {
    match event {
        ForwardEvent::State(state) => match state {
            ForwardState::Starting => json!({"event": "starting"}),
            ForwardState::WaitingForPod { service, namespace, selector } => json!({
                "event": "waiting", "service": service, "namespace": namespace, "selector": selector,
                "hint": state.hint(),
            }),
            ForwardState::Listening { url, pod } => {
                json!({"event": "ready", "url": url, "pod": pod})
            }
            ForwardState::Reconnecting { why } => json!({"event": "reconnecting", "why": why}),
            ForwardState::Failed(t) => json!({"event": "failed", "cause": t.cause, "fix": t.fix}),
            ForwardState::Stopped => json!({"event": "stopped"}),
        },
        ForwardEvent::PodLog { pod, line } => json!({"event": "log", "pod": pod, "line": line}),
        ForwardEvent::ConnectionError { pod, message } => {
            json!({"event": "connection-error", "pod": pod, "message": message})
        }
        ForwardEvent::Warning { message } => json!({"event": "warning", "message": message}),
        ForwardEvent::PodClosed { pod } => json!({"event": "pod-closed", "pod": pod}),
    }
}
