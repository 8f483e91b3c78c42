//! Shared helpers for the integration tests.
pub mod bridge;
pub mod faces;
pub mod freeze;
pub mod gateways;
pub mod link;
pub mod mcp;
#[cfg(unix)]
pub mod messages;
pub mod modern;
#[cfg(unix)]
pub mod peers;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use mcp_connect::lab::kube::seed::{GATEWAY_SECRET, GATEWAY_SECRET_KEY, NAMESPACE};
use mcp_connect::lab::mcp::{McpServer, McpServerOptions};
use mcp_connect::lab::world::Lab;
use tempfile::TempDir;

/// A throwaway home: HOME and the XDG directories point inside it, so no test reads or
/// writes the real user's files.
pub struct Home {
    dir: TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home { dir: tempfile::tempdir().expect("a temporary directory") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `$XDG_CONFIG_HOME/mcp-connect/profiles`, created.
    pub fn user_profiles(&self) -> PathBuf {
        let dir = self.path().join("config/mcp-connect/profiles");
        std::fs::create_dir_all(&dir).expect("create the profiles directory");
        dir
    }

    pub fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create parents");
        std::fs::write(&path, text).expect("write the file");
        path
    }

    /// The binary, with this home and no kubeconfig from the environment.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcp-connect"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("XDG_STATE_HOME", self.path().join("state"));
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run(self.command().args(args).output().expect("run mcp-connect"))
    }

    /// `mcp-connect --kubeconfig KUBECONFIG up PROFILE ARGS`, its stdout read line by line on a
    /// thread of its own (so that it never blocks on a full pipe): the child and its lines.
    pub fn up(
        &self,
        kubeconfig: &Path,
        profile: &str,
        args: &[&str],
    ) -> (Child, mpsc::Receiver<String>) {
        let mut child = self
            .command()
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["up", profile])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("run mcp-connect up");
        let stdout = child.stdout.take().expect("up's stdout");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        (child, lines)
    }
}

/// Every file under `dir`, recursively (none when it does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// What a run of the binary did.
pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().expect("exited, not killed")
    }
    pub fn stdout(&self) -> String {
        String::from_utf8(self.0.stdout.clone()).expect("UTF-8 stdout")
    }
    pub fn stderr(&self) -> String {
        String::from_utf8(self.0.stderr.clone()).expect("UTF-8 stderr")
    }
}

/// Makes sure `tool` is on PATH, installing the Debian package `package` when it is not
/// (CI machines start without it). Panics with what to do when that is impossible.
pub fn ensure_tool(tool: &str, package: &str) {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let found = |t: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if found(tool) {
        return;
    }
    eprintln!("{tool} not found: installing the Debian package {package}");
    let status = Command::new("sh")
        .args(["-c", &format!("(apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {package}")])
        .status();
    assert!(
        status.is_ok_and(|s| s.success()) && found(tool),
        "{tool} is needed by this test and could not be installed: run `apt-get install {package}`"
    );
}

/// Sends SIGTERM to `child` and answers its exit code; fails unless it exits within ten
/// seconds of its own accord.
pub fn stop(child: &mut std::process::Child) -> i32 {
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            return status.code().expect("exited, not killed by a signal");
        }
        assert!(std::time::Instant::now() < deadline, "it did not stop on SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A port on 127.0.0.1 that nothing listens on right now (something else may take it before
/// it is used).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("the bound address").port()
}

/// The lab's reference MCP server with `options`, on a free port of 127.0.0.1.
pub async fn mcp_server(options: McpServerOptions) -> McpServer {
    let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    McpServer::start(any_port, options).await.expect("the lab MCP server starts")
}

/// Puts `value` into the lab cluster's gateway Secret, as rotating the gateway's JWT key does.
pub fn rotate_gateway_secret(lab: &Lab, value: &str) {
    let mut secret = Secret::default();
    secret.metadata.name = Some(GATEWAY_SECRET.into());
    secret.metadata.namespace = Some(NAMESPACE.into());
    secret.data =
        Some([(GATEWAY_SECRET_KEY.to_owned(), ByteString(value.as_bytes().to_vec()))].into());
    lab.cluster().add_secret(secret);
}

/// Reads SSE events (`event`, `data`) off a streaming response.
pub struct EventReader {
    pub response: reqwest::Response,
    buffer: String,
}

impl EventReader {
    pub fn new(response: reqwest::Response) -> EventReader {
        EventReader { response, buffer: String::new() }
    }

    /// The next event, comments and keep-alives skipped; fails when the stream ends, or after
    /// ten seconds without one (a hang).
    pub async fn next(&mut self) -> (String, String) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_owned())
                };
                match (field("event:"), field("data:")) {
                    (Some(event), Some(data)) => return (event, data),
                    _ => continue, // a comment or keep-alive
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk()).await;
            let chunk = chunk.expect("an event in time").expect("the stream");
            let chunk = chunk.expect("the stream stays open");
            self.buffer.push_str(std::str::from_utf8(&chunk).expect("UTF-8 events"));
        }
    }
}
