//! The bridge in-process: against the lab's reference MCP server, with a forward that cannot
//! start, and with a route it refuses.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::rpc::NO_ROUTE;
use super::run;
use crate::clientconfig::Launcher;
use crate::lab::mcp::{McpServer, McpServerOptions};
use crate::profile::{Profile, parse};
use crate::supervisor::RunOptions;

/// Stdout as lines on a channel.
struct Lines {
    tx: mpsc::UnboundedSender<String>,
    pending: Vec<u8>,
}

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let _ = self.tx.send(String::from_utf8_lossy(&line[..end]).into_owned());
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A bridge for `profile` running in a task, with its input and output.
struct Running {
    input: Option<mpsc::Sender<Vec<u8>>>,
    output: mpsc::UnboundedReceiver<String>,
    task: tokio::task::JoinHandle<Result<(), super::Problem>>,
}

impl Running {
    fn start(profile: Profile, options: RunOptions) -> Running {
        let (input, rx) = mpsc::channel(16);
        let (tx, output) = mpsc::unbounded_channel();
        let lines = Lines { tx, pending: Vec::new() };
        let task = tokio::spawn(async move {
            run(&profile, options, &Launcher::default(), rx, lines, std::future::pending()).await
        });
        Running { input: Some(input), output, task }
    }

    async fn send(&self, message: Value) {
        let input = self.input.as_ref().unwrap();
        input.send(message.to_string().into_bytes()).await.unwrap();
    }

    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(20), self.output.recv())
            .await
            .expect("a line in time")
            .expect("a line");
        serde_json::from_str(&line).expect("stdout carries JSON only")
    }

    async fn stop(mut self) -> Result<(), super::Problem> {
        drop(self.input.take());
        tokio::time::timeout(Duration::from_secs(10), self.task).await.unwrap().unwrap()
    }
}

fn request(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

fn initialize() -> Value {
    request(
        1,
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"}}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_to_a_plain_server_and_ends_its_session_at_end_of_input() {
    let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let server = McpServer::start(any, McpServerOptions::default()).await.unwrap();
    let yaml = format!("name: t\ntitle: T\nlink:\n  direct:\n    url: http://{}\n", server.addr());
    let mut bridge = Running::start(parse(&yaml, "t.yaml").unwrap(), RunOptions::default());

    bridge.send(initialize()).await;
    let init = bridge.next().await;
    assert_eq!(init["result"]["serverInfo"]["name"], "mcp-connect-lab", "{init}");
    bridge.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    bridge.send(request(2, "tools/list", json!({}))).await;
    let tools = bridge.next().await;
    assert_eq!(tools["id"], 2);
    assert_eq!(tools["result"]["tools"].as_array().unwrap().len(), 3, "{tools}");

    bridge.stop().await.unwrap();
    assert_eq!(server.expire_sessions().await, 0, "the bridge ended its session (DELETE)");
}

#[tokio::test]
async fn a_forward_that_cannot_start_answers_every_request_with_cause_and_fix() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let yaml = format!(
        "name: t\ntitle: T\nlink:\n  port_forward:\n    namespace: mcp\n    service: serena-mcp\n    \
         remote_port: 8080\n    local_port: {port}\n"
    );
    let options =
        RunOptions { kubeconfig: Some("/nonexistent/kubeconfig".into()), ..RunOptions::default() };
    let mut bridge = Running::start(parse(&yaml, "t.yaml").unwrap(), options);
    bridge.send(initialize()).await;
    bridge.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    bridge.send(request(2, "tools/list", json!({}))).await;
    for id in [1, 2] {
        let answer = bridge.next().await;
        assert_eq!(answer["id"], id, "{answer}");
        assert_eq!(answer["error"]["code"], NO_ROUTE, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        // The engine's own cause for the route, as `up` and the TUI say it.
        assert!(message.contains("no kubeconfig found"), "{message}");
        assert!(message.contains("; fix: pass --kubeconfig FILE"), "{message}");
    }
    bridge.stop().await.unwrap();
}

#[tokio::test]
async fn another_routers_profile_whose_command_is_missing_answers_what_to_install() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let yaml = format!(
        "name: other\ntitle: T\nlink:\n  router:\n    local_port: {port}\n    command: \
         [mcp-router, --config, r.yaml]\n"
    );
    let mut bridge = Running::start(parse(&yaml, "t.yaml").unwrap(), RunOptions::default());
    bridge.send(initialize()).await;
    let answer = bridge.next().await;
    assert_eq!(answer["error"]["code"], NO_ROUTE, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    // The bridge runs the profile's router as the TUI does; this one is not installed.
    assert!(message.contains("the router command `mcp-router` is not found"), "{message}");
    assert!(message.contains("fix: install it, or give its absolute path"), "{message}");
    bridge.stop().await.unwrap();
}
