//! `mcp-connect demo`: the lab, and the TUI pointed at it. Configs go into a demo project and
//! a demo home under the state directory — never into the user's real Claude Code config.

use std::path::Path;
use std::process::ExitCode;

use crate::clientconfig::{Launcher, Writer};
use crate::lab::world::{Lab, LabOptions};
use crate::profile::{BaseUrl, Catalog, Link, ProfileStore, Sha256Pin, UserDir};
use crate::supervisor::hub::Command;
use crate::trouble::Trouble;
use crate::tui::panes::header::Header;

use super::tui::Launch;
use super::{fail, report};

/// The demo's profiles are the built-ins and what `e` saved in earlier demos, never the user's;
/// the gateway routes are pointed at the lab's gateway and pin its certificate.
pub async fn run(state: &Path, options: LabOptions) -> ExitCode {
    let demo = state.join("demo");
    let store = ProfileStore::new(demo.join("profiles"), &demo.join("state"));
    let lab = match Lab::start(options).await {
        Ok(lab) => lab,
        Err(err) => return report(&err, &err.fix()),
    };
    if let Err(err) = gateway_routes(&lab, &store) {
        return fail(&err);
    }
    let catalog = match Catalog::load(&UserDir::Default(store.dir.clone())) {
        Ok(catalog) => catalog,
        Err(err) => return report(&err, &err.fix()),
    };
    let (home, project) = (demo.join("home"), demo.join("project"));
    for dir in [&home, &project] {
        if let Err(err) = std::fs::create_dir_all(dir) {
            return report(
                &format!("{}: {err}", dir.display()),
                "check that the state directory is writable",
            );
        }
    }
    // Free local ports, so the demo never collides with a forward the user already runs.
    let setup = catalog
        .entries()
        .iter()
        .filter_map(|e| e.profile.as_ref().ok())
        .filter(|p| !matches!(p.link, Link::Direct(_)))
        .filter_map(|p| {
            let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
            Some(Command::Override {
                profile: p.name.to_string(),
                context: None,
                local_port: Some(port),
            })
        })
        .collect();
    let launch = Launch {
        catalog: &catalog,
        kubeconfig: Some(lab.kubeconfig().to_path_buf()),
        header: Header {
            kubeconfig_files: vec![lab.kubeconfig().to_path_buf()],
            current_context: Some("lab".to_owned()),
            contexts: vec!["lab".to_owned()],
        },
        writer: Writer::new(&home, &demo.join("state")),
        launcher: Launcher::current(vec![
            "--kubeconfig".to_owned(),
            lab.kubeconfig().display().to_string(),
            "--profiles".to_owned(),
            demo.join("profiles").display().to_string(),
        ]),
        profiles: store,
        certs: demo.join("certs"),
        project_dir: project.clone(),
        setup,
    };
    let code = super::tui::run(launch).await;
    drop(lab);
    println!(
        "demo: Claude Code configs were written under {} (project) and {} (home); edited \
         profiles under {}",
        project.display(),
        home.display(),
        demo.join("profiles").display()
    );
    code
}

/// Routes 2, 3 and 4 against this lab: its gateway's certificate pinned (the demo knows it is
/// the lab's own), and route 3's LoadBalancer address and route 4's pool replaced by the
/// gateway's. Rewritten at every start, since each lab has its own address and certificate.
fn gateway_routes(lab: &Lab, store: &ProfileStore) -> Result<(), Trouble> {
    let broken = |cause: String| Trouble { cause, fix: "report this as a bug".to_owned() };
    let pin = Sha256Pin::try_from(lab.gateway.fingerprint_sha256.as_str()).map_err(broken)?;
    let url = BaseUrl::try_from(lab.gateway.url.as_str()).map_err(broken)?;
    for name in ["gateway-port-forward", "gateway-loadbalancer"] {
        let builtin = Catalog::builtin().get(name).and_then(|e| e.profile.clone().ok());
        let Some(mut profile) = builtin else { continue };
        if let Link::Direct(direct) = &mut profile.link {
            direct.url = url.clone();
        }
        if let Some(tls) = &mut profile.tls {
            tls.pin_sha256 = Some(pin.clone());
        }
        save(store, &profile)?;
    }
    // Route 4: the router's pool is the lab's gateway, its certificate pinned, its JWT signed
    // with the lab's Secret as route 2's is.
    let builtin = |name| Catalog::builtin().get(name).and_then(|e| e.profile.clone().ok());
    if let (Some(mut router), Some(route_2)) = (builtin("router"), builtin("gateway-port-forward"))
    {
        if let Link::Router(link) = &mut router.link {
            for gateway in link.gateway_pools.iter_mut().flat_map(|p| p.gateways.iter_mut()) {
                gateway.url = url.clone();
            }
        }
        if let Some(tls) = &mut router.tls {
            tls.pin_sha256 = Some(pin);
        }
        router.auth = route_2.auth;
        save(store, &router)?;
    }
    Ok(())
}

fn save(store: &ProfileStore, profile: &crate::profile::Profile) -> Result<(), Trouble> {
    let file = store.dir.join(format!("{}.yaml", profile.name));
    let from = file.exists().then_some(file.as_path());
    store.save(profile, from).map(drop)
}
