//! `kubectl port-forward` — the seed's own route 1 — against the lab: SPDY/3.1 tunnelled in a
//! WebSocket (kubectl 1.30+'s default) and after a plain upgrade (older kubectl, or
//! `KUBECTL_PORT_FORWARD_WEBSOCKETS=false`), to the Service and to the pod, many connections at
//! once on kubectl's one connection, and a port nothing listens on reported as a kubelet does;
//! the official Python client's port-forward (WebSocket channels) beside them.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mcp_connect::lab::world::{Lab, LabOptions};

use crate::support::mcp::{McpSession, http_client};
use crate::support::{Home, free_port};

/// How long kubectl may take to say it forwards (a watchdog, not a measurement).
const READY_WITHIN: Duration = Duration::from_secs(30);

/// `kubectl port-forward TARGET PORT:8080` against the lab, once it printed that it forwards
/// on 127.0.0.1; its stderr lines keep coming on the receiver. `websockets: false` makes it
/// use the plain SPDY upgrade.
pub(crate) fn port_forward(
    lab: &Lab,
    home: &Home,
    target: &str,
    websockets: bool,
) -> (Child, u16, mpsc::Receiver<String>) {
    crate::support::ensure_tool("kubectl", "kubernetes-client");
    let port = free_port();
    let mut child = Command::new("kubectl")
        .env("HOME", home.path())
        .env("KUBECTL_PORT_FORWARD_WEBSOCKETS", websockets.to_string())
        .arg("--kubeconfig")
        .arg(lab.kubeconfig())
        .args(["port-forward", "--address", "127.0.0.1", target, &format!("{port}:8080")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    let (send, lines) = mpsc::channel();
    for pipe in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let send = send.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
    }
    let ready = format!("Forwarding from 127.0.0.1:{port} -> 8080");
    let mut seen = Vec::new();
    loop {
        match lines.recv_timeout(READY_WITHIN) {
            Ok(line) if line == ready => return (child, port, lines),
            Ok(line) => seen.push(line),
            Err(why) => {
                let _ = child.kill();
                panic!("kubectl port-forward {target} did not forward ({why}): {seen:#?}");
            }
        }
    }
}

/// An MCP session through `port`, its tools listed and `echo` called.
async fn mcp_through(port: u16) -> McpSession {
    let url = format!("http://127.0.0.1:{port}/mcp");
    let mut session = McpSession::connect(&http_client(), &url).await.expect("initialize");
    assert_eq!(session.server_name(), "mcp-connect-lab");
    assert!(session.tools_list().await.unwrap().contains(&"echo".to_owned()));
    session
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_port_forward_serves_mcp_over_both_spdy_forms_to_the_service_and_the_pod() {
    let lab = Lab::start(LabOptions::default()).await.expect("the lab starts");
    let home = Home::new();
    let pod = format!("pod/{}", lab.seeded.serena_pod);
    for (target, websockets) in [
        ("svc/serena-mcp", true),
        ("svc/serena-mcp", false),
        (pod.as_str(), true),
        (pod.as_str(), false),
    ] {
        let (mut kubectl, port, _lines) =
            tokio::task::block_in_place(|| port_forward(&lab, &home, target, websockets));
        // Eight sessions at once: eight connections, as stream pairs on kubectl's one
        // connection to the API server.
        let sessions = (0..8).map(|_| mcp_through(port));
        let sessions = futures::future::join_all(sessions).await;
        let mut ids: Vec<_> = sessions.iter().map(|s| s.session_id().unwrap().to_owned()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 8, "{target} websockets={websockets}: {ids:?}");
        let _ = kubectl.kill();
        let _ = kubectl.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_nothing_listens_on_is_reported_by_kubectl_as_the_kubelets_error() {
    let mut lab = Lab::start(LabOptions::default()).await.expect("the lab starts");
    let home = Home::new();
    for websockets in [true, false] {
        let (mut kubectl, port, lines) =
            tokio::task::block_in_place(|| port_forward(&lab, &home, "svc/serena-mcp", websockets));
        lab.stop_backend().await;
        let url = format!("http://127.0.0.1:{port}/mcp");
        assert!(McpSession::connect(&http_client(), &url).await.is_err(), "nothing serves");
        let said = tokio::task::block_in_place(|| {
            std::iter::from_fn(|| lines.recv_timeout(READY_WITHIN).ok())
                .find(|l| l.contains("error forwarding port 8080"))
        });
        let said = said.expect("kubectl names the failure");
        assert!(said.contains("connect: connection refused"), "{said}");
        lab.start_backend().await.unwrap();
        let _ = kubectl.kill();
        let _ = kubectl.wait();
    }
}

/// The official Python client's port-forward (WebSocket channels, not SPDY): an MCP
/// `initialize` through it.
const PYTHON_FORWARD: &str = r#"
import json, sys
from kubernetes import client, config
from kubernetes.stream import portforward
config.load_kube_config(config_file=sys.argv[1])
api = client.CoreV1Api()
forward = portforward(api.connect_get_namespaced_pod_portforward, sys.argv[2], "mcp", ports="8080")
sock = forward.socket(8080)
sock.setblocking(True)
body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "python-kubernetes", "version": "1"}}})
sock.sendall((
    "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept: application/json, text/event-stream\r\n"
    "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
    % (len(body), body)).encode())
answer = b""
while True:
    chunk = sock.recv(65536)
    if not chunk:
        break
    answer += chunk
print(answer.decode(errors="replace"))
error = forward.error(8080)
if error:
    print("error channel:", error)
forward.close()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_clients_port_forward_still_serves_mcp() {
    let python = crate::support::peers::python_kubernetes_bin();
    let lab = Lab::start(LabOptions::default()).await.expect("the lab starts");
    let out = tokio::task::block_in_place(|| {
        Command::new(python)
            .args(["-c", PYTHON_FORWARD])
            .arg(lab.kubeconfig())
            .arg(&lab.seeded.serena_pod)
            .output()
            .expect("python runs")
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("HTTP/1.1 200"), "{stdout}\n{stderr}");
    assert!(stdout.contains("\"name\":\"mcp-connect-lab\""), "{stdout}");
}
