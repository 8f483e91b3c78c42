//! What each engine event says in the log pane: one tagged line (two for a config write), none
//! for latency samples and a router's gateways, which the health and detail panes show instead.
//! A pod's line says its pod and its time once: the time it starts with becomes the line's.

use jiff::Timestamp;

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
                    let mut lines =
                        vec![line(format!("{}: {}{backup}", w.file.display(), w.outcome.as_str()))];
                    if !w.claude_command.is_empty() {
                        lines.push(line(format!("same with the claude CLI: {}", w.claude_command)));
                    }
                    lines
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
            ForwardEvent::PodLog { pod, line } => return Some(pod_line(profile, pod, line)),
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

/// A line of `pod`'s log. A time it starts with (RFC 3339, as Kubernetes writes it with
/// `timestamps=true` and as many servers log) is taken out and becomes the line's time, and
/// the pod's name right after it is dropped: the pane shows both once.
fn pod_line(profile: &str, pod: &str, line: &str) -> LogLine {
    let (at, rest) = leading_time(line);
    let text = without_name(rest, pod);
    let line = LogLine::new(Source::Pod, Some(profile), text).from_pod(pod);
    match at {
        Some(at) => line.at(at),
        None => line,
    }
}

/// `2026-03-04T05:06:07.123456789Z rest` → the time and `rest`.
fn leading_time(line: &str) -> (Option<Timestamp>, &str) {
    let (first, rest) = line.split_once(' ').unwrap_or((line, ""));
    match first.parse::<Timestamp>() {
        Ok(at) => (Some(at), rest.trim_start()),
        Err(_) => (None, line),
    }
}

/// `POD: rest` or `POD rest` → `rest`; any other line as it is.
fn without_name<'a>(line: &'a str, pod: &str) -> &'a str {
    line.strip_prefix(pod)
        .and_then(|rest| rest.strip_prefix(':').or_else(|| rest.strip_prefix(' ')))
        .map_or(line, str::trim_start)
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

#[cfg(test)]
mod tests {
    use super::*;

    const POD: &str = "serena-mcp-7d9f6b5c4-x2x7q";

    fn pod_event(line: &str) -> Event {
        let event = ForwardEvent::PodLog { pod: POD.to_owned(), line: line.to_owned() };
        Event::Route { profile: "serena-direct".to_owned(), event: RouteEvent::Forward(event) }
    }

    #[test]
    fn a_pod_line_says_its_pod_and_its_time_once() {
        let lines = lines(&pod_event(&format!(
            "2026-03-04T05:06:07.123456789Z {POD}: readiness probe succeeded"
        )));
        let at: Timestamp = "2026-03-04T05:06:07.123456789Z".parse().unwrap();
        let expected =
            LogLine::new(Source::Pod, Some("serena-direct"), "readiness probe succeeded")
                .from_pod(POD)
                .at(at);
        assert_eq!(lines, [expected]);
    }

    #[test]
    fn a_pod_line_with_no_time_of_its_own_keeps_its_words() {
        let [line] = lines(&pod_event("INFO  POST /mcp 200")).try_into().unwrap();
        assert_eq!(
            (line.at, line.pod.as_deref(), line.text.as_str()),
            (None, Some(POD), "INFO  POST /mcp 200")
        );
        let [line] = lines(&pod_event("2026-03-04T05:06:07+01:00  INFO a serena-mcp-x line"))
            .try_into()
            .unwrap();
        assert_eq!(line.at, "2026-03-04T04:06:07Z".parse().ok());
        assert_eq!(line.text, "INFO a serena-mcp-x line");
        let [line] = lines(&pod_event(&format!("{POD}x: not this pod's name"))).try_into().unwrap();
        assert_eq!(line.text, format!("{POD}x: not this pod's name"));
    }
}
