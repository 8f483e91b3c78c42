use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use mcp_connect::cli::{Cli, Command};
use mcp_connect::clientconfig::Launcher;
use mcp_connect::commands::{self, report};
use mcp_connect::lab::world::{LabOptions, SerenaBackend};
use mcp_connect::paths::Dirs;
use mcp_connect::profile::{Catalog, ProfileStore, Source, UserDir};
use mcp_connect::supervisor::RunOptions;
use mcp_connect::{kubeconfig, logging, probe};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let dirs = match Dirs::discover() {
        Ok(dirs) => dirs,
        Err(err) => return report(&err, err.fix()),
    };
    // The router's stderr is its log (the TUI shows it); every other command keeps stderr for
    // its own lines.
    let mirror = matches!(cli.command, Command::Router { .. });
    let _log_guard = match logging::init(&dirs.logs(), cli.log_level.into(), mirror) {
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
    match cli.command {
        Command::Profiles { json } => {
            let kube = kubeconfig::load(cli.kubeconfig.as_deref());
            let mut out = io::stdout().lock();
            let result =
                commands::profiles::run(&catalog, &kube, cli.context.as_deref(), json, &mut out)
                    .and_then(|valid| out.flush().map(|()| valid));
            match result {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                // `mcp-connect profiles | head` is not an error.
                Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(err) => report(&err, "check that stdout is writable"),
            }
        }
        Command::Up { profile, local_port, json, health_interval } => {
            let profile = match commands::find_profile(&catalog, &profile) {
                Ok(profile) => profile,
                Err(code) => return code,
            };
            let options = RunOptions { local_port, ..chosen.clone() };
            let health = health_interval
                .0
                .map(|interval| probe::MonitorOptions { interval, ..Default::default() });
            runtime().block_on(commands::up::run(profile, options, json, health))
        }
        Command::Probe {
            url,
            profile,
            local_port,
            headers,
            ca,
            insecure,
            transport,
            timeout,
            json,
        } => {
            let (mut target, hints) = match (url, profile) {
                (Some(url), _) => (mcp_connect::net::Target::new(url), probe::Hints::default()),
                (None, Some(name)) => {
                    let profile = match commands::find_profile(&catalog, &name) {
                        Ok(profile) => profile,
                        Err(code) => return code,
                    };
                    let kube = chosen.kube();
                    match probe::from_profile::target(profile, local_port, kube) {
                        Ok(found) => found,
                        Err(err) => return report(&err.cause, &err.fix),
                    }
                }
                (None, None) => return report(&"no URL or --profile", "name what to probe"),
            };
            if !matches!(target.url.scheme(), "http" | "https") {
                let cause = format!("{} is not an http:// or https:// URL", target.url);
                return report(
                    &cause,
                    "give the MCP endpoint's URL, e.g. http://127.0.0.1:8080/mcp",
                );
            }
            for header in &headers {
                if let Err(cause) = target.add_header(header) {
                    return report(&cause, "write each --header as 'Name: value'");
                }
            }
            for file in &ca {
                if let Err(cause) = target.tls.add_ca_file(file) {
                    return report(&cause, "give --ca a PEM file of CA certificates");
                }
            }
            target.tls.insecure |= insecure;
            if let Some(transport) = transport {
                target.transport = transport.into();
            }
            target.timeout = timeout;
            runtime().block_on(commands::probe::run(target, hints, json))
        }
        Command::Config(command) => {
            commands::config::run(command, &catalog, &dirs.state, &launcher)
        }
        Command::Tui => {
            let launch = commands::tui::over_kubeconfig(
                &catalog,
                cli.kubeconfig.clone(),
                cli.context.clone(),
                &dirs.state,
                ProfileStore::new(user_dir.path().to_owned(), &dirs.state),
                dirs.certs(),
                launcher,
            );
            match launch {
                Ok(launch) => runtime().block_on(commands::tui::run(launch)),
                Err(code) => code,
            }
        }
        Command::Demo { serena } => {
            let serena = match serena {
                true => SerenaBackend::RealSerena { program: "serena".into() },
                false => SerenaBackend::Reference,
            };
            let options = LabOptions { serena, ..LabOptions::default() };
            runtime().block_on(commands::demo::run(&dirs.state, options))
        }
        Command::Token { profile, headers } => {
            let profile = match commands::find_profile(&catalog, &profile) {
                Ok(profile) => profile,
                Err(code) => return code,
            };
            let kube = chosen.kube();
            runtime().block_on(commands::token::run(profile, kube, headers))
        }
        Command::Trust { profile, yes } => {
            let from = catalog.get(&profile).and_then(|entry| match &entry.source {
                Source::User(file) => Some(file.as_path()),
                Source::BuiltIn { .. } => None,
            });
            let profile = match commands::find_profile(&catalog, &profile) {
                Ok(profile) => profile,
                Err(code) => return code,
            };
            let args = commands::trust::TrustArgs {
                profile,
                from,
                options: chosen.clone(),
                yes,
                store: ProfileStore::new(user_dir.path().to_owned(), &dirs.state),
                certs: &dirs.certs(),
            };
            runtime().block_on(commands::trust::run(args))
        }
        Command::Bridge { profile, local_port } => {
            let profile = match commands::find_profile(&catalog, &profile) {
                Ok(profile) => profile,
                Err(code) => return code,
            };
            let options = RunOptions { local_port, ..chosen.clone() };
            runtime().block_on(commands::bridge::run(profile, options))
        }
        Command::Lab { serena } => {
            let serena = match serena {
                true => SerenaBackend::RealSerena { program: "serena".into() },
                false => SerenaBackend::Reference,
            };
            let options = LabOptions { serena, ..LabOptions::default() };
            runtime().block_on(commands::lab::run(options))
        }
        Command::Router { profile, config, local_port } => {
            let options = RunOptions { local_port, ..chosen.clone() };
            let from = match (&config, &profile) {
                (Some(file), _) => commands::router::Settings::File(file),
                (None, Some(name)) => match commands::find_profile(&catalog, name) {
                    Ok(profile) => commands::router::Settings::Profile(profile),
                    Err(code) => return code,
                },
                (None, None) => return report(&"no PROFILE or --config", "name what to run"),
            };
            runtime().block_on(commands::router::run(from, options))
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the async runtime starts")
}
