//! The engine behind the TUI, against the lab: one-key switching between routes, health once a
//! route runs, a diagnosis on demand, config writes previewed and made, a clean shutdown.

use std::time::Duration;

use mcp_connect::clientconfig::{Outcome, Scope, Writer};
use mcp_connect::lab::world::{Lab, LabOptions};
use mcp_connect::probe::{self, Health, MonitorOptions, ProbeEvent};
use mcp_connect::profile::{Catalog, Link, Port, Profile, ProfileStore, UserDir};
use mcp_connect::supervisor::hub::{self, Command, Event, HubOptions, RouteEvent, SavedProfile};
use mcp_connect::supervisor::{Phase, RouteStatus};
use tokio::sync::mpsc;

use crate::support::free_port;

fn builtins() -> Vec<Profile> {
    let none = tempfile::tempdir().unwrap();
    let catalog = Catalog::load(&UserDir::Default(none.path().join("none"))).unwrap();
    catalog.entries().iter().filter_map(|e| e.profile.clone().ok()).collect()
}

/// The next event matching `want`, within ten seconds.
async fn expect<T>(
    events: &mut mpsc::Receiver<Event>,
    mut want: impl FnMut(&Event) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv()).await;
        let event = event.expect("the awaited event in time").expect("the hub runs");
        if let Some(found) = want(&event) {
            return found;
        }
    }
}

fn route<'e>(event: &'e Event, name: &str) -> Option<&'e RouteEvent> {
    match event {
        Event::Route { profile, event } if profile == name => Some(event),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_switch_with_one_command_and_report_health_configs_and_shutdown() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let project = home.path().join("demo-project");
    std::fs::create_dir_all(&project).unwrap();
    let options = HubOptions {
        kubeconfig: Some(lab.kubeconfig().to_path_buf()),
        monitor: MonitorOptions {
            interval: Duration::from_millis(200),
            ..MonitorOptions::default()
        },
        writer: Some(Writer::new(home.path(), &home.path().join("state"))),
        profiles: None,
        certs: None,
        launcher: Default::default(),
    };
    let (commands, mut events, engine) = hub::spawn(builtins(), options);
    let (direct, gateway) = (free_port(), free_port());
    for (name, port) in [("serena-direct", direct), ("gateway-port-forward", gateway)] {
        let profile = name.to_owned();
        commands
            .send(Command::Override { profile, context: None, local_port: Some(port) })
            .await
            .unwrap();
    }

    commands.send(Command::Activate("serena-direct".into())).await.unwrap();
    let url = expect(&mut events, |e| match route(e, "serena-direct") {
        Some(RouteEvent::Status(RouteStatus { url: Some(url), .. })) => Some(url.clone()),
        _ => None,
    })
    .await;
    assert_eq!(url, format!("http://127.0.0.1:{direct}/mcp"));
    let tools = expect(&mut events, |e| match route(e, "serena-direct") {
        Some(RouteEvent::Probe(ProbeEvent::Health(Health::Healthy { tools, .. }))) => Some(*tools),
        _ => None,
    })
    .await;
    assert_eq!(tools, 3);
    expect(&mut events, |e| match route(e, "serena-direct") {
        Some(RouteEvent::Probe(ProbeEvent::Latency(summary))) => summary.last,
        _ => None,
    })
    .await;

    commands.send(Command::Diagnose("serena-direct".into())).await.unwrap();
    let outcome = expect(&mut events, |e| match e {
        Event::Diagnosis { profile, outcome } if profile == "serena-direct" => {
            Some(outcome.clone())
        }
        _ => None,
    })
    .await;
    assert!(matches!(outcome, Ok(probe::Outcome::Healthy(_))), "{outcome:?}");

    let scope = Scope::Project { dir: project.clone() };
    let write = |dry_run| Command::WriteConfig {
        profile: "serena-direct".into(),
        scope: scope.clone(),
        name: None,
        dry_run,
        force: false,
    };
    commands.send(write(true)).await.unwrap();
    let preview = expect(&mut events, |e| match e {
        Event::Config { result, .. } => Some(result.clone()),
        _ => None,
    })
    .await
    .unwrap();
    assert!(
        preview.dry_run && preview.diff.contains(&format!("+      \"url\": \"{url}\"")),
        "{}",
        preview.diff
    );
    assert!(!project.join(".mcp.json").exists(), "a preview writes nothing");
    commands.send(write(false)).await.unwrap();
    let written = expect(&mut events, |e| match e {
        Event::Config { result, .. } => Some(result.clone()),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(written.outcome, Outcome::Added);
    assert!(std::fs::read_to_string(project.join(".mcp.json")).unwrap().contains(&url));

    // A file the user made read-only is refused, with a fix; forcing writes it, mode kept.
    use std::os::unix::fs::PermissionsExt;
    let mcp_json = project.join(".mcp.json");
    std::fs::set_permissions(&mcp_json, std::fs::Permissions::from_mode(0o444)).unwrap();
    let another = |force| Command::WriteConfig {
        profile: "serena-direct".into(),
        scope: scope.clone(),
        name: Some("another".into()),
        dry_run: false,
        force,
    };
    commands.send(another(false)).await.unwrap();
    let refused = expect(&mut events, |e| match e {
        Event::Config { result, .. } => Some(result.clone()),
        _ => None,
    })
    .await
    .unwrap_err();
    assert!(refused.forcible, "{:?}", refused.trouble);
    assert!(refused.trouble.fix.contains("chmod u+w"), "{}", refused.trouble.fix);
    commands.send(another(true)).await.unwrap();
    let forced = expect(&mut events, |e| match e {
        Event::Config { result, .. } => Some(result.clone()),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(forced.outcome, Outcome::Added);
    let mode = std::fs::metadata(&mcp_json).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o444, "the mode is kept");

    // One command switches: the gateway route starts, the direct one stops and frees its port.
    commands.send(Command::Activate("gateway-port-forward".into())).await.unwrap();
    expect(&mut events, |e| match route(e, "serena-direct") {
        Some(RouteEvent::Status(RouteStatus { phase: Phase::Stopped, .. })) => Some(()),
        _ => None,
    })
    .await;
    assert!(std::net::TcpListener::bind(("127.0.0.1", direct)).is_ok(), "the old port is free");
    expect(&mut events, |e| match route(e, "gateway-port-forward") {
        Some(RouteEvent::Status(RouteStatus { url: Some(_), .. })) => Some(()),
        _ => None,
    })
    .await;

    commands.send(Command::Shutdown).await.unwrap();
    expect(&mut events, |e| matches!(e, Event::ShutDown).then_some(())).await;
    engine.await.unwrap();
    assert!(std::net::TcpListener::bind(("127.0.0.1", gateway)).is_ok(), "every port is free");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_profile_is_written_reloads_as_saved_and_the_running_route_moves_to_it() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let root = tempfile::tempdir().unwrap();
    let store = ProfileStore::new(root.path().join("profiles"), &root.path().join("state"));
    let options = HubOptions {
        kubeconfig: Some(lab.kubeconfig().to_path_buf()),
        profiles: Some(store.clone()),
        ..HubOptions::default()
    };
    let (commands, mut events, _engine) = hub::spawn(builtins(), options);
    let (before, after) = (free_port(), free_port());
    let profile = "serena-direct".to_owned();
    let over =
        Command::Override { profile: profile.clone(), context: None, local_port: Some(before) };
    commands.send(over).await.unwrap();
    commands.send(Command::Activate(profile.clone())).await.unwrap();
    expect(&mut events, |e| match route(e, "serena-direct") {
        Some(RouteEvent::Status(RouteStatus { url: Some(_), .. })) => Some(()),
        _ => None,
    })
    .await;

    let mut changed = builtins().into_iter().find(|p| p.name.as_str() == profile).unwrap();
    let Link::PortForward(pf) = &mut changed.link else { panic!("route 1 is a forward") };
    pf.context = Some("lab".to_owned());
    pf.local_port = Port::new(after).unwrap();
    let save = Command::SaveProfile { profile: Box::new(changed.clone()), from: None };
    commands.send(save).await.unwrap();
    // The answer first, then the route restarted on the saved port (no override left).
    let mut order = Vec::new();
    let saved = expect(&mut events, |e| match e {
        Event::ProfileSaved { result, .. } => Some(result.clone()),
        Event::Route { event: RouteEvent::Status(RouteStatus { url: Some(url), .. }), .. } => {
            order.push(url.clone());
            None
        }
        _ => None,
    })
    .await;
    assert!(order.is_empty(), "the route restarted before the answer: {order:?}");
    let SavedProfile { file, backup, profile: back, replaces_overrides } = saved.expect("saved");
    assert!(replaces_overrides, "an edit takes in the overrides");
    assert_eq!((file.clone(), backup), (store.dir.join("serena-direct.yaml"), None));
    assert_eq!(*back, changed);
    let url = expect(&mut events, |e| match route(e, "serena-direct") {
        Some(RouteEvent::Status(RouteStatus { url: Some(url), .. })) => Some(url.clone()),
        _ => None,
    })
    .await;
    assert_eq!(url, format!("http://127.0.0.1:{after}/mcp"));
    let catalog = Catalog::load(&UserDir::Explicit(store.dir.clone())).unwrap();
    let entry = catalog.get("serena-direct").unwrap();
    assert!(entry.replaces_builtin);
    assert_eq!(entry.profile.as_ref().unwrap(), &changed);

    // Without a profiles directory, saving is refused with a fix and nothing changes.
    let (commands, mut events, _engine) = hub::spawn(builtins(), HubOptions::default());
    let save = Command::SaveProfile { profile: Box::new(changed), from: None };
    commands.send(save).await.unwrap();
    let refused = expect(&mut events, |e| match e {
        Event::ProfileSaved { result: Err(refused), .. } => Some(refused.clone()),
        _ => None,
    })
    .await;
    assert!(refused.trouble.fix.contains("--profiles"), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_s_certificate_is_shown_then_pinned_and_the_route_turns_healthy_on_it() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let root = tempfile::tempdir().unwrap();
    let store = ProfileStore::new(root.path().join("profiles"), &root.path().join("state"));
    let options = HubOptions {
        kubeconfig: Some(lab.kubeconfig().to_path_buf()),
        monitor: MonitorOptions { interval: Duration::from_millis(200), ..Default::default() },
        profiles: Some(store.clone()),
        certs: Some(root.path().join("certs")),
        ..HubOptions::default()
    };
    let (commands, mut events, _engine) = hub::spawn(builtins(), options);
    let name = "gateway-port-forward";
    let port = free_port();
    let over = Command::Override { profile: name.into(), context: None, local_port: Some(port) };
    commands.send(over).await.unwrap();

    // Unpinned, the self-signed certificate keeps the route down, naming the way out.
    commands.send(Command::Activate(name.into())).await.unwrap();
    let down = expect(&mut events, |e| match route(e, name) {
        Some(RouteEvent::Probe(ProbeEvent::Health(Health::Down(diagnosis)))) => {
            Some(diagnosis.clone())
        }
        _ => None,
    })
    .await;
    let sha = &lab.gateway.fingerprint_sha256;
    let url = format!("https://127.0.0.1:{port}/mcp");
    assert!(
        down.cause.starts_with(&format!(
            "{url} presented a self-signed certificate no trusted CA signed (subject \
             CN=mcp-gateway lab, issuer CN=mcp-gateway lab, valid "
        )),
        "{down:?}"
    );
    assert!(down.cause.ends_with(&format!(", SHA-256 {sha})")), "{down:?}");
    assert_eq!(
        down.fix,
        format!(
            "if that fingerprint is the server's, trust it: run `mcp-connect trust \
             gateway-port-forward` (it shows the certificate and pins it), or set `tls: \
             {{pin_sha256: \"{sha}\"}}` in profile gateway-port-forward"
        )
    );

    commands.send(Command::Inspect(name.into())).await.unwrap();
    let shown = expect(&mut events, |e| match e {
        Event::Certificate { result, .. } => Some(result.clone()),
        _ => None,
    })
    .await
    .expect("the certificate is read");
    assert_eq!(shown.cert.sha256, lab.gateway.fingerprint_sha256);
    assert!(shown.cert.self_signed && !shown.pinned && shown.refusal.is_some(), "{shown:?}");

    // Another fingerprint than the one presented is refused; the one shown is pinned.
    let pin =
        |sha256: &str| Command::Pin { profile: name.into(), sha256: sha256.into(), from: None };
    commands.send(pin(&"00:".repeat(32)[..95])).await.unwrap();
    let refused = expect(&mut events, |e| match e {
        Event::ProfileSaved { result: Err(refused), .. } => Some(refused.clone()),
        _ => None,
    })
    .await;
    assert!(refused.trouble.cause.contains("another certificate"), "{refused:?}");
    commands.send(pin(&shown.cert.sha256)).await.unwrap();
    let saved = expect(&mut events, |e| match e {
        Event::ProfileSaved { result, .. } => Some(result.clone()),
        _ => None,
    })
    .await
    .expect("pinned");
    assert_eq!(saved.file, store.dir.join("gateway-port-forward.yaml"));
    assert!(root.path().join("certs/gateway-port-forward.pem").exists());
    // A pin keeps the session's overrides: the route restarts on the same local port.
    let url = expect(&mut events, |e| match route(e, name) {
        Some(RouteEvent::Status(RouteStatus { url: Some(url), .. })) => Some(url.clone()),
        _ => None,
    })
    .await;
    assert_eq!(url, format!("https://127.0.0.1:{port}/mcp"));
    expect(&mut events, |e| match route(e, name) {
        Some(RouteEvent::Probe(ProbeEvent::Health(Health::Healthy { tools, .. }))) => Some(*tools),
        _ => None,
    })
    .await;
}
