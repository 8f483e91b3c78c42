//! A router route: mcp-connect's own router (`mcp-connect router NAME`) or the command of
//! another, run as a child process. Its stderr is its log; it counts as serving once it says so
//! (mcp-connect's router) or once its port takes connections (another); mcp-connect's router is
//! asked for `/health` every second; a router that dies is started again with backoff.

use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::clientconfig::Launcher;
use crate::profile::{Link, Profile};
use crate::router::{GatewayState, HealthReport};
use crate::trouble::Trouble;

use super::RunOptions;

/// The first wait before a dead router is started again; it doubles up to [`MOST_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MOST_BACKOFF: Duration = Duration::from_secs(30);
/// A router that ran this long before dying is started again at the first wait.
const STABLE_AFTER: Duration = Duration::from_secs(30);
/// How long a stopped router may take to end its sessions before it is killed.
const STOP_WITHIN: Duration = Duration::from_secs(3);
/// What mcp-connect's router writes to stderr once it takes connections.
const SERVING: &str = "router: serving ";
/// How often `/health` is read, and another router's port tried before it takes connections.
const HEALTH_EVERY: Duration = Duration::from_secs(1);
const READY_EVERY: Duration = Duration::from_millis(100);

/// What a router route's process does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouterEvent {
    /// It was started, as this command line.
    Started { pid: u32, command: String },
    /// A line it wrote to stderr.
    Log(String),
    /// Its gateways as its `/health` shows them, when they change (mcp-connect's router only),
    /// and, while none is healthy, what it tells its clients.
    Gateways { rows: Vec<GatewayRow>, unavailable: Option<Trouble> },
    /// It ended: why, and how soon it is started again.
    Exited { cause: String, restart_in: Duration },
}

/// One gateway of the router's pools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRow {
    pub pool: String,
    pub url: String,
    pub state: GatewayState,
    pub weight: u32,
    /// The last check's round trip.
    pub latency: Option<Duration>,
    /// Client sessions open on it.
    pub sessions: usize,
    pub last_failure: Option<String>,
    /// What to do about it, as the router says.
    pub last_fix: Option<String>,
}

/// The rows of a `/health` report.
pub fn rows(report: &HealthReport) -> Vec<GatewayRow> {
    let row = |pool: &str, g: &crate::router::GatewayHealth| GatewayRow {
        pool: pool.to_owned(),
        url: g.url.clone(),
        state: g.state,
        weight: g.weight,
        latency: g.latency_ms.map(|ms| Duration::from_secs_f64(ms.max(0.0) / 1000.0)),
        sessions: g.sessions,
        last_failure: g.last_failure.clone(),
        last_fix: g.last_fix.clone(),
    };
    (report.pools.iter())
        .flat_map(|pool| pool.gateways.iter().map(|g| row(&pool.name, g)))
        .collect()
}

/// How to start the route's router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub program: String,
    pub args: Vec<String>,
    /// mcp-connect's own router, which serves `/health`.
    pub own: bool,
    /// Where it takes connections.
    pub listen: SocketAddr,
}

impl Program {
    /// The profile's `command`, or `mcp-connect router NAME` on the options' port and context
    /// (over the launcher's global flags). `None` for a profile that is not a router.
    pub fn of(profile: &Profile, options: &RunOptions, launcher: &Launcher) -> Option<Program> {
        let Link::Router(router) = &profile.link else { return None };
        let port = options.local_port.unwrap_or(router.local_port.get());
        let listen = SocketAddr::new(router.local_address, port);
        if let Some(command) = &router.command {
            let (program, args) = command.split_first()?;
            let (program, args) = (program.clone(), args.to_vec());
            return Some(Program { program, args, own: false, listen });
        }
        let mut args = Vec::new();
        let mut global = launcher.args.iter();
        while let Some(arg) = global.next() {
            if arg == "--context" && options.context.is_some() {
                global.next();
                continue;
            }
            args.push(arg.clone());
        }
        if let Some(context) = &options.context {
            args.extend(["--context".to_owned(), context.clone()]);
        }
        args.extend(["router".to_owned(), profile.name.to_string()]);
        args.extend(["--local-port".to_owned(), port.to_string()]);
        Some(Program { program: launcher.program.clone(), args, own: true, listen })
    }

    /// The command line, quoted as a shell would need it.
    pub fn display(&self) -> String {
        shell_words::join(std::iter::once(&self.program).chain(&self.args))
    }

    fn spawn(&self) -> std::io::Result<Child> {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // The router goes when mcp-connect does, even when mcp-connect is killed.
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent's.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        command.spawn()
    }
}

/// The wait before the next start, for a run that lasted `ran`: doubling, back to the first
/// after a stable run.
fn restart_wait(backoff: &mut Backoff, ran: Duration) -> Duration {
    if ran >= STABLE_AFTER {
        backoff.reset();
    }
    backoff.next().unwrap_or(MOST_BACKOFF)
}

/// What a router route reports while it runs.
#[derive(Debug)]
pub enum Progress {
    Router(RouterEvent),
    /// It takes connections at this URL (after each start).
    Serving(String),
    /// It cannot be started at all: cause and fix. Nothing follows.
    Failed(Trouble),
}

/// Runs the router until `cancel`, started again with backoff each time it dies.
pub async fn supervise(
    program: Program,
    progress: mpsc::Sender<Progress>,
    cancel: CancellationToken,
) {
    let mut backoff = Backoff::new(FIRST_BACKOFF, MOST_BACKOFF);
    loop {
        let started = Instant::now();
        let cause = match run_once(&program, &progress, &cancel).await {
            Ended::Stopped => return,
            Ended::Died(cause) => cause,
            Ended::Unstartable(trouble) => {
                let _ = progress.send(Progress::Failed(trouble)).await;
                return;
            }
        };
        let restart_in = restart_wait(&mut backoff, started.elapsed());
        tracing::warn!(%cause, ?restart_in, "router died");
        let _ = progress.send(Progress::Router(RouterEvent::Exited { cause, restart_in })).await;
        tokio::select! {
            () = tokio::time::sleep(restart_in) => {}
            () = cancel.cancelled() => return,
        }
    }
}

/// How one run of the process ended.
enum Ended {
    /// Stopped on purpose.
    Stopped,
    /// It exited, or did not start: why.
    Died(String),
    /// It cannot be started at all (no such program): cause and fix.
    Unstartable(Trouble),
}

/// Runs the process once, until it exits or `cancel`.
async fn run_once(
    program: &Program,
    progress: &mpsc::Sender<Progress>,
    cancel: &CancellationToken,
) -> Ended {
    // A port already taken would only make the router die at every start.
    if let Err(busy) = crate::forward::bind::bind(program.listen).await {
        return Ended::Unstartable(crate::router::bind_error(busy));
    }
    let mut child = match program.spawn() {
        Ok(child) => child,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ended::Unstartable(Trouble::new(
                format!("the router command `{}` is not found", program.program),
                "install it, or give its absolute path in the profile's `command`",
            ));
        }
        Err(err) => return Ended::Died(format!("`{}` does not start: {err}", program.display())),
    };
    let pid = child.id().unwrap_or_default();
    let started = RouterEvent::Started { pid, command: program.display() };
    let _ = progress.send(Progress::Router(started)).await;
    let (said_serving, serving) = oneshot::channel();
    let said_serving = program.own.then_some(said_serving);
    let log = (child.stderr.take())
        .map(|stderr| tokio::spawn(read_log(stderr, progress.clone(), said_serving)));
    let serving = async move {
        match program.own {
            true => serving.await.is_ok(),
            false => {
                while tokio::net::TcpStream::connect(program.listen).await.is_err() {
                    tokio::time::sleep(READY_EVERY).await;
                }
                true
            }
        }
    };
    let status = tokio::select! {
        status = child.wait() => Some(status),
        () = cancel.cancelled() => None,
        () = watch(program, serving, progress) => None,
    };
    let Some(status) = status else {
        stop(&mut child).await;
        return Ended::Stopped;
    };
    let status = status.map_or_else(|e| format!("status unknown: {e}"), describe);
    // Its last words, once stderr has closed.
    let last = match log {
        Some(log) => {
            tokio::time::timeout(Duration::from_secs(1), log).await.ok().and_then(Result::ok)
        }
        None => None,
    };
    let said = last.flatten().map(|line| format!(": {line}")).unwrap_or_default();
    Ended::Died(format!("the router exited ({status}){said}"))
}

/// SIGTERM, time to end its sessions, then SIGKILL.
async fn stop(child: &mut Child) {
    if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
        // SAFETY: a plain signal to our own child, which has not been reaped yet.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        if tokio::time::timeout(STOP_WITHIN, child.wait()).await.is_ok() {
            return;
        }
        tracing::warn!(pid, "the router did not stop within 3 s; killing it");
    }
    let _ = child.kill().await;
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

/// Passes stderr on line by line until it closes, telling `serving` when the router says it
/// serves; answers the last line.
async fn read_log(
    stderr: ChildStderr,
    progress: mpsc::Sender<Progress>,
    mut serving: Option<oneshot::Sender<()>>,
) -> Option<String> {
    let mut lines = BufReader::new(stderr).lines();
    let mut last = None;
    while let Ok(Some(line)) = lines.next_line().await {
        let line = line.trim().to_owned();
        if line.is_empty() {
            continue;
        }
        let _ = progress.send(Progress::Router(RouterEvent::Log(line.clone()))).await;
        if line.starts_with(SERVING)
            && let Some(serving) = serving.take()
        {
            let _ = serving.send(());
        }
        last = Some(line);
    }
    last
}

/// Tells when the router serves, then (mcp-connect's router) its gateways when they change.
/// Never ends.
async fn watch(
    program: &Program,
    serving: impl Future<Output = bool>,
    progress: &mpsc::Sender<Progress>,
) {
    if !serving.await {
        return std::future::pending().await;
    }
    let _ = progress.send(Progress::Serving(format!("http://{}/mcp", program.listen))).await;
    let client = reqwest::Client::builder().no_proxy().timeout(HEALTH_EVERY).build();
    let (true, Ok(client)) = (program.own, client) else {
        return std::future::pending().await;
    };
    let url = format!("http://{}/health", program.listen);
    let mut shown = None;
    loop {
        let read = async { client.get(&url).send().await.ok()?.json::<HealthReport>().await.ok() };
        if let Some(health) = read.await {
            let now = (rows(&health), health.unavailable);
            if shown.as_ref() != Some(&now) {
                let (rows, unavailable) = now.clone();
                let event = RouterEvent::Gateways { rows, unavailable };
                let _ = progress.send(Progress::Router(event)).await;
                shown = Some(now);
            }
        }
        tokio::time::sleep(HEALTH_EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Catalog;

    #[test]
    fn backoff_doubles_to_its_ceiling_and_starts_over_after_a_stable_run() {
        let mut backoff = Backoff::new(FIRST_BACKOFF, MOST_BACKOFF);
        let short = Duration::from_secs(1);
        let mut wait = |ran| restart_wait(&mut backoff, ran);
        let waits: Vec<u64> = (0..9).map(|_| wait(short).as_millis() as u64).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
        assert_eq!(wait(STABLE_AFTER), FIRST_BACKOFF);
        assert_eq!(wait(short), FIRST_BACKOFF * 2);
    }

    #[test]
    fn the_own_router_runs_on_the_session_port_and_context() {
        let catalog = Catalog::builtin();
        let profile = catalog.get("router").unwrap().profile.clone().unwrap();
        let launcher = Launcher {
            program: "/bin/mcp-connect".to_owned(),
            args: ["--kubeconfig", "/k", "--context", "a", "--profiles", "/p"]
                .map(str::to_owned)
                .to_vec(),
        };
        let plain = Program::of(&profile, &RunOptions::default(), &launcher).unwrap();
        assert_eq!(
            plain.display(),
            "/bin/mcp-connect --kubeconfig /k --context a --profiles /p router router \
             --local-port 8080"
        );
        assert!(plain.own);
        let options = RunOptions {
            context: Some("b".to_owned()),
            local_port: Some(18080),
            ..RunOptions::default()
        };
        let moved = Program::of(&profile, &options, &launcher).unwrap();
        assert_eq!(
            moved.display(),
            "/bin/mcp-connect --kubeconfig /k --profiles /p --context b router router \
             --local-port 18080"
        );
        assert_eq!(moved.listen.to_string(), "127.0.0.1:18080");
    }

    #[test]
    fn another_router_runs_as_its_profile_says() {
        let yaml = "name: other\ntitle: Other\nlink:\n  router:\n    local_port: 9000\n    \
                    command: [mcp-router, --config, /etc/r.yaml]\n";
        let profile = crate::profile::parse(yaml, "other.yaml").unwrap();
        let program = Program::of(&profile, &RunOptions::default(), &Launcher::default()).unwrap();
        assert_eq!(program.display(), "mcp-router --config /etc/r.yaml");
        assert!(!program.own);
        assert_eq!(program.listen.to_string(), "127.0.0.1:9000");
    }
}
