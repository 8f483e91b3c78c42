//! The MCP health probe: a real handshake over streamable HTTP or legacy SSE, latency, and a
//! diagnosis naming cause and fix when the URL is not a working MCP endpoint.
//!
//! - [`check`]: one full probe: on a 2026-07-28 server `server/discover` and `tools/list`; on
//!   an older one (found when `server/discover` is refused) initialize, initialized,
//!   tools/list, ping, DELETE.
//! - [`monitor::monitor`]: live health of a running route, as [`monitor::ProbeEvent`]s.
//!
//! Engine code: plain data out, no terminal.

pub mod diagnose;
mod envelope;
pub mod failure;
pub mod from_profile;
pub mod jwt;
mod legacy;
pub mod monitor;
pub mod rpc;
pub mod session;
pub mod stats;
mod streamable;

use std::time::{Duration, Instant};

use crate::net::{CertInfo, Http, Target};
use crate::trouble::Trouble;

pub use diagnose::Hints;
pub use monitor::{Health, MonitorOptions, ProbeEvent, monitor};
pub use session::{Era, Handshake, Session, Wire};

/// A healthy endpoint, as one probe found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub url: String,
    pub handshake: Handshake,
    pub tools: usize,
    /// initialize + notifications/initialized; for a 2026 server, `server/discover`.
    pub handshake_time: Duration,
    pub tools_list_time: Duration,
    /// The liveness round trip: `ping`; for a 2026 server (no `ping`), `server/discover`.
    pub ping_time: Duration,
    /// The certificate, for https URLs.
    pub certificate: Option<CertInfo>,
    /// Set when verification was off and the certificate would have been refused.
    pub tls_warning: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Healthy(Box<Report>),
    Unhealthy { url: String, diagnosis: Trouble },
}

/// Probes `target` once. `Err` only when the probe itself cannot be set up (TLS settings).
pub async fn check(target: &Target, hints: &Hints) -> Result<Outcome, String> {
    let url = target.url.to_string();
    let mut target = target.clone();
    if let Err(diagnosis) = target.authorize().await {
        return Ok(Outcome::Unhealthy { url, diagnosis });
    }
    let target = &target;
    let http = Http::new(target)?;
    match run(&http, target).await {
        Ok(report) => Ok(Outcome::Healthy(Box::new(report))),
        Err(failure) => {
            let diagnosis = diagnose::diagnose(&http, target, &failure, hints).await;
            Ok(Outcome::Unhealthy { url, diagnosis })
        }
    }
}

async fn run(http: &Http, target: &Target) -> Result<Report, failure::Failure> {
    let started = Instant::now();
    let mut session = Session::open(http, target).await?;
    let handshake_time = started.elapsed();
    let measured = async {
        let (tools, tools_list_time) = session.tool_count().await?;
        // A 2026 server has no ping; its liveness round trip was the discover.
        let ping_time = match session.era() {
            session::Era::Modern => handshake_time,
            session::Era::Initialize => session.ping().await?,
        };
        Ok::<_, failure::Failure>((tools, tools_list_time, ping_time))
    }
    .await;
    let handshake = session.handshake.clone();
    session.close().await;
    let (tools, tools_list_time, ping_time) = measured?;
    let seen = http.seen.last();
    let tls_warning = seen.as_ref().and_then(|s| s.refusal.as_ref()).map(|refusal| {
        format!(
            "TLS verification is OFF (--insecure): this certificate would have been refused \
             ({refusal:?}); anyone on the path can read and change the traffic"
        )
    });
    Ok(Report {
        url: target.url.to_string(),
        handshake,
        tools,
        handshake_time,
        tools_list_time,
        ping_time,
        certificate: seen.map(|s| s.cert),
        tls_warning,
    })
}
