//! A route's events as `up` prints them: the status when it changes (`serving: …`,
//! `down: CAUSE` with `  fix: FIX`), logs, and notes; one JSON object per line with `--json`.
//! Latency samples and the detail events the status already tells are not printed; a burst of
//! one per-connection event is its first line and then one with a count (`"repeated": N`).

use serde_json::{Value, json};

use crate::forward::ForwardEvent;
use crate::probe::ProbeEvent;
use crate::supervisor::router::{GatewayRow, RouterEvent};
use crate::supervisor::{Phase, RouteEvent, RouteStatus};

/// The event as one line of text (two for a cause and its fix); `None` for what is not printed.
pub fn text_line(event: &RouteEvent) -> Option<String> {
    Some(match event {
        RouteEvent::Status(status) => status_text(status),
        RouteEvent::Forward(event) => match event {
            ForwardEvent::PodLog { pod, line } => format!("log [{pod}] {line}"),
            ForwardEvent::ConnectionError { trouble, .. } => {
                format!("connection error: {}\n  fix: {}", trouble.cause, trouble.fix)
            }
            ForwardEvent::ConnectionLost { message, .. } => format!("connection lost: {message}"),
            ForwardEvent::Refused { message, .. } => format!("refused: {message}"),
            ForwardEvent::Warning { message } => format!("warning: {message}"),
            ForwardEvent::State(_)
            | ForwardEvent::PodClosed { .. }
            | ForwardEvent::Answered { .. } => {
                return None;
            }
        },
        RouteEvent::Repeated { event, more } => {
            let line = text_line(&RouteEvent::Forward(event.clone()))?;
            let (first, fix) = line.split_once('\n').map_or((&*line, None), |(a, b)| (a, Some(b)));
            let fix = fix.map(|fix| format!("\n{fix}")).unwrap_or_default();
            format!("{first} (and {more} more like it within a second){fix}")
        }
        RouteEvent::Probe(ProbeEvent::Note(note)) => format!("health: {note}"),
        RouteEvent::Probe(_) => return None,
        RouteEvent::Router(event) => match event {
            RouterEvent::Started { pid, command } => {
                format!("router: started (pid {pid}): {command}")
            }
            RouterEvent::Log(line) => format!("log [router] {line}"),
            RouterEvent::Gateways { rows, .. } => format!("gateways: {}", gateways_text(rows)),
            // The status tells them.
            RouterEvent::Exited { .. } => return None,
        },
    })
}

fn status_text(status: &RouteStatus) -> String {
    let phase = status.phase.as_str();
    if status.phase == Phase::Stopped {
        return phase.to_owned();
    }
    if let Some(trouble) = &status.trouble {
        return format!("{phase}: {}\n  fix: {}", trouble.cause, trouble.fix);
    }
    let at = status.url.as_deref().unwrap_or_default();
    let pod = status.pod.as_ref().map(|p| format!(" (pod {p})")).unwrap_or_default();
    match (&status.server, status.phase) {
        (Some(s), _) => {
            let note = s.note.as_ref().map(|n| format!("\n  note: {n}")).unwrap_or_default();
            format!(
                "{phase}: {at}{pod} — {} {} ({}, protocol {}, {} tools){note}",
                s.name, s.version, s.transport, s.protocol, s.tools
            )
        }
        (None, Phase::Serving) => format!("{phase}: {at}{pod} ({})", status.evidence),
        (None, _) => format!("{phase}: {}", status.evidence),
    }
}

fn gateways_text(rows: &[GatewayRow]) -> String {
    let row = |g: &GatewayRow| {
        let state = serde_json::to_value(g.state).ok();
        let state = state.as_ref().and_then(Value::as_str).unwrap_or("?").to_owned();
        match &g.last_failure {
            Some(why) if state != "healthy" => format!("{} {state} ({why})", g.url),
            _ => format!("{} {state}", g.url),
        }
    };
    rows.iter().map(row).collect::<Vec<_>>().join(", ")
}

/// The event as one JSON object; `None` for what is not printed. The status line is
/// `{"event":"status","phase":…,"cause":…,"fix":…,"evidence":…,"url":…,"pod":…,"server":…}`.
pub fn json_line(event: &RouteEvent) -> Option<Value> {
    Some(match event {
        RouteEvent::Status(s) => json!({
            "event": "status",
            "phase": s.phase,
            "cause": s.trouble.as_ref().map(|t| &t.cause),
            "fix": s.trouble.as_ref().map(|t| &t.fix),
            "evidence": s.evidence,
            "url": s.url,
            "pod": s.pod,
            "server": s.server,
        }),
        RouteEvent::Forward(event) => match event {
            ForwardEvent::PodLog { pod, line } => json!({"event": "log", "pod": pod, "line": line}),
            ForwardEvent::ConnectionError { pod, trouble } => json!({
                "event": "connection-error", "pod": pod, "cause": trouble.cause, "fix": trouble.fix,
            }),
            ForwardEvent::ConnectionLost { pod, message } => {
                json!({"event": "connection-lost", "pod": pod, "message": message})
            }
            ForwardEvent::Refused { pod, message } => {
                json!({"event": "refused", "pod": pod, "message": message})
            }
            ForwardEvent::Warning { message } => json!({"event": "warning", "message": message}),
            ForwardEvent::State(_)
            | ForwardEvent::PodClosed { .. }
            | ForwardEvent::Answered { .. } => {
                return None;
            }
        },
        RouteEvent::Repeated { event, more } => {
            let mut line = json_line(&RouteEvent::Forward(event.clone()))?;
            line["repeated"] = json!(more);
            line
        }
        RouteEvent::Probe(ProbeEvent::Note(note)) => {
            json!({"event": "health-note", "message": note})
        }
        RouteEvent::Probe(_) => return None,
        RouteEvent::Router(event) => match event {
            RouterEvent::Started { pid, command } => {
                json!({"event": "router-started", "pid": pid, "command": command})
            }
            RouterEvent::Log(line) => json!({"event": "log", "pod": "router", "line": line}),
            RouterEvent::Gateways { rows, .. } => json!({
                "event": "gateways",
                "gateways": rows.iter().map(|g| json!({
                    "pool": g.pool, "url": g.url, "state": g.state,
                    "last_failure": g.last_failure,
                })).collect::<Vec<_>>(),
            }),
            // The status tells them.
            RouterEvent::Exited { .. } => return None,
        },
    })
}
