//! Every face of one route side by side, for the fault matrix: the engine's hub (what the TUI
//! draws), `mcp-connect up --json` and `mcp-connect bridge` (what Claude Code is answered), each
//! on a local port of its own, all against one lab.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use mcp_connect::clientconfig::Launcher;
use mcp_connect::probe::{MonitorOptions, Outcome};
use mcp_connect::profile::{Catalog, UserDir};
use mcp_connect::supervisor::RouteStatus;
use mcp_connect::supervisor::hub::{self, Command, Event, HubOptions, RouteEvent};
use mcp_connect::trouble::Trouble;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use super::Home;
use super::bridge::{Bridge, initialize_params};

/// How often the hub and `up` check health here (the default is 2 s).
pub const CHECK_EVERY: Duration = Duration::from_millis(500);

/// What a face said: the phase (the bridge has none) and the trouble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub phase: Option<String>,
    pub trouble: Option<Trouble>,
}

impl Said {
    fn of(status: &RouteStatus) -> Said {
        Said { phase: Some(status.phase.as_str().to_owned()), trouble: status.trouble.clone() }
    }

    pub fn is(&self, phase: &str) -> bool {
        self.phase.as_deref() == Some(phase)
    }
}

/// Where the faces run: the throwaway home, its user profiles, the kubeconfig.
pub struct Place<'a> {
    pub home: &'a Home,
    pub profiles: PathBuf,
    pub kubeconfig: PathBuf,
}

impl Place<'_> {
    fn global_args(&self) -> Vec<String> {
        let path = |p: &PathBuf| p.to_string_lossy().into_owned();
        vec![
            "--kubeconfig".into(),
            path(&self.kubeconfig),
            "--profiles".into(),
            path(&self.profiles),
        ]
    }
}

/// The engine the TUI runs, with one route active.
pub struct HubFace {
    commands: mpsc::Sender<Command>,
    events: mpsc::Receiver<Event>,
    name: String,
}

impl HubFace {
    pub async fn start(place: &Place<'_>, name: &str, port: u16) -> HubFace {
        let catalog = Catalog::load(&UserDir::Explicit(place.profiles.clone())).unwrap();
        let profiles = catalog.entries().iter().filter_map(|e| e.profile.clone().ok()).collect();
        let launcher = Launcher {
            program: env!("CARGO_BIN_EXE_mcp-connect").to_owned(),
            args: place.global_args(),
        };
        let options = HubOptions {
            kubeconfig: Some(place.kubeconfig.clone()),
            monitor: MonitorOptions { interval: CHECK_EVERY, ..MonitorOptions::default() },
            launcher,
            ..HubOptions::default()
        };
        let (commands, events, _task) = hub::spawn(profiles, options);
        let profile = name.to_owned();
        let local_port = Some(port);
        commands.send(Command::Override { profile, context: None, local_port }).await.unwrap();
        commands.send(Command::Activate(name.to_owned())).await.unwrap();
        HubFace { commands, events, name: name.to_owned() }
    }

    /// `d`: the diagnosis of the route, as the TUI shows it (`None`: healthy).
    pub async fn diagnose(&mut self, within: Duration) -> Option<Trouble> {
        self.commands.send(Command::Diagnose(self.name.clone())).await.unwrap();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv()).await;
            match event.expect("a diagnosis in time").expect("the hub runs") {
                Event::Diagnosis { outcome, .. } => {
                    return match outcome.expect("the probe starts") {
                        Outcome::Healthy(_) => None,
                        Outcome::Unhealthy { diagnosis, .. } => Some(diagnosis),
                    };
                }
                _ => continue,
            }
        }
    }

    /// The first status `want` accepts within `within`; else every status seen.
    pub async fn until(
        &mut self,
        within: Duration,
        want: impl Fn(&Said) -> bool,
    ) -> Result<Said, Vec<Said>> {
        let said = |event: Event| match event {
            Event::Route { event: RouteEvent::Status(status), .. } => Some(Said::of(&status)),
            _ => None,
        };
        first(&mut self.events, within, said, want).await
    }
}

/// `mcp-connect up NAME --json`.
pub struct UpFace {
    child: tokio::process::Child,
    lines: mpsc::Receiver<Value>,
}

impl UpFace {
    pub fn start(place: &Place<'_>, name: &str, port: u16) -> UpFace {
        let mut command = place.home.command();
        command.args(place.global_args()).args(["up", name, "--json"]);
        command.args(["--local-port", &port.to_string()]);
        command.args(["--health-interval", &format!("{}ms", CHECK_EVERY.as_millis())]);
        let mut child = tokio::process::Command::from(command)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel(1024);
        let stdout = child.stdout.take().unwrap();
        tokio::spawn(async move {
            let mut stdout = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = stdout.next_line().await {
                let value = serde_json::from_str(&line).expect("one JSON object per line");
                if tx.send(value).await.is_err() {
                    break;
                }
            }
        });
        UpFace { child, lines }
    }

    /// The first status line `want` accepts within `within`; else every status seen.
    pub async fn until(
        &mut self,
        within: Duration,
        want: impl Fn(&Said) -> bool,
    ) -> Result<Said, Vec<Said>> {
        let said = |line: Value| {
            let text = |key: &str| line[key].as_str().map(str::to_owned);
            let trouble = text("cause").zip(text("fix")).map(|(c, f)| Trouble::new(c, f));
            (line["event"] == "status").then(|| Said { phase: text("phase"), trouble })
        };
        first(&mut self.lines, within, said, want).await
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The first of `items` that reads as a status (`said`) `want` accepts, within `within`; else
/// every status read.
async fn first<T>(
    items: &mut mpsc::Receiver<T>,
    within: Duration,
    said: impl Fn(T) -> Option<Said>,
    want: impl Fn(&Said) -> bool,
) -> Result<Said, Vec<Said>> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let item = tokio::time::timeout_at(deadline, items.recv()).await;
        let Ok(Some(item)) = item else { return Err(seen) };
        match said(item) {
            Some(said) if want(&said) => return Ok(said),
            Some(said) => seen.push(said),
            None => {}
        }
    }
}

/// `mcp-connect bridge NAME`, as Claude Code runs it.
pub struct BridgeFace {
    bridge: Bridge,
    next_id: u64,
}

impl BridgeFace {
    pub fn start(place: &Place<'_>, name: &str, port: u16) -> BridgeFace {
        let port = port.to_string();
        let args = ["bridge", name, "--local-port", &port];
        let bridge = Bridge::start_with(place.home, &place.kubeconfig, &place.profiles, &args);
        BridgeFace { bridge, next_id: 0 }
    }

    /// Sends `method` and answers its error's cause and fix, or `None` when it was answered.
    pub fn ask(&mut self, method: &str) -> Option<Trouble> {
        self.next_id += 1;
        let params = match method {
            "initialize" => initialize_params(),
            _ => json!({}),
        };
        let answer = self.bridge.call(self.next_id, method, params);
        if method == "initialize" && answer.get("result").is_some() {
            self.bridge.notify("notifications/initialized");
        }
        let error = answer.get("error")?;
        let text = |key: &str| error["data"][key].as_str().unwrap_or_default().to_owned();
        Some(Trouble::new(text("cause"), text("fix")))
    }

    pub fn stderr(&self) -> String {
        self.bridge.stderr()
    }
}
