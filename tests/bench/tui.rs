//! The TUI's figures, against the lab: `cargo bench --bench tui`.
//!
//! P5 the backend dies → the App (fed by the engine, drawn by run.rs's loop) shows the route
//! down; P6 the real `mcp-connect demo` idle in tmux with every route started: CPU, RSS, first
//! frame; P8 10,000 pod log lines/s through the App's loop: frame time and memory.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command as Process;
use std::time::Duration;

use mcp_connect::forward::ForwardEvent;
use mcp_connect::lab::kube::FakeApiServer;
use mcp_connect::lab::kube::seed::{self, Backends};
use mcp_connect::lab::kube::store::Cluster;
use mcp_connect::lab::mcp::{McpServer, McpServerOptions};
use mcp_connect::probe::MonitorOptions;
use mcp_connect::profile::Catalog;
use mcp_connect::supervisor::Phase;
use mcp_connect::supervisor::hub::{self, Command, Event, HubOptions, RouteEvent};
use mcp_connect::tui::app::{App, Header};
use mcp_connect::tui::panes::logs::CAPACITY;
use mcp_connect::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until};

/// run.rs's frame pacing and burst drain.
const FRAME: Duration = Duration::from_millis(16);
const DRAIN: usize = 4096;
const ROUTE: &str = "serena-direct";
const KILLS: u32 = 5;
const DELETES: u32 = 3;
const IDLE: Duration = Duration::from_secs(30);
const FIRST_FRAMES: usize = 5;
const LINES_PER_SECOND: usize = 10_000;
const FEED: Duration = Duration::from_secs(5);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split(' ').next().unwrap_or("?").to_owned();
    println!("tui benchmark: lab reference MCP server, MonitorOptions::default(); load {load}");
    p5().await;
    p6().await;
    p6b().await;
    p8().await;
}

/// The App drawn on a TestBackend the way run.rs draws it: every waiting event taken (up to
/// 4096 more per wake), one frame when dirty, at most one per [`FRAME`].
struct Screen {
    app: App,
    terminal: Terminal<TestBackend>,
    next_frame: Instant,
    draws: Vec<Duration>,
}

impl Screen {
    fn new(width: u16, height: u16) -> Screen {
        let dir = std::env::temp_dir();
        let app = App::from_catalog(&Catalog::builtin(), Header::default(), dir, Theme::colored());
        let terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        Screen { app, terminal, next_frame: Instant::now(), draws: Vec::new() }
    }

    /// Runs the loop until `done` holds on a drawn frame (answers when), or the events end or
    /// `deadline` passes (`None`).
    async fn run(
        &mut self,
        events: &mut mpsc::Receiver<Event>,
        deadline: Instant,
        mut done: impl FnMut(&App) -> bool,
    ) -> Option<Instant> {
        loop {
            let frame_due = self.app.dirty_peek().then_some(self.next_frame);
            tokio::select! {
                event = events.recv() => {
                    self.app.on_event(event?);
                    for _ in 0..DRAIN {
                        let Ok(event) = events.try_recv() else { break };
                        self.app.on_event(event);
                    }
                }
                () = sleep_until(frame_due.unwrap_or(deadline)), if frame_due.is_some() => {}
                () = sleep_until(deadline) => return None,
            }
            if self.app.dirty_peek() && Instant::now() >= self.next_frame {
                self.app.dirty();
                let started = Instant::now();
                self.terminal.draw(|frame| self.app.draw(frame)).unwrap();
                self.draws.push(started.elapsed());
                self.next_frame = Instant::now() + FRAME;
                if done(&self.app) {
                    return Some(Instant::now());
                }
            }
        }
    }
}

/// The lab's parts, held here so that the backend can be killed: Serena's Service backed by
/// the reference MCP server; replacement pods never turn Ready on their own.
struct Lab {
    api: FakeApiServer,
    backend: Option<McpServer>,
    addr: SocketAddr,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Lab {
    async fn start() -> Lab {
        let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let backend = McpServer::start(any, McpServerOptions::default()).await.unwrap();
        let addr = backend.addr();
        let cluster = Cluster::default();
        let backends = Backends { serena: Some(addr), ..Backends::default() };
        seed::seed(&cluster, &backends, Duration::from_secs(86_400));
        let api = FakeApiServer::start(cluster).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        api.write_kubeconfig(&kubeconfig, seed::NAMESPACE).unwrap();
        Lab { api, backend: Some(backend), addr, kubeconfig, _dir: dir }
    }

    /// The pod serving Serena's Service now (Ready, not terminating).
    fn serena_pod(&self) -> Option<String> {
        let pods = self.api.cluster().pods(Some(seed::NAMESPACE)).0;
        pods.into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter_map(|p| p.metadata.name)
            .find(|n| n.starts_with(seed::SERENA))
    }
}

async fn p5() {
    let mut lab = Lab::start().await;
    let catalog = Catalog::builtin();
    let profiles = catalog.entries().iter().filter_map(|e| e.profile.clone().ok()).collect();
    let options = HubOptions {
        kubeconfig: Some(lab.kubeconfig.clone()),
        monitor: MonitorOptions::default(),
        writer: None,
        profiles: None,
        certs: None,
        launcher: Default::default(),
    };
    let (commands, mut events, _engine) = hub::spawn(profiles, options);
    let local_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().ok();
    let local_port = local_port.map(|a| a.port());
    commands
        .send(Command::Override { profile: ROUTE.into(), context: None, local_port })
        .await
        .unwrap();
    commands.send(Command::Activate(ROUTE.into())).await.unwrap();
    let mut screen = Screen::new(120, 40);
    let healthy = |app: &App| app.route(ROUTE).is_some_and(|r| r.status.phase == Phase::Serving);
    let wait = |s| Instant::now() + Duration::from_secs(s);
    screen.run(&mut events, wait(20), healthy).await.expect("serena-direct turns healthy");
    let interval = MonitorOptions::default().interval;

    // (a) The backend process dies, its pod still Ready (before a liveness probe notices);
    // (b) the pod is deleted and no replacement turns Ready (scaled down, crash-looping).
    let faults =
        [("P5a backend killed", KILLS, true), ("P5b pod deleted, none Ready", DELETES, false)];
    for (label, runs, kill) in faults {
        let (mut down, mut hinted) = (Vec::new(), Vec::new());
        for i in 0..runs {
            // Each fault at another point of the health interval: right after a check, later.
            screen.run(&mut events, Instant::now() + interval * i / runs, |_| false).await;
            let pod = lab.serena_pod().unwrap();
            let at = Instant::now();
            if kill {
                lab.backend.take().unwrap().shutdown().await;
            } else {
                lab.api.cluster().delete_pod(seed::NAMESPACE, &pod).unwrap();
            }
            let mut hint = None;
            let shown = screen
                .run(&mut events, wait(60), |app| {
                    let route = app.route(ROUTE).unwrap();
                    if route.status.trouble.is_some() {
                        hint.get_or_insert_with(Instant::now);
                    }
                    route.status.phase == Phase::Down
                })
                .await;
            down.push(shown.expect("the route shows down within 60 s") - at);
            hinted.extend(hint.map(|h| h - at));
            // Back to healthy: the backend serves again / the replacement turns Ready.
            if kill {
                lab.backend = Some(McpServer::start(lab.addr, Default::default()).await.unwrap());
            } else {
                let replacement = lab.serena_pod().unwrap();
                lab.api.cluster().set_ready(seed::NAMESPACE, &replacement, true).unwrap();
            }
            screen.run(&mut events, wait(30), healthy).await.expect("healthy again");
        }
        let hint = if hinted.is_empty() { "never".to_owned() } else { spread(&hinted) };
        println!(
            "{label} -> App shows down, of {runs}: {} (target <= 1.0 s) {}; the forward's hint \
             on screen: {hint}",
            spread(&down),
            verdict(down.iter().all(|d| d.as_secs_f64() <= 1.0)),
        );
    }
    let _ = commands.send(Command::Shutdown).await;
    screen.run(&mut events, wait(10), |_| false).await;
}

/// The real binary in tmux (its own server), against the demo's in-process lab.
async fn p6() {
    let home = tempfile::tempdir().unwrap();
    let env = ["HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"]
        .map(|var| format!("{var}={}", home.path().join(var.to_lowercase()).display()));
    let tmux = Tmux(format!("mcp-connect-bench-{}", std::process::id()), env);
    // The server is up before the clock starts, so the first frame is the program's alone.
    tmux.run(&["new-session", "-d", "-s", "idle", "sleep", "3600"]);
    let mut frames = Vec::new();
    for run in 1..FIRST_FRAMES {
        let (first_frame, pid) = tmux.demo(&format!("demo{run}"));
        frames.push(first_frame);
        tmux.quit(&format!("demo{run}"), pid).await;
    }
    let (first_frame, pid) = tmux.demo("demo");
    frames.push(first_frame);
    frames.sort();
    let first_frame = frames[frames.len() / 2];

    // Baseline: the screen open, no route running.
    sleep(Duration::from_secs(5)).await;
    let (base_cpu, base_rss) = idle(pid, Duration::from_secs(15)).await;
    // Enter activates the first route; `r` starts another without stopping the active one.
    for key in ["Enter", "j", "r", "j", "r", "j", "r", "g"] {
        tmux.run(&["send-keys", "-t", "demo", key]);
        sleep(Duration::from_millis(100)).await;
    }
    sleep(Duration::from_secs(10)).await;
    // The Routes list's rows, `● serena-direct   port-forward 0.89ms`: glyph, name, latency.
    let states: Vec<String> = (tmux.run(&["capture-pane", "-p", "-t", "demo"]).lines())
        .skip_while(|line| !line.contains("Routes"))
        .skip(1)
        .take_while(|line| !line.starts_with('└'))
        .filter_map(|line| line.split('│').nth(1))
        .map(|cell| {
            let words: Vec<&str> = cell.split_whitespace().collect();
            words.iter().take(2).chain(words.get(3)).copied().collect::<Vec<_>>().join(" ")
        })
        .collect();
    let (cpu, rss) = idle(pid, IDLE).await;
    let (rss, peak, base_rss) = (mb(rss), mb(proc_kb(pid, "VmHWM:")), mb(base_rss));
    let (frame, worst, idle_s) = (ms(first_frame), ms(frames[frames.len() - 1]), IDLE.as_secs());
    let met = [cpu <= 0.5, rss <= 40.0, first_frame <= Duration::from_millis(150)].map(verdict);
    println!(
        "P6 demo idle {idle_s} s, routes [{}]: CPU {cpu:.2} % of a core, RSS {rss:.1} MB (peak \
         {peak:.1}); no route running: CPU {base_cpu:.2} %, RSS {base_rss:.1} MB; first frame \
         median {frame} (worst {worst}) of {FIRST_FRAMES} (targets CPU <= 0.5 %, RSS <= 40 MB, \
         first frame <= 150 ms) {}",
        states.join(" | "),
        met.join(" ")
    );
    tmux.quit("demo", pid).await;
}

/// P6 as a user runs it: `mcp-connect tui` with its four routes live against a lab in a
/// process of its own (`mcp-connect lab --write-profiles`), so that the TUI's CPU is its own.
async fn p6b() {
    use std::io::BufRead;
    let home = tempfile::tempdir().unwrap();
    let env = ["HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"]
        .map(|var| format!("{var}={}", home.path().join(var.to_lowercase()).display()));
    let profiles = home.path().join("lab-profiles");
    let mut lab = Process::new(env!("CARGO_BIN_EXE_mcp-connect"))
        .envs(env.iter().filter_map(|e| e.split_once('=')))
        .arg("lab")
        .arg("--write-profiles")
        .arg(&profiles)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("mcp-connect lab");
    let printed: Vec<String> = std::io::BufReader::new(lab.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .take_while(|l| l != "lab ready")
        .collect();
    let kubeconfig =
        printed.iter().find_map(|l| l.strip_prefix("kubeconfig: ")).unwrap().to_owned();
    let tmux = Tmux(format!("mcp-connect-bench-b-{}", std::process::id()), env);
    tmux.run(&["new-session", "-d", "-s", "idle", "sleep", "3600"]);
    let profiles = profiles.display().to_string();
    let tui = ["--kubeconfig", &kubeconfig, "--profiles", &profiles, "tui"];
    let (_, pid) = tmux.start("tui", &tui);
    for key in ["Enter", "j", "r", "j", "r", "j", "r", "g"] {
        tmux.run(&["send-keys", "-t", "tui", key]);
        sleep(Duration::from_millis(100)).await;
    }
    sleep(Duration::from_secs(10)).await;
    let screen = tmux.run(&["capture-pane", "-p", "-t", "tui"]);
    let serving = screen.lines().filter(|l| l.starts_with("│●")).count();
    // The router route's `mcp-connect router` child, if it runs as one.
    let children = Process::new("pgrep").args(["-P", &pid.to_string()]).output().unwrap();
    let router = String::from_utf8_lossy(&children.stdout)
        .lines()
        .filter_map(|line| line.trim().parse::<u32>().ok())
        .find(|child| {
            let cmdline = std::fs::read(format!("/proc/{child}/cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&cmdline).contains("router")
        });
    let router_cpu = async {
        match router {
            Some(router) => Some(idle(router, IDLE).await.0),
            None => None,
        }
    };
    let ((cpu, rss), router_cpu) = tokio::join!(idle(pid, IDLE), router_cpu);
    let router_cpu = router_cpu.map(|c| format!("{c:.2} %")).unwrap_or_else(|| "-".to_owned());
    println!(
        "P6b tui idle {} s, {serving} of 4 routes serving, against a lab in its own process: CPU \
         {cpu:.2} % of a core (target <= 0.5 %) {}, RSS {:.1} MB; its router child {router_cpu}",
        IDLE.as_secs(),
        verdict(cpu <= 0.5),
        mb(rss)
    );
    tmux.quit("tui", pid).await;
    let _ = lab.kill();
    let _ = lab.wait();
}

/// A tmux server of our own (`-L NAME`) with the demo's environment; killed with whatever
/// still runs in it when dropped.
struct Tmux(String, [String; 3]);

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Process::new("tmux").args(["-L", &self.0]).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `mcp-connect demo` in a 120x40 session: the time to its first frame, its pid.
    fn demo(&self, session: &str) -> (Duration, u32) {
        self.start(session, &["demo"])
    }

    /// Starts `mcp-connect ARGS` in a 120x40 session: the time to its first frame, its pid.
    fn start(&self, session: &str, program_args: &[&str]) -> (Duration, u32) {
        let mut args = vec!["new-session", "-d", "-s", session, "-x", "120", "-y", "40"];
        self.1.iter().for_each(|e| args.extend(["-e", e]));
        // Built by cargo for this bench, with the bench profile (release settings).
        args.push(env!("CARGO_BIN_EXE_mcp-connect"));
        args.extend(program_args);
        let started = Instant::now();
        self.run(&args);
        while !self.run(&["capture-pane", "-p", "-t", session]).contains(ROUTE) {
            assert!(started.elapsed() < Duration::from_secs(10), "no frame within 10 s");
        }
        let first_frame = started.elapsed();
        let pid =
            self.run(&["display", "-p", "-t", session, "#{pane_pid}"]).trim().parse().unwrap();
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        assert_eq!(comm.trim(), "mcp-connect", "the pane runs the program itself");
        (first_frame, pid)
    }

    /// `q`, and up to 8 s for the program to stop its routes and leave.
    async fn quit(&self, session: &str, pid: u32) {
        self.run(&["send-keys", "-t", session, "q"]);
        let asked = Instant::now();
        while std::path::Path::new(&format!("/proc/{pid}")).exists()
            && asked.elapsed().as_secs() < 8
        {
            sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

/// CPU (% of one core) over `span` and RSS (kB) at its end, of process `pid`.
async fn idle(pid: u32, span: Duration) -> (f64, u64) {
    let ticks = || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        // utime and stime, fields 14 and 15 of proc(5), in clock ticks.
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    };
    let (before, at) = (ticks(), Instant::now());
    sleep(span).await;
    // /proc counts in USER_HZ, 100 per second on Linux.
    let cpu = (ticks() - before) as f64 / at.elapsed().as_secs_f64();
    (cpu, proc_kb(pid, "VmRSS:"))
}

fn proc_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

async fn p8() {
    // As the engine's event channel.
    let (tx, mut events) = mpsc::channel(4096);
    let mut screen = Screen::new(120, 40);
    screen.run(&mut events, Instant::now() + FRAME * 2, |_| true).await;
    screen.draws.clear();
    let lines = LINES_PER_SECOND * FEED.as_secs() as usize;
    let producer = tokio::spawn(async move {
        let started = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(5));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        for n in 0..lines {
            if n % (LINES_PER_SECOND / 200) == 0 {
                tick.tick().await;
            }
            let took = n % 97;
            let line = format!("12:00:00.{n:06} INFO serena.agent: find_symbol took {took} ms");
            let pod = "serena-mcp-7d4b9c6f8d-x2x9k".to_owned();
            let event = RouteEvent::Forward(ForwardEvent::PodLog { pod, line });
            tx.send(Event::Route { profile: ROUTE.into(), event }).await.unwrap();
        }
        started.elapsed()
    });
    let pid = std::process::id();
    let before = proc_kb(pid, "VmRSS:");
    screen.run(&mut events, Instant::now() + FEED / 2, |_| false).await;
    let half = proc_kb(pid, "VmRSS:");
    screen.run(&mut events, Instant::now() + FEED * 4, |_| false).await;
    let after = proc_kb(pid, "VmRSS:");
    let rate = lines as f64 / producer.await.unwrap().as_secs_f64();
    let (frames, ring) = (screen.draws.len(), screen.app.logs().len());
    let [p50, p99, max] = [50, 99, 100].map(|p| pct(&screen.draws, p));
    let met = p99 <= FRAME && rate >= LINES_PER_SECOND as f64 * 0.98;
    let bounded = ring <= CAPACITY && after.saturating_sub(half) < 2048;
    let (before, half, after) = (mb(before), mb(half), mb(after));
    println!(
        "P8 {lines} pod log lines at {rate:.0}/s, 120x40, {frames} frames: draw p50 {} p99 {} \
         max {} (target p99 <= 16 ms) {}; RSS {before:.1} -> {half:.1} (half-way) -> \
         {after:.1} MB, log ring {ring} lines (cap {CAPACITY}; bounded: ring at cap, < 2 MB \
         growth in the second half) {}",
        ms(p50),
        ms(p99),
        ms(max),
        verdict(met),
        verdict(bounded),
    );
}

fn verdict(met: bool) -> &'static str {
    if met { "MET" } else { "MISSED" }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// `worst 2.004 s [2.004, 1.608, …]`.
fn spread(samples: &[Duration]) -> String {
    let all: Vec<String> = samples.iter().map(|d| format!("{:.3}", d.as_secs_f64())).collect();
    let worst = samples.iter().max().copied().unwrap_or_default().as_secs_f64();
    format!("worst {worst:.3} s [{}]", all.join(", "))
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn pct(samples: &[Duration], p: usize) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted.get(sorted.len().saturating_sub(1) * p / 100).copied().unwrap_or_default()
}
