//! The bridge as Claude Code runs it, for the bridge's tests: the real binary, JSON-RPC lines
//! on its stdin and stdout, and profiles made from the built-in gateway route.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Home;

pub const BUILTIN: &str = include_str!("../../../profiles/gateway-port-forward.yaml");

/// The built-in gateway-port-forward profile, renamed, with `link`, the secret's source, the
/// token's lifetime and the gateway's certificate pinned in place of the originals.
pub fn profile(name: &str, link: &str, secret: &str, ttl: &str, pin: &str) -> String {
    let mut text = BUILTIN.to_owned();
    let mut swap = |from: &str, to: &str| {
        assert!(text.contains(from), "the built-in profile holds {from:?}");
        text = text.replacen(from, to, 1);
    };
    swap("name: gateway-port-forward", &format!("name: {name}"));
    let link_start = BUILTIN.find("link:\n").unwrap();
    let link_end = BUILTIN.find("endpoint:\n").unwrap();
    swap(&BUILTIN[link_start..link_end], link);
    let secret_start = BUILTIN.find("    secret:\n").unwrap();
    let secret_end = BUILTIN.find("    issuer:").unwrap();
    swap(&BUILTIN[secret_start..secret_end], &format!("    secret: {secret}\n"));
    swap("ttl: 1h", &format!("ttl: {ttl}"));
    swap("tls:\n  verify: true\n", &format!("tls:\n  verify: true\n  pin_sha256: \"{pin}\"\n"));
    text
}

pub const KUBE_SECRET: &str =
    "{kubernetes: {namespace: mcp, name: mcp-gateway-mcp-bridge-secrets, key: jwt-secret-key}}";

pub fn forward_link(port: u16) -> String {
    format!(
        "link:\n  port_forward:\n    namespace: mcp\n    service: mcp-gateway-mcp-bridge-gateway\n    \
         remote_port: 8443\n    local_port: {port}\n    scheme: https\n"
    )
}

pub fn direct_link(url: &str) -> String {
    format!("link:\n  direct:\n    url: {url}\n")
}

/// A running bridge: its stdin, its stdout lines (each checked to be JSON-RPC), its stderr.
pub struct Bridge {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    /// Messages that came while another was waited for.
    pub others: Vec<Value>,
}

impl Bridge {
    pub fn start(home: &Home, kubeconfig: &Path, profiles: &Path, name: &str) -> Bridge {
        Bridge::start_with(home, kubeconfig, profiles, &["bridge", name])
    }

    pub fn start_with(home: &Home, kubeconfig: &Path, profiles: &Path, args: &[&str]) -> Bridge {
        let mut child = home
            .command()
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .arg("--profiles")
            .arg(profiles)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let (mut pipe, text) = (child.stderr.take().unwrap(), stderr.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                text.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdin = child.stdin.take();
        Bridge { child, stdin, lines, stderr, others: Vec::new() }
    }

    pub fn send_raw(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    pub fn send(&mut self, message: Value) {
        self.send_raw(&message.to_string());
    }

    /// The next line on stdout, which must be one JSON-RPC message.
    pub fn next(&mut self, within: Duration) -> Value {
        let line = match self.lines.recv_timeout(within) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                panic!("no line within {within:?}; stderr:\n{}", self.stderr())
            }
            Err(RecvTimeoutError::Disconnected) => panic!("stdout closed; {}", self.stderr()),
        };
        let message: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout carried a line that is not JSON ({e}): {line:?}"));
        assert_eq!(message["jsonrpc"], "2.0", "not JSON-RPC: {line}");
        message
    }

    /// Sends a request and waits for its answer; other messages are kept aside.
    pub fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.answer(id)
    }

    pub fn answer(&mut self, id: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self.next(left);
            if message["id"] == json!(id) && message.get("method").is_none() {
                return message;
            }
            self.others.push(message);
        }
    }

    pub fn notify(&mut self, method: &str) {
        self.send(json!({"jsonrpc": "2.0", "method": method}));
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGTERM (stdin still open) and answers the exit code and stderr.
    pub fn terminate(mut self) -> (i32, String) {
        let code = super::stop(&mut self.child);
        std::thread::sleep(Duration::from_millis(100));
        (code, self.stderr())
    }

    /// Closes stdin and waits for the exit (15 s at most, which only catches a bridge that
    /// does not exit): its code, what else came out, its stderr.
    pub fn close(mut self) -> (i32, Vec<Value>, String) {
        drop(self.stdin.take());
        let started = Instant::now();
        let code = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code().expect("exited, not killed");
            }
            if started.elapsed() > Duration::from_secs(15) {
                let _ = self.child.kill();
                panic!("the bridge did not exit after stdin closed; stderr:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut rest = std::mem::take(&mut self.others);
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            let message: Value = serde_json::from_str(&line).expect("only JSON-RPC on stdout");
            rest.push(message);
        }
        std::thread::sleep(Duration::from_millis(100));
        (code, rest, self.stderr())
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn initialize_params() -> Value {
    json!({"protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "bridge-test", "version": "0"}})
}

/// What Claude Code does first: initialize, initialized, tools/list, then a tool call.
pub fn handshake_and_echo(bridge: &mut Bridge) {
    let init = bridge.call(1, "initialize", initialize_params());
    assert_eq!(init["result"]["serverInfo"]["name"], "mcp-connect-lab", "{init}");
    bridge.notify("notifications/initialized");
    let tools = bridge.call(2, "tools/list", json!({}));
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names.len(), 3, "{tools}");
    assert!(names.contains(&"echo"), "{names:?}");
    echo(bridge, 3, "hello through the bridge");
}

pub fn echo(bridge: &mut Bridge, id: u64, text: &str) {
    let args = json!({"name": "echo", "arguments": {"text": text}});
    let answer = bridge.call(id, "tools/call", args);
    assert_eq!(answer["result"]["content"][0]["text"], text, "{answer}");
}

/// A profile named `name` that reaches the MCP endpoint `url` (`http://HOST:PORT/PATH`)
/// directly, without credentials (a plain MCP server).
pub fn plain_profile(name: &str, url: &str) -> String {
    let url = url::Url::parse(url).expect("an endpoint URL");
    let origin = url.origin().ascii_serialization();
    let path = url.path();
    format!("name: {name}\ntitle: {name}\n{}endpoint:\n  path: {path}\n", direct_link(&origin))
}

/// `mcp-connect bridge NAME` for a [`plain_profile`] written into `home`'s profiles.
pub fn start_plain(home: &Home, name: &str, url: &str) -> Bridge {
    let dir = home.user_profiles();
    std::fs::write(dir.join(format!("{name}.yaml")), plain_profile(name, url)).unwrap();
    Bridge::start_with(home, &home.path().join("no-kubeconfig"), &dir, &["bridge", name])
}

/// The `_meta` a 2026 client puts in every request's params.
pub fn modern_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "bridge-era-test", "version": "0"},
    })
}

/// `params` as a 2026 client sends them: with [`modern_meta`].
pub fn modern(mut params: Value) -> Value {
    params["_meta"] = modern_meta();
    params
}
