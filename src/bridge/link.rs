//! The way to the server: a direct URL, the link something else already runs (the TUI,
//! `mcp-connect up`, a router on the profile's port), or the route run by the bridge itself
//! through the engine's route runner — the same forward or router child the TUI runs — kept
//! until the bridge exits. The runner's status is what the bridge explains failures with.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::rpc::{NO_ROUTE, Problem};
use super::stdio::{note, warn};
use crate::clientconfig::Launcher;
use crate::forward::ForwardEvent;
use crate::profile::{Link as ProfileLink, Profile};
use crate::supervisor::{self, Phase, Plan, RouteEvent, RouteStatus, RunOptions, Runner};

/// How long the bridge waits for the route it runs to serve.
const READY_WITHIN: Duration = Duration::from_secs(20);
/// How long a connection attempt to a link already running may take.
const PROBE_WITHIN: Duration = Duration::from_secs(1);
/// How long the route it runs may take to stop (a router ends its sessions first).
const STOP_WITHIN: Duration = Duration::from_secs(5);

/// A route to the server, ready to carry requests.
pub struct Link {
    pub url: Url,
    /// Whether requests go through a port-forward (the bridge's or another's).
    pub forwarded: bool,
    own: Option<Own>,
}

/// The route the bridge runs itself, stopped when it exits.
struct Own {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

/// The status of the route the bridge runs, as the engine decides it; `None` while it runs
/// none (a direct URL, a link something else runs).
#[derive(Clone)]
pub struct LinkHealth(watch::Receiver<Option<RouteStatus>>);

/// Where the route the bridge runs reports its status.
pub struct StatusSender(watch::Sender<Option<RouteStatus>>);

impl LinkHealth {
    pub fn new() -> (LinkHealth, StatusSender) {
        let (tx, rx) = watch::channel(None);
        (LinkHealth(rx), StatusSender(tx))
    }

    /// The route's cause and fix while its link is down.
    pub fn failure(&self) -> Option<Problem> {
        problem(self.0.borrow().as_ref()?)
    }

    /// The route's cause and fix as soon as its link is down, waiting up to `within` for it to
    /// say so; `None` at once when the bridge runs no route.
    pub async fn failure_soon(&self, within: Duration) -> Option<Problem> {
        let mut status = self.0.clone();
        status.borrow().as_ref()?;
        let waited = tokio::time::timeout(within, async {
            loop {
                if let Some(problem) = status.borrow_and_update().as_ref().and_then(problem) {
                    return Some(problem);
                }
                status.changed().await.ok()?;
            }
        });
        waited.await.ok().flatten()
    }

    /// Waits (up to `within`) for a link being brought back to carry requests again; its cause
    /// and fix when it does not. A route that failed for good is answered at once; any other
    /// is tried (a failed new connection is only cleared by one carried).
    pub async fn serving(&self, within: Duration) -> Option<Problem> {
        let mut status = self.0.clone();
        let waited = tokio::time::timeout(within, async {
            loop {
                let now = status.borrow_and_update().clone()?;
                if now.phase == Phase::Failed || !now.awaits_link {
                    return problem(&now).filter(|_| now.phase == Phase::Failed);
                }
                if status.changed().await.is_err() {
                    return problem(&now);
                }
            }
        });
        match waited.await {
            Ok(answer) => answer,
            Err(_) => self.failure(),
        }
    }
}

/// The route's trouble as the bridge answers it, when its link is down.
fn problem(status: &RouteStatus) -> Option<Problem> {
    let trouble = status.trouble.clone().filter(|_| status.link_down)?;
    Some(Problem { code: NO_ROUTE, trouble })
}

/// Brings up the route of `profile`. `Err` when it cannot carry anything; the bridge then
/// answers every request with that cause and fix. `statuses` takes the status of the route the
/// bridge runs, if it runs one; `launcher` starts mcp-connect's own router for a router route.
/// It returns once the route serves, or has a verdict of trouble (the requests then wait for
/// it to serve, a while, each), or after [`READY_WITHIN`].
pub async fn establish(
    profile: &Profile,
    options: &RunOptions,
    launcher: &Launcher,
    statuses: StatusSender,
) -> Result<Link, Problem> {
    let (url, listen, forwarded) = match supervisor::plan(profile, options) {
        Plan::Direct { .. } => {
            let url = profile.local_endpoint();
            note(format!("profile {}: relaying to {url}", profile.name));
            return Ok(Link { url, forwarded: false, own: None });
        }
        Plan::Forward { spec, .. } => (spec.url(spec.local), spec.local, true),
        Plan::Router => {
            let ProfileLink::Router(link) = &profile.link else {
                unreachable!("a router plan comes from a router link")
            };
            let port = options.local_port.unwrap_or(link.local_port.get());
            let listen = SocketAddr::new(link.local_address, port);
            (format!("http://{listen}/mcp"), listen, false)
        }
    };
    let url = Url::parse(&url).map_err(|e| {
        Problem::new(NO_ROUTE, format!("the route's URL is not valid: {e}"), "fix the profile")
    })?;
    if listens(listen).await {
        note(format!(
            "profile {}: something already serves at {listen} (mcp-connect up, the TUI, a \
             router); relaying to {url}",
            profile.name
        ));
        return Ok(Link { url, forwarded, own: None });
    }
    note(format!("profile {}: starting the route to {}", profile.name, profile.target()));
    let runner = Runner {
        profile: profile.clone(),
        options: options.clone(),
        launcher: launcher.clone(),
        // The client's own requests are the bridge's health checks.
        health: None,
    };
    let (tx, rx) = mpsc::channel(256);
    let cancel = CancellationToken::new();
    let run = runner.run(tx, cancel.clone());
    let mut state_rx = statuses.0.subscribe();
    let task = tokio::spawn(async move {
        tokio::join!(run, drain(rx, statuses));
    });
    let link = Link { url: url.clone(), forwarded, own: Some(Own { cancel, task }) };
    let waited = tokio::time::timeout(READY_WITHIN, async {
        loop {
            let status = state_rx.borrow_and_update().clone();
            if let Some(status) = status.filter(|s| s.phase != Phase::Starting) {
                return Some(status);
            }
            if state_rx.changed().await.is_err() {
                return None;
            }
        }
    })
    .await;
    match waited {
        Ok(Some(status)) if status.phase != Phase::Failed => {
            match &status.trouble {
                None => note(format!("the route serves at {url}; relaying to it")),
                Some(trouble) => warn(format!(
                    "the route is {} ({trouble}); requests wait for it a while each",
                    status.phase.as_str()
                )),
            }
            Ok(link)
        }
        Ok(failed) => {
            link.stop().await;
            let trouble = failed.and_then(|s| s.trouble).unwrap_or_else(|| {
                crate::trouble::Trouble::new(
                    "the route ended before it served",
                    format!("run `mcp-connect up {}` to see why", profile.name),
                )
            });
            Err(Problem { code: NO_ROUTE, trouble })
        }
        Err(_) => {
            warn(format!(
                "the route does not serve after {} s; relaying anyway",
                READY_WITHIN.as_secs()
            ));
            Ok(link)
        }
    }
}

impl Link {
    /// Stops the route the bridge runs, if any, and waits until its port is free.
    pub async fn stop(self) {
        let Some(own) = self.own else { return };
        own.cancel.cancel();
        if tokio::time::timeout(STOP_WITHIN, own.task).await.is_err() {
            warn(format!("the route did not stop within {} s", STOP_WITHIN.as_secs()));
        }
    }
}

/// Whether something accepts TCP connections at `addr`.
async fn listens(addr: SocketAddr) -> bool {
    let connect = tokio::net::TcpStream::connect(addr);
    matches!(tokio::time::timeout(PROBE_WITHIN, connect).await, Ok(Ok(_)))
}

/// Reads the route's events for as long as it runs: status changes to stderr once it has
/// served (`establish` tells the first), the rest to the log file.
async fn drain(mut events: mpsc::Receiver<RouteEvent>, statuses: StatusSender) {
    let mut served = false;
    while let Some(event) = events.recv().await {
        match event {
            RouteEvent::Status(status) => {
                let phase = status.phase.as_str();
                match (&status.trouble, served) {
                    (Some(trouble), true) => warn(format!("route {phase}: {trouble}")),
                    (None, true) if status.phase == Phase::Serving => {
                        note(format!("route serving again: {}", status.evidence))
                    }
                    _ => tracing::info!(?status, "bridge route"),
                }
                served |= matches!(status.phase, Phase::Serving | Phase::Degraded);
                statuses.0.send_replace(Some(status));
            }
            RouteEvent::Forward(ForwardEvent::PodLog { pod, line }) => {
                tracing::debug!(%pod, %line, "pod log")
            }
            other => tracing::debug!(event = ?other, "bridge route"),
        }
    }
}
