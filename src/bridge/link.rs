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
    own: Option<Own>,
}

/// What the bridge runs itself for the route, and stops when it exits.
enum Own {
    Forward(OwnForward),
    Router(crate::router::Router),
}

/// What the bridge's own forward last reported; empty when it runs none.
#[derive(Clone, Default)]
pub struct LinkHealth(Arc<Mutex<Option<ForwardState>>>);

impl LinkHealth {
    /// The forward's cause and fix when it has failed.
    pub fn failure(&self) -> Option<Problem> {
        match self.0.lock().ok()?.as_ref()? {
            ForwardState::Failed(trouble) => {
                let cause = format!("the port-forward failed: {}", trouble.cause);
                Some(Problem::new(NO_ROUTE, cause, &trouble.fix))
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
        Plan::Router => return router(profile, options).await,
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
    let own = Own::Forward(OwnForward { cancel, task, drain });
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
        Ok(ForwardState::Failed(trouble)) => {
            link.stop().await;
            let cause = format!("the port-forward failed: {}", trouble.cause);
            Err(Problem::new(NO_ROUTE, cause, trouble.fix))
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
        let own = match self.own {
            None => return,
            Some(Own::Router(router)) => return router.shutdown().await,
            Some(Own::Forward(own)) => own,
        };
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

/// The router a router profile names: the one already serving on its port (the TUI's,
/// `mcp-connect router`'s), or else mcp-connect's own router, run in this process until the
/// bridge exits.
async fn router(profile: &Profile, options: &RunOptions) -> Result<Link, Problem> {
    let ProfileLink::Router(link) = &profile.link else {
        unreachable!("a router plan comes from a router link")
    };
    let port = options.local_port.unwrap_or(link.local_port.get());
    let listen = SocketAddr::new(link.local_address, port);
    let url = Url::parse(&format!("http://{listen}/mcp")).map_err(|e| {
        Problem::new(NO_ROUTE, format!("the router's URL is not valid: {e}"), "fix the profile")
    })?;
    if listens(listen).await {
        note(format!("profile {}: a router already serves at {url}; relaying to it", profile.name));
        return Ok(Link { url, forwarded: false, own: None });
    }
    if let Some(command) = &link.command {
        return Err(Problem::new(
            NO_ROUTE,
            format!("nothing serves at {url}, where profile {}'s router listens", profile.name),
            format!(
                "start that router (`{}`), or the route in `mcp-connect tui`",
                shell_words::join(command)
            ),
        ));
    }
    let settings = crate::router::config::from_profile(profile, options)
        .map_err(|trouble| Problem { code: NO_ROUTE, trouble })?;
    let router = crate::router::start(settings)
        .await
        .map_err(|trouble| Problem { code: NO_ROUTE, trouble })?;
    note(format!(
        "profile {}: started the router at {}; relaying to it",
        profile.name,
        router.url()
    ));
    Ok(Link { url, forwarded: false, own: Some(Own::Router(router)) })
}
