//! The native port-forward: a local listener whose every connection is carried to a Ready pod
//! behind a Service, as a stream of one SPDY tunnel to the pod, or over its own kube-rs
//! port-forward WebSocket where the API server lacks SPDY (see [`mux`];
//! `MCP_CONNECT_FORWARD_MUX=off` forces the latter). It follows the Service to new
//! pods as they turn Ready, reports what it does as [`ForwardEvent`]s, and follows the pod's
//! log. While it cannot carry a new connection (no Ready pod, the API server unreachable or
//! silent, failed) it answers one at once with why (`refuse`) rather than keep it waiting.
//! Engine code: no terminal here.

pub mod bind;
pub mod event;
pub mod explain;
mod logs;
mod mux;
mod opened;
mod refuse;
mod relay;
mod state;
pub mod target;
mod tunnel;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::{Api, Client};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::kubeconfig::ApiServer;
use crate::trouble::Trouble;
pub use event::{ForwardEvent, ForwardState};
use explain::{Doing, Explained, explain, no_answer};
use mux::Mux;
pub use mux::{ENV as MUX_ENV, MAX_AGE as MAX_TUNNEL_AGE, multiplexed};
use opened::Opened;
use target::{Target, Tracking};

/// How long a connection accepted while the forward listens waits for a Ready pod when its pod
/// went away under it (connections accepted while there is none are answered at once).
const WAIT_FOR_POD: Duration = Duration::from_secs(30);
/// How long the API server may take over a request that should be quick: reading the Service,
/// opening a port-forward stream. One that accepts connections and never answers (a dead VPN,
/// a half-open load balancer) would otherwise keep the forward "starting" for ever and every new
/// connection waiting with it. Real API servers answer these in tens of milliseconds, the lab in
/// a few; 3 s leaves a slow link room and keeps nobody waiting long.
const API_ANSWER: Duration = Duration::from_secs(3);
/// Retries against the API server wait from 250 ms, doubling, never above 5 s: a failing API
/// server is neither hammered nor waited on for long once it is back.
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MOST: Duration = Duration::from_secs(5);

/// A connection refused while the next attempt to open a spare is further away than this
/// brings the attempt forward to this: clients that keep asking (the 503 says `Retry-After: 1`)
/// find the link back about this soon after it returns, whatever the backoff had grown to.
const RETRY_ON_DEMAND: Duration = Duration::from_secs(1);

fn retry() -> Backoff {
    Backoff::new(RETRY_FIRST, RETRY_MOST)
}

/// What to forward, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardSpec {
    pub namespace: String,
    pub service: String,
    /// The Service's port.
    pub remote_port: u16,
    /// The local end.
    pub local: SocketAddr,
    /// How clients reach it: `http` or `https`, and the MCP path, for the URL in events.
    pub scheme: &'static str,
    pub path: String,
    /// Connections as streams of one SPDY tunnel per pod (one WebSocket each where the API
    /// server lacks SPDY), or always one WebSocket each: see [`mux`] and [`multiplexed`].
    pub multiplexed: bool,
}

impl ForwardSpec {
    pub fn url(&self, local: SocketAddr) -> String {
        format!("{}://{local}{}", self.scheme, self.path)
    }
}

/// Runs the forward until `cancel`. Every outcome, failure included, arrives as events; the
/// last is `State(Stopped)` or `State(Failed)`. `api` names the API server in errors.
pub async fn run(
    spec: ForwardSpec,
    client: Client,
    api: ApiServer,
    events: mpsc::Sender<ForwardEvent>,
    cancel: CancellationToken,
) {
    let send = |state: ForwardState| {
        let events = events.clone();
        async move {
            let _ = events.send(ForwardEvent::State(state)).await;
        }
    };
    send(ForwardState::Starting).await;
    // A busy port is an error before anything else starts.
    let listener = match bind::bind(spec.local).await {
        Ok(listener) => listener,
        Err(err) => {
            return send(ForwardState::Failed(err.into())).await;
        }
    };
    let local = listener.local_addr().unwrap_or(spec.local);
    let url = spec.url(local);

    // Until the Service is read, connections are answered with why they cannot be carried yet.
    let mut early = Early {
        listener: &listener,
        scheme: spec.scheme,
        events: &events,
        cancel: &cancel,
        down: Trouble::new(
            format!("the forward is still connecting to the API server {api}"),
            "retry in a moment",
        ),
    };
    let mut backoff = retry();
    let mut reported = ForwardState::Starting;
    let selected = loop {
        let resolving =
            target::resolve(&client, &spec.namespace, &spec.service, spec.remote_port, &api);
        let Some(resolved) = early.refusing(resolving).await else {
            return send(ForwardState::Stopped).await;
        };
        match resolved {
            Ok(selected) => break selected,
            Err(e) if !e.transient => {
                return send(ForwardState::Failed(e.trouble)).await;
            }
            Err(e) => {
                let state = ForwardState::Reconnecting(e.trouble.clone());
                if state != reported {
                    reported = state.clone();
                    send(state).await;
                }
                early.down = e.trouble;
                let wait = tokio::time::sleep(backoff.next().unwrap_or(RETRY_MOST));
                if early.refusing(wait).await.is_none() {
                    return send(ForwardState::Stopped).await;
                }
            }
        }
    };
    let waiting = ForwardState::WaitingForPod {
        service: spec.service.clone(),
        namespace: spec.namespace.clone(),
        selector: selected.selector(),
    };
    let (tracking, answered) = target::track(
        client.clone(),
        spec.namespace.clone(),
        selected,
        api.clone(),
        cancel.child_token(),
    );
    let mux = Arc::new(Mux::new(client.clone(), spec.namespace.clone(), spec.multiplexed));
    let pods: Api<Pod> = Api::namespaced(client, &spec.namespace);
    tokio::spawn(logs::follow(
        pods.clone(),
        spec.namespace.clone(),
        api.clone(),
        tracking.clone(),
        events.clone(),
        cancel.child_token(),
    ));

    let mut forward = Forwarder {
        pods,
        mux,
        namespace: spec.namespace.clone(),
        api,
        scheme: spec.scheme,
        tracking,
        answered,
        events: events.clone(),
        spare: None,
        opening: None,
        trouble: None,
        next_attempt: Instant::now(),
        watch_troubled: false,
        backoff: retry(),
        state: reported,
        down: Some(early.down.clone()),
        last_pod: None,
        url,
        waiting,
    };
    forward.update().await;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            changed = forward.tracking.changed() => {
                if changed.is_err() {
                    break;
                }
                forward.update().await;
            }
            opened = async { forward.opening.as_mut().expect("guarded").await }, if forward.opening.is_some() => {
                forward.opening = None;
                forward.opened(opened).await;
            }
            said = async { (&mut forward.spare.as_mut().expect("guarded").error).await }, if forward.spare.is_some() => {
                forward.spare_ended(said).await;
            }
            accepted = listener.accept() => {
                if let Ok((tcp, _)) = accepted {
                    forward.connect(tcp);
                }
            }
        }
    }
    send(ForwardState::Stopped).await;
}

/// The listener before the Service is read: every connection is answered with `down`.
struct Early<'a> {
    listener: &'a TcpListener,
    scheme: &'static str,
    events: &'a mpsc::Sender<ForwardEvent>,
    cancel: &'a CancellationToken,
    down: Trouble,
}

impl Early<'_> {
    /// Runs `work` to its end, answering connections meanwhile; `None` when cancelled first.
    async fn refusing<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        tokio::pin!(work);
        loop {
            tokio::select! {
                _ = self.cancel.cancelled() => return None,
                done = &mut work => return Some(done),
                accepted = self.listener.accept() => {
                    if let Ok((tcp, _)) = accepted {
                        let events = self.events.clone();
                        refuse::spawn(tcp, self.scheme, self.down.clone(), String::new(), false, events);
                    }
                }
            }
        }
    }
}

/// The accept loop's state.
struct Forwarder {
    pods: Api<Pod>,
    mux: Arc<Mux>,
    namespace: String,
    api: ApiServer,
    scheme: &'static str,
    tracking: watch::Receiver<Tracking>,
    answered: target::Answered,
    events: mpsc::Sender<ForwardEvent>,
    /// A stream opened ahead for the next connection.
    spare: Option<Opened>,
    /// A spare being opened.
    opening: Option<JoinHandle<Result<Opened, Explained>>>,
    /// Why the last spare could not be opened.
    trouble: Option<Explained>,
    /// When the spare being opened is tried.
    next_attempt: Instant,
    /// Whether the pod watch had trouble when last seen.
    watch_troubled: bool,
    backoff: Backoff,
    state: ForwardState,
    /// Why a new connection cannot be carried now: `None` exactly while listening.
    down: Option<Trouble>,
    /// The pod the forward last served (for saying which one is gone).
    last_pod: Option<String>,
    url: String,
    waiting: ForwardState,
}

impl Forwarder {
    fn target(&self) -> Option<Target> {
        self.tracking.borrow().target.clone()
    }

    /// Reacts to a new choice of pod (or trouble): drops a spare for another pod, opens one
    /// for this pod, and reports the state.
    async fn update(&mut self) {
        let target = self.target();
        if self.spare.as_ref().is_some_and(|s| Some(&s.pod) != target.as_ref().map(|t| &t.pod)) {
            self.spare = None;
        }
        let watch_troubled = self.tracking.borrow().trouble.is_some();
        match (std::mem::replace(&mut self.watch_troubled, watch_troubled), watch_troubled) {
            // The watch lost the API server: a stream opened now shows whether it answers (and
            // the watch, resumed, may say nothing more until a pod changes).
            (false, true) => self.spare = None,
            // The watch is back (the API server returned): a spare that failed meanwhile is
            // tried again now, not after its backoff, which can be seconds away.
            (true, false) if self.trouble.is_some() => {
                if let Some(opening) = self.opening.take() {
                    opening.abort();
                }
                self.backoff.reset();
            }
            _ => {}
        }
        if target.is_some() && self.spare.is_none() && self.opening.is_none() {
            self.open_spare(Duration::ZERO);
        }
        self.report().await;
    }

    async fn report(&mut self) {
        let tracking = self.tracking.borrow().clone();
        if let Some(target) = &tracking.target {
            self.last_pod = Some(target.pod.clone());
        }
        let state::Decision { state, down } = state::decide(
            tracking,
            self.trouble.clone(),
            self.last_pod.as_deref(),
            &self.url,
            &self.waiting,
        );
        self.down = down;
        if state != self.state {
            self.state = state.clone();
            let _ = self.events.send(ForwardEvent::State(state)).await;
        }
    }

    fn open_spare(&mut self, delay: Duration) {
        let Some(target) = self.target() else { return };
        let (pods, namespace, api) = (self.pods.clone(), self.namespace.clone(), self.api.clone());
        let mux = self.mux.clone();
        self.next_attempt = Instant::now() + delay;
        self.opening = Some(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            open(&pods, &mux, &namespace, &target, &api).await
        }));
    }

    async fn opened(&mut self, result: Result<Result<Opened, Explained>, tokio::task::JoinError>) {
        match result {
            Ok(Ok(opened)) if self.target().is_some_and(|t| t.pod == opened.pod) => {
                self.spare = Some(opened);
                self.trouble = None;
                self.backoff.reset();
                // The API server answers: whatever kept the watch from it is over.
                self.answered.answered();
            }
            // Opened for a pod that is no longer the target: open for the new one.
            Ok(Ok(_)) => self.open_spare(Duration::ZERO),
            Ok(Err(explained)) => {
                self.trouble = Some(explained);
                let delay = self.backoff.next().unwrap_or(RETRY_MOST);
                self.open_spare(delay);
            }
            Err(_) => self.open_spare(RETRY_MOST),
        }
        self.report().await;
    }

    /// The spare's stream ended before a connection used it: the pod's side closed it (its
    /// server went away, or refused the connection, as `said`). A kubelet connects a stream to
    /// the pod's port as soon as it opens, so this is the first sign of a server that died:
    /// said as [`ForwardEvent::PodClosed`], so that the route checks now rather than at its
    /// next interval. The next spare is opened after the backoff.
    async fn spare_ended(&mut self, said: Option<String>) {
        let Some(spare) = self.spare.take() else { return };
        tracing::debug!(pod = %spare.pod, ?said, "forward: the spare stream ended unused");
        let _ = self.events.send(ForwardEvent::PodClosed { pod: spare.pod.clone() }).await;
        let delay = self.backoff.next().unwrap_or(RETRY_MOST);
        self.open_spare(delay);
    }

    /// Carries a new connection: on the spare when it is still good, else on a stream opened
    /// for it; then opens the next spare. While the forward is not listening, the connection
    /// is answered at once with why (see [`refuse`]).
    fn connect(&mut self, tcp: TcpStream) {
        let _ = tcp.set_nodelay(true);
        if let Some(down) = self.down.clone() {
            let pod = self.last_pod.clone().unwrap_or_default();
            refuse::spawn(tcp, self.scheme, down, pod, false, self.events.clone());
            if self.opening.is_some() && self.next_attempt > Instant::now() + RETRY_ON_DEMAND {
                if let Some(opening) = self.opening.take() {
                    opening.abort();
                }
                self.open_spare(RETRY_ON_DEMAND);
            }
            return;
        }
        let spare = self
            .spare
            .take()
            .filter(|_| self.trouble.is_none())
            .and_then(|mut s| s.usable().then_some(s));
        if self.opening.is_none() {
            self.open_spare(Duration::ZERO);
        }
        let (pods, mux, namespace, api, tracking, events) = (
            self.pods.clone(),
            self.mux.clone(),
            self.namespace.clone(),
            self.api.clone(),
            self.tracking.clone(),
            self.events.clone(),
        );
        let scheme = self.scheme;
        tokio::spawn(async move {
            let opened = match spare {
                Some(spare) => spare,
                None => {
                    match open_for_connection(&pods, &mux, &namespace, &api, tracking.clone()).await
                    {
                        Ok(opened) => opened,
                        // The link went down under this connection: it is answered as the ones
                        // after it will be.
                        Err((pod, trouble)) => {
                            return refuse::spawn(tcp, scheme, trouble, pod, true, events);
                        }
                    }
                }
            };
            relay::relay(tcp, opened, namespace, tracking, events).await;
        });
    }
}

/// Opens a port-forward stream to `target`, or says why not (within [`API_ANSWER`]).
async fn open(
    pods: &Api<Pod>,
    mux: &Mux,
    namespace: &str,
    target: &Target,
    api: &ApiServer,
) -> Result<Opened, Explained> {
    match tokio::time::timeout(API_ANSWER, Opened::open(pods, target, mux)).await {
        Ok(opened) => {
            opened.map_err(|e| explain(&e, Doing::PortForward { namespace, pod: &target.pod }, api))
        }
        Err(_) => Err(no_answer(api, API_ANSWER)),
    }
}

/// Opens a stream for one connection, waiting (a while) for a Ready pod when there is none.
async fn open_for_connection(
    pods: &Api<Pod>,
    mux: &Mux,
    namespace: &str,
    api: &ApiServer,
    mut tracking: watch::Receiver<Tracking>,
) -> Result<Opened, (String, Trouble)> {
    let ready = tokio::time::timeout(WAIT_FOR_POD, tracking.wait_for(|t| t.target.is_some()))
        .await
        .ok()
        .and_then(|waited| waited.ok().and_then(|t| t.target.clone()));
    let target = match ready {
        Some(target) => target,
        None => {
            return Err((
                String::new(),
                Trouble::new(
                    format!("no Ready pod within {} s", WAIT_FOR_POD.as_secs()),
                    "check the Service's pods (`kubectl get pods`); the forward follows the next \
                     Ready one on its own",
                ),
            ));
        }
    };
    open(pods, mux, namespace, &target, api).await.map_err(|e| (target.pod.clone(), e.trouble))
}
