//! `mcp-connect up PROFILE` against the lab: the serving line, JSON events, a clean stop.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use mcp_connect::lab::world::{Lab, LabOptions};
use serde_json::Value;

use crate::support::mcp::{McpSession, http_client};
use crate::support::{Home, free_port};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_prints_serving_serves_mcp_and_stops_cleanly_on_sigterm() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let home = Home::new();
    let port = free_port();
    let mut child = home
        .command()
        .arg("--kubeconfig")
        .arg(lab.kubeconfig())
        .args(["up", "serena-direct", "--local-port", &port.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // The route serves once its link is up and its first check has passed (a first check over
    // the threshold on a busy machine says `degraded` first). Should that line never come, the
    // watchdog ends the run and the assertion fails rather than the test hanging.
    let pid = child.id().to_string();
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if wait.recv_timeout(Duration::from_secs(30)) == Err(RecvTimeoutError::Timeout) {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    });
    let serving = tokio::task::block_in_place(|| {
        lines.by_ref().map(Result::unwrap).find(|l| l.starts_with("serving: "))
    });
    // The lab's server (rmcp 3.11) serves 2026-07-28 too: the route's check speaks that.
    let expected = format!(
        "serving: http://127.0.0.1:{port}/mcp (pod {}) — mcp-connect-lab 0.1.0 (streamable-http, \
         protocol 2026-07-28, 3 tools)",
        lab.seeded.serena_pod
    );
    assert_eq!(serving.as_deref(), Some(expected.as_str()));
    drop(done);
    watchdog.join().unwrap();

    let url = format!("http://127.0.0.1:{port}/mcp");
    let mut session = McpSession::connect(&http_client(), &url).await.unwrap();
    assert!(session.tools_list().await.unwrap().contains(&"echo".to_owned()));

    let code = tokio::task::block_in_place(|| crate::support::stop(&mut child));
    assert_eq!(code, 0);
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert_eq!(rest.last().map(String::as_str), Some("stopped"), "{rest:?}");
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(), "the port is released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_json_emits_one_object_per_line_and_fails_with_exit_1() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let home = Home::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = tokio::task::block_in_place(|| {
        home.command()
            .arg("--kubeconfig")
            .arg(lab.kubeconfig())
            .args(["up", "serena-direct", "--json", "--local-port", &port])
            .output()
            .unwrap()
    });
    assert_eq!(out.status.code(), Some(1));
    let events: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!((&events[0]["event"], &events[0]["phase"]), (&"status".into(), &"starting".into()));
    let failed = events.last().unwrap();
    assert_eq!(failed["phase"], "failed", "{events:?}");
    assert!(failed["cause"].as_str().unwrap().contains(&format!("local port {port}")));
    assert!(failed["fix"].as_str().unwrap().contains("--local-port"));
}

#[test]
fn up_names_the_profiles_there_are_when_one_is_unknown() {
    let home = Home::new();
    let out = home.run(&["up", "serena"]);
    assert_eq!(out.code(), 2);
    assert!(out.stderr().contains("error: no profile named \"serena\""), "{}", out.stderr());
    assert!(
        out.stderr().contains("fix: use one of: serena-direct, gateway-port-forward"),
        "{}",
        out.stderr()
    );
}

#[test]
fn up_without_a_kubeconfig_says_which_files_it_tried() {
    let home = Home::new();
    let out = home.run(&["up", "serena-direct", "--local-port", &free_port().to_string()]);
    assert_eq!(out.code(), 1);
    let tried = home.path().join(".kube/config");
    let expected = format!("failed: no kubeconfig found (tried {})", tried.display());
    assert!(out.stdout().contains(&expected), "{}", out.stdout());
    assert!(
        out.stdout().contains("fix: pass --kubeconfig FILE or set KUBECONFIG"),
        "{}",
        out.stdout()
    );
}

/// A kubeconfig whose user logs in with the credential plugin `command` (as EKS, GKE and AKS
/// kubeconfigs do); its API server is never reached.
pub(crate) fn plugin_kubeconfig(command: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: prod\n\
         clusters: [{{name: prod, cluster: {{server: 'https://127.0.0.1:1'}}}}]\n\
         contexts: [{{name: prod, context: {{cluster: prod, user: sso}}}}]\n\
         users:\n- name: sso\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n\
         \x20     command: {command}\n      args: [token, --cluster, prod]\n"
    )
}

/// `up --json`'s `failed` event for `kubeconfig`: its cause and fix.
fn failed_with(home: &Home, kubeconfig: &std::path::Path) -> (String, String) {
    let run =
        home.run(&["--kubeconfig", kubeconfig.to_str().unwrap(), "up", "serena-direct", "--json"]);
    assert_eq!(run.code(), 1, "{}\n{}", run.stdout(), run.stderr());
    let failed = run
        .stdout()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["phase"] == "failed")
        .expect("a failed status");
    (failed["cause"].as_str().unwrap().to_owned(), failed["fix"].as_str().unwrap().to_owned())
}

#[cfg(unix)]
#[test]
fn a_credential_plugin_that_fails_is_named_with_what_it_said_and_the_login_to_run() {
    let home = Home::new();
    let plugin = home.write(
        "bin/sso-login",
        "#!/bin/sh\necho 'looking up the session' >&2\necho 'error: the SSO session has expired' >&2\nexit 1\n",
    );
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let kubeconfig = home.write("kube/config", &plugin_kubeconfig(plugin.to_str().unwrap()));
    let (cause, fix) = failed_with(&home, &kubeconfig);
    let command = format!("{} token --cluster prod", plugin.display());
    assert_eq!(
        cause,
        format!(
            "the kubeconfig's credential plugin `{command}` failed (exit status: 1): error: the \
             SSO session has expired"
        )
    );
    assert!(fix.starts_with(&format!("run `{command}` yourself to see why")), "{fix}");

    // Not installed at all: named, with what to install.
    let kubeconfig = home.write("kube/missing", &plugin_kubeconfig("mcp-connect-no-such-plugin"));
    let (cause, fix) = failed_with(&home, &kubeconfig);
    assert_eq!(
        cause,
        "the kubeconfig's credential plugin `mcp-connect-no-such-plugin token --cluster prod` is \
         not installed (not on PATH)"
    );
    assert!(fix.starts_with("install `mcp-connect-no-such-plugin`"), "{fix}");
}

/// The lab's kubeconfig, its token handed out by a credential plugin that works while `ok`
/// exists (each token good for a second, so every new connection asks the plugin again).
#[cfg(unix)]
pub(crate) fn with_plugin(home: &Home, lab: &Lab, ok: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let text = std::fs::read_to_string(lab.kubeconfig()).unwrap();
    let token = text.lines().find_map(|l| l.trim().strip_prefix("token: ")).unwrap().to_owned();
    let script = format!(
        "#!/bin/sh\n[ -e {ok} ] || {{ echo 'error: the SSO session has expired' >&2; exit 1; }}\n\
         until=$(date -u -d '+1 second' +%Y-%m-%dT%H:%M:%SZ)\n\
         printf '{{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\
         \"status\":{{\"token\":\"{token}\",\"expirationTimestamp\":\"%s\"}}}}' \"$until\"\n",
        ok = ok.display()
    );
    let plugin = home.write("bin/sso-token", &script);
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let exec = format!(
        "exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: {}\n",
        plugin.display()
    );
    home.write("kube/plugin", &text.replace(&format!("token: {token}\n"), &exec))
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_plugin_that_starts_failing_mid_run_fails_the_route_with_its_cause() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let home = Home::new();
    let ok = home.write("plugin-ok", "");
    let kubeconfig = with_plugin(&home, &lab, &ok);
    let port = free_port();
    let mut child = home
        .command()
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["up", "serena-direct", "--json", "--local-port", &port.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_event = move || -> Option<Value> {
        let line = lines.next()?.unwrap();
        Some(serde_json::from_str(&line).unwrap())
    };
    let ready = tokio::task::block_in_place(|| {
        std::iter::from_fn(&mut next_event)
            .find(|e| e["phase"] == "serving" || e["phase"] == "failed")
    });
    assert_eq!(ready.as_ref().map(|e| e["phase"].clone()), Some("serving".into()), "{ready:?}");

    // The login runs out: new connections need a token the plugin cannot give.
    std::fs::remove_file(&ok).unwrap();
    // Should the failure never come, the watchdog ends the run and the test fails, not hangs.
    let pid = child.id().to_string();
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if wait.recv_timeout(Duration::from_secs(60)) == Err(RecvTimeoutError::Timeout) {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    });
    let url = format!("http://127.0.0.1:{port}/mcp");
    let client = http_client();
    let failed = tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            // Connections keep coming, as a client's would.
            scope.spawn(|| {
                let runtime = tokio::runtime::Runtime::new().unwrap();
                for _ in 0..40 {
                    let _ = runtime.block_on(McpSession::connect(&client, &url));
                    std::thread::sleep(Duration::from_millis(250));
                }
            });
            let mut seen = Vec::new();
            let failed = std::iter::from_fn(&mut next_event)
                .inspect(|e| seen.push(e.to_string()))
                .find(|e| e["phase"] == "failed");
            (failed, seen)
        })
    });
    let (failed, seen) = failed;
    let failed = failed.unwrap_or_else(|| panic!("no failed event; saw {seen:#?}"));
    let cause = failed["cause"].as_str().unwrap();
    assert!(cause.contains("credential plugin"), "{cause}");
    assert!(cause.ends_with("error: the SSO session has expired"), "{cause}");
    assert!(failed["fix"].as_str().unwrap().contains("yourself to see why"), "{failed}");
    assert_eq!(child.wait().unwrap().code(), Some(1));
    drop(done);
    watchdog.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_runs_a_router_route_as_the_tui_does_and_reports_its_gateways() {
    use crate::support::bridge::{KUBE_SECRET, profile};
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let home = Home::new();
    let port = free_port();
    let link = format!(
        "link:\n  router:\n    local_port: {port}\n    gateway_pools:\n      - name: lab\n        \
         gateways:\n          - url: {}\n",
        lab.gateway.url
    );
    let yaml = profile("lab-router", &link, KUBE_SECRET, "1h", &lab.gateway.fingerprint_sha256);
    let dir = home.user_profiles();
    std::fs::write(dir.join("lab-router.yaml"), yaml).unwrap();
    let mut child = home
        .command()
        .arg("--kubeconfig")
        .arg(lab.kubeconfig())
        .arg("--profiles")
        .arg(&dir)
        .args(["up", "lab-router", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if wait.recv_timeout(Duration::from_secs(60)) == Err(RecvTimeoutError::Timeout) {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let serving = tokio::task::block_in_place(|| {
        lines
            .by_ref()
            .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
            .inspect(|e| seen.push(e.to_string()))
            .find(|e| e["phase"] == "serving" || e["phase"] == "failed")
    });
    let serving = serving.unwrap_or_else(|| panic!("no status; saw {seen:#?}"));
    assert_eq!(serving["phase"], "serving", "{seen:#?}");
    assert_eq!(serving["url"], format!("http://127.0.0.1:{port}/mcp"));
    assert!(seen.iter().any(|e| e.contains("\"event\":\"router-started\"")), "{seen:#?}");

    // It is mcp-connect's router, as the TUI runs it: an MCP client gets Serena's tools.
    let url = format!("http://127.0.0.1:{port}/mcp");
    let mut session = McpSession::connect(&http_client(), &url).await.unwrap();
    assert!(session.tools_list().await.unwrap().contains(&"echo".to_owned()));

    let code = tokio::task::block_in_place(|| crate::support::stop(&mut child));
    assert_eq!(code, 0);
    drop(done);
    watchdog.join().unwrap();
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(), "the router's port is free");
}

/// A server that dies behind its Ready pod is seen at once, not at the next check: the
/// forward's spare stream, connected to the pod's port ahead of use, ends with it, and the route
/// checks then. The interval is long so that only that can tell it here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_dies_is_seen_before_the_next_check_through_the_spare_stream() {
    let mut lab = Lab::start(LabOptions::default()).await.unwrap();
    let home = Home::new();
    let port = free_port().to_string();
    let args = ["--json", "--health-interval", "10m", "--local-port", &port];
    let (mut child, lines) = home.up(lab.kubeconfig(), "serena-direct", &args);
    let mut statuses = lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(&line).ok())
        .filter(|event| event["event"] == "status");
    let mut phase = |wanted: &str| {
        let found = statuses.find(|s| s["phase"] == wanted);
        found.unwrap_or_else(|| panic!("up ended before {wanted}"))
    };
    tokio::task::block_in_place(|| phase("serving"));
    lab.stop_backend().await;
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let pid = child.id().to_string();
    let watchdog = std::thread::spawn(move || {
        if wait.recv_timeout(Duration::from_secs(60)) == Err(RecvTimeoutError::Timeout) {
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
        }
    });
    let down = tokio::task::block_in_place(|| phase("down"));
    assert!(down["cause"].as_str().unwrap().contains("nothing answers on its port 8080"), "{down}");
    drop(done);
    watchdog.join().unwrap();
    assert_eq!(tokio::task::block_in_place(|| crate::support::stop(&mut child)), 0);
}
