//! `mcp-connect demo`: the lab, and the TUI pointed at it. Configs go into a demo project and
//! a demo home under the state directory — never into the user's real Claude Code config.

use std::path::Path;
use std::process::ExitCode;

use crate::clientconfig::{Launcher, Writer};
use crate::lab::world::{Lab, LabOptions};
use crate::profile::{Catalog, Link, ProfileStore, UserDir};
use crate::supervisor::hub::Command;
use crate::tui::panes::header::Header;

use super::report;
use super::tui::Launch;

/// The demo's profiles are the built-ins and what `e` saved in earlier demos, never the user's.
pub async fn run(state: &Path, options: LabOptions) -> ExitCode {
    let demo = state.join("demo");
    let store = ProfileStore::new(demo.join("profiles"), &demo.join("state"));
    let catalog = match Catalog::load(&UserDir::Default(store.dir.clone())) {
        Ok(catalog) => catalog,
        Err(err) => return report(&err, &err.fix()),
    };
    let lab = match Lab::start(options).await {
        Ok(lab) => lab,
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
