//! How fast a route's status learns a fault that strikes while it serves, against the lab:
//! `cargo bench --bench faults`. The engine runs as the TUI runs it (the hub, health every 2 s,
//! the default); `up` and the bridge run the same route runner, so the figure is theirs too.
//! Each fault strikes at another point of the health interval; the figure is the time from the
//! fault to a status naming it (down, waiting or failed, with a cause). Target: 2 s each.

use std::time::Duration;

use mcp_connect::lab::kube::seed::NAMESPACE;
use mcp_connect::lab::world::{Lab, LabOptions};
use mcp_connect::probe::MonitorOptions;
use mcp_connect::profile::Catalog;
use mcp_connect::supervisor::hub::{self, Command, Event, HubOptions, RouteEvent};
use mcp_connect::supervisor::{Phase, RouteStatus};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};

const ROUTE: &str = "serena-direct";
const RUNS: u32 = 5;
const TARGET: Duration = Duration::from_secs(2);
/// A status that never comes within this is reported as such.
const GIVE_UP: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// The server in the pod dies; the pod stays Ready.
    BackendKilled,
    /// The pod is deleted and no replacement turns Ready.
    PodLost,
    /// The API server stops (refuses connections).
    ApiStopped,
    /// The API server takes connections and stops answering.
    ApiSilent,
    /// RBAC starts denying port-forwards.
    RbacDenied,
}

impl Fault {
    fn label(self) -> &'static str {
        match self {
            Fault::BackendKilled => "F1 server dead behind a Ready pod",
            Fault::PodLost => "F2 pod deleted, none Ready",
            Fault::ApiStopped => "F3 API server refusing",
            Fault::ApiSilent => "F4 API server silent",
            Fault::RbacDenied => "F5 RBAC denies port-forwards",
        }
    }

    async fn strike(self, lab: &mut Lab) {
        match self {
            Fault::BackendKilled => lab.stop_backend().await,
            Fault::PodLost => {
                let pod = lab.serena_pod().expect("Serena's pod");
                lab.cluster().delete_pod(NAMESPACE, &pod).unwrap();
            }
            Fault::ApiStopped => lab.api.stop(),
            Fault::ApiSilent => lab.api.faults().set_latency(Duration::from_secs(120)),
            Fault::RbacDenied => lab.api.faults().deny("create", "pods/portforward"),
        }
    }
}

/// The next status of the route that `want` accepts, within [`GIVE_UP`].
async fn until(
    events: &mut mpsc::Receiver<Event>,
    want: impl Fn(&RouteStatus) -> bool,
) -> Option<RouteStatus> {
    let deadline = Instant::now() + GIVE_UP;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::Route { event: RouteEvent::Status(status), .. })) if want(&status) => {
                return Some(status);
            }
            Ok(Some(_)) => {}
            _ => return None,
        }
    }
}

/// One run: a fresh lab and engine, the route serving, the fault `offset` into the health
/// interval; the time until the status names it, and the cause it named.
async fn once(fault: Fault, offset: Duration) -> Option<(Duration, String)> {
    // A replacement pod takes long to turn Ready, so that a lost pod stays lost.
    let options = LabOptions { ready_delay: Duration::from_secs(120), ..LabOptions::default() };
    let mut lab = Lab::start(options).await.unwrap();
    let profiles: Vec<_> =
        Catalog::builtin().entries().iter().filter_map(|e| e.profile.clone().ok()).collect();
    let options = HubOptions {
        kubeconfig: Some(lab.kubeconfig().to_path_buf()),
        monitor: MonitorOptions::default(),
        ..HubOptions::default()
    };
    let (commands, mut events, engine) = hub::spawn(profiles, options);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let profile = ROUTE.to_owned();
    let over = Command::Override { profile, context: None, local_port: Some(port) };
    commands.send(over).await.unwrap();
    commands.send(Command::Activate(ROUTE.to_owned())).await.unwrap();
    until(&mut events, |s| s.phase == Phase::Serving).await.expect("the route serves");
    sleep(offset).await;
    fault.strike(&mut lab).await;
    let struck = Instant::now();
    let told = until(&mut events, |s| {
        matches!(s.phase, Phase::Down | Phase::Waiting | Phase::Failed) && s.trouble.is_some()
    })
    .await;
    let took = struck.elapsed();
    let _ = commands.send(Command::Shutdown).await;
    let _ = tokio::time::timeout(Duration::from_secs(10), engine).await;
    told.and_then(|s| s.trouble).map(|t| (took, t.cause))
}

fn millis(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let interval = MonitorOptions::default().interval;
    println!("time from a fault to the route's status naming it (health every {interval:?})");
    let faults = [
        Fault::BackendKilled,
        Fault::PodLost,
        Fault::ApiStopped,
        Fault::ApiSilent,
        Fault::RbacDenied,
    ];
    for fault in faults {
        let mut took = Vec::new();
        let mut cause = String::new();
        for run in 0..RUNS {
            match once(fault, interval * run / RUNS).await {
                Some((t, said)) => {
                    took.push(t);
                    cause = said;
                }
                None => println!("  {}: run {run} never told within {GIVE_UP:?}", fault.label()),
            }
        }
        took.sort();
        let (Some(best), Some(worst)) = (took.first(), took.last()) else { continue };
        let median = took[took.len() / 2];
        let met = if *worst <= TARGET { "met" } else { "missed" };
        println!(
            "{}: median {}, best {}, worst {} of {} (target {}: {met})\n    {cause}",
            fault.label(),
            millis(median),
            millis(*best),
            millis(*worst),
            took.len(),
            millis(TARGET),
        );
    }
}
