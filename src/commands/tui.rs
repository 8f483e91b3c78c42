//! `mcp-connect tui` and `demo`: the engine in tasks, the terminal face on top.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::clientconfig::{Launcher, Writer};
use crate::paths::Dirs;
use crate::probe::MonitorOptions;
use crate::profile::{Catalog, ProfileStore};
use crate::supervisor::hub::{self, Command, HubOptions};
use crate::tui::app::App;
use crate::tui::panes::header::Header;
use crate::tui::theme::Theme;

use super::report;

/// What the screen runs over.
pub struct Launch<'c> {
    pub catalog: &'c Catalog,
    pub kubeconfig: Option<PathBuf>,
    pub header: Header,
    pub writer: Writer,
    /// Where `e` saves changed profiles.
    pub profiles: ProfileStore,
    /// Where `p` keeps pinned certificates.
    pub certs: PathBuf,
    /// How written entries start mcp-connect.
    pub launcher: Launcher,
    /// Where project-scope configs go.
    pub project_dir: PathBuf,
    /// Sent to the engine before the first frame (e.g. the demo's free local ports).
    pub setup: Vec<Command>,
    /// Told in the log when the screen opens (e.g. a saved port the demo could not use).
    pub notes: Vec<String>,
}

/// The screen over the user's kubeconfig and `--context`, with the state and certificates under
/// `dirs`, ready to run; what stops it first is reported here, before anything runs.
pub fn start(
    catalog: &Catalog,
    kubeconfig: Option<&Path>,
    context: Option<&str>,
    dirs: &Dirs,
    profiles: ProfileStore,
    launcher: Launcher,
) -> Result<impl Future<Output = ExitCode>, ExitCode> {
    let (kubeconfig, context) = (kubeconfig.map(Path::to_owned), context.map(str::to_owned));
    let certs = dirs.certs();
    over_kubeconfig(catalog, kubeconfig, context, &dirs.state, profiles, certs, launcher).map(run)
}

/// The screen over the user's kubeconfig (`--kubeconfig`, `$KUBECONFIG`, `~/.kube/config`),
/// writing configs for the current directory's project and the user's own Claude Code files.
pub fn over_kubeconfig<'c>(
    catalog: &'c Catalog,
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    state: &Path,
    profiles: ProfileStore,
    certs: PathBuf,
    launcher: Launcher,
) -> Result<Launch<'c>, ExitCode> {
    // A missing kubeconfig is not fatal here: the screen shows each route's error and fix.
    let header = match crate::kubeconfig::load(kubeconfig.as_deref()) {
        Ok(loaded) => Header {
            kubeconfig_files: loaded.files.clone(),
            current_context: context.clone().or(loaded.current_context().map(str::to_owned)),
            contexts: loaded.contexts().map(str::to_owned).collect(),
        },
        Err(_) => Header::default(),
    };
    let (Ok(home), Ok(project_dir)) = (etcetera::home_dir(), std::env::current_dir()) else {
        return Err(report(&"cannot find the home or current directory", "set HOME"));
    };
    let setup = match context {
        Some(context) => catalog
            .entries()
            .iter()
            .map(|e| Command::Override {
                profile: e.name.clone(),
                context: Some(context.clone()),
                local_port: None,
            })
            .collect(),
        None => Vec::new(),
    };
    let writer = Writer::new(&home, state);
    Ok(Launch {
        catalog,
        kubeconfig,
        header,
        writer,
        profiles,
        certs,
        launcher,
        project_dir,
        setup,
        notes: Vec::new(),
    })
}

pub async fn run(launch: Launch<'_>) -> ExitCode {
    let profiles = launch.catalog.entries().iter().filter_map(|e| e.profile.clone().ok()).collect();
    let claude_home = launch.writer.home().to_path_buf();
    let options = HubOptions {
        kubeconfig: launch.kubeconfig,
        monitor: MonitorOptions::default(),
        writer: Some(launch.writer),
        profiles: Some(launch.profiles),
        certs: Some(launch.certs),
        launcher: launch.launcher.clone(),
    };
    let (commands, events, engine) = hub::spawn(profiles, options);
    let mut app =
        App::from_catalog(launch.catalog, launch.header, launch.project_dir, Theme::from_env());
    app.set_launcher(launch.launcher);
    app.set_claude_home(claude_home);
    for note in launch.notes {
        app.note_in_log(note);
    }
    for command in launch.setup {
        // The screen shows what the engine runs: the same ports and contexts.
        app.preset(&command);
        if commands.send(command).await.is_err() {
            return report(&"the engine stopped before the screen opened", "see the log file");
        }
    }
    let result = crate::tui::run::run(app, commands, events).await;
    // The command channel is closed now: the engine stops every route and ends.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(6), engine).await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => report(&format!("the terminal failed: {err}"), "run it in a terminal (a TTY)"),
    }
}
