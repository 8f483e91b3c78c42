//! The engine behind the TUI: runs any number of routes, one active at a time, and answers
//! commands. Faces send [`Command`]s and read [`Event`]s — plain data both ways; nothing here
//! waits on a face, and no face waits on the network.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::RunOptions;
use super::status::RouteStatus;

mod pin;

pub use super::runner::{RouteEvent, Runner};
use crate::clientconfig::{self, Edit, Entry, Launcher, Op, Scope, Writer};
use crate::probe::{self, MonitorOptions};
use crate::profile::{Profile, ProfileStore};
use crate::trouble::Trouble;
pub use pin::Certificate;

/// What a face asks of the engine. Every answer comes back as [`Event`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Start this route and stop the one active before it (one-key switching).
    Activate(String),
    Stop(String),
    Restart(String),
    /// One full probe of the route's endpoint, with a diagnosis when it fails.
    Diagnose(String),
    /// Write (or with `dry_run` preview) the route's Claude Code entry.
    WriteConfig {
        profile: String,
        scope: Scope,
        name: Option<String>,
        dry_run: bool,
        force: bool,
    },
    /// Run the route in another kubeconfig context / on another local port from now on;
    /// restarts it when it runs.
    Override {
        profile: String,
        context: Option<String>,
        local_port: Option<u16>,
    },
    /// Save a changed profile as a user profile (over `from`, the user file it came from) and
    /// run it from now on, in place of any override; restarts it when it runs.
    SaveProfile {
        profile: Box<Profile>,
        from: Option<PathBuf>,
    },
    /// Show the certificate the route's endpoint presents ([`Event::Certificate`]).
    Inspect(String),
    /// Pin the certificate the route presents in its profile, provided it is still the one
    /// with `sha256` (the one the user saw); answered by [`Event::ProfileSaved`].
    Pin {
        profile: String,
        sha256: String,
        from: Option<PathBuf>,
    },
    /// Stop every route; [`Event::ShutDown`] follows when all have stopped.
    Shutdown,
}

/// What the engine reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Route {
        profile: String,
        event: RouteEvent,
    },
    /// The answer to [`Command::Diagnose`].
    Diagnosis {
        profile: String,
        outcome: Result<probe::Outcome, String>,
    },
    /// The answer to [`Command::WriteConfig`].
    Config {
        profile: String,
        result: Result<ConfigWritten, Refused>,
    },
    /// The answer to [`Command::SaveProfile`].
    ProfileSaved {
        profile: String,
        result: Result<SavedProfile, Refused>,
    },
    /// The answer to [`Command::Inspect`].
    Certificate {
        profile: String,
        result: Result<Certificate, Refused>,
    },
    /// Every route has stopped after [`Command::Shutdown`].
    ShutDown,
}

/// A config change made or previewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWritten {
    pub file: PathBuf,
    pub outcome: clientconfig::Outcome,
    pub diff: String,
    pub dry_run: bool,
    pub backup: Option<PathBuf>,
    /// The same with Claude Code's CLI (empty for another client).
    pub claude_command: String,
}

/// A profile saved and now in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedProfile {
    pub profile: Box<Profile>,
    pub file: PathBuf,
    pub backup: Option<PathBuf>,
    /// The profile took in the session's overrides (an edit), which are dropped; a pin keeps
    /// them.
    pub replaces_overrides: bool,
}

/// Why something was not done: cause and fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub trouble: Trouble,
    /// Forcing would get past it (the entry of that name is not mcp-connect's).
    pub forcible: bool,
}

impl From<Trouble> for Refused {
    fn from(trouble: Trouble) -> Refused {
        Refused { trouble, forcible: false }
    }
}

#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    pub kubeconfig: Option<PathBuf>,
    /// How health is watched once a route runs.
    pub monitor: MonitorOptions,
    /// Where client configs are written (`None`: writing is refused).
    pub writer: Option<Writer>,
    /// Where changed profiles are saved (`None`: saving is refused).
    pub profiles: Option<ProfileStore>,
    /// Where pinned certificates are kept as PEM.
    pub certs: Option<PathBuf>,
    /// How written entries start mcp-connect (the stdio bridge, the token helper).
    pub launcher: Launcher,
}

struct Running {
    cancel: CancellationToken,
    task: JoinHandle<()>,
    /// The route's status as its runner last reported it.
    status: watch::Receiver<RouteStatus>,
}

/// Starts the engine for `profiles`. Drop the command sender or send [`Command::Shutdown`] to
/// end it.
pub fn spawn(
    profiles: Vec<Profile>,
    options: HubOptions,
) -> (mpsc::Sender<Command>, mpsc::Receiver<Event>, JoinHandle<()>) {
    let (commands, command_rx) = mpsc::channel(64);
    let (event_tx, events) = mpsc::channel(4096);
    let (saved, saved_rx) = mpsc::channel(8);
    let hub = Hub {
        profiles,
        options,
        overrides: HashMap::new(),
        running: HashMap::new(),
        active: None,
        events: event_tx,
        saved,
    };
    let task = tokio::spawn(hub.run(command_rx, saved_rx));
    (commands, events, task)
}

struct Hub {
    profiles: Vec<Profile>,
    options: HubOptions,
    overrides: HashMap<String, RunOptions>,
    running: HashMap<String, Running>,
    active: Option<String>,
    events: mpsc::Sender<Event>,
    /// Profiles saved by the engine's own tasks (a pin), to be taken in by the loop.
    saved: mpsc::Sender<(String, Result<SavedProfile, Refused>)>,
}

impl Hub {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut saved: mpsc::Receiver<(String, Result<SavedProfile, Refused>)>,
    ) {
        loop {
            let command = tokio::select! {
                command = commands.recv() => command,
                Some((name, result)) = saved.recv() => {
                    self.adopt(name, result).await;
                    continue;
                }
            };
            let Some(command) = command else { break };
            match command {
                Command::Activate(name) => {
                    if let Some(previous) = self.active.take().filter(|p| *p != name) {
                        self.stop(&previous).await;
                    }
                    if !self.running.contains_key(&name) {
                        self.start(&name);
                    }
                    self.active = Some(name);
                }
                Command::Stop(name) => {
                    self.stop(&name).await;
                    if self.active.as_deref() == Some(&name) {
                        self.active = None;
                    }
                }
                Command::Restart(name) => {
                    self.stop(&name).await;
                    self.start(&name);
                }
                Command::Diagnose(name) => self.diagnose(&name),
                Command::WriteConfig { profile, scope, name, dry_run, force } => {
                    self.write_config(profile, scope, name, dry_run, force);
                }
                Command::Override { profile, context, local_port } => {
                    let options = self.overrides.entry(profile.clone()).or_default();
                    options.context = context.or(options.context.take());
                    options.local_port = local_port.or(options.local_port);
                    if self.running.contains_key(&profile) {
                        self.stop(&profile).await;
                        self.start(&profile);
                    }
                }
                Command::SaveProfile { profile, from } => {
                    self.save_profile(*profile, from).await;
                }
                Command::Inspect(name) => self.inspect(&name),
                Command::Pin { profile, sha256, from } => self.pin(&profile, sha256, from),
                Command::Shutdown => break,
            }
        }
        let names: Vec<String> = self.running.keys().cloned().collect();
        for name in names {
            self.stop(&name).await;
        }
        let _ = self.events.send(Event::ShutDown).await;
    }

    fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name.as_str() == name)
    }

    fn run_options(&self, name: &str) -> RunOptions {
        RunOptions {
            kubeconfig: self.options.kubeconfig.clone(),
            ..self.overrides.get(name).cloned().unwrap_or_default()
        }
    }

    /// Answers a command about a profile the engine does not know, so no face waits forever.
    fn unknown(&self, name: &str) {
        let cause = format!("no profile named {name:?}");
        let fix = "reload the profiles (restart mcp-connect)".to_owned();
        let event = RouteEvent::Status(RouteStatus::failed(Trouble::new(cause, fix)));
        let _ = self.events.try_send(Event::Route { profile: name.to_owned(), event });
    }

    fn start(&mut self, name: &str) {
        let Some(profile) = self.profile(name).cloned() else {
            self.unknown(name);
            return;
        };
        let cancel = CancellationToken::new();
        let runner = Runner {
            profile,
            options: self.run_options(name),
            launcher: self.options.launcher.clone(),
            health: Some(self.options.monitor.clone()),
        };
        let (tx, mut rx) = mpsc::channel(256);
        let (events, profile) = (self.events.clone(), name.to_owned());
        let run = runner.run(tx, cancel.clone());
        let (status_tx, status) = watch::channel(RouteStatus::stopped());
        // Every event of the run is passed on before the task ends, so that none comes after
        // a restarted run's first.
        let pass_on = async move {
            while let Some(event) = rx.recv().await {
                if let RouteEvent::Status(now) = &event {
                    status_tx.send_replace(now.clone());
                }
                let _ = events.send(Event::Route { profile: profile.clone(), event }).await;
            }
        };
        let task = tokio::spawn(async move {
            tokio::join!(run, pass_on);
        });
        self.running.insert(name.to_owned(), Running { cancel, task, status });
    }

    /// Stops a route and waits (briefly) for it to finish, so that its port is free again.
    async fn stop(&mut self, name: &str) {
        if let Some(running) = self.running.remove(name) {
            running.cancel.cancel();
            if tokio::time::timeout(Duration::from_secs(5), running.task).await.is_err() {
                tracing::warn!(route = name, "a route took over 5 s to stop");
            }
        }
    }

    async fn save_profile(&mut self, profile: Profile, from: Option<PathBuf>) {
        let name = profile.name.to_string();
        let result = match self.options.profiles.clone() {
            None => Err(Refused {
                trouble: Trouble::new(
                    "no profiles directory is set".to_owned(),
                    "set HOME or XDG_CONFIG_HOME, or pass --profiles DIR".to_owned(),
                ),
                forcible: false,
            }),
            Some(store) => {
                let saving = profile.clone();
                tokio::task::spawn_blocking(move || store.save(&saving, from.as_deref()))
                    .await
                    .unwrap_or_else(|panic| {
                        Err(Trouble {
                            cause: format!("saving stopped: {panic}"),
                            fix: "see the log file".to_owned(),
                        })
                    })
                    .map(|saved| SavedProfile {
                        profile: Box::new(profile.clone()),
                        file: saved.file,
                        backup: saved.backup,
                        replaces_overrides: true,
                    })
                    .map_err(Refused::from)
            }
        };
        self.adopt(name, result).await;
    }

    /// Runs a saved profile from now on (in place of the overrides it took in, if it did), and
    /// tells the face — before the restarted route's first event.
    async fn adopt(&mut self, name: String, result: Result<SavedProfile, Refused>) {
        if let Ok(saved) = &result {
            if let Some(options) =
                self.overrides.get_mut(&name).filter(|_| saved.replaces_overrides)
            {
                options.context = None;
                options.local_port = None;
            }
            let profile = (*saved.profile).clone();
            match self.profiles.iter_mut().find(|p| p.name == profile.name) {
                Some(slot) => *slot = profile,
                None => self.profiles.push(profile),
            }
        }
        let restart = result.is_ok() && self.running.contains_key(&name);
        let _ = self.events.send(Event::ProfileSaved { profile: name.clone(), result }).await;
        if restart {
            self.stop(&name).await;
            self.start(&name);
        }
    }

    fn diagnose(&self, name: &str) {
        let Some(profile) = self.profile(name) else {
            self.unknown(name);
            return;
        };
        let (profile, options) = (profile.clone(), self.run_options(name));
        let events = self.events.clone();
        // The link first: while it is down, a probe through it could only guess.
        let link_down = (self.running.get(name).map(|r| r.status.borrow().clone()))
            .filter(|status| status.link_down)
            .and_then(|status| {
                let url = status.url.unwrap_or_else(|| profile.local_endpoint().to_string());
                Some((url, status.trouble?))
            });
        tokio::spawn(async move {
            let found = probe::from_profile::target(&profile, options.local_port, options.kube());
            let outcome = match (link_down, found) {
                (Some((url, diagnosis)), _) => Ok(probe::Outcome::Unhealthy { url, diagnosis }),
                (None, Ok((target, hints))) => probe::check(&target, &hints).await,
                (None, Err(why)) => Err(format!("{}; {}", why.cause, why.fix)),
            };
            let _ =
                events.send(Event::Diagnosis { profile: profile.name.to_string(), outcome }).await;
        });
    }

    fn write_config(
        &self,
        name: String,
        scope: Scope,
        server: Option<String>,
        dry_run: bool,
        force: bool,
    ) {
        let events = self.events.clone();
        let refuse = |cause: String, fix: &str| Event::Config {
            profile: name.clone(),
            result: Err(Refused::from(Trouble::new(cause, fix))),
        };
        let Some(writer) = self.options.writer.clone() else {
            let _ = events.try_send(refuse("no config directory is set".into(), "set HOME"));
            return;
        };
        let Some(profile) = self.profile(&name) else {
            let _ = events
                .try_send(refuse(format!("no profile named {name:?}"), "restart mcp-connect"));
            return;
        };
        let local_port = self.run_options(&name).local_port;
        // Another client may start the bridge without this environment: the launcher names
        // the profiles directory.
        let client = scope.client();
        let launcher = match &self.options.profiles {
            Some(store) => {
                let kubeconfig = clientconfig::Launcher::kubeconfig_from_env();
                self.options.launcher.for_client(client, &store.dir, kubeconfig.as_deref())
            }
            None => self.options.launcher.clone(),
        };
        let entry = match Entry::for_client(profile, local_port, &launcher, client) {
            Ok(entry) => entry,
            Err(why) => {
                let _ = events.try_send(refuse(why.cause, &why.fix));
                return;
            }
        };
        let server = server.unwrap_or_else(|| profile.client.server_name.to_string());
        let claude_command = match client {
            clientconfig::Client::ClaudeCode => entry.claude_add_command(&server, &scope),
            _ => String::new(),
        };
        let edit = Edit { scope, name: server, op: Op::Put(entry), force };
        tokio::task::spawn_blocking(move || {
            let result = if dry_run { writer.preview(&edit) } else { writer.commit(&edit) };
            let result = result
                .map(|change| ConfigWritten {
                    diff: change.diff(),
                    file: change.file,
                    outcome: change.outcome,
                    dry_run,
                    backup: change.backup,
                    claude_command,
                })
                .map_err(|err| Refused {
                    trouble: Trouble::from(&err),
                    forcible: matches!(
                        err,
                        clientconfig::ConfigError::NotOurs { .. }
                            | clientconfig::ConfigError::ReadOnly { .. }
                    ),
                });
            let _ = events.blocking_send(Event::Config { profile: name, result });
        });
    }
}
