//! The one route runner: it plans a profile's link (a native port-forward, a direct URL, or a
//! router run as a child process), runs it, watches its health, and reports one stream of
//! [`RouteEvent`]s. The TUI's hub, `up` and `bridge` all run routes through it, so a fault
//! reads the same on every face: the [`RouteStatus`] in the stream is decided here
//! ([`status::decide`]), from facts gathered here, and nowhere else.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::burst::Bursts;
use super::router::{self, Program, Progress, RouterEvent};
use super::status::{self, Facts, HealthFact, LinkFact, RouteStatus};
use super::{Plan, RunOptions, plan, run_forward};
use crate::clientconfig::Launcher;
use crate::forward::{ForwardEvent, ForwardState};
use crate::probe::{self, Health, MonitorOptions, ProbeEvent, monitor};
use crate::profile::Profile;
use crate::trouble::Trouble;

/// How long a stopping route waits for its health watch to end its session.
const WATCH_ENDS_WITHIN: Duration = Duration::from_secs(5);

/// Something that happened to one route. [`RouteEvent::Status`] is the verdict; the others are
/// the details it rests on, for logs and panes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteEvent {
    /// The route's status changed.
    Status(RouteStatus),
    Forward(ForwardEvent),
    Probe(ProbeEvent),
    /// A router route's process.
    Router(RouterEvent),
    /// `more` events like this one came within a second of it (see [`burst`](super::burst)).
    Repeated {
        event: ForwardEvent,
        more: u32,
    },
}

/// A route to run.
#[derive(Debug, Clone)]
pub struct Runner {
    pub profile: Profile,
    pub options: RunOptions,
    /// How mcp-connect's own router is started, for a router route.
    pub launcher: Launcher,
    /// How health is watched once the link is up; `None`: it is not.
    pub health: Option<MonitorOptions>,
}

impl Runner {
    /// Runs the route until `cancel` (or until its link fails for good). The last event is the
    /// final status: stopped, or failed with its cause.
    pub async fn run(self, events: mpsc::Sender<RouteEvent>, cancel: CancellationToken) {
        let mut run = Run {
            facts: Facts::starting("starting"),
            shown: None,
            events,
            check_now: Arc::new(Notify::new()),
            watch: None,
            watch_events: None,
            watch_cancel: cancel.child_token(),
            bursts: Bursts::default(),
            replaced: None,
            passed_after_replacement: None,
            runner: self,
        };
        // A link that fails for good is stopped: it waits for the user.
        let link_cancel = cancel.child_token();
        let Link { mut task, mut forward, mut router } = run.start_link(&link_cancel);
        run.decide().await;
        let direct = task.is_none() && !matches!(run.facts.link, LinkFact::Failed(_));
        // The run lasts as long as its link's task: connections still relayed may hold the
        // link's channel open after it.
        loop {
            tokio::select! {
                event = next(&mut forward), if forward.is_some() => match event {
                    Some(event) => run.forward(event).await,
                    None => forward = None,
                },
                progress = next(&mut router), if router.is_some() => match progress {
                    Some(progress) => run.router(progress).await,
                    None => router = None,
                },
                event = next(&mut run.watch_events), if run.watch_events.is_some() => match event {
                    Some(event) => run.probe(event).await,
                    None => run.watch_events = None,
                },
                () = tokio::time::sleep_until(run.bursts.closes().unwrap_or_else(Instant::now)),
                    if run.bursts.closes().is_some() => run.close_bursts().await,
                _ = async { task.as_mut().expect("guarded").await }, if task.is_some() => break,
                () = cancel.cancelled(), if direct => break,
                else => break,
            }
            if matches!(run.facts.link, LinkFact::Failed(_)) {
                link_cancel.cancel();
            }
        }
        // What the link said last is still queued.
        while let Some(Ok(event)) = forward.as_mut().map(mpsc::Receiver::try_recv) {
            run.forward(event).await;
        }
        while let Some(Ok(progress)) = router.as_mut().map(mpsc::Receiver::try_recv) {
            run.router(progress).await;
        }
        run.stop().await;
    }
}

/// A link running: its task (none for a direct URL, or a link that could not start) and what
/// it reports.
#[derive(Default)]
struct Link {
    task: Option<JoinHandle<()>>,
    forward: Option<mpsc::Receiver<ForwardEvent>>,
    router: Option<mpsc::Receiver<Progress>>,
}

/// The next item of an optional channel.
async fn next<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// One run's state: the facts, and the status last reported.
struct Run {
    runner: Runner,
    facts: Facts,
    shown: Option<RouteStatus>,
    events: mpsc::Sender<RouteEvent>,
    /// Asks the health watch to check now rather than at its next interval.
    check_now: Arc<Notify>,
    /// The health watch under way, and its events.
    watch: Option<JoinHandle<()>>,
    watch_events: Option<mpsc::Receiver<ProbeEvent>>,
    watch_cancel: CancellationToken,
    /// Per-connection events counted rather than shown one by one.
    bursts: Bursts,
    /// The forward moved from the first pod to the second, and no check has passed since.
    replaced: Option<(String, String)>,
    /// A check passed after a replacement; its health, which follows, decides the note.
    passed_after_replacement: Option<(String, String)>,
}

impl Run {
    /// Starts the profile's link, to run until `cancel`.
    fn start_link(&mut self, cancel: &CancellationToken) -> Link {
        let (profile, options) = (&self.runner.profile, &self.runner.options);
        match plan(profile, options) {
            Plan::Forward { spec, context } => {
                let (tx, rx) = mpsc::channel(256);
                let kubeconfig = options.kubeconfig.clone();
                let run = run_forward(spec, context, kubeconfig, tx, cancel.clone());
                self.facts.link = LinkFact::Starting("connecting to the cluster".to_owned());
                Link { task: Some(tokio::spawn(run)), forward: Some(rx), router: None }
            }
            Plan::Direct { url } => {
                self.facts.url = Some(url);
                self.link_up();
                Link::default()
            }
            Plan::Router => match Program::of(profile, options, &self.runner.launcher) {
                Some(program) => {
                    let doing = format!("starting the router: {}", program.display());
                    self.facts.link = LinkFact::Starting(doing);
                    let (tx, rx) = mpsc::channel(256);
                    let run = router::supervise(program, tx, cancel.clone());
                    Link { task: Some(tokio::spawn(run)), forward: None, router: Some(rx) }
                }
                None => {
                    let cause = "the router profile names an empty command";
                    let fix = "give the profile's `command` a program, or remove it to run \
                               mcp-connect's own router";
                    self.facts.link = LinkFact::Failed(Trouble::new(cause, fix));
                    Link::default()
                }
            },
        }
    }

    async fn send(&self, event: RouteEvent) {
        let _ = self.events.send(event).await;
    }

    /// Reports the status the facts make now, if it changed. While there is trouble, what it
    /// rests on changing alone is not news: the cause and fix are what faces show.
    async fn decide(&mut self) {
        let status = status::decide(&self.facts);
        let news = |shown: &RouteStatus| match (&shown.trouble, &status.trouble) {
            (Some(_), Some(_)) => {
                *shown != RouteStatus { evidence: shown.evidence.clone(), ..status.clone() }
            }
            _ => *shown != status,
        };
        if self.shown.as_ref().is_none_or(news) {
            self.shown = Some(status.clone());
            self.send(RouteEvent::Status(status)).await;
        }
    }

    /// The link carries connections (again): its health is checked now.
    fn link_up(&mut self) {
        self.facts.link = LinkFact::Up;
        self.facts.new_connection = None;
        // A check that failed while the link was away says nothing of the link now.
        if matches!(self.facts.health, HealthFact::Checked(Health::Down(_))) {
            self.facts.health = HealthFact::Unchecked;
        }
        if self.watch.is_some() {
            self.check_now.notify_one();
            return;
        }
        if !matches!(self.facts.health, HealthFact::Unchecked) {
            return;
        }
        let Some(options) = self.runner.health.clone() else {
            self.facts.health = HealthFact::Unwatched("health checks are off".to_owned());
            return;
        };
        let (profile, run) = (&self.runner.profile, &self.runner.options);
        match probe::from_profile::target(profile, run.local_port, run.kube()) {
            Ok((target, hints)) => {
                let (tx, rx) = mpsc::channel(64);
                let check_now = Some(self.check_now.clone());
                let options = MonitorOptions { hints, check_now, ..options };
                let cancel = self.watch_cancel.clone();
                let task = tokio::spawn(probe::monitor(target, options, tx, cancel));
                self.watch = Some(task);
                self.watch_events = Some(rx);
            }
            Err(why) => self.facts.health = HealthFact::Unwatched(why.cause),
        }
    }

    async fn forward(&mut self, event: ForwardEvent) {
        match &event {
            ForwardEvent::State(state) => match state {
                ForwardState::Starting => {
                    self.facts.link = LinkFact::Starting("connecting to the cluster".to_owned());
                }
                // The forward's own words: what its refused connections are answered with.
                ForwardState::WaitingForPod { .. } => {
                    self.facts.link = LinkFact::Waiting(state.trouble().expect("waiting has one"));
                }
                ForwardState::Listening { url, pod } => {
                    self.facts.url = Some(url.clone());
                    if let Some(old) = self.facts.pod.as_ref().filter(|old| *old != pod) {
                        self.replaced = Some((old.clone(), pod.clone()));
                    }
                    self.facts.pod = Some(pod.clone());
                    self.link_up();
                }
                ForwardState::Reconnecting(trouble) => {
                    self.facts.link = LinkFact::Broken(trouble.clone());
                }
                ForwardState::Failed(trouble) => {
                    self.facts.link = LinkFact::Failed(trouble.clone())
                }
                ForwardState::Stopped => {}
            },
            ForwardEvent::ConnectionError { trouble, .. } => {
                self.facts.new_connection = Some(trouble.clone());
                self.check_now.notify_one();
            }
            // A connection cut under way, or one answered while the link is down: the link's
            // state says what matters; a check follows.
            ForwardEvent::ConnectionLost { .. } => self.check_now.notify_one(),
            ForwardEvent::Refused { .. } => {}
            // The pod's side closed a connection: checked now, not at the next interval.
            ForwardEvent::PodClosed { .. } => self.check_now.notify_one(),
            // New connections are carried: what the status rests on, not news for a face (one
            // comes per connection).
            ForwardEvent::Answered { .. } => {
                self.facts.new_connection = None;
                return self.decide().await;
            }
            ForwardEvent::PodLog { .. } | ForwardEvent::Warning { .. } => {}
        }
        if self.bursts.admit(&event, Instant::now()) {
            self.send(RouteEvent::Forward(event)).await;
        }
        self.decide().await;
    }

    /// Tells how many more of each burst came in the window that closes now.
    async fn close_bursts(&mut self) {
        for (event, more) in self.bursts.close(Instant::now()) {
            self.send(RouteEvent::Repeated { event, more }).await;
        }
    }

    async fn router(&mut self, progress: Progress) {
        match progress {
            Progress::Serving(url) => {
                self.facts.url = Some(url);
                self.link_up();
            }
            Progress::Failed(trouble) => self.facts.link = LinkFact::Failed(trouble),
            Progress::Router(event) => {
                match &event {
                    RouterEvent::Exited { cause, restart_in } => {
                        self.facts.gateways = None;
                        self.facts.unavailable = None;
                        self.facts.link = LinkFact::Broken(Trouble::new(
                            cause.clone(),
                            format!(
                                "nothing to do if it comes back: it is started again in {} ms; \
                                 if it keeps dying, its log says why",
                                restart_in.as_millis()
                            ),
                        ));
                    }
                    RouterEvent::Gateways { rows, unavailable } => {
                        self.facts.gateways = Some(rows.clone());
                        self.facts.unavailable = unavailable.clone();
                    }
                    RouterEvent::Started { .. } | RouterEvent::Log(_) => {}
                }
                self.send(RouteEvent::Router(event)).await;
            }
        }
        self.decide().await;
    }

    /// After the check that passed on pod `new`, which replaced `old`, as `passed` says: in
    /// the 2026 era (no session of its own to lose) on a server that also speaks the
    /// handshake, what the 2025 clients lost with the old pod.
    async fn sessions_gone(&mut self, (old, new): (String, String), passed: &HealthFact) {
        if handshake_unchecked(passed) {
            let note = format!(
                "pod {old} was replaced by {new}: the 2025 sessions on the old pod are gone with \
                 it; those clients re-initialize (Claude Code does this on its own)"
            );
            self.send(RouteEvent::Probe(ProbeEvent::Note(note))).await;
        }
    }

    async fn probe(&mut self, mut event: ProbeEvent) {
        match &event {
            // The first check on a replacement pod found the session forgotten: that is what a
            // new pod is, and what every client of the route meets.
            ProbeEvent::Note(note) if note == monitor::SESSION_FORGOTTEN => {
                if let Some((old, new)) = self.replaced.take() {
                    event = ProbeEvent::Note(format!(
                        "pod {old} was replaced by {new}: the new pod has no session; clients \
                         re-initialize (Claude Code does this on its own)"
                    ));
                }
            }
            // A check passed (its note, if any, came before): a later forgotten session is
            // not the replacement's doing. A check in the 2026 era has no session to lose, but
            // the 2025 clients of a server that speaks both eras had theirs on the old pod.
            // Its health comes after it when it changed (from down): decided then.
            ProbeEvent::Latency(_) => {
                if let Some(pods) = self.replaced.take() {
                    match &self.facts.health {
                        HealthFact::Checked(Health::Down(_)) | HealthFact::Unchecked => {
                            self.passed_after_replacement = Some(pods);
                        }
                        passed => {
                            let passed = passed.clone();
                            self.sessions_gone(pods, &passed).await;
                        }
                    }
                }
            }
            ProbeEvent::Health(health) if !matches!(health, Health::Down(_)) => {
                if let Some(pods) = self.passed_after_replacement.take() {
                    let passed = HealthFact::Checked(health.clone());
                    self.sessions_gone(pods, &passed).await;
                }
            }
            _ => {}
        }
        if let ProbeEvent::Health(health) = &event {
            // A check that passed opened a new connection: new connections work again.
            if !matches!(health, Health::Down(_)) {
                self.facts.new_connection = None;
            }
            self.facts.health = HealthFact::Checked(health.clone());
        }
        self.send(RouteEvent::Probe(event)).await;
        self.decide().await;
    }

    /// Ends the health watch (its session closed) and reports the final status: failed when
    /// the link failed, else stopped.
    async fn stop(mut self) {
        self.close_bursts().await;
        self.watch_cancel.cancel();
        if let Some(watch) = self.watch.take() {
            let _ = tokio::time::timeout(WATCH_ENDS_WITHIN, watch).await;
        }
        if !matches!(self.facts.link, LinkFact::Failed(_)) {
            self.facts.link = LinkFact::Stopped;
        }
        self.decide().await;
    }
}

/// Whether the route's checks speak 2026-07-28 (no session) to a server that also speaks the
/// 2025 handshake (whose clients keep sessions on the pod).
fn handshake_unchecked(health: &HealthFact) -> bool {
    let HealthFact::Checked(Health::Healthy { server, .. } | Health::Slow { server, .. }) = health
    else {
        return false;
    };
    let modern = crate::net::mcp::MODERN_VERSION;
    server.protocol_version == modern && server.supported.iter().any(|v| v.as_str() < modern)
}
