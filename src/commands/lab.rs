//! `mcp-connect lab`: the lab, headless, until SIGINT or SIGTERM.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::lab::kube::seed::{GATEWAY, GATEWAY_SECRET, GATEWAY_SECRET_KEY, NAMESPACE, SERENA};
use crate::lab::mcp::Eras;
use crate::lab::world::{Lab, LabOptions, SerenaBackend};
use crate::profile::ProfileStore;

use super::{report, wait_for_shutdown};

/// The lab `lab` and `demo` start: `serena` (their `--serena`) backs `serena-mcp` with real
/// Serena (`serena` on PATH) instead of the reference server, which speaks `eras`.
pub fn options(serena: bool, eras: Eras) -> LabOptions {
    let serena = match serena {
        true => SerenaBackend::RealSerena { program: "serena".into() },
        false => SerenaBackend::Reference,
    };
    LabOptions { serena, eras, ..LabOptions::default() }
}

pub async fn run(options: LabOptions, profiles: Option<PathBuf>, state: &Path) -> ExitCode {
    let lab = match Lab::start(options).await {
        Ok(lab) => lab,
        Err(err) => return report(&err, &err.fix()),
    };
    if let Some(dir) = profiles {
        let store = ProfileStore::new(dir.clone(), state);
        if let Err(err) = super::demo::gateway_routes(&lab, &store) {
            return super::fail(&err);
        }
        println!("profiles: {} (the gateway routes, pointed at this lab)", dir.display());
    }
    if let Err(err) = describe(&lab, &mut io::stdout().lock()) {
        return report(&err, "check that stdout is writable");
    }
    tracing::info!(kubeconfig = %lab.kubeconfig().display(), "lab ready");
    wait_for_shutdown().await;
    drop(lab);
    ExitCode::SUCCESS
}

fn describe(lab: &Lab, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "kubeconfig: {}", lab.kubeconfig().display())?;
    writeln!(out, "api-server: {} (context lab, namespace {NAMESPACE})", lab.api.url())?;
    writeln!(
        out,
        "service {NAMESPACE}/{SERENA}:8080 -> pod {} ({}, {})",
        lab.seeded.serena_pod,
        lab.serena_backend(),
        lab.serena_url
    )?;
    if lab.server_per_pod() {
        writeln!(
            out,
            "  each pod of {SERENA} runs its own server: a replacement pod (kubectl delete pod) \
             starts with no MCP session, and clients initialize again"
        )?;
    }
    let gateway = &lab.gateway;
    writeln!(
        out,
        "service {NAMESPACE}/{GATEWAY}:8443 -> pod {} (MCP gateway in front of Serena, {}; \
         health {})",
        lab.seeded.gateway_pod,
        gateway.mcp_url(),
        gateway.health_url
    )?;
    writeln!(out, "secret {NAMESPACE}/{GATEWAY_SECRET} (key {GATEWAY_SECRET_KEY})")?;
    writeln!(out, "gateway: {} (route 3's LoadBalancer; MCP at /mcp)", gateway.url)?;
    writeln!(
        out,
        "gateway certificate: self-signed, SHA-256 {} (pin it, or trust the PEM it presents)",
        gateway.fingerprint_sha256
    )?;
    writeln!(out, "lab ready")?;
    out.flush()
}
