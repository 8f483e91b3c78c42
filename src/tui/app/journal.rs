//! What each engine event says in the log pane: one tagged line (two for a config write), none
//! for latency samples and a router's gateways, which the health and detail panes show instead.

use crate::forward::{ForwardEvent, ForwardState};
use crate::probe::{Outcome, ProbeEvent};
use crate::supervisor::RouteStatus;
use crate::supervisor::hub::{Event, RouteEvent};
use crate::supervisor::router::RouterEvent;
use crate::tui::panes::logs::{LogLine, Source};
use crate::tui::route::millis;

/// The log lines for `event`.
pub fn lines(event: &Event) -> Vec<LogLine> {
    match event {
        Event::Route { profile, event } => route(profile, event).into_iter().collect(),
        Event::Diagnosis { profile, outcome } => {
            let text = match outcome {
                Ok(Outcome::Healthy(report)) => format!(
                    "diagnose: healthy at {}: {} {} ({}, {} tools, ping {})",
                    report.url,
                    report.handshake.server.name,
                    report.handshake.server.version,
                    report.handshake.wire.as_str(),
                    report.tools,
                    millis(report.ping_time)
                ),
                Ok(Outcome::Unhealthy { url, diagnosis }) => {
                    format!("diagnose: {url}: {diagnosis}")
                }
                Err(why) => format!("diagnose could not start: {why}"),
            };
            vec![LogLine::new(Source::Probe, Some(profile), text)]
        }
        Event::Config { profile, result } => {
            let line = |text: String| LogLine::new(Source::Config, Some(profile), text);
            match result {
                Ok(w) if w.dry_run => {
                    vec![line(format!(
                        "{}: would be {} (preview)",
                        w.file.display(),
                        w.outcome.as_str()
                    ))]
                }
                Ok(w) => {
                    let backup = w
                        .backup
                        .as_ref()
                        .map(|b| format!("; backup {}", b.display()))
                        .unwrap_or_default();
                    vec![
                        line(format!("{}: {}{backup}", w.file.display(), w.outcome.as_str())),
                        line(format!("same with the claude CLI: {}", w.claude_command)),
                    ]
                }
                Err(refused) => {
                    vec![line(format!("refused: {}", refused.trouble))]
                }
            }
        }
        Event::ProfileSaved { profile, result } => {
            let text = match result {
                Ok(saved) => {
                    let backup = saved
                        .backup
                        .as_ref()
                        .map(|b| format!("; the file before is kept as {}", b.display()))
                        .unwrap_or_default();
                    format!("profile saved as {}{backup}", saved.file.display())
                }
                Err(refused) => {
                    format!("profile not saved: {}", refused.trouble)
                }
            };
            vec![LogLine::new(Source::Engine, Some(profile), text)]
        }
        Event::Certificate { profile, result } => {
            let text = match result {
                Ok(c) => format!(
                    "certificate of {}: {}, SHA-256 {}; {}",
                    c.url,
                    c.cert.subject,
                    c.cert.sha256,
                    match (&c.refusal, c.pinned) {
                        (_, true) => "pinned".to_owned(),
                        (None, false) => "trusted by this machine".to_owned(),
                        (Some(why), false) => format!("not trusted: {why}"),
                    }
                ),
                Err(refused) => {
                    format!("certificate not read: {}", refused.trouble)
                }
            };
            vec![LogLine::new(Source::Probe, Some(profile), text)]
        }
        Event::ShutDown => vec![LogLine::new(Source::Engine, None, "every route stopped")],
    }
}

fn route(profile: &str, event: &RouteEvent) -> Option<LogLine> {
    let (source, text) = match event {
        RouteEvent::Status(status) => (Source::Engine, status_line(status)),
        RouteEvent::Forward(event) => match event {
            // The status says what the state means for the route.
            ForwardEvent::State(ForwardState::Stopped) => return None,
            ForwardEvent::State(state) => (Source::Forward, state.hint()),
            ForwardEvent::PodLog { pod, line } => (Source::Pod, format!("[{pod}] {line}")),
            ForwardEvent::ConnectionError { trouble, .. } => {
                (Source::Forward, format!("a new connection failed: {trouble}"))
            }
            ForwardEvent::ConnectionLost { message, .. } => (Source::Forward, message.clone()),
            ForwardEvent::Refused { message, .. } => (Source::Forward, message.clone()),
            ForwardEvent::Warning { message } => (Source::Forward, format!("warning: {message}")),
            // Routine on its own; the health check it triggers says whether it mattered.
            ForwardEvent::PodClosed { .. } | ForwardEvent::Answered { .. } => return None,
        },
        RouteEvent::Repeated { event, more } => {
            let mut line = route(profile, &RouteEvent::Forward(event.clone()))?;
            line.text = format!("{} (and {more} more like it within a second)", line.text);
            return Some(line);
        }
        RouteEvent::Probe(event) => (
            Source::Probe,
            match event {
                // The status says what a check means for the route.
                ProbeEvent::Health(_) | ProbeEvent::Latency(_) => return None,
                ProbeEvent::Note(note) => note.clone(),
            },
        ),
        RouteEvent::Router(event) => (
            Source::Router,
            match event {
                RouterEvent::Started { pid, command } => format!("started (pid {pid}): {command}"),
                RouterEvent::Log(line) => line.clone(),
                // The detail pane shows them; the router's own log says when one goes or
                // comes back.
                RouterEvent::Gateways { .. } => return None,
                RouterEvent::Exited { cause, restart_in } => {
                    format!("{cause}; starting it again in {}", millis(*restart_in))
                }
            },
        ),
    };
    Some(LogLine::new(source, Some(profile), text))
}

/// `serving: Serena 0.1 at http://…`, `down: CAUSE; fix: FIX`.
fn status_line(status: &RouteStatus) -> String {
    let phase = status.phase.as_str();
    match (&status.trouble, &status.server, &status.url) {
        (Some(trouble), _, _) => format!("{phase}: {trouble}"),
        (None, Some(server), Some(url)) => {
            format!("{phase}: {} {} at {url}", server.name, server.version)
        }
        (None, _, _) => format!("{phase}: {}", status.evidence),
    }
}
