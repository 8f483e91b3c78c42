use std::process::ExitCode;

use clap::Parser;

use mcp_connect::cli::{Cli, Command};
use mcp_connect::clientconfig::Launcher;
use mcp_connect::commands::{self, report};
use mcp_connect::logging;
use mcp_connect::paths::Dirs;
use mcp_connect::profile::{Catalog, ProfileStore, UserDir};
use mcp_connect::supervisor::RunOptions;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let dirs = match Dirs::discover() {
        Ok(dirs) => dirs,
        Err(err) => return report(&err, err.fix()),
    };
    // The router's stderr is its log (the TUI shows it); every other command keeps stderr for
    // its own lines.
    let mirror = matches!(cli.command, Command::Router { .. });
    let _log_guard =
        match logging::init(&dirs.logs(), cli.log_level.into(), mirror, cli.log_retention()) {
            Ok(guard) => Some(guard),
            Err(err) => {
                eprintln!("warning: not logging to {}: {err}", dirs.logs().display());
                None
            }
        };
    let user_dir = match &cli.profiles_dir {
        Some(dir) => UserDir::Explicit(dir.clone()),
        None => UserDir::Default(dirs.profiles()),
    };
    let catalog = match Catalog::load(&user_dir) {
        Ok(catalog) => catalog,
        Err(err) => return report(&err, &err.fix()),
    };
    for error in catalog.errors() {
        tracing::warn!(%error, "profile not loaded");
    }

    // How entries written now start mcp-connect later, from Claude Code.
    let launcher = Launcher::current(cli.global_args());
    // The cluster chosen on the command line; commands add their local port.
    let chosen = cli.run_options(None);
    let options = |local_port| RunOptions { local_port, ..chosen.clone() };
    let store = ProfileStore::new(user_dir.path().to_owned(), &dirs.state);
    let (kubeconfig, context) = (cli.kubeconfig.as_deref(), cli.context.as_deref());
    match cli.command {
        Command::Profiles { json, wide } => {
            commands::profiles::print(&catalog, kubeconfig, context, json, wide)
        }
        Command::Up { profile, local_port, json, health_interval } => {
            let options = options(local_port);
            run(commands::up::start(&catalog, &profile, options, json, health_interval, launcher))
        }
        Command::Probe(args) => run(commands::probe::start(&catalog, args, chosen.kube())),
        Command::Config(command) => {
            commands::config::run(command, &catalog, &dirs.state, &launcher)
        }
        Command::Tui => {
            run(commands::tui::start(&catalog, kubeconfig, context, &dirs, store, launcher))
        }
        Command::Demo { serena, eras } => {
            let options = commands::lab::options(serena, eras.into());
            runtime().block_on(commands::demo::run(&dirs.state, options))
        }
        Command::Token { profile, headers } => {
            run(commands::token::start(&catalog, &profile, chosen.kube(), headers))
        }
        Command::Trust { profile, yes } => {
            let certs = dirs.certs();
            run(commands::trust::start(&catalog, &profile, options(None), yes, store, &certs))
        }
        Command::Bridge { profile, local_port } => {
            run(commands::bridge::start(&catalog, &profile, options(local_port), launcher))
        }
        Command::Lab { serena, eras, write_profiles } => {
            let options = commands::lab::options(serena, eras.into());
            runtime().block_on(commands::lab::run(options, write_profiles, &dirs.state))
        }
        Command::Router { profile, config, local_port } => {
            let (profile, config) = (profile.as_deref(), config.as_deref());
            run(commands::router::start(&catalog, profile, config, options(local_port)))
        }
    }
}

/// Runs a command's future to its exit code, or passes on the code of the error that stopped
/// it before it started.
fn run(command: Result<impl Future<Output = ExitCode>, ExitCode>) -> ExitCode {
    match command {
        Ok(future) => runtime().block_on(future),
        Err(code) => code,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the async runtime starts")
}
