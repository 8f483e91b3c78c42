//! Route 4 in the engine behind the TUI: the router run as a child process (the real binary),
//! its stderr as its log, its `/health` per gateway, started again when it dies and stopped
//! with the route; and another router's command run the same way.

use std::path::Path;
use std::time::Duration;

use mcp_connect::clientconfig::Launcher;
use mcp_connect::probe::{Health, MonitorOptions, ProbeEvent};
use mcp_connect::profile::Profile;
use mcp_connect::router::GatewayState;
use mcp_connect::supervisor::hub::{self, Command, Event, HubOptions, RouteEvent};
use mcp_connect::supervisor::router::{GatewayRow, RouterEvent};
use mcp_connect::supervisor::{Phase, RouteStatus};
use tokio::sync::mpsc;

use crate::support::free_port;
use crate::support::gateways::{Lab, SECRET_VAR, tokens};

/// The secret's variable, which the router's process inherits, and a state directory of the
/// test's own for its log file.
fn setup() {
    static STATE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    STATE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        // SAFETY: set once, before any router process of this binary starts.
        unsafe { std::env::set_var("XDG_STATE_HOME", dir.path()) };
        dir
    });
    let _ = tokens();
}

/// The next event of route `name` matching `want`, within `secs` seconds; panics naming what
/// came instead.
async fn expect<T>(
    events: &mut mpsc::Receiver<Event>,
    name: &str,
    secs: u64,
    mut want: impl FnMut(&RouteEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut seen = Vec::new();
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv()).await;
        let Ok(event) = event else { panic!("not in time; route events seen: {seen:#?}") };
        match event.expect("the hub runs") {
            Event::Route { profile, event } if profile == name => {
                if let Some(found) = want(&event) {
                    return found;
                }
                seen.push(event);
            }
            _ => {}
        }
    }
}

/// A gateway entry of a router profile, its certificate pinned.
fn gateway(lab: &Lab, weight: u32) -> String {
    let base = lab.url.trim_end_matches("/mcp");
    format!(
        "          - url: {base}\n            weight: {weight}\n            tls:\n              \
         verify: true\n              pin_sha256: \"{}\"\n",
        lab.pin
    )
}

fn router_profile(name: &str, port: u16, gateways: &str) -> String {
    format!(
        "name: {name}\ntitle: Router over lab gateways\nlink:\n  router:\n    local_port: {port}\n    \
         gateway_pools:\n      - name: lab-pool\n        gateways:\n{gateways}        \
         health_check:\n          enabled: true\n          interval: 200ms\n\
         endpoint:\n  path: /mcp\nauth:\n  jwt:\n    secret:\n      env: {SECRET_VAR}\n"
    )
}

/// The hub over `profile` (also written to `dir`, where the router's process reads it), the
/// router started as the real binary with `--profiles dir`.
fn hub_over(
    profile: &str,
    dir: &Path,
    name: &str,
) -> (mpsc::Sender<Command>, mpsc::Receiver<Event>, tokio::task::JoinHandle<()>) {
    std::fs::write(dir.join(format!("{name}.yaml")), profile).unwrap();
    let profile: Profile = mcp_connect::profile::parse(profile, "test.yaml").unwrap();
    let options = HubOptions {
        monitor: MonitorOptions { interval: Duration::from_millis(200), ..Default::default() },
        launcher: Launcher {
            program: env!("CARGO_BIN_EXE_mcp-connect").to_owned(),
            args: vec!["--profiles".to_owned(), dir.display().to_string()],
        },
        ..HubOptions::default()
    };
    hub::spawn(vec![profile], options)
}

fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only asks whether the process exists.
    unsafe { libc::kill(pid as i32, 0) == 0 }
}

fn all_healthy(rows: &[GatewayRow], count: usize) -> bool {
    rows.len() == count && rows.iter().all(|g| g.state == GatewayState::Healthy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_runs_as_a_child_shows_each_gateway_and_comes_back_when_killed() {
    setup();
    let (alpha, beta) = (Lab::start("alpha").await, Lab::start("beta").await);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let gateways = gateway(&alpha, 100) + &gateway(&beta, 300);
    let (commands, mut events, engine) =
        hub_over(&router_profile("router-lab", port, &gateways), dir.path(), "router-lab");

    commands.send(Command::Activate("router-lab".into())).await.unwrap();
    let (pid, command) = expect(&mut events, "router-lab", 10, |e| match e {
        RouteEvent::Router(RouterEvent::Started { pid, command }) => Some((*pid, command.clone())),
        _ => None,
    })
    .await;
    assert!(command.ends_with(&format!("router router-lab --local-port {port}")), "{command}");
    // Its stderr is its log: the router's own line that it listens.
    expect(&mut events, "router-lab", 10, |e| match e {
        RouteEvent::Router(RouterEvent::Log(line)) => {
            line.contains("router listening").then_some(())
        }
        _ => None,
    })
    .await;
    let url = expect(&mut events, "router-lab", 10, |e| match e {
        RouteEvent::Status(RouteStatus { url: Some(url), .. }) => Some(url.clone()),
        _ => None,
    })
    .await;
    assert_eq!(url, format!("http://127.0.0.1:{port}/mcp"));
    let server = expect(&mut events, "router-lab", 10, |e| match e {
        RouteEvent::Probe(ProbeEvent::Health(Health::Healthy { server, .. })) => {
            Some(server.name.clone())
        }
        _ => None,
    })
    .await;
    assert!(["alpha", "beta"].contains(&server.as_str()), "{server}");
    let rows = expect(&mut events, "router-lab", 10, |e| match e {
        RouteEvent::Router(RouterEvent::Gateways { rows, .. }) if all_healthy(rows, 2) => {
            Some(rows.clone())
        }
        _ => None,
    })
    .await;
    let weights: Vec<(u32, &str)> = rows.iter().map(|g| (g.weight, g.pool.as_str())).collect();
    assert_eq!(weights, [(100, "lab-pool"), (300, "lab-pool")]);
    assert_eq!(rows[0].url, alpha.url);
    assert!(rows.iter().all(|g| g.latency.is_some()), "{rows:?}");

    // Killed: reported with the signal, started again within the first backoff.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let (cause, restart_in) = expect(&mut events, "router-lab", 10, |e| match e {
        RouteEvent::Router(RouterEvent::Exited { cause, restart_in }) => {
            Some((cause.clone(), *restart_in))
        }
        _ => None,
    })
    .await;
    assert!(cause.starts_with("the router exited (killed by signal 9)"), "{cause}");
    assert_eq!(restart_in, Duration::from_millis(500));
    let again = expect(&mut events, "router-lab", 10, |e| match e {
        RouteEvent::Router(RouterEvent::Started { pid, .. }) => Some(*pid),
        _ => None,
    })
    .await;
    assert_ne!(again, pid);
    expect(&mut events, "router-lab", 10, |e| match e {
        RouteEvent::Probe(ProbeEvent::Health(Health::Healthy { .. })) => Some(()),
        _ => None,
    })
    .await;

    // Stopping the route stops the process (SIGTERM: it ends its sessions and exits).
    commands.send(Command::Stop("router-lab".into())).await.unwrap();
    expect(&mut events, "router-lab", 10, |e| {
        matches!(e, RouteEvent::Status(RouteStatus { phase: Phase::Stopped, .. })).then_some(())
    })
    .await;
    assert!(!alive(again), "the router's process {again} is gone once the route stopped");
    drop(commands);
    engine.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_routers_command_is_run_logged_and_watched() {
    setup();
    let alpha = Lab::start("alpha").await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // The other router: mcp-connect's, run from the seed's config shape as a plain command.
    let config = dir.path().join("router-config.yaml");
    let config_text = format!(
        "server:\n  port: {port}\n  protocol: http\ngateway_pools:\n  - name: pool\n    gateways:\n      \
         - url: {}\n        weight: 100\n        tls:\n          pin_sha256: \"{}\"\n\
         auth:\n  jwt:\n    secret_key_env: {SECRET_VAR}\n",
        alpha.url.trim_end_matches("/mcp"),
        alpha.pin
    );
    std::fs::write(&config, config_text).unwrap();
    let program = env!("CARGO_BIN_EXE_mcp-connect");
    let profile = format!(
        "name: other-router\ntitle: Another router\nlink:\n  router:\n    local_port: {port}\n    \
         command: [\"{program}\", router, --config, \"{}\"]\n",
        config.display()
    );
    let (commands, mut events, engine) = hub_over(&profile, dir.path(), "other-router");
    commands.send(Command::Activate("other-router".into())).await.unwrap();
    expect(&mut events, "other-router", 10, |e| match e {
        RouteEvent::Router(RouterEvent::Log(line)) => line
            .contains(&format!("router: serving http://127.0.0.1:{port}/mcp (1 gateway in 1 pool)"))
            .then_some(()),
        _ => None,
    })
    .await;
    let name = expect(&mut events, "other-router", 10, |e| match e {
        RouteEvent::Probe(ProbeEvent::Health(Health::Healthy { server, .. })) => {
            Some(server.name.clone())
        }
        RouteEvent::Router(RouterEvent::Gateways { .. }) => {
            panic!("only mcp-connect's router is asked")
        }
        _ => None,
    })
    .await;
    assert_eq!(name, "alpha");
    commands.send(Command::Stop("other-router".into())).await.unwrap();
    expect(&mut events, "other-router", 10, |e| {
        matches!(e, RouteEvent::Status(RouteStatus { phase: Phase::Stopped, .. })).then_some(())
    })
    .await;

    // A port something else holds fails the route before anything starts, naming the holder.
    let holder = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    commands.send(Command::Activate("other-router".into())).await.unwrap();
    let (cause, fix) = expect(&mut events, "other-router", 10, |e| match e {
        RouteEvent::Status(RouteStatus { phase: Phase::Failed, trouble: Some(t), .. }) => {
            Some((t.cause.clone(), t.fix.clone()))
        }
        RouteEvent::Router(RouterEvent::Started { .. }) => panic!("started on a busy port"),
        _ => None,
    })
    .await;
    let busy =
        format!("the router cannot listen: local port {port} on 127.0.0.1 is already in use");
    assert!(cause.starts_with(&busy), "{cause}");
    assert!(cause.contains(&format!("pid {}", std::process::id())), "names the holder: {cause}");
    assert!(fix.contains("is free"), "{fix}");
    drop(holder);

    // A command that is not there fails the route once, with the fix; nothing is retried.
    let missing = "name: missing-router\ntitle: Missing\nlink:\n  router:\n    local_port: 1\n    \
                   command: [/nonexistent/mcp-router]\n";
    drop(commands);
    engine.await.unwrap();
    let (commands, mut events, engine) = hub_over(missing, dir.path(), "missing-router");
    commands.send(Command::Activate("missing-router".into())).await.unwrap();
    let (cause, fix) = expect(&mut events, "missing-router", 10, |e| match e {
        RouteEvent::Status(RouteStatus { phase: Phase::Failed, trouble: Some(t), .. }) => {
            Some((t.cause.clone(), t.fix.clone()))
        }
        _ => None,
    })
    .await;
    assert_eq!(cause, "the router command `/nonexistent/mcp-router` is not found");
    assert!(fix.contains("absolute path"), "{fix}");
    drop(commands);
    engine.await.unwrap();
}
