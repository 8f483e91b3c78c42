//! `mcp-connect demo`: the lab, and the TUI pointed at it. Configs go into a demo project and
//! a demo home under the state directory — never into the user's real Claude Code config.

use std::path::Path;
use std::process::ExitCode;

use crate::clientconfig::{Launcher, Writer};
use crate::lab::mcp::Eras;
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
    let options_eras = options.eras;
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
    let (setup, mut notes) = local_ports(&catalog);
    if options_eras != Eras::Both {
        notes.push(format!("the lab's Serena is the {}", lab.serena_backend()));
    }
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
        notes,
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

/// The local port each route of the demo serves on: the one saved with `e` when it is free
/// (said when it is not), else a free one, so that the demo never collides with a forward the
/// user already runs on a built-in's port. Answers the overrides and what to tell the user.
fn local_ports(catalog: &Catalog) -> (Vec<Command>, Vec<String>) {
    let (mut setup, mut notes) = (Vec::new(), Vec::new());
    let builtins = Catalog::builtin();
    let profiles = catalog.entries().iter().filter_map(|e| e.profile.as_ref().ok());
    for profile in profiles.filter(|p| !matches!(p.link, Link::Direct(_))) {
        let name = profile.name.to_string();
        let builtin = builtins.get(&name).and_then(|e| e.profile.as_ref().ok());
        let default = builtin.and_then(|b| b.local_endpoint().port());
        let saved = profile.local_endpoint().port().filter(|port| Some(*port) != default);
        if let Some(port) = saved {
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                continue;
            }
            notes.push(format!("{name}: port {port}, saved with e, is in use; using another"));
        }
        let free = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr());
        if let Ok(free) = free {
            let port = Some(free.port());
            setup.push(Command::Override { profile: name, context: None, local_port: port });
        }
    }
    (setup, notes)
}

/// Routes 2, 3 and 4 against this lab: its gateway's certificate pinned (the demo knows it is
/// the lab's own), and route 3's LoadBalancer address and route 4's pool replaced by the
/// gateway's. Rewritten at every start, since each lab has its own address and certificate.
pub(super) fn gateway_routes(lab: &Lab, store: &ProfileStore) -> Result<(), Trouble> {
    let broken = |cause: String| Trouble { cause, fix: "report this as a bug".to_owned() };
    let pin = Sha256Pin::try_from(lab.gateway.fingerprint_sha256.as_str()).map_err(broken)?;
    let url = BaseUrl::try_from(lab.gateway.url.as_str()).map_err(broken)?;
    // What `e` saved in an earlier demo is kept; the lab's address and pin are renewed.
    let saved = Catalog::load(&UserDir::Default(store.dir.clone())).ok();
    let existing = |name: &str| {
        let saved = saved.as_ref().and_then(|c| c.get(name)).and_then(|e| e.profile.clone().ok());
        saved.or_else(|| Catalog::builtin().get(name).and_then(|e| e.profile.clone().ok()))
    };
    for name in ["gateway-port-forward", "gateway-loadbalancer"] {
        let Some(mut profile) = existing(name) else { continue };
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
    if let (Some(mut router), Some(route_2)) = (existing("router"), builtin("gateway-port-forward"))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo's catalog with serena-direct saved on `port`.
    fn saved_on(port: u16) -> (tempfile::TempDir, Catalog) {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "name: serena-direct\ntitle: t\nlink:\n  port_forward:\n    namespace: mcp\n    \
             service: serena-mcp\n    remote_port: 8080\n    local_port: {port}\n"
        );
        std::fs::write(dir.path().join("serena-direct.yaml"), text).unwrap();
        let catalog = Catalog::load(&UserDir::Default(dir.path().to_owned())).unwrap();
        (dir, catalog)
    }

    fn port_of(setup: &[Command], name: &str) -> Option<u16> {
        setup.iter().find_map(|c| match c {
            Command::Override { profile, local_port, .. } if profile == name => *local_port,
            _ => None,
        })
    }

    #[test]
    fn a_port_saved_with_e_is_used_when_free_and_said_when_not() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (_dir, catalog) = saved_on(port);
        let (setup, notes) = local_ports(&catalog);
        assert_eq!(port_of(&setup, "serena-direct"), None, "its own port: no override");
        assert!(notes.is_empty(), "{notes:?}");
        // The built-ins' own ports are never taken as chosen: each gets a free one.
        assert!(port_of(&setup, "gateway-port-forward").is_some_and(|p| p != 8443));
        assert!(port_of(&setup, "router").is_some());

        let busy = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let (setup, notes) = local_ports(&catalog);
        let other = port_of(&setup, "serena-direct").expect("another port");
        assert_ne!(other, port);
        assert_eq!(
            notes,
            [format!("serena-direct: port {port}, saved with e, is in use; using another")]
        );
        drop(busy);
    }
}
