//! `mcp-connect probe URL | --profile NAME`: one probe, as text or JSON.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Value, json};

use crate::net::{CertInfo, Target};
use crate::probe::{self, Hints, Outcome};

use super::report;

pub async fn run(target: Target, hints: Hints, json: bool) -> ExitCode {
    let outcome = match probe::check(&target, &hints).await {
        Ok(outcome) => outcome,
        Err(cause) => return report(&cause, "check the --ca file and the TLS settings"),
    };
    tracing::info!(url = %target.url, healthy = matches!(outcome, Outcome::Healthy(_)), "probe");
    let text = if json { json_text(&outcome).to_string() } else { human_text(&outcome) };
    if let Outcome::Healthy(report) = &outcome
        && let Some(warning) = &report.tls_warning
    {
        eprintln!("warning: {warning}");
    }
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
    match outcome {
        Outcome::Healthy(_) => ExitCode::SUCCESS,
        Outcome::Unhealthy { .. } => ExitCode::from(1),
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

pub fn human_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Healthy(r) => {
            let s = &r.handshake.server;
            let mut lines = vec![
                format!("healthy: {}", r.handshake.url),
                format!("  server     {} {}", s.name, s.version),
                format!("  protocol   {}", s.protocol_version),
                format!("  transport  {}", r.handshake.wire.as_str()),
                format!("  tools      {}", r.tools),
                format!(
                    "  latency    handshake {:.1} ms, tools/list {:.1} ms, ping {:.1} ms",
                    ms(r.handshake_time),
                    ms(r.tools_list_time),
                    ms(r.ping_time)
                ),
            ];
            if let Some(cert) = &r.certificate {
                lines.push(format!("  tls        {} (issuer {})", cert.subject, cert.issuer));
                lines.push(format!("  sha-256    {}", cert.sha256));
            }
            lines.join("\n")
        }
        Outcome::Unhealthy { url, diagnosis } => {
            format!("unhealthy: {url}\n  cause  {}\n  fix    {}", diagnosis.cause, diagnosis.fix)
        }
    }
}

pub fn json_text(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Healthy(r) => {
            let s = &r.handshake.server;
            json!({
                "healthy": true,
                "url": r.handshake.url,
                "server": {"name": s.name, "version": s.version},
                "protocol": s.protocol_version,
                "transport": r.handshake.wire.as_str(),
                "tools": r.tools,
                "latency_ms": {
                    "handshake": ms(r.handshake_time),
                    "tools_list": ms(r.tools_list_time),
                    "ping": ms(r.ping_time),
                },
                "certificate": r.certificate.as_ref().map(cert_json),
                "tls_warning": r.tls_warning,
            })
        }
        Outcome::Unhealthy { url, diagnosis } => json!({
            "healthy": false,
            "url": url,
            "cause": diagnosis.cause,
            "fix": diagnosis.fix,
        }),
    }
}

fn cert_json(cert: &CertInfo) -> Value {
    serde_json::to_value(cert).unwrap_or(Value::Null)
}
