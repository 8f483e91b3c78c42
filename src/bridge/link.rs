//! The way to the server: a direct URL, the port-forward something else already runs (the TUI,
//! `mcp-connect up`), or a forward the bridge brings up itself and keeps until it exits.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::rpc::{NO_ROUTE, Problem};
use super::stdio::{note, warn};
use crate::forward::{ForwardEvent, ForwardState};
use crate::profile::{Link as ProfileLink, Profile};
use crate::supervisor::{self, Plan, RunOptions};

/// How long the bridge waits for its own forward to listen.
const READY_WITHIN: Duration = Duration::from_secs(20);
/// How long a connection attempt to a forward already running may take.
const PROBE_WITHIN: Duration = Duration::from_secs(1);

/// A route to the server, ready to carry requests.
pub struct Link {
    pub url: Url,
    /// Whether requests go through a port-forward (the bridge's or another's).
    pub forwarded: bool,
    own: Option<OwnForward>,
}

/// What the bridge's own forward last reported; empty when it runs none.
#[derive(Clone, Default)]
pub struct LinkHealth(Arc<Mutex<Option<ForwardState>>>);

impl LinkHealth {
    /// The forward's cause and fix when it has failed.
    pub fn failure(&self) -> Option<Problem> {
        match self.0.lock().ok()?.as_ref()? {
            ForwardState::Failed { cause, fix } => {
                Some(Problem::new(NO_ROUTE, format!("the port-forward failed: {cause}"), fix))
            }
            _ => None,
        }
    }

    fn set(&self, state: ForwardState) {
        if let Ok(mut current) = self.0.lock() {
            *current = Some(state);
        }
    }
}

struct OwnForward {
    cancel: CancellationToken,
    task: JoinHandle<()>,
    drain: JoinHandle<()>,
}

/// Brings up the route of `profile`. `Err` when it cannot carry anything; the bridge then
/// answers every request with that cause and fix.
/// `health` follows the bridge's own forward, if it starts one.
pub async fn establish(
    profile: &Profile,
    options: &RunOptions,
    health: LinkHealth,
) -> Result<Link, Problem> {
    let (spec, context) = match supervisor::plan(profile, options) {
        Plan::Direct { .. } => {
            let url = profile.local_endpoint();
            note(format!("profile {}: relaying to {url}", profile.name));
            return Ok(Link { url, forwarded: false, own: None });
        }
        Plan::Router => return Err(router_refused(profile)),
        Plan::Forward { spec, context } => (spec, context),
    };
    let url = Url::parse(&spec.url(spec.local)).map_err(|e| {
        Problem::new(NO_ROUTE, format!("the forward's URL is not valid: {e}"), "fix the profile")
    })?;
    if listens(spec.local).await {
        note(format!(
            "profile {}: a forward already listens at {}; relaying to {url}",
            profile.name, spec.local
        ));
        return Ok(Link { url, forwarded: true, own: None });
    }
    note(format!("profile {}: starting the port-forward to {}", profile.name, profile.target()));
    let (tx, rx) = mpsc::channel(256);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(supervisor::run_forward(
        spec,
        context,
        options.kubeconfig.clone(),
        tx,
        cancel.clone(),
    ));
    let (state_tx, mut state_rx) = watch::channel(ForwardState::Starting);
    let drain = tokio::spawn(drain(rx, health, state_tx));
    let own = OwnForward { cancel, task, drain };
    let waited = tokio::time::timeout(READY_WITHIN, async {
        loop {
            let state = state_rx.borrow_and_update().clone();
            match state {
                ForwardState::Listening { .. } | ForwardState::Failed { .. } => return state,
                ForwardState::Stopped => return state,
                _ => {}
            }
            if state_rx.changed().await.is_err() {
                return state_rx.borrow().clone();
            }
        }
    })
    .await;
    let link = Link { url: url.clone(), forwarded: true, own: Some(own) };
    match waited {
        Ok(ForwardState::Listening { pod, .. }) => {
            note(format!("forwarding {url} to pod {pod}; relaying to it"));
            Ok(link)
        }
        Ok(ForwardState::Failed { cause, fix }) => {
            link.stop().await;
            Err(Problem::new(NO_ROUTE, format!("the port-forward failed: {cause}"), fix))
        }
        Ok(other) => {
            link.stop().await;
            Err(Problem::new(
                NO_ROUTE,
                format!("the port-forward ended before it listened ({})", other.hint()),
                format!("run `mcp-connect up {}` to see why", profile.name),
            ))
        }
        Err(_) => {
            warn(format!(
                "the port-forward does not carry connections after {} s; relaying anyway \
                 (each connection waits for a Ready pod)",
                READY_WITHIN.as_secs()
            ));
            Ok(link)
        }
    }
}

impl Link {
    /// Stops the bridge's own forward, if any, and waits until its port is free.
    pub async fn stop(self) {
        let Some(own) = self.own else { return };
        own.cancel.cancel();
        let stopped = tokio::time::timeout(Duration::from_secs(3), own.task).await;
        if stopped.is_err() {
            warn("the port-forward did not stop within 3 s");
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), own.drain).await;
    }
}

/// Whether something accepts TCP connections at `addr`.
async fn listens(addr: SocketAddr) -> bool {
    let connect = tokio::net::TcpStream::connect(addr);
    matches!(tokio::time::timeout(PROBE_WITHIN, connect).await, Ok(Ok(_)))
}

/// Reads the forward's events for as long as it runs: state changes to stderr, the rest to
/// the log file.
async fn drain(
    mut events: mpsc::Receiver<ForwardEvent>,
    health: LinkHealth,
    state: watch::Sender<ForwardState>,
) {
    let mut listened = false;
    while let Some(event) = events.recv().await {
        match event {
            ForwardEvent::State(now) => {
                match &now {
                    ForwardState::Failed { .. } => warn(format!("port-forward: {}", now.hint())),
                    ForwardState::Reconnecting { .. } => {
                        note(format!("port-forward: {}", now.hint()))
                    }
                    // The first is told by `establish`; later ones follow a reconnect.
                    ForwardState::Listening { .. } if listened => {
                        note(format!("port-forward: {}", now.hint()))
                    }
                    _ => tracing::info!(state = ?now, "bridge port-forward"),
                }
                listened |= matches!(now, ForwardState::Listening { .. });
                health.set(now.clone());
                state.send_replace(now);
            }
            ForwardEvent::PodLog { pod, line } => tracing::debug!(%pod, %line, "pod log"),
            other => tracing::info!(event = ?other, "bridge port-forward"),
        }
    }
}

/// Why a router profile cannot be bridged (yet).
fn router_refused(profile: &Profile) -> Problem {
    debug_assert!(matches!(profile.link, ProfileLink::Router(_)));
    Problem::new(
        NO_ROUTE,
        format!("profile {} is a router route, which the bridge cannot relay to yet", profile.name),
        "use a port_forward or direct profile (e.g. gateway-port-forward); the router comes in \
         a later release",
    )
}

/// Whether `profile`'s route is one the bridge refuses outright (exit at start).
pub fn refused(profile: &Profile) -> Option<Problem> {
    matches!(profile.link, ProfileLink::Router(_)).then(|| router_refused(profile))
}
