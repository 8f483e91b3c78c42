//! Live health events as lines, for `up`: a line when the state changes or something is worth
//! noting. Latency samples are not printed one by one; the TUI draws them.

use serde_json::{Value, json};

use crate::probe::{Health, ProbeEvent};

/// The event as one line of text; `None` for what is not printed.
pub fn text_line(event: &ProbeEvent) -> Option<String> {
    match event {
        ProbeEvent::Health(Health::Healthy { server, wire, tools }) => Some(format!(
            "health: healthy, {} {} ({}, protocol {}, {tools} tools)",
            server.name,
            server.version,
            wire.as_str(),
            server.protocol_version
        )),
        ProbeEvent::Health(Health::Slow { server, threshold, .. }) => Some(format!(
            "health: slow, {} answers pings in over {} ms",
            server.name,
            threshold.as_millis()
        )),
        ProbeEvent::Health(Health::Down(d)) => {
            Some(format!("health: down: {}\n  fix: {}", d.cause, d.fix))
        }
        ProbeEvent::Note(note) => Some(format!("health: {note}")),
        ProbeEvent::Latency(_) => None,
    }
}

/// The event as one JSON object; `None` for what is not printed.
pub fn json_line(event: &ProbeEvent) -> Option<Value> {
    let server = |s: &crate::probe::rpc::ServerInfo| json!({"name": s.name, "version": s.version});
    match event {
        ProbeEvent::Health(Health::Healthy { server: s, wire, tools }) => Some(json!({
            "event": "health", "state": "healthy", "server": server(s),
            "protocol": s.protocol_version, "transport": wire.as_str(), "tools": tools,
        })),
        ProbeEvent::Health(Health::Slow { server: s, wire, tools, threshold }) => Some(json!({
            "event": "health", "state": "slow", "server": server(s),
            "protocol": s.protocol_version, "transport": wire.as_str(), "tools": tools,
            "threshold_ms": threshold.as_millis(),
        })),
        ProbeEvent::Health(Health::Down(d)) => {
            Some(json!({"event": "health", "state": "down", "cause": d.cause, "fix": d.fix}))
        }
        ProbeEvent::Note(note) => Some(json!({"event": "health-note", "message": note})),
        ProbeEvent::Latency(_) => None,
    }
}
