//! `mcp-connect probe URL | --profile NAME`: one probe, as text or JSON.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Value, json};

use crate::auth::KubeAccess;
use crate::cli::ProbeArgs;
use crate::net::{CertInfo, Target};
use crate::probe::{self, Era, Hints, Outcome};
use crate::profile::Catalog;

use super::{fail, find_profile, report};

/// Builds the target from the flags, then gives the probe to run; a target that cannot be
/// built is reported here, before anything runs.
pub fn start(
    catalog: &Catalog,
    args: ProbeArgs,
    kube: KubeAccess,
) -> Result<impl Future<Output = ExitCode>, ExitCode> {
    let json = args.json;
    let (target, hints) = target(catalog, args, kube)?;
    Ok(run(target, hints, json))
}

/// The URL, or `--profile`'s local endpoint with its credentials and TLS settings, with the
/// flags' headers, CA files, transport and timeout on top. `kube` is where a profile's token
/// is read from. Errors are reported on stderr; the exit code is returned.
pub fn target(
    catalog: &Catalog,
    args: ProbeArgs,
    kube: KubeAccess,
) -> Result<(Target, Hints), ExitCode> {
    let (mut target, hints) = match (args.url, args.profile) {
        (Some(url), _) => (Target::new(url), Hints::default()),
        (None, Some(name)) => {
            let profile = find_profile(catalog, &name)?;
            probe::from_profile::target(profile, args.local_port, kube).map_err(|err| fail(&err))?
        }
        (None, None) => return Err(report(&"no URL or --profile", "name what to probe")),
    };
    if !matches!(target.url.scheme(), "http" | "https") {
        let cause = format!("{} is not an http:// or https:// URL", target.url);
        let fix = "give the MCP endpoint's URL, e.g. http://127.0.0.1:8080/mcp";
        return Err(report(&cause, fix));
    }
    for header in &args.headers {
        target
            .add_header(header)
            .map_err(|cause| report(&cause, "write each --header as 'Name: value'"))?;
    }
    for file in &args.ca {
        target
            .tls
            .add_ca_file(file)
            .map_err(|cause| report(&cause, "give --ca a PEM file of CA certificates"))?;
    }
    target.tls.insecure |= args.insecure;
    if let Some(transport) = args.transport {
        target.transport = transport.into();
    }
    target.timeout = args.timeout;
    Ok((target, hints))
}

/// Exit 0 when healthy, 1 when not, 2 when the probe cannot start (reported on stderr).
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
            let (s, h) = (&r.handshake.server, &r.handshake);
            let latency = match h.era {
                Era::Modern => format!(
                    "  latency    server/discover {:.1} ms, tools/list {:.1} ms",
                    ms(r.handshake_time),
                    ms(r.tools_list_time)
                ),
                Era::Initialize => format!(
                    "  latency    handshake {:.1} ms, tools/list {:.1} ms, ping {:.1} ms",
                    ms(r.handshake_time),
                    ms(r.tools_list_time),
                    ms(r.ping_time)
                ),
            };
            let mut lines = vec![
                format!("healthy: {}", h.url),
                format!("  server     {} {}", s.name, s.version),
                format!("  era        {}", era_text(h.era)),
                format!("  protocol   {}", s.protocol_version),
                format!("  transport  {}", h.wire.as_str()),
                format!("  tools      {}", r.tools),
                latency,
            ];
            if h.era == Era::Modern {
                // What server/discover lists; an `initialize` says only the version it chose.
                lines.insert(4, format!("  supports   {}", h.server.supported.join(", ")));
            }
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
            let (s, h) = (&r.handshake.server, &r.handshake);
            let latency = match h.era {
                Era::Modern => json!({
                    "discover": ms(r.handshake_time),
                    "tools_list": ms(r.tools_list_time),
                }),
                Era::Initialize => json!({
                    "handshake": ms(r.handshake_time),
                    "tools_list": ms(r.tools_list_time),
                    "ping": ms(r.ping_time),
                }),
            };
            json!({
                "healthy": true,
                "url": h.url,
                "server": {"name": s.name, "version": s.version},
                "era": h.era.as_str(),
                "protocol": s.protocol_version,
                "supported_versions": h.server.supported,
                "transport": h.wire.as_str(),
                "tools": r.tools,
                "latency_ms": latency,
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

/// The era, and how it was spoken to.
fn era_text(era: Era) -> &'static str {
    match era {
        Era::Modern => "2026-07-28 (server/discover, no session)",
        Era::Initialize => "2025 (initialize, a session)",
    }
}

fn cert_json(cert: &CertInfo) -> Value {
    serde_json::to_value(cert).unwrap_or(Value::Null)
}
